/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ELF reader on arbitrary bytes: it must reject or accept, never crash.
 * What it accepts is walked the way the differ walks it, and an accepted
 * relocatable object is diffed against itself, which must report no change.
 */
#include <stdint.h>
#include <stdlib.h>

#include "livefix/diff.h"
#include "livefix/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reading every field lets ASan see any out-of-range index the reader let through. */
static volatile uint64_t sink;

static void walk(const struct lf_elf *e)
{
	uint8_t id[64];
	uint64_t sum = 0;

	for (size_t i = 1; i < e->nsecs; i++) {
		const struct lf_elf_rela *r;
		size_t n;

		if (e->secs[i].data && e->secs[i].size)
			sum += e->secs[i].data[e->secs[i].size - 1];
		lf_elf_section_relas(e, &e->secs[i], &r, &n);
		for (size_t j = 0; j < n; j++)
			sum += e->syms[r[j].sym].value + e->secs[i].size - r[j].offset;
	}
	for (size_t i = 0; i < e->nsyms; i++)
		if (lf_elf_symbol_is_defined(&e->syms[i]) && e->syms[i].shndx < e->nsecs)
			sum += e->secs[e->syms[i].shndx].size;
	(void)lf_elf_build_id(e, id, sizeof(id));
	sink = sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_elf *e = NULL;
	struct lf_diff_result *r = NULL;

	if (lf_elf_open_mem(data, size, &e) < 0)
		return 0;
	walk(e);
	if (lf_diff_objects(e, e, NULL, &r) == 0) {
		if (r->nchanged || r->nnew || r->nremoved)
			abort(); /* an object differs from itself */
		lf_diff_result_free(r);
	}
	lf_elf_free(e);
	return 0;
}
