/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Correlation: which symbol of the patched object is which symbol of the
 * original. Global names are stable. Local names are not: gcc appends
 * suffixes whose numbers depend on everything else in the file
 * (compute.constprop.0 may become compute.constprop.1 or compute.isra.0,
 * and the static local `counter` of two functions is counter.0 and
 * counter.1 in either order). So locals are grouped by a canonical name
 * with those suffixes removed, and a group with several members (two
 * static locals both called `counter`) is split by the function that
 * refers to each of them: counter in use1() stays counter in use1().
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diff_private.h"

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool is_clone_tag(const char *s)
{
	return !strcmp(s, "constprop") || !strcmp(s, "isra") || !strcmp(s, "part") ||
	       !strcmp(s, "lto_priv") || !strcmp(s, "llvm");
}

char *diff_canon_name(const char *name)
{
	size_t len = strlen(name);
	char *s = malloc(len + sizeof(".cold"));
	bool cold = false;

	if (!s)
		return NULL;
	memcpy(s, name, len + 1);
	for (;;) {
		char *dot = strrchr(s, '.'), *dot2;

		if (!dot || dot == s)
			break;
		if (all_digits(dot + 1)) {
			*dot = '\0';
			dot2 = strrchr(s, '.');
			if (dot2 && dot2 != s && is_clone_tag(dot2 + 1))
				*dot2 = '\0';
		} else if (!strcmp(dot + 1, "cold")) {
			cold = true;
			*dot = '\0';
		} else if (!strcmp(dot + 1, "localalias")) {
			*dot = '\0';
		} else {
			break;
		}
	}
	if (cold)
		strcat(s, ".cold");
	return s;
}

bool is_mergeable(const struct lf_elf_section *sec)
{
	return (sec->flags & SHF_MERGE) != 0;
}

bool is_correlated_kind(const struct lf_elf_symbol *sym)
{
	return (sym->type == STT_FUNC || sym->type == STT_OBJECT || sym->type == STT_TLS ||
		sym->type == STT_GNU_IFUNC) && lf_elf_symbol_is_defined(sym);
}

static int cmp_bysec(const void *a, const void *b, void *arg)
{
	const struct lf_elf *e = arg;
	const struct lf_elf_symbol *x = &e->syms[*(const uint32_t *)a];
	const struct lf_elf_symbol *y = &e->syms[*(const uint32_t *)b];

	if (x->shndx != y->shndx)
		return x->shndx < y->shndx ? -1 : 1;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int index_symbols(struct side *s)
{
	const struct lf_elf *e = s->e;
	size_t n = 0;

	for (size_t i = 1; i < e->nsyms; i++) {
		const struct lf_elf_symbol *sym = &e->syms[i];

		if (!is_correlated_kind(sym) || sym->shndx >= e->nsecs)
			continue;
		if (!*sym->name)
			return -ENOEXEC; /* compilers name every function and object */
		s->bysec[n++] = (uint32_t)i;
		if (!is_mergeable(&e->secs[sym->shndx])) {
			s->canon[i] = diff_canon_name(sym->name);
			if (!s->canon[i])
				return -ENOMEM;
		}
	}
	qsort_r(s->bysec, n, sizeof(*s->bysec), cmp_bysec, (void *)e);
	for (size_t i = 0, k = 0; i <= e->nsecs; i++) {
		while (k < n && e->syms[s->bysec[k]].shndx < i)
			k++;
		s->secfirst[i] = (uint32_t)k;
	}
	return 0;
}

int side_init(struct side *s, const struct lf_elf *e)
{
	size_t ns = e->nsyms ? e->nsyms : 1;

	memset(s, 0, sizeof(*s));
	s->e = e;
	s->canon = calloc(ns, sizeof(*s->canon));
	s->twin = calloc(ns, sizeof(*s->twin));
	s->referrer = calloc(ns, sizeof(*s->referrer));
	s->bysec = calloc(ns, sizeof(*s->bysec));
	s->prologue = calloc(ns, sizeof(*s->prologue));
	s->sectwin = calloc(e->nsecs, sizeof(*s->sectwin));
	s->secfirst = calloc(e->nsecs + 1, sizeof(*s->secfirst));
	if (!s->canon || !s->twin || !s->referrer || !s->bysec || !s->prologue ||
	    !s->sectwin || !s->secfirst)
		return -ENOMEM;
	return index_symbols(s);
}

void side_release(struct side *s)
{
	if (s->canon)
		for (size_t i = 0; i < s->e->nsyms; i++)
			free(s->canon[i]);
	free(s->canon);
	free(s->twin);
	free(s->referrer);
	free(s->bysec);
	free(s->prologue);
	free(s->sectwin);
	free(s->secfirst);
}

uint32_t covering_symbol(const struct side *s, uint32_t sec, int64_t pos)
{
	for (uint32_t k = s->secfirst[sec]; k < s->secfirst[sec + 1]; k++) {
		const struct lf_elf_symbol *sym = &s->e->syms[s->bysec[k]];
		uint64_t size = sym->size ? sym->size : 1;

		if (pos >= 0 && sym->value <= (uint64_t)pos && (uint64_t)pos - sym->value < size)
			return sym->index;
	}
	return 0;
}

/*
 * Read-only data that only this object can name (string tables, jump
 * tables, switch lookup tables, static const arrays): compared by content
 * wherever it is referenced, and copied into the patch rather than bound.
 */
bool is_private_section(const struct side *s, uint32_t sec)
{
	const struct lf_elf_section *x = &s->e->secs[sec];

	if (x->type != SHT_PROGBITS || !(x->flags & SHF_ALLOC) ||
	    (x->flags & (SHF_WRITE | SHF_EXECINSTR | SHF_MERGE | SHF_TLS)))
		return false;
	if (!strncmp(x->name, "__", 2))
		return false; /* kernel tables (__ksymtab, __bug_table, ...) */
	for (uint32_t k = s->secfirst[sec]; k < s->secfirst[sec + 1]; k++)
		if (s->e->syms[s->bysec[k]].bind != STB_LOCAL)
			return false;
	return true;
}

/* Each referenced symbol remembers the smallest-named function using it. */
static int find_referrers(struct side *s)
{
	const struct lf_elf *e = s->e;

	for (size_t i = 1; i < e->nsyms; i++) {
		const struct lf_elf_symbol *f = &e->syms[i];
		const struct lf_elf_rela *rl;
		size_t n;

		if (f->type != STT_FUNC || !s->canon[i])
			continue;
		relas_in_range(e, &e->secs[f->shndx], f->value, f->size, &rl, &n);
		for (size_t j = 0; j < n; j++) {
			struct target t;
			uint32_t cur;

			if (resolve_target(s, &e->secs[f->shndx], &rl[j], &t) < 0 || t.kind != T_SYM)
				continue;
			if (t.sym == i || !s->canon[t.sym])
				continue;
			cur = s->referrer[t.sym];
			if (!cur || strcmp(s->canon[i], s->canon[cur]) < 0)
				s->referrer[t.sym] = (uint32_t)i;
		}
	}
	return 0;
}

struct entry {
	const char *key;
	uint32_t sym;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int d = strcmp(x->key, y->key);

	return d ? d : (x->sym < y->sym ? -1 : x->sym > y->sym);
}

static int sym_class(const struct lf_elf_symbol *s)
{
	return s->type == STT_FUNC || s->type == STT_GNU_IFUNC ? 1 : s->type == STT_TLS ? 2 : 3;
}

static void link_twins(struct diff_ctx *c, uint32_t o, uint32_t p)
{
	c->o.twin[o] = p;
	c->p.twin[p] = o;
}

static const char *referrer_name(const struct side *s, uint32_t sym)
{
	uint32_t r = s->referrer[sym];

	return r ? s->canon[r] : NULL;
}

/* Links the entries whose key appears exactly once on each side. */
static void join_unique(struct diff_ctx *c, const struct entry *a, size_t na,
			const struct entry *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		int d = strcmp(a[i].key, b[j].key);
		size_t ei = i + 1, ej = j + 1;

		if (d) {
			d < 0 ? i++ : j++;
			continue;
		}
		while (ei < na && !strcmp(a[ei].key, a[i].key))
			ei++;
		while (ej < nb && !strcmp(b[ej].key, b[j].key))
			ej++;
		if (ei - i == 1 && ej - j == 1 &&
		    sym_class(&c->o.e->syms[a[i].sym]) == sym_class(&c->p.e->syms[b[j].sym]))
			link_twins(c, a[i].sym, b[j].sym);
		i = ei;
		j = ej;
	}
}

/* The still unmatched members of a group, keyed by referrer or by name. */
static size_t keyed(const struct side *s, const struct entry *g, size_t n, bool by_referrer,
		    struct entry *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *key = by_referrer ? referrer_name(s, g[i].sym) : s->e->syms[g[i].sym].name;

		if (!s->twin[g[i].sym] && key)
			out[k++] = (struct entry){ key, g[i].sym };
	}
	qsort(out, k, sizeof(*out), cmp_entry);
	return k;
}

/*
 * Within one canonical-name group: pair by the function that refers to
 * them, then by exact name, then a last single leftover on each side.
 * Sorted joins keep this linear-logarithmic: the kernel has thousands of
 * static locals of one name (__already_done.N of every WARN_ONCE).
 */
static int match_group(struct diff_ctx *c, const struct entry *ga, size_t na,
		       const struct entry *gb, size_t nb)
{
	struct entry *ka = calloc(na, sizeof(*ka)), *kb = calloc(nb, sizeof(*kb));
	uint32_t la = 0, lb = 0;
	size_t n = 0, m = 0;

	if (!ka || !kb) {
		free(ka);
		free(kb);
		return -ENOMEM;
	}
	for (int by_referrer = 1; by_referrer >= 0; by_referrer--) {
		size_t x = keyed(&c->o, ga, na, by_referrer, ka);
		size_t y = keyed(&c->p, gb, nb, by_referrer, kb);

		join_unique(c, ka, x, kb, y);
	}
	free(ka);
	free(kb);
	for (size_t i = 0; i < na; i++)
		if (!c->o.twin[ga[i].sym] && ++n)
			la = ga[i].sym;
	for (size_t j = 0; j < nb; j++)
		if (!c->p.twin[gb[j].sym] && ++m)
			lb = gb[j].sym;
	if (n == 1 && m == 1 && sym_class(&c->o.e->syms[la]) == sym_class(&c->p.e->syms[lb]))
		link_twins(c, la, lb);
	return 0;
}

static struct entry *make_entries(const struct side *s, bool globals_only, bool canon,
				  size_t *ret_n)
{
	struct entry *v = calloc(s->e->nsyms ? s->e->nsyms : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 1; i < s->e->nsyms; i++) {
		const struct lf_elf_symbol *sym = &s->e->syms[i];

		if (!s->canon[i] || s->twin[i])
			continue;
		if (globals_only && sym->bind == STB_LOCAL)
			continue;
		v[n++] = (struct entry){ canon ? s->canon[i] : sym->name, (uint32_t)i };
	}
	qsort(v, n, sizeof(*v), cmp_entry);
	*ret_n = n;
	return v;
}

static int match_pass(struct diff_ctx *c, bool canon)
{
	size_t na, nb, i = 0, j = 0;
	struct entry *a = make_entries(&c->o, !canon, canon, &na);
	struct entry *b = make_entries(&c->p, !canon, canon, &nb);

	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	while (i < na && j < nb) {
		int d = strcmp(a[i].key, b[j].key);
		size_t ei = i, ej = j;

		if (d < 0) {
			i++;
			continue;
		}
		if (d > 0) {
			j++;
			continue;
		}
		while (ei < na && !strcmp(a[ei].key, a[i].key))
			ei++;
		while (ej < nb && !strcmp(b[ej].key, b[j].key))
			ej++;
		if (match_group(c, a + i, ei - i, b + j, ej - j) < 0) {
			free(a);
			free(b);
			return -ENOMEM;
		}
		i = ei;
		j = ej;
	}
	free(a);
	free(b);
	return 0;
}

static struct entry *section_entries(const struct side *s, size_t *ret_n)
{
	const struct lf_elf *e = s->e;
	struct entry *v = calloc(e->nsecs, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (uint32_t i = 1; i < e->nsecs; i++)
		if (!s->sectwin[i] && e->secs[i].type != SHT_RELA && e->secs[i].type != SHT_SYMTAB &&
		    e->secs[i].type != SHT_STRTAB && e->secs[i].type != SHT_SYMTAB_SHNDX)
			v[n++] = (struct entry){ e->secs[i].name, i };
	qsort(v, n, sizeof(*v), cmp_entry);
	*ret_n = n;
	return v;
}

/* Sections follow their first symbol; the others pair by unique name. */
static int correlate_sections(struct diff_ctx *c)
{
	const struct lf_elf *o = c->o.e, *p = c->p.e;
	struct entry *a, *b;
	size_t na, nb;

	for (uint32_t k = 0; k < c->p.secfirst[p->nsecs]; k++) {
		uint32_t ps = c->p.bysec[k], os = c->p.twin[ps];
		uint32_t psec = p->syms[ps].shndx, osec;

		if (!os || c->p.sectwin[psec])
			continue;
		osec = o->syms[os].shndx;
		if (c->o.sectwin[osec])
			continue;
		c->p.sectwin[psec] = osec;
		c->o.sectwin[osec] = psec;
	}
	a = section_entries(&c->o, &na);
	b = section_entries(&c->p, &nb);
	for (size_t i = 0, j = 0; a && b && i < na && j < nb;) {
		int d = strcmp(a[i].key, b[j].key);
		bool unique = (i + 1 >= na || strcmp(a[i + 1].key, a[i].key)) &&
			      (i == 0 || strcmp(a[i - 1].key, a[i].key)) &&
			      (j + 1 >= nb || strcmp(b[j + 1].key, b[j].key)) &&
			      (j == 0 || strcmp(b[j - 1].key, b[j].key));

		if (d == 0 && unique) {
			c->o.sectwin[a[i].sym] = b[j].sym;
			c->p.sectwin[b[j].sym] = a[i].sym;
		}
		if (d <= 0)
			i++;
		if (d >= 0)
			j++;
	}
	free(a);
	free(b);
	return a && b ? 0 : -ENOMEM;
}

/*
 * Two definitions of one name (function or object, local or global) are not
 * something a compiler emits, and would make binding ambiguous.
 */
static int check_unique_names(const struct side *s)
{
	size_t n;
	struct entry *v = make_entries(s, false, false, &n);
	int r = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 1; i < n && r == 0; i++)
		if (!strcmp(v[i - 1].key, v[i].key))
			r = -ENOEXEC;
	free(v);
	return r;
}

int correlate(struct diff_ctx *c)
{
	int r;

	r = check_unique_names(&c->o);
	if (r == 0)
		r = check_unique_names(&c->p);
	if (r == 0)
		r = find_referrers(&c->o);
	if (r == 0)
		r = find_referrers(&c->p);
	if (r == 0)
		r = match_pass(c, false);
	if (r == 0)
		r = match_pass(c, true);
	if (r == 0)
		r = correlate_sections(c);
	return r;
}
