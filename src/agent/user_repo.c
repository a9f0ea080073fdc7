/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix apply --repo (and the fleet loop): the feed's userspace bundles.
 *
 * A user target names an ELF file by arch and GNU build-id. It is for this
 * device when a running process maps a file with that build-id, or a file
 * below the directories of $LIVEFIX_USER_DIRS (default: the usual program
 * and library directories, two levels deep) has it. Per build-id the
 * highest level is taken, fetched and verified through the same TUF
 * metadata as a kernel bundle, then applied to every process of the file
 * (lf_agent_apply_user) or, when none runs it, kept for the processes
 * livefix daemon will see start.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/identity.h"
#include "livefix/user.h"

#include "apply.h"
#include "trust_agent.h"
#include "user_store.h"

#define USER_DIRS_DEFAULT "/usr/bin:/usr/sbin:/usr/libexec:/usr/lib:/usr/local/bin:/usr/local/lib:/lib64"
#define DISK_FILES_MAX 20000
#define DISK_DEPTH 2

/* The build-ids still looked for, and whether each was found on disk. */
struct wanted {
	const struct lf_target *tg[LF_APPLY_USER_MAX];
	bool on_disk[LF_APPLY_USER_MAX];
	size_t n, left;
	unsigned files;
};

static void look_at_file(struct wanted *w, const char *path)
{
	char hex[41];

	if (lf_user_file_build_id(path, hex) <= 0)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (!w->on_disk[i] && !strcmp(w->tg[i]->ident.build_id, hex)) {
			w->on_disk[i] = true;
			w->left--;
		}
}

static void walk(struct wanted *w, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && w->left && w->files < DISK_FILES_MAX && (de = readdir(d))) {
		char path[4096];
		struct stat st;
		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 1)
			walk(w, path, depth - 1);
		else if (S_ISREG(st.st_mode) && st.st_size >= 64 && w->files++ < DISK_FILES_MAX)
			look_at_file(w, path);
	}
	if (d)
		closedir(d);
}

static void find_on_disk(struct wanted *w)
{
	const char *env = getenv("LIVEFIX_USER_DIRS");
	char *dirs = strdup(env ? env : USER_DIRS_DEFAULT), *save = NULL;

	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && w->left;
	     d = strtok_r(NULL, ":", &save))
		walk(w, d, DISK_DEPTH);
	free(dirs);
}

static bool is_mapped(const char *hex)
{
	uint8_t id[64];
	size_t n = strlen(hex) / 2;
	pid_t pid;

	if (n > sizeof(id) || strlen(hex) % 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return false;
		id[i] = (uint8_t)v;
	}
	return lf_user_find_build_id(id, (unsigned)n, &pid, 1) > 0;
}

/*
 * The highest level per build-id among the feed's user targets for this
 * arch that are not withdrawn and that the device's rollout stage and pin
 * allow (as for the kernel's).
 */
static void select_targets(const struct lf_apply_opts *o, const struct lf_tuf *t,
			   struct wanted *w)
{
	struct utsname u;

	uname(&u);
	lf_arch_normalize(u.machine);
	for (size_t i = 0; i < t->targets.n; i++) {
		const struct lf_target *tg = &t->targets.t[i];
		size_t k;
		if (tg->ident.kind != LF_KIND_USER || strcmp(tg->ident.arch, u.machine) ||
		    tg->withdrawn || !lf_agent_target_allowed(o, tg))
			continue;
		for (k = 0; k < w->n && strcmp(w->tg[k]->ident.build_id, tg->ident.build_id); k++)
			;
		if (k < w->n) {
			if (tg->level > w->tg[k]->level)
				w->tg[k] = tg;
		} else if (w->n < LF_APPLY_USER_MAX) {
			w->tg[w->n++] = tg;
		}
	}
}

/* The stored copy of the bundle the feed names (same sha256), verified again. */
static int from_store(const char *state, const struct lf_tuf *t, const struct lf_target *tg,
		      char **ret_data, struct lf_bundle *b)
{
	char path[4096], sha[LF_SHA256_HEX + 1];
	struct lf_why why = { "" };
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/user/%s.lfb", state, tg->ident.build_id);
	if ((r = lf_read_file(path, LF_BUNDLE_MAX, ret_data, &len)) < 0)
		return r;
	lf_sha256_hex(*ret_data, len, sha);
	r = strcmp(sha, tg->sha256) ? -ESTALE : lf_bundle_parse(*ret_data, len, b, &why);
	if (r == 0 && (r = lf_tuf_verify_bundle(&t->root, b, &why)) < 0)
		lf_bundle_release(b);
	if (r < 0) {
		free(*ret_data);
		*ret_data = NULL;
	}
	return r;
}

static int apply_one(const struct lf_apply_opts *o, struct lf_tuf *t, const struct lf_fetcher *f,
		     const struct lf_target *tg, bool mapped, struct lf_apply_user_item *it,
		     struct lf_why *why)
{
	const char *state = lf_agent_state_dir(o->state_dir);
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_buf data = LF_BUF_INIT(0);
	char sha[LF_SHA256_HEX + 1], *stored = NULL;
	bool up_to_date = false;
	int r = b ? 0 : -ENOMEM;

	if (r == 0 && from_store(state, t, tg, &stored, b) == 0 && !mapped) {
		it->status = "up-to-date";	/* kept already, and no process to patch */
		lf_bundle_release(b);
		goto out;
	}
	if (r == 0 && !stored && (r = lf_tuf_fetch_bundle(t, f, tg, &data, b, why)) < 0)
		goto out;
	if (b->m.target.kind != LF_KIND_USER || strcmp(b->m.target.build_id, tg->ident.build_id)) {
		lf_why_set(why, "bundle %s does not name the file its target entry names", b->m.id);
		r = -EBADMSG;
	} else if (o->dry_run) {
		it->status = "would-apply";
	} else if (o->gate && (r = o->gate(o->gate_ctx, b, why)) != 0) {
		it->status = r > 0 ? "deferred" : it->status;
		r = r > 0 ? 0 : r;
	} else if ((r = lf_tuf_commit(t)) < 0) {
		lf_why_set(why, "cannot save trusted metadata: %s", strerror(-r));
	} else if (mapped) {
		lf_sha256_hex(b->data, b->len, sha);
		r = lf_agent_apply_user(state, lf_agent_sysroot(o->sysroot), b, sha, &o->user,
					&up_to_date, why);
		if (r >= 0) {
			it->status = up_to_date ? "up-to-date" : "applied";
			it->processes = r;
			r = 0;
		}
	} else if ((r = lf_agent_user_store_save(state, b)) < 0) {
		lf_why_set(why, "bundle %s: cannot keep it for new processes: %s", b->m.id, strerror(-r));
	} else {
		it->status = "kept";
	}
	lf_bundle_release(b);
out:
	lf_buf_release(&data);
	free(stored);
	free(b);
	return r;
}

int lf_agent_apply_repo_user(const struct lf_apply_opts *o, struct lf_tuf *t,
			     const struct lf_fetcher *f, struct lf_apply_report *rep,
			     struct lf_why *why)
{
	struct wanted w = { .n = 0 };
	bool mapped[LF_APPLY_USER_MAX];
	int r = 0, first = 0;

	select_targets(o, t, &w);
	for (size_t i = 0; i < w.n; i++) {
		mapped[i] = is_mapped(w.tg[i]->ident.build_id);
		w.left += !mapped[i];
	}
	if (w.left)
		find_on_disk(&w);
	/* Each bundle on its own: one that fails leaves the others to apply. */
	for (size_t i = 0; i < w.n; i++) {
		struct lf_apply_user_item *it = &rep->user[rep->nuser];
		struct lf_why iwhy = { "" };

		if (!mapped[i] && !w.on_disk[i])
			continue;	/* a file this device does not have */
		memset(it, 0, sizeof(*it));
		snprintf(it->id, sizeof(it->id), "%s", w.tg[i]->id);
		it->level = w.tg[i]->level;
		it->status = "refused";
		rep->nuser++;
		r = apply_one(o, t, f, w.tg[i], mapped[i], it, &iwhy);
		if (r == 0)
			continue;
		it->status = "failed";
		snprintf(it->error, sizeof(it->error), "%s", iwhy.msg[0] ? iwhy.msg : lf_strerror(r));
		it->error[strcspn(it->error, "\n")] = '\0';
		if (!rep->nuser_failed++) {
			first = r;
			snprintf(why->msg, sizeof(why->msg), "%s", it->error);
		}
	}
	return first;
}
