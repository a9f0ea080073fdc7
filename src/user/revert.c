/* SPDX-License-Identifier: Apache-2.0 */
/* Reverting and listing what is applied, from the targets' own memory. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"

struct revert_ctx {
	struct lf_maps maps;
	int memfd;
	struct lf_found *found;
	size_t nfound;
	struct lf_write w[LF_PATCH_FUNCS_MAX];
	size_t nw;
};

static int plan_revert(struct revert_ctx *c, const struct lf_hdr *h)
{
	for (unsigned i = 0; i < h->nfuncs; i++) {
		const struct lf_hdr_func *f = &h->funcs[i];
		uint8_t cur[LF_ENTRY_MAX];
		size_t at = f->addr - f->win;
		int r = lf_mem_read(c->memfd, f->win, cur, f->win_len);
		if (r < 0)
			return r;
		if (memcmp(cur + at, f->jump + at, LF_ARCH_BRANCH_SIZE))
			continue;	/* not redirected (a partial apply, or replaced) */
		struct lf_write *w = &c->w[c->nw++];
		w->win = f->win;
		w->len = f->win_len;
		memcpy(w->undo, cur, f->win_len);
		memcpy(w->bytes, cur, f->win_len);
		memcpy(w->bytes + at, f->orig + at, LF_ARCH_BRANCH_SIZE);
	}
	return 0;
}

int lf_user_revert(const char *id, pid_t pid, const struct lf_user_opts *opts,
		   struct lf_user_result *res)
{
	struct revert_ctx *c = calloc(1, sizeof(*c));
	const struct lf_found *f = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	res->pid = pid;
	if (!c)
		return res->err = -ENOMEM;
	c->memfd = -1;
	r = lf_maps_read(pid, &c->maps);
	if (r < 0) {
		r = lf_user_fail(res->msg, sizeof(res->msg), r, "process %d: cannot read its maps", (int)pid);
		goto out;
	}
	c->memfd = lf_mem_open(pid, true);
	if (c->memfd < 0 || (r = lf_state_scan(pid, &c->maps, c->memfd, &c->found, &c->nfound)) < 0) {
		r = lf_user_fail(res->msg, sizeof(res->msg), c->memfd < 0 ? c->memfd : r,
				 "process %d: cannot read its memory", (int)pid);
		goto out;
	}
	for (size_t i = 0; i < c->nfound && !f; i++)
		if (!strcmp(c->found[i].hdr->id, id))
			f = &c->found[i];
	if (!f) {
		r = lf_user_fail(res->msg, sizeof(res->msg), -ESRCH, "process %d: patch %s is not applied",
				 (int)pid, id);
		goto out;
	}
	res->map_addr = f->addr;
	if ((r = plan_revert(c, f->hdr)) < 0)
		goto out;
	char name[LF_USER_ID_MAX + 16];
	snprintf(name, sizeof(name), "patch %s", id);
	struct lf_range range = { f->hdr->text_start, f->hdr->text_end, name };
	r = lf_apply_switch(pid, c->memfd, &c->maps, c->found, c->nfound, &range, 1, c->w, c->nw, opts,
			    res);
	if (r < 0)
		goto out;
	r = lf_apply_munmap(pid, f->addr, f->hdr->map_size, &res->inject_ns, res->msg, sizeof(res->msg));
out:
	lf_state_free(c->found, c->nfound);
	lf_maps_release(&c->maps);
	if (c->memfd >= 0)
		close(c->memfd);
	free(c);
	res->err = r;
	return r;
}

static int for_pid(pid_t pid, int (*fn)(const struct lf_user_applied *a, void *ud), void *ud)
{
	struct lf_maps m;
	struct lf_found *found = NULL;
	size_t n = 0;
	int r = lf_maps_read(pid, &m);

	if (r < 0)
		return r;
	int fd = lf_mem_open(pid, false);
	if (fd < 0) {
		lf_maps_release(&m);
		return fd;
	}
	r = lf_state_scan(pid, &m, fd, &found, &n);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct lf_hdr *h = found[i].hdr;
		struct lf_user_applied a = {
			.pid = pid, .map_addr = found[i].addr, .map_size = h->map_size,
			.level = h->level, .nfuncs = h->nfuncs,
		};
		int red = lf_state_redirected(fd, h);
		a.redirected = red > 0 ? (unsigned)red : 0;
		snprintf(a.id, sizeof(a.id), "%s", h->id);
		snprintf(a.object, sizeof(a.object), "%s", h->object);
		lf_hex(h->build_id, h->build_id_len, a.build_id);
		r = fn(&a, ud);
		if (r)
			break;
	}
	lf_state_free(found, n);
	close(fd);
	lf_maps_release(&m);
	return r;
}

int lf_user_for_each_applied(pid_t pid, int (*fn)(const struct lf_user_applied *a, void *ud),
			     void *ud)
{
	if (pid > 0)
		return for_pid(pid, fn, ud);
	DIR *d = opendir("/proc");
	int r = 0;
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d)) && !r) {
		char *end;
		long p = strtol(de->d_name, &end, 10);
		if (*end || p <= 0 || p == getpid())
			continue;
		r = for_pid((pid_t)p, fn, ud);
		if (r < 0)
			r = 0;	/* exited, or a kernel thread: nothing to list */
	}
	closedir(d);
	return r;
}

struct running {
	const char *id;
	pid_t *pids;
	size_t n, max;
};

static int add_running(const struct lf_user_applied *a, void *ud)
{
	struct running *c = ud;

	if (!strcmp(a->id, c->id)) {
		if (c->n < c->max)
			c->pids[c->n] = a->pid;
		c->n++;
	}
	return 0;
}

int lf_user_pids_running(const char *id, pid_t *ret, size_t max)
{
	struct running c = { id, ret, 0, max };
	int r = lf_user_for_each_applied(0, add_running, &c);

	return r < 0 ? r : (int)c.n;
}
