/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the target's dynamic linker already computed, read back from the
 * target's memory: resolved GOT slots of IFUNC symbols, thread-local
 * storage module ids (DTPMOD64) and static TLS offsets (TPOFF64). The
 * patch's TLS and IFUNC references are bound to these values; no code of
 * the target runs for it (docs/USERSPACE.md, "Thread-local storage").
 */
#ifndef LF_USER_DYNREL_H
#define LF_USER_DYNREL_H

#include "target.h"

/* How a relocation of the patch object reaches thread-local storage. */
enum lf_tls_class {
	LF_TLS_NONE,	/* not a TLS relocation */
	LF_TLS_LE,	/* field = offset from the thread pointer (TPOFF32) */
	LF_TLS_IE,	/* PC-relative to a GOT slot holding that offset (GOTTPOFF) */
	LF_TLS_GD,	/* PC-relative to a GOT pair {module id, offset} (TLSGD) */
	LF_TLS_LD,	/* PC-relative to a GOT pair {module id, 0} (TLSLD) */
	LF_TLS_DTPOFF32,	/* field = offset in the module's block */
	LF_TLS_DTPOFF64,
	LF_TLS_REFUSED,	/* TLS descriptors and anything else */
};

/* Dynamic relocation types this file reads in the target's objects. */
#if defined(__x86_64__)
#define LF_DYN_DTPMOD64 R_X86_64_DTPMOD64
#define LF_DYN_TPOFF64 R_X86_64_TPOFF64
#define LF_DYN_GLOB_DAT R_X86_64_GLOB_DAT
#define LF_DYN_JUMP_SLOT R_X86_64_JUMP_SLOT
#define LF_DYN_IRELATIVE R_X86_64_IRELATIVE
#elif defined(__aarch64__)
#define LF_DYN_DTPMOD64 R_AARCH64_TLS_DTPMOD
#define LF_DYN_TPOFF64 R_AARCH64_TLS_TPREL
#define LF_DYN_GLOB_DAT R_AARCH64_GLOB_DAT
#define LF_DYN_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define LF_DYN_IRELATIVE R_AARCH64_IRELATIVE
#endif

enum lf_tls_class lf_tls_classify(uint32_t type);

/* One thread-local variable of the target, as the patch needs it. */
struct lf_tls_ref {
	uint64_t modid;		/* the dynamic linker's module id */
	uint64_t dtpoff;	/* offset in the module's TLS block */
	int64_t tpoff;		/* offset from the thread pointer (static TLS only) */
};

#define LF_TLS_NEED_MODID 1u
#define LF_TLS_NEED_TPOFF 2u

/*
 * The thread-local variable name (pos: n-th same-named local, as for
 * functions), looked up in the patched object first, then exported by the
 * executable, then by the libraries. Fills what need asks for, or fails with
 * one line in msg: -ENOENT not a TLS variable of the process, -EOPNOTSUPP
 * the module id or static offset cannot be learnt from the process.
 */
int lf_target_resolve_tls(const struct lf_target *t, const char *name, unsigned pos,
			  unsigned need, struct lf_tls_ref *ret, char *msg, size_t size);

/*
 * The implementation an IFUNC symbol (value: the resolver's link-time
 * address in object o) resolved to in this process: a resolved GOT slot
 * or IRELATIVE result of the process, else the agent's own resolution when
 * the agent maps the same build. -EOPNOTSUPP with msg when neither exists.
 */
int lf_target_resolve_ifunc(const struct lf_target *t, const struct lf_target_obj *o,
			    const char *name, uint64_t value, uint64_t *ret_addr, char *msg,
			    size_t size);

#endif
