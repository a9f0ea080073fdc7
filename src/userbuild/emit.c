// SPDX-License-Identifier: Apache-2.0
/*
 * The patch object the applier consumes (docs/USERSPACE.md): the differ's
 * object of every rebuilt unit merged into one relocatable object, plus
 *
 *  - `.eh_frame`: the CIEs and FDEs of the carried functions, taken from
 *    the patched object. The applier's unwinder reads them from the patch
 *    mapping when a later patch checks the stacks: a thread inside new code
 *    must unwind through it to its outermost frame, or it counts as busy.
 *  - `.livefix.patch`: id, level, target build-id, one `func OLD@0xADDR NEW`
 *    per replaced function (the address the fidelity check matched, so two
 *    statics of one name are never confused), and a `bind` line for every
 *    reference to a local or ambiguous symbol of the target.
 *
 * A call to an imported function (memcmp, malloc) goes through a 6-byte
 * thunk `jmp *SLOT(%rip)` on the target's own GOT slot for it, reached
 * from `_GLOBAL_OFFSET_TABLE_` (bound with a `bind` line): the patch calls
 * what the original calls, as the process's dynamic linker resolved it,
 * IFUNCs (glibc's memcmp, strlen) and interposed symbols included.
 *
 * Names are made unique across units: a defined function that a func line
 * names keeps its name unless another unit used it (then `name.lfuN`), and
 * an undefined symbol bound by a `bind` line is renamed `name.lfuN` in
 * units after the first, so two units' `counter.1` stay two symbols.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/buf.h"
#include "ub.h"

#define META_MAX (64u << 10)
#define EH_MAX (16u << 20)
#define NAME_MAX_LEN 256

struct eh_rela {
	uint64_t off;
	uint32_t type;
	int sym;
	int64_t addend;
};

struct ub_emit {
	const struct ub_image *img;
	struct lf_elf_out *out;
	int got;               /* undefined symbol for _GLOBAL_OFFSET_TABLE_, or -1 */
	uint16_t machine;
	struct lf_buf meta, eh;
	struct eh_rela *eh_relas;
	size_t n_eh_relas;
	uint32_t eh_type;
	char **names;          /* defined function names used so far */
	size_t nnames;
	size_t nunits, nfuncs, nbinds;
};

int ub_emit_new(const char *id, unsigned level, const struct ub_image *img, struct ub_emit **ret)
{
	struct ub_emit *m = calloc(1, sizeof(*m));
	const char *build_id = img->build_id;
	int r;

	if (!m)
		return -ENOMEM;
	m->img = img;
	m->got = -1;
	lf_buf_init(&m->meta, META_MAX);
	lf_buf_init(&m->eh, EH_MAX);
	r = lf_buf_printf(&m->meta, "livefix-patch 1\nid %s\nlevel %u\ntarget-build-id %s\n", id,
			  level, build_id);
	if (r < 0) {
		ub_emit_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void ub_emit_free(struct ub_emit *m)
{
	if (!m)
		return;
	lf_elf_out_free(m->out);
	lf_buf_release(&m->meta);
	lf_buf_release(&m->eh);
	free(m->eh_relas);
	for (size_t i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	free(m);
}

/* A defined function name not used by an earlier unit. */
static int unique_name(struct ub_emit *m, const char *name, char *out, size_t size)
{
	char **nn;
	bool used = false;

	for (size_t i = 0; i < m->nnames; i++)
		used |= !strcmp(m->names[i], name);
	if (used)
		snprintf(out, size, "%s.lfu%zu", name, m->nunits);
	else
		snprintf(out, size, "%s", name);
	nn = realloc(m->names, (m->nnames + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	m->names = nn;
	if (!(nn[m->nnames] = strdup(out)))
		return -ENOMEM;
	m->nnames++;
	return 0;
}

struct unit_map {
	const struct lf_elf *d;
	uint32_t *secmap;
	int *symmap;
	char (*names)[NAME_MAX_LEN]; /* final name of each symbol of d */
};

static bool skip_section(const struct lf_elf_section *s)
{
	return s->type == SHT_NULL || s->type == SHT_SYMTAB || s->type == SHT_STRTAB ||
	       s->type == SHT_RELA || s->type == SHT_REL || s->type == SHT_GROUP ||
	       !strcmp(s->name, ".note.GNU-stack") || !strcmp(s->name, ".livefix.patch");
}

static int copy_sections(struct ub_emit *m, struct unit_map *u)
{
	for (size_t i = 1; i < u->d->nsecs; i++) {
		const struct lf_elf_section *s = &u->d->secs[i];
		int idx;

		if (skip_section(s))
			continue;
		idx = lf_elf_out_add_section(m->out, s->name, s->type, s->flags & ~(uint64_t)SHF_GROUP,
					     s->align, s->entsize, s->data, s->size);
		if (idx < 0)
			return idx;
		u->secmap[i] = (uint32_t)idx;
	}
	return 0;
}

static int undefined_symbol(struct ub_emit *m, struct unit_map *u, const struct lf_elf_symbol *s,
			    const struct lf_diff_result *r, char *const *ref_bind, char *name)
{
	for (size_t k = 0; k < r->nrefs; k++) {
		if (strcmp(r->refs[k].name, s->name) || !ref_bind[k])
			continue;
		if (m->nbinds == UB_MAX_FUNCS)
			return -E2BIG;
		if (m->nunits)
			snprintf(name, NAME_MAX_LEN, "%s.lfu%zu", s->name, m->nunits);
		m->nbinds++;
		return lf_buf_printf(&m->meta, "bind %s %s\n", name, ref_bind[k]);
	}
	return 0;
}

/* The thunk `jmp *slot(%rip)` for an imported function; its symbol handle. */
static int slot_thunk(struct ub_emit *m, const struct lf_elf_symbol *s, const struct ub_slot *slot)
{
	static const uint8_t jmp[8] = { 0xff, 0x25, 0, 0, 0, 0, 0xcc, 0xcc };
	const struct ub_sym *got = &m->img->syms[m->img->got_sym];
	char name[NAME_MAX_LEN + 16];
	int sec, h, r;

	if (m->got < 0) {
		m->got = lf_elf_out_add_symbol(m->out, "livefix.got", STT_NOTYPE, STB_GLOBAL,
					       STV_DEFAULT, 0, 0, 0);
		if (m->got < 0)
			return m->got;
		r = lf_buf_printf(&m->meta, "bind livefix.got %s,%u\n", got->name, got->pos);
		if (r < 0)
			return r;
	}
	snprintf(name, sizeof(name), ".text.livefix.plt.%s", s->name);
	sec = lf_elf_out_add_section(m->out, name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 8, 0,
				     jmp, sizeof(jmp));
	if (sec < 0)
		return sec;
	snprintf(name, sizeof(name), "%s.livefix.plt.%zu", s->name, m->nunits);
	h = lf_elf_out_add_symbol(m->out, name, STT_FUNC, STB_LOCAL, STV_DEFAULT, (uint32_t)sec, 0, 6);
	if (h < 0)
		return h;
	r = lf_elf_out_add_rela(m->out, (uint32_t)sec, 2, R_X86_64_PC32, m->got,
				(int64_t)(slot->vaddr - got->value) - 4);
	return r < 0 ? r : h;
}

static const struct ub_slot *import_slot(const struct ub_emit *m, const struct lf_elf_symbol *s,
					 const struct lf_diff_result *r)
{
	if (m->machine != EM_X86_64 || m->img->got_sym == SIZE_MAX ||
	    (s->type != STT_NOTYPE && s->type != STT_FUNC))
		return NULL;
	for (size_t k = 0; k < r->nrefs; k++)
		if (r->refs[k].external && !strcmp(r->refs[k].name, s->name))
			return ub_image_slot(m->img, s->name);
	return NULL;
}

static int copy_symbols(struct ub_emit *m, struct unit_map *u, const struct lf_diff_result *r,
			char *const *ref_bind)
{
	for (size_t i = 1; i < u->d->nsyms; i++) {
		const struct lf_elf_symbol *s = &u->d->syms[i];
		bool def = lf_elf_symbol_is_defined(s);
		char *name = u->names[i];
		int h, rr = 0;

		u->symmap[i] = -1;
		if (s->type == STT_FILE)
			continue;
		if (s->type == STT_SECTION) {
			if (!def || !u->secmap[s->shndx])
				return -ENOEXEC;
			u->symmap[i] = lf_elf_out_section_symbol(m->out, u->secmap[s->shndx]);
			if (u->symmap[i] < 0)
				return u->symmap[i];
			continue;
		}
		if (strlen(s->name) >= NAME_MAX_LEN - 16)
			return -ENAMETOOLONG;
		if (!def && import_slot(m, s, r)) {
			h = slot_thunk(m, s, import_slot(m, s, r));
			if (h < 0)
				return h;
			u->symmap[i] = h;
			continue;
		}
		snprintf(name, NAME_MAX_LEN, "%s", s->name);
		if (def && s->type == STT_FUNC)
			rr = unique_name(m, s->name, name, NAME_MAX_LEN);
		else if (!def)
			rr = undefined_symbol(m, u, s, r, ref_bind, name);
		if (rr < 0)
			return rr;
		if (def && !u->secmap[s->shndx])
			return -ENOEXEC;
		h = lf_elf_out_add_symbol(m->out, name, s->type, def ? s->bind : STB_GLOBAL, s->vis,
					  def ? u->secmap[s->shndx] : 0, def ? s->value : 0,
					  def ? s->size : 0);
		if (h < 0)
			return h;
		u->symmap[i] = h;
	}
	return 0;
}

static int copy_relas(struct ub_emit *m, struct unit_map *u)
{
	for (size_t i = 1; i < u->d->nsecs; i++) {
		const struct lf_elf_section *s = &u->d->secs[i];

		if (s->type != SHT_RELA || s->info >= u->d->nsecs || !u->secmap[s->info])
			continue;
		for (size_t k = 0; k < s->nrelas; k++) {
			const struct lf_elf_rela *ra = &s->relas[k];
			int r;

			if (u->symmap[ra->sym] < 0)
				return -ENOEXEC;
			r = lf_elf_out_add_rela(m->out, u->secmap[s->info], ra->offset, ra->type,
						u->symmap[ra->sym], ra->addend);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The carried section of d that holds the function an FDE covers, or 0. */
static uint32_t fde_target(const struct lf_elf *p, const struct lf_elf_rela *ra,
			   const struct unit_map *u, int64_t *ret_addend)
{
	const struct lf_elf_symbol *s = &p->syms[ra->sym];

	if (!lf_elf_symbol_is_defined(s))
		return 0;
	*ret_addend = ra->addend + (s->type == STT_SECTION ? 0 : (int64_t)s->value);
	for (size_t i = 1; i < u->d->nsecs; i++)
		if (u->secmap[i] && !strcmp(u->d->secs[i].name, p->secs[s->shndx].name) &&
		    (u->d->secs[i].flags & SHF_EXECINSTR))
			return u->secmap[i];
	return 0;
}

struct eh_walk {
	const struct lf_elf_section *sec;
	const struct lf_elf_rela *rel;
	size_t nrel;
	uint64_t cie_from[64], cie_to[64];
	size_t ncies;
};

static bool has_rela_in(const struct eh_walk *w, uint64_t from, uint64_t to, uint64_t except)
{
	for (size_t k = 0; k < w->nrel; k++)
		if (w->rel[k].offset >= from && w->rel[k].offset < to && w->rel[k].offset != except)
			return true;
	return false;
}

static int copy_cie(struct ub_emit *m, struct eh_walk *w, uint64_t cie, uint64_t *ret)
{
	uint32_t len;

	for (size_t i = 0; i < w->ncies; i++)
		if (w->cie_from[i] == cie) {
			*ret = w->cie_to[i];
			return 0;
		}
	if (w->ncies == 64 || cie + 8 > w->sec->size)
		return -E2BIG;
	len = rd32(w->sec->data + cie);
	if (len == 0xffffffffu || cie + 4 + len > w->sec->size || rd32(w->sec->data + cie + 4))
		return -ENOEXEC;
	/* a personality routine (C++ exceptions) would need its own binding */
	if (has_rela_in(w, cie, cie + 4 + len, UINT64_MAX))
		return -EOPNOTSUPP;
	*ret = m->eh.len;
	w->cie_from[w->ncies] = cie;
	w->cie_to[w->ncies++] = m->eh.len;
	return lf_buf_append(&m->eh, w->sec->data + cie, 4 + len);
}

static int add_fde(struct ub_emit *m, struct eh_walk *w, uint64_t off, uint32_t len,
		   uint32_t sec, int64_t addend, uint32_t type)
{
	uint64_t cie = off + 4 - rd32(w->sec->data + off + 4), new_cie, at;
	struct eh_rela *nr;
	int r;

	if (has_rela_in(w, off, off + 4 + len, off + 8))
		return -EOPNOTSUPP;   /* an LSDA pointer */
	r = copy_cie(m, w, cie, &new_cie);
	if (r < 0)
		return r;
	at = m->eh.len;
	r = lf_buf_append(&m->eh, w->sec->data + off, 4 + len);
	if (r < 0)
		return r;
	wr32((uint8_t *)m->eh.data + at + 4, (uint32_t)(at + 4 - new_cie));
	nr = realloc(m->eh_relas, (m->n_eh_relas + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	m->eh_relas = nr;
	r = lf_elf_out_section_symbol(m->out, sec);
	if (r < 0)
		return r;
	nr[m->n_eh_relas++] = (struct eh_rela){ at + 8, type, r, addend };
	return 0;
}

static int copy_eh_frame(struct ub_emit *m, const struct lf_elf *p, struct unit_map *u)
{
	const struct lf_elf_section *sec = lf_elf_section_by_name(p, ".eh_frame");
	struct eh_walk w = { .sec = sec };
	uint64_t off = 0;

	if (!sec || !sec->data)
		return 0;
	m->eh_type = sec->type;
	lf_elf_section_relas(p, sec, &w.rel, &w.nrel);
	while (off + 8 <= sec->size) {
		uint32_t len = rd32(sec->data + off);
		const struct lf_elf_rela *pc = NULL;
		int64_t addend = 0;
		uint32_t target;

		if (!len)
			break;
		if (len == 0xffffffffu || off + 4 + len > sec->size)
			return -ENOEXEC;
		for (size_t k = 0; k < w.nrel; k++)
			if (w.rel[k].offset == off + 8)
				pc = &w.rel[k];
		if (rd32(sec->data + off + 4) && pc && (target = fde_target(p, pc, u, &addend))) {
			int r = add_fde(m, &w, off, len, target, addend, pc->type);
			if (r < 0)
				return r;
		}
		off += 4 + len;
	}
	return 0;
}

static int add_redirects(struct ub_emit *m, const struct unit_map *u,
			 const struct ub_redirect *redir, size_t nredir)
{
	for (size_t i = 0; i < nredir; i++) {
		const char *final = NULL;

		for (size_t k = 1; k < u->d->nsyms && !final; k++)
			if (u->d->syms[k].type == STT_FUNC && lf_elf_symbol_is_defined(&u->d->syms[k]) &&
			    !strcmp(u->d->syms[k].name, redir[i].name))
				final = u->names[k];
		if (!final)
			return -ENOENT;
		if (m->nfuncs == UB_MAX_FUNCS)
			return -E2BIG;
		m->nfuncs++;
		int r = lf_buf_printf(&m->meta, "func %s@0x%llx %s\n", redir[i].old_name,
				      (unsigned long long)redir[i].old_addr, final);
		if (r < 0)
			return r;
	}
	return 0;
}

int ub_emit_unit(struct ub_emit *m, const char *diff_obj, const struct lf_elf *patched,
		 const struct lf_diff_result *r, const struct ub_redirect *redir, size_t nredir,
		 char *const *ref_bind, char *msg, size_t msg_size)
{
	struct unit_map u = { 0 };
	struct lf_elf *d = NULL;
	int ret = lf_elf_open(diff_obj, &d);

	if (ret < 0)
		return snprintf(msg, msg_size, "%s: cannot read the differ's object", diff_obj), ret;
	if (!m->out) {
		m->machine = d->machine;
		ret = lf_elf_out_new(d->machine, d->elfclass, &m->out);
	} else if (d->machine != m->machine) {
		ret = -ENOEXEC;
	}
	u.d = d;
	u.secmap = calloc(d->nsecs + 1, sizeof(*u.secmap));
	u.symmap = calloc(d->nsyms + 1, sizeof(*u.symmap));
	u.names = calloc(d->nsyms + 1, sizeof(*u.names));
	if (ret == 0 && (!u.secmap || !u.symmap || !u.names))
		ret = -ENOMEM;
	if (ret == 0)
		ret = copy_sections(m, &u);
	if (ret == 0)
		ret = copy_symbols(m, &u, r, ref_bind);
	if (ret == 0)
		ret = copy_relas(m, &u);
	if (ret == 0)
		ret = add_redirects(m, &u, redir, nredir);
	if (ret == 0) {
		ret = copy_eh_frame(m, patched, &u);
		if (ret < 0)
			snprintf(msg, msg_size, ".eh_frame of the patched object: %s",
				 ret == -EOPNOTSUPP ? "personality or LSDA (C++ exceptions) not supported"
						    : "malformed");
	} else {
		snprintf(msg, msg_size, "merging %s into the patch object: %s", diff_obj, strerror(-ret));
	}
	m->nunits++;
	free(u.secmap);
	free(u.symmap);
	free(u.names);
	lf_elf_free(d);
	return ret;
}

int ub_emit_write(struct ub_emit *m, const char *path)
{
	static const uint8_t zero[4];
	int sec, r;

	if (!m->out || !m->nfuncs)
		return -ENODATA;
	if (m->eh.len) {
		r = lf_buf_append(&m->eh, zero, sizeof(zero)); /* terminator */
		if (r < 0)
			return r;
		sec = lf_elf_out_add_section(m->out, ".eh_frame", m->eh_type ? m->eh_type : SHT_PROGBITS,
					     SHF_ALLOC, 8, 0, m->eh.data, m->eh.len);
		if (sec < 0)
			return sec;
		for (size_t i = 0; i < m->n_eh_relas; i++) {
			const struct eh_rela *e = &m->eh_relas[i];

			r = lf_elf_out_add_rela(m->out, (uint32_t)sec, e->off, e->type, e->sym, e->addend);
			if (r < 0)
				return r;
		}
	}
	sec = lf_elf_out_add_section(m->out, ".livefix.patch", SHT_PROGBITS, 0, 1, 0, m->meta.data,
				     m->meta.len);
	if (sec < 0)
		return sec;
	sec = lf_elf_out_add_section(m->out, ".note.GNU-stack", SHT_PROGBITS, 0, 1, 0, NULL, 0);
	if (sec < 0)
		return sec;
	return lf_elf_out_write(m->out, path);
}
