/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kconfig.h"

static const char sample[] =
	"#\n# Automatically generated file; DO NOT EDIT.\n#\n"
	"CONFIG_LIVEPATCH=y\n"
	"# CONFIG_MODULE_SIG_FORCE is not set\n"
	"CONFIG_MODULE_SIG=y\n"
	"CONFIG_MODULE_SIG_HASH=\"sha256\"\n"
	"CONFIG_LIVEPATCH_EXTRA=m\n"
	"CONFIG_NR_CPUS=8192";

static void test_get(void **state)
{
	struct lf_kconfig c;
	char val[32];

	assert_int_equal(lf_kconfig_from_text(sample, strlen(sample), "test", &c), 0);
	assert_string_equal(lf_kconfig_get(&c, "LIVEPATCH", val, sizeof(val)), "y");
	assert_string_equal(lf_kconfig_get(&c, "LIVEPATCH_EXTRA", val, sizeof(val)), "m");
	assert_string_equal(lf_kconfig_get(&c, "MODULE_SIG_HASH", val, sizeof(val)), "\"sha256\"");
	/* The last line has no newline. */
	assert_string_equal(lf_kconfig_get(&c, "NR_CPUS", val, sizeof(val)), "8192");
	assert_null(lf_kconfig_get(&c, "MODULE_SIG_FORCE", val, sizeof(val)));
	/* A prefix of a longer name is not a match. */
	assert_null(lf_kconfig_get(&c, "LIVE", val, sizeof(val)));
	assert_null(lf_kconfig_get(&c, "MODULE", val, sizeof(val)));
	lf_kconfig_release(&c);
}

static void test_value_truncated_to_buffer(void **state)
{
	struct lf_kconfig c;
	char val[4];

	assert_int_equal(lf_kconfig_from_text(sample, strlen(sample), "test", &c), 0);
	assert_string_equal(lf_kconfig_get(&c, "NR_CPUS", val, sizeof(val)), "819");
	lf_kconfig_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_value_truncated_to_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
