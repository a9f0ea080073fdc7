/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Classification: every function is unchanged, changed, new or removed;
 * new data goes into the patch; existing data must not change; and the
 * things a live patch cannot carry are refused with a reason.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/buf.h"
#include "diff_private.h"

#define GROW(arr, n) reallocarray((arr), (n) + 1, sizeof(*(arr)))

int add_problem(struct lf_diff_result *r, enum lf_diff_reason reason, bool fatal,
		const char *symbol, const char *fmt, ...)
{
	struct lf_diff_problem *v = GROW(r->problems, r->nproblems), *p;
	va_list ap;
	int n;

	if (!v)
		return -ENOMEM;
	r->problems = v;
	p = &v[r->nproblems];
	memset(p, 0, sizeof(*p));
	p->reason = reason;
	p->fatal = fatal;
	p->symbol = strdup(symbol);
	va_start(ap, fmt);
	n = vasprintf(&p->detail, fmt, ap);
	va_end(ap);
	if (!p->symbol || n < 0) {
		free(p->symbol);
		if (n >= 0)
			free(p->detail);
		return -ENOMEM;
	}
	r->nproblems++;
	if (fatal)
		r->nrefused++;
	return 0;
}

static bool is_init_section(const char *name)
{
	return !strncmp(name, ".init.", 6) || !strncmp(name, ".exit.", 6) ||
	       !strcmp(name, ".init") || !strcmp(name, ".fini");
}

static bool is_prologue_call(const char *name)
{
	return !strcmp(name, "__fentry__") || !strcmp(name, "mcount") ||
	       !strcmp(name, "_mcount") || !strcmp(name, "__mcount") ||
	       !strcmp(name, "__gnu_mcount_nc");
}

/*
 * A function can be redirected by ftrace (kernel) when it starts with a
 * call to __fentry__/mcount, or when the compiler recorded it in
 * __mcount_loc or __patchable_function_entries.
 */
static void find_prologues(struct side *s)
{
	const struct lf_elf *e = s->e;

	for (size_t i = 1; i < e->nsyms; i++) {
		const struct lf_elf_symbol *f = &e->syms[i];
		const struct lf_elf_rela *rl;
		size_t n;

		if (f->type != STT_FUNC || !lf_elf_symbol_is_defined(f) || f->shndx >= e->nsecs)
			continue;
		relas_in_range(e, &e->secs[f->shndx], f->value, f->size < 16 ? f->size : 16, &rl, &n);
		for (size_t j = 0; j < n; j++)
			if (!lf_elf_symbol_is_defined(&e->syms[rl[j].sym]) &&
			    is_prologue_call(e->syms[rl[j].sym].name))
				s->prologue[i] = true;
	}
	for (size_t i = 1; i < e->nsecs; i++) {
		const struct lf_elf_section *sec = &e->secs[i];

		if (strcmp(sec->name, "__mcount_loc") && strcmp(sec->name, "__patchable_function_entries"))
			continue;
		for (size_t j = 0; sec->rela_sec && j < e->secs[sec->rela_sec].nrelas; j++) {
			const struct lf_elf_rela *r = &e->secs[sec->rela_sec].relas[j];
			const struct lf_elf_symbol *t = &e->syms[r->sym];
			uint32_t f;

			if (!lf_elf_symbol_is_defined(t) || t->shndx >= e->nsecs)
				continue;
			/* Patchable entries may start a few NOPs before the symbol. */
			f = covering_symbol(s, t->shndx, wrap_add((int64_t)t->value, r->addend));
			if (!f)
				f = covering_symbol(s, t->shndx, wrap_add(wrap_add((int64_t)t->value, r->addend), 16));
			if (f)
				s->prologue[f] = true;
		}
	}
	for (size_t i = 1; i < e->nsyms; i++)
		s->uses_prologue |= s->prologue[i];
}

static int add_func(struct diff_ctx *c, const struct side *s, uint32_t sym,
		    enum lf_diff_change change)
{
	const struct lf_elf_symbol *x = &s->e->syms[sym];
	struct lf_diff_result *r = c->r;
	struct lf_diff_func *v = GROW(r->funcs, r->nfuncs), *f;
	uint32_t twin = s == &c->p ? c->p.twin[sym] : 0;

	if (!v)
		return -ENOMEM;
	r->funcs = v;
	f = &v[r->nfuncs];
	memset(f, 0, sizeof(*f));
	f->name = strdup(x->name);
	f->orig_name = twin ? strdup(c->o.e->syms[twin].name) :
		       change == LF_DIFF_REMOVED ? strdup(x->name) : NULL;
	if (!f->name || ((twin || change == LF_DIFF_REMOVED) && !f->orig_name)) {
		free(f->name);
		free(f->orig_name);
		return -ENOMEM;
	}
	f->change = change;
	f->why = change == LF_DIFF_CHANGED ? LF_DIFF_WHY_BODY :
		 change == LF_DIFF_NEW ? LF_DIFF_WHY_NEW : LF_DIFF_WHY_NONE;
	f->global = x->bind != STB_LOCAL;
	f->has_prologue = s->prologue[sym];
	f->is_part = s->canon[sym] && strlen(s->canon[sym]) > 5 &&
		     !strcmp(s->canon[sym] + strlen(s->canon[sym]) - 5, ".cold");
	f->sym = sym;
	r->nfuncs++;
	return 0;
}

static int classify_functions(struct diff_ctx *c)
{
	const struct lf_elf *o = c->o.e, *p = c->p.e;
	int err = 0, r;

	for (size_t i = 1; i < p->nsyms; i++) {
		enum lf_diff_change ch;
		uint32_t t = c->p.twin[i];

		if (!c->p.canon[i] || (p->syms[i].type != STT_FUNC && p->syms[i].type != STT_GNU_IFUNC))
			continue;
		ch = !t ? LF_DIFF_NEW :
		     symbols_equal(c, t, (uint32_t)i, &err) ? LF_DIFF_UNCHANGED : LF_DIFF_CHANGED;
		if (err)
			return err;
		r = add_func(c, &c->p, (uint32_t)i, ch);
		if (r < 0)
			return r;
	}
	for (size_t i = 1; i < o->nsyms; i++) {
		if (!c->o.canon[i] || o->syms[i].type != STT_FUNC || c->o.twin[i])
			continue;
		r = add_func(c, &c->o, (uint32_t)i, LF_DIFF_REMOVED);
		if (r < 0)
			return r;
	}
	return 0;
}

static struct lf_diff_func *func_by_canon(struct diff_ctx *c, const char *canon)
{
	for (size_t i = 0; i < c->r->nfuncs; i++) {
		struct lf_diff_func *f = &c->r->funcs[i];

		if (f->change != LF_DIFF_REMOVED && !strcmp(c->p.canon[f->sym], canon))
			return f;
	}
	return NULL;
}

/*
 * A .cold part is code of its parent moved out of line: the parent jumps
 * into it and it jumps back. They travel together: a changed part makes
 * the parent changed, and a changed parent brings its part along.
 */
static int tie_cold_parts(struct diff_ctx *c)
{
	for (size_t i = 0; i < c->r->nfuncs; i++) {
		struct lf_diff_func *part = &c->r->funcs[i], *parent;
		char *pname;

		if (!part->is_part || part->change == LF_DIFF_REMOVED)
			continue;
		pname = strndup(c->p.canon[part->sym], strlen(c->p.canon[part->sym]) - 5);
		if (!pname)
			return -ENOMEM;
		parent = func_by_canon(c, pname);
		free(pname);
		if (!parent)
			continue;
		if (part->change != LF_DIFF_UNCHANGED && parent->change == LF_DIFF_UNCHANGED) {
			parent->change = LF_DIFF_CHANGED;
			parent->why = LF_DIFF_WHY_COLD_PART;
		}
		if (parent->change != LF_DIFF_UNCHANGED && part->change == LF_DIFF_UNCHANGED) {
			part->change = LF_DIFF_CHANGED;
			part->why = LF_DIFF_WHY_COLD_PART;
		}
	}
	return 0;
}

static bool is_touched(const struct lf_diff_opts *opts, const char *canon)
{
	for (size_t i = 0; opts && i < opts->ntouched; i++)
		if (!strcmp(opts->touched[i], canon))
			return true;
	return false;
}

/* Does function f (patched) still call or refer to a function named canon? */
static bool refers_to(const struct diff_ctx *c, uint32_t f, const char *canon)
{
	const struct lf_elf *p = c->p.e;
	const struct lf_elf_symbol *s = &p->syms[f];
	const struct lf_elf_rela *rl;
	size_t n;

	relas_in_range(p, &p->secs[s->shndx], s->value, s->size, &rl, &n);
	for (size_t j = 0; j < n; j++) {
		struct target t;

		if (resolve_target(&c->p, &p->secs[s->shndx], &rl[j], &t) == 0 && t.kind == T_SYM &&
		    c->p.canon[t.sym] && !strcmp(c->p.canon[t.sym], canon))
			return true;
	}
	return false;
}

/*
 * With the list of functions whose source the fix touches, a changed
 * function that is not among them changed because a touched function was
 * inlined into it: name those it no longer calls out of line.
 */
static int explain_inlining(struct diff_ctx *c)
{
	const struct lf_diff_opts *opts = c->opts;

	if (!opts || !opts->ntouched)
		return 0;
	for (size_t i = 0; i < c->r->nfuncs; i++) {
		struct lf_diff_func *f = &c->r->funcs[i];
		const char *canon = c->p.canon[f->sym];
		struct lf_buf b = LF_BUF_INIT(4096);

		if (f->change != LF_DIFF_CHANGED || f->why != LF_DIFF_WHY_BODY ||
		    is_touched(opts, canon))
			continue;
		for (size_t k = 0; k < opts->ntouched; k++) {
			if (!strcmp(opts->touched[k], canon) || refers_to(c, f->sym, opts->touched[k]))
				continue;
			if ((b.len && lf_buf_putc(&b, ',') < 0) || lf_buf_puts(&b, opts->touched[k]) < 0)
				break;
		}
		if (b.len) {
			f->why = LF_DIFF_WHY_INLINED;
			f->detail = lf_buf_detach(&b, NULL);
		}
		lf_buf_release(&b);
	}
	return 0;
}

static int add_data(struct diff_ctx *c, uint32_t sym)
{
	const struct lf_elf_symbol *x = &c->p.e->syms[sym];
	struct lf_diff_data *v = GROW(c->r->data, c->r->ndata), *d;

	if (!v)
		return -ENOMEM;
	c->r->data = v;
	d = &v[c->r->ndata];
	memset(d, 0, sizeof(*d));
	d->name = strdup(x->name);
	if (!d->name)
		return -ENOMEM;
	d->kind = LF_DIFF_DATA_NEW;
	d->global = x->bind != STB_LOCAL;
	d->size = x->size;
	d->sym = sym;
	c->r->ndata++;
	return 0;
}

/*
 * Existing data keeps living in the original: the patch binds to it. Its
 * size and its initial value must therefore be what the patched code
 * expects; a live patch cannot re-initialise or re-layout memory that the
 * running program already uses.
 */
static int classify_one_data(struct diff_ctx *c, uint32_t i)
{
	const struct lf_elf *o = c->o.e, *p = c->p.e;
	const struct lf_elf_symbol *b = &p->syms[i];
	uint32_t t = c->p.twin[i];
	const char *sec = p->secs[b->shndx].name;
	int err = 0;

	if (!t)
		return add_data(c, i);
	if (o->syms[t].size != b->size)
		return add_problem(c->r, is_init_section(sec) ? LF_DIFF_REFUSE_INIT_SECTION :
				   LF_DIFF_REFUSE_LAYOUT, true, b->name,
				   "size changed from %llu to %llu bytes: existing data cannot be re-laid out",
				   (unsigned long long)o->syms[t].size, (unsigned long long)b->size);
	if (symbols_equal(c, t, i, &err))
		return 0;
	if (err)
		return err;
	if (is_init_section(sec))
		return add_problem(c->r, LF_DIFF_REFUSE_INIT_SECTION, true, b->name,
				   "__init/__exit data in %s changed: it has already run or been freed", sec);
	return add_problem(c->r, LF_DIFF_REFUSE_DATA_INIT, true, b->name,
			   "initial value changed: the running program already holds the old value");
}

static int classify_data(struct diff_ctx *c)
{
	const struct lf_elf *o = c->o.e, *p = c->p.e;
	int r;

	for (size_t i = 1; i < p->nsyms; i++) {
		const struct lf_elf_symbol *b = &p->syms[i];

		if (!c->p.canon[i] || (b->type != STT_OBJECT && b->type != STT_TLS) ||
		    is_private_section(&c->p, b->shndx))
			continue;
		r = classify_one_data(c, (uint32_t)i);
		if (r < 0)
			return r;
	}
	for (size_t i = 1; i < o->nsyms; i++) {
		const struct lf_elf_symbol *a = &o->syms[i];

		if (!c->o.canon[i] || a->type != STT_OBJECT || c->o.twin[i] ||
		    is_private_section(&c->o, a->shndx))
			continue;
		r = add_problem(c->r, LF_DIFF_WARN_REMOVED_DATA, false, a->name,
				"only in the original: the patch leaves it in place");
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_functions(struct diff_ctx *c)
{
	for (size_t i = 0; i < c->r->nfuncs; i++) {
		const struct lf_diff_func *f = &c->r->funcs[i];
		const char *sec;
		uint32_t t;
		int r = 0;

		if (f->change != LF_DIFF_CHANGED)
			continue; /* removed ones index the original's symbols */
		sec = c->p.e->secs[c->p.e->syms[f->sym].shndx].name;
		t = c->p.twin[f->sym];
		if (is_init_section(sec))
			r = add_problem(c->r, LF_DIFF_REFUSE_INIT_SECTION, true, f->name,
					"__init/__exit code in %s changed: it has already run or been freed", sec);
		else if (!f->is_part && c->o.uses_prologue && !c->o.prologue[t])
			r = add_problem(c->r, LF_DIFF_REFUSE_NOTRACE, true, f->name,
					"the original has no __fentry__/patchable entry (notrace): it cannot be redirected");
		else if (!f->is_part && c->o.uses_prologue && !f->has_prologue)
			r = add_problem(c->r, LF_DIFF_WARN_NOTRACE, false, f->name,
					"the patched function has no __fentry__/patchable entry");
		if (r < 0)
			return r;
	}
	return 0;
}

/* A data symbol defined here is new or differs from the original. */
static bool defined_and_differs(struct diff_ctx *c, uint32_t sym, int *err)
{
	const struct lf_elf_symbol *s = &c->p.e->syms[sym];
	uint32_t t = c->p.twin[sym];

	if (!lf_elf_symbol_is_defined(s) || s->type == STT_FUNC || s->type == STT_SECTION)
		return false;
	return !t || !symbols_equal(c, t, sym, err);
}

/*
 * Static keys and static calls defined in the object being patched are
 * registered when it is loaded (module init, or boot for vmlinux); a changed
 * key cannot be re-registered by a live patch. A new static key is new data
 * of the patch: it lives in the patch module with the carried __jump_table
 * entries that use it (only carried code can use it), and the module loader
 * registers keys defined in the module being loaded (jump_label_add_module()),
 * e.g. the descriptor of a pr_debug() the fix adds. New static call keys
 * stay refused: their trampolines are not carried.
 */
static int check_keys(struct diff_ctx *c)
{
	const struct lf_elf *p = c->p.e;
	int err = 0, r;

	for (size_t i = 1; i < p->nsecs; i++) {
		const struct lf_elf_section *sec = &p->secs[i], *rs;
		bool calls = !strcmp(sec->name, ".static_call_sites");

		if (!calls && strcmp(sec->name, "__jump_table"))
			continue;
		rs = sec->rela_sec ? &p->secs[sec->rela_sec] : NULL;
		for (size_t j = 0; rs && j < rs->nrelas; j++) {
			struct target t;
			const char *name;

			if (resolve_target(&c->p, sec, &rs->relas[j], &t) < 0 || t.kind != T_SYM ||
			    !defined_and_differs(c, t.sym, &err) || (!calls && !c->p.twin[t.sym]))
				continue;
			name = p->syms[t.sym].name;
			if (lf_diff_find_problem(c->r, calls ? LF_DIFF_REFUSE_STATIC_CALL :
						 LF_DIFF_REFUSE_STATIC_KEY, name))
				continue;
			r = add_problem(c->r, calls ? LF_DIFF_REFUSE_STATIC_CALL : LF_DIFF_REFUSE_STATIC_KEY,
					true, name, "%s defined in this object is %s: keys are registered at load time",
					calls ? "static call key" : "static key",
					c->p.twin[t.sym] ? "changed" : "new");
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 1; i < p->nsyms; i++) {
		if (strncmp(p->syms[i].name, "__SCK__", 7) || !defined_and_differs(c, (uint32_t)i, &err) ||
		    lf_diff_find_problem(c->r, LF_DIFF_REFUSE_STATIC_CALL, p->syms[i].name))
			continue;
		r = add_problem(c->r, LF_DIFF_REFUSE_STATIC_CALL, true, p->syms[i].name,
				"static call key defined in this object is %s",
				c->p.twin[i] ? "changed" : "new");
		if (r < 0)
			return r;
	}
	return err;
}

static void count(struct lf_diff_result *r)
{
	for (size_t i = 0; i < r->nfuncs; i++) {
		switch (r->funcs[i].change) {
		case LF_DIFF_UNCHANGED: r->nunchanged++; break;
		case LF_DIFF_CHANGED: r->nchanged++; break;
		case LF_DIFF_NEW: r->nnew++; break;
		case LF_DIFF_REMOVED: r->nremoved++; break;
		}
	}
}

int classify(struct diff_ctx *c)
{
	int r;

	find_prologues(&c->o);
	find_prologues(&c->p);
	r = classify_functions(c);
	if (r == 0)
		r = tie_cold_parts(c);
	if (r == 0)
		r = explain_inlining(c);
	if (r == 0)
		r = classify_data(c);
	if (r == 0)
		r = check_functions(c);
	if (r == 0)
		r = check_keys(c);
	if (r == 0)
		count(c->r);
	return r;
}
