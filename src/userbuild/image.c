// SPDX-License-Identifier: Apache-2.0
/*
 * The target ELF as the builder needs it, on the shared image reader
 * (livefix/elfimg.h, the one the applier reads the same file with on the
 * device): bytes at link-time addresses (through PT_LOAD), the GNU
 * build-id, and the defined symbols of its .symtab, or of its separate
 * debug file (.gnu_debuglink next to it or in /usr/lib/debug, or
 * /usr/lib/debug/.build-id/xx/yyyy.debug) when it is stripped. Locals
 * remember the STT_FILE symbol before them, which tells two `static int
 * helper` of different files apart. What only the builder needs stays
 * here: that symbol list and its positions, the debug-file search and the
 * GOT slots of imported functions.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/elfimg.h"
#include "livefix/hex.h"
#include "ub.h"

#define SYMS_MAX (4u << 20)

/* Every PT_LOAD lies in the file, and there is one at least. */
static int check_loads(const struct lf_elfimg *e)
{
	unsigned n = 0;

	for (unsigned i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->ph[i];

		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_offset > e->size || p->p_filesz > e->size - p->p_offset)
			return -ENOEXEC;
		n++;
	}
	return n ? 0 : -ENOEXEC;
}

static const struct ub_image *sort_img;

static int by_name_then_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_img->syms[x].name, sort_img->syms[y].name);

	return c ? c : (x > y) - (x < y);
}

/* pos = 1-based rank among same-named symbols in table order (n log n). */
static int assign_positions(struct ub_image *img)
{
	size_t *order = malloc((img->nsyms ? img->nsyms : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < img->nsyms; i++)
		order[i] = i;
	sort_img = img;
	qsort(order, img->nsyms, sizeof(*order), by_name_then_index);
	for (size_t i = 0; i < img->nsyms; i++) {
		bool same = i && !strcmp(img->syms[order[i]].name, img->syms[order[i - 1]].name);

		img->syms[order[i]].pos = same ? img->syms[order[i - 1]].pos + 1 : 1;
	}
	free(order);
	return 0;
}

static int read_symtab(const struct lf_elfimg *e, struct ub_image *img)
{
	const char *file = NULL;

	if (!e->symtab)
		return -ENOENT;
	if (e->nsym > SYMS_MAX)
		return -EOVERFLOW;
	img->syms = calloc(e->nsym ? e->nsym : 1, sizeof(*img->syms));
	if (!img->syms)
		return -ENOMEM;
	for (size_t i = 1; i < e->nsym; i++) {
		const Elf64_Sym *sym = &e->symtab[i];
		struct ub_sym *s = &img->syms[img->nsyms];
		const char *name;

		if (sym->st_name >= e->strtab_size)
			return -ENOEXEC;
		name = e->strtab + sym->st_name;
		if (ELF64_ST_TYPE(sym->st_info) == STT_FILE) {
			file = name;
			continue;
		}
		if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE || !*name ||
		    ELF64_ST_TYPE(sym->st_info) == STT_SECTION)
			continue;
		s->name = name;
		s->bind = ELF64_ST_BIND(sym->st_info);
		s->type = ELF64_ST_TYPE(sym->st_info);
		s->file = s->bind == STB_LOCAL ? file : NULL;
		s->value = sym->st_value;
		s->size = sym->st_size;
		img->nsyms++;
	}
	return assign_positions(img);
}

/* Candidates for the separate debug file, most specific first. */
static int debug_paths(const struct lf_elfimg *e, const char *target, const char *build_id,
		       char out[4][PATH_MAX])
{
	const Elf64_Shdr *link = lf_elfimg_section(e, ".gnu_debuglink");
	const char *name = link ? lf_elfimg_section_data(e, link) : NULL;
	char dir[PATH_MAX], *slash;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s", target);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (build_id[0] && build_id[1] && build_id[2])
		snprintf(out[n++], PATH_MAX, "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id,
			 build_id + 2);
	if (name && link->sh_size && memchr(name, '\0', link->sh_size) && !strchr(name, '/')) {
		snprintf(out[n++], PATH_MAX, "%s/%s", dir, name);
		snprintf(out[n++], PATH_MAX, "%s/.debug/%s", dir, name);
		snprintf(out[n++], PATH_MAX, "/usr/lib/debug%s/%s", dir, name);
	}
	return n;
}

static int load_debug_symbols(const char *target, struct ub_image *img)
{
	char paths[4][PATH_MAX];
	int n = debug_paths(&img->elf, target, img->build_id, paths);

	for (int i = 0; i < n; i++) {
		if (lf_elfimg_open(paths[i], &img->debug) < 0)
			continue;
		if (read_symtab(&img->debug, img) == 0) {
			/* names point into the debug file: img->debug stays open */
			snprintf(img->symsrc, sizeof(img->symsrc), "%s", paths[i]);
			return 0;
		}
		free(img->syms);
		img->syms = NULL;
		img->nsyms = 0;
		lf_elfimg_close(&img->debug);
	}
	return -EMEDIUMTYPE;
}

static int add_slot(struct ub_image *img, const char *name, uint64_t vaddr)
{
	struct ub_slot *ns;

	if (ub_image_slot(img, name))
		return 0;
	if (img->nslots >= SYMS_MAX)
		return -EOVERFLOW;
	ns = realloc(img->slots, (img->nslots + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	img->slots = ns;
	if (!(ns[img->nslots].name = strdup(name)))
		return -ENOMEM;
	ns[img->nslots++].vaddr = vaddr;
	return 0;
}

/*
 * The slots through which the target calls imported functions: the
 * dynamic relocations against an undefined STT_FUNC of .dynsym. A patch
 * that calls the same function goes through the same slot (emit.c), so it
 * reaches exactly what the original reaches, IFUNCs and interposition
 * included, as resolved by the process's own dynamic linker.
 */
static int read_slots(const struct lf_elfimg *e, struct ub_image *img)
{
	for (unsigned i = 0; i < e->shnum; i++) {
		const Elf64_Shdr *sh = &e->sh[i];
		const Elf64_Rela *ra = lf_elfimg_section_data(e, sh);

		if (sh->sh_type != SHT_RELA || !sh->sh_entsize || !ra || sh->sh_link >= e->shnum ||
		    e->sh[sh->sh_link].sh_type != SHT_DYNSYM)
			continue;
		/* the table the reader checked: .dynsym and its strings */
		if (sh->sh_entsize != sizeof(*ra) || sh->sh_offset % 8 || !e->dynsym ||
		    lf_elfimg_section_data(e, &e->sh[sh->sh_link]) != (const void *)e->dynsym)
			return -ENOEXEC;
		for (size_t j = 0; j < sh->sh_size / sizeof(*ra); j++) {
			uint32_t t = (uint32_t)ELF64_R_TYPE(ra[j].r_info);
			uint64_t k = ELF64_R_SYM(ra[j].r_info);
			const Elf64_Sym *sym;
			int r;

			if (k >= e->ndynsym)
				return -ENOEXEC;
			sym = &e->dynsym[k];
			if ((t != R_X86_64_JUMP_SLOT && t != R_X86_64_GLOB_DAT) ||
			    img->machine != EM_X86_64 || sym->st_shndx != SHN_UNDEF ||
			    ELF64_ST_TYPE(sym->st_info) != STT_FUNC || ra[j].r_addend ||
			    sym->st_name >= e->dynstr_size || !e->dynstr[sym->st_name])
				continue;
			if ((r = add_slot(img, e->dynstr + sym->st_name, ra[j].r_offset)) < 0)
				return r;
		}
	}
	return 0;
}

const struct ub_slot *ub_image_slot(const struct ub_image *img, const char *name)
{
	for (size_t i = 0; i < img->nslots; i++)
		if (!strcmp(img->slots[i].name, name))
			return &img->slots[i];
	return NULL;
}

int ub_image_open(const char *path, struct ub_image *img)
{
	const struct lf_elfimg *e = &img->elf;
	int r;

	memset(img, 0, sizeof(*img));
	r = lf_elfimg_open(path, &img->elf);
	if (r < 0)
		return r;
	if (e->eh->e_type != ET_EXEC && e->eh->e_type != ET_DYN) {
		r = -ENOEXEC;
		goto err;
	}
	img->machine = e->eh->e_machine;
	r = check_loads(e);
	if (r == 0 && !e->build_id_len)
		r = -EMEDIUMTYPE;
	if (r < 0)
		goto err;
	lf_hex(e->build_id, e->build_id_len, img->build_id);
	r = read_symtab(e, img);
	if (r == 0) {
		img->own_symtab = true;
		snprintf(img->symsrc, sizeof(img->symsrc), "%s", path);
	} else if (r == -ENOENT) {
		r = load_debug_symbols(path, img);
	}
	if (r == 0)
		r = read_slots(e, img);
	if (r < 0)
		goto err;
	img->got_sym = SIZE_MAX;
	for (size_t i = 0; i < img->nsyms; i++)
		if (!strcmp(img->syms[i].name, "_GLOBAL_OFFSET_TABLE_"))
			img->got_sym = i;
	return 0;
err:
	ub_image_release(img);
	return r;
}

void ub_image_release(struct ub_image *img)
{
	for (size_t i = 0; i < img->nslots; i++)
		free(img->slots[i].name);
	free(img->slots);
	free(img->syms);
	lf_elfimg_close(&img->debug);
	lf_elfimg_close(&img->elf);
	memset(img, 0, sizeof(*img));
}

const uint8_t *ub_image_at(const struct ub_image *img, uint64_t vaddr, size_t len)
{
	return lf_elfimg_at(&img->elf, vaddr, len);
}

size_t ub_image_count(const struct ub_image *img, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < img->nsyms; i++)
		n += !strcmp(img->syms[i].name, name);
	return n;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

size_t ub_image_find_sym(const struct ub_image *img, const struct lf_elf_symbol *s,
			 const char *file, size_t *idx, size_t max)
{
	size_t n = ub_image_find(img, s->name, s->bind == STB_LOCAL, file, idx, max);

	/* hidden in the object: the link made it local */
	if (!n && s->bind != STB_LOCAL && (s->vis == STV_HIDDEN || s->vis == STV_INTERNAL))
		n = ub_image_find(img, s->name, true, file, idx, max);
	return n;
}

size_t ub_image_find(const struct ub_image *img, const char *name, bool local,
		     const char *file, size_t *idx, size_t max)
{
	size_t n = 0;

	/* Locals of the unit's own file first; then any of that name. */
	for (int pass = (local && file) ? 0 : 1; pass < 2 && !n; pass++)
		for (size_t i = 0; i < img->nsyms && n < max; i++) {
			const struct ub_sym *s = &img->syms[i];

			if (strcmp(s->name, name) || (s->bind == STB_LOCAL) != local)
				continue;
			if (pass == 0 && (!s->file || strcmp(base_name(s->file), base_name(file))))
				continue;
			idx[n++] = i;
		}
	return n;
}
