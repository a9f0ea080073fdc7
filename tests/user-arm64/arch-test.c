/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit checks of arch-aarch64.c, run inside the arm64 VM (the host's unit
 * tests are built for x86_64, and no cmocka is at hand for the cross build).
 * Every expected instruction word was produced by binutils
 * (aarch64-linux-gnu-as, then ld -Ttext=0x10000 and objdump) for the same
 * operands, so the encoder is checked against the assembler, not itself.
 * Prints "PASS: arch/<name>" or "FAIL: arch/<name> (...)" per check.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "user-int.h"

static int failures;

static void check(const char *name, int ok, const char *why)
{
	if (ok)
		printf("PASS: arch/%s\n", name);
	else
		printf("FAIL: arch/%s (%s)\n", name, why);
	failures += !ok;
}

static uint32_t word(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return v;
}

/* Relocates one instruction word 'insn' at place; returns the new word or ~0 on error. */
static uint32_t reloc(uint32_t type, uint32_t insn, uint64_t place, uint64_t sym, int64_t addend,
		      uint64_t got, int *ret)
{
	uint8_t b[4];
	char msg[200];

	memcpy(b, &insn, 4);
	*ret = lf_arch_reloc(type, b, 4, place, sym, addend, got, msg, sizeof(msg));
	return word(b);
}

static void branches(void)
{
	uint8_t b[16];
	int r;

	check("b-forward", lf_arch_branch(b, 4, 0x10000, 0x11000) == 4 && word(b) == 0x14000400,
	      "b .+0x1000 is 14000400");
	check("b-range-end", lf_arch_branch(b, 4, 0x10000000, 0x10000000 + (128u << 20) - 4) == 4 &&
	      word(b) == 0x15ffffff, "b .+128MiB-4 is 15ffffff");
	check("b-out-of-range", lf_arch_branch(b, 4, 0x10000000, 0x10000000 + (128u << 20)) == -ERANGE,
	      "b .+128MiB must be refused");
	check("b-backward-limit", lf_arch_branch(b, 4, 0x20000000, 0x20000000 - (128u << 20)) == 4 &&
	      word(b) == 0x16000000, "b .-128MiB is 16000000");
	uint32_t w = reloc(R_AARCH64_CALL26, 0x94000000, 0x10004, 0xf004, 0, 0, &r);
	check("call26", r == 0 && w == 0x97fffc00, "bl .-0x1000 is 97fffc00");
	reloc(R_AARCH64_JUMP26, 0x14000000, 0x10000, 0x10000 + (200u << 20), 0, 0, &r);
	check("jump26-out-of-range", r == -ERANGE, "far jump26 must ask for a stub");
	w = reloc(R_AARCH64_CONDBR19, 0x54000001, 0x10018, 0x10020, 0, 0, &r);
	check("condbr19", r == 0 && w == 0x54000041, "b.ne .+8 is 54000041");
	w = reloc(R_AARCH64_TSTBR14, 0x36000000, 0x1001c, 0x10024, 0, 0, &r);
	check("tstbr14", r == 0 && w == 0x36000040, "tbz w0, #0, .+8 is 36000040");
	reloc(R_AARCH64_TSTBR14, 0x36000000, 0x10000, 0x10000 + 0x8000, 0, 0, &r);
	check("tstbr14-out-of-range", r == -ERANGE, "tbz beyond 32 KiB must be refused");
	check("stub", lf_arch_stub(b, sizeof(b), 0x10024, 0x8008) == 16 && word(b) == 0x90ffffd0 &&
	      word(b + 4) == 0xf9400610 && word(b + 8) == 0xd61f0200 && word(b + 12) == 0xd4200000,
	      "adrp x16, .-0x8000; ldr x16, [x16, #8]; br x16; brk #0");
}

static void addresses(void)
{
	int r;
	uint32_t w = reloc(R_AARCH64_ADR_PREL_PG_HI21, 0x90000000, 0x10008, 0x11000, 0, 0, &r);

	check("adrp", r == 0 && w == 0xb0000000, "adrp x0, .+4096 is b0000000");
	reloc(R_AARCH64_ADR_PREL_PG_HI21, 0x90000000, 0x10000, 0x10000 + (5ull << 30), 0, 0, &r);
	check("adrp-out-of-range", r == -ERANGE, "adrp beyond 4 GiB must be refused");
	w = reloc(R_AARCH64_ADR_PREL_LO21, 0x10000002, 0x10020, 0x10030, 0, 0, &r);
	check("adr", r == 0 && w == 0x10000082, "adr x2, .+0x10 is 10000082");
	w = reloc(R_AARCH64_ADD_ABS_LO12_NC, 0x91000000, 0x1000c, 0x55123, 0, 0, &r);
	check("add-lo12", r == 0 && w == 0x91048c00, "add x0, x0, #0x123 is 91048c00");
	w = reloc(R_AARCH64_LDST32_ABS_LO12_NC, 0xb9400001, 0x10010, 0x77000, 0x124, 0, &r);
	check("ldst32-lo12", r == 0 && w == 0xb9412401, "ldr w1, [x0, #0x124] is b9412401");
	w = reloc(R_AARCH64_LDST64_ABS_LO12_NC, 0xf9400001, 0x10014, 0x77128, 0, 0, &r);
	check("ldst64-lo12", r == 0 && w == 0xf9409401, "ldr x1, [x0, #0x128] is f9409401");
	w = reloc(R_AARCH64_LDST8_ABS_LO12_NC, 0x39000023, 0x10034, 0x77007, 0, 0, &r);
	check("ldst8-lo12", r == 0 && w == 0x39001c23, "strb w3, [x1, #7] is 39001c23");
	w = reloc(R_AARCH64_LDST16_ABS_LO12_NC, 0x79400023, 0x10038, 0x77006, 0, 0, &r);
	check("ldst16-lo12", r == 0 && w == 0x79400c23, "ldrh w3, [x1, #6] is 79400c23");
	w = reloc(R_AARCH64_LDST128_ABS_LO12_NC, 0x3dc00020, 0x1003c, 0x77010, 0, 0, &r);
	check("ldst128-lo12", r == 0 && w == 0x3dc00420, "ldr q0, [x1, #16] is 3dc00420");
	reloc(R_AARCH64_LDST64_ABS_LO12_NC, 0xf9400001, 0x10014, 0x77124, 0, 0, &r);
	check("ldst64-misaligned", r == -ENOEXEC, "a misaligned 8-byte access must be refused");
	w = reloc(R_AARCH64_ADR_GOT_PAGE, 0x90000010, 0x10024, 0x7f0000000000ull, 0, 0x8008, &r);
	check("got-page", r == 0 && w == 0x90ffffd0, "adrp x16 of the GOT slot, not of the symbol");
	w = reloc(R_AARCH64_LD64_GOT_LO12_NC, 0xf9400210, 0x10028, 0x7f0000000000ull, 0, 0x8008, &r);
	check("got-lo12", r == 0 && w == 0xf9400610, "ldr x16, [x16, #8] from the slot");
	reloc(R_AARCH64_LD64_GOT_LO12_NC, 0xf9400210, 0x10028, 0x7f0000000000ull, 8, 0x8008, &r);
	check("got-addend-refused", r == -ENOEXEC, "a GOT relocation with an addend must be refused");
	reloc(R_AARCH64_TLSLE_ADD_TPREL_HI12, 0x91000000, 0x10000, 0, 0, 0, &r);
	check("tls-refused", r == -ENOEXEC, "TLS relocations must be refused");
}

static void data(void)
{
	uint8_t b[8] = { 0 };
	char msg[200];
	int64_t v64;
	int32_t v32;

	int r = lf_arch_reloc(R_AARCH64_ABS64, b, 8, 0x1000, 0xffff12345678ull, 8, 0, msg, sizeof(msg));
	memcpy(&v64, b, 8);
	check("abs64", r == 0 && v64 == 0xffff12345680ll, "S + A");
	r = lf_arch_reloc(R_AARCH64_PREL32, b, 4, 0x10100, 0x10000, 0, 0, msg, sizeof(msg));
	memcpy(&v32, b, 4);
	check("prel32", r == 0 && v32 == -0x100, "S + A - P");
	r = lf_arch_reloc(R_AARCH64_PREL32, b, 4, 0x10000, 0x10000 + (5ull << 30), 0, 0, msg, sizeof(msg));
	check("prel32-out-of-range", r == -ERANGE, "beyond 32 bits must be refused");
	r = lf_arch_reloc(R_AARCH64_ABS64, b, 4, 0x1000, 1, 0, 0, msg, sizeof(msg));
	check("abs64-truncated", r == -ENOEXEC, "a field past its section must be refused");
}

int main(void)
{
	branches();
	addresses();
	data();
	check("svc", word(lf_arch_syscall_insn) == 0xd4000001, "svc #0 is d4000001");
	return failures ? 1 : 0;
}
