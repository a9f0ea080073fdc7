/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Comparing code and data across the two objects. Two byte ranges are equal
 * when their bytes match outside the relocated fields, they carry the same
 * relocations at the same places, and each pair of relocations reaches the
 * same thing:
 *
 *   - a named function or object: the correlated twin, at the same offset;
 *   - a string literal: the same string, wherever the section holds it, so
 *     that a new literal earlier in the file (which shifts every later
 *     string) changes nothing but the function that uses it;
 *   - private read-only data (jump tables, switch tables): equal content,
 *     compared recursively.
 *
 * Relocations against a section symbol (gas writes `.text.foo - 4` for a
 * call to a static function and `.bss.counter.0 - 4` for a static local)
 * are first turned back into the symbol that covers the target.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "diff_private.h"

void relas_in_range(const struct lf_elf *e, const struct lf_elf_section *s,
		    uint64_t off, uint64_t len, const struct lf_elf_rela **ret, size_t *ret_n)
{
	const struct lf_elf_rela *r;
	size_t n, lo = 0, hi, end;

	lf_elf_section_relas(e, s, &r, &n);
	hi = n;
	while (lo < hi) { /* first relocation at or after off */
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	end = lo;
	while (end < n && r[end].offset - off < len)
		end++;
	*ret = r ? r + lo : NULL;
	*ret_n = end - lo;
}

/* Positions come from untrusted addends: add without signed overflow. */
int64_t wrap_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

int resolve_target(const struct side *s, const struct lf_elf_section *from,
		   const struct lf_elf_rela *r, struct target *ret)
{
	const struct lf_elf *e = s->e;
	const struct lf_elf_symbol *sym = &e->syms[r->sym];
	const struct lf_elf_section *sec;
	struct lf_elf_reloc_info info;
	int64_t bias;
	uint32_t cover;

	if (lf_elf_reloc_info(e->machine, r->type, &info) < 0)
		return -EOPNOTSUPP;
	memset(ret, 0, sizeof(*ret));
	if (!lf_elf_symbol_is_defined(sym) || sym->shndx >= e->nsecs) {
		*ret = (struct target){ .kind = T_SYM, .sym = sym->index, .off = r->addend };
		return 0;
	}
	sec = &e->secs[sym->shndx];
	/* The bias only applies to instructions; data holds exact addends. */
	bias = (from->flags & SHF_EXECINSTR) ? info.bias : 0;
	ret->sec = sec->index;
	ret->pos = wrap_add((int64_t)sym->value, r->addend);
	ret->span = (from->flags & SHF_EXECINSTR) ? info.span : 0;
	if (is_mergeable(sec)) {
		ret->kind = (sec->flags & SHF_STRINGS) ? T_STR : T_MERGE;
		ret->off = wrap_add(ret->pos, bias);
		return 0;
	}
	if (is_private_section(s, sec->index)) {
		ret->kind = T_PRIV;
		ret->off = ret->pos;
		return 0;
	}
	if (is_correlated_kind(sym)) {
		*ret = (struct target){ .kind = T_SYM, .sym = sym->index, .off = r->addend,
					.sec = sec->index, .pos = ret->pos };
		return 0;
	}
	cover = covering_symbol(s, sec->index, wrap_add(ret->pos, bias));
	if (cover) {
		ret->kind = T_SYM;
		ret->sym = cover;
		ret->off = wrap_add(ret->pos, -(int64_t)e->syms[cover].value);
		return 0;
	}
	ret->kind = T_SEC;
	ret->off = ret->pos;
	return 0;
}

/* The NUL-terminated string holding position pos: [*start, *end). */
static bool string_bounds(const struct lf_elf_section *s, int64_t pos, uint64_t *start,
			  uint64_t *end)
{
	uint64_t a, b;

	if (pos < 0 || (uint64_t)pos >= s->size || !s->data)
		return false;
	a = b = (uint64_t)pos;
	while (a > 0 && s->data[a - 1] != '\0')
		a--;
	while (b < s->size && s->data[b] != '\0')
		b++;
	*start = a;
	*end = b < s->size ? b + 1 : b;
	return true;
}

/*
 * The strings covering [pos, pos + span] must match, and pos must sit at the
 * same place in its string. The span covers the x86 instructions whose
 * displacement is followed by an immediate (the real target is then up to
 * 4 bytes past addend + 4).
 */
static bool strings_equal(const struct lf_elf_section *a, int64_t pa,
			  const struct lf_elf_section *b, int64_t pb, uint8_t span)
{
	uint64_t as, ae, bs, be, x, y;

	if (!string_bounds(a, pa, &as, &x) || !string_bounds(b, pb, &bs, &y))
		return pa == pb && !string_bounds(a, pa, &as, &x) && !string_bounds(b, pb, &bs, &y);
	if ((uint64_t)pa - as != (uint64_t)pb - bs)
		return false;
	/* pa, pb are inside their sections here, so adding span cannot overflow. */
	if (!string_bounds(a, pa + span < (int64_t)a->size ? pa + span : (int64_t)a->size - 1, &x, &ae) ||
	    !string_bounds(b, pb + span < (int64_t)b->size ? pb + span : (int64_t)b->size - 1, &y, &be))
		return false;
	return ae - as == be - bs && !memcmp(a->data + as, b->data + bs, ae - as);
}

static bool merge_equal(const struct lf_elf_section *a, int64_t pa,
			const struct lf_elf_section *b, int64_t pb, uint8_t span)
{
	uint64_t len = (a->entsize ? a->entsize : 1) + span;
	bool ina = pa >= 0 && (uint64_t)pa < a->size && a->data;
	bool inb = pb >= 0 && (uint64_t)pb < b->size && b->data;

	if (!ina || !inb) /* outside the section: only the same outside is equal */
		return !ina && !inb && pa == pb;
	if (len > a->size - (uint64_t)pa)
		len = a->size - (uint64_t)pa;
	if (len > b->size - (uint64_t)pb)
		return false;
	return !memcmp(a->data + pa, b->data + pb, len);
}

static bool private_equal(struct diff_ctx *c, uint32_t osec, uint32_t psec, unsigned depth,
			  int *err)
{
	const struct lf_elf_section *a = &c->o.e->secs[osec], *b = &c->p.e->secs[psec];

	if (c->privpair[psec] == osec)
		return true; /* already equal, or being compared further up */
	if (depth >= DIFF_MAX_DEPTH || a->size != b->size)
		return false;
	if (!c->privpair[psec])
		c->privpair[psec] = osec;
	if (range_equal(c, osec, 0, psec, 0, a->size, depth + 1, err))
		return true;
	if (c->privpair[psec] == osec)
		c->privpair[psec] = 0;
	return false;
}

static bool targets_equal(struct diff_ctx *c, const struct target *a, const struct target *b,
			  unsigned depth, int *err)
{
	const struct lf_elf *o = c->o.e, *p = c->p.e;

	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case T_SYM:
		if (!lf_elf_symbol_is_defined(&o->syms[a->sym]) ||
		    !lf_elf_symbol_is_defined(&p->syms[b->sym]))
			return !strcmp(o->syms[a->sym].name, p->syms[b->sym].name) &&
			       o->syms[a->sym].shndx == p->syms[b->sym].shndx && a->off == b->off;
		return c->o.twin[a->sym] == b->sym && a->off == b->off;
	case T_STR:
		return strings_equal(&o->secs[a->sec], a->off, &p->secs[b->sec], b->off, a->span);
	case T_MERGE:
		return merge_equal(&o->secs[a->sec], a->off, &p->secs[b->sec], b->off, a->span);
	case T_PRIV:
		return a->off == b->off && private_equal(c, a->sec, b->sec, depth, err);
	case T_SEC:
		/* Sections left unpaired (ambiguous names) still compare by name. */
		if (!c->o.sectwin[a->sec] && !c->p.sectwin[b->sec])
			return !strcmp(o->secs[a->sec].name, p->secs[b->sec].name) && a->off == b->off;
		return c->o.sectwin[a->sec] == b->sec && a->off == b->off;
	default:
		return false;
	}
}

static uint64_t load_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Bytes of a and b from *cursor up to the field at off, then the field masked. */
static bool field_equal(const uint8_t *a, const uint8_t *b, uint64_t *cursor, uint64_t off,
			const struct lf_elf_reloc_info *info)
{
	if (off > *cursor && memcmp(a + *cursor, b + *cursor, off - *cursor))
		return false;
	if ((load_le(a + off, info->size) ^ load_le(b + off, info->size)) & ~info->mask &
	    (info->size == 8 ? UINT64_MAX : ((1ull << (8 * info->size)) - 1)))
		return false;
	if (off + info->size > *cursor)
		*cursor = off + info->size;
	return true;
}

bool range_equal(struct diff_ctx *c, uint32_t osec, uint64_t ooff, uint32_t psec,
		 uint64_t poff, uint64_t len, unsigned depth, int *ret_err)
{
	const struct lf_elf_section *sa = &c->o.e->secs[osec], *sb = &c->p.e->secs[psec];
	const uint8_t *a = sa->data ? sa->data + ooff : NULL;
	const uint8_t *b = sb->data ? sb->data + poff : NULL;
	const struct lf_elf_rela *ra, *rb;
	size_t na, nb;
	uint64_t cursor = 0;

	if ((sa->type == SHT_NOBITS) != (sb->type == SHT_NOBITS))
		return false;
	if (ooff > sa->size || len > sa->size - ooff || poff > sb->size || len > sb->size - poff)
		return false;
	relas_in_range(c->o.e, sa, ooff, len, &ra, &na);
	relas_in_range(c->p.e, sb, poff, len, &rb, &nb);
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		struct lf_elf_reloc_info info;
		struct target ta, tb;
		uint64_t off = ra[i].offset - ooff;

		if (off != rb[i].offset - poff || ra[i].type != rb[i].type)
			return false;
		if (lf_elf_reloc_info(c->o.e->machine, ra[i].type, &info) < 0) {
			*ret_err = -EOPNOTSUPP;
			return false;
		}
		/* A field running past the range (malformed input) is compared in part. */
		if (info.size > len - off)
			info.size = (uint8_t)(len - off);
		if (a && b && !field_equal(a, b, &cursor, off, &info))
			return false;
		if (resolve_target(&c->o, sa, &ra[i], &ta) < 0 ||
		    resolve_target(&c->p, sb, &rb[i], &tb) < 0)
			return false;
		if (!targets_equal(c, &ta, &tb, depth, ret_err))
			return false;
	}
	return !a || !b || len <= cursor || !memcmp(a + cursor, b + cursor, len - cursor);
}

bool symbols_equal(struct diff_ctx *c, uint32_t osym, uint32_t psym, int *ret_err)
{
	const struct lf_elf_symbol *a = &c->o.e->syms[osym], *b = &c->p.e->syms[psym];

	if (a->size != b->size)
		return false;
	return range_equal(c, a->shndx, a->value, b->shndx, b->value, a->size, 0, ret_err);
}
