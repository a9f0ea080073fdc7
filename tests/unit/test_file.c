/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
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

static int setup_dir(void **state)
{
	char *dir = strdup("/tmp/lf-test-file.XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_in(void **state, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", (char *)*state, name) > 0);
	return p;
}

static void test_atomic_write_then_read(void **state)
{
	char *p = path_in(state, "state.json");
	char *data;
	size_t len;
	struct stat st;

	assert_int_equal(lf_write_file_atomic(p, "old", 3, 0600), 0);
	assert_int_equal(lf_write_file_atomic(p, "new contents", 12, 0640), 0);
	assert_int_equal(lf_read_file(p, 100, &data, &len), 0);
	assert_int_equal(len, 12);
	assert_string_equal(data, "new contents");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	free(data);
	free(p);
}

static void test_read_refuses_overlong(void **state)
{
	char *p = path_in(state, "big");
	char *data = NULL;
	size_t len;

	assert_int_equal(lf_write_file_atomic(p, "0123456789", 10, 0600), 0);
	assert_int_equal(lf_read_file(p, 10, &data, &len), 0);
	assert_int_equal(len, 10);
	free(data);
	data = NULL;
	assert_int_equal(lf_read_file(p, 9, &data, &len), -EOVERFLOW);
	assert_null(data);
	free(p);
}

static void test_read_line_strips_newline(void **state)
{
	char *p = path_in(state, "attr");
	char line[16];

	assert_int_equal(lf_write_file_atomic(p, "1\nrest\n", 7, 0600), 0);
	assert_int_equal(lf_read_line(p, line, sizeof(line)), 1);
	assert_string_equal(line, "1");
	assert_int_equal(lf_write_string(p, "0\n"), 0);
	assert_int_equal(lf_read_line(p, line, sizeof(line)), 1);
	assert_string_equal(line, "0");
	free(p);
}

static void test_missing_file(void **state)
{
	char *p = path_in(state, "absent");
	char *data;
	size_t len;

	assert_int_equal(lf_read_file(p, 10, &data, &len), -ENOENT);
	free(p);
}

static void test_mkdir_p(void **state)
{
	char *p = path_in(state, "a/b/c");
	struct stat st;

	assert_int_equal(lf_mkdir_p(p, 0700), 0);
	assert_int_equal(lf_mkdir_p(p, 0700), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_atomic_write_then_read, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_read_refuses_overlong, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_read_line_strips_newline, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_missing_file, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
