/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Links the patch object for one process, in the agent's memory: lays out
 * the mapping, resolves every symbol to an absolute address in the target
 * and applies the relocations. The target is only written afterwards.
 *
 * Mapping layout (page-aligned parts, protections set after writing):
 *
 *   r--  header and function records | read-only sections, .eh_frame | GOT
 *   r-x  code sections | one stub per far external function
 *   rw-  writable sections, .bss
 *
 * External functions are called directly when within rel32 reach, else
 * through a stub "jmp *GOT[n]"; external data is reached through the GOT
 * (-fPIC code uses GOTPCREL for it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dynrel.h"
#include "user-int.h"

#define PAGE 4096ull
#define MAP_MAX (256ull << 20)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

enum part { PART_NONE, PART_RO, PART_TEXT, PART_DATA };

static enum part section_part(const struct lf_elfimg *e, const Elf64_Shdr *s)
{
	if (!(s->sh_flags & SHF_ALLOC) || !s->sh_size)
		return PART_NONE;
	if (s->sh_flags & SHF_EXECINSTR)
		return PART_TEXT;
	if (s->sh_flags & SHF_WRITE)
		return PART_DATA;
	return PART_RO;
}

static int place_part(const struct lf_elfimg *e, struct lf_image *img, enum part part,
		      uint64_t *off, char *msg, size_t size)
{
	for (unsigned i = 1; i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		if (section_part(e, s) != part)
			continue;
		if (s->sh_flags & SHF_TLS)
			return lf_user_fail(msg, size, -ENOEXEC,
					    "patch object: section %s: new thread-local data is not supported",
					    lf_elfimg_section_name(e, s));
		if (s->sh_type == SHT_INIT_ARRAY || s->sh_type == SHT_FINI_ARRAY ||
		    s->sh_type == SHT_PREINIT_ARRAY || !strncmp(lf_elfimg_section_name(e, s), ".ctors", 6) ||
		    !strncmp(lf_elfimg_section_name(e, s), ".dtors", 6))
			return lf_user_fail(msg, size, -ENOEXEC,
					    "patch object: section %s: constructors and destructors never run",
					    lf_elfimg_section_name(e, s));
		uint64_t a = s->sh_addralign ? s->sh_addralign : 1;
		if (a > PAGE || (a & (a - 1)) || s->sh_size > MAP_MAX)
			return lf_user_fail(msg, size, -ENOEXEC, "patch object: section %s: bad size",
					    lf_elfimg_section_name(e, s));
		if (s->sh_type != SHT_NOBITS && !lf_elfimg_section_data(e, s))
			return lf_user_fail(msg, size, -ENOEXEC, "patch object: section %s: truncated",
					    lf_elfimg_section_name(e, s));
		*off = align_up(*off, a);
		img->sec_off[i] = *off;
		if (!strcmp(lf_elfimg_section_name(e, s), ".eh_frame")) {
			img->eh_frame_off = *off;
			img->eh_frame_size = s->sh_size;
		}
		*off += s->sh_size;
		if (*off > MAP_MAX)
			return lf_user_fail(msg, size, -EFBIG, "patch object is too large");
	}
	return 0;
}

/* Symbols reached through the GOT: GOTPCREL targets and undefined call targets. */
static int count_got(const struct lf_elfimg *e, struct lf_image *img)
{
	for (unsigned i = 1; i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		if (s->sh_type != SHT_RELA || s->sh_info >= e->shnum ||
		    section_part(e, &e->sh[s->sh_info]) == PART_NONE)
			continue;
		const Elf64_Rela *r = lf_elfimg_section_data(e, s);
		if (!r || s->sh_entsize != sizeof(*r) || s->sh_link >= e->shnum || s->sh_offset % 8)
			return -ENOEXEC;
		for (size_t k = 0; k < s->sh_size / sizeof(*r); k++) {
			size_t sym = ELF64_R_SYM(r[k].r_info);
			uint32_t type = ELF64_R_TYPE(r[k].r_info);
			if (sym >= e->nsym)
				return -ENOEXEC;
			bool undef = e->symtab[sym].st_shndx == SHN_UNDEF;
			enum lf_tls_class tc = lf_tls_classify(type);
			if (tc == LF_TLS_IE && img->tls_slot[sym] < 0) {
				img->tls_slot[sym] = (int32_t)img->ntls++;
			} else if (tc == LF_TLS_GD && img->tlsgd_slot[sym] < 0) {
				img->tlsgd_slot[sym] = (int32_t)img->ntls;
				img->ntls += 2;
			} else if (tc == LF_TLS_LD && img->tlsld_slot < 0) {
				img->tlsld_slot = (int32_t)img->ntls;
				img->ntls += 2;
			}
			if (tc != LF_TLS_NONE)
				continue;
			if ((lf_arch_reloc_needs_got(type) || (undef && lf_arch_reloc_is_branch(type))) &&
			    img->got_slot[sym] < 0)
				img->got_slot[sym] = (int32_t)img->ngot++;
		}
	}
	return 0;
}

int lf_link_layout(const struct lf_user_patch *p, struct lf_image *img, char *msg, size_t size)
{
	const struct lf_elfimg *e = &p->elf;
	uint64_t off;
	int r;

	*img = (struct lf_image){ 0 };
	img->sec_off = malloc(e->shnum * sizeof(*img->sec_off));
	img->sec_addr = calloc(e->shnum, sizeof(*img->sec_addr));
	img->got_slot = malloc(e->nsym * sizeof(*img->got_slot));
	img->tls_slot = malloc(e->nsym * sizeof(*img->tls_slot));
	img->tlsgd_slot = malloc(e->nsym * sizeof(*img->tlsgd_slot));
	if (!img->sec_off || !img->sec_addr || !img->got_slot || !img->tls_slot || !img->tlsgd_slot)
		goto err_nomem;
	for (unsigned i = 0; i < e->shnum; i++)
		img->sec_off[i] = UINT64_MAX;
	for (size_t i = 0; i < e->nsym; i++)
		img->got_slot[i] = img->tls_slot[i] = img->tlsgd_slot[i] = -1;
	img->tlsld_slot = -1;
	img->hdr_size = sizeof(struct lf_hdr) + p->nfuncs * sizeof(struct lf_hdr_func);
	off = img->hdr_size;
	if ((r = place_part(e, img, PART_RO, &off, msg, size)) < 0)
		goto err;
	if ((r = count_got(e, img)) < 0) {
		r = lf_user_fail(msg, size, r, "patch object: bad relocation section");
		goto err;
	}
	img->got_off = off = align_up(off, 8);
	off += 8ull * img->ngot;
	img->tls_off = off;
	off += 8ull * img->ntls;
	img->ro_end = off = align_up(off, PAGE);
	if ((r = place_part(e, img, PART_TEXT, &off, msg, size)) < 0)
		goto err;
	img->stub_off = off = align_up(off, 16);
	off += (uint64_t)LF_ARCH_STUB_SIZE * img->ngot;
	img->text_end = off = align_up(off, PAGE);
	if ((r = place_part(e, img, PART_DATA, &off, msg, size)) < 0)
		goto err;
	img->map_size = align_up(off, PAGE);
	if (img->map_size == img->text_end)
		img->map_size += PAGE;	/* keeps the parts' arithmetic simple */
	img->data = calloc(1, img->map_size);
	if (!img->data)
		goto err_nomem;
	return 0;
err_nomem:
	r = -ENOMEM;
err:
	lf_image_release(img);
	return r;
}

void lf_image_release(struct lf_image *img)
{
	free(img->data);
	free(img->sec_off);
	free(img->sec_addr);
	free(img->got_slot);
	free(img->tls_slot);
	free(img->tlsgd_slot);
	*img = (struct lf_image){ 0 };
}

static const char *sym_name(const struct lf_elfimg *e, const Elf64_Sym *s)
{
	return s->st_name < e->strtab_size ? e->strtab + s->st_name : "";
}

static int symbol_value(const struct lf_user_patch *p, const struct lf_image *img, size_t i,
			const struct lf_link_sym *res, uint64_t *cache, char *msg, size_t size)
{
	const struct lf_elfimg *e = &p->elf;
	const Elf64_Sym *s = &e->symtab[i];

	if (cache[i] != UINT64_MAX)
		return 0;
	if (s->st_shndx == SHN_UNDEF) {
		int r = res->resolve(res->ud, sym_name(e, s), &cache[i], msg, size);
		if (r == -ENOENT && ELF64_ST_BIND(s->st_info) == STB_WEAK) {
			cache[i] = 0;
			return 0;
		}
		return r;
	}
	if (s->st_shndx == SHN_ABS) {
		cache[i] = s->st_value;
		return 0;
	}
	if (s->st_shndx >= e->shnum || !img->sec_addr[s->st_shndx])
		return lf_user_fail(msg, size, -ENOEXEC,
				    "patch object: symbol %s is in an unloaded or common section",
				    sym_name(e, s));
	cache[i] = img->sec_addr[s->st_shndx] + s->st_value;
	return 0;
}

static int put_s32(uint8_t *loc, size_t avail, int64_t v)
{
	int32_t v32 = (int32_t)v;

	if (avail < 4)
		return -ENOEXEC;
	if (v != v32)
		return -ERANGE;
	memcpy(loc, &v32, 4);
	return 0;
}

/*
 * A TLS relocation: the code sequences are kept as the compiler wrote them
 * (no linker relaxation); their GOT entries live in the patch mapping and
 * hold what the target's dynamic linker computed for the variable.
 */
static int tls_reloc(const struct lf_user_patch *p, struct lf_image *img, size_t si,
		     const Elf64_Rela *rel, uint8_t *loc, size_t avail, uint64_t place,
		     const struct lf_link_sym *res, char *msg, size_t size)
{
	const struct lf_elfimg *e = &p->elf;
	const char *name = sym_name(e, &e->symtab[si]);
	enum lf_tls_class tc = lf_tls_classify(ELF64_R_TYPE(rel->r_info));
	unsigned need = tc == LF_TLS_LE || tc == LF_TLS_IE ? LF_TLS_NEED_TPOFF
			: tc == LF_TLS_GD || tc == LF_TLS_LD ? LF_TLS_NEED_MODID : 0;
	struct lf_tls_ref ref = { 0 };
	int32_t slot = tc == LF_TLS_IE ? img->tls_slot[si] : tc == LF_TLS_GD ? img->tlsgd_slot[si]
								  : img->tlsld_slot;
	uint64_t pair[2];
	int r;

	if (tc == LF_TLS_REFUSED)
		return lf_user_fail(msg, size, -ENOEXEC,
				    "patch object: %s: TLS relocation type %u is not supported (TLS descriptors: "
				    "build with -mtls-dialect=gnu)", name, (unsigned)ELF64_R_TYPE(rel->r_info));
	if (e->symtab[si].st_shndx != SHN_UNDEF)
		return lf_user_fail(msg, size, -ENOEXEC,
				    "patch object: %s: new thread-local variables are not supported", name);
	if (!res->resolve_tls)
		return lf_user_fail(msg, size, -ENOEXEC, "thread-local %s cannot be bound here", name);
	if ((r = res->resolve_tls(res->ud, name, need, &ref, msg, size)) < 0)
		return r;
	switch (tc) {
	case LF_TLS_LE:
		return put_s32(loc, avail, ref.tpoff + rel->r_addend);
	case LF_TLS_DTPOFF32:
		return put_s32(loc, avail, (int64_t)ref.dtpoff + rel->r_addend);
	case LF_TLS_DTPOFF64:
		if (avail < 8)
			return -ENOEXEC;
		pair[0] = ref.dtpoff + (uint64_t)rel->r_addend;
		memcpy(loc, pair, 8);
		return 0;
	case LF_TLS_IE:
		memcpy(img->data + img->tls_off + 8ull * slot, &ref.tpoff, 8);
		break;
	default:	/* GD, LD: the tls_index {module, offset} __tls_get_addr takes */
		pair[0] = ref.modid;
		pair[1] = tc == LF_TLS_GD ? ref.dtpoff : 0;
		memcpy(img->data + img->tls_off + 8ull * slot, pair, 16);
		break;
	}
	return put_s32(loc, avail, (int64_t)(img->base + img->tls_off + 8ull * slot +
					     (uint64_t)rel->r_addend - place));
}

static int relocate_section(const struct lf_user_patch *p, struct lf_image *img,
			    const Elf64_Shdr *rs, uint64_t *cache, const struct lf_link_sym *res,
			    char *msg, size_t size)
{
	const struct lf_elfimg *e = &p->elf;
	const Elf64_Shdr *target = &e->sh[rs->sh_info];
	const Elf64_Rela *rel = lf_elfimg_section_data(e, rs);
	uint64_t toff = img->sec_off[rs->sh_info];

	if (target->sh_type == SHT_NOBITS)
		return lf_user_fail(msg, size, -ENOEXEC, "patch object: relocations in a NOBITS section");
	for (size_t k = 0; k < rs->sh_size / sizeof(*rel); k++) {
		size_t si = ELF64_R_SYM(rel[k].r_info);
		uint32_t type = ELF64_R_TYPE(rel[k].r_info);
		uint64_t at = rel[k].r_offset;
		if (at >= target->sh_size)
			return lf_user_fail(msg, size, -ENOEXEC, "patch object: relocation outside its section");
		if (si >= e->nsym)
			return lf_user_fail(msg, size, -ENOEXEC, "patch object: bad relocation symbol");
		if (lf_tls_classify(type) != LF_TLS_NONE) {
			int r = tls_reloc(p, img, si, &rel[k], img->data + toff + at, target->sh_size - at,
					  img->base + toff + at, res, msg, size);
			if (r == -ERANGE)
				return lf_user_fail(msg, size, -EOPNOTSUPP,
						    "patch object: thread-local %s is out of 32-bit reach",
						    sym_name(e, &e->symtab[si]));
			if (r < 0)
				return r;
			continue;
		}
		int r = symbol_value(p, img, si, res, cache, msg, size);
		if (r < 0)
			return r;
		uint64_t place = img->base + toff + at, got = 0, sym = cache[si];
		int32_t slot = img->got_slot[si];
		if (slot >= 0) {
			got = img->base + img->got_off + 8ull * slot;
			memcpy(img->data + img->got_off + 8ull * slot, &sym, 8);
		}
		uint8_t *loc = img->data + toff + at;
		size_t avail = target->sh_size - at;
		if (lf_arch_reloc_needs_got(type)) {
			r = lf_arch_reloc(type, loc, avail, place, sym, rel[k].r_addend, got, msg, size);
		} else {
			r = lf_arch_reloc(type, loc, avail, place, sym, rel[k].r_addend, 0, msg, size);
			if (r == -ERANGE && slot >= 0 && lf_arch_reloc_is_branch(type))	/* far: stub */
				r = lf_arch_reloc(type, loc, avail, place,
						  img->base + img->stub_off + (uint64_t)LF_ARCH_STUB_SIZE * slot,
						  rel[k].r_addend, 0, msg, size);
		}
		if (r == -ERANGE)
			return lf_user_fail(msg, size, -EOPNOTSUPP, "patch object: %s is out of reach of the patch",
					    sym_name(e, &e->symtab[si]));
		if (r < 0)
			return r;
	}
	return 0;
}

static void copy_sections(const struct lf_elfimg *e, struct lf_image *img)
{
	for (unsigned i = 1; i < e->shnum; i++) {
		if (img->sec_off[i] == UINT64_MAX)
			continue;
		img->sec_addr[i] = img->base + img->sec_off[i];
		if (e->sh[i].sh_type != SHT_NOBITS)
			memcpy(img->data + img->sec_off[i], lf_elfimg_section_data(e, &e->sh[i]),
			       e->sh[i].sh_size);
	}
}

int lf_link_apply(const struct lf_user_patch *p, struct lf_image *img, uint64_t base,
		  const struct lf_link_sym *res, char *msg, size_t size)
{
	const struct lf_elfimg *e = &p->elf;
	uint64_t *cache = malloc(e->nsym * sizeof(*cache));
	int r = 0;

	if (!cache)
		return -ENOMEM;
	for (size_t i = 0; i < e->nsym; i++)
		cache[i] = UINT64_MAX;
	img->base = base;
	copy_sections(e, img);
	for (unsigned i = 1; i < e->shnum && r >= 0; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		if (s->sh_type == SHT_REL)
			r = lf_user_fail(msg, size, -ENOEXEC, "patch object: REL relocations are not supported");
		if (s->sh_type == SHT_RELA && s->sh_info < e->shnum &&
		    img->sec_off[s->sh_info] != UINT64_MAX)
			r = relocate_section(p, img, s, cache, res, msg, size);
	}
	/* Stubs for far functions: their GOT slots are filled by the relocations. */
	for (size_t i = 0; i < e->nsym && r >= 0; i++) {
		int32_t slot = img->got_slot[i];
		if (slot < 0)
			continue;
		uint64_t at = img->base + img->stub_off + (uint64_t)LF_ARCH_STUB_SIZE * slot;
		r = lf_arch_stub(img->data + img->stub_off + (uint64_t)LF_ARCH_STUB_SIZE * slot,
				 LF_ARCH_STUB_SIZE, at, img->base + img->got_off + 8ull * slot);
	}
	free(cache);
	return r < 0 ? r : 0;
}

int lf_link_symbol(const struct lf_user_patch *p, const struct lf_image *img, const char *name,
		   uint64_t *ret_addr)
{
	const struct lf_elfimg *e = &p->elf;

	for (size_t i = 1; i < e->nsym; i++) {
		const Elf64_Sym *s = &e->symtab[i];
		if (s->st_shndx == SHN_UNDEF || s->st_shndx >= e->shnum ||
		    ELF64_ST_TYPE(s->st_info) != STT_FUNC || strcmp(sym_name(e, s), name))
			continue;
		if (!img->sec_addr[s->st_shndx])
			return -ENOENT;
		*ret_addr = img->sec_addr[s->st_shndx] + s->st_value;
		return 0;
	}
	return -ENOENT;
}
