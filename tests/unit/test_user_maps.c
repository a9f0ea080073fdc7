/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/PID/maps parsing and the choice of an address within branch reach. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "user-int.h"

#define GIB (1ull << 30)

static struct lf_maps parse(const char *text)
{
	struct lf_maps m;
	char *copy = strdup(text);

	assert_non_null(copy);
	assert_int_equal(lf_maps_parse(copy, &m), 0);
	return m;
}

static void test_parse_fields(void **state)
{
	struct lf_maps m = parse(
		"55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1234                       /usr/bin/my prog\n"
		"55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:00 1234                       /usr/bin/my prog\n"
		"55d0c1a00000-55d0c1a21000 rw-p 00000000 00:00 0                          [heap]\n"
		"7f0000000000-7f0000001000 rw-s 00000000 00:05 99                         /memfd:x (deleted)\n"
		"7f0000002000-7f0000003000 ---p 00000000 00:00 0 \n");

	assert_int_equal(m.n, 5);
	assert_true(m.v[1].start == 0x55d0c0a01000ull && m.v[1].end == 0x55d0c0a02000ull);
	assert_true(m.v[1].r && !m.v[1].w && m.v[1].x && !m.v[1].shared);
	assert_int_equal(m.v[1].offset, 0x1000);
	assert_int_equal(m.v[1].dev_major, 0xfe);
	assert_int_equal(m.v[1].inode, 1234);
	assert_string_equal(m.v[1].path, "/usr/bin/my prog");
	assert_string_equal(m.v[2].path, "[heap]");
	assert_true(m.v[3].shared);
	assert_string_equal(m.v[3].path, "/memfd:x (deleted)");
	assert_null(m.v[4].path);
	assert_ptr_equal(lf_maps_find(&m, 0x55d0c0a01800ull), &m.v[1]);
	assert_null(lf_maps_find(&m, 0x55d0c0a02000ull));
	assert_null(lf_maps_find(&m, 0x1000));
	lf_maps_release(&m);
}

static void test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"zz-1000 r--p 00000000 00:00 0\n",
		"2000-1000 r--p 00000000 00:00 0\n",		/* end before start */
		"1000-2000 r-- 00000000 00:00 0\n",		/* short permissions */
		"1000-2000 r--p 0000000g 00:00 0\n",
		"1000-2000 r--p 00000000 00:00 x\n",
		"3000-4000 r--p 0 00:00 0\n1000-2000 r--p 0 00:00 0\n",	/* unsorted */
	};
	struct lf_maps m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *copy = strdup(bad[i]);
		assert_int_equal(lf_maps_parse(copy, &m), -EINVAL);
	}
}

static void test_parse_self(void **state)
{
	struct lf_maps m;
	uint64_t here = (uint64_t)(uintptr_t)&test_parse_self;

	assert_int_equal(lf_maps_read(getpid(), &m), 0);
	const struct lf_map *v = lf_maps_find(&m, here);
	assert_non_null(v);
	assert_true(v->x && v->path && v->path[0] == '/');
	lf_maps_release(&m);
}

/* Every byte of [a, a+size) must reach every byte of [lo, hi). */
static void assert_reach(uint64_t a, uint64_t size, uint64_t lo, uint64_t hi)
{
	assert_true(a % 4096 == 0);
	assert_true(a + size - lo < 2 * GIB || lo > a);
	assert_true(a + size <= lo || a >= hi);
	uint64_t far = a < lo ? hi - a : a + size - lo;
	assert_true(far < 2 * GIB);
}

static void test_gap_nearest_below(void **state)
{
	struct lf_maps m = parse(
		"555500000000-555500010000 r-xp 00000000 fe:00 1 /bin/x\n"
		"555500010000-555500020000 rw-p 00010000 fe:00 1 /bin/x\n"
		"555500100000-555500200000 rw-p 00000000 00:00 0 [heap]\n"
		"7ffff7000000-7ffff7100000 r-xp 00000000 fe:00 2 /lib/libc.so\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n");
	uint64_t a, lo = 0x555500000000ull, hi = 0x555500020000ull;

	assert_int_equal(lf_maps_find_gap(&m, lo, hi, 3 * 4096, 2 * GIB, &a), 0);
	assert_reach(a, 3 * 4096, lo, hi);
	/* The nearest hole is just below the object, one guard page away. */
	assert_int_equal(a, lo - 4096 - 3 * 4096);
	lf_maps_release(&m);
}

static void test_gap_avoids_heap_growth_and_stack(void **state)
{
	/* Only room above: the hole right after [heap] is kept for brk. */
	struct lf_maps m = parse(
		"000000010000-555500000000 rw-p 00000000 00:00 0\n"
		"555500000000-555500010000 r-xp 00000000 fe:00 1 /bin/x\n"
		"555500010000-555500020000 rw-p 00000000 00:00 0 [heap]\n");
	uint64_t a;

	assert_int_equal(lf_maps_find_gap(&m, 0x555500000000ull, 0x555500010000ull, 4096, 2 * GIB, &a), 0);
	assert_true(a >= 0x555500020000ull + (256ull << 20));
	assert_reach(a, 4096, 0x555500000000ull, 0x555500010000ull);
	lf_maps_release(&m);
}

static void test_gap_none_in_reach(void **state)
{
	/* Everything within 2 GiB of the code is mapped. */
	struct lf_maps m = parse(
		"000000010000-000100000000 rw-p 00000000 00:00 0\n"
		"000100000000-000100001000 r-xp 00000000 fe:00 1 /bin/x\n"
		"000100001000-000300000000 rw-p 00000000 00:00 0\n");
	uint64_t a = 0;

	assert_int_equal(lf_maps_find_gap(&m, 0x100000000ull, 0x100001000ull, 4096, 2 * GIB, &a), -ENOSPC);
	assert_int_equal(a, 0);
	/* An object wider than the reach can never be served. */
	assert_int_equal(lf_maps_find_gap(&m, 0, 3 * GIB, 4096, 2 * GIB, &a), -ENOSPC);
	lf_maps_release(&m);
}

static void test_gap_low_non_pie(void **state)
{
	struct lf_maps m = parse(
		"00400000-00401000 r--p 00000000 fe:00 1 /bin/x\n"
		"00401000-00402000 r-xp 00001000 fe:00 1 /bin/x\n"
		"00402000-00403000 rw-p 00002000 fe:00 1 /bin/x\n"
		"01000000-01021000 rw-p 00000000 00:00 0 [heap]\n");
	uint64_t a;

	assert_int_equal(lf_maps_find_gap(&m, 0x400000, 0x403000, 8192, 2 * GIB, &a), 0);
	assert_true(a >= 0x10000 && a + 8192 <= 0x400000 - 4096);
	lf_maps_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_self),
		cmocka_unit_test(test_gap_nearest_below),
		cmocka_unit_test(test_gap_avoids_heap_growth_and_stack),
		cmocka_unit_test(test_gap_none_in_reach),
		cmocka_unit_test(test_gap_low_non_pie),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
