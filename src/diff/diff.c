/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The differ's pipeline: index both objects, correlate their symbols,
 * classify functions and data, then collect what the patch must bind to
 * the original. docs/DIFF.md walks through it with an example.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diff_private.h"

static bool is_supported(const struct lf_elf *e)
{
	if (e->type != ET_REL || e->elfclass != ELFCLASS64 ||
	    (e->machine != EM_X86_64 && e->machine != EM_AARCH64))
		return false;
	/* Both targets use RELA; REL entries would go uncompared. */
	for (size_t i = 1; i < e->nsecs; i++)
		if (e->secs[i].type == SHT_REL)
			return false;
	return true;
}

static void ctx_release(struct diff_ctx *c)
{
	side_release(&c->o);
	side_release(&c->p);
	free(c->privpair);
	free(c->included);
	free(c->refidx);
}

static int ctx_init(struct diff_ctx *c, const struct lf_elf *orig, const struct lf_elf *patched)
{
	size_t ns = patched->nsyms ? patched->nsyms : 1;
	int r;

	r = side_init(&c->o, orig);
	if (r == 0)
		r = side_init(&c->p, patched);
	if (r < 0)
		return r;
	c->privpair = calloc(patched->nsecs, sizeof(*c->privpair));
	c->included = calloc(ns, sizeof(*c->included));
	c->refidx = malloc(ns * sizeof(*c->refidx));
	c->r = calloc(1, sizeof(*c->r));
	if (!c->privpair || !c->included || !c->refidx || !c->r)
		return -ENOMEM;
	for (size_t i = 0; i < ns; i++)
		c->refidx[i] = -1;
	return 0;
}

int lf_diff_objects(const struct lf_elf *orig, const struct lf_elf *patched,
		    const struct lf_diff_opts *opts, struct lf_diff_result **ret)
{
	struct diff_ctx c = { .opts = opts };
	int r;

	if (!is_supported(orig) || !is_supported(patched) || orig->machine != patched->machine)
		return -ENOEXEC;
	r = ctx_init(&c, orig, patched);
	if (r == 0)
		r = correlate(&c);
	if (r == 0)
		r = classify(&c);
	if (r == 0)
		r = collect_refs(&c);
	if (r < 0) {
		lf_diff_result_free(c.r);
		ctx_release(&c);
		return r;
	}
	*ret = c.r;
	ctx_release(&c);
	return 0;
}

void lf_diff_result_free(struct lf_diff_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfuncs; i++) {
		free(r->funcs[i].name);
		free(r->funcs[i].orig_name);
		free(r->funcs[i].detail);
	}
	for (size_t i = 0; i < r->ndata; i++)
		free(r->data[i].name);
	for (size_t i = 0; i < r->nrefs; i++) {
		free(r->refs[i].name);
		free(r->refs[i].table);
		free(r->refs[i].table_func);
	}
	for (size_t i = 0; i < r->ntables; i++)
		free(r->tables[i].name);
	free(r->tables);
	for (size_t i = 0; i < r->nproblems; i++) {
		free(r->problems[i].symbol);
		free(r->problems[i].detail);
	}
	free(r->funcs);
	free(r->data);
	free(r->refs);
	free(r->problems);
	free(r);
}

const char *lf_diff_change_name(enum lf_diff_change c)
{
	static const char *const names[] = { "unchanged", "changed", "new", "removed" };

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

const char *lf_diff_why_name(enum lf_diff_why w)
{
	static const char *const names[] = {
		"", "body changed", "new", "callee inlined changed", "cold part changed",
	};

	return (unsigned)w < sizeof(names) / sizeof(names[0]) ? names[w] : "?";
}

const char *lf_diff_reason_name(enum lf_diff_reason r)
{
	static const char *const names[] = {
		[LF_DIFF_REFUSE_LAYOUT] = "data layout changed",
		[LF_DIFF_REFUSE_DATA_INIT] = "data initialiser changed",
		[LF_DIFF_REFUSE_INIT_SECTION] = "__init/__exit changed",
		[LF_DIFF_REFUSE_STATIC_KEY] = "static key defined here",
		[LF_DIFF_REFUSE_STATIC_CALL] = "static call defined here",
		[LF_DIFF_REFUSE_NOTRACE] = "notrace function",
		[LF_DIFF_REFUSE_UNBINDABLE] = "unbindable reference",
		[LF_DIFF_REFUSE_RELOC] = "unknown relocation",
		[LF_DIFF_REFUSE_SPECIAL] = "special table not understood",
		[LF_DIFF_WARN_NOTRACE] = "patched function is notrace",
		[LF_DIFF_WARN_REMOVED_DATA] = "data removed",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?";
}

const struct lf_diff_func *lf_diff_find_func(const struct lf_diff_result *r, const char *name)
{
	for (size_t i = 0; i < r->nfuncs; i++)
		if (!strcmp(r->funcs[i].name, name))
			return &r->funcs[i];
	return NULL;
}

const struct lf_diff_ref *lf_diff_find_ref(const struct lf_diff_result *r, const char *name)
{
	for (size_t i = 0; i < r->nrefs; i++)
		if (!strcmp(r->refs[i].name, name))
			return &r->refs[i];
	return NULL;
}

const struct lf_diff_problem *lf_diff_find_problem(const struct lf_diff_result *r,
						   enum lf_diff_reason reason, const char *symbol)
{
	for (size_t i = 0; i < r->nproblems; i++)
		if (r->problems[i].reason == reason &&
		    (!symbol || !strcmp(r->problems[i].symbol, symbol)))
			return &r->problems[i];
	return NULL;
}
