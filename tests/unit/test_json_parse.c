/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "livefix/json_parse.h"

static int parse(const char *s, struct lf_jv **v)
{
	return lf_json_parse(s, strlen(s), NULL, v);
}

static char *canon(const char *s)
{
	struct lf_buf b = LF_BUF_INIT(1 << 16);
	struct lf_jv *v;

	assert_int_equal(parse(s, &v), 0);
	assert_int_equal(lf_json_canonical(v, &b), 0);
	lf_jv_free(v);
	return lf_buf_detach(&b, NULL);
}

static void test_canonical_sorts_and_strips(void **state)
{
	char *c = canon(" { \"b\" : [1, -2 ,true,false,null], \"a\":\"x\\u00e9\\/\",\n\"A\":{} }");

	/* Bytewise key order: "A" < "a" < "b"; escapes resolved; raw UTF-8. */
	assert_string_equal(c, "{\"A\":{},\"a\":\"x\xc3\xa9/\",\"b\":[1,-2,true,false,null]}");
	free(c);
}

static void test_canonical_escapes_only_quote_and_backslash(void **state)
{
	char *c = canon("[\"q\\\"b\\\\\"]");

	assert_string_equal(c, "[\"q\\\"b\\\\\"]");
	free(c);
}

static void test_canonical_is_idempotent(void **state)
{
	char *c1 = canon("{\"z\":{\"y\":[{\"b\":1,\"a\":2}]},\"k\":9223372036854775807}");
	char *c2 = canon(c1);

	assert_string_equal(c1, c2);
	assert_non_null(strstr(c1, "9223372036854775807"));
	free(c1);
	free(c2);
}

static void test_refuses_malformed(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "-0", "1.5", "1e3", "+1",
		"\"\\x\"", "\"a\nb\"", "\"\\u0000\"", "\"\\u0001\"", "\"\\ud800\"", "\"\xff\"",
		"\"\xc0\x80\"", "\"\xed\xa0\x80\"", "tru", "nul", "[1] x", "{\"a\":1,\"a\":2}",
		"{1:2}", "\"unterminated",
	};
	struct lf_jv *v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &v);

		if (r != -EBADMSG)
			fail_msg("input %zu '%s': got %d", i, bad[i], r);
	}
}

static void test_integer_bounds(void **state)
{
	struct lf_jv *v;

	assert_int_equal(parse("-9223372036854775808", &v), 0);
	assert_true(v->u.i == INT64_MIN);
	lf_jv_free(v);
	assert_int_equal(parse("9223372036854775808", &v), -EOVERFLOW);
	assert_int_equal(parse("99999999999999999999999", &v), -EOVERFLOW);
}

static void test_limits(void **state)
{
	struct lf_json_limits lim = { .max_depth = 3, .max_values = 5, .max_string = 4 };
	struct lf_jv *v;

	assert_int_equal(lf_json_parse("[[[1]]]", 7, &lim, &v), 0);
	lf_jv_free(v);
	assert_int_equal(lf_json_parse("[[[[1]]]]", 9, &lim, &v), -EOVERFLOW);
	assert_int_equal(lf_json_parse("[1,2,3,4,5]", 11, &lim, &v), -EOVERFLOW);
	assert_int_equal(lf_json_parse("\"abcd\"", 6, &lim, &v), 0);
	lf_jv_free(v);
	assert_int_equal(lf_json_parse("\"abcde\"", 7, &lim, &v), -EOVERFLOW);
	assert_int_equal(lf_json_parse("{\"abcde\":1}", 11, &lim, &v), -EOVERFLOW);
}

static void test_deep_nesting_is_bounded(void **state)
{
	char *deep = malloc(200001);
	struct lf_jv *v;

	memset(deep, '[', 100000);
	memset(deep + 100000, ']', 100000);
	deep[200000] = '\0';
	assert_int_equal(lf_json_parse(deep, 200000, NULL, &v), -EOVERFLOW);
	free(deep);
}

static void test_length_is_not_nul_terminated(void **state)
{
	struct lf_jv *v;

	/* Only len bytes count, whatever follows in memory. */
	assert_int_equal(lf_json_parse("[1]garbage", 3, NULL, &v), 0);
	lf_jv_free(v);
	assert_int_equal(lf_json_parse("\"ab\"", 3, NULL, &v), -EBADMSG);
}

static void test_empty_string(void **state)
{
	struct lf_jv *v;

	assert_int_equal(parse("{\"\":\"\"}", &v), 0);
	assert_string_equal(v->u.kids[0].key, "");
	assert_string_equal(v->u.kids[0].u.s, "");
	assert_int_equal(v->u.kids[0].len, 0);
	lf_jv_free(v);
}

static void test_getters(void **state)
{
	static const char *const allowed[] = { "n", "s", "o", "a", NULL };
	static const char *const fewer[] = { "n", NULL };
	const struct lf_jv *o, *a;
	const char *s;
	int64_t n;
	struct lf_jv *v;

	assert_int_equal(parse("{\"n\":7,\"s\":\"str\",\"o\":{},\"a\":[1,2]}", &v), 0);
	assert_int_equal(lf_jv_get_int(v, "n", 0, 10, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(lf_jv_get_int(v, "n", 8, 10, &n), -EOVERFLOW);
	assert_int_equal(lf_jv_get_int(v, "s", 0, 10, &n), -EBADMSG);
	assert_int_equal(lf_jv_get_int(v, "missing", 0, 10, &n), -EBADMSG);
	assert_int_equal(lf_jv_get_str(v, "s", 3, &s), 0);
	assert_string_equal(s, "str");
	assert_int_equal(lf_jv_get_str(v, "s", 2, &s), -EOVERFLOW);
	assert_int_equal(lf_jv_get_obj(v, "o", &o), 0);
	assert_int_equal(lf_jv_get_arr(v, "a", 2, &a), 0);
	assert_int_equal(lf_jv_get_arr(v, "a", 1, &a), -EOVERFLOW);
	assert_int_equal(lf_jv_check_keys(v, allowed), 0);
	assert_int_equal(lf_jv_check_keys(v, fewer), -EBADMSG);
	assert_null(lf_jv_get(a, "n"));
	lf_jv_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_sorts_and_strips),
		cmocka_unit_test(test_canonical_escapes_only_quote_and_backslash),
		cmocka_unit_test(test_canonical_is_idempotent),
		cmocka_unit_test(test_refuses_malformed),
		cmocka_unit_test(test_integer_bounds),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_deep_nesting_is_bounded),
		cmocka_unit_test(test_length_is_not_nul_terminated),
		cmocka_unit_test(test_empty_string),
		cmocka_unit_test(test_getters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
