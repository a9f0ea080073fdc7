/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_KBUILD_STRSET_H
#define LIVEFIX_KBUILD_STRSET_H

#include <stdbool.h>
#include <stddef.h>

/* A set of strings (open addressing, copies its keys). */
struct strset {
	char **slots;
	size_t cap;
	size_t n;
};

int strset_add(struct strset *s, const char *key);
bool strset_has(const struct strset *s, const char *key);
void strset_release(struct strset *s);

#endif
