/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_DIFF_PRIVATE_H
#define LF_DIFF_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "livefix/diff.h"
#include "livefix/elf.h"

#define DIFF_MAX_DEPTH 16 /* private rodata referring to private rodata */

/* One object seen by the differ: per-symbol and per-section facts. */
struct side {
	const struct lf_elf *e;
	char **canon;        /* canonical name per symbol, NULL if not correlated */
	uint32_t *twin;      /* twin symbol in the other object, 0 none */
	uint32_t *sectwin;   /* twin section in the other object, 0 none */
	uint32_t *referrer;  /* smallest-named function referring to it, 0 none */
	uint32_t *bysec;     /* defined FUNC/OBJECT/TLS symbols sorted by section, value */
	uint32_t *secfirst;  /* per section: first position in bysec (nsecs + 1 entries) */
	bool *prologue;      /* per symbol: function has an ftrace/patchable prologue */
	bool uses_prologue;  /* some function of this object has one */
};

enum target_kind {
	T_NONE,
	T_SYM,    /* a named function or object (or an undefined symbol) */
	T_STR,    /* inside a mergeable string section: compared by content */
	T_MERGE,  /* inside another mergeable section (constants) */
	T_PRIV,   /* inside private read-only data: compared by content */
	T_SEC,    /* a section position no symbol covers */
};

struct target {
	enum target_kind kind;
	uint32_t sym;   /* T_SYM */
	uint32_t sec;   /* all but T_SYM: the section */
	int64_t off;    /* T_SYM: addend relative to the symbol; else position */
	int64_t pos;    /* position in sec the relocation encodes (without bias) */
	uint8_t span;   /* uncertainty of the real target past pos+bias */
};

struct diff_ctx {
	struct side o, p;
	const struct lf_diff_opts *opts;
	struct lf_diff_result *r;
	uint32_t *privpair;  /* per patched section: private section it matched */
	bool *included;      /* per patched symbol: goes into the patch */
	int32_t *refidx;     /* per patched symbol: index in r->refs, -1 none */
};

/* correlate.c */
char *diff_canon_name(const char *name);
int side_init(struct side *s, const struct lf_elf *e);
void side_release(struct side *s);
bool is_private_section(const struct side *s, uint32_t sec);
bool is_mergeable(const struct lf_elf_section *sec);
bool is_correlated_kind(const struct lf_elf_symbol *sym);
uint32_t covering_symbol(const struct side *s, uint32_t sec, int64_t pos);
int correlate(struct diff_ctx *c);

/* compare.c */
int64_t wrap_add(int64_t a, int64_t b);
int resolve_target(const struct side *s, const struct lf_elf_section *from,
		   const struct lf_elf_rela *r, struct target *ret);
bool symbols_equal(struct diff_ctx *c, uint32_t osym, uint32_t psym, int *ret_err);
bool range_equal(struct diff_ctx *c, uint32_t osec, uint64_t ooff, uint32_t psec,
		 uint64_t poff, uint64_t len, unsigned depth, int *ret_err);
void relas_in_range(const struct lf_elf *e, const struct lf_elf_section *s,
		    uint64_t off, uint64_t len, const struct lf_elf_rela **ret, size_t *ret_n);

/* classify.c */
int classify(struct diff_ctx *c);
int add_problem(struct lf_diff_result *r, enum lf_diff_reason reason, bool fatal,
		const char *symbol, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* refs.c */
int collect_refs(struct diff_ctx *c);

#endif
