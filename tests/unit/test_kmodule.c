/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A shipped module as the fidelity reference (src/kbuild/module.c): symbols
 * in the order livepatch counts them, .init symbols left out, names shared
 * with .init symbols hidden, bytes at the synthetic addresses, finding the
 * .ko by its kbuild name.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"

static const char *sample;

static const struct lf_ksym *sym(const struct lf_ksyms *s, const char *name, size_t k)
{
	size_t first;

	if (k >= lf_ksyms_lookup(s, name, &first))
		return NULL;
	return &s->syms[s->by_name[first + k]];
}

static void test_symbols(void **state)
{
	struct lf_kimage *img;
	struct lf_ksyms *s;
	const struct lf_ksym *h1, *h2, *a;
	const uint8_t *elf;
	size_t len;

	(void)state;
	assert_int_equal(lf_kimage_open_module(sample, &img), 0);
	assert_string_equal(lf_kimage_compression(img), "module");
	elf = lf_kimage_elf(img, &len);
	assert_int_equal(lf_ksyms_read_module(elf, len, &s), 0);
	assert_string_equal(s->source, "module symtab");
	/* two static helpers: positions in symtab order, first file first */
	assert_int_equal(lf_ksyms_lookup(s, "helper", NULL), 2);
	h1 = sym(s, "helper", 0);
	h2 = sym(s, "helper", 1);
	assert_int_equal(h1->pos, 1);
	assert_int_equal(h2->pos, 2);
	assert_true(h1->addr < h2->addr);
	assert_int_equal(h1->type, 't');
	/* globals; .init code is not among a loaded module's symbols */
	a = sym(s, "a_entry", 0);
	assert_non_null(a);
	assert_int_equal(a->type, 'T');
	assert_int_equal(lf_ksyms_lookup(s, "b_entry", NULL), 1);
	assert_int_equal(lf_ksyms_lookup(s, "setup", NULL), 0);
	assert_int_equal(lf_ksyms_lookup(s, "a_init", NULL), 0);
	/* "both" names a core function and an .init one: never bound by position */
	assert_int_equal(lf_ksyms_lookup(s, "both", NULL), 0);
	/* bytes at the synthetic address: the same as through the section */
	assert_non_null(lf_kimage_at(img, a->addr, 4));
	assert_null(lf_kimage_at(img, a->addr, 1u << 30));
	assert_null(lf_kimage_at(img, 0x10, 4));
	lf_ksyms_free(s);
	lf_kimage_free(img);
}

static void test_not_module(void **state)
{
	struct lf_kimage *img;
	struct lf_ksyms *s;

	(void)state;
	assert_int_equal(lf_ksyms_read_module((const uint8_t *)"\177ELF", 4, &s), -ENOEXEC);
	assert_int_equal(lf_kimage_open_module("/nonexistent.ko", &img), -ENOENT);
}

static void test_find(void **state)
{
	char dir[] = "/tmp/lf-kmodule.XXXXXX", path[512], found[512], cmd[600];
	char *data;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/6.1.0/kernel/fs/my", dir);
	assert_int_equal(lf_mkdir_p(path, 0755), 0);
	assert_int_equal(lf_read_file(sample, 1u << 20, &data, &len), 0);
	snprintf(path, sizeof(path), "%s/6.1.0/kernel/fs/my/my-mod.ko", dir);
	assert_int_equal(lf_write_file_atomic(path, data, len, 0644), 0);
	snprintf(path, sizeof(path), "%s/6.1.0/kernel/fs/zz.ko.xz", dir);
	assert_int_equal(lf_write_file_atomic(path, data, len, 0644), 0);
	free(data);
	/* KBUILD_MODNAME spells '-' as '_' */
	assert_int_equal(lf_kmodule_find(dir, "my_mod", found, sizeof(found)), 0);
	snprintf(path, sizeof(path), "%s/6.1.0/kernel/fs/my/my-mod.ko", dir);
	assert_string_equal(found, path);
	assert_int_equal(lf_kmodule_find(dir, "my", found, sizeof(found)), -ENOENT);
	assert_int_equal(lf_kmodule_find(dir, "zz", found, sizeof(found)), -EMEDIUMTYPE);
	assert_int_equal(lf_kmodule_find("/nonexistent", "zz", found, sizeof(found)), -ENOENT);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_not_module),
		cmocka_unit_test(test_find),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s kmod_sample.ko\n", argv[0]);
		return 2;
	}
	sample = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
