/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_KBUILD_H
#define LIVEFIX_KBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The front half of `livefix-build kernel`: read the shipped kernel image and
 * its symbols, prepare a build tree with the kernel's own configuration and
 * compiler, rebuild the translation units a fix touches, and prove that the
 * rebuilt originals match the shipped machine code.
 */

/* ---- kernel image (image.c) ---- */

/*
 * A kernel image decompressed into memory: the vmlinux ELF, either given
 * directly or found inside a bzImage (XZ, GZIP or ZSTD payload), or an arm64
 * Image, raw or gzip-compressed as a whole (Debian's arm64 vmlinuz).
 */
struct lf_kimage;

#define LF_KIMAGE_MAX_FILE (256u << 20)     /* vmlinuz or vmlinux on disk */
#define LF_KIMAGE_MAX_ELF (1024u << 20)     /* decompressed vmlinux */

int lf_kimage_open(const char *path, struct lf_kimage **ret_image);
void lf_kimage_free(struct lf_kimage *image);
/*
 * A shipped loadable module (.ko, uncompressed) as an image: each allocated
 * section at a synthetic address (section index << 32), the addresses
 * lf_ksyms_read_module() gives its symbols (module.c).
 */
int lf_kimage_open_module(const char *path, struct lf_kimage **ret_image);
/* ELF machine of the kernel: EM_X86_64, EM_AARCH64 (a raw arm64 Image), 0 for a module. */
uint16_t lf_kimage_machine(const struct lf_kimage *image);
/* "xz", "gzip", "zstd", "none" (a vmlinux or raw Image was given) or "module". */
const char *lf_kimage_compression(const struct lf_kimage *image);
/* The vmlinux ELF bytes (borrowed). */
const uint8_t *lf_kimage_elf(const struct lf_kimage *image, size_t *ret_len);
/*
 * Bytes at a kernel virtual address as laid out by the vmlinux program
 * headers (borrowed), or NULL when [addr, addr+len) is not in one PT_LOAD
 * segment's file image.
 */
const uint8_t *lf_kimage_at(const struct lf_kimage *image, uint64_t addr, size_t len);
/* GNU build-id as lower-case hex; -ENOENT when the image has none. */
int lf_kimage_build_id(const struct lf_kimage *image, char *hex, size_t size);

/* ---- symbols (kallsyms.c, symsrc.c) ---- */

struct lf_ksym {
	uint64_t addr;
	const char *name;   /* in the table's string pool */
	char type;          /* kallsyms/nm type letter: T t D d R r B b ... */
	uint32_t pos;       /* 1-based position among symbols of this name, table order */
	uint32_t count;     /* how many symbols carry this name */
};

struct lf_ksyms {
	struct lf_ksym *syms;   /* table order (kallsyms order: by address) */
	size_t n;
	size_t *by_name;        /* indices into syms, sorted by name, then position */
	char *pool;
	const char *source;     /* "kallsyms", "System.map", "ELF symtab" */
	uint64_t image_base;    /* raw arm64 Image: address of its first byte, else 0 */
};

#define LF_KSYMS_MAX (8u << 20)

/*
 * Finds the compressed kallsyms tables (CONFIG_KALLSYMS_BASE_RELATIVE, 64-bit
 * kernels) in a vmlinux image by their structure and decodes every symbol.
 * -ENOENT when no table is found; -EBADMSG when one is found but does not
 * decode into a sorted table containing _text or _stext.
 */
int lf_kallsyms_decode(const uint8_t *data, size_t len, struct lf_ksyms **ret_syms);
/* Reads a System.map ("addr type name" lines). */
int lf_ksyms_read_system_map(const char *path, struct lf_ksyms **ret_syms);
/* Reads the ELF .symtab of a vmlinux with symbols; -ENOENT without one. */
int lf_ksyms_read_elf(const uint8_t *data, size_t len, struct lf_ksyms **ret_syms);
/*
 * Builds a table from arrays (used by the readers and by tests): computes
 * positions among duplicates and the name index. Takes ownership of syms and
 * pool, also on failure.
 */
int lf_ksyms_new(struct lf_ksym *syms, size_t n, char *pool, const char *source,
		 struct lf_ksyms **ret_syms);
void lf_ksyms_free(struct lf_ksyms *syms);
/*
 * Looks a name up: returns how many symbols carry it (0 if none) and sets
 * *ret_first (may be NULL) to the index in by_name of the first of them;
 * the others follow in position order.
 */
size_t lf_ksyms_lookup(const struct lf_ksyms *syms, const char *name, size_t *ret_first);
/* Checks that the table is sorted by address and contains _text or _stext. */
int lf_ksyms_validate(const struct lf_ksyms *syms);

/* ---- loadable modules (module.c) ---- */

struct lf_kmodule_sec {
	uint64_t vaddr, off, size;
};

/* The allocated PROGBITS sections of a .ko with their synthetic addresses. */
int lf_kmodule_layout(const uint8_t *data, size_t len, struct lf_kmodule_sec *secs, size_t max,
		      size_t *ret_n);
/*
 * The .symtab of a .ko: the symbols the kernel lists for the loaded module
 * (defined, named, allocated, not .init), at synthetic addresses; pos is
 * the 1-based position among same-named ones in symtab order, as
 * klp_find_object_symbol() counts; a name that also names a symbol outside
 * that set is hidden (count 0), so it is never bound by position.
 */
int lf_ksyms_read_module(const uint8_t *data, size_t len, struct lf_ksyms **ret_syms);
/*
 * Finds <name>.ko under dir (recursively; '-' and '_' in file names are the
 * same, as kbuild's KBUILD_MODNAME has it). -ENOENT when absent,
 * -EMEDIUMTYPE when only a compressed copy (.ko.xz, ...) exists.
 */
int lf_kmodule_find(const char *dir, const char *name, char *ret_path, size_t size);

/* ---- build tree (tree.c) ---- */

struct lf_ktree_config {
	const char *cache_dir;      /* $LIVEFIX_CACHE */
	const char *source_dir;     /* unpacked kernel source, or NULL */
	const char *source_tar;     /* linux-source .tar.xz, or NULL */
	const char *source_id;      /* e.g. the Debian version of the tarball */
	const char *config;         /* .config of the shipped kernel */
	const char *kernelvariables; /* Debian .kernelvariables or NULL */
	const char *kcflags;        /* extra KCFLAGS for rebuilt units (tests) */
	const char *log_path;       /* make output is appended here */
	const char *arch;           /* kbuild ARCH for a cross build ("arm64"), or NULL */
	const char *cross_compile;  /* CROSS_COMPILE prefix ("aarch64-linux-gnu-"), or NULL */
	int jobs;
};

struct lf_ktree {
	char srcdir[4096];
	char objdir[4096];
	char journal[4096];         /* crash journal of a patch in progress */
	char key[65];
	char cc[256];               /* compiler named by the kernel variables (with the
				     * cross prefix: aarch64-linux-gnu-gcc-12) */
	char cc_version[256];       /* first line of `cc --version` */
	char arch_arg[32];          /* "ARCH=arm64" or "" */
	char cross_arg[96];         /* "CROSS_COMPILE=aarch64-linux-gnu-" or "" */
	bool reused;                /* prepared by an earlier run */
	double prepare_seconds;
	int lock_fd;
	const char *kcflags;
	const char *log_path;
	int jobs;
};

/*
 * Opens (preparing if needed) the O= build tree of one kernel identity under
 * cache_dir/kbuild/tree/<key>. Holds an exclusive lock on the source tree
 * until lf_ktree_close(), and restores any file a crashed run left patched.
 */
int lf_ktree_open(const struct lf_ktree_config *cfg, struct lf_ktree *ret_tree);
void lf_ktree_close(struct lf_ktree *tree);
/*
 * Finds, or downloads once (apt-get download, then dpkg-deb -x), the Debian
 * linux-source package of a version into cache_dir/kbuild/pkg/<version>/ and
 * returns the path of its .tar.xz.
 */
int lf_kbuild_fetch_source(const char *cache_dir, const char *version, const char *log_path,
			   char *ret_tar, size_t size);
/* Builds one object (path relative to the source, e.g. fs/proc/cmdline.o). */
int lf_ktree_build(struct lf_ktree *tree, const char *const *objs, size_t n);
/*
 * Applies a unified diff to the source tree, backing up every touched file
 * in a journal first. lf_ktree_unpatch() restores them (and is also run by
 * lf_ktree_open() after a crash).
 */
int lf_ktree_patch(struct lf_ktree *tree, const char *patch_path);
int lf_ktree_unpatch(struct lf_ktree *tree);

/* ---- fix analysis (units.c) ---- */

#define LF_KPATCH_MAX_FILES 256
#define LF_KPATCH_MAX_UNITS 256
#define LF_KFIX_MAX_TOUCHED 1024

struct lf_kfix {
	char *files[LF_KPATCH_MAX_FILES];   /* paths changed by the patch */
	size_t n_files;
	char **units;                        /* objects to rebuild: dir/file.o */
	size_t n_units;
	size_t n_headers;                    /* changed headers */
	const char *unit_method;             /* ".cmd dependencies" or "include scan" */
	char *touched[LF_KFIX_MAX_TOUCHED];  /* functions whose lines the fix touches */
	size_t n_touched;
};

/* Lists the files a unified diff changes (-p1 paths). */
int lf_kfix_parse(const char *patch_text, size_t len, struct lf_kfix *fix);
/*
 * Maps changed files to objects to rebuild: a .c file to its .o; a header to
 * every unit that includes it (the .cmd files of built objects when the tree
 * has any, else a scan of #include lines in the source).
 */
int lf_kfix_units(struct lf_kfix *fix, const struct lf_ktree *tree);
/*
 * Names the functions whose lines the diff removes or inserts into, read
 * from the original files under srcdir (an unpatched tree), into
 * fix->touched (touched.c; a heuristic like `diff -p`'s hunk context).
 */
int lf_kfix_touched(struct lf_kfix *fix, const char *patch_text, size_t len, const char *srcdir);
void lf_kfix_release(struct lf_kfix *fix);

/* ---- fidelity check (fidelity.c) ---- */

enum lf_fid_verdict {
	LF_FID_MATCH,        /* bytes equal after masking */
	LF_FID_DIFFER,       /* found in the image, bytes differ */
	LF_FID_ABSENT,       /* not in the image's symbols (inlined, discarded), or a
			      * weak definition the image overrides with a strong one */
};

#define LF_FID_MAX_DIFFS 8

struct lf_fid_func {
	char name[128];
	char object[256];
	uint64_t addr;
	uint32_t size;
	uint32_t pos;                 /* kallsyms position among duplicates */
	uint32_t masked;              /* bytes masked */
	uint32_t n_diffs;             /* differing bytes */
	uint32_t diff_at[LF_FID_MAX_DIFFS]; /* first differing offsets */
	bool weak;                    /* STB_WEAK in the object */
	enum lf_fid_verdict verdict;
};

struct lf_fid_report {
	struct lf_fid_func *funcs;
	size_t n;
	size_t cap;
	size_t n_match, n_differ, n_absent;
};

/*
 * Compares every function of a rebuilt original object with the image,
 * appending one entry per function to report. Relocated fields and
 * build-time rewritten sites are masked (see docs/KBUILD.md).
 */
int lf_fid_check_object(const char *obj_path, const char *display_name,
			const struct lf_kimage *image, const struct lf_ksyms *syms,
			struct lf_fid_report *report);
void lf_fid_report_release(struct lf_fid_report *report);

#endif
