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

int walk_patch(const struct side *p, const bool *included, bool *copied,
	       walk_fn fn, void *arg)
{
	const struct lf_elf *e = p->e;
	uint32_t *queue = calloc(e->nsecs, sizeof(*queue));
	size_t head = 0, tail = 0;
	int r = 0;

	if (!queue)
		return -ENOMEM;
	for (size_t i = 1; i < e->nsyms; i++) {
		uint32_t s = e->syms[i].shndx;

		if (included[i] && !copied[s]) {
			copied[s] = true;
			queue[tail++] = s;
		}
	}
	while (r == 0 && head < tail) {
		const struct lf_elf_section *sec = &e->secs[queue[head++]];
		const struct lf_elf_rela *rl;
		size_t n;

		lf_elf_section_relas(e, sec, &rl, &n);
		for (size_t j = 0; r == 0 && j < n; j++) {
			struct target t;

			r = resolve_target(p, sec, &rl[j], &t);
			if (r < 0)
				break;
			if ((t.kind == T_STR || t.kind == T_MERGE || t.kind == T_PRIV) && !copied[t.sec]) {
				copied[t.sec] = true;
				queue[tail++] = t.sec;
			}
			r = fn(arg, sec->index, &rl[j], &t);
		}
	}
	free(queue);
	return r;
}

struct refs_walk {
	struct diff_ctx *c;
	const bool *copied;
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

static int ref_one(void *arg, uint32_t sec, const struct lf_elf_rela *r, const struct target *t)
{
	struct refs_walk *w = arg;
	struct diff_ctx *c = w->c;
	const struct lf_elf *p = c->p.e;

	if (t->kind == T_SEC && !w->copied[t->sec])
		return add_problem(c->r, LF_DIFF_REFUSE_UNBINDABLE, true, p->secs[sec].name,
				   "refers to %s+0x%llx, which no symbol covers",
				   p->secs[t->sec].name, (unsigned long long)t->pos);
	if (t->kind != T_SYM || c->included[t->sym] || c->refidx[t->sym] >= 0)
		return 0;
	if (lf_elf_symbol_is_defined(&p->syms[t->sym]) && !c->p.twin[t->sym])
		return add_problem(c->r, LF_DIFF_REFUSE_UNBINDABLE, true, p->syms[t->sym].name,
				   "referred to from %s but neither in the patch nor in the original",
				   p->secs[sec].name);
	return add_ref(c, t->sym);
}

int collect_refs(struct diff_ctx *c)
{
	const struct lf_elf *p = c->p.e;
	bool *copied = calloc(p->nsecs, sizeof(*copied));
	struct refs_walk w = { c, copied };
	int r;

	if (!copied)
		return -ENOMEM;
	mark_included(p, c->r, c->included);
	/* Refused functions are reported, not carried. */
	r = walk_patch(&c->p, c->included, copied, ref_one, &w);
	if (r == -EOPNOTSUPP)
		r = add_problem(c->r, LF_DIFF_REFUSE_RELOC, true, "(object)",
				"a carried section has a relocation type the differ does not know");
	free(copied);
	return r;
}
