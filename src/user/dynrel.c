/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Values the target's dynamic linker computed, read back from the target:
 * the patch never runs code in the target to learn them (no resolver call,
 * no __tls_get_addr call from the agent, no malloc).
 *
 * Every object lists in its dynamic relocations (.rela.dyn, .rela.plt)
 * where ld.so wrote what, and those slots are in the process's memory:
 *
 *   DTPMOD64 slot   the module id of the object that defines the variable
 *                   (symbol 0 or a symbol defined there: the object itself)
 *   TPOFF64 slot    thread pointer offset of a variable in static TLS:
 *                   slot = module base offset + st_value + addend
 *   GLOB_DAT/JUMP_SLOT slot of an IFUNC symbol, IRELATIVE slot whose addend
 *                   is the resolver: the implementation this process uses
 *
 * Worked example: the executable reads libt.so's `tls_lib` (st_value 0x4)
 * with initial-exec code, so its .rela.dyn has TPOFF64 tls_lib+0 at GOT
 * 0x3fd8. Reading 8 bytes at bias+0x3fd8 gives -0x4c: tls_lib is at
 * %fs:-0x4c in every thread, and libt.so's block starts at %fs:-0x50.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "dynrel.h"

#if defined(__x86_64__)
enum lf_tls_class lf_tls_classify(uint32_t type)
{
	switch (type) {
	case R_X86_64_TPOFF32: return LF_TLS_LE;
	case R_X86_64_GOTTPOFF: return LF_TLS_IE;
	case R_X86_64_TLSGD: return LF_TLS_GD;
	case R_X86_64_TLSLD: return LF_TLS_LD;
	case R_X86_64_DTPOFF32: return LF_TLS_DTPOFF32;
	case R_X86_64_DTPOFF64: return LF_TLS_DTPOFF64;
	case R_X86_64_DTPMOD64: case R_X86_64_TPOFF64: case R_X86_64_GOTPC32_TLSDESC:
	case R_X86_64_TLSDESC_CALL: case R_X86_64_TLSDESC:
		return LF_TLS_REFUSED;
	default: return LF_TLS_NONE;
	}
}
#else
enum lf_tls_class lf_tls_classify(uint32_t type)
{
	(void)type;
	return LF_TLS_NONE;	/* the arch backend refuses the types it does not know */
}
#endif

struct dynrel {
	const Elf64_Rela *r;
	const Elf64_Sym *sym;	/* NULL for symbol 0 */
	const char *name;	/* "" for symbol 0 */
	uint64_t slot;		/* what the process holds at the relocated place */
};

typedef int (*dynrel_fn)(const struct lf_target_obj *o, const struct dynrel *d, void *ud);

static bool is_dynsym_section(const struct lf_elfimg *e, unsigned idx)
{
	return idx < e->shnum && e->sh[idx].sh_type == SHT_DYNSYM;
}

/*
 * Calls fn for each dynamic relocation of type in o (only those against
 * symbol name, when name is given: the slot is read from the target only
 * for them); stops at a non-zero return.
 */
static int for_each_dynrel(const struct lf_target *t, const struct lf_target_obj *o, uint32_t type,
			   const char *name, dynrel_fn fn, void *ud)
{
	const struct lf_elfimg *e = &o->elf;

	for (unsigned i = 1; e->sh && i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		const Elf64_Rela *r = lf_elfimg_section_data(e, s);
		if (s->sh_type != SHT_RELA || !(s->sh_flags & SHF_ALLOC) || !r ||
		    s->sh_entsize != sizeof(*r) || (s->sh_link && !is_dynsym_section(e, s->sh_link)))
			continue;
		for (size_t k = 0; k < s->sh_size / sizeof(*r); k++) {
			struct dynrel d = { .r = &r[k], .name = "" };
			size_t si = ELF64_R_SYM(r[k].r_info);
			if (ELF64_R_TYPE(r[k].r_info) != type)
				continue;
			if (si) {
				if (si >= e->ndynsym || !e->dynsym)
					continue;
				d.sym = &e->dynsym[si];
				d.name = d.sym->st_name < e->dynstr_size ? e->dynstr + d.sym->st_name : "";
			}
			if (name && strcmp(d.name, name))
				continue;
			if (lf_mem_read(t->memfd, o->bias + r[k].r_offset, &d.slot, 8) < 0)
				continue;
			int ret = fn(o, &d, ud);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ---- thread-local storage ---- */

struct tls_query {
	const struct lf_target *t;
	const struct lf_target_obj *def;	/* defines the variable */
	const char *name;
	uint64_t value;		/* st_value: offset in def's block */
	uint64_t found;
};

/*
 * Whether relocation d of object o is about a variable of def, and that
 * variable's offset in def's block: def's own relocations (symbol 0, or a
 * symbol defined there), or another object's against a name that def, and
 * no other object, defines as thread-local (so ld.so bound it to def).
 */
static bool about_def(const struct tls_query *q, const struct lf_target_obj *o,
		      const struct dynrel *d, uint64_t *ret_value)
{
	unsigned type;
	uint64_t v;

	if (o == q->def) {
		*ret_value = d->sym ? d->sym->st_value : 0;
		return !d->sym || d->sym->st_shndx != SHN_UNDEF;
	}
	if (!d->sym || d->sym->st_shndx != SHN_UNDEF || !d->name[0] ||
	    lf_elfimg_lookup(&q->def->elf, d->name, 0, true, ret_value, NULL, &type) < 0 ||
	    type != STT_TLS)
		return false;
	for (size_t i = 0; i < q->t->nobjs; i++)
		if (&q->t->objs[i] != q->def &&
		    lf_elfimg_lookup(&q->t->objs[i].elf, d->name, 0, true, &v, NULL, &type) == 0 &&
		    type == STT_TLS)
			return false;
	return true;
}

static int on_dtpmod(const struct lf_target_obj *o, const struct dynrel *d, void *ud)
{
	struct tls_query *q = ud;
	uint64_t v;

	if (!about_def(q, o, d, &v) || d->slot == 0 || d->slot > (1u << 20))
		return 0;
	q->found = d->slot;
	return 1;
}

static int on_tpoff(const struct lf_target_obj *o, const struct dynrel *d, void *ud)
{
	struct tls_query *q = ud;
	uint64_t v;

	if (!about_def(q, o, d, &v))
		return 0;
	q->found = d->slot - v - (uint64_t)d->r->r_addend;	/* the block's offset */
	return 1;
}

static const Elf64_Phdr *tls_phdr(const struct lf_elfimg *e)
{
	for (unsigned i = 0; i < e->phnum; i++)
		if (e->ph[i].p_type == PT_TLS)
			return &e->ph[i];
	return NULL;
}

static int tls_scan(const struct lf_target *t, uint32_t type, dynrel_fn fn, struct tls_query *q)
{
	for (size_t i = 0; i < t->nobjs; i++)
		if (for_each_dynrel(t, &t->objs[i], type, NULL, fn, q))
			return 0;
	return -ENOENT;
}

/*
 * The executable's TLS block is the first in static TLS, right below the
 * thread pointer (x86_64: variant II), aligned: module 1, offset
 * -roundup(p_memsz, p_align). Linkers compute local-exec offsets so.
 */
static int tls_values(const struct lf_target *t, struct tls_query *q, unsigned need,
		      struct lf_tls_ref *ret, char *msg, size_t size)
{
	const Elf64_Phdr *ph = tls_phdr(&q->def->elf);
	const char *path = lf_target_obj_path(t, q->def);
	bool exe = q->def->is_exe && ph;

	ret->dtpoff = q->value;
	if (need & LF_TLS_NEED_MODID) {
		if (exe)
			ret->modid = 1;
		else if (tls_scan(t, LF_DYN_DTPMOD64, on_dtpmod, q) == 0)
			ret->modid = q->found;
		else
			return lf_user_fail(msg, size, -EOPNOTSUPP,
					    "thread-local %s: module id of %s unknown (no resolved DTPMOD64 slot)",
					    q->name, path);
	}
	if (need & LF_TLS_NEED_TPOFF) {
		uint64_t a = ph && ph->p_align > 1 ? ph->p_align : 1;
		if (exe && !(a & (a - 1)))
			ret->tpoff = (int64_t)q->value - (int64_t)((ph->p_memsz + a - 1) & ~(a - 1));
		else if (tls_scan(t, LF_DYN_TPOFF64, on_tpoff, q) == 0)
			ret->tpoff = (int64_t)(q->found + q->value);
		else
			return lf_user_fail(msg, size, -EOPNOTSUPP,
					    "thread-local %s: %s is not in static TLS here (no TPOFF64 slot): "
					    "use the global-dynamic model", q->name, path);
	}
	return 0;
}

int lf_target_resolve_tls(const struct lf_target *t, const char *name, unsigned pos,
			  unsigned need, struct lf_tls_ref *ret, char *msg, size_t size)
{
	struct tls_query q = { .t = t, .name = name };
	unsigned type = STT_NOTYPE;
	int r = lf_elfimg_lookup(&t->objs[t->obj_index].elf, name, pos, false, &q.value, NULL, &type);

	if (r == 0)
		q.def = &t->objs[t->obj_index];
	else if (r == -ENOTUNIQ)
		return lf_user_fail(msg, size, -ENOEXEC,
				    "thread-local %s is ambiguous: bind it with name,position", name);
	for (int pass = 0; !q.def && !pos && pass < 2; pass++)	/* the executable first */
		for (size_t i = 0; !q.def && i < t->nobjs; i++)
			if (t->objs[i].is_exe == (pass == 0) &&
			    lf_elfimg_lookup(&t->objs[i].elf, name, 0, true, &q.value, NULL, &type) == 0 &&
			    type == STT_TLS)
				q.def = &t->objs[i];
	if (!q.def)
		return lf_user_fail(msg, size, -ENOENT, "thread-local %s is not defined in process %d",
				    name, (int)t->pid);
	if (type != STT_TLS)
		return lf_user_fail(msg, size, -ENOEXEC, "symbol %s is not thread-local in %s", name,
				    lf_target_obj_path(t, q.def));
	return tls_values(t, &q, need, ret, msg, size);
}

/* ---- IFUNC ---- */

struct ifunc_query {
	const struct lf_target_obj *def;
	const char *name;
	uint64_t value;		/* the resolver's link-time address */
	uint64_t found;
};

/* A resolved implementation: code of the defining object, not the resolver. */
static bool is_impl(const struct ifunc_query *q, uint64_t addr)
{
	return addr >= q->def->lo && addr < q->def->hi && addr != q->def->bias + q->value;
}

static int on_slot(const struct lf_target_obj *o, const struct dynrel *d, void *ud)
{
	struct ifunc_query *q = ud;

	(void)o;
	if (!d->sym || strcmp(d->name, q->name) || !is_impl(q, d->slot))
		return 0;	/* another symbol, or a lazy slot still at its PLT */
	q->found = d->slot;
	return 1;
}

static int on_irelative(const struct lf_target_obj *o, const struct dynrel *d, void *ud)
{
	struct ifunc_query *q = ud;

	if (o != q->def || (uint64_t)d->r->r_addend != q->value || !is_impl(q, d->slot))
		return 0;
	q->found = d->slot;
	return 1;
}

struct agent_obj {
	const uint8_t *id;
	unsigned id_len;
	uint64_t base;
	const char *name;
	bool found;
};

static bool note_has_id(const uint8_t *p, size_t len, const uint8_t *id, unsigned id_len)
{
	while (len >= 12) {
		uint32_t nsz, dsz, type;
		memcpy(&nsz, p, 4);
		memcpy(&dsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		size_t n4 = ((size_t)nsz + 3) & ~3ul, d4 = ((size_t)dsz + 3) & ~3ul;
		if (n4 > len - 12 || d4 > len - 12 - n4)
			return false;
		if (type == NT_GNU_BUILD_ID && nsz == 4 && !memcmp(p + 12, "GNU", 4) && dsz == id_len &&
		    !memcmp(p + 12 + n4, id, id_len))
			return true;
		p += 12 + n4 + d4;
		len -= 12 + n4 + d4;
	}
	return false;
}

static int find_in_agent(struct dl_phdr_info *info, size_t size, void *ud)
{
	struct agent_obj *a = ud;

	(void)size;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const Elf64_Phdr *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE &&
		    note_has_id((const uint8_t *)(info->dlpi_addr + ph->p_vaddr), ph->p_filesz, a->id,
				a->id_len)) {
			a->base = info->dlpi_addr;
			a->name = info->dlpi_name;
			a->found = true;
			return 1;
		}
	}
	return 0;
}

/*
 * The agent maps the same build (libc, usually): its own dynamic linker ran
 * the resolver on this machine's CPU, so the implementation is at the same
 * offset from the load base in the target.
 */
static int ifunc_from_agent(struct ifunc_query *q)
{
	struct agent_obj a = { .id = q->def->elf.build_id, .id_len = q->def->elf.build_id_len };
	Dl_info info;
	void *h, *addr;

	if (!a.id_len || !dl_iterate_phdr(find_in_agent, &a) || !a.found)
		return -ENOENT;
	h = dlopen(a.name && a.name[0] ? a.name : NULL, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return -ENOENT;
	addr = dlsym(h, q->name);
	dlclose(h);
	if (!addr || !dladdr(addr, &info) || (uint64_t)(uintptr_t)info.dli_fbase != a.base)
		return -ENOENT;
	q->found = (uint64_t)(uintptr_t)addr - a.base + q->def->bias;
	return is_impl(q, q->found) ? 0 : -ENOENT;
}

int lf_target_resolve_ifunc(const struct lf_target *t, const struct lf_target_obj *o,
			    const char *name, uint64_t value, uint64_t *ret_addr, char *msg,
			    size_t size)
{
	static const uint32_t slot_types[] = { LF_DYN_GLOB_DAT, LF_DYN_JUMP_SLOT };
	struct ifunc_query q = { .def = o, .name = name, .value = value };

	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < t->nobjs; i++)
			if (for_each_dynrel(t, &t->objs[i], slot_types[k], name, on_slot, &q)) {
				*ret_addr = q.found;
				return 0;
			}
	if (for_each_dynrel(t, o, LF_DYN_IRELATIVE, NULL, on_irelative, &q) || ifunc_from_agent(&q) == 0) {
		*ret_addr = q.found;
		return 0;
	}
	return lf_user_fail(msg, size, -EOPNOTSUPP,
			    "symbol %s is an IFUNC that process %d has not resolved: call a non-IFUNC alias",
			    name, (int)t->pid);
}
