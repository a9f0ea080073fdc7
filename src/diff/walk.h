/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_DIFF_WALK_H
#define LF_DIFF_WALK_H

#include "diff_private.h"

/*
 * The sections a patch carries: those of the included functions and data,
 * plus every string, constant and private read-only section they reach.
 * walk_patch() calls fn once per relocation of each such section, after
 * marking the section in copied[] (nsecs entries, caller-allocated).
 */
typedef int (*walk_fn)(void *arg, uint32_t sec, const struct lf_elf_rela *r,
		       const struct target *t);

int walk_patch(const struct side *p, const bool *included, bool *copied,
	       walk_fn fn, void *arg);
/* included[] (nsyms entries) from a result: changed/new functions, new data. */
void mark_included(const struct lf_elf *p, const struct lf_diff_result *r, bool *included);

#endif
