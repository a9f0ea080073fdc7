/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The consistency check: unwind every stopped thread with the CFI of the
 * object each pc is in, and refuse (-EBUSY) when a frame's pc is inside a
 * range being replaced. A thread whose stack cannot be unwound to its
 * outermost frame counts as busy too: we never guess from raw stack words.
 *
 * The CFI of every executable mapping is loaded before the threads are
 * stopped, so the pause only pays for the unwinding itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user-int.h"

#define FRAMES_MAX 256
#define CACHE_PAGES 4
#define PAGE 4096ull
#define VDSO_MAX (64u << 10)

/* The object's unwind tables, at the addresses they are mapped at in the target. */
static void set_cfi(struct lf_cfi_obj *o, uint64_t bias)
{
	o->cfi = (struct lf_unwind_cfi){
		.eh = o->elf.eh_frame, .eh_size = o->elf.eh_frame_size,
		.eh_vaddr = bias + o->elf.eh_frame_vaddr,
		.hdr = o->elf.eh_hdr, .hdr_size = o->elf.eh_hdr_size,
		.hdr_vaddr = bias + o->elf.eh_hdr_vaddr,
	};
	o->has_cfi = true;
}

static int load_file_obj(struct lf_cfi_obj *o, pid_t pid, const struct lf_map *map)
{
	char path[128];
	uint64_t vaddr;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)map->start, (unsigned long long)map->end);
	int r = lf_elfimg_open(path, &o->elf);
	if (r < 0)
		r = lf_elfimg_open(map->path, &o->elf);
	if (r < 0)
		return r;
	if (lf_elfimg_offset_to_vaddr(&o->elf, map->offset, &vaddr) < 0 || !o->elf.eh_frame)
		return 0;
	set_cfi(o, map->start - vaddr);
	return 0;
}

static int load_vdso_obj(struct lf_cfi_obj *o, int memfd, const struct lf_maps *m,
			 const struct lf_map *map)
{
	/* The vDSO image spans its [vvar]-free mapping; read it whole. */
	uint64_t len = map->end - map->start;
	uint64_t vaddr;

	(void)m;
	if (len > VDSO_MAX)
		return 0;
	uint8_t *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	if (lf_mem_read(memfd, map->start, copy, len) < 0 ||
	    lf_elfimg_from_memory(copy, len, true, &o->elf) < 0) {
		free(copy);
		return 0;
	}
	if (lf_elfimg_offset_to_vaddr(&o->elf, 0, &vaddr) < 0 || !o->elf.eh_frame)
		return 0;
	set_cfi(o, map->start - vaddr);
	return 0;
}

static int load_patch_obj(struct lf_cfi_obj *o, int memfd, const struct lf_map *map,
			  const struct lf_found *found, size_t nfound)
{
	for (size_t i = 0; i < nfound; i++) {
		const struct lf_hdr *h = found[i].hdr;
		if (map->start < h->text_start || map->start >= h->text_end)
			continue;
		if (!h->eh_frame_size || h->eh_frame_size > h->map_size)
			return 0;
		o->copy = malloc(h->eh_frame_size);
		if (!o->copy)
			return -ENOMEM;
		if (lf_mem_read(memfd, h->eh_frame, o->copy, h->eh_frame_size) < 0)
			return 0;
		o->cfi = (struct lf_unwind_cfi){ .eh = o->copy, .eh_size = h->eh_frame_size,
						 .eh_vaddr = h->eh_frame };
		o->has_cfi = true;
		return 0;
	}
	return 0;
}

int lf_cfi_load(struct lf_cfi_cache *c, pid_t pid, const struct lf_maps *m, int memfd,
		const struct lf_found *found, size_t nfound)
{
	*c = (struct lf_cfi_cache){ 0 };
	for (size_t i = 0; i < m->n; i++) {
		const struct lf_map *map = &m->v[i];
		if (!map->x)
			continue;
		struct lf_cfi_obj *v = realloc(c->v, (c->n + 1) * sizeof(*v));
		if (!v) {
			lf_cfi_release(c);
			return -ENOMEM;
		}
		c->v = v;
		struct lf_cfi_obj *o = &c->v[c->n++];
		memset(o, 0, sizeof(*o));
		o->start = map->start;
		o->end = map->end;
		int r = 0;
		if (map->path && map->path[0] == '/')
			r = load_file_obj(o, pid, map);
		else if (map->path && !strcmp(map->path, "[vdso]"))
			r = load_vdso_obj(o, memfd, m, map);
		else if (!map->path)
			r = load_patch_obj(o, memfd, map, found, nfound);
		if (r == -ENOMEM) {
			lf_cfi_release(c);
			return r;
		}
	}
	return 0;
}

void lf_cfi_release(struct lf_cfi_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		lf_elfimg_close(&c->v[i].elf);
		free(c->v[i].copy);
	}
	free(c->v);
	*c = (struct lf_cfi_cache){ 0 };
}

static const struct lf_cfi_obj *find_obj(const struct lf_cfi_cache *c, uint64_t pc)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pc < c->v[mid].start)
			hi = mid;
		else if (pc >= c->v[mid].end)
			lo = mid + 1;
		else
			return &c->v[mid];
	}
	return NULL;
}

/* A few pages of the stack read at once: most frames sit in the first. */
struct stack_mem {
	int fd;
	uint64_t page[CACHE_PAGES];
	bool valid[CACHE_PAGES];
	unsigned next;
	uint8_t buf[CACHE_PAGES][PAGE];
};

static int stack_read(void *ud, uint64_t addr, void *out, size_t len)
{
	struct stack_mem *sm = ud;
	uint64_t pg = addr & ~(PAGE - 1);

	if (addr + len > pg + PAGE)
		return lf_mem_read(sm->fd, addr, out, len);
	for (unsigned i = 0; i < CACHE_PAGES; i++)
		if (sm->valid[i] && sm->page[i] == pg) {
			memcpy(out, sm->buf[i] + (addr - pg), len);
			return 0;
		}
	unsigned slot = sm->next++ % CACHE_PAGES;
	int r = lf_mem_read(sm->fd, pg, sm->buf[slot], PAGE);
	sm->valid[slot] = r == 0;
	sm->page[slot] = pg;
	if (r < 0)
		return lf_mem_read(sm->fd, addr, out, len);
	memcpy(out, sm->buf[slot] + (addr - pg), len);
	return 0;
}

static int check_thread(const struct lf_thread *t, const struct lf_cfi_cache *c,
			struct stack_mem *sm, const struct lf_range *ranges, size_t nranges,
			char *msg, size_t size)
{
	uint64_t regs[LF_DWARF_NREGS];
	uint64_t valid = LF_REGS_ALL;
	struct lf_unwind_mem mem = { stack_read, sm };
	bool exact = true;

	lf_arch_dwarf_regs(&t->regs, regs);
	memset(sm->valid, 0, sizeof(sm->valid));
	for (unsigned frame = 0; frame < FRAMES_MAX; frame++) {
		uint64_t pc = regs[LF_DWARF_PC], sp = regs[LF_DWARF_SP];
		uint64_t at = exact ? pc : pc - 1;	/* a return address is past its call */
		for (size_t i = 0; i < nranges; i++)
			if (at >= ranges[i].start && at < ranges[i].end)
				return lf_user_fail(msg, size, -EBUSY,
						    "thread %d is in %s (frame %u, pc %#llx)", (int)t->tid,
						    ranges[i].name, frame, (unsigned long long)pc);
		const struct lf_cfi_obj *o = find_obj(c, at);
		if (!o || !o->has_cfi)
			return lf_user_fail(msg, size, -EBUSY,
					    "thread %d: no unwind information at pc %#llx (frame %u)",
					    (int)t->tid, (unsigned long long)pc, frame);
		int r = lf_unwind_step(&o->cfi, at, regs, &valid, &mem, &exact);
		if (r == 1)
			return 0;
		if (r < 0)
			return lf_user_fail(msg, size, -EBUSY, "thread %d: cannot unwind at pc %#llx (frame %u)",
					    (int)t->tid, (unsigned long long)pc, frame);
		if (!regs[LF_DWARF_PC])
			return 0;	/* a null return address also ends a stack */
		/*
		 * The sp must grow, except out of frame 0 on aarch64: a leaf
		 * function that keeps its return address in x30 and no frame
		 * leaves the sp as it was (x86's call always pushes).
		 */
		if ((regs[LF_DWARF_SP] < sp || (regs[LF_DWARF_SP] == sp && frame > 0)) && !exact)
			return lf_user_fail(msg, size, -EBUSY, "thread %d: stack does not unwind at pc %#llx",
					    (int)t->tid, (unsigned long long)pc);
	}
	return lf_user_fail(msg, size, -EBUSY, "thread %d: stack deeper than %d frames", (int)t->tid,
			    FRAMES_MAX);
}

int lf_stack_check(const struct lf_stop *s, const struct lf_cfi_cache *c, int memfd,
		   const struct lf_range *ranges, size_t nranges, char *msg, size_t size)
{
	struct stack_mem *sm = malloc(sizeof(*sm));
	int r = 0;

	if (!sm)
		return -ENOMEM;
	sm->fd = memfd;
	sm->next = 0;
	for (size_t i = 0; i < s->n && r == 0; i++)
		if (s->t[i].stopped && !s->t[i].gone)
			r = check_thread(&s->t[i], c, sm, ranges, nranges, msg, size);
	free(sm);
	return r;
}
