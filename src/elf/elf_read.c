/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading an ELF file into the checked arrays of struct lf_elf. libelf does
 * the format work; every index and range it hands back is checked here once,
 * so that the differ and the builders can trust the arrays.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/elf.h"

struct lf_elf_image {
	Elf *elf;
	char *bytes;
	size_t len;
	struct lf_elf_rela *relas; /* one array for all SHT_RELA sections */
};

static int elf_lib_init(void)
{
	static int ready;

	if (!ready) {
		if (elf_version(EV_CURRENT) == EV_NONE)
			return -ENOTSUP;
		ready = 1;
	}
	return 0;
}

static int read_section(struct lf_elf *e, Elf_Scn *scn, size_t shstrndx, size_t i)
{
	struct lf_elf_section *s = &e->secs[i];
	size_t len = e->image->len;
	Elf_Data *d;
	GElf_Shdr sh;

	if (!gelf_getshdr(scn, &sh))
		return -ENOEXEC;
	s->index = (uint32_t)i;
	s->name = elf_strptr(e->image->elf, shstrndx, sh.sh_name);
	if (!s->name)
		return -ENOEXEC;
	s->type = sh.sh_type;
	s->flags = sh.sh_flags;
	s->size = sh.sh_size;
	s->align = sh.sh_addralign;
	s->entsize = sh.sh_entsize;
	s->link = sh.sh_link;
	s->info = sh.sh_info;
	if (s->link >= e->nsecs)
		return -ENOEXEC;
	if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL || sh.sh_size == 0)
		return 0;
	if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)
		return -ENOEXEC;
	d = elf_getdata(scn, NULL);
	if (!d || d->d_size != sh.sh_size || !d->d_buf)
		return -ENOEXEC;
	s->data = d->d_buf;
	return 0;
}

static int read_sections(struct lf_elf *e)
{
	Elf *elf = e->image->elf;
	size_t n, shstrndx;
	int r;

	if (elf_getshdrnum(elf, &n) < 0 || elf_getshdrstrndx(elf, &shstrndx) < 0)
		return -ENOEXEC;
	/* Each section header takes at least 40 bytes of the file. */
	if (n == 0 || n > e->image->len / 40 + 1 || shstrndx >= n)
		return -ENOEXEC;
	e->secs = calloc(n, sizeof(*e->secs));
	if (!e->secs)
		return -ENOMEM;
	e->nsecs = n;
	for (size_t i = 1; i < n; i++) {
		Elf_Scn *scn = elf_getscn(elf, i);

		if (!scn)
			return -ENOEXEC;
		r = read_section(e, scn, shstrndx, i);
		if (r < 0)
			return r;
	}
	e->secs[0].name = "";
	return 0;
}

static Elf_Data *find_shndx_table(struct lf_elf *e, size_t symtab)
{
	for (size_t i = 1; i < e->nsecs; i++)
		if (e->secs[i].type == SHT_SYMTAB_SHNDX && e->secs[i].link == symtab)
			return elf_getdata(elf_getscn(e->image->elf, i), NULL);
	return NULL;
}

/* In a relocatable object a symbol is an offset range of its section. */
static bool symbol_in_section(const struct lf_elf *e, const struct lf_elf_symbol *s)
{
	const struct lf_elf_section *sec;

	if (e->type != ET_REL || !lf_elf_symbol_is_defined(s) || s->type == STT_SECTION)
		return true;
	sec = &e->secs[s->shndx];
	return s->value <= sec->size && s->size <= sec->size - s->value;
}

static int read_symbols(struct lf_elf *e)
{
	const struct lf_elf_section *st = NULL;
	Elf_Data *d, *xd;
	size_t n;

	for (size_t i = 1; i < e->nsecs; i++) {
		if (e->secs[i].type != SHT_SYMTAB)
			continue;
		if (st)
			return -ENOEXEC; /* at most one symbol table */
		st = &e->secs[i];
	}
	if (!st || !st->data)
		return 0;
	d = elf_getdata(elf_getscn(e->image->elf, st->index), NULL);
	if (!d || st->entsize == 0)
		return -ENOEXEC;
	n = st->size / st->entsize;
	xd = find_shndx_table(e, st->index);
	e->syms = calloc(n ? n : 1, sizeof(*e->syms));
	if (!e->syms)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct lf_elf_symbol *s = &e->syms[i];
		GElf_Sym sym;
		Elf32_Word xndx = 0;

		if (!gelf_getsymshndx(d, xd, (int)i, &sym, &xndx))
			return -ENOEXEC;
		s->index = (uint32_t)i;
		s->name = elf_strptr(e->image->elf, st->link, sym.st_name);
		if (!s->name)
			return -ENOEXEC;
		s->type = GELF_ST_TYPE(sym.st_info);
		s->bind = GELF_ST_BIND(sym.st_info);
		s->vis = GELF_ST_VISIBILITY(sym.st_other);
		s->shndx = sym.st_shndx == SHN_XINDEX ? xndx : sym.st_shndx;
		s->value = sym.st_value;
		s->size = sym.st_size;
		if (s->shndx < SHN_LORESERVE && s->shndx >= e->nsecs)
			return -ENOEXEC;
		if (sym.st_shndx == SHN_XINDEX && (xndx == 0 || xndx >= e->nsecs))
			return -ENOEXEC;
		if (!symbol_in_section(e, s))
			return -ENOEXEC;
		if (s->type == STT_SECTION && s->shndx != 0 && s->shndx < e->nsecs && !*s->name)
			s->name = e->secs[s->shndx].name;
	}
	e->nsyms = n;
	return 0;
}

static int cmp_rela(const void *a, const void *b)
{
	const struct lf_elf_rela *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int read_rela_section(struct lf_elf *e, struct lf_elf_section *s,
			     struct lf_elf_rela *out)
{
	struct lf_elf_section *target;
	Elf_Data *d = elf_getdata(elf_getscn(e->image->elf, s->index), NULL);
	size_t n = s->entsize ? s->size / s->entsize : 0;
	bool sorted = true;

	if (!d || n == 0 || s->info == 0 || s->info >= e->nsecs)
		return -ENOEXEC;
	if (e->nsyms == 0 || s->link == 0 || e->secs[s->link].type != SHT_SYMTAB)
		return -ENOEXEC;
	target = &e->secs[s->info];
	for (size_t i = 0; i < n; i++) {
		GElf_Rela r;

		if (!gelf_getrela(d, (int)i, &r))
			return -ENOEXEC;
		out[i].offset = r.r_offset;
		out[i].type = (uint32_t)GELF_R_TYPE(r.r_info);
		out[i].sym = (uint32_t)GELF_R_SYM(r.r_info);
		out[i].addend = r.r_addend;
		if (out[i].sym >= e->nsyms || out[i].offset >= target->size)
			return -ENOEXEC;
		if (i && out[i].offset < out[i - 1].offset)
			sorted = false;
	}
	if (!sorted)
		qsort(out, n, sizeof(*out), cmp_rela);
	s->relas = out;
	s->nrelas = n;
	target->rela_sec = s->index;
	return 0;
}

static int read_relocations(struct lf_elf *e)
{
	size_t total = 0, used = 0;
	int r;

	for (size_t i = 1; i < e->nsecs; i++)
		if (e->secs[i].type == SHT_RELA && e->secs[i].entsize)
			total += e->secs[i].size / e->secs[i].entsize;
	if (total == 0)
		return 0;
	e->image->relas = calloc(total, sizeof(*e->image->relas));
	if (!e->image->relas)
		return -ENOMEM;
	for (size_t i = 1; i < e->nsecs; i++) {
		struct lf_elf_section *s = &e->secs[i];

		if (s->type != SHT_RELA || !s->data)
			continue;
		r = read_rela_section(e, s, e->image->relas + used);
		if (r < 0)
			return r;
		used += s->nrelas;
	}
	return 0;
}

static int read_groups(struct lf_elf *e)
{
	for (size_t i = 1; i < e->nsecs; i++) {
		const struct lf_elf_section *g = &e->secs[i];
		uint32_t w;

		if (g->type != SHT_GROUP || !g->data)
			continue;
		/* Word 0 is the flags, then member section indices. */
		for (size_t off = 4; off + 4 <= g->size; off += 4) {
			memcpy(&w, g->data + off, 4);
			if (w == 0 || w >= e->nsecs)
				return -ENOEXEC;
			e->secs[w].group = (uint32_t)i;
		}
	}
	return 0;
}

static int load(struct lf_elf *e)
{
	GElf_Ehdr eh;
	int r;

	e->image->elf = elf_memory(e->image->bytes, e->image->len);
	if (!e->image->elf || elf_kind(e->image->elf) != ELF_K_ELF)
		return -ENOEXEC;
	if (!gelf_getehdr(e->image->elf, &eh))
		return -ENOEXEC;
	e->machine = eh.e_machine;
	e->elfclass = eh.e_ident[EI_CLASS];
	e->type = eh.e_type;
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC; /* every target we patch is little-endian */
	r = read_sections(e);
	if (r == 0)
		r = read_symbols(e);
	if (r == 0)
		r = read_relocations(e);
	if (r == 0)
		r = read_groups(e);
	return r;
}

void lf_elf_free(struct lf_elf *e)
{
	if (!e)
		return;
	if (e->image) {
		if (e->image->elf)
			elf_end(e->image->elf);
		free(e->image->relas);
		free(e->image->bytes);
		free(e->image);
	}
	free(e->secs);
	free(e->syms);
	free(e);
}

/* Takes ownership of bytes. */
static int open_bytes(char *bytes, size_t len, struct lf_elf **ret)
{
	struct lf_elf *e;
	int r;

	r = elf_lib_init();
	if (r < 0) {
		free(bytes);
		return r;
	}
	e = calloc(1, sizeof(*e));
	if (e)
		e->image = calloc(1, sizeof(*e->image));
	if (!e || !e->image) {
		free(e);
		free(bytes);
		return -ENOMEM;
	}
	e->image->bytes = bytes;
	e->image->len = len;
	r = load(e);
	if (r < 0) {
		lf_elf_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

int lf_elf_open_mem(const void *data, size_t len, struct lf_elf **ret)
{
	char *copy;

	if (len > LF_ELF_MAX_SIZE)
		return -EOVERFLOW;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	return open_bytes(copy, len, ret);
}

int lf_elf_open(const char *path, struct lf_elf **ret)
{
	struct stat st;
	char *bytes;
	size_t got = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > LF_ELF_MAX_SIZE) {
		r = -EOVERFLOW;
		goto out;
	}
	bytes = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!bytes) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, bytes + got, (size_t)st.st_size - got);

		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			free(bytes);
			goto out;
		}
		got += (size_t)n;
	}
	close(fd);
	return open_bytes(bytes, got, ret);
out:
	close(fd);
	return r;
}

const struct lf_elf_section *lf_elf_section_by_name(const struct lf_elf *e, const char *name)
{
	for (size_t i = 1; i < e->nsecs; i++)
		if (strcmp(e->secs[i].name, name) == 0)
			return &e->secs[i];
	return NULL;
}

void lf_elf_section_relas(const struct lf_elf *e, const struct lf_elf_section *s,
			  const struct lf_elf_rela **ret_relas, size_t *ret_n)
{
	const struct lf_elf_section *rs = s->rela_sec ? &e->secs[s->rela_sec] : NULL;

	*ret_relas = rs ? rs->relas : NULL;
	*ret_n = rs ? rs->nrelas : 0;
}
