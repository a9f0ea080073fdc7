/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_APPLY_H
#define LIVEFIX_AGENT_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "livefix/bundle.h"
#include "livefix/tuf.h"
#include "livefix/user.h"

/*
 * The update from a repository, shared by `livefix apply --repo` and the
 * fleet loop (`livefix daemon`, `livefix update`): TUF update, select the
 * bundle for this kernel, download and verify it, then apply it.
 */
struct lf_apply_opts {
	const char *state_dir, *sysroot, *repo, *feed;
	const char *keys[LF_MAX_ROLE_KEYS];
	size_t nkeys;
	bool dry_run, json, allow_downgrade;
	long min_rate, min_rate_time, timeout;
	/* Userspace bundles: pause budget and attempts (0: the applier's defaults). */
	struct lf_user_opts user;
	const char *bearer, *ca_file; /* a portal's device credential and CA file */
	const char *token_file;       /* or the file holding the credential (--token-file) */
	/*
	 * Called with a verified bundle for this kernel just before it would be
	 * applied; a positive return defers it (status "deferred", the verified
	 * metadata is kept), a negative one fails the update.
	 */
	int (*gate)(void *ctx, const struct lf_bundle *b, struct lf_why *why);
	void *gate_ctx;
	/*
	 * The fleet loop: the portal's check-in answer names the bundles this
	 * device may apply now (its rollout stage); only a verified target with
	 * one of these sha256 is applied. With restrict set and none named,
	 * nothing new is applied. The group's pin bounds the level in any case.
	 */
	bool restrict_to_allowed;
	const char (*allowed)[LF_SHA256_HEX + 1];
	size_t nallowed;
	bool pinned;
	int64_t pin_level;
};

/* A patch taken back because the targets keys withdrew its bundle. */
#define LF_APPLY_REVERT_MAX 8
struct lf_revert {
	enum lf_kind kind;
	char id[LF_ID_MAX + 1];      /* the withdrawn bundle */
	int64_t from_level;
	int64_t level;               /* in effect now; 0: none */
	char to_id[LF_ID_MAX + 1];   /* the bundle re-applied, "" when unloaded */
};

/* One userspace bundle of the feed that names a file of this device. */
#define LF_APPLY_USER_MAX 32
struct lf_apply_user_item {
	char id[LF_ID_MAX + 1];
	int64_t level;
	/* applied, kept (no process runs the file), would-apply, deferred, up-to-date, failed */
	const char *status;
	int processes;      /* applied: the processes that run the patch now */
	char error[256];    /* failed: why, one line */
};

struct lf_apply_report {
	const char *status; /* applied, would-apply, deferred, up-to-date, no-patch, held */
	struct lf_manifest *m; /* a copy, owned */
	char sha256[LF_SHA256_HEX + 1];
	uint64_t bytes;
	unsigned requests;
	bool fetched;
	struct lf_apply_user_item user[LF_APPLY_USER_MAX];
	size_t nuser;
	size_t nuser_failed;         /* user[] entries that failed; the update fails with the first */
	struct lf_revert rev[LF_APPLY_REVERT_MAX]; /* kernel first, then userspace */
	size_t nrev;
	const char *rev_failed;      /* id of a withdrawn bundle whose revert failed */
};

/* Whether the rollout stage (restrict_to_allowed) and the pin let tg in. */
bool lf_agent_target_allowed(const struct lf_apply_opts *o, const struct lf_target *tg);

int lf_agent_apply_repo(const struct lf_apply_opts *o, struct lf_apply_report *rep,
			struct lf_why *why);

/*
 * The feed's userspace bundles for files of this device (mapped by a
 * running process, or found on disk below $LIVEFIX_USER_DIRS), after the
 * kernel step of lf_agent_apply_repo: the highest level per file, fetched
 * and verified like the kernel's, applied to every process of the file
 * and kept for new ones (user_repo.c). Each bundle has its own outcome in
 * rep->user[]: one that fails does not stop the others; the first failure
 * is returned, with its reason in why.
 */
int lf_agent_apply_repo_user(const struct lf_apply_opts *o, struct lf_tuf *t,
			     const struct lf_fetcher *f, struct lf_apply_report *rep,
			     struct lf_why *why);
/* Whether an applied patch's bundle is marked withdrawn in t. */
bool lf_agent_has_withdrawn(const char *state_dir, const struct lf_tuf *t);
/*
 * After a verified update (t): reverts applied patches whose bundles the
 * verified targets mark withdrawn (withdraw.c). Returns how many.
 */
int lf_agent_revert_withdrawn(const char *state_dir, const char *sysroot, const struct lf_tuf *t,
			      struct lf_apply_report *rep, struct lf_why *why);

#endif
