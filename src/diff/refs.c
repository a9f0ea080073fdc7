/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the patch refers to but does not carry. Unchanged functions and all
 * existing data stay in the original and are bound by name: a static local
 * `counter.2` of the patched build is bound to `counter.1` of the original,
 * never duplicated, because the running program holds its value.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

void mark_included(const struct lf_elf *p, const struct lf_diff_result *r, bool *included)
{
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lf_diff_func *f = &r->funcs[i];

		if ((f->change == LF_DIFF_CHANGED || f->change == LF_DIFF_NEW) && f->sym < p->nsyms)
			included[f->sym] = true;
	}
	for (size_t i = 0; i < r->ndata; i++)
		if (r->data[i].sym < p->nsyms)
			included[r->data[i].sym] = true;
}

struct refs_walk {
	struct diff_ctx *c;
	const struct carry *carry;
};

static int add_ref(struct diff_ctx *c, uint32_t psym)
{
	const struct lf_elf_symbol *b = &c->p.e->syms[psym];
	uint32_t t = c->p.twin[psym];
	const struct lf_elf_symbol *a = t ? &c->o.e->syms[t] : NULL;
	struct lf_diff_ref *v = reallocarray(c->r->refs, c->r->nrefs + 1, sizeof(*v)), *ref;

	if (!v)
		return -ENOMEM;
	c->r->refs = v;
	ref = &v[c->r->nrefs];
	memset(ref, 0, sizeof(*ref));
	ref->name = strdup(a ? a->name : b->name);
	if (!ref->name)
		return -ENOMEM;
	ref->global = a ? a->bind != STB_LOCAL : true;
	ref->external = !a;
	ref->type = a ? a->type : b->type;
	ref->orig_sym = t;
	ref->sym = psym;
	c->refidx[psym] = (int32_t)c->r->nrefs++;
	return 0;
}

/*
 * A reference reached from an entry that the module loader processes while
 * it loads the patch (__jump_table, .static_call_sites, alternatives, ...):
 * the builder must know that the symbol is needed that early.
 */
static int note_table_use(struct refs_walk *w, uint32_t sec, const struct lf_elf_rela *r,
			  struct lf_diff_ref *ref)
{
	const struct carry *k = w->carry;
	const struct lf_elf *p = w->c->p.e;
	uint32_t owner;

	if (ref->table || !((k->spec[sec] && k->spec[sec]->at_load) || k->ranged[sec]))
		return 0;
	owner = carry_owner(k, sec, r->offset);
	ref->table = strdup(p->secs[sec].name);
	ref->table_func = strdup(owner ? p->syms[owner].name : "?");
	return ref->table && ref->table_func ? 0 : -ENOMEM;
}

static int ref_one(void *arg, uint32_t sec, const struct lf_elf_rela *r, const struct target *t)
{
	struct refs_walk *w = arg;
	struct diff_ctx *c = w->c;
	const struct lf_elf *p = c->p.e;
	int ret;

	if (t->kind == T_SEC && !w->carry->copied[t->sec])
		return add_problem(c->r, LF_DIFF_REFUSE_UNBINDABLE, true, p->secs[sec].name,
				   "refers to %s+0x%llx, which no symbol covers",
				   p->secs[t->sec].name, (unsigned long long)t->pos);
	if (t->kind != T_SYM || c->included[t->sym])
		return 0;
	if (c->refidx[t->sym] < 0) {
		if (lf_elf_symbol_is_defined(&p->syms[t->sym]) && !c->p.twin[t->sym])
			return add_problem(c->r, LF_DIFF_REFUSE_UNBINDABLE, true,
					   p->syms[t->sym].name,
					   "referred to from %s but neither in the patch nor in "
					   "the original", p->secs[sec].name);
		if ((ret = add_ref(c, t->sym)) < 0)
			return ret;
	}
	return note_table_use(w, sec, r, &c->r->refs[c->refidx[t->sym]]);
}

/* Per special table of the object: how many entries the patch carries. */
static int count_tables(struct diff_ctx *c, const struct carry *k)
{
	const struct lf_elf *p = c->p.e;

	for (uint32_t i = 1; i < p->nsecs; i++) {
		struct lf_diff_table *v, *t;
		size_t total, kept = carry_table_count(k, i, &total);

		if (!k->spec[i] && !k->ranged[i])
			continue;
		v = reallocarray(c->r->tables, c->r->ntables + 1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->r->tables = v;
		t = &v[c->r->ntables++];
		memset(t, 0, sizeof(*t));
		t->name = strdup(p->secs[i].name);
		if (!t->name)
			return -ENOMEM;
		t->entries = k->spec[i] ? total : p->secs[i].size;
		t->carried = k->spec[i] ? kept : 0;
		for (uint64_t b = 0; !k->spec[i] && k->keep[i] && b < p->secs[i].size; b++)
			t->carried += k->keep[i][b];
		t->code_bytes = k->ranged[i];
	}
	return 0;
}

int collect_refs(struct diff_ctx *c)
{
	const struct lf_elf *p = c->p.e;
	struct carry k;
	struct refs_walk w = { c, &k };
	int r;

	r = carry_init(&k, &c->p);
	if (r < 0)
		goto out;
	mark_included(p, c->r, c->included);
	/* Refused functions are reported, not carried. */
	r = walk_patch(&k, c->included);
	if (r == 0)
		r = carry_for_each_rela(&k, ref_one, &w);
	if (r == 0)
		r = count_tables(c, &k);
	if (r == -EOPNOTSUPP)
		r = add_problem(c->r, LF_DIFF_REFUSE_RELOC, true, "(object)",
				"a carried section has a relocation type the differ does not know");
	else if (r == -EPROTO)
		r = add_problem(c->r, LF_DIFF_REFUSE_SPECIAL, true, p->secs[k.bad_sec].name,
				"its size or entries do not match the kernel's layout of the "
				"table; its entries for carried code cannot be carried");
out:
	carry_release(&k);
	return r;
}
