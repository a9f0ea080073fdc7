/* SPDX-License-Identifier: Apache-2.0 */
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
#include "kmod.h"

static const char *livepatch_obj, *plain_obj;

static void test_inspect_livepatch(void **state)
{
	struct lf_kmod_info info;
	char reason[256];

	assert_int_equal(lf_kmod_inspect(livepatch_obj, &info, reason, sizeof(reason)), 0);
	assert_string_equal(info.name, "lp_fake");
	assert_true(info.livepatch);
	assert_int_equal(info.level, 3);
	assert_string_equal(info.release, "6.1.0-test-amd64");
	assert_int_equal(info.machine, lf_kmod_host_machine());
	assert_int_equal(lf_kmod_check(&info, "6.1.0-test-amd64", reason, sizeof(reason)), 0);
}

static void test_other_kernel_refused(void **state)
{
	struct lf_kmod_info info;
	char reason[256];

	assert_int_equal(lf_kmod_inspect(livepatch_obj, &info, reason, sizeof(reason)), 0);
	assert_int_equal(lf_kmod_check(&info, "6.1.0-99-amd64", reason, sizeof(reason)), -EMEDIUMTYPE);
	assert_non_null(strstr(reason, "6.1.0-test-amd64"));
	assert_non_null(strstr(reason, "6.1.0-99-amd64"));
}

static void test_plain_module_refused(void **state)
{
	struct lf_kmod_info info;
	char reason[256];

	assert_int_equal(lf_kmod_inspect(plain_obj, &info, reason, sizeof(reason)), 0);
	assert_false(info.livepatch);
	assert_int_equal(lf_kmod_check(&info, "6.1.0-test-amd64", reason, sizeof(reason)), -ENOEXEC);
	assert_non_null(strstr(reason, "not a livepatch module"));
}

static void test_other_arch_refused(void **state)
{
	struct lf_kmod_info info;
	char reason[256];

	assert_int_equal(lf_kmod_inspect(livepatch_obj, &info, reason, sizeof(reason)), 0);
	info.machine = lf_kmod_host_machine() == 62 /* EM_X86_64 */ ? 183 : 62;
	assert_int_equal(lf_kmod_check(&info, "6.1.0-test-amd64", reason, sizeof(reason)), -ENOEXEC);
	assert_non_null(strstr(reason, "built for"));
}

static void test_truncated_refused(void **state)
{
	char path[] = "/tmp/lf-test-kmod.XXXXXX", reason[256];
	struct lf_kmod_info info;
	char *data;
	size_t len;
	int fd;

	assert_int_equal(lf_read_file(livepatch_obj, 1 << 20, &data, &len), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	/* Every cut point must be refused cleanly, never crash or pass. */
	for (size_t cut = 0; cut < len; cut += len / 37 + 1) {
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, data, cut, 0), (ssize_t)cut);
		assert_int_equal(lf_kmod_inspect(path, &info, reason, sizeof(reason)), -ENOEXEC);
	}
	close(fd);
	unlink(path);
	free(data);
}

static void test_not_elf_and_executables_refused(void **state)
{
	struct lf_kmod_info info;
	char reason[256];

	assert_int_equal(lf_kmod_inspect("/etc/hostname", &info, reason, sizeof(reason)), -ENOEXEC);
	assert_string_equal(reason, "not an ELF file");
	assert_int_equal(lf_kmod_inspect("/proc/self/exe", &info, reason, sizeof(reason)), -ENOEXEC);
	assert_non_null(strstr(reason, "expected relocatable"));
	assert_int_equal(lf_kmod_inspect("/nonexistent.ko", &info, reason, sizeof(reason)), -ENOENT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect_livepatch),
		cmocka_unit_test(test_other_kernel_refused),
		cmocka_unit_test(test_plain_module_refused),
		cmocka_unit_test(test_other_arch_refused),
		cmocka_unit_test(test_truncated_refused),
		cmocka_unit_test(test_not_elf_and_executables_refused),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: test_kmod LIVEPATCH.o PLAIN.o\n");
		return 2;
	}
	livepatch_obj = argv[1];
	plain_obj = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
