// SPDX-License-Identifier: Apache-2.0
/*
 * Turns references of a linked livepatch module (.ko) to non-exported
 * symbols of the running kernel or of a patched module into klp
 * relocations, after kbuild linked it (modpost and the linker do not know
 * SHN_LIVEPATCH symbols):
 *   - each such undefined symbol is renamed .klp.sym.<obj>.<name>,<sympos>
 *     (obj: vmlinux or the module) and gets st_shndx SHN_LIVEPATCH;
 *   - every relocation against it moves from .rela<sec> to a new section
 *     .klp.rela.<obj>.<sec>, one per object, since livepatch applies each
 *     when its object is there (SHT_RELA, SHF_ALLOC | SHF_INFO_LINK |
 *     SHF_RELA_LIVEPATCH, sh_info = <sec>), which livepatch applies itself
 *     when the patch is enabled; SHF_ALLOC keeps it after the load.
 * Facts from the kernel's Documentation/livepatch/module-elf-format.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "klp_convert.h"

#define SHN_LIVEPATCH_ 0xff20
#define SHF_RELA_LIVEPATCH_ 0x00100000u
#define MAX_NEW_SECS 1024

struct conv {
	Elf *elf;
	size_t symtab_ndx, nsyms, shstrndx;
	Elf_Data *symdata, *strdata, *shstrdata;
	int32_t *klp;            /* per symbol: index in targets, or -1 */
	char *newstr, *newshstr; /* grown string tables (owned) */
	void *bufs[MAX_NEW_SECS * 2 + 2];
	size_t nbufs;
};

static const char *obj_of(const struct klp_target *t)
{
	return t->obj[0] ? t->obj : "vmlinux";
}

static int find_target(const struct klp_target *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return (int)i;
	return -1;
}

/* Appends strings to a string table by replacing its data buffer. */
static int grow_strtab(struct conv *c, Elf_Data *d, const char *s, size_t *ret_off)
{
	size_t len = strlen(s) + 1;
	char *n = malloc(d->d_size + len);

	if (!n)
		return -ENOMEM;
	memcpy(n, d->d_buf, d->d_size);
	memcpy(n + d->d_size, s, len);
	*ret_off = d->d_size;
	if (c->nbufs == sizeof(c->bufs) / sizeof(c->bufs[0])) {
		free(n);
		return -E2BIG;
	}
	c->bufs[c->nbufs++] = n;
	d->d_buf = n;
	d->d_size += len;
	return 0;
}

static int mark_symbols(struct conv *c, const struct klp_target *t, size_t n)
{
	char name[512];
	size_t off;
	GElf_Sym s;
	int r, k;

	for (size_t i = 1; i < c->nsyms; i++) {
		c->klp[i] = -1;
		if (!gelf_getsym(c->symdata, (int)i, &s))
			return -EBADMSG;
		if (s.st_shndx != SHN_UNDEF || s.st_name >= c->strdata->d_size)
			continue;
		k = find_target(t, n, (const char *)c->strdata->d_buf + s.st_name);
		if (k < 0)
			continue;
		c->klp[i] = k;
		snprintf(name, sizeof(name), ".klp.sym.%s.%s,%u", obj_of(&t[k]), t[k].name, t[k].sympos);
		r = grow_strtab(c, c->strdata, name, &off);
		if (r < 0)
			return r;
		s.st_name = (Elf64_Word)off;
		s.st_shndx = SHN_LIVEPATCH_;
		if (!gelf_update_sym(c->symdata, (int)i, &s))
			return -EBADMSG;
	}
	return 0;
}

static int add_klp_section(struct conv *c, const char *obj, Elf_Scn *target, GElf_Rela *relas,
			   size_t n)
{
	GElf_Shdr tsh, sh;
	Elf_Scn *scn;
	Elf_Data *d;
	char name[512];
	size_t off;
	int r;

	if (!gelf_getshdr(target, &tsh) || tsh.sh_name >= c->shstrdata->d_size)
		return -EBADMSG;
	snprintf(name, sizeof(name), ".klp.rela.%s.%s", obj,
		 (const char *)c->shstrdata->d_buf + tsh.sh_name);
	r = grow_strtab(c, c->shstrdata, name, &off);
	if (r < 0)
		return r;
	scn = elf_newscn(c->elf);
	d = scn ? elf_newdata(scn) : NULL;
	if (!d || !gelf_getshdr(scn, &sh))
		return -ENOMEM;
	d->d_buf = relas;
	d->d_size = n * sizeof(Elf64_Rela);
	d->d_type = ELF_T_RELA;
	d->d_align = 8;
	sh.sh_name = (Elf64_Word)off;
	sh.sh_type = SHT_RELA;
	sh.sh_flags = SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH_;
	sh.sh_link = (Elf64_Word)c->symtab_ndx;
	sh.sh_info = (Elf64_Word)elf_ndxscn(target);
	sh.sh_addralign = 8;
	sh.sh_entsize = sizeof(Elf64_Rela);
	if (!gelf_update_shdr(scn, &sh))
		return -EBADMSG;
	return 0;
}

/* Moved entries grouped by object, each group its own .klp.rela.<obj>.<sec>. */
static int add_klp_sections(struct conv *c, const struct klp_target *t, Elf_Scn *target,
			    GElf_Rela *klp, size_t moved)
{
	size_t done = 0;
	int r;

	while (done < moved) {
		const char *obj = obj_of(&t[c->klp[GELF_R_SYM(klp[done].r_info)]]);
		size_t n = done;

		for (size_t i = done; i < moved; i++)  /* this object's entries to the front */
			if (!strcmp(obj_of(&t[c->klp[GELF_R_SYM(klp[i].r_info)]]), obj)) {
				GElf_Rela tmp = klp[n];

				klp[n++] = klp[i];
				klp[i] = tmp;
			}
		r = add_klp_section(c, obj, target, klp + done, n - done);
		if (r < 0)
			return r;
		done = n;
	}
	return 0;
}

/* Splits one relocation section; returns how many entries moved. */
static int split_rela(struct conv *c, const struct klp_target *t, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = d ? d->d_size / sizeof(Elf64_Rela) : 0, keep = 0, moved = 0;
	GElf_Rela *klp, rel;
	int r;

	if (!n)
		return 0;
	if (c->nbufs == sizeof(c->bufs) / sizeof(c->bufs[0]))
		return -E2BIG;
	klp = calloc(n, sizeof(*klp));
	if (!klp)
		return -ENOMEM;
	c->bufs[c->nbufs++] = klp;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getrela(d, (int)i, &rel))
			return -EBADMSG;
		if (GELF_R_SYM(rel.r_info) >= c->nsyms)
			return -EBADMSG;
		if (c->klp[GELF_R_SYM(rel.r_info)] >= 0)
			klp[moved++] = rel;
		else if (!gelf_update_rela(d, (int)keep++, &rel))
			return -EBADMSG;
	}
	if (!moved)
		return 0;
	d->d_size = keep * sizeof(Elf64_Rela);
	sh->sh_size = d->d_size;
	if (!gelf_update_shdr(scn, sh))
		return -EBADMSG;
	r = add_klp_sections(c, t, elf_getscn(c->elf, sh->sh_info), klp, moved);
	return r < 0 ? r : (int)moved;
}

static int find_tables(struct conv *c)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(c->elf, &c->shstrndx) < 0)
		return -EBADMSG;
	while ((scn = elf_nextscn(c->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		c->symtab_ndx = elf_ndxscn(scn);
		c->symdata = elf_getdata(scn, NULL);
		c->strdata = elf_getdata(elf_getscn(c->elf, sh.sh_link), NULL);
		c->nsyms = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
	}
	c->shstrdata = elf_getdata(elf_getscn(c->elf, c->shstrndx), NULL);
	if (!c->symdata || !c->strdata || !c->shstrdata || !c->nsyms)
		return -EBADMSG;
	c->klp = calloc(c->nsyms, sizeof(*c->klp));
	return c->klp ? 0 : -ENOMEM;
}

static int convert(struct conv *c, const struct klp_target *t, size_t n, size_t *ret_moved)
{
	size_t nscn, i;
	GElf_Shdr sh;
	int r;

	if ((r = find_tables(c)) < 0 || (r = mark_symbols(c, t, n)) < 0)
		return r;
	if (elf_getshdrnum(c->elf, &nscn) < 0)
		return -EBADMSG;
	for (i = 1; i < nscn; i++) {  /* only the sections that were there */
		Elf_Scn *scn = elf_getscn(c->elf, i);

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA ||
		    sh.sh_link != c->symtab_ndx || (sh.sh_flags & SHF_RELA_LIVEPATCH_))
			continue;
		r = split_rela(c, t, scn, &sh);
		if (r < 0)
			return r;
		*ret_moved += (size_t)r;
	}
	return elf_update(c->elf, ELF_C_WRITE) < 0 ? -EIO : 0;
}

int klp_convert_module(const char *path, const struct klp_target *t, size_t n,
		       size_t *ret_moved)
{
	struct conv c = { 0 };
	int fd, r;

	*ret_moved = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	c.elf = elf_begin(fd, ELF_C_RDWR, NULL);
	if (!c.elf || elf_kind(c.elf) != ELF_K_ELF || gelf_getclass(c.elf) != ELFCLASS64)
		r = -ENOEXEC;
	else
		r = convert(&c, t, n, ret_moved);
	if (c.elf)
		elf_end(c.elf);
	close(fd);
	for (size_t i = 0; i < c.nbufs; i++)
		free(c.bufs[i]);
	free(c.klp);
	return r;
}
