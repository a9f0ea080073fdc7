/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/PID/maps: parsing, lookup, and a free range within branch reach. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/file.h"

#include "user-int.h"

#define PAGE 4096ull
#define USER_MIN 0x10000ull		/* above vm.mmap_min_addr */
#define USER_MAX LF_ARCH_USER_MAX
#define HEAP_GROWTH (256ull << 20)	/* leave brk room above [heap] */
#define STACK_GROWTH (64ull << 20)	/* and room below [stack] */

static int parse_hex(char **p, char end, uint64_t *ret)
{
	char *e;

	errno = 0;
	unsigned long long v = strtoull(*p, &e, 16);
	if (e == *p || errno || *e != end)
		return -EINVAL;
	*p = e + 1;
	*ret = v;
	return 0;
}

static int parse_line(char *line, struct lf_map *m)
{
	char *p = line;
	uint64_t maj, min;

	memset(m, 0, sizeof(*m));
	if (parse_hex(&p, '-', &m->start) || parse_hex(&p, ' ', &m->end) || m->end <= m->start)
		return -EINVAL;
	if (strlen(p) < 5 || p[4] != ' ')
		return -EINVAL;
	m->r = p[0] == 'r';
	m->w = p[1] == 'w';
	m->x = p[2] == 'x';
	m->shared = p[3] == 's';
	p += 5;
	if (parse_hex(&p, ' ', &m->offset) || parse_hex(&p, ':', &maj) || parse_hex(&p, ' ', &min))
		return -EINVAL;
	m->dev_major = (unsigned)maj;
	m->dev_minor = (unsigned)min;
	char *e;
	errno = 0;
	m->inode = strtoull(p, &e, 10);
	if (e == p || errno)
		return -EINVAL;
	while (*e == ' ')
		e++;
	m->path = *e ? e : NULL;
	return 0;
}

int lf_maps_parse(char *text, struct lf_maps *ret)
{
	struct lf_maps m = { .text = text };
	size_t cap = 0;
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (m.n == LF_MAPS_MAX)
			goto err_overflow;
		if (m.n == cap) {
			cap = cap ? cap * 2 : 64;
			struct lf_map *v = realloc(m.v, cap * sizeof(*v));
			if (!v)
				goto err_nomem;
			m.v = v;
		}
		if (parse_line(line, &m.v[m.n]) < 0)
			goto err_inval;
		if (m.n && m.v[m.n].start < m.v[m.n - 1].end)
			goto err_inval;	/* the kernel prints them sorted */
		m.n++;
	}
	*ret = m;
	return 0;
err_overflow:
	lf_maps_release(&m);
	return -EOVERFLOW;
err_nomem:
	lf_maps_release(&m);
	return -ENOMEM;
err_inval:
	lf_maps_release(&m);
	return -EINVAL;
}

/*
 * A leader that called pthread_exit() stays a zombie while the other threads
 * run; it has no memory any more, and never stops for a tracer. Only the
 * leader can be in that state: other threads are reaped when they exit.
 */
char lf_proc_task_state(pid_t pid, pid_t tid)
{
	char path[96], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (lf_read_line(path, buf, sizeof(buf)) < 0)
		return '?';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

bool lf_proc_is_zombie(pid_t pid)
{
	char st = lf_proc_task_state(pid, pid);

	return st == 'Z' || st == 'X';
}

void lf_proc_dir(pid_t pid, char *buf, size_t size)
{
	char task[64];

	snprintf(buf, size, "/proc/%d", (int)pid);
	if (!lf_proc_is_zombie(pid))
		return;
	snprintf(task, sizeof(task), "/proc/%d/task", (int)pid);
	DIR *d = opendir(task);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);
		if (tid > 0 && tid != pid) {
			snprintf(buf, size, "/proc/%d/task/%ld", (int)pid, tid);
			break;
		}
	}
	if (d)
		closedir(d);
}

int lf_maps_read(pid_t pid, struct lf_maps *ret)
{
	char path[96], *text;
	size_t len;

	lf_proc_dir(pid, path, sizeof(path));
	strcat(path, "/maps");
	int r = lf_read_file(path, LF_MAPS_TEXT_MAX, &text, &len);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	return lf_maps_parse(text, ret);
}

void lf_maps_release(struct lf_maps *m)
{
	free(m->v);
	free(m->text);
	*m = (struct lf_maps){ 0 };
}

const struct lf_map *lf_maps_find(const struct lf_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

/* The address range a mapping may grow into counts as taken. */
static void taken_range(const struct lf_map *v, uint64_t *start, uint64_t *end)
{
	*start = v->start;
	*end = v->end;
	if (v->path && !strcmp(v->path, "[heap]"))
		*end = v->end + HEAP_GROWTH < v->end ? UINT64_MAX : v->end + HEAP_GROWTH;
	if (v->path && !strcmp(v->path, "[stack]"))
		*start = v->start > STACK_GROWTH ? v->start - STACK_GROWTH : 0;
}

static uint64_t dist(uint64_t a, uint64_t size, uint64_t lo, uint64_t hi)
{
	if (a + size <= lo)
		return lo - a;
	return a >= hi ? a + size - hi : 0;
}

/*
 * Walks the holes between mappings; in each, the candidate is the end of the
 * hole nearest to [lo, hi), clamped to the window where every byte of the
 * new range reaches every byte of [lo, hi). Worked example: code at
 * [0x5000_0000, 0x5001_0000), reach 2 GiB: the new range must start at or
 * above 0x5001_0000 - 2 GiB + a page and end at or below 0x5000_0000 + 2 GiB
 * - a page; a hole just below the code gives its highest page-aligned start.
 */
int lf_maps_find_gap(const struct lf_maps *m, uint64_t lo, uint64_t hi, uint64_t size,
		     uint64_t reach, uint64_t *ret_addr)
{
	if (!size || hi <= lo || size > reach || hi - lo > reach - size - 2 * PAGE)
		return -ENOSPC;
	size = (size + PAGE - 1) & ~(PAGE - 1);
	uint64_t win_lo = hi > reach - PAGE ? hi - (reach - PAGE) : 0;
	uint64_t win_hi = lo + (reach - PAGE);	/* exclusive end */
	win_lo = (win_lo + PAGE - 1) & ~(PAGE - 1);
	if (win_lo < USER_MIN)
		win_lo = USER_MIN;
	if (win_hi > USER_MAX)
		win_hi = USER_MAX;
	uint64_t best = 0, best_dist = UINT64_MAX;
	uint64_t prev_end = USER_MIN - PAGE;	/* a guard page lives below USER_MIN */

	for (size_t i = 0; i <= m->n; i++) {
		uint64_t s = USER_MAX + PAGE, e = USER_MAX + PAGE;
		if (i < m->n)
			taken_range(&m->v[i], &s, &e);
		uint64_t h_lo = prev_end + PAGE, h_hi = s >= PAGE ? s - PAGE : 0;	/* guards */
		if (e > prev_end)
			prev_end = e;
		if (h_lo < win_lo)
			h_lo = win_lo;
		if (h_hi > win_hi)
			h_hi = win_hi;
		if (h_hi <= h_lo || h_hi - h_lo < size)
			continue;
		uint64_t a = h_hi - size <= lo ? h_hi - size : h_lo;
		a &= ~(PAGE - 1);
		if (a < h_lo)
			a += PAGE;
		if (a + size > h_hi)
			continue;
		uint64_t d = dist(a, size, lo, hi);
		if (d < best_dist) {
			best = a;
			best_dist = d;
		}
	}
	if (best_dist == UINT64_MAX)
		return -ENOSPC;
	*ret_addr = best;
	return 0;
}
