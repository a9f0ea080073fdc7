/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What is applied is read back from the target itself: every patch mapping
 * starts with a header (struct lf_hdr) whose magic is written last, so any
 * agent, even after a restart, finds the patches by scanning the process's
 * anonymous mappings, and finds whether each function is redirected by
 * comparing its entry with the recorded jump.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "user-int.h"

#define MAP_SIZE_MAX (256ull << 20)

static int read_header(int memfd, uint64_t addr, uint64_t map_len, struct lf_hdr **ret)
{
	struct lf_hdr h;

	if (map_len < sizeof(h) || lf_mem_read(memfd, addr, &h, sizeof(h)) < 0)
		return -ENOENT;
	if (memcmp(h.magic, LF_HDR_MAGIC, sizeof(h.magic)) || h.version != LF_HDR_VERSION)
		return -ENOENT;
	if (h.nfuncs > LF_PATCH_FUNCS_MAX ||
	    h.hdr_size != sizeof(h) + (uint64_t)h.nfuncs * sizeof(struct lf_hdr_func) ||
	    h.hdr_size > map_len || !h.map_size || h.map_size > MAP_SIZE_MAX ||
	    h.build_id_len > LF_BUILD_ID_MAX || !memchr(h.id, 0, sizeof(h.id)) ||
	    !memchr(h.object, 0, sizeof(h.object)))
		return -EBADMSG;
	struct lf_hdr *full = malloc(h.hdr_size);
	if (!full)
		return -ENOMEM;
	if (lf_mem_read(memfd, addr, full, h.hdr_size) < 0) {
		free(full);
		return -EIO;
	}
	for (unsigned i = 0; i < full->nfuncs; i++) {
		struct lf_hdr_func *f = &full->funcs[i];
		if ((f->win_len != LF_ARCH_WINDOW && f->win_len != 16) || f->addr < f->win ||
		    f->addr + LF_ARCH_BRANCH_SIZE > f->win + f->win_len ||
		    !memchr(f->name, 0, sizeof(f->name))) {
			free(full);
			return -EBADMSG;
		}
	}
	*ret = full;
	return 0;
}

int lf_state_scan(pid_t pid, const struct lf_maps *m, int memfd, struct lf_found **ret,
		  size_t *ret_n)
{
	struct lf_found *v = NULL;
	size_t n = 0;

	(void)pid;
	for (size_t i = 0; i < m->n; i++) {
		const struct lf_map *map = &m->v[i];
		if (map->path || map->x || !map->r || map->shared)
			continue;
		struct lf_hdr *h;
		int r = read_header(memfd, map->start, map->end - map->start, &h);
		if (r == -ENOENT || r == -EBADMSG)
			continue;
		if (r < 0)
			goto err;
		if (n == LF_STATE_MAX) {
			free(h);
			continue;
		}
		struct lf_found *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(h);
			r = -ENOMEM;
			goto err;
		}
		v = nv;
		v[n].addr = map->start;
		v[n].hdr = h;
		n++;
		continue;
err:
		lf_state_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void lf_state_free(struct lf_found *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i].hdr);
	free(f);
}

int lf_state_redirected(int memfd, const struct lf_hdr *h)
{
	int count = 0;

	for (unsigned i = 0; i < h->nfuncs; i++) {
		const struct lf_hdr_func *f = &h->funcs[i];
		uint8_t cur[LF_ENTRY_MAX];
		int r = lf_mem_read(memfd, f->win, cur, f->win_len);
		if (r < 0)
			return r;
		/* The jump's bytes only: the rest of the window may be someone else's. */
		size_t at = f->addr - f->win;
		if (!memcmp(cur + at, f->jump + at, LF_ARCH_BRANCH_SIZE))
			count++;
	}
	return count;
}
