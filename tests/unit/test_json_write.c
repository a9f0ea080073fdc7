/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "livefix/json.h"

static void test_compact_nesting(void **state)
{
	struct lf_buf b = LF_BUF_INIT(4096);
	struct lf_json j;

	lf_json_init(&j, &b, false);
	lf_json_object_begin(&j);
	lf_json_kv_string(&j, "name", "a\"b\\c\n\x01");
	lf_json_key(&j, "list");
	lf_json_array_begin(&j);
	lf_json_int(&j, -1);
	lf_json_bool(&j, true);
	lf_json_null(&j);
	lf_json_array_end(&j);
	lf_json_key(&j, "empty");
	lf_json_object_begin(&j);
	lf_json_object_end(&j);
	lf_json_object_end(&j);
	assert_int_equal(lf_json_finish(&j), 0);
	assert_string_equal(b.data,
		"{\"name\":\"a\\\"b\\\\c\\n\\u0001\",\"list\":[-1,true,null],\"empty\":{}}");
	lf_buf_release(&b);
}

static void test_pretty(void **state)
{
	struct lf_buf b = LF_BUF_INIT(4096);
	struct lf_json j;

	lf_json_init(&j, &b, true);
	lf_json_object_begin(&j);
	lf_json_kv_int(&j, "a", 1);
	lf_json_key(&j, "b");
	lf_json_array_begin(&j);
	lf_json_string(&j, "x");
	lf_json_array_end(&j);
	lf_json_object_end(&j);
	assert_int_equal(lf_json_finish(&j), 0);
	assert_string_equal(b.data, "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ]\n}\n");
	lf_buf_release(&b);
}

static void test_error_sticks(void **state)
{
	struct lf_buf b = LF_BUF_INIT(8);
	struct lf_json j;

	lf_json_init(&j, &b, false);
	lf_json_array_begin(&j);
	lf_json_string(&j, "much too long for the buffer");
	lf_json_array_end(&j);
	assert_int_not_equal(lf_json_finish(&j), 0);
	lf_buf_release(&b);
}

static void test_flush_writes_and_releases(void **state)
{
	struct lf_buf b = LF_BUF_INIT(64);
	struct lf_json j;
	char text[64] = "";
	FILE *f = fmemopen(text, sizeof(text), "w");

	assert_non_null(f);
	lf_json_init(&j, &b, false);
	lf_json_array_begin(&j);
	lf_json_int(&j, 7);
	lf_json_array_end(&j);
	assert_int_equal(lf_json_flush(&j, f), 0);
	fclose(f);
	assert_string_equal(text, "[7]");
	assert_null(b.data);

	/* An error is returned and nothing is written. */
	b = (struct lf_buf)LF_BUF_INIT(4);
	memset(text, 0, sizeof(text));
	f = fmemopen(text, sizeof(text), "w");
	lf_json_init(&j, &b, false);
	lf_json_string(&j, "too long for four bytes");
	assert_int_not_equal(lf_json_flush(&j, f), 0);
	fclose(f);
	assert_string_equal(text, "");
	assert_null(b.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_nesting),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_error_sticks),
		cmocka_unit_test(test_flush_writes_and_releases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
