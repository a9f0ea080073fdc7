/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the patch carries: whole sections, the entries of the kernel's
 * special tables that belong to carried code, and the ranges of auxiliary
 * code those entries reach.
 *
 * Entry layouts are those of x86_64 Linux 6.1 (arch/x86/include/asm and
 * include/linux in the kernel source), each located by the relocation of
 * its first field, which points at the instruction it describes:
 *
 *   __ex_table          12  { s32 insn, fixup, data }             extable.h
 *   __bug_table         12  { s32 bug_addr, file; u16 line, flags } (relative
 *                           pointers, CONFIG_DEBUG_BUGVERBOSE)   asm-generic/bug.h
 *   __jump_table        16  { s32 code, target; long key }        jump_label.h
 *   .altinstructions    12  { s32 instr, repl; u16 cpuid; u8 instrlen, repllen }
 *   .static_call_sites   8  { s32 addr, key }                     static_call_types.h
 *   .parainstructions   16  { u8 *instr; u8 type, len }           paravirt_types.h
 *   .smp_locks, .return_sites, .retpoline_sites, .call_sites, .ibt_endbr_seal,
 *   .orc_unwind_ip       4  { s32 site }
 *   .orc_unwind          6  struct orc_entry, entry i describes .orc_unwind_ip[i]
 *   __mcount_loc         8  { u64 site }
 *
 * An entry is carried when its site lies in a carried function (or in a
 * carried range of auxiliary code). An alternative's replacement
 * (.altinstr_replacement + repl, repllen bytes) and the static_cpu_has()
 * slow paths in .altinstr_aux that carried code jumps to are carried as byte
 * ranges: the section is copied whole so offsets hold, but only the
 * relocations inside carried ranges are written (the rest is dead code
 * whose relocations would bind functions the patch does not touch).
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

#define MAX_WORK (1u << 22)

static const struct special_spec x86_64_specs[] = {
	{ "__ex_table", 12, 0, NULL, 0, false },
	{ "__bug_table", 12, 0, NULL, 0, false },
	{ "__jump_table", 16, 0, NULL, 0, true },
	{ ".altinstructions", 12, 0, NULL, 0, true },
	{ ".static_call_sites", 8, 0, NULL, 0, true },
	{ ".parainstructions", 16, 0, NULL, 0, true },
	{ ".smp_locks", 4, 0, NULL, 0, true },
	{ ".return_sites", 4, 0, NULL, 0, true },
	{ ".retpoline_sites", 4, 0, NULL, 0, true },
	{ ".call_sites", 4, 0, NULL, 0, true },
	{ ".ibt_endbr_seal", 4, 0, NULL, 0, true },
	{ ".orc_unwind_ip", 4, 0, ".orc_unwind", 6, false },
	{ ".orc_unwind", 6, 0, NULL, 0, false },   /* follows .orc_unwind_ip */
	{ "__mcount_loc", 8, 0, NULL, 0, true },
};
static const char *const aux_code[] = { ".altinstr_replacement", ".altinstr_aux" };

#define ALT_REPL_FIELD 4
#define ALT_REPLLEN_FIELD 11

static bool is_follower(const struct special_spec *s)
{
	return !strcmp(s->name, ".orc_unwind");
}

int carry_init(struct carry *c, const struct side *p)
{
	const struct lf_elf *e = p->e;

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->copied = calloc(e->nsecs, sizeof(*c->copied));
	c->keep = calloc(e->nsecs, sizeof(*c->keep));
	c->spec = calloc(e->nsecs, sizeof(*c->spec));
	c->ranged = calloc(e->nsecs, sizeof(*c->ranged));
	if (!c->copied || !c->keep || !c->spec || !c->ranged)
		return -ENOMEM;
	if (e->machine != EM_X86_64)
		return 0; /* arm64 6.1 has no livepatch: no table is carried */
	for (size_t i = 1; i < e->nsecs; i++) {
		const struct lf_elf_section *s = &e->secs[i];

		if (s->type != SHT_PROGBITS)
			continue;
		for (size_t k = 0; k < sizeof(x86_64_specs) / sizeof(x86_64_specs[0]); k++)
			if (!strcmp(s->name, x86_64_specs[k].name))
				c->spec[i] = &x86_64_specs[k];
		for (size_t k = 0; k < sizeof(aux_code) / sizeof(aux_code[0]); k++)
			if (!strcmp(s->name, aux_code[k]))
				c->ranged[i] = true;
	}
	return 0;
}

void carry_release(struct carry *c)
{
	if (c->keep && c->p)
		for (size_t i = 0; i < c->p->e->nsecs; i++)
			free(c->keep[i]);
	free(c->keep);
	free(c->copied);
	free(c->spec);
	free(c->ranged);
	free(c->work);
	memset(c, 0, sizeof(*c));
}

static int push(struct carry *c, uint32_t sec, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	if (c->nwork == c->capwork) {
		size_t n = c->capwork ? c->capwork * 2 : 64;
		struct range *v;

		if (n > MAX_WORK)
			return -E2BIG;
		v = reallocarray(c->work, n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->work = v;
		c->capwork = n;
	}
	c->work[c->nwork++] = (struct range){ sec, from, to };
	return 0;
}

static int copy_whole(struct carry *c, uint32_t sec)
{
	/* Tables are carried by entry only; code referring into one is not kernel code. */
	if (c->copied[sec] || c->spec[sec])
		return 0;
	c->copied[sec] = true;
	return push(c, sec, 0, c->p->e->secs[sec].size);
}

/* Marks bytes [from, to) of an auxiliary code section; visits the new ones. */
static int keep_bytes(struct carry *c, uint32_t sec, uint64_t from, uint64_t to)
{
	uint64_t size = c->p->e->secs[sec].size, run = from;
	int r = 0;

	c->copied[sec] = true;
	if (!c->keep[sec] && !(c->keep[sec] = calloc(size ? size : 1, 1)))
		return -ENOMEM;
	if (to > size)
		to = size;
	for (uint64_t b = from; b < to && r == 0; b++) {
		if (c->keep[sec][b]) {
			r = push(c, sec, run, b);
			run = b + 1;
		}
		c->keep[sec][b] = 1;
	}
	return r ? r : push(c, sec, run, to);
}

/*
 * The position a relocation from section `from` reaches in its target
 * section: code adds the displacement's own size (x86-64 rel32), data
 * holds exact addends (resolve_target() gives the position without it).
 */
static int64_t reached(const struct lf_elf *e, const struct lf_elf_section *from,
		       const struct lf_elf_rela *r, const struct target *t)
{
	struct lf_elf_reloc_info info;

	if (!(from->flags & SHF_EXECINSTR) || lf_elf_reloc_info(e->machine, r->type, &info) < 0)
		return t->pos;
	return wrap_add(t->pos, info.bias);
}

/* Where a slow path in .altinstr_aux ends: the next position anyone jumps to. */
static uint64_t snippet_end(const struct carry *c, uint32_t sec, uint64_t pos)
{
	const struct lf_elf *e = c->p->e;
	uint64_t end = e->secs[sec].size;

	for (size_t i = 1; i < e->nsecs; i++) {
		const struct lf_elf_section *s = &e->secs[i];
		const struct lf_elf_rela *rl;
		size_t n;

		lf_elf_section_relas(e, s, &rl, &n);
		for (size_t j = 0; j < n; j++) {
			struct target t;

			int64_t at;

			if (e->syms[rl[j].sym].shndx != sec || resolve_target(c->p, s, &rl[j], &t) < 0)
				continue;
			at = reached(e, s, &rl[j], &t);
			if (at >= 0 && (uint64_t)at > pos && (uint64_t)at < end)
				end = (uint64_t)at;
		}
	}
	return end;
}

static int visit(struct carry *c, uint32_t sec, const struct lf_elf_rela *r)
{
	const struct lf_elf *e = c->p->e;
	const struct lf_elf_section *s = &e->secs[sec];
	struct target t;
	int ret = resolve_target(c->p, s, r, &t);
	int64_t at;

	if (ret < 0)
		return ret;
	if (t.kind == T_STR || t.kind == T_MERGE || t.kind == T_PRIV)
		return copy_whole(c, t.sec);
	at = reached(e, s, r, &t);
	if (t.kind != T_SEC || !c->ranged[t.sec] || at < 0)
		return 0;
	if (c->spec[sec] && !strcmp(c->spec[sec]->name, ".altinstructions")) {
		uint64_t len_at = r->offset - ALT_REPL_FIELD + ALT_REPLLEN_FIELD;

		if (r->offset % 12 != ALT_REPL_FIELD || len_at >= s->size || !s->data)
			return 0;
		return keep_bytes(c, t.sec, (uint64_t)at, (uint64_t)at + s->data[len_at]);
	}
	return keep_bytes(c, t.sec, (uint64_t)at, snippet_end(c, t.sec, (uint64_t)at));
}

static int drain(struct carry *c)
{
	const struct lf_elf *e = c->p->e;
	int r = 0;

	while (r == 0 && c->nwork) {
		struct range w = c->work[--c->nwork];
		const struct lf_elf_rela *rl;
		size_t n;

		relas_in_range(e, &e->secs[w.sec], w.from, w.to - w.from, &rl, &n);
		for (size_t j = 0; r == 0 && j < n; j++)
			r = visit(c, w.sec, &rl[j]);
	}
	return r;
}

/* Where the site field of entry i points: section and position, or sec 0. */
static uint32_t entry_site(const struct carry *c, uint32_t sec, size_t i, int64_t *ret_pos)
{
	const struct lf_elf *e = c->p->e;
	const struct special_spec *sp = c->spec[sec];
	uint64_t off = i * sp->entsize + sp->site;
	const struct lf_elf_rela *rl;
	struct target t;
	size_t n;

	relas_in_range(e, &e->secs[sec], off, 1, &rl, &n);
	if (!n || resolve_target(c->p, &e->secs[sec], rl, &t) < 0 || !t.sec)
		return 0;
	*ret_pos = t.pos;
	return t.sec;
}

static bool site_carried(const struct carry *c, uint32_t sec, int64_t pos)
{
	if (!sec || !c->copied[sec] || c->spec[sec] || pos < 0)
		return false;
	if (!c->ranged[sec])
		return true;
	return c->keep[sec] && (uint64_t)pos < c->p->e->secs[sec].size && c->keep[sec][pos];
}

static int keep_parallel(struct carry *c, uint32_t sec, size_t i)
{
	const struct lf_elf *e = c->p->e;
	const struct special_spec *sp = c->spec[sec];
	const struct lf_elf_section *par;

	if (!sp->parallel)
		return 0;
	par = lf_elf_section_by_name(e, sp->parallel);
	if (!par || par->size / sp->parallel_size != e->secs[sec].size / sp->entsize ||
	    par->size % sp->parallel_size) {
		c->bad_sec = par ? par->index : sec;
		return -EPROTO;
	}
	if (!c->keep[par->index] &&
	    !(c->keep[par->index] = calloc(par->size / sp->parallel_size + 1, 1)))
		return -ENOMEM;
	c->keep[par->index][i] = 1;
	c->copied[par->index] = true;
	return 0;
}

/* Keeps the entries of one table whose site is carried; returns how many. */
static int select_table(struct carry *c, uint32_t sec)
{
	const struct lf_elf_section *s = &c->p->e->secs[sec];
	const struct special_spec *sp = c->spec[sec];
	size_t n = s->size / sp->entsize, added = 0;
	int r;

	if (s->size % sp->entsize) {
		c->bad_sec = sec;
		return -EPROTO;
	}
	if (!c->keep[sec] && !(c->keep[sec] = calloc(n + 1, 1)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int64_t pos = 0;
		uint32_t tsec;

		if (c->keep[sec][i])
			continue;
		tsec = entry_site(c, sec, i, &pos);
		if (!site_carried(c, tsec, pos))
			continue;
		c->keep[sec][i] = 1;
		c->copied[sec] = true;
		added++;
		if ((r = keep_parallel(c, sec, i)) < 0 ||
		    (r = push(c, sec, i * sp->entsize, (i + 1) * sp->entsize)) < 0)
			return r;
	}
	return (int)added;
}

int walk_patch(struct carry *c, const bool *included)
{
	const struct lf_elf *e = c->p->e;
	int r, added;

	for (size_t i = 1; i < e->nsyms; i++)
		if (included[i] && e->syms[i].shndx < e->nsecs &&
		    (r = copy_whole(c, e->syms[i].shndx)) < 0)
			return r;
	do {
		if ((r = drain(c)) < 0)
			return r;
		added = 0;
		/* An entry's site may be in auxiliary code another entry brought. */
		for (uint32_t i = 1; i < e->nsecs; i++) {
			if (!c->spec[i] || is_follower(c->spec[i]))
				continue;
			r = select_table(c, i);
			if (r < 0)
				return r;
			added += r;
		}
	} while (added || c->nwork);
	return 0;
}

static bool rela_kept(const struct carry *c, uint32_t sec, uint64_t off)
{
	if (c->spec[sec])
		return c->keep[sec] && c->keep[sec][off / c->spec[sec]->entsize];
	if (c->ranged[sec])
		return c->keep[sec] && off < c->p->e->secs[sec].size && c->keep[sec][off];
	return true;
}

int carry_for_each_rela(const struct carry *c, walk_fn fn, void *arg)
{
	const struct lf_elf *e = c->p->e;

	for (uint32_t i = 1; i < e->nsecs; i++) {
		const struct lf_elf_rela *rl;
		size_t n;

		if (!c->copied[i])
			continue;
		lf_elf_section_relas(e, &e->secs[i], &rl, &n);
		for (size_t j = 0; j < n; j++) {
			struct target t;
			int r;

			if (!rela_kept(c, i, rl[j].offset))
				continue;
			r = resolve_target(c->p, &e->secs[i], &rl[j], &t);
			if (r == 0)
				r = fn(arg, i, &rl[j], &t);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

size_t carry_table_count(const struct carry *c, uint32_t sec, size_t *ret_total)
{
	size_t n, kept = 0;

	*ret_total = 0;
	if (!c->spec[sec])
		return 0;
	n = c->p->e->secs[sec].size / c->spec[sec]->entsize;
	for (size_t i = 0; c->keep[sec] && i < n; i++)
		kept += c->keep[sec][i];
	*ret_total = n;
	return kept;
}

uint64_t carry_table_offset(const struct carry *c, uint32_t sec, uint64_t off)
{
	uint32_t es = c->spec[sec]->entsize;
	uint64_t rank = 0;

	for (uint64_t i = 0; i < off / es; i++)
		rank += c->keep[sec][i];
	return rank * es + off % es;
}

static uint32_t owner_of_site(const struct carry *c, uint32_t tsec, int64_t pos, unsigned depth);

/* The alternative whose replacement holds sec+off: the owner of its site. */
static uint32_t owner_of_range(const struct carry *c, uint32_t sec, uint64_t off, unsigned depth)
{
	const struct lf_elf *e = c->p->e;

	for (uint32_t i = 1; i < e->nsecs; i++) {
		const struct lf_elf_rela *rl;
		size_t n;

		if (!c->spec[i] || strcmp(c->spec[i]->name, ".altinstructions") || !c->keep[i])
			continue;
		lf_elf_section_relas(e, &e->secs[i], &rl, &n);
		for (size_t j = 0; j < n; j++) {
			uint64_t ent = rl[j].offset / 12;
			struct target t;
			int64_t pos = 0;
			uint32_t ts;

			if (rl[j].offset % 12 != ALT_REPL_FIELD || !c->keep[i][ent] ||
			    resolve_target(c->p, &e->secs[i], &rl[j], &t) < 0 || t.sec != sec ||
			    t.pos < 0 || off < (uint64_t)t.pos ||
			    off >= (uint64_t)t.pos + e->secs[i].data[ent * 12 + ALT_REPLLEN_FIELD])
				continue;
			ts = entry_site(c, i, ent, &pos);
			return owner_of_site(c, ts, pos, depth + 1);
		}
	}
	return 0;
}

static uint32_t owner_of_site(const struct carry *c, uint32_t tsec, int64_t pos, unsigned depth)
{
	if (!tsec || depth > 4 || pos < 0)
		return 0;
	if (c->ranged[tsec])
		return owner_of_range(c, tsec, (uint64_t)pos, depth);
	return covering_symbol(c->p, tsec, pos);
}

uint32_t carry_owner(const struct carry *c, uint32_t sec, uint64_t off)
{
	int64_t pos = 0;
	uint32_t tsec;

	if (c->spec[sec]) {
		tsec = entry_site(c, sec, off / c->spec[sec]->entsize, &pos);
		return owner_of_site(c, tsec, pos, 0);
	}
	if (c->ranged[sec])
		return owner_of_range(c, sec, off, 0);
	return 0;
}
