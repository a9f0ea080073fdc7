/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last step of applying a verified kernel bundle, shared by
 * `livefix apply` (fresh from a repository or file) and `livefix boot`
 * (from the local cache after a reboot):
 *
 *   payload -> <state>/payloads/<name> -> kernel loader -> bundle cached in
 *   <state>/bundles/<sha256>.lfb -> applied.json (with this boot's id)
 *
 * A power cut anywhere leaves either the old record or the new one, and
 * the new one only once the patch was loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/error.h"
#include "livefix/file.h"

#include "kmod.h"
#include "trust_agent.h"

static int write_in_state(const char *state_dir, const char *sub, const char *name,
			  const void *data, size_t len, char **ret_path)
{
	char *dir = NULL, *path = NULL;
	int r = -ENOMEM;

	if (asprintf(&dir, "%s/%s", state_dir, sub) < 0)
		return r;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		goto out;
	r = lf_mkdir_p(dir, 0755);
	if (r == 0)
		r = lf_write_file_atomic(path, data, len, 0600);
	if (r == 0 && ret_path) {
		*ret_path = path;
		path = NULL;
	}
out:
	free(dir);
	free(path);
	return r;
}

/* Appends a level to now's history if it is lower than everything there. */
static void push_prev(struct lf_applied *now, const char *id, const char *sha, int64_t level)
{
	struct lf_applied_prev *v;

	if (now->nprev == LF_APPLIED_HISTORY || level >= now->level ||
	    (now->nprev && level >= now->prev[now->nprev - 1].level))
		return;
	v = &now->prev[now->nprev++];
	snprintf(v->id, sizeof(v->id), "%s", id);
	snprintf(v->sha256, sizeof(v->sha256), "%s", sha);
	v->level = level;
}

/*
 * The levels the new record replaces, to go back to if it is withdrawn:
 * the record before it when lower, then that record's own history below
 * the new level (re-applied at boot, or going back, keeps what is below).
 */
static void remember_previous(const char *state_dir, struct lf_applied *now)
{
	struct lf_applied before;

	if (lf_applied_load(state_dir, LF_KIND_KERNEL, &before) < 0 || !before.have)
		return;
	if (strcmp(before.sha256, now->sha256))
		push_prev(now, before.id, before.sha256, before.level);
	for (size_t i = 0; i < before.nprev; i++)
		push_prev(now, before.prev[i].id, before.prev[i].sha256, before.prev[i].level);
}

int lf_agent_apply_kernel(const char *state_dir, const char *sysroot, const struct lf_bundle *b,
			  const char *sha256, struct lf_why *why)
{
	const struct lf_payload *p = &b->m.payloads[0];
	struct lf_applied now = { .have = true };
	struct lf_kmod_info mod;
	char name[LF_SHA256_HEX + 8], reason[256], *module = NULL;
	int r;

	r = write_in_state(state_dir, "payloads", p->name, b->data + p->offset, p->length, &module);
	if (r < 0)
		return lf_why_set(why, "cannot write to %s: %s", state_dir, strerror(-r)), r;
	/* The patch name is what the kernel will list it as. */
	if (lf_kmod_inspect(module, &mod, reason, sizeof(reason)) == 0)
		snprintf(now.patch, sizeof(now.patch), "%s", mod.name);
	lf_agent_crash_point("before-load");
	r = lf_agent_kernel_load(module);
	if (r < 0) {
		unlink(module);
		free(module);
		return lf_why_set(why, "kernel loader failed for %s: %s (nothing recorded)", b->m.id,
				  lf_strerror(r)), r;
	}
	free(module);
	lf_agent_crash_point("after-load");
	snprintf(name, sizeof(name), "%s.lfb", sha256);
	r = write_in_state(state_dir, "bundles", name, b->data, b->len, NULL);
	if (r < 0)
		return lf_why_set(why, "patch applied but not cached: %s", strerror(-r)), r;
	lf_agent_crash_point("cache-bundle");
	snprintf(now.id, sizeof(now.id), "%s", b->m.id);
	snprintf(now.sha256, sizeof(now.sha256), "%s", sha256);
	now.level = b->m.level;
	remember_previous(state_dir, &now);
	now.when = lf_time_now();
	if (lf_agent_boot_id(sysroot, now.boot_id) < 0)
		now.boot_id[0] = '\0';
	r = lf_applied_record(state_dir, LF_KIND_KERNEL, &now);
	if (r < 0)
		return lf_why_set(why, "patch applied but not recorded: %s", strerror(-r)), r;
	lf_agent_crash_point("after-record");
	return 0;
}
