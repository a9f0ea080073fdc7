/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_DIFF_H
#define LIVEFIX_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livefix/elf.h"

/*
 * The object differ: given the original and the patched build of one
 * translation unit (relocatable objects compiled with -ffunction-sections
 * -fdata-sections), find what a live patch must contain and what it must
 * refuse. One engine for kernel and userspace patches; docs/DIFF.md explains
 * the algorithm.
 */

enum lf_diff_change {
	LF_DIFF_UNCHANGED,
	LF_DIFF_CHANGED,
	LF_DIFF_NEW,
	LF_DIFF_REMOVED,
};

/* Why a function is in the patch. */
enum lf_diff_why {
	LF_DIFF_WHY_NONE,          /* unchanged or removed */
	LF_DIFF_WHY_BODY,          /* its own code or relocations differ */
	LF_DIFF_WHY_NEW,           /* exists only in the patched object */
	LF_DIFF_WHY_INLINED,       /* a changed function was inlined into it */
	LF_DIFF_WHY_COLD_PART,     /* its .cold part changed */
};

/* Why something cannot be live patched (or deserves a warning). */
enum lf_diff_reason {
	LF_DIFF_REFUSE_LAYOUT,       /* size of existing data changed */
	LF_DIFF_REFUSE_DATA_INIT,    /* initial value of existing data changed */
	LF_DIFF_REFUSE_INIT_SECTION, /* __init/__exit code or data changed */
	LF_DIFF_REFUSE_STATIC_KEY,   /* static key defined here is new or changed */
	LF_DIFF_REFUSE_STATIC_CALL,  /* static call key defined here is new or changed */
	LF_DIFF_REFUSE_NOTRACE,      /* original has no patchable prologue */
	LF_DIFF_REFUSE_UNBINDABLE,   /* reference to something without a name */
	LF_DIFF_REFUSE_RELOC,        /* relocation type we cannot compare */
	LF_DIFF_REFUSE_SPECIAL,      /* a special table whose layout we do not know */
	LF_DIFF_WARN_NOTRACE,        /* patched copy lost its prologue */
	LF_DIFF_WARN_REMOVED_DATA,   /* data present only in the original */
};

struct lf_diff_func {
	char *name;           /* in the patched object (original's for removed) */
	char *orig_name;      /* in the original, NULL for new functions */
	enum lf_diff_change change;
	enum lf_diff_why why;
	char *detail;         /* e.g. names of the inlined callees; may be NULL */
	bool global;
	bool has_prologue;    /* __fentry__/mcount call or patchable entry */
	bool is_part;         /* a .cold part: travels with its parent, never redirected */
	uint32_t sym;         /* symbol index in its object */
};

enum lf_diff_data_kind {
	LF_DIFF_DATA_NEW,     /* only in the patched object: goes into the patch */
};

struct lf_diff_data {
	char *name;
	enum lf_diff_data_kind kind;
	bool global;
	uint64_t size;
	uint32_t sym;         /* in the patched object */
};

/*
 * A symbol the patch uses but must not carry: it has to be bound to the
 * running original (kernel: a klp relocation against .klp.sym.<obj>.<name>,
 * userspace: an address in the target process).
 */
struct lf_diff_ref {
	char *name;           /* the original's name (counter.1, not counter.2) */
	bool global;          /* binding in the original; false: local (static) */
	bool external;        /* undefined in both objects (defined elsewhere) */
	uint8_t type;         /* STT_FUNC, STT_OBJECT, STT_NOTYPE */
	uint32_t orig_sym;    /* symbol index in the original, 0 if external */
	uint32_t sym;         /* symbol index in the patched object */
	/*
	 * Set when an entry the patch carries in a table that the module
	 * loader processes while it loads the patch module (__jump_table,
	 * .static_call_sites, .altinstructions and its replacement code,
	 * .parainstructions, ...) uses this symbol: the table's name and the
	 * function the entry belongs to ("?" if unknown). NULL otherwise.
	 */
	char *table;
	char *table_func;
};

/* A special table of the patched object (or auxiliary code section). */
struct lf_diff_table {
	char *name;           /* __ex_table, .altinstr_replacement, ... */
	size_t entries;       /* entries in the object (bytes for code_bytes) */
	size_t carried;       /* entries (bytes) the patch object carries */
	bool code_bytes;      /* auxiliary code carried by byte ranges */
};

struct lf_diff_problem {
	enum lf_diff_reason reason;
	bool fatal;           /* refusal; false: a warning for the report */
	char *symbol;
	char *detail;
};

struct lf_diff_result {
	struct lf_diff_func *funcs;   /* every function, in patched symbol order */
	size_t nfuncs;
	struct lf_diff_data *data;
	size_t ndata;
	struct lf_diff_ref *refs;
	size_t nrefs;
	struct lf_diff_problem *problems;
	size_t nproblems;
	struct lf_diff_table *tables; /* special tables of the patched object */
	size_t ntables;
	size_t nrefused;              /* fatal problems */
	size_t nchanged, nnew, nremoved, nunchanged;
};

struct lf_diff_opts {
	/*
	 * Names of the functions whose source lines the fix touches (from the
	 * hunks of the source diff), if the builder knows them. With them a
	 * changed function that is not touched but contains a touched static
	 * function inlined is reported as LF_DIFF_WHY_INLINED.
	 */
	const char *const *touched;
	size_t ntouched;
};

/*
 * Compares two relocatable objects of the same machine. Returns 0 with a
 * result even when something is refused (see nrefused); -ENOEXEC if they are
 * not well-formed relocatable objects of one machine we support (x86_64,
 * aarch64; RELA only); -EOPNOTSUPP if a compared relocation has a type the
 * differ does not know.
 */
int lf_diff_objects(const struct lf_elf *orig, const struct lf_elf *patched,
		    const struct lf_diff_opts *opts, struct lf_diff_result **ret);
void lf_diff_result_free(struct lf_diff_result *r);

/*
 * Writes a relocatable object holding only the changed and new functions,
 * the new data, and the private read-only data and strings they use, with
 * every reference in r->refs turned into an undefined symbol of the
 * original's name. -EOPNOTSUPP if r has refusals.
 */
int lf_diff_write_object(const struct lf_elf *patched, const struct lf_diff_result *r,
			 const char *path);

const char *lf_diff_change_name(enum lf_diff_change c);
const char *lf_diff_why_name(enum lf_diff_why w);
const char *lf_diff_reason_name(enum lf_diff_reason r);
/* Lookups for callers and tests; NULL if absent. */
const struct lf_diff_func *lf_diff_find_func(const struct lf_diff_result *r, const char *name);
const struct lf_diff_ref *lf_diff_find_ref(const struct lf_diff_result *r, const char *name);
const struct lf_diff_problem *lf_diff_find_problem(const struct lf_diff_result *r,
						   enum lf_diff_reason reason, const char *symbol);

#endif
