/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "livefix/buf.h"

static void test_append_and_terminate(void **state)
{
	struct lf_buf b = LF_BUF_INIT(64);

	assert_int_equal(lf_buf_puts(&b, "abc"), 0);
	assert_int_equal(lf_buf_printf(&b, "-%d-", 42), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.data, "abc-42-");
	lf_buf_release(&b);
}

static void test_bound_is_hard(void **state)
{
	struct lf_buf b = LF_BUF_INIT(8);

	assert_int_equal(lf_buf_puts(&b, "12345678"), 0);
	/* One byte over the bound fails and leaves the contents intact. */
	assert_int_equal(lf_buf_putc(&b, 'x'), -EOVERFLOW);
	assert_int_equal(lf_buf_printf(&b, "%s", "y"), -EOVERFLOW);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(b.len, 8);
	lf_buf_release(&b);
	/* Byte by byte (putc's fast path) up to the bound, then refused. */
	b = (struct lf_buf)LF_BUF_INIT(100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(lf_buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(lf_buf_putc(&b, 'x'), -EOVERFLOW);
	assert_int_equal(b.len, 100);
	assert_int_equal(strlen(b.data), 100);
	lf_buf_release(&b);
}

static void test_huge_request_does_not_wrap(void **state)
{
	struct lf_buf b = LF_BUF_INIT(SIZE_MAX);

	assert_int_equal(lf_buf_puts(&b, "a"), 0);
	assert_int_equal(lf_buf_reserve(&b, SIZE_MAX), -EOVERFLOW);
	lf_buf_release(&b);
}

static void test_detach_empty_gives_string(void **state)
{
	struct lf_buf b = LF_BUF_INIT(4);
	size_t len = 99;
	char *p = lf_buf_detach(&b, &len);

	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_bound_is_hard),
		cmocka_unit_test(test_huge_request_does_not_wrap),
		cmocka_unit_test(test_detach_empty_gives_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
