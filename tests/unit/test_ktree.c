/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Patching the cached source in place: the journal is written before the
 * tree changes, unpatching (as the next open does after a crash) restores
 * modified files, removes created ones and drops the journal, and a fix that
 * does not apply leaves the tree untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"

static char root[64];
static struct lf_ktree tree;

static void put(const char *rel, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(lf_write_file_atomic(path, text, strlen(text), 0644), 0);
}

static char *get(const char *rel)
{
	char path[512], *data;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (lf_read_file(path, 1 << 20, &data, &len) < 0)
		return NULL;
	return data;
}

static int setup(void **state)
{
	char path[512];

	snprintf(root, sizeof(root), "/tmp/test_ktree.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/src/fs", root);
	assert_int_equal(lf_mkdir_p(path, 0755), 0);
	put("src/fs/a.c", "int a(void)\n{\n\treturn 1;\n}\n");
	put("fix.patch", "--- a/fs/a.c\n+++ b/fs/a.c\n@@ -1,4 +1,4 @@\n int a(void)\n {\n"
			 "-\treturn 1;\n+\treturn 2;\n }\n"
			 "--- /dev/null\n+++ b/fs/new.c\n@@ -0,0 +1 @@\n+int n;\n");
	put("bad.patch", "--- a/fs/a.c\n+++ b/fs/a.c\n@@ -1,4 +1,4 @@\n int a(void)\n {\n"
			 "-\treturn 7;\n+\treturn 2;\n }\n");
	memset(&tree, 0, sizeof(tree));
	tree.lock_fd = -1;
	snprintf(tree.srcdir, sizeof(tree.srcdir), "%s/src", root);
	snprintf(tree.journal, sizeof(tree.journal), "%s/journal", root);
	snprintf(path, sizeof(path), "%s/log", root);
	tree.log_path = strdup(path);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	free((char *)tree.log_path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void test_patch_then_restore(void **state)
{
	char path[512], *s;

	assert_int_equal(lf_ktree_patch(&tree, "/nonexistent.patch"), -ENOENT);
	snprintf(path, sizeof(path), "%s/fix.patch", root);
	assert_int_equal(lf_ktree_patch(&tree, path), 0);
	s = get("src/fs/a.c");
	assert_non_null(strstr(s, "return 2;"));
	free(s);
	s = get("src/fs/new.c");
	assert_non_null(s);
	free(s);
	/* The journal is in place while patched: a crash here is recoverable. */
	s = get("journal/list");
	assert_non_null(s);
	assert_string_equal(s, "M 0 fs/a.c\nC fs/new.c\n");
	free(s);

	/* What lf_ktree_open() does first after a crash. */
	assert_int_equal(lf_ktree_unpatch(&tree), 0);
	s = get("src/fs/a.c");
	assert_string_equal(s, "int a(void)\n{\n\treturn 1;\n}\n");
	free(s);
	assert_null(get("src/fs/new.c"));
	snprintf(path, sizeof(path), "%s/journal", root);
	assert_int_equal(access(path, F_OK), -1);
	/* Nothing to restore: a no-op. */
	assert_int_equal(lf_ktree_unpatch(&tree), 0);
}

static void test_not_applying_untouched(void **state)
{
	char path[512], *s;

	snprintf(path, sizeof(path), "%s/bad.patch", root);
	assert_int_equal(lf_ktree_patch(&tree, path), -ENOEXEC);
	s = get("src/fs/a.c");
	assert_string_equal(s, "int a(void)\n{\n\treturn 1;\n}\n");
	free(s);
	assert_null(get("journal/list"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_then_restore),
		cmocka_unit_test(test_not_applying_untouched),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
