/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ELF image reader (livefix/elfimg.h) on arbitrary bytes: it must reject
 * or accept, never crash. What it accepts is walked the way the applier and
 * the builder use it: every table it hands out is read to its last byte,
 * every symbol is looked up by name (unique, by position, exported only)
 * and by address, and the bytes of every symbol are fetched through the
 * PT_LOAD headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/elfimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOOKUPS_MAX 256	/* keeps a large symbol table from making a slow input */

/* Reading every byte handed out lets ASan see a range the reader let through. */
static volatile uint64_t sink;

static uint64_t last_byte(const uint8_t *p, size_t n)
{
	return p && n ? p[n - 1] : 0;
}

static void walk_sections(const struct lf_elfimg *e)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < e->shnum; i++) {
		sum += strlen(lf_elfimg_section_name(e, &e->sh[i]));
		sum += last_byte(lf_elfimg_section_data(e, &e->sh[i]), e->sh[i].sh_size);
	}
	for (unsigned i = 0; i < e->phnum; i++) {
		uint64_t v;

		if (lf_elfimg_offset_to_vaddr(e, e->ph[i].p_offset, &v) == 0)
			sum += v;
	}
	sum += last_byte(e->eh_frame, e->eh_frame_size) + last_byte(e->eh_hdr, e->eh_hdr_size);
	sum += e->versym && e->ndynsym ? e->versym[e->ndynsym - 1] : 0;
	sum += last_byte(e->build_id, e->build_id_len);
	sink += sum;
}

static void walk_symbols(const struct lf_elfimg *e, const Elf64_Sym *syms, size_t n,
			 const char *str, size_t str_size)
{
	uint64_t sum = 0;

	for (size_t i = 1; i < n && i < LOOKUPS_MAX; i++) {
		const Elf64_Sym *s = &syms[i];
		const char *name = lf_elfimg_sym_name(str, str_size, s);
		uint64_t value, sz;
		unsigned type;

		sum += strlen(name);
		if (!lf_elfimg_sym_is_defined(s) || !*name)
			continue;
		for (unsigned pos = 0; pos < 3; pos++)
			if (lf_elfimg_lookup(e, name, pos, pos == 2, &value, &sz, &type) == 0)
				sum += value + sz + type;
		if (lf_elfimg_symbol_at(e, s->st_value, &sz) == 0)
			sum += sz;
		sum += last_byte(lf_elfimg_at(e, s->st_value, s->st_size), s->st_size);
	}
	sink += sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);	/* exactly size bytes for ASan */
	struct lf_elfimg e;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (lf_elfimg_from_memory(copy, size, true, &e) < 0) {
		free(copy);
		return 0;
	}
	walk_sections(&e);
	walk_symbols(&e, e.symtab, e.nsym, e.strtab, e.strtab_size);
	walk_symbols(&e, e.dynsym, e.ndynsym, e.dynstr, e.dynstr_size);
	lf_elfimg_close(&e);	/* frees copy */
	return 0;
}
