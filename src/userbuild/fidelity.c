// SPDX-License-Identifier: Apache-2.0
/*
 * Fidelity: is the rebuilt original the code that runs? Each function the
 * patch replaces or calls must be, byte for byte, the code at its address
 * in the target ELF, except for the fields that relocations fill (the
 * object holds the addend, the linked file the final value). Two linker
 * rewrites also change opcode bytes next to a relocated field and are
 * masked with it: GOTPCRELX relaxation (`mov foo@GOTPCREL(%rip)` becomes
 * `lea foo(%rip)`, `call *foo@GOTPCREL(%rip)` becomes `addr32 call foo`).
 * A different compiler, optimisation level or define shows up as differing
 * bytes or sizes, and the build stops: nothing built from that source and
 * those flags can be trusted to fit the running code.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ub.h"

#define MAX_CANDIDATES 64

/* 1 = ignore this byte. */
static int build_mask(const struct lf_elf *o, const struct lf_elf_symbol *s, uint8_t *mask)
{
	const struct lf_elf_section *sec = &o->secs[s->shndx];
	const struct lf_elf_rela *rel;
	size_t n;

	memset(mask, 0, s->size);
	lf_elf_section_relas(o, sec, &rel, &n);
	for (size_t i = 0; i < n; i++) {
		struct lf_elf_reloc_info ri;
		uint64_t from, to;

		if (rel[i].offset < s->value || rel[i].offset >= s->value + s->size)
			continue;
		if (lf_elf_reloc_info(o->machine, rel[i].type, &ri) < 0)
			return -EOPNOTSUPP;
		from = rel[i].offset - s->value;
		to = from + ri.size;
		if (o->machine == EM_X86_64 && rel[i].type == R_X86_64_REX_GOTPCRELX)
			from = from >= 3 ? from - 3 : 0;
		else if (o->machine == EM_X86_64 && rel[i].type == R_X86_64_GOTPCRELX)
			from = from >= 2 ? from - 2 : 0;
		for (uint64_t k = from; k < to && k < s->size; k++)
			mask[k] = 1;
	}
	return 0;
}

static uint32_t count_diffs(const uint8_t *code, const uint8_t *mask, const uint8_t *img,
			    size_t size, uint32_t *first)
{
	uint32_t n = 0;

	for (size_t i = 0; i < size; i++)
		if (!mask[i] && code[i] != img[i]) {
			if (!n)
				*first = (uint32_t)i;
			n++;
		}
	return n;
}

int ub_fid_check(const struct lf_elf *orig, uint32_t symi, const char *unit_file,
		 const struct ub_image *img, struct ub_fid *f)
{
	const struct lf_elf_symbol *s = &orig->syms[symi];
	const struct lf_elf_section *sec;
	size_t idx[MAX_CANDIDATES], n;
	uint32_t best = UINT32_MAX;
	uint8_t *mask;
	int r;

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", s->name);
	f->size = (uint32_t)s->size;
	if (!lf_elf_symbol_is_defined(s) || s->type != STT_FUNC)
		return -EINVAL;
	sec = &orig->secs[s->shndx];
	if (!sec->data || s->value > sec->size || s->size > sec->size - s->value || !s->size)
		return -ENOEXEC;
	n = ub_image_find_sym(img, s, unit_file, idx, MAX_CANDIDATES);
	f->found = n > 0;
	mask = malloc(s->size);
	if (!mask)
		return -ENOMEM;
	r = build_mask(orig, s, mask);
	for (size_t k = 0; r == 0 && k < n; k++) {
		const struct ub_sym *t = &img->syms[idx[k]];
		const uint8_t *bytes = ub_image_at(img, t->value, s->size);
		uint32_t first = 0, d;

		if (t->type != STT_FUNC && t->type != STT_GNU_IFUNC)
			continue;
		if (!bytes || t->size != s->size)
			d = (uint32_t)s->size, first = 0;
		else
			d = count_diffs(sec->data + s->value, mask, bytes, s->size, &first);
		if (d < best) {
			best = d;
			f->addr = t->value;
			f->target_size = (uint32_t)t->size;
			f->sym = idx[k];
			f->n_diffs = d;
			f->first_diff = first;
		}
	}
	free(mask);
	if (r < 0)
		return r;
	return best == 0 ? 0 : -ENOEXEC;
}
