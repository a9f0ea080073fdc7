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

/* The bundle's payload as a patch object (docs/USERSPACE.md). */
int lf_agent_user_payload(const struct lf_bundle *b, struct lf_user_patch **ret, char *msg,
			  size_t size);

#endif
