// SPDX-License-Identifier: Apache-2.0
/*
 * Finding and decoding the kernel's compressed symbol table in an image.
 *
 * scripts/kallsyms emits these tables into .rodata, each 8-aligned on 64-bit
 * kernels with CONFIG_KALLSYMS_BASE_RELATIVE (every 64-bit distribution
 * kernel since 4.6):
 *
 *   kallsyms_offsets        s32[N]   address of symbol i, relative to base
 *   kallsyms_relative_base  u64      a kernel address (top 16 bits set)
 *   kallsyms_num_syms       u32 N
 *   kallsyms_names          N x { len (1 byte, or 2 when len >= 0x80), tokens[len] }
 *   kallsyms_markers        u32[ceil(N/256)]  offset of symbol 256*k in names
 *   (kallsyms_seqs_of_names u8[3N], only on 6.2+ and some stable backports)
 *   kallsyms_token_table    256 NUL-terminated strings
 *   kallsyms_token_index    u16[256] offsets of the tokens in the table
 *
 * On arm64 the base is 0 on disk and found through its dynamic relocation
 * (relocated_base()).
 *
 * We do not rely on symbols (the image usually has none). We look for
 * "relative_base, N, padding" whose names walk ends exactly where markers
 * begin, with every marker equal to the offset the walk saw: a random match
 * of that is practically impossible. The token table is then found after the
 * markers by the tokens of the digits, which are never replaced by the
 * compressor because every kernel uses all ten in symbol names; the token
 * index must agree with the table byte for byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/kbuild.h"

#define MAX_TOKEN 128
#define MAX_NAME 512

struct tables {
	const uint8_t *d;
	size_t len;
	size_t offsets, names, markers, tokens, token_index;
	uint64_t base;
	uint32_t n;
	uint32_t tok_off[256];
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static size_t align8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* Length of the names entry at *at; advances *at past the length bytes. */
static int name_len(const struct tables *t, size_t *at, size_t end)
{
	uint32_t l;

	if (*at >= end)
		return -1;
	l = t->d[(*at)++];
	if (l & 0x80) {
		if (*at >= end)
			return -1;
		l = (l & 0x7f) | (uint32_t)t->d[(*at)++] << 7;
	}
	return l ? (int)l : -1;
}

/* Walks N names from t->names; checks that markers follow and agree. */
static int check_names(struct tables *t)
{
	uint32_t n_markers = (t->n + 255) / 256, i;
	size_t at = t->names, m;
	uint32_t *seen = calloc(n_markers, sizeof(*seen));
	int l, ok = 0;

	if (!seen)
		return -ENOMEM;
	for (i = 0; i < t->n; i++) {
		if (!(i & 255))
			seen[i >> 8] = (uint32_t)(at - t->names);
		l = name_len(t, &at, t->len);
		if (l < 0 || (size_t)l > t->len - at)
			goto out;
		at += (size_t)l;
	}
	m = align8(at);
	if (m > t->len || (size_t)n_markers * 4 > t->len - m)
		goto out;
	for (i = 0; i < n_markers; i++)
		if (rd32(t->d + m + 4 * i) != seen[i])
			goto out;
	t->markers = m;
	ok = 1;
out:
	free(seen);
	return ok;
}

/* Next candidate at or after *from; a markers match alone can be chance. */
static int find_names(struct tables *t, size_t *from)
{
	size_t p;
	int r;

	for (p = *from; p + 16 <= t->len; p += 8) {
		uint64_t base = rd64(t->d + p);
		uint32_t n = rd32(t->d + p + 8);

		/* 0: an arm64 Image, where the base is a dynamic relocation (below) */
		if (((base >> 48) != 0xffff && base) || n < 16 || n > LF_KSYMS_MAX || rd32(t->d + p + 12))
			continue;
		if (align8((size_t)n * 4) > p)
			continue;
		t->base = base;
		t->n = n;
		t->names = p + 16;
		t->offsets = p - align8((size_t)n * 4);
		r = check_names(t);
		if (r < 0)
			return r;
		if (r) {
			*from = p + 8;
			return 0;
		}
	}
	return -ENOENT;
}

/* Parses 256 tokens at start; checks the u16 index that must follow. */
static int tokens_at(struct tables *t, size_t start)
{
	size_t at = start, idx;
	int i;

	for (i = 0; i < 256; i++) {
		size_t s = at;

		while (at < t->len && t->d[at] && at - s < MAX_TOKEN)
			at++;
		if (at >= t->len || t->d[at] || at == s)
			return 0;
		t->tok_off[i] = (uint32_t)(s - start);
		at++;
	}
	idx = align8(at);
	if (idx > t->len || 512 > t->len - idx)
		return 0;
	for (i = 0; i < 256; i++)
		if ((uint32_t)(t->d[idx + 2 * i] | t->d[idx + 2 * i + 1] << 8) != t->tok_off[i])
			return 0;
	t->tokens = start;
	t->token_index = idx;
	return 1;
}

static int find_tokens(struct tables *t)
{
	static const char digits[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";
	size_t from = t->markers + 4 * (size_t)((t->n + 255) / 256);
	size_t limit = from + 3 * (size_t)t->n + 4096, p, s;

	if (limit > t->len)
		limit = t->len;
	for (p = from; p + sizeof(digits) <= limit; p++) {
		if (memcmp(t->d + p, digits, sizeof(digits)) || t->d[p - 1])
			continue;
		/* '0' is token 48: the table starts at most 48 tokens before. */
		s = p > 48 * MAX_TOKEN ? (p - 48 * MAX_TOKEN) & ~(size_t)7 : 0;
		for (s = s < from ? align8(from) : s; s <= p; s += 8)
			if (tokens_at(t, s) && t->tok_off['0'] == p - s)
				return 0;
	}
	return -ENOENT;
}

/* Expands one symbol's tokens into buf ("t" type letter first). */
static int expand(const struct tables *t, size_t *at, char *buf, size_t size)
{
	size_t o = 0, end;
	int l = name_len(t, at, t->len);

	if (l < 0)
		return -EBADMSG;
	end = *at + (size_t)l;
	for (; *at < end; (*at)++) {
		const char *tok = (const char *)t->d + t->tokens + t->tok_off[t->d[*at]];
		size_t tl = strlen(tok);

		if (o + tl >= size)
			return -EBADMSG;
		memcpy(buf + o, tok, tl);
		o += tl;
	}
	buf[o] = '\0';
	return o >= 2 ? (int)o : -EBADMSG;
}

static uint64_t sym_addr(const struct tables *t, uint32_t i, int absolute_percpu)
{
	int32_t off = (int32_t)rd32(t->d + t->offsets + 4 * (size_t)i);

	if (!absolute_percpu)
		return t->base + (uint32_t)off;
	if (off >= 0)
		return (uint64_t)off;
	return t->base - 1 - (uint64_t)(int64_t)off;
}

static int decode_all(const struct tables *t, struct lf_ksyms **ret)
{
	struct lf_ksym *syms = calloc(t->n, sizeof(*syms));
	size_t pool_cap = (t->markers - t->names) * 4 + 1024, pool_len = 0, at = t->names;
	char *pool = malloc(pool_cap), buf[MAX_NAME];
	int absolute_percpu = 0, l;
	uint32_t i;

	if (!syms || !pool)
		goto nomem;
	for (i = 0; i < t->n; i++)
		if ((int32_t)rd32(t->d + t->offsets + 4 * (size_t)i) < 0)
			absolute_percpu = 1;
	for (i = 0; i < t->n; i++) {
		l = expand(t, &at, buf, sizeof(buf));
		if (l < 0) {
			free(syms);
			free(pool);
			return -EBADMSG;
		}
		if (pool_len + (size_t)l > pool_cap) {
			char *np = realloc(pool, pool_cap * 2);

			if (!np)
				goto nomem;
			pool = np;
			pool_cap *= 2;
		}
		syms[i].type = buf[0];
		syms[i].addr = sym_addr(t, i, absolute_percpu);
		syms[i].name = (const char *)(uintptr_t)pool_len; /* rebased below */
		memcpy(pool + pool_len, buf + 1, (size_t)l);
		pool_len += (size_t)l;
	}
	for (i = 0; i < t->n; i++)
		syms[i].name = pool + (uintptr_t)syms[i].name;
	return lf_ksyms_new(syms, t->n, pool, "kallsyms", ret);
nomem:
	free(syms);
	free(pool);
	return -ENOMEM;
}

/*
 * arm64 Images are relocatable and linked with --no-apply-dynamic-relocs:
 * kallsyms_relative_base holds 0 on disk; its value is the addend of the
 * R_AARCH64_RELATIVE entry of .rela.dyn (also in the Image) whose r_offset
 * is the field's address, T + (field's file offset), T being the address of
 * the Image's first byte (_text). Without KALLSYMS_ALL the table starts at
 * _stext, not _text, so T is not in it: we take the entry for which T is
 * 64K-aligned (SEGMENT_ALIGN) kernel address and base - T, the lowest
 * symbol's offset in the Image, is 64K-aligned and inside it; more than one
 * such entry is refused rather than guessed. The fidelity check then proves
 * the mapping: functions match byte for byte only at the right offsets.
 */
static int relocated_base(const struct tables *t, uint64_t *ret_base, uint64_t *ret_image)
{
	const uint64_t field = t->names - 16, r_aarch64_relative = 1027, align = 0xffff;
	int found = 0;

	for (size_t p = 0; p + 24 <= t->len; p += 8) {
		uint64_t off = rd64(t->d + p), add = rd64(t->d + p + 16), img = off - field;

		if (rd64(t->d + p + 8) != r_aarch64_relative || (img >> 48) != 0xffff ||
		    (img & align) || add < img || add - img >= t->len || ((add - img) & align))
			continue;
		if (found++ && (*ret_base != add || *ret_image != img))
			return -EBADMSG;
		*ret_base = add;
		*ret_image = img;
	}
	return found ? 0 : -ENOENT;
}

int lf_kallsyms_decode(const uint8_t *data, size_t len, struct lf_ksyms **ret_syms)
{
	struct tables t = { .d = data, .len = len };
	struct lf_ksyms *syms;
	uint64_t image_base = 0;
	size_t from = 8;
	int r;

	do {
		r = find_names(&t, &from);
		if (r < 0)
			return r;
	} while (find_tokens(&t) < 0);
	if (!t.base && (r = relocated_base(&t, &t.base, &image_base)) < 0)
		return r;
	r = decode_all(&t, &syms);
	if (r < 0)
		return r;
	r = lf_ksyms_validate(syms);
	if (r < 0) {
		lf_ksyms_free(syms);
		return r;
	}
	syms->image_base = image_base;
	*ret_syms = syms;
	return 0;
}
