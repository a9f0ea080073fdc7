/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The patch object: an ELF64 ET_REL with code, data, symbols, RELA
 * relocations and a text section ".livefix.patch" (docs/USERSPACE.md):
 *
 *   livefix-patch 1
 *   id cve-2026-0001
 *   level 1
 *   target-build-id 3fa9...
 *   func parse_header parse_header_v2      old symbol -> new symbol
 *   func helper,2 helper_fixed             2nd local "helper" in .symtab
 *   bind table table,1                     undefined patch symbol -> target
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/file.h"

#include "user-int.h"

#define PATCH_FILE_MAX (64u << 20)
#define META_MAX (64u << 10)

int lf_user_fail(char *msg, size_t size, int err, const char *fmt, ...)
{
	va_list ap;

	if (msg && size) {
		va_start(ap, fmt);
		vsnprintf(msg, size, fmt, ap);
		va_end(ap);
	}
	return err;
}

static bool is_patch_id(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s == '_' || *s == '.' || *s == '-' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static bool is_ident(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s == '_' || *s == '.' || *s == '$' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

int lf_patch_parse_symref(const char *s, char *name, size_t size, unsigned *ret_pos,
			  uint64_t *ret_addr)
{
	size_t n = strcspn(s, ",@");
	char *end;

	if (n == 0 || n >= size)
		return -EINVAL;
	memcpy(name, s, n);
	name[n] = '\0';
	if (!is_ident(name))
		return -EINVAL;
	*ret_pos = 0;
	*ret_addr = 0;
	if (s[n] == ',') {
		errno = 0;
		unsigned long v = strtoul(s + n + 1, &end, 10);
		if (errno || *end || !v || v > 1000000 || end == s + n + 1)
			return -EINVAL;
		*ret_pos = (unsigned)v;
	} else if (s[n] == '@') {
		if (strncmp(s + n + 1, "0x", 2))
			return -EINVAL;
		errno = 0;
		unsigned long long v = strtoull(s + n + 3, &end, 16);
		if (errno || *end || !v || end == s + n + 3)
			return -EINVAL;
		*ret_addr = v;
	}
	return 0;
}

static int parse_build_id(struct lf_user_patch *p, const char *hex)
{
	size_t n = strlen(hex);

	if (n < 2 || n % 2 || n / 2 > LF_BUILD_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdef", hex[2 * i]) ||
		    !strchr("0123456789abcdef", hex[2 * i + 1]))
			return -EINVAL;
		p->build_id[i] = (uint8_t)v;
	}
	p->build_id_len = n / 2;
	lf_hex(p->build_id, p->build_id_len, p->build_id_hex);
	return 0;
}

static int parse_line(struct lf_user_patch *p, char *line, bool *seen_magic)
{
	char *save = NULL, *key = strtok_r(line, " \t", &save);
	char *a = key ? strtok_r(NULL, " \t", &save) : NULL;
	char *b = a ? strtok_r(NULL, " \t", &save) : NULL;

	if (!key || key[0] == '#')
		return 0;
	if (strtok_r(NULL, " \t", &save))
		return -EINVAL;
	if (!strcmp(key, "livefix-patch") && a && !b) {
		*seen_magic = !strcmp(a, "1");
		return *seen_magic ? 0 : -EPROTONOSUPPORT;
	}
	if (!*seen_magic)
		return -EINVAL;
	if (!strcmp(key, "id") && a && !b && strlen(a) < LF_USER_ID_MAX && is_patch_id(a)) {
		strcpy(p->id, a);
		return 0;
	}
	if (!strcmp(key, "level") && a && !b) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(a, &end, 10);
		if (errno || *end || v < 1 || v > 1000000)
			return -EINVAL;
		p->level = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "target-build-id") && a && !b)
		return parse_build_id(p, a);
	if (!strcmp(key, "func") && a && b) {
		if (p->nfuncs == LF_PATCH_FUNCS_MAX)
			return -E2BIG;
		struct lf_patch_func *f = &p->funcs[p->nfuncs];
		unsigned pos;
		uint64_t addr;
		if (lf_patch_parse_symref(a, f->old_name, sizeof(f->old_name), &f->old_pos,
					  &f->old_addr) < 0 ||
		    lf_patch_parse_symref(b, f->new_name, sizeof(f->new_name), &pos, &addr) < 0 ||
		    pos || addr)
			return -EINVAL;
		p->nfuncs++;
		return 0;
	}
	if (!strcmp(key, "bind") && a && b) {
		if (p->nbinds == LF_PATCH_BINDS_MAX)
			return -E2BIG;
		struct lf_patch_bind *d = &p->binds[p->nbinds];
		unsigned pos;
		uint64_t addr;
		if (lf_patch_parse_symref(a, d->sym, sizeof(d->sym), &pos, &addr) < 0 || pos ||
		    addr || lf_patch_parse_symref(b, d->target, sizeof(d->target), &d->pos,
						   &d->addr) < 0)
			return -EINVAL;
		p->nbinds++;
		return 0;
	}
	return -EINVAL;
}

int lf_patch_parse_meta(struct lf_user_patch *p, const char *text, size_t len, char *msg,
			size_t msg_size)
{
	if (len > META_MAX)
		return lf_user_fail(msg, msg_size, -ENOEXEC, ".livefix.patch is too long");
	while (len && text[len - 1] == '\0')
		len--;
	if (memchr(text, '\0', len))
		return lf_user_fail(msg, msg_size, -ENOEXEC, ".livefix.patch holds a NUL byte");
	char *copy = strndup(text, len), *save = NULL;
	if (!copy)
		return -ENOMEM;
	bool magic = false;
	unsigned lineno = 0;
	int r = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		r = parse_line(p, line, &magic);
		if (r < 0) {
			r = lf_user_fail(msg, msg_size, -ENOEXEC, ".livefix.patch line %u: %s", lineno,
					 r == -E2BIG ? "too many entries" : "not understood");
			break;
		}
	}
	free(copy);
	if (r < 0)
		return r;
	if (!magic || !p->id[0] || !p->level || !p->build_id_len || !p->nfuncs)
		return lf_user_fail(msg, msg_size, -ENOEXEC,
				    ".livefix.patch lacks livefix-patch, id, level, target-build-id or func");
	return 0;
}

static int check_new_funcs(const struct lf_user_patch *p, char *msg, size_t size)
{
	for (unsigned i = 0; i < p->nfuncs; i++) {
		const struct lf_elfimg *e = &p->elf;
		bool ok = false;
		for (size_t k = 1; k < e->nsym && !ok; k++) {
			const Elf64_Sym *s = &e->symtab[k];
			ok = s->st_shndx != SHN_UNDEF && s->st_shndx < e->shnum &&
			     ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_name < e->strtab_size &&
			     !strcmp(e->strtab + s->st_name, p->funcs[i].new_name);
		}
		if (!ok)
			return lf_user_fail(msg, size, -ENOEXEC,
					    "patch object: new function %s is not defined",
					    p->funcs[i].new_name);
	}
	return 0;
}

int lf_user_patch_load(const char *path, struct lf_user_patch **ret_patch, char *msg,
		       size_t msg_size)
{
	char *data = NULL;
	size_t len;
	int r = lf_read_file(path, PATCH_FILE_MAX, &data, &len);

	if (r < 0)
		return lf_user_fail(msg, msg_size, r, "%s: cannot read", path);
	return lf_patch_parse(path, data, len, ret_patch, msg, msg_size);
}

int lf_patch_parse(const char *path, void *data, size_t len, struct lf_user_patch **ret_patch,
		   char *msg, size_t msg_size)
{
	struct lf_user_patch *p = calloc(1, sizeof(*p));
	int r;

	if (!p) {
		free(data);
		return -ENOMEM;
	}
	r = lf_elfimg_from_memory(data, len, true, &p->elf);
	if (r < 0) {
		free(data);
		r = lf_user_fail(msg, msg_size, -ENOEXEC, "%s: not an ELF64 object", path);
		goto err;
	}
	if (p->elf.eh->e_type != ET_REL || p->elf.eh->e_machine != LF_ARCH_EM || !p->elf.symtab) {
		r = lf_user_fail(msg, msg_size, -ENOEXEC,
				 "%s: not an %s relocatable object with symbols", path, LF_ARCH_NAME);
		goto err;
	}
	const Elf64_Shdr *meta = lf_elfimg_section(&p->elf, ".livefix.patch");
	const void *text = meta ? lf_elfimg_section_data(&p->elf, meta) : NULL;
	if (!text) {
		r = lf_user_fail(msg, msg_size, -ENOEXEC, "%s: no .livefix.patch section", path);
		goto err;
	}
	r = lf_patch_parse_meta(p, text, meta->sh_size, msg, msg_size);
	if (r < 0)
		goto err;
	r = check_new_funcs(p, msg, msg_size);
	if (r < 0)
		goto err;
	*ret_patch = p;
	return 0;
err:
	lf_user_patch_free(p);
	return r;
}

void lf_user_patch_free(struct lf_user_patch *p)
{
	if (!p)
		return;
	lf_elfimg_close(&p->elf);
	free(p);
}

const char *lf_user_patch_id(const struct lf_user_patch *p)
{
	return p->id;
}

unsigned lf_user_patch_level(const struct lf_user_patch *p)
{
	return p->level;
}

const char *lf_user_patch_target(const struct lf_user_patch *p)
{
	return p->build_id_hex;
}

unsigned lf_user_patch_build_id(const struct lf_user_patch *p, const uint8_t **ret_id)
{
	*ret_id = p->build_id;
	return p->build_id_len;
}
