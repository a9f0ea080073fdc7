/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-architecture interface of the userspace applier. Everything that
 * depends on the instruction set or the register file is here and in
 * arch-<arch>.c; the rest of src/user is generic: arch-x86_64.c (jmp rel32,
 * +-2 GiB) and arch-aarch64.c (b imm26, +-128 MiB, "svc #0", registers
 * through PTRACE_GETREGSET/NT_PRSTATUS, DWARF x0-x30, sp 31 and pc 32).
 *
 * LF_ARCH_WINDOW is the aligned store that carries the branch: the entry
 * window written in one pwrite (8 bytes on x86_64, or 16 when the 5 bytes
 * straddle; the 4-byte instruction itself on aarch64).
 */
#ifndef LF_USER_ARCH_H
#define LF_USER_ARCH_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#if defined(__x86_64__)
#define LF_ARCH_NAME "x86_64"
#define LF_ARCH_EM EM_X86_64
#define LF_ARCH_BRANCH_REACH (1ull << 31)	/* jmp rel32 */
#define LF_ARCH_BRANCH_SIZE 5
#define LF_ARCH_STUB_SIZE 8			/* jmp *rel32(%rip); int3; int3 */
#define LF_ARCH_WINDOW 8
#define LF_ARCH_INSN_ALIGN 1
#define LF_ARCH_SYSCALL_INSN_SIZE 2		/* syscall */
#define LF_ARCH_PC_MASK UINT64_MAX
#define LF_ARCH_USER_MAX 0x7ffffffff000ull	/* 47-bit user space */
#define LF_DWARF_NREGS 17	/* rax..r15 and the return-address column */
#define LF_DWARF_SP 7
#define LF_DWARF_PC 16		/* the return-address column doubles as pc */
struct lf_regs {
	struct user_regs_struct r;
};
#elif defined(__aarch64__)
#define LF_ARCH_NAME "aarch64"
#define LF_ARCH_EM EM_AARCH64
#define LF_ARCH_BRANCH_REACH (1ull << 27)	/* b imm26: +-128 MiB */
#define LF_ARCH_BRANCH_SIZE 4
#define LF_ARCH_STUB_SIZE 16			/* adrp x16; ldr x16, [x16, lo12]; br x16; brk */
#define LF_ARCH_WINDOW 4
#define LF_ARCH_INSN_ALIGN 4
#define LF_ARCH_SYSCALL_INSN_SIZE 4		/* svc #0 */
/* Return addresses signed by pointer authentication carry the PAC above bit 47. */
#define LF_ARCH_PC_MASK ((1ull << 48) - 1)
/* 48-bit VA (Debian, most devices): PIE programs load near 0xaaaa_aaaa_0000. */
#define LF_ARCH_USER_MAX 0xfffffffff000ull
#define LF_DWARF_NREGS 33	/* x0..x30, sp, pc */
#define LF_DWARF_SP 31
#define LF_DWARF_PC 32		/* the pc slot; x30 (lr) is the return-address column */
struct lf_regs {
	struct user_regs_struct r;	/* regs[31], sp, pc, pstate */
};
#else
#error "livefix user: this architecture has no arch-*.c backend yet"
#endif

#define LF_REG_BIT(n) (1ull << (n))
#define LF_REGS_ALL (LF_REG_BIT(LF_DWARF_NREGS) - 1)

/* Relocates one field: loc (avail bytes) in our memory, place its target address. */
int lf_arch_reloc(uint32_t type, uint8_t *loc, size_t avail, uint64_t place, uint64_t sym,
		  int64_t addend, uint64_t got_slot, char *msg, size_t size);
bool lf_arch_reloc_needs_got(uint32_t type);
bool lf_arch_reloc_is_branch(uint32_t type);
/* Writes a branch from 'from' to 'to' into buf; returns its length or -ERANGE. */
int lf_arch_branch(uint8_t *buf, size_t size, uint64_t from, uint64_t to);
/* An indirect jump through a 64-bit slot (PLT-like stub); returns its length. */
int lf_arch_stub(uint8_t *buf, size_t size, uint64_t at, uint64_t slot);

extern const uint8_t lf_arch_syscall_insn[LF_ARCH_SYSCALL_INSN_SIZE];

int lf_arch_get_regs(pid_t tid, struct lf_regs *r);
int lf_arch_set_regs(pid_t tid, const struct lf_regs *r);
/* Registers that run syscall nr at pc, and keep the kernel's restart logic out of it. */
void lf_arch_set_syscall(struct lf_regs *r, uint64_t pc, long nr, const uint64_t *args,
			 unsigned nargs);
long lf_arch_syscall_result(const struct lf_regs *r);
uint64_t lf_arch_pc(const struct lf_regs *r);
/* The DWARF register file (LF_DWARF_NREGS values) of a stopped thread. */
void lf_arch_dwarf_regs(const struct lf_regs *r, uint64_t *regs);

#endif
