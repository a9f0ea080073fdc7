/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small, bounds-checked ELF64 image reader (livefix/elfimg.h) shared by
 * the applier (the patch object, the target's executables and libraries
 * mapped read-only from disk, the vDSO copied from the target) and the
 * userspace builder (the target it builds for, its separate debug file).
 * Every offset and size from the file is checked against the file before
 * use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/elfimg.h"

static bool in_file(const struct lf_elfimg *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

const void *lf_elfimg_section_data(const struct lf_elfimg *e, const Elf64_Shdr *s)
{
	if (s->sh_type == SHT_NOBITS || !in_file(e, s->sh_offset, s->sh_size))
		return NULL;
	return e->data + s->sh_offset;
}

const char *lf_elfimg_section_name(const struct lf_elfimg *e, const Elf64_Shdr *s)
{
	if (!e->sh || e->eh->e_shstrndx >= e->shnum)
		return "";
	const Elf64_Shdr *strs = &e->sh[e->eh->e_shstrndx];
	const char *d = lf_elfimg_section_data(e, strs);
	if (!d || s->sh_name >= strs->sh_size || !memchr(d + s->sh_name, 0, strs->sh_size - s->sh_name))
		return "";
	return d + s->sh_name;
}

const Elf64_Shdr *lf_elfimg_section(const struct lf_elfimg *e, const char *name)
{
	for (unsigned i = 0; i < e->shnum; i++)
		if (!strcmp(lf_elfimg_section_name(e, &e->sh[i]), name))
			return &e->sh[i];
	return NULL;
}

/* A symbol table and its string table, checked. */
static void load_symtab(struct lf_elfimg *e, unsigned type, const Elf64_Sym **syms, size_t *nsym,
			const char **str, size_t *str_size)
{
	for (unsigned i = 0; i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		if (s->sh_type != type || s->sh_entsize != sizeof(Elf64_Sym) || s->sh_link >= e->shnum ||
		    s->sh_offset % 8)
			continue;
		const void *d = lf_elfimg_section_data(e, s);
		const Elf64_Shdr *ss = &e->sh[s->sh_link];
		const char *sd = lf_elfimg_section_data(e, ss);
		if (!d || !sd || !ss->sh_size || sd[ss->sh_size - 1])
			continue;
		*syms = d;
		*nsym = s->sh_size / sizeof(Elf64_Sym);
		*str = sd;
		*str_size = ss->sh_size;
		return;
	}
}

static void find_build_id(struct lf_elfimg *e, const uint8_t *d, uint64_t len)
{
	uint64_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, d + off, 4);
		memcpy(&descsz, d + off + 4, 4);
		memcpy(&type, d + off + 8, 4);
		uint64_t nlen = ((uint64_t)namesz + 3) & ~3ull, dlen = ((uint64_t)descsz + 3) & ~3ull;
		if (nlen > len - off - 12 || dlen > len - off - 12 - nlen)
			return;
		const uint8_t *name = d + off + 12;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(name, "GNU", 4) && descsz &&
		    descsz <= LF_ELFIMG_BUILD_ID_MAX) {
			memcpy(e->build_id, name + nlen, descsz);
			e->build_id_len = descsz;
			return;
		}
		off += 12 + nlen + dlen;
	}
}

static void load_notes(struct lf_elfimg *e)
{
	for (unsigned i = 0; i < e->phnum && !e->build_id_len; i++)
		if (e->ph[i].p_type == PT_NOTE && in_file(e, e->ph[i].p_offset, e->ph[i].p_filesz))
			find_build_id(e, e->data + e->ph[i].p_offset, e->ph[i].p_filesz);
	for (unsigned i = 0; i < e->shnum && !e->build_id_len; i++) {
		const void *d = e->sh[i].sh_type == SHT_NOTE ? lf_elfimg_section_data(e, &e->sh[i]) : NULL;
		if (d)
			find_build_id(e, d, e->sh[i].sh_size);
	}
}

static int parse(struct lf_elfimg *e)
{
	if (e->size < sizeof(Elf64_Ehdr) || memcmp(e->data, ELFMAG, SELFMAG))
		return -ENOEXEC;
	e->eh = (const Elf64_Ehdr *)e->data;
	if (e->eh->e_ident[EI_CLASS] != ELFCLASS64 || e->eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	if (e->eh->e_phnum && e->eh->e_phentsize == sizeof(Elf64_Phdr) &&
	    in_file(e, e->eh->e_phoff, (uint64_t)e->eh->e_phnum * sizeof(Elf64_Phdr)) &&
	    !(e->eh->e_phoff % 8)) {
		e->ph = (const Elf64_Phdr *)(e->data + e->eh->e_phoff);
		e->phnum = e->eh->e_phnum;
	}
	if (e->eh->e_shnum && e->eh->e_shentsize == sizeof(Elf64_Shdr) &&
	    in_file(e, e->eh->e_shoff, (uint64_t)e->eh->e_shnum * sizeof(Elf64_Shdr)) &&
	    !(e->eh->e_shoff % 8)) {
		e->sh = (const Elf64_Shdr *)(e->data + e->eh->e_shoff);
		e->shnum = e->eh->e_shnum;
	}
	load_symtab(e, SHT_SYMTAB, &e->symtab, &e->nsym, &e->strtab, &e->strtab_size);
	load_symtab(e, SHT_DYNSYM, &e->dynsym, &e->ndynsym, &e->dynstr, &e->dynstr_size);
	for (unsigned i = 0; i < e->shnum; i++)
		if (e->sh[i].sh_type == SHT_GNU_versym && e->sh[i].sh_size / 2 == e->ndynsym &&
		    lf_elfimg_section_data(e, &e->sh[i]) && !(e->sh[i].sh_offset % 2))
			e->versym = lf_elfimg_section_data(e, &e->sh[i]);
	load_notes(e);
	const Elf64_Shdr *eh = lf_elfimg_section(e, ".eh_frame");
	if (eh && eh->sh_type == SHT_PROGBITS && lf_elfimg_section_data(e, eh)) {
		e->eh_frame = lf_elfimg_section_data(e, eh);
		e->eh_frame_size = eh->sh_size;
		e->eh_frame_vaddr = eh->sh_addr;
	}
	for (unsigned i = 0; i < e->phnum; i++)
		if (e->ph[i].p_type == PT_GNU_EH_FRAME && in_file(e, e->ph[i].p_offset, e->ph[i].p_filesz)) {
			e->eh_hdr = e->data + e->ph[i].p_offset;
			e->eh_hdr_size = e->ph[i].p_filesz;
			e->eh_hdr_vaddr = e->ph[i].p_vaddr;
		}
	return 0;
}

int lf_elfimg_from_memory(const void *data, size_t size, bool take, struct lf_elfimg *ret)
{
	struct lf_elfimg e = { .data = data, .size = size, .borrowed = !take };
	int r = parse(&e);

	if (r < 0)
		return r;
	*ret = e;
	return 0;
}

int lf_elfimg_open(const char *path, struct lf_elfimg *ret)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > LF_ELFIMG_MAX) {
		close(fd);
		return -ENOEXEC;
	}
	void *d = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (d == MAP_FAILED)
		return -errno;
	struct lf_elfimg e = { .data = d, .size = st.st_size, .mapped = true };
	int r = parse(&e);
	if (r < 0) {
		munmap(d, st.st_size);
		return r;
	}
	*ret = e;
	return 0;
}

void lf_elfimg_close(struct lf_elfimg *e)
{
	if (e->data && !e->borrowed && e->mapped)
		munmap((void *)e->data, e->size);
	else if (e->data && !e->borrowed)
		free((void *)e->data);
	*e = (struct lf_elfimg){ 0 };
}

int lf_elfimg_file_build_id(const char *path, uint8_t *ret_id, size_t size)
{
	struct lf_elfimg e;
	int r = lf_elfimg_open(path, &e);

	if (r < 0)
		return r;
	r = e.build_id_len ? (int)e.build_id_len : -ENOENT;
	if (r > 0 && (size_t)r <= size)
		memcpy(ret_id, e.build_id, r);
	else if (r > 0)
		r = -ENOBUFS;
	lf_elfimg_close(&e);
	return r;
}

const uint8_t *lf_elfimg_at(const struct lf_elfimg *e, uint64_t vaddr, size_t len)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->ph[i];
		uint64_t rel = vaddr - p->p_vaddr;

		if (p->p_type != PT_LOAD || vaddr < p->p_vaddr || rel > p->p_filesz ||
		    len > p->p_filesz - rel || !in_file(e, p->p_offset, p->p_filesz))
			continue;
		return e->data + p->p_offset + rel;
	}
	return NULL;
}

int lf_elfimg_offset_to_vaddr(const struct lf_elfimg *e, uint64_t off, uint64_t *ret_vaddr)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->ph[i];
		uint64_t a = p->p_offset & ~0xfffull;	/* maps start page-aligned */
		if (p->p_type == PT_LOAD && off >= a && off < p->p_offset + p->p_filesz) {
			*ret_vaddr = p->p_vaddr - (p->p_offset - off);
			return 0;
		}
	}
	return -ENOENT;
}

const char *lf_elfimg_sym_name(const char *str, size_t str_size, const Elf64_Sym *s)
{
	return s->st_name < str_size ? str + s->st_name : "";
}

bool lf_elfimg_sym_is_defined(const Elf64_Sym *s)
{
	unsigned t = ELF64_ST_TYPE(s->st_info);
	return s->st_shndx != SHN_UNDEF && t != STT_SECTION && t != STT_FILE;
}

static int lookup_in(const Elf64_Sym *syms, size_t n, const char *str, size_t str_size,
		     const uint16_t *versym, const char *name, unsigned pos,
		     const Elf64_Sym **ret)
{
	const Elf64_Sym *found = NULL, *global = NULL, *hidden = NULL;
	unsigned count = 0, nglobal = 0;

	for (size_t i = 1; i < n; i++) {
		const Elf64_Sym *s = &syms[i];
		if (!lf_elfimg_sym_is_defined(s) || strcmp(lf_elfimg_sym_name(str, str_size, s), name))
			continue;
		if (versym && (versym[i] & 0x8000)) {	/* a non-default version */
			hidden = hidden ? hidden : s;
			continue;
		}
		count++;
		if (pos && count == pos) {
			*ret = s;
			return 0;
		}
		found = found ? found : s;
		if (ELF64_ST_BIND(s->st_info) != STB_LOCAL) {
			global = s;
			nglobal++;
		}
	}
	if (pos)
		return -ENOENT;
	if (nglobal == 1 || (nglobal > 1 && versym)) {
		*ret = global;
		return 0;
	}
	if (count > 1)
		return -ENOTUNIQ;
	*ret = found ? found : hidden;
	return *ret ? 0 : -ENOENT;
}

int lf_elfimg_lookup(const struct lf_elfimg *e, const char *name, unsigned pos, bool dynsym_only,
		  uint64_t *ret_value, uint64_t *ret_size, unsigned *ret_type)
{
	const Elf64_Sym *s = NULL;
	int r = -ENOENT;

	if (!dynsym_only && e->symtab)
		r = lookup_in(e->symtab, e->nsym, e->strtab, e->strtab_size, NULL, name, pos, &s);
	if (r == -ENOENT && e->dynsym && (!e->symtab || dynsym_only))
		r = lookup_in(e->dynsym, e->ndynsym, e->dynstr, e->dynstr_size, e->versym, name,
			      pos, &s);
	if (r < 0)
		return r;
	if (dynsym_only && ELF64_ST_BIND(s->st_info) == STB_LOCAL)
		return -ENOENT;
	*ret_value = s->st_value;
	if (ret_size)
		*ret_size = s->st_size;
	if (ret_type)
		*ret_type = ELF64_ST_TYPE(s->st_info);
	return 0;
}

int lf_elfimg_symbol_at(const struct lf_elfimg *e, uint64_t vaddr, uint64_t *ret_size)
{
	const Elf64_Sym *syms = e->symtab ? e->symtab : e->dynsym;
	size_t n = e->symtab ? e->nsym : e->ndynsym;

	for (size_t i = 1; i < n; i++)
		if (lf_elfimg_sym_is_defined(&syms[i]) && ELF64_ST_TYPE(syms[i].st_info) == STT_FUNC &&
		    syms[i].st_value == vaddr) {
			*ret_size = syms[i].st_size;
			return 0;
		}
	return -ENOENT;
}
