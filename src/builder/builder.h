/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_H
#define LIVEFIX_BUILDER_H

#include <stdint.h>

#include "livefix/trust.h"

/* Subcommand entry points of livefix-build; one cmd_*.c each. */
int cmd_kernel(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_ksyms(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_repo(int argc, char **argv);

/*
 * "2030-01-01T00:00:00Z", or relative to now: "+7d", "+12h", "-1d" (a past
 * time, to build expired metadata for tests). Units s, m, h, d.
 */
int lf_build_parse_expires(const char *s, int64_t *ret);

/* A list of private keys given with repeated options. */
#define LF_BUILD_MAX_KEYS 8
struct lf_build_keys {
	size_t n;
	struct lf_privkey keys[LF_BUILD_MAX_KEYS];
	const struct lf_privkey *ptrs[LF_BUILD_MAX_KEYS];
};

int lf_build_keys_add(struct lf_build_keys *k, const char *path);
void lf_build_keys_wipe(struct lf_build_keys *k);

#endif
