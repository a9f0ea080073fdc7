/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Is a freshly exec'ed process past its dynamic loader? Patching earlier
 * would find its libraries missing, or its GOT slots (TLS offsets, IFUNC
 * targets) not yet written. The signal used, without stopping the process:
 * glibc's ld.so calls __libc_early_init after relocating every object, and
 * that sets libc's exported __libc_single_threaded to 1; it only goes back
 * to 0 when a second thread is created, which also happens after loading.
 * A statically linked program has no loader: ready at once.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "target.h"

static bool has_interp(const struct lf_elfimg *e)
{
	for (unsigned i = 0; i < e->phnum; i++)
		if (e->ph[i].p_type == PT_INTERP)
			return true;
	return false;
}

static int count_tasks(pid_t pid)
{
	char path[64];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -ESRCH;
	for (struct dirent *de; (de = readdir(d)) && n < 3;)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Reads libc's __libc_single_threaded through the object mapped at map i. */
static int libc_flag(pid_t pid, const struct lf_maps *m, size_t i, int memfd, uint8_t *ret)
{
	struct lf_elfimg e;
	uint64_t vaddr, value;
	unsigned type;
	char path[128];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->v[i].start, (unsigned long long)m->v[i].end);
	if (lf_elfimg_open(path, &e) < 0)
		return -ENOENT;
	r = lf_elfimg_lookup(&e, "__libc_single_threaded", 0, true, &value, NULL, &type);
	if (r == 0)
		r = lf_elfimg_offset_to_vaddr(&e, m->v[i].offset, &vaddr);
	lf_elfimg_close(&e);
	if (r < 0)
		return -ENOENT;
	return lf_mem_read(memfd, m->v[i].start - vaddr + value, ret, 1);
}

int lf_user_process_ready(pid_t pid)
{
	struct lf_maps m;
	struct lf_elfimg exe;
	char path[64];
	int r, memfd;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (lf_elfimg_open(path, &exe) < 0)
		return lf_proc_is_zombie(pid) ? -ESRCH : 0;	/* exiting, or a script's exec */
	bool dynamic = has_interp(&exe);
	lf_elfimg_close(&exe);
	if (!dynamic)
		return 1;
	if ((r = lf_maps_read(pid, &m)) < 0)
		return -ESRCH;
	memfd = lf_mem_open(pid, false);
	r = 2;	/* no glibc found (yet): the caller decides by time */
	for (size_t i = 0; memfd >= 0 && i < m.n; i++) {
		const char *base = m.v[i].path ? strrchr(m.v[i].path, '/') : NULL;
		uint8_t flag;
		if (!base || strncmp(base, "/libc.so", 8) || m.v[i].offset != 0)
			continue;
		if (libc_flag(pid, &m, i, memfd, &flag) < 0)
			continue;
		r = flag || count_tasks(pid) > 1 ? 1 : 0;
		break;
	}
	if (memfd >= 0)
		close(memfd);
	lf_maps_release(&m);
	return r;
}

bool lf_user_maps_target(const struct lf_user_patch *p, pid_t pid)
{
	struct lf_maps m;
	bool found = false;

	if (lf_maps_read(pid, &m) < 0)
		return false;
	for (size_t i = 0; i < m.n && !found; i++) {
		uint8_t id[LF_BUILD_ID_MAX];
		char path[128];
		if (!m.v[i].path || m.v[i].path[0] != '/' || m.v[i].offset != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)m.v[i].start, (unsigned long long)m.v[i].end);
		int n = lf_elfimg_file_build_id(path, id, sizeof(id));
		found = n == (int)p->build_id_len && !memcmp(id, p->build_id, p->build_id_len);
	}
	lf_maps_release(&m);
	return found;
}
