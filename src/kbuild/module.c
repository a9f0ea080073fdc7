// SPDX-License-Identifier: Apache-2.0
/*
 * A shipped loadable module (.ko) as the reference for the fidelity check
 * and for the symbol positions of a patch to it.
 *
 * A .ko is a relocatable object: its functions have no addresses until the
 * module loader places it. We give each allocated section a synthetic base
 * (its index << 32), so a symbol's "address" is base + st_value and the
 * vmlinux code paths (lf_kimage_at, the address-ordered lf_ksyms table)
 * work unchanged. The fields the module loader fills are 0 + addend in the
 * file, and the fidelity check masks them through the relocations of the
 * rebuilt object, as for vmlinux.
 *
 * Positions (sympos) follow the kernel: klp_find_object_symbol() walks a
 * loaded module's kallsyms, which are its .symtab in file order limited to
 * "core" symbols (defined, named, in an allocated section that is not an
 * .init one). A module the patch meets while it is still coming sees its
 * full table; names that also occur outside the core set are hidden
 * (count 0: lookups find nothing), so they are never bound by position.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "livefix/kbuild.h"

#define MAX_DEPTH 8
#define MAX_ENTRIES 200000

static bool is_init_section(const char *name)
{
	return !strncmp(name, ".init", 5);
}

static int read_headers(const uint8_t *d, size_t len, Elf64_Ehdr *eh, Elf64_Shdr **ret)
{
	Elf64_Shdr *sh;

	if (len < sizeof(*eh))
		return -ENOEXEC;
	memcpy(eh, d, sizeof(*eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_type != ET_REL)
		return -ENOEXEC;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shnum || eh->e_shnum >= 0xff00 ||
	    eh->e_shoff > len || (size_t)eh->e_shnum * sizeof(*sh) > len - eh->e_shoff ||
	    eh->e_shstrndx >= eh->e_shnum)
		return -EBADMSG;
	sh = calloc(eh->e_shnum, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	memcpy(sh, d + eh->e_shoff, (size_t)eh->e_shnum * sizeof(*sh));
	for (size_t i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type != SHT_NOBITS &&
		    (sh[i].sh_offset > len || sh[i].sh_size > len - sh[i].sh_offset)) {
			free(sh);
			return -EBADMSG;
		}
	*ret = sh;
	return 0;
}

static const char *sec_name(const uint8_t *d, const Elf64_Ehdr *eh, const Elf64_Shdr *sh,
			    size_t i)
{
	const Elf64_Shdr *s = &sh[eh->e_shstrndx];

	if (sh[i].sh_name >= s->sh_size || !memchr(d + s->sh_offset + sh[i].sh_name, 0,
						   s->sh_size - sh[i].sh_name))
		return "";
	return (const char *)d + s->sh_offset + sh[i].sh_name;
}

int lf_kmodule_layout(const uint8_t *d, size_t len, struct lf_kmodule_sec *secs, size_t max,
		      size_t *ret_n)
{
	Elf64_Shdr *sh;
	Elf64_Ehdr eh;
	size_t n = 0;
	int r;

	r = read_headers(d, len, &eh, &sh);
	if (r < 0)
		return r;
	for (size_t i = 1; i < eh.e_shnum; i++) {
		if (sh[i].sh_type != SHT_PROGBITS || !(sh[i].sh_flags & SHF_ALLOC) || !sh[i].sh_size)
			continue;
		if (n == max) {
			free(sh);
			return -E2BIG;
		}
		secs[n++] = (struct lf_kmodule_sec){ .vaddr = (uint64_t)i << 32,
						     .off = sh[i].sh_offset, .size = sh[i].sh_size };
	}
	free(sh);
	*ret_n = n;
	return n ? 0 : -ENOEXEC;
}

static char type_letter(const Elf64_Sym *s, const Elf64_Shdr *sh)
{
	char c = (sh->sh_flags & SHF_EXECINSTR) ? 't' : sh->sh_type == SHT_NOBITS ? 'b'
		 : (sh->sh_flags & SHF_WRITE) ? 'd' : 'r';

	return ELF64_ST_BIND(s->st_info) == STB_LOCAL ? c : (char)(c - 'a' + 'A');
}

static int by_addr(const void *a, const void *b)
{
	const struct lf_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos; /* symtab order */
}

/* Core symbols in symtab order, pos = symtab index for now; others counted apart. */
static size_t collect(const uint8_t *d, const Elf64_Ehdr *eh, const Elf64_Shdr *sh,
		      const Elf64_Shdr *st, const char *pool, struct lf_ksym *out,
		      const char **noncore, size_t *ret_nnon)
{
	size_t n = st->sh_size / sizeof(Elf64_Sym), k = 0, nn = 0;

	for (size_t i = 1; i < n; i++) {
		Elf64_Sym s;
		int t;

		memcpy(&s, d + st->sh_offset + i * sizeof(s), sizeof(s));
		t = ELF64_ST_TYPE(s.st_info);
		if (!s.st_name || s.st_name >= sh[st->sh_link].sh_size || s.st_shndx == SHN_UNDEF ||
		    t == STT_SECTION || t == STT_FILE)
			continue;
		if (s.st_shndx >= eh->e_shnum || !(sh[s.st_shndx].sh_flags & SHF_ALLOC) ||
		    is_init_section(sec_name(d, eh, sh, s.st_shndx))) {
			noncore[nn++] = pool + s.st_name;
			continue;
		}
		out[k++] = (struct lf_ksym){ .addr = ((uint64_t)s.st_shndx << 32) + s.st_value,
					     .name = pool + s.st_name, .pos = (uint32_t)i,
					     .type = type_letter(&s, &sh[s.st_shndx]) };
	}
	*ret_nnon = nn;
	return k;
}

static const uint32_t *rank_order;

static int by_order(const void *a, const void *b)
{
	uint32_t x = rank_order[*(const size_t *)a], y = rank_order[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * pos among same-named symbols in symtab order; names that also name a
 * non-core symbol get count 0. Sorting keeps it O(n log n) for any input.
 */
static int rank(struct lf_ksyms *t, const uint32_t *order, const char **noncore, size_t nnon)
{
	size_t *group = malloc((t->n ? t->n : 1) * sizeof(*group));

	if (!group)
		return -ENOMEM;
	qsort(noncore, nnon, sizeof(*noncore), by_str);
	rank_order = order;  /* qsort has no context argument in C17 */
	for (size_t i = 0; i < t->n; ) {
		const char *name = t->syms[t->by_name[i]].name;
		size_t j = i;
		bool hidden = nnon && bsearch(&name, noncore, nnon, sizeof(*noncore), by_str);

		while (j < t->n && !strcmp(t->syms[t->by_name[j]].name, name))
			j++;
		memcpy(group, t->by_name + i, (j - i) * sizeof(*group));
		qsort(group, j - i, sizeof(*group), by_order);
		for (size_t k = 0; k < j - i; k++) {
			t->syms[group[k]].pos = (uint32_t)(k + 1);
			if (hidden)
				t->syms[group[k]].count = 0;  /* lookups find nothing */
		}
		i = j;
	}
	rank_order = NULL;
	free(group);
	return 0;
}

int lf_ksyms_read_module(const uint8_t *d, size_t len, struct lf_ksyms **ret_syms)
{
	struct lf_ksym *syms = NULL;
	const char **noncore = NULL;
	uint32_t *order = NULL;
	Elf64_Shdr *sh = NULL, *st = NULL;
	Elf64_Ehdr eh;
	char *pool = NULL;
	size_t n, k, nnon;
	int r;

	r = read_headers(d, len, &eh, &sh);
	if (r < 0)
		return r;
	for (size_t i = 1; i < eh.e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_link < eh.e_shnum)
			st = &sh[i];
	r = -ENOENT;
	if (!st || sh[st->sh_link].sh_type != SHT_STRTAB)
		goto out;
	n = st->sh_size / sizeof(Elf64_Sym);
	r = -EOVERFLOW;
	if (n > LF_KSYMS_MAX)
		goto out;
	r = -ENOMEM;
	syms = calloc(n + 1, sizeof(*syms));
	noncore = calloc(n + 1, sizeof(*noncore));
	order = calloc(n + 1, sizeof(*order));
	pool = malloc(sh[st->sh_link].sh_size + 1);
	if (!syms || !noncore || !order || !pool)
		goto out;
	memcpy(pool, d + sh[st->sh_link].sh_offset, sh[st->sh_link].sh_size);
	pool[sh[st->sh_link].sh_size] = '\0';
	k = collect(d, &eh, sh, st, pool, syms, noncore, &nnon);
	qsort(syms, k, sizeof(*syms), by_addr);
	for (size_t i = 0; i < k; i++)
		order[i] = syms[i].pos;
	r = lf_ksyms_new(syms, k, pool, "module symtab", ret_syms);
	syms = NULL;
	pool = NULL;  /* owned by the table, also on failure */
	if (r >= 0 && (r = rank(*ret_syms, order, noncore, nnon)) < 0) {
		lf_ksyms_free(*ret_syms);
		*ret_syms = NULL;
	}
out:
	free(sh);
	free(syms);
	free(pool);
	free(noncore);
	free(order);
	return r;
}

static void kbuild_name(const char *file, char *out, size_t size)
{
	size_t i;

	for (i = 0; file[i] && i + 1 < size; i++)
		out[i] = file[i] == '-' ? '_' : file[i];
	out[i] = '\0';
}

/* Depth-first search for <name>.ko ('-' and '_' are the same to kbuild). */
static int search(const char *dir, const char *name, int depth, size_t *budget, char *ret,
		  size_t size)
{
	char path[4096], base[256];
	struct dirent *e;
	DIR *d;
	int r = -ENOENT;

	if (depth > MAX_DEPTH || !(d = opendir(dir)))
		return -ENOENT;
	while (r == -ENOENT && (e = readdir(d)) && (*budget)--) {
		size_t l = strlen(e->d_name);
		struct stat stb;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    lstat(path, &stb) < 0)
			continue;
		if (S_ISDIR(stb.st_mode)) {
			r = search(path, name, depth + 1, budget, ret, size);
			continue;
		}
		if (!S_ISREG(stb.st_mode) || l < 4 || l - 3 >= sizeof(base))
			continue;
		kbuild_name(e->d_name, base, sizeof(base));
		if (!strcmp(base + l - 3, ".ko") && !strncmp(base, name, l - 3) && !name[l - 3])
			r = snprintf(ret, size, "%s", path) < (int)size ? 0 : -ENAMETOOLONG;
		else if (strstr(base, ".ko.") && !strncmp(base, name, strlen(name)) &&
			 !strncmp(base + strlen(name), ".ko.", 4))
			r = -EMEDIUMTYPE;  /* compressed: not read yet */
	}
	closedir(d);
	return r;
}

int lf_kmodule_find(const char *dir, const char *name, char *ret_path, size_t size)
{
	size_t budget = MAX_ENTRIES;

	return search(dir, name, 0, &budget, ret_path, size);
}
