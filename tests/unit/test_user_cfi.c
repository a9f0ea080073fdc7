/* SPDX-License-Identifier: Apache-2.0 */
/* The .eh_frame CFI interpreter: hand-made programs and this very binary. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "user-int.h"

/* ---- a hand-made .eh_frame for a function at F of 0x40 bytes ---- */

#define EH_VADDR 0x10000ull
#define F 0x400000ull

static const uint8_t cie[] = {
	0x14, 0, 0, 0,		/* length 20 */
	0, 0, 0, 0,		/* CIE id */
	1, 'z', 'R', 0,		/* version, augmentation */
	1, 0x78, 16,		/* code align 1, data align -8, RA r16 */
	1, 0x1b,		/* augmentation data: FDE pointers pcrel sdata4 */
	0x0c, 7, 8,		/* def_cfa rsp+8 */
	0x90, 1,		/* r16 at cfa-8 */
	0, 0,			/* nops */
};

static uint8_t eh[256];
static size_t eh_len;

static void build_eh(void)
{
	static const uint8_t prog[] = {
		0x41,			/* +1: push %rbp */
		0x0e, 16,		/* cfa = rsp+16 */
		0x86, 2,		/* rbp at cfa-16 */
		0x43,			/* +3: mov %rsp,%rbp */
		0x0d, 6,		/* cfa = rbp+16 */
		0x02, 0x2c,		/* advance_loc1 +0x2c: at F+0x30 */
		0x0a,			/* remember_state */
		0x0c, 7, 8,		/* epilogue: cfa = rsp+8 */
		0x41,			/* +1 */
		0x0b,			/* restore_state: back to rbp+16 */
		0, 0,
	};
	size_t fde = sizeof(cie);
	uint32_t len = 4 + 4 + 4 + 1 + sizeof(prog);
	int32_t cie_ptr = (int32_t)(fde + 4);	/* from the id field back to the CIE */
	int32_t begin = (int32_t)(F - (EH_VADDR + fde + 8));
	int32_t range = 0x40;

	memcpy(eh, cie, sizeof(cie));
	memcpy(eh + fde, &len, 4);
	memcpy(eh + fde + 4, &cie_ptr, 4);
	memcpy(eh + fde + 8, &begin, 4);
	memcpy(eh + fde + 12, &range, 4);
	eh[fde + 16] = 0;	/* augmentation data length */
	memcpy(eh + fde + 17, prog, sizeof(prog));
	eh_len = fde + 4 + len;
	memset(eh + eh_len, 0, 4);	/* terminator */
	eh_len += 4;
}

/* Fake stack memory at 0x7000..0x7100. */
static uint64_t stack[32];
#define STACK_BASE 0x7000ull

static int fake_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	if (addr < STACK_BASE || addr + len > STACK_BASE + sizeof(stack))
		return -EFAULT;
	memcpy(buf, (uint8_t *)stack + (addr - STACK_BASE), len);
	return 0;
}

static int step_at(uint64_t pc, uint64_t *regs, uint64_t *valid)
{
	struct lf_unwind_cfi cfi = { .eh = eh, .eh_size = eh_len, .eh_vaddr = EH_VADDR };
	struct lf_unwind_mem mem = { fake_read, NULL };
	bool sig;

	regs[LF_DWARF_PC] = pc;
	*valid = LF_REG_BIT(6) | LF_REG_BIT(7) | LF_REG_BIT(LF_DWARF_PC);
	return lf_unwind_step(&cfi, pc, regs, valid, &mem, &sig);
}

static void test_handmade_rows(void **state)
{
	uint64_t regs[LF_DWARF_NREGS] = { 0 };
	uint64_t valid;

	build_eh();
	stack[8] = 0xcafe;		/* return address at 0x7040 */
	stack[7] = 0x7080;		/* saved rbp at 0x7038 */

	/* entry: cfa = rsp + 8 */
	regs[7] = 0x7040;
	assert_int_equal(step_at(F, regs, &valid), 0);
	assert_true(regs[LF_DWARF_PC] == 0xcafe && regs[7] == 0x7048);
	/* after push %rbp: cfa = rsp + 16, rbp saved */
	regs[7] = 0x7038;
	regs[6] = 0x1;
	assert_int_equal(step_at(F + 2, regs, &valid), 0);
	assert_true(regs[LF_DWARF_PC] == 0xcafe && regs[7] == 0x7048 && regs[6] == 0x7080);
	/* body: cfa = rbp + 16, whatever rsp is */
	regs[6] = 0x7038;
	regs[7] = 0x7000;
	assert_int_equal(step_at(F + 0x20, regs, &valid), 0);
	assert_true(regs[LF_DWARF_PC] == 0xcafe && regs[7] == 0x7048 && regs[6] == 0x7080);
	/* epilogue (remembered state): cfa = rsp + 8 */
	regs[7] = 0x7040;
	regs[6] = 0x7080;
	assert_int_equal(step_at(F + 0x30, regs, &valid), 0);
	assert_true(regs[LF_DWARF_PC] == 0xcafe && regs[7] == 0x7048);
	/* after restore_state: rbp + 16 again */
	regs[6] = 0x7038;
	regs[7] = 0x7000;
	assert_int_equal(step_at(F + 0x31, regs, &valid), 0);
	assert_true(regs[LF_DWARF_PC] == 0xcafe && regs[7] == 0x7048);
	/* outside the FDE */
	assert_int_equal(step_at(F + 0x40, regs, &valid), -ENOENT);
	assert_int_equal(step_at(F - 1, regs, &valid), -ENOENT);
}

static void test_handmade_truncated(void **state)
{
	uint64_t regs[LF_DWARF_NREGS] = { 0 };
	struct lf_unwind_mem mem = { fake_read, NULL };
	bool sig;

	build_eh();
	/* Every truncation fails cleanly: no reads past the end. */
	for (size_t n = 0; n < eh_len - 4; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, eh, n);
		struct lf_unwind_cfi cfi = { .eh = copy, .eh_size = n, .eh_vaddr = EH_VADDR };
		uint64_t valid = LF_REG_BIT(6) | LF_REG_BIT(7) | LF_REG_BIT(LF_DWARF_PC);
		regs[7] = 0x7040;
		int r = lf_unwind_step(&cfi, F, regs, &valid, &mem, &sig);
		assert_true(r < 0);
		free(copy);
	}
}

/* ---- this binary, as the applier sees a target ---- */

static int self_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	return lf_mem_read(*(int *)ud, addr, buf, len);
}

static const struct lf_cfi_obj *obj_of(const struct lf_cfi_cache *c, uint64_t pc)
{
	for (size_t i = 0; i < c->n; i++)
		if (pc >= c->v[i].start && pc < c->v[i].end)
			return &c->v[i];
	return NULL;
}

/*
 * Unwinds from inside itself: its own frame stays live while it walks, as a
 * stopped thread's does. Returns the last step's result; *saw_caller tells
 * whether the walk went through its caller's return address.
 */
__attribute__((noinline)) static int walk(const struct lf_cfi_cache *cache, int fd, bool *saw_caller)
{
	uint64_t regs[LF_DWARF_NREGS] = { 0 }, pc, sp, bp;
	uint64_t ret = (uint64_t)(uintptr_t)__builtin_return_address(0);
	uint64_t valid = LF_REG_BIT(6) | LF_REG_BIT(7) | LF_REG_BIT(LF_DWARF_PC);
	struct lf_unwind_mem mem = { self_read, &fd };
	bool exact = true;
	int r = -1;

	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=&r"(pc), "=&r"(sp), "=&r"(bp));
	regs[LF_DWARF_PC] = pc;
	regs[7] = sp;
	regs[6] = bp;
	*saw_caller = false;
	for (unsigned frame = 0; frame < 64; frame++) {
		uint64_t at = exact ? regs[LF_DWARF_PC] : regs[LF_DWARF_PC] - 1;
		*saw_caller |= regs[LF_DWARF_PC] == ret;
		const struct lf_cfi_obj *o = obj_of(cache, at);
		if (!o || !o->has_cfi)
			return -ENOENT;
		r = lf_unwind_step(&o->cfi, at, regs, &valid, &mem, &exact);
		if (r != 0 || !regs[LF_DWARF_PC])
			break;
	}
	return r;
}

static void test_unwind_own_stack(void **state)
{
	struct lf_maps m;
	struct lf_cfi_cache cache;
	int fd = lf_mem_open(getpid(), false);
	bool saw_caller;

	assert_true(fd >= 0);
	assert_int_equal(lf_maps_read(getpid(), &m), 0);
	assert_int_equal(lf_cfi_load(&cache, getpid(), &m, fd, NULL, 0), 0);
	/* It goes through our frame and ends at the outermost one (_start). */
	assert_int_equal(walk(&cache, fd, &saw_caller), 1);
	assert_true(saw_caller);
	lf_cfi_release(&cache);
	lf_maps_release(&m);
	close(fd);
}

static void test_hdr_and_linear_agree(void **state)
{
	struct lf_elfimg e;
	uint64_t v, size;
	static const char *names[] = { "walk", "test_unwind_own_stack", "main", "fake_read" };

	assert_int_equal(lf_elfimg_open("/proc/self/exe", &e), 0);
	assert_non_null(e.eh_frame);
	assert_non_null(e.eh_hdr);
	struct lf_unwind_cfi with = { e.eh_frame, e.eh_frame_size, e.eh_frame_vaddr, e.eh_hdr,
				      e.eh_hdr_size, e.eh_hdr_vaddr };
	struct lf_unwind_cfi without = { e.eh_frame, e.eh_frame_size, e.eh_frame_vaddr, NULL, 0, 0 };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t s1, e1, s2, e2;
		assert_int_equal(lf_elfimg_lookup(&e, names[i], 0, false, &v, &size, NULL), 0);
		assert_int_equal(lf_unwind_find_fde(&with, v + size / 2, &s1, &e1), 0);
		assert_int_equal(lf_unwind_find_fde(&without, v + size / 2, &s2, &e2), 0);
		assert_true(s1 == s2 && e1 == e2);
		assert_true(s1 <= v && e1 >= v + size);	/* the FDE covers the whole function */
	}
	uint64_t s, end;
	assert_int_equal(lf_unwind_find_fde(&with, 1, &s, &end), -ENOENT);
	lf_elfimg_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handmade_rows),
		cmocka_unit_test(test_handmade_truncated),
		cmocka_unit_test(test_unwind_own_stack),
		cmocka_unit_test(test_hdr_and_linear_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
