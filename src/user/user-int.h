/* SPDX-License-Identifier: Apache-2.0 */
/* Private interfaces of the userspace applier; the unit tests use them too. */
#ifndef LF_USER_INT_H
#define LF_USER_INT_H

#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "livefix/elfimg.h"
#include "livefix/hex.h"
#include "livefix/user.h"

#include "arch.h"

__attribute__((format(printf, 4, 5)))
int lf_user_fail(char *msg, size_t size, int err, const char *fmt, ...);

/* ---- maps.c: /proc/PID/maps ---- */

#define LF_MAPS_MAX 65536	/* entries */
#define LF_MAPS_TEXT_MAX (16u << 20)

struct lf_map {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	bool r, w, x, shared;
	char *path;	/* NULL when anonymous; points into the maps text */
};

struct lf_maps {
	struct lf_map *v;
	size_t n;
	char *text;
};

int lf_maps_parse(char *text, struct lf_maps *ret);	/* takes text */
int lf_maps_read(pid_t pid, struct lf_maps *ret);
bool lf_proc_is_zombie(pid_t pid);
/* The state letter of a thread in /proc/PID/task/TID/stat, '?' if unknown. */
char lf_proc_task_state(pid_t pid, pid_t tid);
/* "/proc/PID", or a live thread's "/proc/PID/task/TID" when the leader is a zombie. */
void lf_proc_dir(pid_t pid, char *buf, size_t size);
void lf_maps_release(struct lf_maps *m);
const struct lf_map *lf_maps_find(const struct lf_maps *m, uint64_t addr);

/*
 * Lowest-distance free, page-aligned range of size bytes such that every
 * byte of it is within reach of every byte of [lo, hi): |dst - src| < reach.
 * Keeps a guard page free on both sides. Returns 0 and *ret_addr, or
 * -ENOSPC when no gap qualifies.
 */
int lf_maps_find_gap(const struct lf_maps *m, uint64_t lo, uint64_t hi, uint64_t size,
		     uint64_t reach, uint64_t *ret_addr);

/* ---- ELF images: the shared reader, livefix/elfimg.h (src/elf/elfimg.c) ---- */

#define LF_BUILD_ID_MAX LF_ELFIMG_BUILD_ID_MAX	/* bytes, in patch headers too */

/* ---- patchobj.c: the patch object ---- */

#define LF_PATCH_FUNCS_MAX 256
#define LF_PATCH_BINDS_MAX 256
#define LF_PATCH_NAME_MAX 128

struct lf_patch_func {
	char old_name[LF_PATCH_NAME_MAX];
	unsigned old_pos;	/* 0: unique, else n-th same-named symbol */
	uint64_t old_addr;	/* link-time address when given as @0x..., else 0 */
	char new_name[LF_PATCH_NAME_MAX];
};

struct lf_patch_bind {
	char sym[LF_PATCH_NAME_MAX];	/* undefined symbol in the patch */
	char target[LF_PATCH_NAME_MAX];
	unsigned pos;
	uint64_t addr;
};

struct lf_user_patch {
	struct lf_elfimg elf;
	char id[LF_USER_ID_MAX];
	unsigned level;
	uint8_t build_id[LF_BUILD_ID_MAX];
	unsigned build_id_len;
	char build_id_hex[2 * LF_BUILD_ID_MAX + 1];
	struct lf_patch_func funcs[LF_PATCH_FUNCS_MAX];
	unsigned nfuncs;
	struct lf_patch_bind binds[LF_PATCH_BINDS_MAX];
	unsigned nbinds;
};

/* Parses a patch object held in data (malloc'd, taken in every case). */
int lf_patch_parse(const char *path, void *data, size_t len, struct lf_user_patch **ret_patch,
		   char *msg, size_t msg_size);
/* Parses the text of a .livefix.patch section into p. */
int lf_patch_parse_meta(struct lf_user_patch *p, const char *text, size_t len,
			char *msg, size_t msg_size);
/* Parses "name", "name,pos" or "name@0xaddr". */
int lf_patch_parse_symref(const char *s, char *name, size_t size, unsigned *ret_pos,
			  uint64_t *ret_addr);

/* ---- the header at the start of every patch mapping ---- */

#define LF_HDR_MAGIC "\x7fLFXPAT"	/* 8 bytes with the NUL */
#define LF_HDR_VERSION 1
#define LF_ENTRY_MAX 16

struct lf_hdr_func {
	uint64_t addr;		/* old function entry in the target */
	uint64_t new_addr;	/* replacement in this mapping */
	uint8_t orig[LF_ENTRY_MAX];	/* bytes of the aligned window before patching */
	uint8_t jump[LF_ENTRY_MAX];	/* the same window after patching */
	uint64_t win;		/* aligned window start */
	uint32_t win_len;	/* 8 or 16 */
	uint32_t pad;
	char name[LF_PATCH_NAME_MAX];
};

struct lf_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;	/* header and function records */
	uint64_t map_size;
	uint64_t text_start, text_end;	/* absolute, the patch's code */
	uint64_t eh_frame, eh_frame_size;	/* absolute, the patch's CFI */
	uint32_t level;
	uint32_t nfuncs;
	uint32_t build_id_len;
	uint32_t pad;
	uint8_t build_id[LF_BUILD_ID_MAX];
	uint8_t pad2[4];
	char id[LF_USER_ID_MAX];
	char object[256];
	struct lf_hdr_func funcs[];
};

/* ---- link.c: the patch linked for one process, in our memory ---- */

struct lf_tls_ref;

struct lf_link_sym {	/* resolves an undefined name to an absolute address */
	int (*resolve)(void *ud, const char *name, uint64_t *ret_addr, char *msg, size_t size);
	/* A thread-local variable of the target: need is LF_TLS_NEED_* (dynrel.h). */
	int (*resolve_tls)(void *ud, const char *name, unsigned need, struct lf_tls_ref *ret,
			   char *msg, size_t size);
	void *ud;
};

struct lf_image {
	uint8_t *data;		/* map_size bytes, header at 0 */
	uint64_t base;		/* where it will live in the target */
	uint64_t map_size;
	uint64_t ro_end;	/* [0, ro_end) r--, [ro_end, text_end) r-x, rest rw- */
	uint64_t text_end;
	uint64_t *sec_addr;	/* absolute address of each patch section, 0 if not loaded */
	uint64_t *sec_off;	/* offset of each loaded section, UINT64_MAX if not */
	int32_t *got_slot;	/* per patch symbol: GOT (and stub) index, -1 if none */
	uint64_t got_off, stub_off;
	unsigned ngot;
	int32_t *tls_slot;	/* per patch symbol: TLS GOT index, -1 if none (initial-exec) */
	int32_t *tlsgd_slot;	/* per patch symbol: first of a {module, offset} pair */
	int32_t tlsld_slot;	/* the one {module, 0} pair of local-dynamic code, -1 if none */
	uint64_t tls_off;	/* the TLS GOT, after the GOT */
	unsigned ntls;
	uint64_t hdr_size;
	uint64_t eh_frame_off, eh_frame_size;	/* 0 size: no CFI */
};

/* Sizes the mapping for patch p with nfuncs records (before knowing base). */
int lf_link_layout(const struct lf_user_patch *p, struct lf_image *img, char *msg, size_t size);
/* Places sections at base, resolves symbols and applies relocations. */
int lf_link_apply(const struct lf_user_patch *p, struct lf_image *img, uint64_t base,
		  const struct lf_link_sym *res, char *msg, size_t size);
/* Absolute address of a symbol defined in the patch, after lf_link_apply. */
int lf_link_symbol(const struct lf_user_patch *p, const struct lf_image *img, const char *name,
		   uint64_t *ret_addr);
void lf_image_release(struct lf_image *img);

/* ---- arch.h, arch-*.c: see arch.h ---- */

/* ---- ptrace.c: stopping threads, injecting syscalls ---- */

struct lf_thread {
	pid_t tid;
	bool seized;
	bool stopped;
	bool gone;		/* exited while we held it */
	int pending_sig;	/* arrived while stopped by us; re-sent on release */
	struct lf_regs regs;	/* valid while stopped */
};

struct lf_stop {
	pid_t pid;
	struct lf_thread *t;
	size_t n, cap;
	uint64_t t_start;	/* monotonic ns when the first thread was seized */
};

uint64_t lf_now_ns(void);
/* Seizes and stops every thread (all == false: one thread) before deadline. */
int lf_stop_all(pid_t pid, bool all, uint64_t deadline_ns, struct lf_stop *ret, char *msg,
		size_t size);
/* Detaches every thread, each resuming where it was. */
void lf_stop_release(struct lf_stop *s);
/* Runs one syscall in stopped thread t at gadget; regs are restored. */
int lf_inject_syscall(struct lf_stop *s, struct lf_thread *t, uint64_t gadget, long nr,
		      const uint64_t *args, unsigned nargs, long *ret_val);
/* Address of a syscall instruction in an executable mapping of the target. */
int lf_find_syscall_gadget(pid_t pid, const struct lf_maps *m, uint64_t *ret_addr);

int lf_mem_open(pid_t pid, bool write);
int lf_mem_read(int fd, uint64_t addr, void *buf, size_t len);
int lf_mem_write(int fd, uint64_t addr, const void *buf, size_t len);

/* ---- unwind.c: .eh_frame CFI ---- */

/* Reads target memory for the unwinder (a stack cache in front of it). */
struct lf_unwind_mem {
	int (*read)(void *ud, uint64_t addr, void *buf, size_t len);
	void *ud;
};

/* The CFI of one object: .eh_frame (and .eh_frame_hdr) bytes and where they run. */
struct lf_unwind_cfi {
	const uint8_t *eh;
	size_t eh_size;
	uint64_t eh_vaddr;	/* runtime address of eh[0] */
	const uint8_t *hdr;	/* .eh_frame_hdr with a sorted table, or NULL */
	size_t hdr_size;
	uint64_t hdr_vaddr;
};

/*
 * One step: from regs (DWARF numbering, valid bits in *valid) at pc, finds
 * the caller's registers. Returns 1 when pc is the outermost frame (return
 * address undefined), 0 after a step, negative errno when no rule is found.
 * signal_frame is set when the FDE is a signal trampoline's.
 */
int lf_unwind_step(const struct lf_unwind_cfi *cfi, uint64_t pc, uint64_t *regs, uint64_t *valid,
		   const struct lf_unwind_mem *mem, bool *signal_frame);
/* Finds the FDE for pc; returns 0 and its pc range, -ENOENT if none. */
int lf_unwind_find_fde(const struct lf_unwind_cfi *cfi, uint64_t pc, uint64_t *ret_start,
		       uint64_t *ret_end);

/* ---- state.c: livefix mappings found in a process ---- */

#define LF_STATE_MAX 64	/* patches per process */

struct lf_found {
	uint64_t addr;
	struct lf_hdr *hdr;	/* with its function records */
};

int lf_state_scan(pid_t pid, const struct lf_maps *m, int memfd, struct lf_found **ret,
		  size_t *ret_n);
void lf_state_free(struct lf_found *f, size_t n);
/* How many of the patch's functions currently jump into it; -errno on read errors. */
int lf_state_redirected(int memfd, const struct lf_hdr *h);

/* ---- stack.c: is any thread in one of these ranges? ---- */

struct lf_cfi_obj {
	uint64_t start, end;	/* executable mapping */
	bool has_cfi;
	struct lf_unwind_cfi cfi;
	struct lf_elfimg elf;
	uint8_t *copy;		/* CFI read from the target (patch mappings) */
};

struct lf_cfi_cache {
	struct lf_cfi_obj *v;
	size_t n;
};

int lf_cfi_load(struct lf_cfi_cache *c, pid_t pid, const struct lf_maps *m, int memfd,
		const struct lf_found *found, size_t nfound);
void lf_cfi_release(struct lf_cfi_cache *c);

struct lf_range {
	uint64_t start, end;
	const char *name;
};

/* -EBUSY with the thread and function in msg when a frame is in a range or cannot be unwound. */
int lf_stack_check(const struct lf_stop *s, const struct lf_cfi_cache *c, int memfd,
		   const struct lf_range *ranges, size_t nranges, char *msg, size_t size);

/* ---- test hook: calls lf_user_step_hook (include/livefix/user.h) at each step ---- */
void lf_user_test_point(const char *step);

#endif
