/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_USER_STORE_H
#define LIVEFIX_AGENT_USER_STORE_H

#include <stdint.h>
#include <time.h>

#include "livefix/bundle.h"
#include "livefix/user.h"

/*
 * The userspace bundles applied on this device, kept for processes that
 * start later (livefix daemon patches them at exec time):
 * <state>/user/<build-id>.lfb, one verified bundle per target file, the
 * highest level applied. Written atomically after a successful apply.
 */
struct lf_user_stored {
	char id[LF_ID_MAX + 1];
	int64_t level;
	struct lf_user_patch *p;
};

int lf_agent_user_store_save(const char *state_dir, const struct lf_bundle *b);
/*
 * Loads every stored bundle, verified again against the pinned root when
 * there is one (else they were verified when applied). A damaged or
 * unverifiable file is skipped and counted in *ret_bad.
 */
int lf_agent_user_store_load(const char *state_dir, struct lf_user_stored **ret, size_t *ret_n,
			     size_t *ret_bad);
void lf_agent_user_store_free(struct lf_user_stored *v, size_t n);
/* Changes whenever a bundle is stored (the directory's mtime), 0 if none. */
int64_t lf_agent_user_store_stamp(const char *state_dir);

/* One stored bundle, as lf_agent_user_store_each() shows it. */
struct lf_user_kept {
	char path[4400];
	char sha256[LF_SHA256_HEX + 1];
	char bundle_id[LF_ID_MAX + 1];
	char patch_id[LF_ID_MAX + 1];
	int64_t level;
};

/*
 * Calls fn for every readable stored bundle (not verified: for listing and
 * removing only); stops at the first non-zero return and returns it.
 */
int lf_agent_user_store_each(const char *state_dir,
			     int (*fn)(const struct lf_user_kept *k, void *ud), void *ud);
/*
 * Removes the stored bundles whose patch object has this id, so the daemon
 * stops applying it to new processes; returns how many.
 */
int lf_agent_user_store_forget(const char *state_dir, const char *patch_id);

/* The bundle's payload as a patch object (docs/USERSPACE.md). */
int lf_agent_user_payload(const struct lf_bundle *b, struct lf_user_patch **ret, char *msg,
			  size_t size);

#endif
