/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aarch64 half of the per-architecture interface (arch.h): the patch
 * object's AArch64 relocations, the "b imm26" redirection (+-128 MiB),
 * far-call stubs through the patch's GOT, "svc #0" syscall injection with
 * the registers read and written as the NT_PRSTATUS regset, and the DWARF
 * register file (x0-x30, sp 31, pc 32; x30 is the return-address column).
 *
 * Instructions are little-endian 32-bit words; every field we patch is
 * read, masked and written back as a whole word.
 */
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "user-int.h"

/* svc #0 */
const uint8_t lf_arch_syscall_insn[LF_ARCH_SYSCALL_INSN_SIZE] = { 0x01, 0x00, 0x00, 0xd4 };

#define INSN_B 0x14000000u
#define INSN_ADRP_X16 0x90000010u
#define INSN_LDR_X16_X16 0xf9400210u	/* ldr x16, [x16, #imm12 * 8] */
#define INSN_BR_X16 0xd61f0200u
#define INSN_BRK 0xd4200000u

static uint64_t page_of(uint64_t v)
{
	return v & ~0xfffull;
}

static uint32_t get_insn(const uint8_t *loc)
{
	uint32_t v;

	memcpy(&v, loc, 4);
	return v;
}

static void put_insn(uint8_t *loc, uint32_t v)
{
	memcpy(loc, &v, 4);
}

static bool fits_signed(int64_t v, unsigned bits)
{
	return v >= -(1ll << (bits - 1)) && v < (1ll << (bits - 1));
}

/* B/BL (imm26 at bit 0), B.cond/CBZ (imm19 at bit 5), TBZ (imm14 at bit 5). */
static int put_branch(uint8_t *loc, int64_t off, unsigned bits, unsigned shift)
{
	if (off & 3)
		return -EINVAL;
	if (!fits_signed(off >> 2, bits))
		return -ERANGE;
	uint32_t mask = ((1u << bits) - 1) << shift;
	uint32_t imm = ((uint32_t)((uint64_t)off >> 2) << shift) & mask;
	put_insn(loc, (get_insn(loc) & ~mask) | imm);
	return 0;
}

/* ADR/ADRP: immlo at bits 29-30, immhi at bits 5-23, 21 bits signed. */
static int put_adr(uint8_t *loc, int64_t imm, bool check)
{
	if (check && !fits_signed(imm, 21))
		return -ERANGE;
	uint32_t u = (uint32_t)imm;
	uint32_t insn = get_insn(loc) & ~((3u << 29) | (0x7ffffu << 5));
	put_insn(loc, insn | ((u & 3) << 29) | (((u >> 2) & 0x7ffff) << 5));
	return 0;
}

/* ADD/LDR/STR (immediate, unsigned offset): imm12 at bits 10-21, scaled. */
static int put_lo12(uint8_t *loc, uint64_t v, unsigned scale)
{
	uint32_t lo = (uint32_t)(v & 0xfff);

	if (lo & ((1u << scale) - 1))
		return -EINVAL;
	uint32_t insn = get_insn(loc) & ~(0xfffu << 10);
	put_insn(loc, insn | ((lo >> scale) << 10));
	return 0;
}

static int data_reloc(uint32_t type, uint8_t *loc, size_t avail, uint64_t place, uint64_t s_a)
{
	int64_t rel = (int64_t)(s_a - place);

	switch (type) {
	case R_AARCH64_ABS64:
	case R_AARCH64_PREL64: {
		uint64_t v = type == R_AARCH64_ABS64 ? s_a : (uint64_t)rel;
		if (avail < 8)
			return -ENOEXEC;
		memcpy(loc, &v, 8);
		return 0;
	}
	case R_AARCH64_ABS32:
	case R_AARCH64_PREL32: {
		int64_t v = type == R_AARCH64_ABS32 ? (int64_t)s_a : rel;
		/* AAELF64: -2^31 <= X < 2^32 */
		if (avail < 4)
			return -ENOEXEC;
		if (v < INT32_MIN || v > (int64_t)UINT32_MAX)
			return -ERANGE;
		uint32_t u = (uint32_t)v;
		memcpy(loc, &u, 4);
		return 0;
	}
	default:
		return -ENOSYS;
	}
}

static int code_reloc(uint32_t type, uint8_t *loc, uint64_t place, uint64_t s_a, uint64_t got)
{
	int64_t rel = (int64_t)(s_a - place);
	int64_t pages = (int64_t)(page_of(s_a) - page_of(place)) >> 12;

	switch (type) {
	case R_AARCH64_CALL26:
	case R_AARCH64_JUMP26:
		return put_branch(loc, rel, 26, 0);
	case R_AARCH64_CONDBR19:
		return put_branch(loc, rel, 19, 5);
	case R_AARCH64_TSTBR14:
		return put_branch(loc, rel, 14, 5);
	case R_AARCH64_ADR_PREL_LO21:
		return put_adr(loc, rel, true);
	case R_AARCH64_ADR_PREL_PG_HI21:
	case R_AARCH64_ADR_PREL_PG_HI21_NC:
		return put_adr(loc, pages, type == R_AARCH64_ADR_PREL_PG_HI21);
	case R_AARCH64_ADD_ABS_LO12_NC:
	case R_AARCH64_LDST8_ABS_LO12_NC:
		return put_lo12(loc, s_a, 0);
	case R_AARCH64_LDST16_ABS_LO12_NC:
		return put_lo12(loc, s_a, 1);
	case R_AARCH64_LDST32_ABS_LO12_NC:
		return put_lo12(loc, s_a, 2);
	case R_AARCH64_LDST64_ABS_LO12_NC:
		return put_lo12(loc, s_a, 3);
	case R_AARCH64_LDST128_ABS_LO12_NC:
		return put_lo12(loc, s_a, 4);
	case R_AARCH64_ADR_GOT_PAGE:
		return put_adr(loc, (int64_t)(page_of(got) - page_of(place)) >> 12, true);
	case R_AARCH64_LD64_GOT_LO12_NC:
		return put_lo12(loc, got, 3);
	default:
		return -ENOSYS;
	}
}

int lf_arch_reloc(uint32_t type, uint8_t *loc, size_t avail, uint64_t place, uint64_t sym,
		  int64_t addend, uint64_t got_slot, char *msg, size_t size)
{
	uint64_t s_a = sym + (uint64_t)addend;
	int r;

	if (type == R_AARCH64_NONE)
		return 0;
	r = data_reloc(type, loc, avail, place, s_a);
	if (r != -ENOSYS)
		return r;
	if (avail < 4 || place % 4)
		return lf_user_fail(msg, size, -ENOEXEC,
				    "patch object: relocation type %u at a misaligned instruction", type);
	if (lf_arch_reloc_needs_got(type) && (!got_slot || addend))
		return got_slot ? lf_user_fail(msg, size, -ENOEXEC,
					       "patch object: GOT relocation with an addend") : -ERANGE;
	r = code_reloc(type, loc, place, s_a, got_slot);
	if (r == -ENOSYS)
		return lf_user_fail(msg, size, -ENOEXEC, "patch object: relocation type %u is not supported",
				    type);
	if (r == -EINVAL)
		return lf_user_fail(msg, size, -ENOEXEC,
				    "patch object: relocation type %u: misaligned target %#llx", type,
				    (unsigned long long)s_a);
	return r;
}

bool lf_arch_reloc_needs_got(uint32_t type)
{
	return type == R_AARCH64_ADR_GOT_PAGE || type == R_AARCH64_LD64_GOT_LO12_NC;
}

bool lf_arch_reloc_is_branch(uint32_t type)
{
	return type == R_AARCH64_CALL26 || type == R_AARCH64_JUMP26;
}

int lf_arch_branch(uint8_t *buf, size_t size, uint64_t from, uint64_t to)
{
	int64_t off = (int64_t)(to - from);

	if (size < 4)
		return -ENOBUFS;
	if ((from | to) & 3)
		return -EINVAL;
	if (!fits_signed(off >> 2, 26))
		return -ERANGE;
	put_insn(buf, INSN_B | ((uint32_t)((uint64_t)off >> 2) & 0x3ffffffu));
	return 4;
}

/*
 * adrp x16, slot; ldr x16, [x16, :lo12:slot]; br x16; brk #0. x16 (IP0)
 * is the intra-procedure-call scratch register the AAPCS64 gives veneers,
 * so no caller expects it preserved across a call.
 */
int lf_arch_stub(uint8_t *buf, size_t size, uint64_t at, uint64_t slot)
{
	int64_t pages = (int64_t)(page_of(slot) - page_of(at)) >> 12;

	if (size < LF_ARCH_STUB_SIZE)
		return -ENOBUFS;
	if ((at & 3) || (slot & 7))
		return -EINVAL;
	put_insn(buf, INSN_ADRP_X16);
	if (put_adr(buf, pages, true) < 0)
		return -ERANGE;
	put_insn(buf + 4, INSN_LDR_X16_X16 | ((uint32_t)((slot & 0xfff) >> 3) << 10));
	put_insn(buf + 8, INSN_BR_X16);
	put_insn(buf + 12, INSN_BRK);
	return LF_ARCH_STUB_SIZE;
}

int lf_arch_get_regs(pid_t tid, struct lf_regs *r)
{
	struct iovec io = { &r->r, sizeof(r->r) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_PRSTATUS, &io) < 0)
		return -errno;
	return io.iov_len == sizeof(r->r) ? 0 : -EIO;
}

int lf_arch_set_regs(pid_t tid, const struct lf_regs *r)
{
	struct iovec io = { (void *)&r->r, sizeof(r->r) };

	return ptrace(PTRACE_SETREGSET, tid, (void *)(long)NT_PRSTATUS, &io) < 0 ? -errno : 0;
}

/*
 * x8 holds the number, x0-x5 the arguments, x0 the result. No equivalent
 * of x86's orig_rax = -1 is needed: every stop we inject from is a
 * signal or group stop, reached through the kernel's do_signal(), which
 * has already rewound pc and x0 of an interrupted syscall for its restart
 * and forgotten the syscall (syscallno = -1) before the tracer sees the
 * registers. The injected svc is a fresh syscall; the saved registers,
 * restored afterwards, re-execute the interrupted svc with its original
 * arguments (an ERESTART_RESTARTBLOCK call such as clock_nanosleep is
 * restarted with its original arguments rather than through
 * restart_syscall, since the restart block is only set up when the pc is
 * left untouched: a relative sleep may last longer, it never fails).
 */
void lf_arch_set_syscall(struct lf_regs *regs, uint64_t pc, long nr, const uint64_t *args,
			 unsigned nargs)
{
	struct user_regs_struct *r = &regs->r;
	unsigned n = nargs > 6 ? 6 : nargs;

	r->pc = pc;
	r->regs[8] = (uint64_t)nr;
	for (unsigned i = 0; i < 6; i++)
		r->regs[i] = i < n ? args[i] : 0;
}

long lf_arch_syscall_result(const struct lf_regs *r)
{
	return (long)r->r.regs[0];
}

uint64_t lf_arch_pc(const struct lf_regs *r)
{
	return r->r.pc;
}

void lf_arch_dwarf_regs(const struct lf_regs *regs, uint64_t *out)
{
	const struct user_regs_struct *r = &regs->r;

	for (unsigned i = 0; i < 31; i++)
		out[i] = r->regs[i];
	out[LF_DWARF_SP] = r->sp;
	out[LF_DWARF_PC] = r->pc;
}
