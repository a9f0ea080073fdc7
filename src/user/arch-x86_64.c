/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_64 half of the per-architecture interface (arch.h):
 * relocations, the 5-byte "jmp rel32" redirection, far-call stubs, syscall
 * injection registers and the DWARF register numbering. An aarch64 port
 * provides the same functions (arch-aarch64.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "user-int.h"

const uint8_t lf_arch_syscall_insn[LF_ARCH_SYSCALL_INSN_SIZE] = { 0x0f, 0x05 };

static bool fits_s32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static int put32(uint8_t *loc, size_t avail, int64_t v, bool is_signed)
{
	if (avail < 4)
		return -ENOEXEC;
	if (is_signed ? !fits_s32(v) : (v < 0 || v > UINT32_MAX))
		return -ERANGE;
	uint32_t u = (uint32_t)v;
	memcpy(loc, &u, 4);
	return 0;
}

static int put64(uint8_t *loc, size_t avail, uint64_t v)
{
	if (avail < 8)
		return -ENOEXEC;
	memcpy(loc, &v, 8);
	return 0;
}

int lf_arch_reloc(uint32_t type, uint8_t *loc, size_t avail, uint64_t place, uint64_t sym,
		  int64_t addend, uint64_t got_slot, char *msg, size_t size)
{
	switch (type) {
	case R_X86_64_NONE:
		return 0;
	case R_X86_64_64:
		return put64(loc, avail, sym + addend);
	case R_X86_64_PC64:
		return put64(loc, avail, sym + addend - place);
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		return put32(loc, avail, (int64_t)(sym + addend - place), true);
	case R_X86_64_32:
		return put32(loc, avail, (int64_t)(sym + addend), false);
	case R_X86_64_32S:
		return put32(loc, avail, (int64_t)(sym + addend), true);
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
		if (!got_slot)
			return -ERANGE;
		return put32(loc, avail, (int64_t)(got_slot + addend - place), true);
	default:
		return lf_user_fail(msg, size, -ENOEXEC, "patch object: relocation type %u is not supported",
				    type);
	}
}

bool lf_arch_reloc_needs_got(uint32_t type)
{
	return type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX ||
	       type == R_X86_64_REX_GOTPCRELX;
}

bool lf_arch_reloc_is_branch(uint32_t type)
{
	return type == R_X86_64_PLT32;
}

int lf_arch_branch(uint8_t *buf, size_t size, uint64_t from, uint64_t to)
{
	int64_t rel = (int64_t)(to - (from + 5));

	if (size < 5)
		return -ENOBUFS;
	if (!fits_s32(rel))
		return -ERANGE;
	int32_t r32 = (int32_t)rel;
	buf[0] = 0xe9;
	memcpy(buf + 1, &r32, 4);
	return 5;
}

int lf_arch_stub(uint8_t *buf, size_t size, uint64_t at, uint64_t slot)
{
	int64_t rel = (int64_t)(slot - (at + 6));	/* jmp *rel32(%rip) */

	if (size < LF_ARCH_STUB_SIZE)
		return -ENOBUFS;
	if (!fits_s32(rel))
		return -ERANGE;
	int32_t r32 = (int32_t)rel;
	buf[0] = 0xff;
	buf[1] = 0x25;
	memcpy(buf + 2, &r32, 4);
	buf[6] = 0xcc;	/* int3 padding */
	buf[7] = 0xcc;
	return LF_ARCH_STUB_SIZE;
}

/*
 * orig_rax = -1 keeps the kernel's syscall-restart logic away from the
 * injected call when the thread was stopped inside an interrupted syscall;
 * the saved registers, restored afterwards, carry the restart as before.
 */
int lf_arch_get_regs(pid_t tid, struct lf_regs *r)
{
	return ptrace(PTRACE_GETREGS, tid, 0, &r->r) < 0 ? -errno : 0;
}

int lf_arch_set_regs(pid_t tid, const struct lf_regs *r)
{
	return ptrace(PTRACE_SETREGS, tid, 0, &r->r) < 0 ? -errno : 0;
}

void lf_arch_set_syscall(struct lf_regs *regs, uint64_t pc, long nr, const uint64_t *args,
			 unsigned nargs)
{
	struct user_regs_struct *r = &regs->r;
	uint64_t a[6] = { 0 };

	memcpy(a, args, (nargs > 6 ? 6 : nargs) * sizeof(*a));
	r->rip = pc;
	r->rax = (uint64_t)nr;
	r->orig_rax = (uint64_t)-1;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
}

long lf_arch_syscall_result(const struct lf_regs *r)
{
	return (long)r->r.rax;
}

uint64_t lf_arch_pc(const struct lf_regs *r)
{
	return r->r.rip;
}

void lf_arch_dwarf_regs(const struct lf_regs *regs, uint64_t *out)
{
	const struct user_regs_struct *r = &regs->r;

	out[0] = r->rax;
	out[1] = r->rdx;
	out[2] = r->rcx;
	out[3] = r->rbx;
	out[4] = r->rsi;
	out[5] = r->rdi;
	out[6] = r->rbp;
	out[7] = r->rsp;
	out[8] = r->r8;
	out[9] = r->r9;
	out[10] = r->r10;
	out[11] = r->r11;
	out[12] = r->r12;
	out[13] = r->r13;
	out[14] = r->r14;
	out[15] = r->r15;
	out[16] = r->rip;
}
