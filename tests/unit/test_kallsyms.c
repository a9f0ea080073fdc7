/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kallsyms decoding on synthetic tables written by this test's own encoder
 * (layouts with and without kallsyms_seqs_of_names, decoys, corruption),
 * symbol positions, System.map reading, and on a real Debian image fetched
 * into the cache by tests/kbuild/fetch.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "livefix/kbuild.h"

#define BASE 0xffffffff81000000ull
#define NSYMS 600

struct blob {
	uint8_t *d;
	size_t len, cap;
};

static void put(struct blob *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->d = realloc(b->d, b->cap);
		assert_non_null(b->d);
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

static void put32(struct blob *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put(b, x, 4);
}

static void align(struct blob *b)
{
	static const uint8_t z[8];

	put(b, z, (8 - b->len % 8) % 8);
}

/* Token i is the character i when printable, else "q<i in hex>" (3 chars). */
static void token(int i, char *out)
{
	if (i > 0x20 && i < 0x7f)
		snprintf(out, 4, "%c", i);
	else
		snprintf(out, 4, "q%02x", i);
}

struct sym {
	char type;
	char name[32];
	uint64_t addr;
};

static void make_syms(struct sym *s)
{
	int i;

	s[0] = (struct sym){ 'A', "fixed_percpu_data", 0 };
	s[1] = (struct sym){ 'A', "cpu_number", 0x2000 };
	s[2] = (struct sym){ 'T', "_text", BASE };
	s[3] = (struct sym){ 'T', "startup_64", BASE };
	for (i = 4; i < NSYMS; i++) {
		s[i].type = i % 3 ? 't' : 'T';
		s[i].addr = BASE + 0x1000 + (uint64_t)i * 0x40;
		/* Every 100th is a static "show" (duplicates); one name is long. */
		if (i % 100 == 0)
			snprintf(s[i].name, sizeof(s[i].name), "show");
		else if (i == 77)
			snprintf(s[i].name, sizeof(s[i].name), "a_name_using_q01_tokens_%d", i);
		else
			snprintf(s[i].name, sizeof(s[i].name), "func_%d", i);
	}
}

/* Encodes "type+name": "q01" becomes token 1, everything else one token per byte. */
static size_t encode(const struct sym *s, uint8_t *out)
{
	char text[40];
	size_t n = 0, i;

	snprintf(text, sizeof(text), "%c%s", s->type, s->name);
	for (i = 0; text[i]; n++) {
		if (!strncmp(text + i, "q01", 3)) {
			out[n] = 1;
			i += 3;
		} else {
			out[n] = (uint8_t)text[i++];
		}
	}
	return n;
}

static void put_names(struct blob *b, const struct sym *s, uint32_t *markers)
{
	size_t start = b->len;
	uint8_t enc[64];
	int i;

	for (i = 0; i < NSYMS; i++) {
		uint8_t l;

		if (!(i & 255))
			markers[i >> 8] = (uint32_t)(b->len - start);
		l = (uint8_t)encode(&s[i], enc);
		put(b, &l, 1);
		put(b, enc, l);
	}
}

static void put_tokens(struct blob *b)
{
	uint16_t idx[256];
	size_t start = b->len;
	char t[4];
	int i;

	for (i = 0; i < 256; i++) {
		idx[i] = (uint16_t)(b->len - start);
		token(i, t);
		put(b, t, strlen(t) + 1);
	}
	align(b);
	for (i = 0; i < 256; i++)
		put(b, (uint8_t[]){ (uint8_t)idx[i], (uint8_t)(idx[i] >> 8) }, 2);
}

/* A vmlinux-like blob: junk, a decoy, then the tables as scripts/kallsyms lays them out. */
static struct blob make_blob(const struct sym *s, bool seqs, size_t *ret_markers)
{
	struct blob b = { 0 };
	uint32_t markers[(NSYMS + 255) / 256];
	uint64_t base = BASE;
	int i;

	for (i = 0; i < 1000; i++)
		put32(&b, (uint32_t)i * 2654435761u);
	/* Decoy: a kernel address and a count, followed by names that do not fit. */
	put(&b, &base, 8);
	put32(&b, 300);
	put32(&b, 0);
	put32(&b, 0x01020304);
	align(&b);
	for (i = 0; i < NSYMS; i++) {
		int64_t off = s[i].addr < BASE ? (int64_t)s[i].addr : -(int64_t)(s[i].addr - BASE) - 1;

		put32(&b, (uint32_t)(int32_t)off);
	}
	align(&b);
	put(&b, &base, 8);
	put32(&b, NSYMS);
	align(&b);
	put_names(&b, s, markers);
	align(&b);
	if (ret_markers)
		*ret_markers = b.len;
	for (i = 0; i < (NSYMS + 255) / 256; i++)
		put32(&b, markers[i]);
	align(&b);
	if (seqs) {
		for (i = 0; i < 3 * NSYMS; i++)
			put(&b, (uint8_t[]){ (uint8_t)(i * 7 + 1) }, 1);
		align(&b);
	}
	put_tokens(&b);
	for (i = 0; i < 100; i++)
		put32(&b, 0xdeadbeef);
	return b;
}

/*
 * An arm64 Image: offset 0 is _text at IMG_A64, the table starts at _stext
 * (IMG_A64 + 64K: no KALLSYMS_ALL), kallsyms_relative_base is 0 on disk and
 * its value is the addend of an R_AARCH64_RELATIVE entry, preceded by decoys
 * (a wrong type, an unaligned image address). `dup` adds a second
 * self-consistent entry with another base: ambiguous, so refused.
 */
#define IMG_A64 0xffff800008000000ull
#define STEXT_A64 (IMG_A64 + 0x10000)

static void put_rela(struct blob *b, uint64_t off, uint64_t type, uint64_t addend)
{
	put(b, &off, 8);
	put(b, &type, 8);
	put(b, &addend, 8);
}

static struct blob make_arm64_image(struct sym *s, bool dup)
{
	struct blob b = { 0 };
	uint32_t markers[(NSYMS + 255) / 256];
	static const uint8_t note[] = { 4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0,
					1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
	uint64_t zero = 0;
	size_t field;
	int i;

	for (i = 0; i < NSYMS; i++) {
		s[i].type = i % 3 ? 't' : 'T';
		s[i].addr = STEXT_A64 + (uint64_t)i * 0x40;
		snprintf(s[i].name, sizeof(s[i].name), i ? "func_%d" : "_stext", i);
	}
	for (i = 0; i < 0x11000 / 4; i++)          /* header, head text, then _stext */
		put32(&b, (uint32_t)i * 2654435761u);
	memcpy(b.d + 0x38, "ARM\x64", 4);
	put(&b, note, sizeof(note));
	align(&b);
	for (i = 0; i < NSYMS; i++)
		put32(&b, (uint32_t)(s[i].addr - STEXT_A64));
	align(&b);
	field = b.len;
	put(&b, &zero, 8);
	put32(&b, NSYMS);
	align(&b);
	put_names(&b, s, markers);
	align(&b);
	for (i = 0; i < (NSYMS + 255) / 256; i++)
		put32(&b, markers[i]);
	align(&b);
	put_tokens(&b);
	align(&b);
	put_rela(&b, IMG_A64 + field, 1025, STEXT_A64);          /* R_AARCH64_GLOB_DAT */
	put_rela(&b, IMG_A64 + 8 + field, 1027, STEXT_A64 + 8);  /* image address not 64K-aligned */
	put_rela(&b, IMG_A64 + field, 1027, STEXT_A64);
	if (dup)
		put_rela(&b, IMG_A64 + 0x10000 + field, 1027, STEXT_A64 + 0x10000);
	return b;
}

static void test_arm64_relocated_base(void **state)
{
	static struct sym s[NSYMS];
	char path[] = "/tmp/test_kallsyms_image.XXXXXX", bid[64];
	struct lf_kimage *img;
	struct lf_ksyms *t = NULL;
	struct blob b = make_arm64_image(s, false);
	int fd;

	assert_int_equal(lf_kallsyms_decode(b.d, b.len, &t), 0);
	assert_int_equal(t->n, NSYMS);
	assert_int_equal(t->image_base, IMG_A64);
	for (size_t i = 0; i < NSYMS; i++)
		assert_int_equal(t->syms[i].addr, s[i].addr);
	lf_ksyms_free(t);

	/* As a file: an arm64 image whose addresses map to Image offsets. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.d, b.len), (ssize_t)b.len);
	close(fd);
	assert_int_equal(lf_kimage_open(path, &img), 0);
	unlink(path);
	assert_int_equal(lf_kimage_machine(img), 183 /* EM_AARCH64 */);
	assert_ptr_equal(lf_kimage_at(img, STEXT_A64 + 0x40, 4), lf_kimage_elf(img, &(size_t){ 0 }) + 0x10040);
	assert_null(lf_kimage_at(img, IMG_A64 + b.len - 2, 4));
	assert_int_equal(lf_kimage_build_id(img, bid, sizeof(bid)), 0);
	assert_string_equal(bid, "0102030405060708090a0b0c0d0e0f1011121314");
	assert_string_equal(lf_kimage_compression(img), "none");
	lf_kimage_free(img);

	/* The same Image gzip'd as a whole (Image.gz). */
	snprintf(path, sizeof(path), "/tmp/test_kallsyms_image.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	gzFile gz = gzdopen(fd, "wb");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, b.d, (unsigned)b.len), (int)b.len);
	assert_int_equal(gzclose(gz), Z_OK);
	assert_int_equal(lf_kimage_open(path, &img), 0);
	unlink(path);
	assert_string_equal(lf_kimage_compression(img), "gzip");
	assert_int_equal(lf_kimage_machine(img), 183);
	assert_non_null(lf_kimage_at(img, STEXT_A64, 4));
	assert_memory_equal(lf_kimage_at(img, STEXT_A64, 4), b.d + 0x10000, 4);
	lf_kimage_free(img);
	free(b.d);

	/* Two self-consistent relocations with different bases: refused, not guessed. */
	b = make_arm64_image(s, true);
	t = NULL;
	assert_int_equal(lf_kallsyms_decode(b.d, b.len, &t), -EBADMSG);
	assert_null(t);
	free(b.d);
}

static void check_decoded(const struct lf_ksyms *t, const struct sym *s)
{
	size_t i, first;

	assert_int_equal(t->n, NSYMS);
	assert_string_equal(t->source, "kallsyms");
	for (i = 0; i < NSYMS; i++) {
		assert_string_equal(t->syms[i].name, s[i].name);
		assert_int_equal(t->syms[i].type, s[i].type);
		assert_int_equal(t->syms[i].addr, s[i].addr);
	}
	/* "show" at 100, 200, 300, 400, 500: positions 1..5 in table order. */
	assert_int_equal(lf_ksyms_lookup(t, "show", &first), 5);
	for (i = 0; i < 5; i++) {
		const struct lf_ksym *k = &t->syms[t->by_name[first + i]];

		assert_int_equal(k->pos, i + 1);
		assert_int_equal(k->count, 5);
		assert_int_equal(k->addr, s[100 * (i + 1)].addr);
	}
	assert_int_equal(lf_ksyms_lookup(t, "startup_64", &first), 1);
	assert_int_equal(t->syms[t->by_name[first]].pos, 1);
	assert_int_equal(lf_ksyms_lookup(t, "nonexistent", NULL), 0);
	assert_int_equal(lf_ksyms_lookup(t, "a_name_using_q01_tokens_77", NULL), 1);
}

static void test_synthetic(void **state)
{
	static struct sym s[NSYMS];
	struct lf_ksyms *t;
	int seqs;

	make_syms(s);
	for (seqs = 0; seqs < 2; seqs++) {
		struct blob b = make_blob(s, seqs, NULL);

		assert_int_equal(lf_kallsyms_decode(b.d, b.len, &t), 0);
		check_decoded(t, s);
		lf_ksyms_free(t);
		free(b.d);
	}
}

static void test_corrupt_marker_not_found(void **state)
{
	static struct sym s[NSYMS];
	struct lf_ksyms *t = NULL;
	struct blob b;
	size_t markers;

	make_syms(s);
	b = make_blob(s, false, &markers);
	assert_int_equal(lf_kallsyms_decode(b.d, b.len, &t), 0);
	lf_ksyms_free(t);
	t = NULL;
	/* Symbol 256's offset no longer agrees with the names: not a table. */
	b.d[markers + 4] ^= 0x10;
	assert_int_equal(lf_kallsyms_decode(b.d, b.len, &t), -ENOENT);
	assert_null(t);
	free(b.d);
}

static void test_no_text_symbol_refused(void **state)
{
	static struct sym s[NSYMS];
	struct lf_ksyms *t = NULL;
	struct blob b;

	make_syms(s);
	snprintf(s[2].name, sizeof(s[2].name), "_nottext");
	b = make_blob(s, false, NULL);
	assert_int_equal(lf_kallsyms_decode(b.d, b.len, &t), -EBADMSG);
	assert_null(t);
	free(b.d);
}

static void test_empty_and_junk(void **state)
{
	uint8_t junk[4096];
	struct lf_ksyms *t = NULL;
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(lf_kallsyms_decode(junk, 0, &t), -ENOENT);
	assert_int_equal(lf_kallsyms_decode(junk, sizeof(junk), &t), -ENOENT);
	assert_null(t);
}

static void test_system_map(void **state)
{
	char path[] = "/tmp/test_kallsyms_map.XXXXXX";
	const char text[] =
		"0000000000000000 A fixed_percpu_data\n"
		"ffffffff81000000 T _text\n"
		"ffffffff81000000 T startup_64\n"
		"ffffffff81000100 t show\n"
		"garbage line\n"
		"ffffffff81000200 t show\n"
		"ffffffff81000300 T cmdline_proc_show";
	struct lf_ksyms *t;
	size_t first;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(lf_ksyms_read_system_map(path, &t), 0);
	assert_int_equal(t->n, 6);
	assert_int_equal(lf_ksyms_lookup(t, "show", &first), 2);
	assert_int_equal(t->syms[t->by_name[first + 1]].addr, 0xffffffff81000200ull);
	assert_int_equal(t->syms[t->by_name[first + 1]].pos, 2);
	assert_int_equal(lf_ksyms_lookup(t, "cmdline_proc_show", &first), 1);
	assert_int_equal(t->syms[t->by_name[first]].type, 'T');
	lf_ksyms_free(t);

	/* Debian's placeholder System.map has no symbol line. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n", 84), 84);
	close(fd);
	t = NULL;
	assert_int_equal(lf_ksyms_read_system_map(path, &t), -EBADMSG);
	assert_null(t);
	unlink(path);
}

/* The real Debian image, fetched once into the cache by tests/kbuild/fetch.sh. */
static void test_real_image(void **state)
{
	const char *src = getenv("LIVEFIX_SRC");
	char cmd[4096], line[4096], image[4096] = "", bid[130];
	struct lf_kimage *img;
	struct lf_ksyms *t;
	const uint8_t *elf;
	size_t len, first;
	FILE *p;

	if (!src || !getenv("LIVEFIX_CACHE"))
		skip();
	snprintf(cmd, sizeof(cmd), "%s/tests/kbuild/fetch.sh 2>/dev/null", src);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, "KB_IMAGE=", 9))
			snprintf(image, sizeof(image), "%.*s", (int)strcspn(line + 9, "\n"), line + 9);
	if (pclose(p) != 0 || !image[0])
		skip(); /* no package archive reachable */
	assert_int_equal(lf_kimage_open(image, &img), 0);
	assert_string_equal(lf_kimage_compression(img), "xz");
	assert_int_equal(lf_kimage_build_id(img, bid, sizeof(bid)), 0);
	assert_int_equal(strlen(bid), 40);
	elf = lf_kimage_elf(img, &len);
	assert_int_equal(lf_ksyms_read_elf(elf, len, &t), -ENOENT); /* stripped */
	assert_int_equal(lf_kallsyms_decode(elf, len, &t), 0);
	assert_in_range(t->n, 50000, 400000);
	assert_int_equal(lf_ksyms_lookup(t, "startup_64", &first), 1);
	assert_int_equal(t->syms[t->by_name[first]].addr, 0xffffffff81000000ull);
	assert_int_equal(lf_ksyms_lookup(t, "cmdline_proc_show", &first), 1);
	assert_int_equal(t->syms[t->by_name[first]].type, 't');
	/* The function's bytes are in the image: endbr64 (IBT kernel) or a NOP/call. */
	assert_non_null(lf_kimage_at(img, t->syms[t->by_name[first]].addr, 16));
	lf_ksyms_free(t);
	lf_kimage_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_corrupt_marker_not_found),
		cmocka_unit_test(test_no_text_symbol_refused),
		cmocka_unit_test(test_empty_and_junk),
		cmocka_unit_test(test_arm64_relocated_base),
		cmocka_unit_test(test_system_map),
		cmocka_unit_test(test_real_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
