// SPDX-License-Identifier: Apache-2.0
/*
 * Symbol tables from the three places a kernel's addresses can come from:
 * kallsyms in the image (kallsyms.c), a System.map, or the .symtab of a
 * vmlinux with symbols. All end in one shape, with each name's position
 * among duplicates as livepatch's sympos counts it: 1-based, in kallsyms
 * order, which is address order.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"

#define MAX_SYSTEM_MAP (64u << 20)

static const struct lf_ksym *cmp_base;

static int by_name_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(cmp_base[i].name, cmp_base[j].name);

	if (c)
		return c;
	return i < j ? -1 : i > j;
}

int lf_ksyms_new(struct lf_ksym *syms, size_t n, char *pool, const char *source,
		 struct lf_ksyms **ret_syms)
{
	struct lf_ksyms *t = calloc(1, sizeof(*t));
	size_t i, j;

	if (!t || !(t->by_name = malloc((n ? n : 1) * sizeof(size_t)))) {
		free(t);
		free(syms);
		free(pool);
		return -ENOMEM;
	}
	t->syms = syms;
	t->n = n;
	t->pool = pool;
	t->source = source;
	for (i = 0; i < n; i++)
		t->by_name[i] = i;
	/* qsort has no context argument in C17; this runs single-threaded. */
	cmp_base = syms;
	qsort(t->by_name, n, sizeof(size_t), by_name_cmp);
	cmp_base = NULL;
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && !strcmp(syms[t->by_name[i]].name, syms[t->by_name[j]].name); j++)
			syms[t->by_name[j]].pos = (uint32_t)(j - i + 1);
		for (size_t k = i; k < j; k++)
			syms[t->by_name[k]].count = (uint32_t)(j - i);
	}
	*ret_syms = t;
	return 0;
}

void lf_ksyms_free(struct lf_ksyms *syms)
{
	if (!syms)
		return;
	free(syms->syms);
	free(syms->by_name);
	free(syms->pool);
	free(syms);
}

size_t lf_ksyms_lookup(const struct lf_ksyms *syms, const char *name, size_t *ret_first)
{
	size_t lo = 0, hi = syms->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(syms->syms[syms->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == syms->n || strcmp(syms->syms[syms->by_name[lo]].name, name))
		return 0;
	if (ret_first)
		*ret_first = lo;
	return syms->syms[syms->by_name[lo]].count;
}

int lf_ksyms_validate(const struct lf_ksyms *syms)
{
	size_t i;

	if (!syms->n)
		return -EBADMSG;
	for (i = 1; i < syms->n; i++)
		if (syms->syms[i].addr < syms->syms[i - 1].addr)
			return -EBADMSG;
	if (!lf_ksyms_lookup(syms, "_text", NULL) && !lf_ksyms_lookup(syms, "_stext", NULL))
		return -EBADMSG;
	return 0;
}

/* One "ffffffff81000000 T _text" line; returns 1 if it is a symbol. */
static int parse_map_line(char *line, uint64_t *addr, char *type, char **name)
{
	char *end, *t;

	*addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return 0;
	t = end + 1;
	if (!t[0] || t[1] != ' ' || !t[2])
		return 0;
	*type = t[0];
	*name = t + 2;
	t = strpbrk(*name, " \t\r");
	if (t)
		*t = '\0';
	return 1;
}

int lf_ksyms_read_system_map(const char *path, struct lf_ksyms **ret_syms)
{
	struct lf_ksym *syms = NULL;
	char *data, *line, *next, *name;
	size_t len, n = 0, cap = 0;
	uint64_t addr;
	char type;
	int r;

	r = lf_read_file(path, MAX_SYSTEM_MAP, &data, &len);
	if (r < 0)
		return r;
	for (line = data; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!parse_map_line(line, &addr, &type, &name))
			continue;
		if (n == cap) {
			struct lf_ksym *ns;

			cap = cap ? cap * 2 : 4096;
			if (cap > LF_KSYMS_MAX || !(ns = realloc(syms, cap * sizeof(*ns)))) {
				r = cap > LF_KSYMS_MAX ? -EOVERFLOW : -ENOMEM;
				goto err;
			}
			syms = ns;
		}
		syms[n++] = (struct lf_ksym){ .addr = addr, .type = type, .name = name };
	}
	if (!n) {
		r = -EBADMSG; /* e.g. Debian's 83-byte placeholder */
		goto err;
	}
	r = lf_ksyms_new(syms, n, data, "System.map", ret_syms);
	if (r < 0)
		return r;
	r = lf_ksyms_validate(*ret_syms);
	if (r < 0) {
		lf_ksyms_free(*ret_syms);
		*ret_syms = NULL;
	}
	return r;
err:
	free(syms);
	free(data);
	return r;
}

static char elf_type_letter(const Elf64_Sym *s, const Elf64_Shdr *shdrs, size_t shnum)
{
	char c = '?';

	if (s->st_shndx == SHN_ABS)
		c = 'a';
	else if (s->st_shndx < shnum) {
		const Elf64_Shdr *sh = &shdrs[s->st_shndx];

		if (sh->sh_flags & SHF_EXECINSTR)
			c = 't';
		else if (sh->sh_type == SHT_NOBITS)
			c = 'b';
		else if (sh->sh_flags & SHF_WRITE)
			c = 'd';
		else
			c = 'r';
	}
	if (ELF64_ST_BIND(s->st_info) != STB_LOCAL && c != '?')
		c = (char)(c - 'a' + 'A');
	return c;
}

static int by_addr_cmp(const void *a, const void *b)
{
	const struct lf_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

/*
 * Headers are copied out with memcpy: offsets in a hostile file need not be
 * aligned for the structures.
 */
static int get_shdr(const uint8_t *d, size_t len, size_t shoff, size_t i, Elf64_Shdr *sh)
{
	if (shoff > len || i >= (len - shoff) / sizeof(*sh))
		return -EBADMSG;
	memcpy(sh, d + shoff + i * sizeof(*sh), sizeof(*sh));
	return 0;
}

/* The .symtab, its string table and all section headers; -ENOENT without one. */
static int find_symtab(const uint8_t *d, size_t len, Elf64_Shdr **ret_sh, size_t *ret_shnum,
		       size_t *ret_symtab)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;
	size_t i;

	if (len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, d, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return -ENOEXEC;
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || !eh.e_shnum)
		return -EBADMSG;
	sh = calloc(eh.e_shnum, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	for (i = 0; i < eh.e_shnum; i++)
		if (get_shdr(d, len, eh.e_shoff, i, &sh[i]) < 0)
			goto bad;
	for (i = 0; i < eh.e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		if (sh[i].sh_link >= eh.e_shnum || sh[i].sh_offset > len ||
		    sh[i].sh_size > len - sh[i].sh_offset ||
		    sh[sh[i].sh_link].sh_offset > len ||
		    sh[sh[i].sh_link].sh_size > len - sh[sh[i].sh_link].sh_offset)
			goto bad;
		*ret_sh = sh;
		*ret_shnum = eh.e_shnum;
		*ret_symtab = i;
		return 0;
	}
	free(sh);
	return -ENOENT;
bad:
	free(sh);
	return -EBADMSG;
}

static int collect_elf_syms(const uint8_t *data, const Elf64_Shdr *sh, size_t shnum,
			    const Elf64_Shdr *st, char *pool, struct lf_ksym *syms, size_t *ret_k)
{
	const Elf64_Shdr *strs = &sh[st->sh_link];
	size_t n = st->sh_size / sizeof(Elf64_Sym), i, k = 0;

	for (i = 1; i < n; i++) {
		Elf64_Sym es;
		int t;

		memcpy(&es, data + st->sh_offset + i * sizeof(es), sizeof(es));
		t = ELF64_ST_TYPE(es.st_info);
		if (es.st_shndx == SHN_UNDEF || t == STT_SECTION || t == STT_FILE ||
		    es.st_name >= strs->sh_size || !pool[es.st_name])
			continue;
		syms[k++] = (struct lf_ksym){ .addr = es.st_value, .name = pool + es.st_name,
					      .type = elf_type_letter(&es, sh, shnum) };
	}
	*ret_k = k;
	return 0;
}

int lf_ksyms_read_elf(const uint8_t *data, size_t len, struct lf_ksyms **ret_syms)
{
	Elf64_Shdr *sh;
	struct lf_ksym *syms;
	size_t shnum, st, n, k;
	char *pool;
	int r;

	r = find_symtab(data, len, &sh, &shnum, &st);
	if (r < 0)
		return r;
	n = sh[st].sh_size / sizeof(Elf64_Sym);
	if (n > LF_KSYMS_MAX) {
		free(sh);
		return -EOVERFLOW;
	}
	syms = calloc(n ? n : 1, sizeof(*syms));
	pool = malloc(sh[sh[st].sh_link].sh_size + 1);
	if (!syms || !pool) {
		free(sh);
		free(syms);
		free(pool);
		return -ENOMEM;
	}
	memcpy(pool, data + sh[sh[st].sh_link].sh_offset, sh[sh[st].sh_link].sh_size);
	pool[sh[sh[st].sh_link].sh_size] = '\0';
	collect_elf_syms(data, sh, shnum, &sh[st], pool, syms, &k);
	free(sh);
	qsort(syms, k, sizeof(*syms), by_addr_cmp);
	r = lf_ksyms_new(syms, k, pool, "ELF symtab", ret_syms);
	if (r < 0)
		return r;
	r = lf_ksyms_validate(*ret_syms);
	if (r < 0) {
		lf_ksyms_free(*ret_syms);
		*ret_syms = NULL;
	}
	return r;
}
