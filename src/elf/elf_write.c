/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing a relocatable object with libelf. The caller adds sections,
 * symbols and relocations in any order; lf_elf_out_write() orders symbols
 * (null, locals, globals), builds the string tables and the .rela sections,
 * and lets libelf lay the file out.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/buf.h"
#include "livefix/elf.h"

#define OUT_MAX_STRTAB (256u << 20)

struct out_rela {
	uint64_t offset;
	uint32_t type;
	int sym;
	int64_t addend;
};

struct out_sec {
	char *name;
	uint32_t type;
	uint64_t flags, align, entsize, size;
	uint8_t *data;
	struct out_rela *relas;
	size_t nrelas, cap;
	int secsym; /* handle of its STT_SECTION symbol, -1 none yet */
};

struct out_sym {
	char *name;
	uint8_t type, bind, vis;
	uint32_t shndx;
	uint64_t value, size;
};

struct lf_elf_out {
	uint16_t machine;
	uint8_t elfclass;
	struct out_sec *secs; /* secs[0] unused: the null section */
	size_t nsecs, seccap;
	struct out_sym *syms;
	size_t nsyms, symcap;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 8;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = reallocarray(*p, n, elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

int lf_elf_out_new(uint16_t machine, uint8_t elfclass, struct lf_elf_out **ret)
{
	struct lf_elf_out *o;

	if (elfclass != ELFCLASS64 && elfclass != ELFCLASS32)
		return -EINVAL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->machine = machine;
	o->elfclass = elfclass;
	o->nsecs = 1;
	if (grow((void **)&o->secs, &o->seccap, 1, sizeof(*o->secs)) < 0) {
		free(o);
		return -ENOMEM;
	}
	memset(&o->secs[0], 0, sizeof(o->secs[0]));
	*ret = o;
	return 0;
}

void lf_elf_out_free(struct lf_elf_out *o)
{
	if (!o)
		return;
	for (size_t i = 1; i < o->nsecs; i++) {
		free(o->secs[i].name);
		free(o->secs[i].data);
		free(o->secs[i].relas);
	}
	for (size_t i = 0; i < o->nsyms; i++)
		free(o->syms[i].name);
	free(o->secs);
	free(o->syms);
	free(o);
}

int lf_elf_out_add_section(struct lf_elf_out *o, const char *name, uint32_t type,
			   uint64_t flags, uint64_t align, uint64_t entsize,
			   const void *data, uint64_t size)
{
	struct out_sec *s;

	if (o->nsecs >= 0xff00 || (type != SHT_NOBITS && size && !data))
		return -EINVAL;
	if (grow((void **)&o->secs, &o->seccap, o->nsecs + 1, sizeof(*o->secs)) < 0)
		return -ENOMEM;
	s = &o->secs[o->nsecs];
	memset(s, 0, sizeof(*s));
	s->secsym = -1;
	s->name = strdup(name);
	if (!s->name)
		return -ENOMEM;
	if (type != SHT_NOBITS && size) {
		s->data = malloc(size);
		if (!s->data) {
			free(s->name);
			return -ENOMEM;
		}
		memcpy(s->data, data, size);
	}
	s->type = type;
	s->flags = flags;
	s->align = align ? align : 1;
	s->entsize = entsize;
	s->size = size;
	return (int)o->nsecs++;
}

int lf_elf_out_add_symbol(struct lf_elf_out *o, const char *name, uint8_t type,
			  uint8_t bind, uint8_t vis, uint32_t shndx,
			  uint64_t value, uint64_t size)
{
	struct out_sym *s;

	if (shndx >= o->nsecs || o->nsyms >= (1u << 24))
		return -EINVAL;
	if (grow((void **)&o->syms, &o->symcap, o->nsyms + 1, sizeof(*o->syms)) < 0)
		return -ENOMEM;
	s = &o->syms[o->nsyms];
	s->name = strdup(name ? name : "");
	if (!s->name)
		return -ENOMEM;
	s->type = type;
	/* An undefined symbol cannot be local. */
	s->bind = shndx == 0 && bind == STB_LOCAL ? STB_GLOBAL : bind;
	s->vis = vis;
	s->shndx = shndx;
	s->value = value;
	s->size = size;
	return (int)o->nsyms++;
}

int lf_elf_out_section_symbol(struct lf_elf_out *o, uint32_t shndx)
{
	int h;

	if (shndx == 0 || shndx >= o->nsecs)
		return -EINVAL;
	if (o->secs[shndx].secsym >= 0)
		return o->secs[shndx].secsym;
	h = lf_elf_out_add_symbol(o, "", STT_SECTION, STB_LOCAL, STV_DEFAULT, shndx, 0, 0);
	if (h >= 0)
		o->secs[shndx].secsym = h;
	return h;
}

int lf_elf_out_add_rela(struct lf_elf_out *o, uint32_t shndx, uint64_t offset,
			uint32_t type, int sym, int64_t addend)
{
	struct out_sec *s;

	if (shndx == 0 || shndx >= o->nsecs || sym < 0 || (size_t)sym >= o->nsyms)
		return -EINVAL;
	s = &o->secs[shndx];
	if (offset >= s->size)
		return -EINVAL;
	if (grow((void **)&s->relas, &s->cap, s->nrelas + 1, sizeof(*s->relas)) < 0)
		return -ENOMEM;
	s->relas[s->nrelas++] = (struct out_rela){ offset, type, sym, addend };
	return 0;
}

/* Everything lf_elf_out_write() allocates, freed after elf_end(). */
struct writer {
	struct lf_elf_out *o;
	Elf *elf;
	struct lf_buf shstr, str;
	uint32_t *symmap;  /* handle -> final symbol index */
	uint32_t nlocal;
	void **bufs;
	size_t nbufs;
};

static void *wbuf(struct writer *w, size_t size)
{
	void *p = calloc(1, size ? size : 1);
	void **q;

	if (!p)
		return NULL;
	q = reallocarray(w->bufs, w->nbufs + 1, sizeof(*q));
	if (!q) {
		free(p);
		return NULL;
	}
	w->bufs = q;
	w->bufs[w->nbufs++] = p;
	return p;
}

static int add_str(struct lf_buf *b, const char *s, uint32_t *ret_off)
{
	size_t off = b->len;

	if (*s == '\0' && b->len) {
		*ret_off = 0;
		return 0;
	}
	if (lf_buf_append(b, s, strlen(s) + 1) < 0)
		return -EOVERFLOW;
	*ret_off = (uint32_t)off;
	return 0;
}

static int new_scn(struct writer *w, const char *name, GElf_Shdr *sh, Elf_Data **ret)
{
	Elf_Scn *scn = elf_newscn(w->elf);
	Elf_Data *d;
	uint32_t off;

	if (!scn || !(d = elf_newdata(scn)))
		return -EIO;
	if (add_str(&w->shstr, name, &off) < 0)
		return -EOVERFLOW;
	if (!gelf_getshdr(scn, sh))
		return -EIO;
	sh->sh_name = off;
	*ret = d;
	return (int)elf_ndxscn(scn);
}

static int put_shdr(struct writer *w, size_t idx, const GElf_Shdr *sh)
{
	GElf_Shdr copy = *sh;

	return gelf_update_shdr(elf_getscn(w->elf, idx), &copy) ? 0 : -EIO;
}

static int write_user_sections(struct writer *w)
{
	for (size_t i = 1; i < w->o->nsecs; i++) {
		struct out_sec *s = &w->o->secs[i];
		GElf_Shdr sh;
		Elf_Data *d;
		int idx = new_scn(w, s->name, &sh, &d);

		if (idx < 0)
			return idx;
		d->d_buf = s->data;
		d->d_size = s->size;
		d->d_type = ELF_T_BYTE;
		d->d_align = s->align;
		sh.sh_type = s->type;
		sh.sh_flags = s->flags;
		sh.sh_addralign = s->align;
		sh.sh_entsize = s->entsize;
		sh.sh_size = s->size;
		if (put_shdr(w, (size_t)idx, &sh) < 0)
			return -EIO;
	}
	return 0;
}

static int order_symbols(struct writer *w)
{
	uint32_t next = 1;

	w->symmap = wbuf(w, (w->o->nsyms + 1) * sizeof(*w->symmap));
	if (!w->symmap)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < w->o->nsyms; i++)
			if ((w->o->syms[i].bind == STB_LOCAL) == (pass == 0))
				w->symmap[i] = next++;
		if (pass == 0)
			w->nlocal = next;
	}
	return 0;
}

static int write_symtab(struct writer *w, size_t strndx_expected)
{
	size_t n = w->o->nsyms + 1, esz = gelf_fsize(w->elf, ELF_T_SYM, 1, EV_CURRENT);
	GElf_Shdr sh;
	Elf_Data *d;
	int idx = new_scn(w, ".symtab", &sh, &d);

	if (idx < 0)
		return idx;
	d->d_type = ELF_T_SYM;
	d->d_size = n * esz;
	d->d_buf = wbuf(w, d->d_size);
	if (!d->d_buf)
		return -ENOMEM;
	d->d_align = 8;
	for (size_t i = 0; i < w->o->nsyms; i++) {
		const struct out_sym *s = &w->o->syms[i];
		GElf_Sym gs = { 0 };

		if (add_str(&w->str, s->name, &gs.st_name) < 0)
			return -EOVERFLOW;
		gs.st_info = GELF_ST_INFO(s->bind, s->type);
		gs.st_other = s->vis;
		gs.st_shndx = (uint16_t)s->shndx;
		gs.st_value = s->value;
		gs.st_size = s->size;
		if (!gelf_update_sym(d, (int)w->symmap[i], &gs))
			return -EIO;
	}
	sh.sh_type = SHT_SYMTAB;
	sh.sh_entsize = esz;
	sh.sh_addralign = 8;
	sh.sh_link = (uint32_t)strndx_expected;
	sh.sh_info = w->nlocal;
	return put_shdr(w, (size_t)idx, &sh) < 0 ? -EIO : idx;
}

static int write_relas(struct writer *w, size_t symtab)
{
	size_t esz = gelf_fsize(w->elf, ELF_T_RELA, 1, EV_CURRENT);

	for (size_t i = 1; i < w->o->nsecs; i++) {
		struct out_sec *s = &w->o->secs[i];
		char name[512];
		GElf_Shdr sh;
		Elf_Data *d;
		int idx;

		if (!s->nrelas)
			continue;
		if (snprintf(name, sizeof(name), ".rela%s", s->name) >= (int)sizeof(name))
			return -ENAMETOOLONG;
		idx = new_scn(w, name, &sh, &d);
		if (idx < 0)
			return idx;
		d->d_type = ELF_T_RELA;
		d->d_size = s->nrelas * esz;
		d->d_buf = wbuf(w, d->d_size);
		if (!d->d_buf)
			return -ENOMEM;
		d->d_align = 8;
		for (size_t j = 0; j < s->nrelas; j++) {
			GElf_Rela r = { .r_offset = s->relas[j].offset, .r_addend = s->relas[j].addend };

			r.r_info = GELF_R_INFO(w->symmap[s->relas[j].sym], s->relas[j].type);
			if (!gelf_update_rela(d, (int)j, &r))
				return -EIO;
		}
		sh.sh_type = SHT_RELA;
		sh.sh_flags = SHF_INFO_LINK;
		sh.sh_entsize = esz;
		sh.sh_addralign = 8;
		sh.sh_link = (uint32_t)symtab;
		sh.sh_info = (uint32_t)i;
		if (put_shdr(w, (size_t)idx, &sh) < 0)
			return -EIO;
	}
	return 0;
}

static int write_strtab(struct writer *w, struct lf_buf *b, const char *name)
{
	GElf_Shdr sh;
	Elf_Data *d;
	int idx = new_scn(w, name, &sh, &d);

	if (idx < 0)
		return idx;
	/* .shstrtab names itself: the name was appended by new_scn above. */
	d->d_buf = b->data;
	d->d_size = b->len;
	d->d_type = ELF_T_BYTE;
	d->d_align = 1;
	sh.sh_type = SHT_STRTAB;
	sh.sh_addralign = 1;
	return put_shdr(w, (size_t)idx, &sh) < 0 ? -EIO : idx;
}

static int build(struct writer *w)
{
	size_t nrela = 0;
	GElf_Ehdr *eh, ehdr;
	int r, symtab, strtab, shstrtab;

	if (!gelf_newehdr(w->elf, w->o->elfclass) || !(eh = gelf_getehdr(w->elf, &ehdr)))
		return -EIO;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_REL;
	eh->e_machine = w->o->machine;
	eh->e_version = EV_CURRENT;
	if (lf_buf_putc(&w->shstr, '\0') < 0 || lf_buf_putc(&w->str, '\0') < 0)
		return -ENOMEM;
	r = order_symbols(w);
	if (r == 0)
		r = write_user_sections(w);
	if (r < 0)
		return r;
	for (size_t i = 1; i < w->o->nsecs; i++)
		nrela += w->o->secs[i].nrelas ? 1 : 0;
	/* Layout: user sections, .rela*, .symtab, .strtab, .shstrtab. */
	symtab = (int)(w->o->nsecs + nrela);
	r = write_relas(w, (size_t)symtab);
	if (r < 0)
		return r;
	if (write_symtab(w, (size_t)symtab + 1) != symtab)
		return -EIO;
	strtab = write_strtab(w, &w->str, ".strtab");
	shstrtab = write_strtab(w, &w->shstr, ".shstrtab");
	if (strtab < 0 || shstrtab < 0)
		return -EIO;
	eh->e_shstrndx = (uint16_t)shstrtab;
	if (!gelf_update_ehdr(w->elf, eh) || elf_update(w->elf, ELF_C_WRITE) < 0)
		return -EIO;
	return 0;
}

int lf_elf_out_write(struct lf_elf_out *o, const char *path)
{
	struct writer w = { .o = o };
	char tmp[4096];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	lf_buf_init(&w.shstr, OUT_MAX_STRTAB);
	lf_buf_init(&w.str, OUT_MAX_STRTAB);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	w.elf = elf_begin(fd, ELF_C_WRITE, NULL);
	r = w.elf ? build(&w) : -EIO;
	if (w.elf)
		elf_end(w.elf);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
out:
	for (size_t i = 0; i < w.nbufs; i++)
		free(w.bufs[i]);
	free(w.bufs);
	lf_buf_release(&w.shstr);
	lf_buf_release(&w.str);
	return r;
}
