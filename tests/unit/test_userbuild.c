/* SPDX-License-Identifier: Apache-2.0 */
/* The userspace builder's front half: command lines, compile database, private copy. */
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
#include "../../src/userbuild/ub.h"

static void test_split(void **state)
{
	char **argv;
	size_t argc;

	assert_int_equal(ub_split_command("cc  -DX=\"a b\" -I'x y' a\\ b.c\t-c", &argv, &argc), 0);
	assert_int_equal(argc, 5);
	assert_string_equal(argv[0], "cc");
	assert_string_equal(argv[1], "-DX=a b");
	assert_string_equal(argv[2], "-Ix y");
	assert_string_equal(argv[3], "a b.c");
	assert_string_equal(argv[4], "-c");
	assert_null(argv[5]);
	ub_free_argv(argv, argc);
	assert_int_equal(ub_split_command("cc 'unterminated", &argv, &argc), -EBADMSG);
	assert_int_equal(ub_split_command("   ", &argv, &argc), -EBADMSG);
}

static void test_abspath(void **state)
{
	char out[256];

	assert_int_equal(ub_abspath("/w/build", "../src/./a//b.c", out, sizeof(out)), 0);
	assert_string_equal(out, "/w/src/a/b.c");
	assert_int_equal(ub_abspath("/w", "/abs/../x", out, sizeof(out)), 0);
	assert_string_equal(out, "/x");
	assert_int_equal(ub_abspath("/", "../..", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(ub_abspath("/w", "a-long-name", out, 8), -ENAMETOOLONG);
}

static void test_ccdb(void **state)
{
	char dir[] = "/tmp/lf-ub-test.XXXXXX", path[128], json[1024];
	struct ub_ccdb db;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/compile_commands.json", dir);
	snprintf(json, sizeof(json),
		 "[{\"directory\": \"/w/build\", \"file\": \"../src/a.c\",\n"
		 "  \"arguments\": [\"gcc\", \"-O2\", \"-MD\", \"-MF\", \"a.d\", \"-c\", \"../src/a.c\","
		 " \"-o\", \"a.o\", \"-I../src/inc\"]},\n"
		 " {\"directory\": \"/w/build\", \"file\": \"/w/src/b.c\",\n"
		 "  \"command\": \"cc -DV=\\\"1 2\\\" -o b.o -c /w/src/b.c\"}]");
	assert_int_equal(lf_write_file_atomic(path, json, strlen(json), 0644), 0);
	assert_int_equal(ub_ccdb_load(path, &db), 0);
	assert_int_equal(db.n, 2);
	assert_string_equal(db.units[0].dir, "/w/build");
	assert_string_equal(db.units[0].file, "/w/src/a.c");
	assert_int_equal(db.units[0].argc, 3);
	assert_string_equal(db.units[0].argv[0], "gcc");
	assert_string_equal(db.units[0].argv[1], "-O2");
	assert_string_equal(db.units[0].argv[2], "-I../src/inc");
	assert_string_equal(db.units[1].file, "/w/src/b.c");
	assert_int_equal(db.units[1].argc, 2);
	assert_string_equal(db.units[1].argv[1], "-DV=1 2");
	ub_ccdb_release(&db);

	/* not an array of entries */
	assert_int_equal(lf_write_file_atomic(path, "{}", 2, 0644), 0);
	assert_int_equal(ub_ccdb_load(path, &db), -EBADMSG);
	assert_int_equal(lf_write_file_atomic(path, "[{\"file\": \"a.c\"}]", 17, 0644), 0);
	assert_int_equal(ub_ccdb_load(path, &db), -EBADMSG);
	unlink(path);
	rmdir(dir);
}

static void test_mirror(void **state)
{
	char dir[] = "/tmp/lf-ub-test.XXXXXX", p[256], *text;
	struct stat st;
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/src/lib", dir);
	assert_int_equal(lf_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/src/lib/x.c", dir);
	assert_int_equal(lf_write_file_atomic(p, "orig\n", 5, 0644), 0);
	snprintf(p, sizeof(p), "%s/src", dir);
	char dst[256];
	snprintf(dst, sizeof(dst), "%s/copy", dir);
	assert_int_equal(ub_mirror(p, dst, 100), 0);
	snprintf(p, sizeof(p), "%s/copy/lib/x.c", dir);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(ub_mirror_own(dst, "lib/x.c"), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lf_write_file_atomic(p, "patched\n", 8, 0644), 0);
	snprintf(p, sizeof(p), "%s/src/lib/x.c", dir);
	assert_int_equal(lf_read_file(p, 100, &text, &len), 0);
	assert_string_equal(text, "orig\n");   /* the source is never written */
	free(text);
	assert_int_equal(ub_mirror_own(dst, "../escape"), -EINVAL);
	assert_int_equal(ub_mirror_own(dst, "lib/new.c"), 0);   /* created by the fix */
	snprintf(p, sizeof(p), "%s/src", dir);
	assert_int_equal(ub_mirror(p, dst, 1), -E2BIG);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_abspath),
		cmocka_unit_test(test_ccdb),
		cmocka_unit_test(test_mirror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
