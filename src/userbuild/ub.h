/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private interfaces of the userspace builder (src/userbuild): the compile
 * database, the private source copy, the target image, the fidelity check
 * and the patch object writer. The pipeline is in build.c; the public entry
 * point in include/livefix/userbuild.h.
 */
#ifndef LIVEFIX_USERBUILD_UB_H
#define LIVEFIX_USERBUILD_UB_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>

#include "livefix/diff.h"
#include "livefix/elf.h"
#include "livefix/elfimg.h"
#include "livefix/kbuild.h"
#include "livefix/userbuild.h"

#define UB_MAX_UNITS 4096
#define UB_MAX_ARGS 512
#define UB_MAX_FUNCS 256 /* the applier's limit of func lines, and of bind lines */

/* ---- compile database (ccdb.c) ---- */

struct ub_unit {
	char *dir;            /* absolute working directory of the compile */
	char *file;           /* absolute path of the source file */
	char **argv;          /* compiler and flags: no -c, -o, -M*, source file */
	size_t argc;
};

struct ub_ccdb {
	struct ub_unit *units;
	size_t n;
};

/* Reads compile_commands.json (entries with "arguments" or "command"). */
int ub_ccdb_load(const char *path, struct ub_ccdb *ret);
/* The same from memory (the fuzz harness). */
int ub_ccdb_parse(const char *text, size_t len, struct ub_ccdb *ret);
/* One unit per .c file, compiled in srcdir with `cc` and the given flags. */
int ub_ccdb_from_cflags(const char *srcdir, const char *cc, const char *cflags,
			const char *const *files, size_t nfiles, struct ub_ccdb *ret);
void ub_ccdb_release(struct ub_ccdb *db);
/* Splits a command line the way a POSIX shell would (quotes, backslashes). */
int ub_split_command(const char *cmd, char ***ret_argv, size_t *ret_argc);
void ub_free_argv(char **argv, size_t argc);

/*
 * Compiles a unit with every path under `from` rewritten to `to` (the
 * private copy), plus -c -ffunction-sections -fdata-sections and a
 * -ffile-prefix-map that keeps __FILE__ as in the original build. With
 * deps, writes the unit's dependency list (-M) to out instead.
 */
int ub_compile(const struct ub_unit *u, const char *from, const char *to,
	       const char *out, bool deps, const char *log);
/* Lexically normalised absolute path of p (relative to dir): no ., .., //. */
int ub_abspath(const char *dir, const char *p, char *out, size_t size);
/*
 * Runs argv (argv[0] from PATH) in cwd (NULL: here), stdin /dev/null,
 * stdout and stderr appended to log (NULL: discarded). 0 on exit 0, -EIO
 * on another status.
 */
int ub_run(const char *cwd, char *const argv[], const char *log);

/* ---- private copy of the source tree (mirror.c) ---- */

/*
 * Mirrors src into dst: directories are created, files are symbolic links
 * (never written through: touched files are replaced by copies first).
 * At most max_files entries.
 */
int ub_mirror(const char *src, const char *dst, size_t max_files);
/* Replaces the link at dst/rel by a copy of its target (rel may be absent). */
int ub_mirror_own(const char *dst, const char *rel);
/* patch -p1 in dir; -ENOEXEC when it does not apply. */
int ub_apply_patch(const char *dir, const char *patch, const char *log);

/* ---- the target ELF (image.c) ---- */

struct ub_sym {
	const char *name;
	const char *file;     /* STT_FILE before it, for locals; NULL for others */
	uint64_t value, size;
	uint8_t type, bind;
	uint32_t pos;         /* 1-based among defined symbols of its name */
};

struct ub_image {
	struct lf_elfimg elf;   /* the target file, mapped */
	struct lf_elfimg debug; /* its debug file, when the symbols come from there */
	uint16_t machine;
	struct ub_sym *syms;  /* .symtab order, defined symbols only */
	size_t nsyms;
	bool own_symtab;      /* the target's own .symtab (else a debug file's) */
	/* GOT slots of imported functions (JUMP_SLOT, GLOB_DAT of STT_FUNC) */
	struct ub_slot { char *name; uint64_t vaddr; } *slots;
	size_t nslots;
	size_t got_sym;       /* index of _GLOBAL_OFFSET_TABLE_ in syms, or SIZE_MAX */
	char symsrc[4096];    /* where the symbols came from */
	char build_id[2 * LF_ELFIMG_BUILD_ID_MAX + 1];
};

int ub_image_open(const char *path, struct ub_image *ret);
void ub_image_release(struct ub_image *img);
/* Bytes at a link-time address, or NULL when not in one PT_LOAD's file image. */
const uint8_t *ub_image_at(const struct ub_image *img, uint64_t vaddr, size_t len);
/*
 * Symbols named `name`, local or not as asked, preferring those of the
 * translation unit whose file symbol is `file` (a basename) for locals.
 * Fills up to max indices; returns how many.
 */
size_t ub_image_find(const struct ub_image *img, const char *name, bool local,
		     const char *file, size_t *idx, size_t max);
/* The same for a symbol of a rebuilt object (a hidden global is local once linked). */
size_t ub_image_find_sym(const struct ub_image *img, const struct lf_elf_symbol *s,
			 const char *file, size_t *idx, size_t max);
/* The GOT slot of an imported function, or NULL. */
const struct ub_slot *ub_image_slot(const struct ub_image *img, const char *name);
/* How many defined symbols carry the name. */
size_t ub_image_count(const struct ub_image *img, const char *name);

/* ---- fidelity (fidelity.c) ---- */

struct ub_fid {
	char name[128];
	uint64_t addr;        /* matched address, 0 if none */
	uint32_t size;
	uint32_t target_size;  /* of the closest candidate */
	uint32_t n_diffs;
	uint32_t first_diff;
	size_t sym;           /* index in img->syms when matched */
	bool found;           /* a symbol of that name exists */
};

/*
 * Compares function `sym` of the rebuilt original object with every
 * candidate of its name in the target; fills f. Returns 0 when one matches
 * byte for byte outside relocated fields, -ENOEXEC otherwise.
 */
int ub_fid_check(const struct lf_elf *orig, uint32_t sym, const char *unit_file,
		 const struct ub_image *img, struct ub_fid *f);

/* ---- the patch object (emit.c) ---- */

struct ub_emit;

/* img (borrowed, outlives m) gives the GOT slots calls to imports go through. */
int ub_emit_new(const char *id, unsigned level, const struct ub_image *img, struct ub_emit **ret);
void ub_emit_free(struct ub_emit *m);
/*
 * Adds one unit: the differ's object of it (diff_obj, written by
 * lf_diff_write_object), the patched object (for .eh_frame), the result,
 * the redirections found by the fidelity check and the bindings of the
 * references (ref index -> "name,pos" in the target, or NULL for a lookup
 * by name).
 */
struct ub_redirect {
	const char *name;     /* symbol of the function in the patched object */
	const char *old_name;
	uint64_t old_addr;
};

int ub_emit_unit(struct ub_emit *m, const char *diff_obj, const struct lf_elf *patched,
		 const struct lf_diff_result *r, const struct ub_redirect *redir, size_t nredir,
		 char *const *ref_bind, char *msg, size_t msg_size);
int ub_emit_write(struct ub_emit *m, const char *path);

/* ---- the pipeline (build.c, units.c) ---- */

struct ub_emit;

/* One run of the builder (build.c). */
struct ub_job {
	const struct lf_ubuild_opts *o;
	struct lf_ubuild_report *rep;
	struct ub_image img;
	struct lf_kfix fix;
	struct ub_ccdb db;
	size_t *units;          /* indices into db.units */
	size_t nunits;
	char from[PATH_MAX], work[PATH_MAX], mirror[PATH_MAX + 8], log[PATH_MAX + 16];
	char patch[PATH_MAX];   /* absolute: patch runs inside the copy */
	bool own_work;          /* created here, removed at the end */
	size_t nmismatch;
};

/* Appends one line to the report. */
void ub_say(struct ub_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Steps 5 to 7: differ, fidelity, bindings, patch object. */
int ub_diff_units(struct ub_job *j);

#endif
