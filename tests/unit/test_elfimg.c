/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ELF image reader (src/elf/elfimg.c) on a small shared library the
 * build links from data/elfimg_{a,b}.c: two static `helper`s, a symbol
 * with two versions, a build-id given on the command line; and on the
 * same library stripped, and damaged in memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "livefix/elfimg.h"
#include "livefix/file.h"

static const char *lib_path, *stripped_path;

/* The -Wl,--build-id=0x... of tests/unit/meson.build. */
static const uint8_t lib_build_id[20] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,
	0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67,
};

static void test_positions(void **state)
{
	struct lf_elfimg e;
	uint64_t v1, v2, v, s1, s2, size;
	unsigned type;

	assert_int_equal(lf_elfimg_open(lib_path, &e), 0);
	assert_non_null(e.symtab);
	/* two locals share the name: unique lookup refuses, positions pick */
	assert_int_equal(lf_elfimg_lookup(&e, "helper", 0, false, &v, NULL, NULL), -ENOTUNIQ);
	assert_int_equal(lf_elfimg_lookup(&e, "helper", 1, false, &v1, &s1, &type), 0);
	assert_int_equal(type, STT_FUNC);
	assert_int_equal(lf_elfimg_lookup(&e, "helper", 2, false, &v2, &s2, NULL), 0);
	assert_true(v1 != v2);
	assert_int_equal(lf_elfimg_lookup(&e, "helper", 3, false, &v, NULL, NULL), -ENOENT);
	/* locals are not exported */
	assert_int_equal(lf_elfimg_lookup(&e, "helper", 0, true, &v, NULL, NULL), -ENOENT);
	/* a function is found by its start, not by an address inside it */
	assert_int_equal(lf_elfimg_symbol_at(&e, v2, &size), 0);
	assert_int_equal(size, s2);
	assert_true(s2 > 1);
	assert_int_equal(lf_elfimg_symbol_at(&e, v2 + 1, &size), -ENOENT);
	lf_elfimg_close(&e);
}

static void test_versions(void **state)
{
	struct lf_elfimg e, s;
	uint64_t old_v, new_v, v;

	assert_int_equal(lf_elfimg_open(lib_path, &e), 0);
	assert_non_null(e.versym);
	assert_int_equal(lf_elfimg_lookup(&e, "old_api", 0, false, &old_v, NULL, NULL), 0);
	assert_int_equal(lf_elfimg_lookup(&e, "new_api", 0, false, &new_v, NULL, NULL), 0);
	/* .dynsym holds api@V1 and api@@V2: the default version wins */
	assert_int_equal(lf_elfimg_lookup(&e, "api", 0, true, &v, NULL, NULL), 0);
	assert_int_equal(v, new_v);
	assert_true(old_v != new_v);

	/* stripped: no .symtab, lookups fall back to .dynsym */
	assert_int_equal(lf_elfimg_open(stripped_path, &s), 0);
	assert_null(s.symtab);
	assert_int_equal(lf_elfimg_lookup(&s, "api", 0, false, &v, NULL, NULL), 0);
	assert_int_equal(v, new_v);
	assert_int_equal(lf_elfimg_lookup(&s, "helper", 1, false, &v, NULL, NULL), -ENOENT);
	assert_int_equal(lf_elfimg_lookup(&s, "a_entry", 0, false, &v, NULL, NULL), 0);
	assert_int_equal(lf_elfimg_lookup(&e, "a_entry", 0, false, &old_v, NULL, NULL), 0);
	assert_int_equal(v, old_v);
	lf_elfimg_close(&s);
	lf_elfimg_close(&e);
}

static void test_build_id(void **state)
{
	struct lf_elfimg e;
	uint8_t id[20];

	assert_int_equal(lf_elfimg_open(lib_path, &e), 0);
	assert_int_equal(e.build_id_len, 20);
	assert_memory_equal(e.build_id, lib_build_id, 20);
	lf_elfimg_close(&e);
	assert_int_equal(lf_elfimg_file_build_id(stripped_path, id, sizeof(id)), 20);
	assert_memory_equal(id, lib_build_id, 20);
	assert_int_equal(lf_elfimg_file_build_id(lib_path, id, 8), -ENOBUFS);
	assert_int_equal(lf_elfimg_file_build_id("/nonexistent/lib.so", id, sizeof(id)), -ENOENT);
}

static void test_at_and_offsets(void **state)
{
	struct lf_elfimg e;
	uint64_t v, size, back;
	const uint8_t *p;

	assert_int_equal(lf_elfimg_open(lib_path, &e), 0);
	assert_int_equal(lf_elfimg_lookup(&e, "b_entry", 0, false, &v, &size, NULL), 0);
	p = lf_elfimg_at(&e, v, size);
	assert_non_null(p);
	/* the bytes are the file's at the offset that maps to v */
	assert_int_equal(lf_elfimg_offset_to_vaddr(&e, (uint64_t)(p - e.data), &back), 0);
	assert_int_equal(back, v);
	assert_null(lf_elfimg_at(&e, v, 1u << 30));
	assert_null(lf_elfimg_at(&e, 0x7fff00000000ull, 1));
	assert_int_equal(lf_elfimg_offset_to_vaddr(&e, e.size + 0x10000, &back), -ENOENT);
	lf_elfimg_close(&e);
}

static void test_damaged(void **state)
{
	struct lf_elfimg e;
	uint64_t v;
	char *data;
	size_t len;

	assert_int_equal(lf_read_file(lib_path, 1u << 20, &data, &len), 0);
	assert_int_equal(lf_elfimg_from_memory(data, sizeof(Elf64_Ehdr) - 1, false, &e), -ENOEXEC);
	data[EI_CLASS] = ELFCLASS32;
	assert_int_equal(lf_elfimg_from_memory(data, len, false, &e), -ENOEXEC);
	data[EI_CLASS] = ELFCLASS64;

	/* the section headers are at the end: half a file has none, and no symbols */
	assert_int_equal(lf_elfimg_from_memory(data, len / 2, false, &e), 0);
	assert_null(e.sh);
	assert_null(e.symtab);
	assert_int_equal(lf_elfimg_lookup(&e, "a_entry", 0, false, &v, NULL, NULL), -ENOENT);
	assert_int_equal(e.build_id_len, 20);	/* the PT_NOTE is near the start */
	lf_elfimg_close(&e);

	/* program headers pointing out of the file are ignored, not followed */
	((Elf64_Ehdr *)data)->e_phoff = len - 8;
	assert_int_equal(lf_elfimg_from_memory(data, len, false, &e), 0);
	assert_null(e.ph);
	assert_null(lf_elfimg_at(&e, 0, 1));
	assert_int_equal(lf_elfimg_lookup(&e, "a_entry", 0, false, &v, NULL, NULL), 0);
	lf_elfimg_close(&e);
	free(data);	/* borrowed: close left it to us */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_at_and_offsets),
		cmocka_unit_test(test_damaged),
	};

	if (argc != 3)
		return 2;
	lib_path = argv[1];
	stripped_path = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
