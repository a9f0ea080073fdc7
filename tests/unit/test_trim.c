/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The idle trim (src/agent/trim.c) on mappings made by the test: clean pages
 * of a read-only private file mapping are unmapped, a page this process
 * wrote in such a mapping keeps what was written, writable mappings are not
 * touched, and the daemon's wrapper does nothing when LIVEFIX_NO_TRIM is set
 * or while another applier holds the user lock.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "trim.h"
#include "trust_agent.h"

#define NPAGES 8
#define WRITTEN 3	/* the page written before the mapping was made read-only */

struct fixture {
	char dir[64];
	size_t page;
	char *ro;	/* r--p, like RELRO: page WRITTEN copied on write */
	char *rw;	/* rw-p, like .data: never trimmed */
};

static bool is_present(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long page = sysconf(_SC_PAGESIZE);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &e, sizeof(e), (off_t)((uintptr_t)addr / (uintptr_t)page * 8)),
			 (ssize_t)sizeof(e));
	close(fd);
	return e >> 63;
}

static size_t count_present(const char *p, size_t page)
{
	size_t n = 0;

	for (size_t i = 0; i < NPAGES; i++)
		n += is_present(p + i * page);
	return n;
}

/* Every page of both mappings resident again; contents checked. */
static void touch_all(struct fixture *f)
{
	for (size_t i = 0; i < NPAGES; i++) {
		assert_int_equal(f->ro[i * f->page], i == WRITTEN ? 'W' : 'a' + (int)i);
		assert_int_equal(f->rw[i * f->page + 1], 'a' + (int)i);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128], *buf;
	int fd;

	assert_non_null(f);
	f->page = (size_t)sysconf(_SC_PAGESIZE);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lf-trim.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	buf = malloc(f->page);
	assert_non_null(buf);
	for (size_t i = 0; i < NPAGES; i++) {
		memset(buf, 'a' + (int)i, f->page);
		assert_int_equal(write(fd, buf, f->page), (ssize_t)f->page);
	}
	free(buf);
	f->ro = mmap(NULL, NPAGES * f->page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	f->rw = mmap(NULL, NPAGES * f->page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(f->ro != MAP_FAILED && f->rw != MAP_FAILED);
	f->ro[WRITTEN * f->page] = 'W';
	assert_int_equal(mprotect(f->ro, NPAGES * f->page, PROT_READ), 0);
	/* The lock of a test of its own, not the device's. */
	snprintf(path, sizeof(path), "%s/run", f->dir);
	setenv("LIVEFIX_RUNTIME_DIR", path, 1);
	unsetenv("LIVEFIX_NO_TRIM");
	touch_all(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	munmap(f->ro, NPAGES * f->page);
	munmap(f->rw, NPAGES * f->page);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_clean_pages_dropped_written_kept(void **state)
{
	struct fixture *f = *state;
	struct lf_trim_stats st;

	assert_int_equal(count_present(f->ro, f->page), NPAGES);
	assert_int_equal(lf_agent_trim(&st), 0);
	/* Only the written page is still mapped in the read-only mapping... */
	assert_int_equal(count_present(f->ro, f->page), 1);
	assert_true(is_present(f->ro + WRITTEN * f->page));
	/* ...and the writable one is untouched. */
	assert_int_equal(count_present(f->rw, f->page), NPAGES);
	assert_true(st.mappings >= 1);
	assert_true(st.dropped >= NPAGES - 1);
	assert_true(st.kept >= 1);
	assert_true(st.resident >= st.dropped + 1);
	/* What was written survives; the rest comes back from the file. */
	touch_all(f);
}

static void test_idle_trims(void **state)
{
	struct fixture *f = *state;

	lf_agent_trim_idle();
	assert_int_equal(count_present(f->ro, f->page), 1);
	touch_all(f);
}

static void test_no_trim_env(void **state)
{
	struct fixture *f = *state;

	setenv("LIVEFIX_NO_TRIM", "1", 1);
	lf_agent_trim_idle();
	assert_int_equal(count_present(f->ro, f->page), NPAGES);
	setenv("LIVEFIX_NO_TRIM", "0", 1);	/* "0" does not disable it */
	lf_agent_trim_idle();
	assert_int_equal(count_present(f->ro, f->page), 1);
	touch_all(f);
}

static void test_not_while_an_applier_holds_the_lock(void **state)
{
	struct fixture *f = *state;
	int lock = lf_agent_lock_user();

	assert_true(lock >= 0);
	lf_agent_trim_idle();
	assert_int_equal(count_present(f->ro, f->page), NPAGES);
	close(lock);
	lf_agent_trim_idle();
	assert_int_equal(count_present(f->ro, f->page), 1);
	touch_all(f);
}

static void test_candidates(void **state)
{
	static const struct {
		const char *line;
		bool ok;
	} lines[] = {
		{ "7f8ff8460000-7f8ff85d6000 r-xp 00026000 fe:00 1315074 "
		  "/usr/lib/x86_64-linux-gnu/libc.so.6", true },
		{ "55d0a4c1d000-55d0a4c2b000 r--p 00000000 fe:00 2883604 /usr/bin/live fix", true },
		{ "7f8ff861b000-7f8ff861d000 rw-p 001d3000 fe:00 1315074 /usr/lib/libc.so.6", false },
		{ "7f8ff8460000-7f8ff85d6000 r-xs 00026000 fe:00 1315074 /dev/shm/x", false },
		{ "7f8ff8460000-7f8ff85d6000 ---p 00000000 fe:00 1315074 /usr/lib/libc.so.6", false },
		{ "7ffe42e10000-7ffe42e31000 r-xp 00000000 00:00 0 [vdso]", false },
		{ "7ffe42e10000-7ffe42e31000 r--p 00000000 00:00 0", false },
		{ "7ffe42e10000-7ffe42e31000 r--p 00000000 00:05 4242 [anon:x]", false },
		{ "7ffe42e10800-7ffe42e31000 r--p 00000000 fe:00 1 /lib/x.so", false },	/* unaligned */
		{ "7ffe42e31000-7ffe42e10000 r--p 00000000 fe:00 1 /lib/x.so", false },	/* reversed */
		{ "7ffe42e10000 r--p 00000000 fe:00 1 /lib/x.so", false },
		{ "10000000000001000-10000000000002000 r--p 0 fe:00 1 /lib/x.so", false },	/* 17 digits */
		{ "7ffe42e10000-7ffe42e31000 r-", false },
		{ "", false },
	};
	uintptr_t start = 0, end = 0;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lf_agent_trim_candidate(lines[i].line, 4096, &start, &end) != lines[i].ok)
			fail_msg("line %zu: %s", i, lines[i].line);
	}
	assert_true(lf_agent_trim_candidate(lines[0].line, 4096, &start, &end));
	assert_true(start == (uintptr_t)0x7f8ff8460000ull && end == (uintptr_t)0x7f8ff85d6000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates),
		cmocka_unit_test_setup_teardown(test_clean_pages_dropped_written_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_trims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_trim_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_while_an_applier_holds_the_lock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
