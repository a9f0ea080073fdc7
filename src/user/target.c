/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A target process as the linker sees it: its maps, the object with the
 * patch's build-id and its load bias, and the symbols of every mapped ELF
 * object for binding the patch's undefined symbols.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/file.h"

#include "dynrel.h"
#include "target.h"

static void obj_path(pid_t pid, const struct lf_map *m, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
}

/* Opens the ELF behind mapping m (the deleted-file-safe way first). */
static int open_mapped(pid_t pid, const struct lf_map *m, struct lf_elfimg *ret)
{
	char path[128];

	obj_path(pid, m, path, sizeof(path));
	int r = lf_elfimg_open(path, ret);
	return r < 0 ? lf_elfimg_open(m->path, ret) : r;
}

static int bias_of(const struct lf_elfimg *e, const struct lf_map *m, uint64_t *ret)
{
	uint64_t vaddr;
	int r = lf_elfimg_offset_to_vaddr(e, m->offset, &vaddr);

	if (r < 0)
		return r;
	*ret = m->start - vaddr;
	return 0;
}

static bool same_file(const struct lf_map *a, const struct lf_map *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       a->path && b->path && !strcmp(a->path, b->path);
}

/* The first mapping of every file-backed ELF object, in address order. */
static bool is_object_start(const struct lf_maps *m, size_t i)
{
	const struct lf_map *v = &m->v[i];

	if (!v->path || v->path[0] != '/' || !v->inode)
		return false;
	for (size_t k = 0; k < i; k++)
		if (same_file(&m->v[k], v))
			return false;
	return true;
}

int lf_target_open(struct lf_target *t, pid_t pid, const uint8_t *build_id, unsigned build_id_len,
		   char *msg, size_t size)
{
	char exe[PATH_MAX];
	int r;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->memfd = -1;
	t->obj_index = -1;
	r = lf_maps_read(pid, &t->maps);
	if (r < 0)
		return lf_user_fail(msg, size, r, "process %d: cannot read its maps", (int)pid);
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	for (size_t i = 0; i < t->maps.n && t->nobjs < LF_TARGET_OBJS_MAX; i++) {
		if (!is_object_start(&t->maps, i))
			continue;
		struct lf_target_obj *o = &t->objs[t->nobjs];
		if (open_mapped(pid, &t->maps.v[i], &o->elf) < 0)
			continue;
		if (bias_of(&o->elf, &t->maps.v[i], &o->bias) < 0) {
			lf_elfimg_close(&o->elf);
			continue;
		}
		o->map = i;
		o->is_exe = exe[0] && !strcmp(t->maps.v[i].path, exe);
		o->lo = t->maps.v[i].start;
		for (size_t k = i; k < t->maps.n; k++)
			if (same_file(&t->maps.v[k], &t->maps.v[i]))
				o->hi = t->maps.v[k].end;
		if (t->obj_index < 0 && o->elf.build_id_len == build_id_len &&
		    !memcmp(o->elf.build_id, build_id, build_id_len))
			t->obj_index = (int)t->nobjs;
		t->nobjs++;
	}
	if (t->obj_index < 0) {
		char hex[2 * LF_BUILD_ID_MAX + 1];
		lf_hex(build_id, build_id_len, hex);
		lf_target_close(t);
		return lf_user_fail(msg, size, -EMEDIUMTYPE,
				    "process %d maps no object with build-id %s", (int)pid, hex);
	}
	t->memfd = lf_mem_open(pid, true);
	if (t->memfd < 0) {
		r = t->memfd;
		lf_target_close(t);
		return lf_user_fail(msg, size, r, "process %d: cannot open its memory", (int)pid);
	}
	return 0;
}

void lf_target_close(struct lf_target *t)
{
	for (size_t i = 0; i < t->nobjs; i++)
		lf_elfimg_close(&t->objs[i].elf);
	lf_maps_release(&t->maps);
	if (t->memfd >= 0)
		close(t->memfd);
	memset(t, 0, sizeof(*t));
	t->memfd = -1;
}

const char *lf_target_obj_path(const struct lf_target *t, const struct lf_target_obj *o)
{
	return t->maps.v[o->map].path;
}

/*
 * An IFUNC symbol's value is its resolver: a call or a pointer goes to the
 * implementation this process resolved it to (dynrel.c). Replacing an IFUNC
 * as an old function would replace the resolver, so that is refused.
 */
static int bind_value(const struct lf_target *t, const struct lf_target_obj *o, const char *name,
		      uint64_t value, unsigned type, bool is_old, uint64_t *ret_addr, char *msg,
		      size_t size)
{
	if (type == STT_GNU_IFUNC && is_old)
		return lf_user_fail(msg, size, -EOPNOTSUPP,
				    "function %s is an IFUNC: patch the implementation it resolves to", name);
	if (type == STT_GNU_IFUNC)
		return lf_target_resolve_ifunc(t, o, name, value, ret_addr, msg, size);
	if (type == STT_TLS)
		return lf_user_fail(msg, size, -ENOEXEC,
				    "symbol %s is thread-local: reach it with TLS relocations only", name);
	*ret_addr = (type == STT_NOTYPE && !value ? 0 : o->bias) + value;
	return 0;
}

/* A name, name,pos or name@0xaddr in the patched object. */
int lf_target_resolve_local(const struct lf_target *t, const char *name, unsigned pos,
			    uint64_t addr, uint64_t *ret_addr, uint64_t *ret_size, char *msg,
			    size_t size)
{
	const struct lf_target_obj *o = &t->objs[t->obj_index];
	uint64_t value, sz = 0;
	unsigned type = STT_NOTYPE;
	int r;

	if (addr) {
		r = lf_elfimg_symbol_at(&o->elf, addr, &sz);
		value = addr;
		if (r < 0)
			return lf_user_fail(msg, size, -ENOENT, "no function %s at %#llx in %s", name,
					    (unsigned long long)addr, lf_target_obj_path(t, o));
	} else {
		r = lf_elfimg_lookup(&o->elf, name, pos, false, &value, &sz, &type);
		if (r == -ENOTUNIQ)
			return lf_user_fail(msg, size, -ENOEXEC,
					    "symbol %s is ambiguous in %s: give name,position or name@address",
					    name, lf_target_obj_path(t, o));
		if (r < 0)
			return r;
		if (type == STT_GNU_IFUNC || type == STT_TLS) {
			if ((r = bind_value(t, o, name, value, type, ret_size != NULL, ret_addr, msg,
					    size)) < 0)
				return r;
			if (ret_size)
				*ret_size = sz;
			return 0;
		}
	}
	*ret_addr = o->bias + value;
	if (ret_size)
		*ret_size = sz;
	return 0;
}

/* The executable first, then libraries in address order: close to ld.so's scope. */
int lf_target_resolve_global(const struct lf_target *t, const char *name, uint64_t *ret_addr,
			     char *msg, size_t size)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < t->nobjs; i++) {
			const struct lf_target_obj *o = &t->objs[i];
			uint64_t value;
			unsigned type;
			if (o->is_exe != (pass == 0))
				continue;
			if (lf_elfimg_lookup(&o->elf, name, 0, true, &value, NULL, &type) < 0)
				continue;
			return bind_value(t, o, name, value, type, false, ret_addr, msg, size);
		}
	return -ENOENT;
}

int lf_target_seccomp(pid_t pid, int *ret_mode)
{
	char path[64], *text, *line;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int r = lf_read_file(path, 1 << 16, &text, &len);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	*ret_mode = 0;
	line = strstr(text, "\nSeccomp:");
	if (line)
		*ret_mode = atoi(line + strlen("\nSeccomp:"));
	free(text);
	return 0;
}

/* Files already looked at, by device and inode: most processes map the same libraries. */
#define SEEN_MAX 4096

struct seen_file {
	uint64_t inode;
	unsigned major, minor;
	bool match;
};

struct seen {
	struct seen_file v[SEEN_MAX];
	size_t n;
};

static int seen_lookup(const struct seen *s, const struct lf_map *m)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].inode == m->inode && s->v[i].major == m->dev_major &&
		    s->v[i].minor == m->dev_minor)
			return s->v[i].match;
	return -1;
}

static bool pid_maps_build_id(pid_t pid, const uint8_t *id, unsigned len, struct seen *seen)
{
	struct lf_maps m;
	bool found = false;

	if (lf_maps_read(pid, &m) < 0)
		return false;
	for (size_t i = 0; i < m.n && !found; i++) {
		uint8_t got[LF_BUILD_ID_MAX];
		char path[128];
		if (!is_object_start(&m, i))
			continue;
		int known = seen_lookup(seen, &m.v[i]);
		if (known >= 0) {
			found = known;
			continue;
		}
		obj_path(pid, &m.v[i], path, sizeof(path));
		int n = lf_elfimg_file_build_id(path, got, sizeof(got));
		found = n == (int)len && !memcmp(got, id, len);
		if (seen->n < SEEN_MAX && n >= 0)	/* a failed read (process gone) says nothing of the file */
			seen->v[seen->n++] = (struct seen_file){ m.v[i].inode, m.v[i].dev_major,
								  m.v[i].dev_minor, found };
	}
	lf_maps_release(&m);
	return found;
}

int lf_user_find_targets(const struct lf_user_patch *p, pid_t *ret_pids, size_t max)
{
	return lf_user_find_build_id(p->build_id, p->build_id_len, ret_pids, max);
}

int lf_user_find_build_id(const uint8_t *id, unsigned id_len, pid_t *ret_pids, size_t max)
{
	struct seen *seen = calloc(1, sizeof(*seen));
	DIR *d = opendir("/proc");
	size_t n = 0;
	pid_t self = getpid();

	if (!d || !seen) {
		int r = d ? -ENOMEM : -errno;
		if (d)
			closedir(d);
		free(seen);
		return r;
	}
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		if (pid_maps_build_id((pid_t)pid, id, id_len, seen))
			ret_pids[n++] = (pid_t)pid;
	}
	closedir(d);
	free(seen);
	for (size_t i = 1; i < n; i++)	/* insertion sort: ascending pids */
		for (size_t k = i; k > 0 && ret_pids[k - 1] > ret_pids[k]; k--) {
			pid_t tmp = ret_pids[k];
			ret_pids[k] = ret_pids[k - 1];
			ret_pids[k - 1] = tmp;
		}
	return (int)n;
}

int lf_user_file_build_id(const char *path, char hex[2 * LF_BUILD_ID_MAX + 1])
{
	uint8_t id[LF_BUILD_ID_MAX];
	int n = lf_elfimg_file_build_id(path, id, sizeof(id));

	if (n <= 0)
		return n < 0 ? n : -ENODATA;
	lf_hex(id, (size_t)n, hex);
	return n;
}
