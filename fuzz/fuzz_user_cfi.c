/* SPDX-License-Identifier: Apache-2.0 */
/* The .eh_frame interpreter on arbitrary bytes: every pc, fake registers and stack. */
#include <stdint.h>
#include <string.h>

#include "user-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t stack[256];

static int fake_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	(void)ud;
	if (addr < 0x7000 || addr - 0x7000 > sizeof(stack) || len > sizeof(stack) - (addr - 0x7000))
		return -14;
	memcpy(buf, stack + (addr - 0x7000), len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_unwind_cfi cfi = { .eh = data, .eh_size = size, .eh_vaddr = 0x10000 };
	struct lf_unwind_mem mem = { fake_read, NULL };

	for (size_t i = 0; i < sizeof(stack); i++)
		stack[i] = (uint8_t)(i * 7);
	/* pcs around the section itself, where pc-relative FDEs point */
	for (uint64_t pc = 0xff00; pc < 0x10000 + size + 0x100; pc += 0x1f) {
		uint64_t regs[LF_DWARF_NREGS] = { 0 }, s, e;
		uint64_t valid = LF_REGS_ALL;
		bool sig;
		for (unsigned r = 0; r < LF_DWARF_NREGS; r++)
			regs[r] = 0x7000 + 8 * r;
		lf_unwind_find_fde(&cfi, pc, &s, &e);
		lf_unwind_step(&cfi, pc, regs, &valid, &mem, &sig);
	}
	return 0;
}
