/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing the patch object: the carried sections copied byte for byte, the
 * included functions and data as defined symbols, every reference to the
 * original as an undefined symbol of the original's name, and each carried
 * relocation re-pointed at one of those. Special tables keep only the
 * entries of carried code, compacted in their order (special.c). The
 * builders then turn the
 * undefined symbols into klp relocations (kernel) or resolved addresses
 * (userspace).
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

struct emit {
	const struct lf_elf *p;
	struct carry *k;
	struct lf_elf_out *out;
	uint32_t *secmap;  /* patched section -> output section, 0 none */
	int *symmap;       /* patched symbol -> output symbol handle, -1 none */
};

/* The entries of a special table that the patch keeps, in their order. */
static int add_table(struct emit *m, uint32_t i)
{
	const struct lf_elf_section *s = &m->p->secs[i];
	uint32_t es = m->k->spec[i]->entsize;
	size_t total, n = carry_table_count(m->k, i, &total), at = 0;
	uint8_t *buf = malloc(n * es + 1);
	int idx;

	if (!buf)
		return -ENOMEM;
	for (size_t e = 0; e < total && s->data && m->k->keep[i]; e++)
		if (m->k->keep[i][e])
			memcpy(buf + es * at++, s->data + e * es, es);
	idx = lf_elf_out_add_section(m->out, s->name, s->type, s->flags & ~(uint64_t)SHF_GROUP,
				     s->align, s->entsize, buf, (uint64_t)n * es);
	free(buf);
	return idx;
}

static int add_sections(struct emit *m)
{
	for (size_t i = 1; i < m->p->nsecs; i++) {
		const struct lf_elf_section *s = &m->p->secs[i];
		int idx;

		if (!m->k->copied[i])
			continue;
		if (m->k->spec[i])
			idx = add_table(m, (uint32_t)i);
		else
			idx = lf_elf_out_add_section(m->out, s->name, s->type,
						     s->flags & ~(uint64_t)SHF_GROUP, s->align,
						     s->entsize, s->data, s->size);
		if (idx < 0)
			return idx;
		m->secmap[i] = (uint32_t)idx;
	}
	return 0;
}

static int add_symbols(struct emit *m, const bool *included, const struct lf_diff_result *r)
{
	for (size_t i = 1; i < m->p->nsyms; i++) {
		const struct lf_elf_symbol *s = &m->p->syms[i];
		int h;

		if (!included[i])
			continue;
		h = lf_elf_out_add_symbol(m->out, s->name, s->type, s->bind, s->vis,
					  m->secmap[s->shndx], s->value, s->size);
		if (h < 0)
			return h;
		m->symmap[i] = h;
	}
	for (size_t i = 0; i < r->nrefs; i++) {
		const struct lf_diff_ref *ref = &r->refs[i];
		int h;

		if (ref->sym >= m->p->nsyms)
			return -EINVAL;
		h = lf_elf_out_add_symbol(m->out, ref->name,
					  ref->type == STT_SECTION ? STT_NOTYPE : ref->type,
					  STB_GLOBAL, STV_DEFAULT, 0, 0, 0);
		if (h < 0)
			return h;
		m->symmap[ref->sym] = h;
	}
	return 0;
}

static int add_rela(void *arg, uint32_t sec, const struct lf_elf_rela *r, const struct target *t)
{
	struct emit *m = arg;
	uint64_t off = m->k->spec[sec] ? carry_table_offset(m->k, sec, r->offset) : r->offset;
	int h;

	if (t->kind == T_SYM) {
		if (m->symmap[t->sym] < 0)
			return -EINVAL; /* neither carried nor bound: the result is stale */
		return lf_elf_out_add_rela(m->out, m->secmap[sec], off, r->type,
					   m->symmap[t->sym], t->off);
	}
	if (!m->secmap[t->sec])
		return -EINVAL;
	h = lf_elf_out_section_symbol(m->out, m->secmap[t->sec]);
	if (h < 0)
		return h;
	return lf_elf_out_add_rela(m->out, m->secmap[sec], off, r->type, h, t->pos);
}

static int emit(struct emit *m, const struct side *p, const struct lf_diff_result *r,
		const char *path)
{
	size_t ns = m->p->nsyms ? m->p->nsyms : 1;
	bool *included = calloc(ns, sizeof(*included));
	struct carry k;
	int ret = carry_init(&k, p);

	m->k = &k;
	if (ret == 0 && !included)
		ret = -ENOMEM;
	if (ret < 0)
		goto out;
	mark_included(m->p, r, included);
	ret = walk_patch(&k, included);
	if (ret == 0)
		ret = add_sections(m);
	if (ret == 0)
		ret = add_symbols(m, included, r);
	if (ret == 0)
		ret = carry_for_each_rela(&k, add_rela, m);
	if (ret == 0) {
		/* Says the code needs no executable stack, as gcc's objects do. */
		int idx = lf_elf_out_add_section(m->out, ".note.GNU-stack", SHT_PROGBITS, 0, 1, 0, NULL, 0);

		ret = idx < 0 ? idx : lf_elf_out_write(m->out, path);
	}
out:
	m->k = NULL;
	carry_release(&k);
	free(included);
	return ret;
}

int lf_diff_write_object(const struct lf_elf *patched, const struct lf_diff_result *r,
			 const char *path)
{
	struct emit m = { .p = patched };
	struct side p;
	size_t ns = patched->nsyms ? patched->nsyms : 1;
	int ret;

	if (r->nrefused)
		return -EOPNOTSUPP;
	ret = side_init(&p, patched);
	if (ret < 0)
		goto out;
	ret = lf_elf_out_new(patched->machine, patched->elfclass, &m.out);
	if (ret < 0)
		goto out;
	m.secmap = calloc(patched->nsecs, sizeof(*m.secmap));
	m.symmap = malloc(ns * sizeof(*m.symmap));
	ret = -ENOMEM;
	if (!m.secmap || !m.symmap)
		goto out;
	for (size_t i = 0; i < ns; i++)
		m.symmap[i] = -1;
	ret = emit(&m, &p, r, path);
out:
	lf_elf_out_free(m.out);
	free(m.secmap);
	free(m.symmap);
	side_release(&p);
	return ret;
}
