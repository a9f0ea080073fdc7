/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel images: a vmlinux ELF read directly (PT_LOAD mapping, build-id
 * note, .symtab with duplicate local names) and the same ELF wrapped by this
 * test in bzImages whose payload is gzip, xz or zstd; unknown and broken
 * payloads refused.
 */
#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"

static const char *vmlinux;
static char *elf;
static size_t elf_len;
static char build_id[130];

static int setup(void **state)
{
	assert_int_equal(lf_read_file(vmlinux, 64u << 20, &elf, &elf_len), 0);
	return 0;
}

static int teardown(void **state)
{
	free(elf);
	return 0;
}

static void test_vmlinux(void **state)
{
	struct lf_kimage *img;
	struct lf_ksyms *t;
	const uint8_t *e;
	size_t len, first;

	assert_int_equal(lf_kimage_open(vmlinux, &img), 0);
	assert_string_equal(lf_kimage_compression(img), "none");
	assert_int_equal(lf_kimage_build_id(img, build_id, sizeof(build_id)), 0);
	assert_int_equal(strlen(build_id), 40);
	e = lf_kimage_elf(img, &len);
	assert_int_equal(len, elf_len);
	assert_int_equal(lf_ksyms_read_elf(e, len, &t), 0);
	assert_string_equal(t->source, "ELF symtab");
	assert_int_equal(lf_ksyms_lookup(t, "startup_64", &first), 1);
	assert_int_equal(t->syms[t->by_name[first]].type, 'T');
	{
		const struct lf_ksym *s = &t->syms[t->by_name[first]];
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)e;
		const uint8_t *code = lf_kimage_at(img, s->addr, 2);

		/* startup_64 is the entry point; its bytes are "jmp ." (eb fe). */
		assert_int_equal(eh->e_entry, s->addr);
		assert_non_null(code);
		assert_memory_equal(code, "\xeb\xfe", 2);
	}
	assert_null(lf_kimage_at(img, 0x10, 4));
	/* Two static "show": positions by address. */
	assert_int_equal(lf_ksyms_lookup(t, "show", &first), 2);
	assert_int_equal(t->syms[t->by_name[first]].type, 't');
	assert_int_equal(t->syms[t->by_name[first]].pos, 1);
	assert_int_equal(t->syms[t->by_name[first + 1]].pos, 2);
	assert_true(t->syms[t->by_name[first]].addr < t->syms[t->by_name[first + 1]].addr);
	lf_ksyms_free(t);
	lf_kimage_free(img);
}

static size_t compress_gzip(uint8_t *out, size_t cap)
{
	z_stream z = { 0 };

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)elf;
	z.avail_in = (uInt)elf_len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return z.total_out;
}

static size_t compress_xz(uint8_t *out, size_t cap)
{
	size_t pos = 0;

	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, (const uint8_t *)elf,
						 elf_len, out, &pos, cap), LZMA_OK);
	return pos;
}

static size_t compress_zstd(uint8_t *out, size_t cap)
{
	size_t n = ZSTD_compress(out, cap, elf, elf_len, 3);

	assert_false(ZSTD_isError(n));
	return n;
}

/* setup code (2 sectors), then 100 bytes of "decompressor", then the payload. */
static void write_bzimage(const char *path, const uint8_t *payload, size_t plen)
{
	size_t pm = 3 * 512, total = pm + 100 + plen + 4;
	uint8_t *d = calloc(1, total);
	uint32_t v;

	assert_non_null(d);
	d[0x1f1] = 2;
	memcpy(d + 0x202, "HdrS", 4);
	d[0x206] = 0x0f;
	d[0x207] = 0x02;
	v = 100;
	memcpy(d + 0x248, &v, 4);
	v = (uint32_t)plen;
	memcpy(d + 0x24c, &v, 4);
	memset(d + pm, 0x90, 100);
	memcpy(d + pm + 100, payload, plen);
	assert_int_equal(lf_write_file_atomic(path, d, total, 0644), 0);
	free(d);
}

static void check_wrapped(size_t (*compress)(uint8_t *, size_t), const char *name)
{
	char path[] = "/tmp/test_kimage.XXXXXX", bid[130];
	size_t cap = elf_len + 65536, n, len;
	uint8_t *buf = malloc(cap);
	struct lf_kimage *img;
	const uint8_t *e;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_non_null(buf);
	n = compress(buf, cap);
	write_bzimage(path, buf, n);
	assert_int_equal(lf_kimage_open(path, &img), 0);
	assert_string_equal(lf_kimage_compression(img), name);
	e = lf_kimage_elf(img, &len);
	assert_int_equal(len, elf_len);
	assert_memory_equal(e, elf, len);
	assert_int_equal(lf_kimage_build_id(img, bid, sizeof(bid)), 0);
	assert_string_equal(bid, build_id);
	lf_kimage_free(img);

	/* The same payload cut short is refused. */
	write_bzimage(path, buf, n / 2);
	assert_int_equal(lf_kimage_open(path, &img), -EBADMSG);
	unlink(path);
	free(buf);
}

static void test_bzimage_gzip(void **state)
{
	check_wrapped(compress_gzip, "gzip");
}

static void test_bzimage_xz(void **state)
{
	check_wrapped(compress_xz, "xz");
}

static void test_bzimage_zstd(void **state)
{
	check_wrapped(compress_zstd, "zstd");
}

static void test_refused(void **state)
{
	char path[] = "/tmp/test_kimage.XXXXXX";
	struct lf_kimage *img = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_bzimage(path, (const uint8_t *)"BZh91AY&SY", 10);   /* bzip2 */
	assert_int_equal(lf_kimage_open(path, &img), -EOPNOTSUPP);
	assert_int_equal(lf_write_file_atomic(path, "hello, not a kernel", 19, 0644), 0);
	assert_int_equal(lf_kimage_open(path, &img), -ENOEXEC);
	assert_null(img);
	unlink(path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmlinux),
		cmocka_unit_test(test_bzimage_gzip),
		cmocka_unit_test(test_bzimage_xz),
		cmocka_unit_test(test_bzimage_zstd),
		cmocka_unit_test(test_refused),
	};

	if (argc != 2)
		return 2;
	vmlinux = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
