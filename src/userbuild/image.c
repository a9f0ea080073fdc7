// SPDX-License-Identifier: Apache-2.0
/*
 * The target ELF as the builder needs it: bytes at link-time addresses
 * (through PT_LOAD), the GNU build-id, and the defined symbols of its
 * .symtab, or of its separate debug file (.gnu_debuglink next to it or in
 * /usr/lib/debug, or /usr/lib/debug/.build-id/xx/yyyy.debug) when it is
 * stripped. Locals remember the STT_FILE symbol before them, which tells
 * two `static int helper` of different files apart.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/file.h"
#include "ub.h"

#define IMAGE_MAX (1024u << 20)
#define SYMS_MAX (4u << 20)

static int read_loads(Elf *e, struct ub_image *img)
{
	size_t n;

	if (elf_getphdrnum(e, &n) < 0)
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD || img->nloads == 16)
			continue;
		if (ph.p_offset > img->len || ph.p_filesz > img->len - ph.p_offset)
			return -ENOEXEC;
		img->loads[img->nloads].vaddr = ph.p_vaddr;
		img->loads[img->nloads].off = ph.p_offset;
		img->loads[img->nloads++].filesz = ph.p_filesz;
	}
	return img->nloads ? 0 : -ENOEXEC;
}

static Elf_Scn *find_section(Elf *e, const char *name, uint32_t type)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			return NULL;
		n = elf_strptr(e, shstrndx, sh.sh_name);
		if ((type && sh.sh_type == type) || (name && n && !strcmp(n, name)))
			return scn;
	}
	return NULL;
}

static int read_build_id(Elf *e, struct ub_image *img)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		GElf_Nhdr nh;
		Elf_Data *d;
		size_t off = 0, noff, doff;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(d = elf_getdata(scn, NULL)))
			continue;
		while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)d->d_buf + noff, "GNU", 4) || !nh.n_descsz ||
			    nh.n_descsz > 64)
				continue;
			for (size_t i = 0; i < nh.n_descsz; i++)
				snprintf(img->build_id + 2 * i, 3, "%02x",
					 ((const uint8_t *)d->d_buf)[doff + i]);
			return 0;
		}
	}
	return -EMEDIUMTYPE;
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

static int read_symtab(Elf *e, struct ub_image *img)
{
	Elf_Scn *scn = find_section(e, NULL, SHT_SYMTAB);
	const char *file = NULL;
	GElf_Shdr sh;
	Elf_Data *d;
	size_t n;

	if (!scn || !gelf_getshdr(scn, &sh) || !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
		return -ENOENT;
	n = sh.sh_size / sh.sh_entsize;
	if (n > SYMS_MAX)
		return -EOVERFLOW;
	img->syms = calloc(n ? n : 1, sizeof(*img->syms));
	if (!img->syms)
		return -ENOMEM;
	for (size_t i = 1; i < n; i++) {
		struct ub_sym *s = &img->syms[img->nsyms];
		const char *name;
		GElf_Sym sym;

		if (!gelf_getsym(d, (int)i, &sym) || !(name = elf_strptr(e, sh.sh_link, sym.st_name)))
			return -ENOEXEC;
		if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {
			file = name;
			continue;
		}
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE || !*name ||
		    GELF_ST_TYPE(sym.st_info) == STT_SECTION)
			continue;
		s->name = name;
		s->bind = GELF_ST_BIND(sym.st_info);
		s->type = GELF_ST_TYPE(sym.st_info);
		s->file = s->bind == STB_LOCAL ? file : NULL;
		s->value = sym.st_value;
		s->size = sym.st_size;
		img->nsyms++;
	}
	return assign_positions(img);
}

/* Candidates for the separate debug file, most specific first. */
static int debug_paths(Elf *e, const char *target, const char *build_id, char out[4][PATH_MAX])
{
	Elf_Scn *scn = find_section(e, ".gnu_debuglink", 0);
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
	if (scn) {
		Elf_Data *d = elf_getdata(scn, NULL);
		const char *name = d && d->d_size ? d->d_buf : NULL;

		if (name && memchr(name, '\0', d->d_size) && !strchr(name, '/')) {
			snprintf(out[n++], PATH_MAX, "%s/%s", dir, name);
			snprintf(out[n++], PATH_MAX, "%s/.debug/%s", dir, name);
			snprintf(out[n++], PATH_MAX, "/usr/lib/debug%s/%s", dir, name);
		}
	}
	return n;
}

static int load_debug_symbols(Elf *target_elf, const char *target, struct ub_image *img)
{
	char paths[4][PATH_MAX];
	int n = debug_paths(target_elf, target, img->build_id, paths);

	for (int i = 0; i < n; i++) {
		char *data;
		size_t len;
		Elf *e;
		int r;

		if (lf_read_file(paths[i], IMAGE_MAX, &data, &len) < 0)
			continue;
		e = elf_memory(data, len);
		r = e ? read_symtab(e, img) : -ENOEXEC;
		if (r == 0) {
			/* names point into the debug file's data: keep it */
			img->strpool = data;
			snprintf(img->symsrc, sizeof(img->symsrc), "%s", paths[i]);
			elf_end(e);
			return 0;
		}
		free(img->syms);
		img->syms = NULL;
		img->nsyms = 0;
		elf_end(e);
		free(data);
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
static int read_slots(Elf *e, struct ub_image *img)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh, dsh;
		Elf_Data *d, *dd;
		Elf_Scn *dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize ||
		    !(dyn = elf_getscn(e, sh.sh_link)) || !gelf_getshdr(dyn, &dsh) ||
		    dsh.sh_type != SHT_DYNSYM || !(d = elf_getdata(scn, NULL)) ||
		    !(dd = elf_getdata(dyn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela ra;
			GElf_Sym sym;
			const char *name;
			uint32_t t;
			int r;

			if (!gelf_getrela(d, (int)i, &ra) ||
			    !gelf_getsym(dd, (int)GELF_R_SYM(ra.r_info), &sym))
				return -ENOEXEC;
			t = (uint32_t)GELF_R_TYPE(ra.r_info);
			if ((t != R_X86_64_JUMP_SLOT && t != R_X86_64_GLOB_DAT) ||
			    img->machine != EM_X86_64 || sym.st_shndx != SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || ra.r_addend)
				continue;
			name = elf_strptr(e, dsh.sh_link, sym.st_name);
			if (name && *name && (r = add_slot(img, name, ra.r_offset)) < 0)
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
	Elf *e = NULL;
	GElf_Ehdr eh;
	int r;

	memset(img, 0, sizeof(*img));
	elf_version(EV_CURRENT);
	r = lf_read_file(path, IMAGE_MAX, (char **)&img->data, &img->len);
	if (r < 0)
		return r;
	e = elf_memory((char *)img->data, img->len);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)) {
		r = -ENOEXEC;
		goto err;
	}
	img->machine = eh.e_machine;
	r = read_loads(e, img);
	if (r == 0)
		r = read_build_id(e, img);
	if (r < 0)
		goto err;
	r = read_symtab(e, img);
	if (r == 0) {
		img->own_symtab = true;
		snprintf(img->symsrc, sizeof(img->symsrc), "%s", path);
	} else if (r == -ENOENT) {
		r = load_debug_symbols(e, path, img);
	}
	if (r == 0)
		r = read_slots(e, img);
	if (r < 0)
		goto err;
	img->got_sym = SIZE_MAX;
	for (size_t i = 0; i < img->nsyms; i++)
		if (!strcmp(img->syms[i].name, "_GLOBAL_OFFSET_TABLE_"))
			img->got_sym = i;
	elf_end(e);
	return 0;
err:
	elf_end(e);
	ub_image_release(img);
	return r;
}

void ub_image_release(struct ub_image *img)
{
	for (size_t i = 0; i < img->nslots; i++)
		free(img->slots[i].name);
	free(img->slots);
	free(img->syms);
	free(img->strpool);
	free(img->data);
	memset(img, 0, sizeof(*img));
}

const uint8_t *ub_image_at(const struct ub_image *img, uint64_t vaddr, size_t len)
{
	for (size_t i = 0; i < img->nloads; i++) {
		uint64_t v = img->loads[i].vaddr, sz = img->loads[i].filesz;

		if (vaddr >= v && vaddr - v <= sz && len <= sz - (vaddr - v))
			return img->data + img->loads[i].off + (vaddr - v);
	}
	return NULL;
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
