/* SPDX-License-Identifier: Apache-2.0 */
/* lf_user_apply, lf_user_revert and lf_user_for_each_applied: the public steps. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apply.h"
#include "dynrel.h"

struct apply_ctx {
	const struct lf_user_patch *p;
	struct lf_target *t;
	struct lf_found *found;
	size_t nfound;
	const struct lf_found *replace;	/* lower level of the same object, if any */
	const struct lf_found *stale[LF_STATE_MAX];	/* redirect nothing: unmapped first */
	size_t nstale;
	struct lf_image img;
	uint64_t base;
	uint64_t old_addr[LF_PATCH_FUNCS_MAX], old_size[LF_PATCH_FUNCS_MAX];
	struct lf_write w[2 * LF_PATCH_FUNCS_MAX];
	size_t nw;
	struct lf_range ranges[LF_PATCH_FUNCS_MAX + 1];
	size_t nranges;
	char replace_name[LF_USER_ID_MAX + 32];
	struct lf_inject_call calls[3];
	char *msg;
	size_t msg_size;
};

static int resolve(void *ud, const char *name, uint64_t *ret_addr, char *msg, size_t size)
{
	struct apply_ctx *c = ud;

	for (unsigned i = 0; i < c->p->nbinds; i++) {
		const struct lf_patch_bind *b = &c->p->binds[i];
		if (strcmp(b->sym, name))
			continue;
		int r = lf_target_resolve_local(c->t, b->target, b->pos, b->addr, ret_addr, NULL, msg, size);
		return r == -ENOENT ? lf_user_fail(msg, size, -ENOEXEC, "bind %s: no symbol %s in the target",
						   name, b->target) : r;
	}
	int r = lf_target_resolve_local(c->t, name, 0, 0, ret_addr, NULL, msg, size);
	if (r == -ENOENT)
		r = lf_target_resolve_global(c->t, name, ret_addr, msg, size);
	if (r == -ENOENT)
		return lf_user_fail(msg, size, -ENOENT, "symbol %s is not defined in process %d", name,
				    (int)c->t->pid);
	return r;
}

static int resolve_tls(void *ud, const char *name, unsigned need, struct lf_tls_ref *ret,
		       char *msg, size_t size)
{
	struct apply_ctx *c = ud;

	for (unsigned i = 0; i < c->p->nbinds; i++) {
		const struct lf_patch_bind *b = &c->p->binds[i];
		if (!strcmp(b->sym, name))
			return lf_target_resolve_tls(c->t, b->target, b->pos, need, ret, msg, size);
	}
	return lf_target_resolve_tls(c->t, name, 0, need, ret, msg, size);
}

/*
 * What is already in the process decides what this apply does:
 *  - the same id, fully or partly redirected: refused;
 *  - a patch of the same object that redirects nothing (left by a killed
 *    agent, before its switch or after a later level's): unmapped first;
 *  - an active patch of the same object: a lower level is replaced in the
 *    same pause, an equal or higher level refuses this one.
 */
static int check_applied(struct apply_ctx *c)
{
	const struct lf_user_patch *p = c->p;

	for (size_t i = 0; i < c->nfound; i++) {
		const struct lf_hdr *h = c->found[i].hdr;
		bool same_id = !strcmp(h->id, p->id);
		bool same_obj = h->build_id_len == p->build_id_len &&
				!memcmp(h->build_id, p->build_id, p->build_id_len);
		if (!same_id && !same_obj)
			continue;
		int red = lf_state_redirected(c->t->memfd, h);
		if (red < 0)
			return lf_user_fail(c->msg, c->msg_size, red, "cannot read patch %s", h->id);
		if (red == 0) {
			c->stale[c->nstale++] = &c->found[i];
			continue;
		}
		if (same_id)
			return lf_user_fail(c->msg, c->msg_size, -EEXIST, "process %d: patch %s is %s applied",
					    (int)c->t->pid, p->id,
					    red == (int)h->nfuncs ? "already" : "partially (revert it first)");
		if (h->level >= p->level || c->replace)
			return lf_user_fail(c->msg, c->msg_size, -EALREADY,
					    "process %d: patch %s level %u is applied, %s is level %u",
					    (int)c->t->pid, h->id, h->level, p->id, p->level);
		c->replace = &c->found[i];
	}
	return 0;
}

/*
 * The aligned window holding the branch: on x86_64 the 8 bytes around the
 * 5-byte jmp, or 16 if they straddle; on aarch64 the 4-byte b itself.
 */
static void window_of(uint64_t addr, uint64_t *win, uint32_t *len)
{
	*win = addr & ~(uint64_t)(LF_ARCH_WINDOW - 1);
	*len = LF_ARCH_WINDOW;
	if (addr + LF_ARCH_BRANCH_SIZE > *win + LF_ARCH_WINDOW) {
		*win = addr & ~15ull;
		*len = 16;
	}
}

static const struct lf_hdr_func *replaced_func(const struct apply_ctx *c, uint64_t addr)
{
	const struct lf_hdr *h = c->replace ? c->replace->hdr : NULL;

	for (unsigned i = 0; h && i < h->nfuncs; i++)
		if (h->funcs[i].addr == addr)
			return &h->funcs[i];
	return NULL;
}

static int resolve_old(struct apply_ctx *c)
{
	const struct lf_user_patch *p = c->p;

	for (unsigned i = 0; i < p->nfuncs; i++) {
		const struct lf_patch_func *f = &p->funcs[i];
		int r = lf_target_resolve_local(c->t, f->old_name, f->old_pos, f->old_addr,
						&c->old_addr[i], &c->old_size[i], c->msg, c->msg_size);
		if (r == -ENOENT)
			return lf_user_fail(c->msg, c->msg_size, -ENOEXEC,
					    "function %s is not in %s", f->old_name,
					    lf_target_obj_path(c->t, &c->t->objs[c->t->obj_index]));
		if (r < 0)
			return r;
		if (c->old_addr[i] % LF_ARCH_INSN_ALIGN)
			return lf_user_fail(c->msg, c->msg_size, -ENOEXEC, "function %s: misaligned entry",
					    f->old_name);
		if (c->old_size[i] < LF_ARCH_BRANCH_SIZE)
			return lf_user_fail(c->msg, c->msg_size, -EOPNOTSUPP,
					    "function %s is %llu bytes, too short for a %d-byte jump",
					    f->old_name, (unsigned long long)c->old_size[i], LF_ARCH_BRANCH_SIZE);
		for (unsigned k = 0; k < i; k++)
			if (c->old_addr[k] < c->old_addr[i] + c->old_size[i] &&
			    c->old_addr[i] < c->old_addr[k] + c->old_size[k])
				return lf_user_fail(c->msg, c->msg_size, -ENOEXEC,
						    "functions %s and %s overlap", p->funcs[k].old_name,
						    f->old_name);
	}
	return 0;
}

static void fill_header(struct apply_ctx *c)
{
	const struct lf_user_patch *p = c->p;
	struct lf_hdr *h = (struct lf_hdr *)c->img.data;

	h->version = LF_HDR_VERSION;
	h->hdr_size = (uint32_t)c->img.hdr_size;
	h->map_size = c->img.map_size;
	h->text_start = c->base + c->img.ro_end;
	h->text_end = c->base + c->img.text_end;
	if (c->img.eh_frame_size) {
		h->eh_frame = c->base + c->img.eh_frame_off;
		h->eh_frame_size = c->img.eh_frame_size;
	}
	h->level = p->level;
	h->nfuncs = p->nfuncs;
	h->build_id_len = p->build_id_len;
	memcpy(h->build_id, p->build_id, p->build_id_len);
	snprintf(h->id, sizeof(h->id), "%s", p->id);
	snprintf(h->object, sizeof(h->object), "%s",
		 lf_target_obj_path(c->t, &c->t->objs[c->t->obj_index]));
}

/* Header records, and the windows to write in the pause. */
static int plan_writes(struct apply_ctx *c)
{
	const struct lf_user_patch *p = c->p;
	struct lf_hdr *h = (struct lf_hdr *)c->img.data;

	for (unsigned i = 0; i < p->nfuncs; i++) {
		struct lf_hdr_func *f = &h->funcs[i];
		struct lf_write *w = &c->w[c->nw++];
		f->addr = c->old_addr[i];
		window_of(f->addr, &f->win, &f->win_len);
		snprintf(f->name, sizeof(f->name), "%s", p->funcs[i].old_name);
		if (lf_link_symbol(p, &c->img, p->funcs[i].new_name, &f->new_addr) < 0)
			return lf_user_fail(c->msg, c->msg_size, -ENOEXEC, "new function %s is not loaded",
					    p->funcs[i].new_name);
		int r = lf_mem_read(c->t->memfd, f->win, w->undo, f->win_len);
		if (r < 0)
			return lf_user_fail(c->msg, c->msg_size, r, "cannot read %s", f->name);
		const struct lf_hdr_func *prev = replaced_func(c, f->addr);
		memcpy(f->orig, prev ? prev->orig : w->undo, f->win_len);
		memcpy(f->jump, f->orig, f->win_len);
		if (lf_arch_branch(f->jump + (f->addr - f->win), LF_ENTRY_MAX - (f->addr - f->win),
				   f->addr, f->new_addr) < 0)
			return lf_user_fail(c->msg, c->msg_size, -EOPNOTSUPP,
					    "%s: replacement out of branch reach", f->name);
		w->win = f->win;
		w->len = f->win_len;
		memcpy(w->bytes, f->jump, f->win_len);
		c->ranges[c->nranges++] = (struct lf_range){ f->addr, f->addr + c->old_size[i], f->name };
	}
	/* Functions of the replaced level that this level leaves alone go back to the original. */
	const struct lf_hdr *old = c->replace ? c->replace->hdr : NULL;
	for (unsigned i = 0; old && i < old->nfuncs; i++) {
		const struct lf_hdr_func *f = &old->funcs[i];
		bool kept = false;
		for (unsigned k = 0; k < p->nfuncs; k++)
			kept |= c->old_addr[k] == f->addr;
		if (kept)
			continue;
		struct lf_write *w = &c->w[c->nw++];
		w->win = f->win;
		w->len = f->win_len;
		memcpy(w->bytes, f->orig, f->win_len);
		if (lf_mem_read(c->t->memfd, f->win, w->undo, f->win_len) < 0)
			return -EIO;
	}
	if (old) {
		snprintf(c->replace_name, sizeof(c->replace_name), "patch %s level %u", old->id, old->level);
		c->ranges[c->nranges++] = (struct lf_range){ old->text_start, old->text_end, c->replace_name };
	}
	return 0;
}

static int write_image(void *ud)
{
	struct apply_ctx *c = ud;

	if (!c->calls[0].done || (uint64_t)c->calls[0].ret != c->base)
		return lf_user_fail(c->msg, c->msg_size, -EADDRNOTAVAIL, "mmap did not map at %#llx",
				    (unsigned long long)c->base);
	/*
	 * The header first, magic included: from now on any agent can find
	 * this mapping (inactive: nothing jumps to it) and drop it, even if we
	 * die before the rest is written.
	 */
	memcpy(c->img.data, LF_HDR_MAGIC, 8);
	int r = lf_mem_write(c->t->memfd, c->base, c->img.data, c->img.hdr_size);
	if (r == 0)
		r = lf_mem_write(c->t->memfd, c->base + c->img.hdr_size, c->img.data + c->img.hdr_size,
				 c->img.map_size - c->img.hdr_size);
	if (r == 0)
		lf_user_test_point("written");
	return r < 0 ? lf_user_fail(c->msg, c->msg_size, r, "cannot write the patch") : 0;
}

static int map_patch(struct apply_ctx *c, struct lf_user_result *res)
{
	const struct lf_image *img = &c->img;

	c->calls[0] = (struct lf_inject_call){
		.nr = SYS_mmap, .step = "mapped",
		.args = { c->base, img->map_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0 },
	};
	c->calls[1] = (struct lf_inject_call){
		.nr = SYS_mprotect, .before = write_image, .ud = c,
		.args = { c->base, img->ro_end, PROT_READ },
	};
	c->calls[2] = (struct lf_inject_call){
		.nr = SYS_mprotect, .step = "protected",
		.args = { c->base + img->ro_end, img->text_end - img->ro_end, PROT_READ | PROT_EXEC },
	};
	int r = lf_apply_inject(c->t->pid, &c->t->maps, c->calls, 3, &res->inject_ns, c->msg,
				c->msg_size);
	if (r < 0 && c->calls[0].done && (uint64_t)c->calls[0].ret == c->base)
		lf_apply_munmap(c->t->pid, c->base, img->map_size, NULL, NULL, 0);
	return r;
}

/*
 * The range every byte of which the mapping must reach: normally the whole
 * target object (external calls and data references then need no stub),
 * but an object larger than half the branch reach (+-128 MiB on aarch64)
 * is narrowed to its redirected functions; calls into the rest of it then
 * go through stubs and GOT slots.
 */
static void funcs_hull(const struct apply_ctx *c, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned i = 0; i < c->p->nfuncs; i++) {
		if (c->old_addr[i] < *lo)
			*lo = c->old_addr[i];
		if (c->old_addr[i] + c->old_size[i] > *hi)
			*hi = c->old_addr[i] + c->old_size[i];
	}
}

static int prepare(struct apply_ctx *c)
{
	int r, mode;
	struct lf_target_obj *o;

	if ((r = lf_target_seccomp(c->t->pid, &mode)) < 0)
		return lf_user_fail(c->msg, c->msg_size, r, "process %d: not found", (int)c->t->pid);
	if (mode)
		return lf_user_fail(c->msg, c->msg_size, -EOPNOTSUPP,
				    "process %d runs under seccomp (mode %d): injected mmap could be refused",
				    (int)c->t->pid, mode);
	pid_t pid = c->t->pid;
	if ((r = lf_target_open(c->t, pid, c->p->build_id, c->p->build_id_len, c->msg, c->msg_size)) < 0)
		return r;
	if ((r = lf_state_scan(pid, &c->t->maps, c->t->memfd, &c->found, &c->nfound)) < 0)
		return lf_user_fail(c->msg, c->msg_size, r, "process %d: cannot read its patches", (int)pid);
	if ((r = check_applied(c)) < 0 || (r = resolve_old(c)) < 0)
		return r;
	for (size_t i = 0; i < c->nstale; i++)
		if ((r = lf_apply_munmap(pid, c->stale[i]->addr, c->stale[i]->hdr->map_size, NULL, c->msg,
					 c->msg_size)) < 0)
			return r;
	if ((r = lf_link_layout(c->p, &c->img, c->msg, c->msg_size)) < 0)
		return r;
	o = &c->t->objs[c->t->obj_index];
	uint64_t lo = o->lo, hi = o->hi;
	if (hi - lo > LF_ARCH_BRANCH_REACH / 2)	/* a large object: reach the redirected functions */
		funcs_hull(c, &lo, &hi);
	if (lf_maps_find_gap(&c->t->maps, lo, hi, c->img.map_size, LF_ARCH_BRANCH_REACH, &c->base) < 0)
		return lf_user_fail(c->msg, c->msg_size, -EOPNOTSUPP,
				    "process %d: no free address within branch reach (+-%llu MiB) of %s",
				    (int)pid, (unsigned long long)(LF_ARCH_BRANCH_REACH >> 20),
				    lf_target_obj_path(c->t, o));
	struct lf_link_sym res = { resolve, resolve_tls, c };
	if ((r = lf_link_apply(c->p, &c->img, c->base, &res, c->msg, c->msg_size)) < 0)
		return r;
	fill_header(c);
	return plan_writes(c);
}

int lf_user_apply(const struct lf_user_patch *p, pid_t pid, const struct lf_user_opts *opts,
		  struct lf_user_result *res)
{
	struct apply_ctx *c = calloc(1, sizeof(*c));
	struct lf_target *t = calloc(1, sizeof(*t));
	int r;

	memset(res, 0, sizeof(*res));
	res->pid = pid;
	if (!c || !t) {
		r = -ENOMEM;
		goto out;
	}
	t->memfd = -1;
	t->pid = pid;
	*c = (struct apply_ctx){ .p = p, .t = t, .msg = res->msg, .msg_size = sizeof(res->msg) };
	r = prepare(c);
	if (r < 0)
		goto out;
	r = map_patch(c, res);
	if (r < 0)
		goto out;
	res->map_addr = c->base;
	r = lf_apply_switch(pid, t->memfd, &t->maps, c->found, c->nfound, c->ranges, c->nranges, c->w,
			    c->nw, opts, res);
	if (r < 0) {
		lf_apply_munmap(pid, c->base, c->img.map_size, NULL, NULL, 0);
		goto out;
	}
	if (c->replace) {
		char m2[LF_USER_MSG_MAX / 2];
		if (lf_apply_munmap(pid, c->replace->addr, c->replace->hdr->map_size, NULL, m2,
				    sizeof(m2)) < 0)
			snprintf(res->msg, sizeof(res->msg), "level %u mapping left in place: %s",
				 c->replace->hdr->level, m2);
	}
out:
	if (c) {
		lf_image_release(&c->img);
		lf_state_free(c->found, c->nfound);
	}
	if (t)
		lf_target_close(t);
	free(t);
	free(c);
	res->err = r;
	return r;
}
