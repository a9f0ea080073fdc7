/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Withdrawn bundles on the device (docs/FORMATS.md section 7, "withdrawn").
 *
 * A bundle is withdrawn when the feed's targets metadata, signed by the
 * offline targets keys and verified by the TUF update just made, lists it
 * with "withdrawn": true. Only that makes the device take a patch back: the
 * portal's word is not enough (a stolen portal could otherwise strip fixes
 * from a fleet), and a bundle merely missing from a newer targets is not a
 * withdrawal either (old levels are pruned from feeds all the time).
 *
 * Kernel: the levels the withdrawn one replaced are tried newest first; the
 * first whose bundle is in the cache, is not withdrawn itself and verifies
 * again is loaded (livepatch atomic replace takes the withdrawn patch out in
 * the same transition); when none is, the patch is disabled and its module
 * removed.
 * Userspace: the patch is reverted in every process that runs it.
 * Either way the record in applied.json follows, so `livefix boot` never
 * brings a withdrawn patch back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/user.h"

#include "apply.h"
#include "trust_agent.h"
#include "user_store.h"

#define USER_PIDS_MAX 4096

static bool is_withdrawn(const struct lf_tuf *t, const char *sha256)
{
	const struct lf_target *tg = lf_tuf_find(t, sha256);

	return tg && tg->withdrawn;
}

/* The cached bundle of an earlier level, verified again as at boot. */
static int reapply_previous(const char *state_dir, const char *sysroot, const struct lf_tuf *t,
			    const struct lf_applied_prev *a, struct lf_why *why)
{
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_identity sys;
	char *path = NULL, *data = NULL, hex[LF_SHA256_HEX + 1];
	size_t len;
	int r = b ? 0 : -ENOMEM;

	if (r == 0 && is_withdrawn(t, a->sha256))
		r = -EKEYREJECTED;
	if (r == 0 && asprintf(&path, "%s/bundles/%s.lfb", state_dir, a->sha256) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = lf_read_file(path, LF_BUNDLE_MAX, &data, &len);
	if (r == 0) {
		lf_sha256_hex(data, len, hex);
		r = strcmp(hex, a->sha256) ? -EBADMSG : 0;
	}
	if (r == 0 && (r = lf_bundle_parse(data, len, b, why)) == 0) {
		r = lf_tuf_verify_bundle(&t->root, b, why);
		if (r == 0)
			r = lf_identity_kernel(sysroot, &sys);
		if (r == 0)
			r = lf_identity_match(&b->m.target, &sys, why);
		if (r == 0)
			r = lf_agent_apply_kernel(state_dir, sysroot, b, a->sha256, why);
		lf_bundle_release(b);
	}
	free(data);
	free(path);
	free(b);
	return r;
}

static int revert_kernel(const char *state_dir, const char *sysroot, const struct lf_tuf *t,
			 struct lf_revert *rev, struct lf_why *why)
{
	struct lf_applied a;
	struct lf_why prev_why = { "" };
	int r = lf_applied_load(state_dir, LF_KIND_KERNEL, &a);

	if (r < 0 || !a.have || !is_withdrawn(t, a.sha256))
		return r;
	rev->kind = LF_KIND_KERNEL;
	snprintf(rev->id, sizeof(rev->id), "%s", a.id);
	rev->from_level = a.level;
	/* The newest earlier level that is not withdrawn and still verifies. */
	for (size_t i = 0; i < a.nprev; i++) {
		if (reapply_previous(state_dir, sysroot, t, &a.prev[i], &prev_why) < 0)
			continue;
		rev->level = a.prev[i].level;
		snprintf(rev->to_id, sizeof(rev->to_id), "%s", a.prev[i].id);
		return 1;
	}
	/* Nothing to go back to (or it cannot be loaded): take the patch out. */
	if (lf_applied_is_current(&a, sysroot)) {
		if (!a.patch[0])
			return lf_why_set(why, "withdrawn bundle %s: the patch name is unknown", a.id),
			       -ENOENT;
		r = lf_agent_kernel_unload(a.patch);
		if (r < 0)
			return lf_why_set(why, "withdrawn bundle %s: unloading %s failed: %s", a.id,
					  a.patch, lf_strerror(r)), r;
	}
	r = lf_applied_record(state_dir, LF_KIND_KERNEL, NULL);
	if (r < 0)
		return lf_why_set(why, "withdrawn bundle %s reverted but not recorded: %s", a.id,
				  strerror(-r)), r;
	rev->level = 0;
	return 1;
}

/* Reverts patch_id in every process that runs it. */
static int revert_everywhere(const char *bundle_id, const char *patch_id, struct lf_why *why)
{
	struct lf_user_opts o = LF_USER_OPTS_DEFAULT;
	struct lf_user_result res;
	pid_t *pids = calloc(USER_PIDS_MAX, sizeof(pid_t));
	int n = pids ? lf_user_pids_running(patch_id, pids, USER_PIDS_MAX) : -ENOMEM, r = n;

	for (int i = 0; r >= 0 && i < n && i < USER_PIDS_MAX; i++) {
		r = lf_user_revert(patch_id, pids[i], &o, &res);
		if (r < 0)
			lf_why_set(why, "withdrawn bundle %s: pid %d: %s", bundle_id, (int)pids[i],
				   res.msg[0] ? res.msg : lf_strerror(r));
	}
	free(pids);
	return r;
}

struct user_withdrawal {
	const struct lf_tuf *t;
	struct lf_apply_report *rep;
	struct lf_why *why;
	bool any;                 /* only asking whether there is one */
};

/*
 * A kept bundle (user_store.c) the verified targets withdraw: reverted in
 * every process and no longer kept, so new processes do not get it either.
 */
static int withdraw_kept(const struct lf_user_kept *k, void *ud)
{
	struct user_withdrawal *w = ud;
	struct lf_revert *rev;
	int r;

	if (!is_withdrawn(w->t, k->sha256))
		return 0;
	if (w->any)
		return 1;
	if (w->rep->nrev == LF_APPLY_REVERT_MAX)
		return lf_why_set(w->why, "more than %d withdrawn patches at once",
				  LF_APPLY_REVERT_MAX), -E2BIG;
	rev = &w->rep->rev[w->rep->nrev];
	*rev = (struct lf_revert){ .kind = LF_KIND_USER, .from_level = k->level };
	snprintf(rev->id, sizeof(rev->id), "%s", k->bundle_id);
	r = revert_everywhere(k->bundle_id, k->patch_id, w->why);
	if (r >= 0 && unlink(k->path) < 0)
		r = -errno, lf_why_set(w->why, "withdrawn bundle %s reverted, but %s stays: %s",
				       k->bundle_id, k->path, strerror(errno));
	if (r < 0)
		return r;
	w->rep->nrev++;
	return 0;
}

static int revert_user(const char *state_dir, const struct lf_tuf *t, struct lf_apply_report *rep,
		       struct lf_why *why)
{
	struct user_withdrawal w = { t, rep, why, false };
	struct lf_applied a;
	int lock = lf_agent_lock_user(), r;

	if (lock < 0)
		return lf_why_set(why, "another livefix user command is running"), lock;
	r = lf_agent_user_store_each(state_dir, withdraw_kept, &w);
	/* The last applied record names one of the kept bundles: drop it too. */
	if (r >= 0 && lf_applied_load(state_dir, LF_KIND_USER, &a) == 0 && a.have &&
	    is_withdrawn(t, a.sha256) && (r = lf_applied_record(state_dir, LF_KIND_USER, NULL)) < 0)
		lf_why_set(why, "withdrawn bundle %s reverted but not recorded: %s", a.id,
			   strerror(-r));
	close(lock);
	return r;
}

/* Whether the verified targets withdraw anything at all. */
static bool any_withdrawn(const struct lf_tuf *t)
{
	for (size_t i = 0; i < t->targets.n; i++)
		if (t->targets.t[i].withdrawn)
			return true;
	return false;
}

bool lf_agent_has_withdrawn(const char *state_dir, const struct lf_tuf *t)
{
	struct lf_applied k, u;

	/* Every update asks: without a withdrawal the kept bundles are not read. */
	if (!any_withdrawn(t))
		return false;
	return (lf_applied_load(state_dir, LF_KIND_KERNEL, &k) == 0 && k.have &&
		is_withdrawn(t, k.sha256)) ||
	       (lf_applied_load(state_dir, LF_KIND_USER, &u) == 0 && u.have &&
		is_withdrawn(t, u.sha256)) ||
	       lf_agent_user_store_each(state_dir, withdraw_kept,
					&(struct user_withdrawal){ .t = t, .any = true }) > 0;
}

int lf_agent_revert_withdrawn(const char *state_dir, const char *sysroot, const struct lf_tuf *t,
			      struct lf_apply_report *rep, struct lf_why *why)
{
	int r = revert_kernel(state_dir, sysroot, t, &rep->rev[rep->nrev], why);

	if (r > 0)
		rep->nrev++;
	if (r >= 0) {
		memset(&rep->rev[rep->nrev], 0, sizeof(rep->rev[0]));
		r = revert_user(state_dir, t, rep, why);
	}
	if (r < 0 && rep->nrev < LF_APPLY_REVERT_MAX)
		rep->rev_failed = rep->rev[rep->nrev].id[0] ? rep->rev[rep->nrev].id : NULL;
	return r < 0 ? r : (int)rep->nrev;
}
