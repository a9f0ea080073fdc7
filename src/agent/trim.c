/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trimming the idle daemon (trim.h).
 *
 * Why it is safe. MADV_DONTNEED on a private file mapping removes the page
 * table entries of the range: a page still shared with the page cache is
 * mapped again from it at the next access, unchanged; but a page this
 * process wrote was copied on write into an anonymous page, and dropping
 * that one reverts it to the file's contents (the dynamic loader's
 * relocations in RELRO, a live patch written into libc's code). So only
 * read-only private mappings of files are candidates, and in those only
 * runs of pages that /proc/self/pagemap shows as not written: present and
 * still a file page (bit 61), or not present and not swapped. A written
 * page is never in a run that is dropped. Writable mappings (.data, .bss,
 * the heap) are left alone entirely.
 *
 * Pages are written into this process by others only through ptrace or
 * /proc/PID/mem, which livefix's own appliers do holding the user lock; the
 * daemon trims only while it holds that lock (lf_agent_trim_idle), so no
 * patch can land between the pagemap read and the madvise.
 *
 * What it costs. The page cache is not touched: these are the pages that
 * reclaim would take from this process anyway under memory pressure. A
 * page needed again costs a minor fault, and the kernel's fault-around maps
 * up to 64 KiB of its neighbours with it (MADV_RANDOM does not stop that:
 * on 6.1 it only limits readahead), so what the waiting daemon really uses
 * comes back in 64 KiB windows.
 *
 * Example (x86_64, glibc 2.36): libc's code is 1.4 MB mapped, 1.1 MB of it
 * resident after start-up. The waiting loop calls clock_gettime, stat,
 * recv and poll and a few string functions: after the trim, 6 windows of
 * 64 KiB of libc's code (0.3-0.4 MB) are resident while the daemon waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "livefix/log.h"

#include "trim.h"
#include "trust_agent.h"

#define MAPS_MAX (1u << 20)	/* bytes of /proc/self/maps read at most */
#define RANGES_MAX 256
#define LINE_MAX_LEN 4096	/* longer lines (long paths) are skipped */
#define PM_BATCH 512		/* pagemap entries read at once */
#define PM_FILE (1ull << 61)
#define PM_SWAP (1ull << 62)
#define PM_PRESENT (1ull << 63)

struct range {
	uintptr_t start, end;
};

static const char *skip_field(const char *p)
{
	while (*p && *p != ' ')
		p++;
	while (*p == ' ')
		p++;
	return p;
}

/*
 * A hexadecimal number of at most 16 digits, its end in *ret_end (NULL if
 * it is not followed by '-' or ' '). By hand, not strtoull: the locale's
 * tables and the conversion code would be mapped again just for this.
 */
static uint64_t parse_hex(const char *p, const char **ret_end)
{
	uint64_t v = 0;
	unsigned digits = 0;

	for (; digits < 16; p++, digits++) {
		unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0') :
			     *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10) : 16;
		if (d == 16)
			break;
		v = v << 4 | d;
	}
	*ret_end = digits && (*p == ' ' || *p == '-') ? p : NULL;
	return v;
}

/* A line is "start-end perms offset dev inode path". */
bool lf_agent_trim_candidate(const char *line, uintptr_t page, uintptr_t *ret_start,
			     uintptr_t *ret_end)
{
	const char *perms, *p, *end;
	uint64_t start, stop;

	start = parse_hex(line, &end);
	if (!end || *end != '-')
		return false;
	stop = parse_hex(end + 1, &end);
	if (!end || *end != ' ' || start >= stop || !page || (start | stop) % page ||
	    stop > UINTPTR_MAX)
		return false;
	perms = end + 1;
	if (perms[0] != 'r' || perms[1] != '-' || !perms[2] || perms[3] != 'p' || perms[4] != ' ')
		return false;
	p = skip_field(skip_field(skip_field(perms)));	/* perms, offset, dev */
	if (*p < '0' || *p > '9' || (p[0] == '0' && (p[1] == ' ' || !p[1])))
		return false;	/* inode 0: not a file */
	p = skip_field(p);
	if (*p != '/')
		return false;	/* [vdso], [heap], anonymous */
	*ret_start = (uintptr_t)start;
	*ret_end = (uintptr_t)stop;
	return true;
}

/* The candidate mappings, in the order of the maps file; at most max. */
static int read_ranges(struct range *v, size_t max, uintptr_t page, size_t *ret_n)
{
	char buf[LINE_MAX_LEN + 1];
	size_t have = 0, total = 0, n = 0;
	bool skipping = false;	/* in a line longer than buf */
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	while (n < max && total < MAPS_MAX) {
		ssize_t got = read(fd, buf + have, LINE_MAX_LEN - have);
		char *line = buf, *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : 0;
			break;
		}
		total += (size_t)got;
		have += (size_t)got;
		buf[have] = '\0';
		while (n < max && (nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			*nl = '\0';
			if (!skipping && lf_agent_trim_candidate(line, page, &v[n].start, &v[n].end))
				n++;
			skipping = false;
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == LINE_MAX_LEN) {
			have = 0;
			skipping = true;
		}
	}
	close(fd);
	*ret_n = n;
	return r;
}

/* Unmaps [start, end) if it holds resident pages; counts them as dropped. */
static int drop(uintptr_t start, uintptr_t end, size_t resident, struct lf_trim_stats *st)
{
	if (!resident || start >= end)
		return 0;
	if (madvise((void *)start, end - start, MADV_DONTNEED) < 0)
		return -errno;
	st->dropped += resident;
	return 0;
}

/*
 * One mapping, PM_BATCH pages at a time: runs of pages not written by this
 * process are dropped; a written (or swapped) page ends a run and stays.
 */
static int trim_range(int pm, const struct range *rg, uintptr_t page, struct lf_trim_stats *st)
{
	uint64_t e[PM_BATCH];
	uintptr_t run = rg->start, a = rg->start;
	size_t resident = 0;
	int r = 0;

	while (a < rg->end) {
		size_t n = (rg->end - a) / page, len;
		ssize_t got;

		n = n < PM_BATCH ? n : PM_BATCH;
		len = n * sizeof(e[0]);
		got = pread(pm, e, len, (off_t)(a / page * sizeof(e[0])));
		if (got != (ssize_t)len)
			return got < 0 ? -errno : -EIO;	/* the run so far is not dropped */
		for (size_t i = 0; i < n; i++, a += page) {
			bool present = e[i] & PM_PRESENT;

			st->resident += present;
			if ((e[i] & PM_SWAP) || (present && !(e[i] & PM_FILE))) {
				st->kept++;
				if (r == 0)
					r = drop(run, a, resident, st);
				run = a + page;
				resident = 0;
			} else {
				resident += present;
			}
		}
	}
	return r == 0 ? drop(run, a, resident, st) : r;
}

int lf_agent_trim(struct lf_trim_stats *ret)
{
	struct range v[RANGES_MAX];
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
	size_t n = 0;
	int pm, r;

	memset(ret, 0, sizeof(*ret));
	r = read_ranges(v, RANGES_MAX, page, &n);
	if (r < 0)
		return r;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return -errno;	/* without it, written pages cannot be told apart */
	for (size_t i = 0; i < n; i++) {
		int ri = trim_range(pm, &v[i], page, ret);
		ret->mappings++;
		if (ri < 0 && r == 0)
			r = ri;
	}
	close(pm);
	return r;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void lf_agent_trim_idle(void)
{
	const char *off = getenv("LIVEFIX_NO_TRIM");
	struct lf_trim_stats st;
	uint64_t t0 = now_us();
	long ps = sysconf(_SC_PAGESIZE);
	size_t kb = (size_t)(ps > 0 ? ps : 4096) / 1024;
	int lock, r;

	if (off && *off && strcmp(off, "0"))
		return;
	lock = lf_agent_lock_user_wait(0);
	if (lock < 0) {
		lf_debug("trim: skipped: the user lock: %s", strerror(-lock));
		return;
	}
#ifdef __GLIBC__
	malloc_trim(0);	/* first: the pages of its code go with the trim */
#endif
	r = lf_agent_trim(&st);
	close(lock);
	if (r < 0)
		lf_debug("trim: %s (after %zu mappings)", strerror(-r), st.mappings);
	lf_debug("trim: %zu of %zu resident KB in %zu file mappings unmapped, %zu KB written "
		 "kept, in %llu us", st.dropped * kb, st.resident * kb,
		 st.mappings, st.kept * kb, (unsigned long long)(now_us() - t0));
}
