/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A verified userspace bundle (livefix apply): its payload is a patch
 * object (docs/USERSPACE.md) for the ELF file named by the bundle's
 * build-id. It is applied to every running process that maps that file,
 * all or nothing: if one process cannot be patched, the processes patched
 * by this run are reverted, so a bundle is either applied wherever it can
 * be seen or nowhere. Then it is recorded like a kernel patch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/user.h"

#include "trust_agent.h"
#include "user_store.h"

#define USER_PIDS_MAX 4096

struct has_patch {
	const char *id;
	bool found;
};

static int find_id(const struct lf_user_applied *a, void *ud)
{
	struct has_patch *h = ud;

	if (!strcmp(a->id, h->id) && a->redirected == a->nfuncs)
		h->found = true;
	return 0;
}

/* Every process mapping the target runs this patch already. */
static bool applied_everywhere(const struct lf_user_patch *p, const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		struct has_patch h = { lf_user_patch_id(p), false };

		lf_user_for_each_applied(pids[i], find_id, &h);
		if (!h.found)
			return false;
	}
	return n > 0;
}

/*
 * Exited, or exiting: its memory is going away and needs no patch. A
 * process being killed drops its memory (empty maps) before it becomes a
 * zombie; a live user process always has mappings.
 */
static bool process_gone(pid_t pid)
{
	char path[64], stat[256], *paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (lf_read_line(path, stat, sizeof(stat)) < 0)
		return true;
	paren = strrchr(stat, ')');
	if (!paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X')
		return true;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	return lf_read_line(path, stat, sizeof(stat)) <= 0;
}

static int apply_all(const struct lf_user_patch *p, const pid_t *pids, int n,
		     const struct lf_user_opts *opts, struct lf_why *why)
{
	struct lf_user_opts o = LF_USER_OPTS_DEFAULT;
	struct lf_user_result res;
	bool *applied = calloc((size_t)n, sizeof(*applied));
	int r = applied ? 0 : -ENOMEM, i, count = 0;

	if (opts && opts->budget_ms)
		o.budget_ms = opts->budget_ms;
	if (opts && opts->retries)
		o.retries = opts->retries;
	for (i = 0; r == 0 && i < n; i++) {
		r = lf_user_apply(p, pids[i], &o, &res);
		if (r == 0) {
			applied[i] = true;
			count++;
		} else if (r == -EEXIST) {	/* runs it already (a process started since) */
			r = 0;
			count++;
		} else if (process_gone(pids[i])) {
			r = 0;
		} else {
			lf_why_set(why, "pid %d: %s", (int)pids[i], res.msg[0] ? res.msg : lf_strerror(r));
		}
	}
	if (r == 0 && count == 0) {
		lf_why_set(why, "every process that mapped the file exited");
		r = -EMEDIUMTYPE;
	}
	if (r < 0) /* all or nothing: take back what this run applied */
		for (i = 0; i < n && applied; i++)
			if (applied[i])
				lf_user_revert(lf_user_patch_id(p), pids[i], &o, &res);
	free(applied);
	return r < 0 ? r : count;
}

int lf_agent_apply_user(const char *state_dir, const char *sysroot, const struct lf_bundle *b,
			const char *sha256, const struct lf_user_opts *opts, bool *ret_up_to_date,
			struct lf_why *why)
{
	struct lf_applied now = { .have = true };
	struct lf_user_patch *p = NULL;
	char msg[LF_USER_MSG_MAX];
	pid_t *pids = NULL;
	int n, r, lock = -1, nrun = 0;

	*ret_up_to_date = false;
	/* The patch lives in the processes, not on disk: nothing is written
	 * to the state until it is applied. */
	r = lf_agent_user_payload(b, &p, msg, sizeof(msg));
	if (r < 0)
		return lf_why_set(why, "bundle %s: payload is not a patch object: %s", b->m.id, msg), r;
	/* The signed manifest and the object must name the same file. */
	if (strcmp(lf_user_patch_target(p), b->m.target.build_id) != 0) {
		lf_why_set(why, "bundle %s: manifest is for build-id %.16s…, its patch object for %.16s…",
			   b->m.id, b->m.target.build_id, lf_user_patch_target(p));
		r = -EBADMSG;
		goto out;
	}
	if ((lock = lf_agent_lock_user()) < 0) {
		r = lock;
		lf_why_set(why, "another livefix user command is running");
		goto out;
	}
	pids = calloc(USER_PIDS_MAX, sizeof(*pids));
	n = pids ? lf_user_find_targets(p, pids, USER_PIDS_MAX) : -ENOMEM;
	if (n <= 0) {
		r = n < 0 ? n : -EMEDIUMTYPE;
		if (n == 0)
			lf_why_set(why, "bundle %s: no running process maps build-id %.16s…", b->m.id,
				   b->m.target.build_id);
		goto out;
	}
	if (applied_everywhere(p, pids, n)) {
		*ret_up_to_date = true;
		nrun = n;
		goto store;
	}
	r = nrun = apply_all(p, pids, n, opts, why);
	if (r < 0)
		goto out;
store:
	/* Kept for the processes that start later (livefix daemon). */
	if ((r = lf_agent_user_store_save(state_dir, b)) < 0) {
		lf_why_set(why, "patch applied but not kept for new processes: %s", strerror(-r));
		goto out;
	}
	if (*ret_up_to_date)
		goto out;
	snprintf(now.id, sizeof(now.id), "%s", b->m.id);
	snprintf(now.sha256, sizeof(now.sha256), "%s", sha256);
	now.level = b->m.level;
	/* The patch id in the processes: what a revert (withdrawal) looks for. */
	snprintf(now.patch, sizeof(now.patch), "%s", lf_user_patch_id(p));
	now.when = lf_time_now();
	if (lf_agent_boot_id(sysroot, now.boot_id) < 0)
		now.boot_id[0] = '\0';
	r = lf_applied_record(state_dir, LF_KIND_USER, &now);
	if (r < 0)
		lf_why_set(why, "patch applied but not recorded: %s", strerror(-r));
out:
	if (r >= 0)
		r = nrun;
	if (lock >= 0)
		close(lock);	/* the repository path applies several bundles in turn */
	free(pids);
	lf_user_patch_free(p);
	return r;
}
