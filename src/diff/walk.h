/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_DIFF_WALK_H
#define LF_DIFF_WALK_H

#include "diff_private.h"

/*
 * What a patch carries of the patched object (special.c):
 *   - whole sections: those of the included functions and data, and every
 *     string, constant and private read-only section they reach;
 *   - entries of the kernel's special tables (__ex_table, __jump_table,
 *     .altinstructions, .orc_unwind_ip, ...) whose site is in carried code,
 *     compacted into a table of the same name;
 *   - byte ranges of auxiliary code sections (.altinstr_replacement,
 *     .altinstr_aux) that carried entries or carried code reach; the section
 *     is copied whole, with only the relocations of those ranges.
 */
struct special_spec {
	const char *name;
	uint32_t entsize;
	uint32_t site;          /* offset of the field locating the entry's code */
	const char *parallel;   /* a table whose entry i goes with entry i (ORC) */
	uint32_t parallel_size;
	bool at_load;           /* processed by the module loader while it loads */
};

struct carry {
	const struct side *p;
	bool *copied;                       /* per section: in the patch */
	uint8_t **keep;                     /* per section: NULL whole; entries or bytes kept */
	const struct special_spec **spec;   /* per section: table layout, or NULL */
	bool *ranged;                       /* per section: aux code, kept by byte ranges */
	struct range { uint32_t sec; uint64_t from, to; } *work;
	size_t nwork, capwork;
	uint32_t bad_sec;                   /* a table whose layout we do not know */
};

typedef int (*walk_fn)(void *arg, uint32_t sec, const struct lf_elf_rela *r,
		       const struct target *t);

int carry_init(struct carry *c, const struct side *p);
void carry_release(struct carry *c);
/* Fills c from included[] (nsyms entries). -EPROTO: c->bad_sec has a bad layout. */
int walk_patch(struct carry *c, const bool *included);
/* Calls fn once per carried relocation (after walk_patch). */
int carry_for_each_rela(const struct carry *c, walk_fn fn, void *arg);
/* Entries of table sec the patch keeps, and its total; 0 if sec is no table. */
size_t carry_table_count(const struct carry *c, uint32_t sec, size_t *ret_total);
/* Position of byte off of table sec in the compacted table. */
uint64_t carry_table_offset(const struct carry *c, uint32_t sec, uint64_t off);
/* The function whose code a carried relocation at sec+off belongs to, 0 if none. */
uint32_t carry_owner(const struct carry *c, uint32_t sec, uint64_t off);

/* included[] (nsyms entries) from a result: changed/new functions, new data. */
void mark_included(const struct lf_elf *p, const struct lf_diff_result *r, bool *included);

#endif
