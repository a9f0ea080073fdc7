/* SPDX-License-Identifier: Apache-2.0 */
/* From a fix to units: diff parsing, and header users found by an include scan. */
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

static void test_parse(void **state)
{
	const char diff[] =
		"From: someone\n"
		"Subject: fix\n\n"
		"diff --git a/fs/proc/cmdline.c b/fs/proc/cmdline.c\n"
		"--- a/fs/proc/cmdline.c\t2024-01-01 00:00:00\n"
		"+++ b/fs/proc/cmdline.c\t2024-01-01 00:00:01\n"
		"@@ -1 +1 @@\n-a\n+b\n"
		"--- a/include/linux/old.h\n"
		"+++ /dev/null\n"
		"@@ -1 +0,0 @@\n-x\n"
		"--- /dev/null\n"
		"+++ b/kernel/new.c\n"
		"@@ -0,0 +1 @@\n+y\n"
		"--- a/fs/proc/cmdline.c\n"
		"+++ b/fs/proc/cmdline.c\n";
	struct lf_kfix fix = { 0 };

	assert_int_equal(lf_kfix_parse(diff, strlen(diff), &fix), 0);
	assert_int_equal(fix.n_files, 3);
	assert_string_equal(fix.files[0], "fs/proc/cmdline.c");
	assert_string_equal(fix.files[1], "include/linux/old.h");
	assert_string_equal(fix.files[2], "kernel/new.c");
	lf_kfix_release(&fix);
}

static void test_parse_refuses(void **state)
{
	const char none[] = "just text\n+++ nothing\n";
	const char climb[] = "--- a/../etc/passwd\n+++ b/../etc/passwd\n";
	struct lf_kfix fix = { 0 };

	assert_int_equal(lf_kfix_parse(none, strlen(none), &fix), -EBADMSG);
	assert_int_equal(lf_kfix_parse(climb, strlen(climb), &fix), -EBADMSG);
	assert_int_equal(fix.n_files, 0);
}

static char root[64];

static void write_at(const char *rel, const char *text)
{
	char path[512], dir[512], *slash;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	assert_int_equal(lf_mkdir_p(dir, 0755), 0);
	assert_int_equal(lf_write_file_atomic(path, text, strlen(text), 0644), 0);
}

/* foo.h <- bar.h <- a.c ; foo.h <- dir/local.h <- c.c ; d.c configured out. */
static void make_tree(void)
{
	snprintf(root, sizeof(root), "/tmp/test_kfix.XXXXXX");
	assert_non_null(mkdtemp(root));
	write_at("src/include/linux/foo.h", "struct foo { int x; };\n");
	write_at("src/include/linux/bar.h", "#include <linux/foo.h>\n");
	write_at("src/dir/local.h", "# include <linux/foo.h>\n");
	write_at("src/dir/a.c", "#include <linux/bar.h>\nint a;\n");
	write_at("src/dir/b.c", "#include <linux/kernel.h>\nint b;\n");
	write_at("src/dir/c.c", "#include \"local.h\"\nint c;\n");
	write_at("src/dir/d.c", "#include <linux/foo.h>\nint d;\n");
	write_at("src/dir/e.c", "#include \"../include/linux/foo.h\"\nint e;\n");
	write_at("src/dir/f.c", "#include <linux/foo.h>\nint f;\n");
	write_at("src/dir/g.c", "#include <linux/foo.h>\nint g;\n");
	write_at("src/dir/Makefile", "obj-y += a.o b.o \\\n\te.o\nobj-$(CONFIG_C) += c.o\n"
		 "obj-$(CONFIG_D) += d.o\nhostprogs := foo\n"
		 "# f.o is replaced when CONFIG_C=y, as fs/proc does with nommu.o\n"
		 "part-y := f.o\npart-$(CONFIG_C) := g.o\nobj-y += part.o\n");
	write_at("src/tools/t.c", "#include <linux/foo.h>\n");
	write_at("obj/.config", "CONFIG_C=y\n# CONFIG_D is not set\n");
}

static void test_header_units(void **state)
{
	const char diff[] = "--- a/include/linux/foo.h\n+++ b/include/linux/foo.h\n"
			    "--- a/dir/b.c\n+++ b/dir/b.c\n";
	struct lf_ktree tree = { 0 };
	struct lf_kfix fix = { 0 };
	char cmd[128];
	size_t i;
	int seen = 0;

	make_tree();
	snprintf(tree.srcdir, sizeof(tree.srcdir), "%s/src", root);
	snprintf(tree.objdir, sizeof(tree.objdir), "%s/obj", root);
	assert_int_equal(lf_kfix_parse(diff, strlen(diff), &fix), 0);
	assert_int_equal(lf_kfix_units(&fix, &tree), 0);
	assert_int_equal(fix.n_headers, 1);
	assert_string_equal(fix.unit_method, "include scan");
	assert_string_equal(fix.units[0], "dir/b.o");   /* the changed .c first */
	for (i = 0; i < fix.n_units; i++) {
		seen |= !strcmp(fix.units[i], "dir/a.o") << 0;
		seen |= !strcmp(fix.units[i], "dir/c.o") << 1;
		seen |= !strcmp(fix.units[i], "dir/e.o") << 2;
		seen |= !strcmp(fix.units[i], "dir/g.o") << 3;
		assert_string_not_equal(fix.units[i], "dir/d.o");   /* CONFIG_D is off */
		assert_string_not_equal(fix.units[i], "dir/f.o");   /* overridden by := */
		assert_string_not_equal(fix.units[i], "tools/t.o"); /* not kernel code */
	}
	assert_int_equal(seen, 15);
	assert_int_equal(fix.n_units, 5);
	lf_kfix_release(&fix);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

static void test_build_files_refused(void **state)
{
	const char diff[] = "--- a/dir/Makefile\n+++ b/dir/Makefile\n";
	struct lf_ktree tree = { 0 };
	struct lf_kfix fix = { 0 };

	assert_int_equal(lf_kfix_parse(diff, strlen(diff), &fix), 0);
	assert_int_equal(lf_kfix_units(&fix, &tree), -EOPNOTSUPP);
	lf_kfix_release(&fix);
}

/*
 * Touched functions: a removed line, an added line (counted at the original
 * line it precedes), a change between two functions (none), a function
 * whose header spans a return type line, a file the tree does not have.
 */
static void test_touched(void **state)
{
	static const char src[] =
		"#include <x.h>\n"                             /* 1 */
		"static int helper(int a)\n"                   /* 2 */
		"{\n"                                          /* 3 */
		"\treturn a + 1;\n"                            /* 4 */
		"}\n"                                          /* 5 */
		"\n"                                           /* 6 */
		"static int value = 3;\n"                      /* 7 */
		"\n"                                           /* 8 */
		"int\n"                                        /* 9 */
		"caller_fn (struct s *p,\n"                    /* 10 */
		"\t  int b)\n"                                 /* 11 */
		"{\n"                                          /* 12 */
		"\tint x = helper(b);\n"                       /* 13 */
		"\treturn x;\n"                                /* 14 */
		"}\n";                                         /* 15 */
	static const char diff[] =
		"--- a/d/t.c\n+++ b/d/t.c\n"
		"@@ -3,3 +3,3 @@\n {\n-\treturn a + 1;\n+\treturn a + 2;\n }\n"
		"@@ -6,3 +6,3 @@\n \n-static int value = 3;\n+static int value = 4;\n \n"
		"@@ -13,2 +13,3 @@\n \tint x = helper(b);\n+\tx++;\n \treturn x;\n"
		"--- a/d/missing.c\n+++ b/d/missing.c\n@@ -1 +1 @@\n-a\n+b\n";
	char dir[] = "/tmp/lf-touched.XXXXXX", path[256], cmd[300];
	struct lf_kfix fix = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/d", dir);
	assert_int_equal(lf_mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/d/t.c", dir);
	assert_int_equal(lf_write_file_atomic(path, src, strlen(src), 0644), 0);
	assert_int_equal(lf_kfix_parse(diff, strlen(diff), &fix), 0);
	assert_int_equal(lf_kfix_touched(&fix, diff, strlen(diff), dir), 0);
	assert_int_equal(fix.n_touched, 2);
	assert_string_equal(fix.touched[0], "helper");
	assert_string_equal(fix.touched[1], "caller_fn");
	lf_kfix_release(&fix);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_header_units),
		cmocka_unit_test(test_build_files_refused),
		cmocka_unit_test(test_touched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
