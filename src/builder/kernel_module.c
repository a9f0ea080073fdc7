// SPDX-License-Identifier: Apache-2.0
/*
 * The back half of `livefix-build kernel`: from verified original and patched
 * objects to a loadable livepatch module.
 *
 *   1. lf_diff_objects() on each unit; any refusal stops the build
 *      (entries of the special tables go along with carried code; an
 *      unknown table with entries for it stops the build: check_tables())
 *   2. lf_diff_write_object(); redirected functions renamed livefix_<name>
 *      and made global (objcopy) so the generated C file can name them
 *   3. every reference to the running kernel classified: exported (stays an
 *      undefined symbol for the module loader) or klp (sympos from kallsyms);
 *      keys of load-time tables the loader cannot use refused (check_table_ref())
 *   4. livefix_main.c (klp_func/klp_object/klp_patch) + Kbuild, built with
 *      make -C <headers> M=<dir>, so modpost and vermagic are the kernel's
 *   5. klp_convert_module() on the linked .ko
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livefix/buf.h"
#include "livefix/diff.h"
#include "livefix/elf.h"
#include "livefix/file.h"
#include "livefix/log.h"

#include "kernel_module.h"
#include "klp_convert.h"

#define MAX_FUNCS 256
#define MAX_REFS 4096
#define MAX_SYMVERS (64u << 20)
#define MAX_MODULE (256u << 20)

struct kfunc {
	char old_name[256];
	char new_name[300];   /* livefix_<name>, a C identifier ('.' of clones -> '_') */
	uint32_t sympos;
	size_t target;        /* index into in->targets: its klp_object */
};

struct kmod {
	const struct kmod_in *in;
	char dir[PATH_MAX];
	struct kfunc funcs[MAX_FUNCS];
	size_t nfuncs;
	struct klp_target *klp;
	size_t nklp, nexported;
	char *symvers;
	size_t nobjs;
};

/* Runs argv with stdout and stderr appended to log; 0 when it exits 0. */
static int run(const char *const argv[], const char *log)
{
	int fd, status;
	pid_t pid;

	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/*
 * Exported to modules by vmlinux or by another module (Module.symvers:
 * "crc<TAB>name<TAB>path/of/module<TAB>..."): the module loader resolves
 * it. A module's export to itself does not count: the patch must not
 * depend on the module it patches, which may load after it.
 */
static bool exported(const struct kmod *k, const char *name, const char *self)
{
	char pat[300], owner[256];
	const char *at, *field, *base;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\t%s\t", name);
	at = strstr(k->symvers, pat);
	if (!at)
		return false;
	field = at + strlen(pat);
	while (n + 1 < sizeof(owner) && field[n] && field[n] != '\t' && field[n] != '\n') {
		owner[n] = field[n] == '-' ? '_' : field[n];
		n++;
	}
	owner[n] = '\0';
	if (!strcmp(owner, "vmlinux"))
		return true;
	base = strrchr(owner, '/') ? strrchr(owner, '/') + 1 : owner;
	return strcmp(base, self) != 0;
}

/* The fidelity check's entry for a function of this unit, or NULL. */
static const struct lf_fid_func *fid_find(const struct kmod *k, const char *unit, const char *name)
{
	for (size_t i = 0; i < k->in->fid->n; i++) {
		const struct lf_fid_func *f = &k->in->fid->funcs[i];

		if (!strcmp(f->object, unit) && !strcmp(f->name, name))
			return f;
	}
	return NULL;
}

/*
 * sympos of a symbol of the running kernel (0 when its name is unique).
 * A function of this unit: the copy the fidelity check found equal to ours,
 * and none other (a same-named function elsewhere is not ours). Anything
 * else: the only symbol of the name with the right binding (upper-case
 * kallsyms type for a global, lower-case for a static). Otherwise
 * -EOPNOTSUPP.
 */
static int sympos(const struct kmod *k, size_t target, const char *unit, const char *name,
		  bool global, uint32_t *ret)
{
	const struct lf_ksyms *s = k->in->targets[target].syms;
	const char *obj = k->in->targets[target].name;
	size_t first, n = lf_ksyms_lookup(s, name, &first), nbound = 0;
	const struct lf_fid_func *f = fid_find(k, unit, name);

	if (f && f->verdict != LF_FID_MATCH) {
		lf_err("%s: %s is not in %s as compiled here (inlined or discarded); "
		       "not supported yet: binding it", unit, name, obj);
		return -EOPNOTSUPP;
	}
	if (!n) {
		lf_err("%s: %s is not in the symbols of %s; not supported yet: binding it",
		       unit, name, obj);
		return -EOPNOTSUPP;
	}
	if (f) {
		*ret = n == 1 ? 0 : f->pos;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lf_ksym *y = &s->syms[s->by_name[first + i]];

		if ((y->type >= 'A' && y->type <= 'Z') == global && ++nbound == 1)
			*ret = n == 1 ? 0 : y->pos;
	}
	if (nbound == 1)
		return 0;
	lf_err("%s: %s names %zu symbols in %s, %zu of them %s; not supported yet: "
	       "telling them apart", unit, name, n, obj, nbound,
	       global ? "global" : "static");
	return -EOPNOTSUPP;
}

/* Address of a vmlinux symbol (the one sympos names), or 0. */
static uint64_t ksym_addr(const struct kmod *k, const char *name, uint32_t pos)
{
	const struct lf_ksyms *s = k->in->targets[0].syms;
	size_t first, n = lf_ksyms_lookup(s, name, &first);

	for (size_t i = 0; i < n; i++) {
		const struct lf_ksym *y = &s->syms[s->by_name[first + i]];

		if (n == 1 || y->pos == pos)
			return y->addr;
	}
	return 0;
}

static bool in_ksym_range(const struct kmod *k, uint64_t a, const char *start, const char *end)
{
	uint64_t lo = ksym_addr(k, start, 0), hi = ksym_addr(k, end, 0);

	return a && lo && hi && a >= lo && a < hi;
}

static const char *table_hint(const char *table)
{
	if (!strcmp(table, "__jump_table"))
		return "; use static_key_enabled()";
	if (!strcmp(table, ".static_call_sites"))
		return "; call the function directly";
	return "";
}

/*
 * The loader processes __jump_table, .static_call_sites, alternatives and
 * paravirt sites of the patch module while it loads it (module_finalize(),
 * then the jump_label and static_call module notifiers). On 6.1 the klp
 * relocations against vmlinux are applied before that, by
 * apply_relocations() -> klp_apply_section_relocs(..., NULL), so entries
 * using unexported vmlinux symbols work. Two cases do not:
 *   - klp relocations against a loadable module's symbols are applied only
 *     when that module is patched (klp_init_object_loaded()), after the
 *     loader used the entries: they would hold unrelocated values;
 *   - jump_label_add_module() and static_call_add_module() write to a key
 *     outside the module (key->next, key->mods): a key in vmlinux's
 *     read-only data (DEFINE_STATIC_KEY_*_RO, __ro_after_init) would fault.
 */
static int check_table_ref(const struct kmod *k, const char *unit, const char *obj,
			   const struct lf_diff_ref *ref, bool klp, uint32_t pos)
{
	bool key = !strcmp(ref->table, "__jump_table") || !strcmp(ref->table, ".static_call_sites");
	uint64_t a;

	if (klp && strcmp(obj, "vmlinux")) {
		lf_err("%s: %s: %s entry uses %s of module %s, which a klp relocation binds only "
		       "after the module loader processed the entry: not supported on this "
		       "kernel%s", unit, ref->table_func, ref->table, ref->name, obj,
		       table_hint(ref->table));
		return -EOPNOTSUPP;
	}
	if (!key || strcmp(obj, "vmlinux"))
		return 0;
	a = ksym_addr(k, ref->name, pos);
	if (in_ksym_range(k, a, "__start_ro_after_init", "__end_ro_after_init") ||
	    in_ksym_range(k, a, "__start_rodata", "__end_rodata")) {
		lf_err("%s: %s: %s entry uses %s %s, which is read-only after boot: the module "
		       "loader writes to the key when it loads the patch: not supported on this "
		       "kernel%s", unit, ref->table_func, ref->table,
		       !strcmp(ref->table, "__jump_table") ? "static key" : "static call key",
		       ref->name, table_hint(ref->table));
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * A reference from a unit of target t: a symbol of the module itself (its
 * statics and globals, exported or not) through a klp relocation for the
 * module; an export of vmlinux or another module as a plain undefined
 * symbol; anything else of vmlinux through a klp relocation for vmlinux.
 */
static int add_ref(struct kmod *k, size_t t, const char *unit, const struct lf_diff_ref *ref)
{
	const char *self = t ? k->in->targets[t].name : "vmlinux";
	size_t obj = t && lf_ksyms_lookup(k->in->targets[t].syms, ref->name, NULL) ? t : 0;
	uint32_t pos;
	int r;

	if (!obj && ref->global && exported(k, ref->name, self)) {
		if (ref->table && (r = check_table_ref(k, unit, "vmlinux", ref, false, 0)) < 0)
			return r;
		k->nexported++;
		return 0;
	}
	r = sympos(k, obj, unit, ref->name, ref->global, &pos);
	if (r < 0)
		return r;
	if (ref->table &&
	    (r = check_table_ref(k, unit, k->in->targets[obj].name, ref, true, pos)) < 0)
		return r;
	for (size_t i = 0; i < k->nklp; i++) {
		if (strcmp(k->klp[i].name, ref->name))
			continue;
		if (k->klp[i].sympos == pos && !strcmp(k->klp[i].obj, k->in->targets[obj].name))
			return 0;
		lf_err("%s: %s is referenced as two different kernel symbols by two units; "
		       "not supported yet", unit, ref->name);
		return -EOPNOTSUPP;
	}
	if (k->nklp == MAX_REFS || strlen(ref->name) >= sizeof(k->klp[0].name))
		return -E2BIG;
	snprintf(k->klp[k->nklp].name, sizeof(k->klp[0].name), "%s", ref->name);
	snprintf(k->klp[k->nklp].obj, sizeof(k->klp[0].obj), "%s", k->in->targets[obj].name);
	k->klp[k->nklp++].sympos = pos;
	printf("  klp-ref %s %s.%s,%u\n", unit, k->in->targets[obj].name, ref->name, pos);
	return 0;
}

/*
 * Sections that hold no behaviour of a function (debug, exports, objtool's
 * annotations, initcalls) or that the differ carries (r->tables).
 */
static bool is_known_section(const struct lf_diff_result *r, const char *name)
{
	static const char *const prefixes[] = {
		".discard", ".rodata", ".data", ".bss", ".init.", ".exit.", ".initcall", ".con_initcall",
		"__ksymtab", "___ksymtab", "__kcrctab", "__param", "__patchable_function_entries",
		"__tracepoints", "__dyndbg", "_ftrace_events", "_ftrace_eval_map", "__bpf_raw_tp_map",
		"__kprobe_blacklist", "_error_injection_whitelist", ".eh_frame",
	};

	for (size_t i = 0; i < r->ntables; i++)
		if (!strcmp(r->tables[i].name, name))
			return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static const struct lf_diff_func *carried_in(const struct lf_elf *p, const struct lf_diff_result *r,
					      uint32_t shndx)
{
	for (size_t i = 0; i < r->nfuncs; i++)
		if ((r->funcs[i].change == LF_DIFF_CHANGED || r->funcs[i].change == LF_DIFF_NEW) &&
		    p->syms[r->funcs[i].sym].shndx == shndx)
			return &r->funcs[i];
	return NULL;
}

/*
 * A table the differ does not know (no objects of its own, allocated, not
 * code) with entries pointing into carried code: the entries would be lost.
 * Data with symbols (a sched_class, an ops structure) is not a table: it is
 * bound to the original and keeps pointing at the redirected function.
 */
static int check_tables(const char *unit, const struct lf_elf *p, const struct lf_diff_result *r)
{
	bool *has_objects = calloc(p->nsecs, sizeof(*has_objects));

	if (!has_objects)
		return -ENOMEM;
	for (size_t i = 1; i < p->nsyms; i++)
		if (p->syms[i].shndx < p->nsecs &&
		    (p->syms[i].type == STT_OBJECT || p->syms[i].type == STT_FUNC))
			has_objects[p->syms[i].shndx] = true;
	for (uint32_t t = 1; t < p->nsecs; t++) {
		const struct lf_elf_section *s = &p->secs[t];
		const struct lf_elf_rela *relas;
		size_t n;

		if (s->type != SHT_PROGBITS || !(s->flags & SHF_ALLOC) || (s->flags & SHF_EXECINSTR) ||
		    has_objects[t] || is_known_section(r, s->name))
			continue;
		lf_elf_section_relas(p, s, &relas, &n);
		for (size_t i = 0; i < n; i++) {
			uint32_t sh = p->syms[relas[i].sym].shndx;
			const struct lf_diff_func *f = sh && sh < p->nsecs ? carried_in(p, r, sh) : NULL;

			if (f) {
				lf_err("%s: %s: not supported: it has entries in %s, a table the patch "
				       "object does not know how to carry", unit, f->name, s->name);
				free(has_objects);
				return -EOPNOTSUPP;
			}
		}
	}
	free(has_objects);
	return 0;
}

static void print_diff(const char *unit, const struct lf_diff_result *r)
{
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lf_diff_func *f = &r->funcs[i];

		if (f->change == LF_DIFF_CHANGED || f->change == LF_DIFF_NEW)
			printf("  %s %s %s%s%s\n", lf_diff_change_name(f->change), unit, f->name,
			       f->why == LF_DIFF_WHY_NONE || f->why == LF_DIFF_WHY_NEW ? "" : ": ",
			       f->why == LF_DIFF_WHY_NONE || f->why == LF_DIFF_WHY_NEW ? ""
				       : lf_diff_why_name(f->why));
	}
	for (size_t i = 0; i < r->ntables; i++)
		if (r->tables[i].carried)
			printf("  table %s %s: %zu of %zu %s\n", unit, r->tables[i].name,
			       r->tables[i].carried, r->tables[i].entries,
			       r->tables[i].code_bytes ? "bytes" : "entries");
	for (size_t i = 0; i < r->nproblems; i++)
		lf_log(r->problems[i].fatal ? LF_LOG_ERR : LF_LOG_WARNING, "%s: %s %s: %s: %s", unit,
			r->problems[i].fatal ? "REFUSED" : "warning", r->problems[i].symbol,
			lf_diff_reason_name(r->problems[i].reason), r->problems[i].detail);
}

/*
 * The patched copy's name in the module: livefix_<name>, or for a clone such
 * as foo.constprop.0 livefix_<n>_foo_constprop_0 (n keeps it unique).
 */
static void new_name(struct kfunc *kf, size_t n)
{
	const char *old = kf->old_name;
	bool plain = !old[strspn(old, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789_")];
	int len = plain ? snprintf(kf->new_name, sizeof(kf->new_name), "livefix_")
			: snprintf(kf->new_name, sizeof(kf->new_name), "livefix_%zu_", n);
	size_t i, at = len > 0 ? (size_t)len : 0;

	for (i = 0; old[i] && at + 1 < sizeof(kf->new_name); i++)
		kf->new_name[at++] = strchr(".$", old[i]) ? '_' : old[i];
	kf->new_name[at] = '\0';
}

/* Redirected functions: renamed and made global so livefix_main.c can name them. */
static int plan_funcs(struct kmod *k, size_t t, const char *unit, const struct lf_diff_result *r,
		      struct lf_buf *redefine, struct lf_buf *globalize)
{
	int ret;

	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lf_diff_func *f = &r->funcs[i];
		struct kfunc *kf;

		if (f->change != LF_DIFF_CHANGED || f->is_part)
			continue;
		for (size_t j = 0; j < k->nfuncs; j++)
			if (!strcmp(k->funcs[j].old_name, f->orig_name)) {
				lf_err("%s: %s changes in two units; not supported yet", unit, f->name);
				return -EOPNOTSUPP;
			}
		for (size_t j = 0; j < r->nrefs; j++)
			if (!strcmp(r->refs[j].name, f->name)) {
				lf_err("%s: %s is both carried and referenced; not supported yet",
				       unit, f->name);
				return -EOPNOTSUPP;
			}
		if (k->nfuncs == MAX_FUNCS || strlen(f->orig_name) >= 200)
			return -E2BIG;
		kf = &k->funcs[k->nfuncs++];
		snprintf(kf->old_name, sizeof(kf->old_name), "%s", f->orig_name);
		kf->target = t;
		ret = sympos(k, t, unit, f->orig_name, f->global, &kf->sympos);
		if (ret < 0)
			return ret;
		new_name(kf, k->nfuncs - 1);
		if (lf_buf_printf(redefine, "%s %s\n", f->name, kf->new_name) < 0 ||
		    lf_buf_printf(globalize, "%s\n", kf->new_name) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int write_unit_object(struct kmod *k, size_t t, const struct lf_elf *p,
			     const struct lf_diff_result *r, const char *unit)
{
	struct lf_buf redef = LF_BUF_INIT(1u << 20), glob = LF_BUF_INIT(1u << 20);
	char tmp[PATH_MAX + 32], out[PATH_MAX + 32], fr[PATH_MAX + 32], fg[PATH_MAX + 32];
	char a_redef[PATH_MAX + 64], a_glob[PATH_MAX + 64];
	const char *argv[] = { "objcopy", a_redef, a_glob, tmp, out, NULL };
	int ret;

	snprintf(tmp, sizeof(tmp), "%s/unit%zu.diff.o", k->dir, k->nobjs);
	snprintf(out, sizeof(out), "%s/unit%zu.o_shipped", k->dir, k->nobjs);
	snprintf(fr, sizeof(fr), "%s/unit%zu.redefine", k->dir, k->nobjs);
	snprintf(fg, sizeof(fg), "%s/unit%zu.globalize", k->dir, k->nobjs);
	snprintf(a_redef, sizeof(a_redef), "--redefine-syms=%s", fr);
	snprintf(a_glob, sizeof(a_glob), "--globalize-symbols=%s", fg);
	ret = plan_funcs(k, t, unit, r, &redef, &glob);
	if (ret < 0)
		goto out;
	ret = lf_diff_write_object(p, r, tmp);
	if (ret < 0) {
		lf_err("%s: cannot write the patch object: %s", unit, strerror(-ret));
		goto out;
	}
	if ((ret = lf_write_file_atomic(fr, redef.data ? redef.data : "", redef.len, 0644)) < 0 ||
	    (ret = lf_write_file_atomic(fg, glob.data ? glob.data : "", glob.len, 0644)) < 0)
		goto out;
	ret = run(argv, k->in->log);
	if (ret < 0) {
		lf_err("%s: objcopy failed (see %s)", unit, k->in->log);
		goto out;
	}
	/* modpost reads every object's .cmd file (symbol CRCs); a prebuilt one has none. */
	snprintf(fr, sizeof(fr), "%s/.unit%zu.o.cmd", k->dir, k->nobjs);
	ret = lf_write_file_atomic(fr, "# prebuilt by livefix-build kernel\n", 35, 0644);
	if (ret < 0)
		lf_err("%s: cannot write: %s", fr, strerror(-ret));
	else
		k->nobjs++;
out:
	lf_buf_release(&redef);
	lf_buf_release(&glob);
	return ret;
}

static int diff_unit(struct kmod *k, size_t t, const char *unit)
{
	char po[PATH_MAX + 300], pp[PATH_MAX + 300];
	struct lf_elf *o = NULL, *p = NULL;
	struct lf_diff_result *r = NULL;
	int ret;

	snprintf(po, sizeof(po), "%s/orig/%s", k->in->work, unit);
	snprintf(pp, sizeof(pp), "%s/patched/%s", k->in->work, unit);
	if ((ret = lf_elf_open(po, &o)) < 0 || (ret = lf_elf_open(pp, &p)) < 0) {
		lf_err("%s: cannot read the rebuilt objects: %s", unit, strerror(-ret));
		goto out;
	}
	struct lf_diff_opts opts = { .touched = k->in->touched, .ntouched = k->in->n_touched };

	ret = lf_diff_objects(o, p, k->in->n_touched ? &opts : NULL, &r);
	if (ret < 0) {
		lf_err("%s: the differ cannot compare the objects: %s", unit, strerror(-ret));
		goto out;
	}
	print_diff(unit, r);
	printf("diff %s: %zu changed, %zu new, %zu unchanged, %zu refs, %zu refused\n", unit,
	       r->nchanged, r->nnew, r->nunchanged, r->nrefs, r->nrefused);
	if (r->nrefused) {
		lf_err("%s: the fix cannot be live patched (%zu refusals above)", unit, r->nrefused);
		ret = -ENOEXEC;
		goto out;
	}
	if (!r->nchanged && !r->nnew)
		goto out;
	if ((ret = check_tables(unit, p, r)) < 0)
		goto out;
	if (k->in->refuse_module) {   /* diffed and printed; nothing to bind or link */
		k->nfuncs += r->nchanged + r->nnew;
		goto out;
	}
	for (size_t i = 0; i < r->nrefs; i++)
		if ((ret = add_ref(k, t, unit, &r->refs[i])) < 0)
			goto out;
	ret = write_unit_object(k, t, p, r, unit);
out:
	lf_diff_result_free(r);
	lf_elf_free(p);
	lf_elf_free(o);
	return ret;
}

static bool target_used(const struct kmod *k, size_t t)
{
	for (size_t i = 0; i < k->nfuncs; i++)
		if (k->funcs[i].target == t)
			return true;
	return false;
}

/* One klp_func array and one klp_object per target the fix changes. */
static void gen_objects(struct kmod *k, struct lf_buf *b)
{
	for (size_t t = 0; t < k->in->n_targets; t++) {
		if (!target_used(k, t))
			continue;
		lf_buf_printf(b, "\nstatic struct klp_func livefix_funcs_%zu[] = {\n", t);
		for (size_t i = 0; i < k->nfuncs; i++)
			if (k->funcs[i].target == t)
				lf_buf_printf(b, "\t{ .old_name = \"%s\", .new_func = %s, "
					      ".old_sympos = %u },\n", k->funcs[i].old_name,
					      k->funcs[i].new_name, k->funcs[i].sympos);
		lf_buf_puts(b, "\t{}\n};\n");
	}
	lf_buf_puts(b, "\nstatic struct klp_object livefix_objs[] = {\n");
	for (size_t t = 0; t < k->in->n_targets; t++) {
		if (!target_used(k, t))
			continue;
		if (t)
			lf_buf_printf(b, "\t{ .name = \"%s\", .funcs = livefix_funcs_%zu },\n",
				      k->in->targets[t].name, t);
		else
			lf_buf_puts(b, "\t{ .name = NULL, .funcs = livefix_funcs_0 },\n");
	}
	lf_buf_puts(b, "\t{}\n};\n\n");
}

static int gen_sources(struct kmod *k)
{
	struct lf_buf b = LF_BUF_INIT(4u << 20);
	char path[PATH_MAX + 32];
	int ret = 0;

	lf_buf_puts(&b, "// SPDX-License-Identifier: GPL-2.0\n"
		    "/* Generated by livefix-build kernel. */\n"
		    "#include <linux/kernel.h>\n#include <linux/livepatch.h>\n"
		    "#include <linux/module.h>\n\n");
	for (size_t i = 0; i < k->nfuncs; i++)
		lf_buf_printf(&b, "extern void %s(void);\n", k->funcs[i].new_name);
	gen_objects(k, &b);
	lf_buf_puts(&b, "static struct klp_patch livefix_patch = {\n\t.mod = THIS_MODULE,\n"
		    "\t.objs = livefix_objs,\n\t.replace = true,\n};\n\n"
		    "static int __init livefix_init(void)\n{\n"
		    "\treturn klp_enable_patch(&livefix_patch);\n}\n\n"
		    "static void __exit livefix_exit(void)\n{\n}\n\n"
		    "module_init(livefix_init);\nmodule_exit(livefix_exit);\n"
		    "MODULE_LICENSE(\"GPL\");\nMODULE_INFO(livepatch, \"Y\");\n");
	ret = lf_buf_printf(&b, "MODULE_INFO(livefix_level, \"%d\");\n", k->in->level);
	snprintf(path, sizeof(path), "%s/livefix_main.c", k->dir);
	if (ret >= 0)
		ret = lf_write_file_atomic(path, b.data, b.len, 0644);
	lf_buf_reset(&b);
	lf_buf_printf(&b, "# SPDX-License-Identifier: GPL-2.0\nobj-m += %s.o\n%s-y := livefix_main.o",
		      k->in->name, k->in->name);
	for (size_t i = 0; i < k->nobjs; i++)
		lf_buf_printf(&b, " unit%zu.o", i);
	ret = lf_buf_puts(&b, "\n");
	snprintf(path, sizeof(path), "%s/Kbuild", k->dir);
	if (ret >= 0)
		ret = lf_write_file_atomic(path, b.data, b.len, 0644);
	lf_buf_release(&b);
	return ret;
}

static int make_module(struct kmod *k, char *ko, size_t size)
{
	char mdir[PATH_MAX + 8];
	const char *argv[] = { "make", "-C", k->in->headers, mdir, "KBUILD_MODPOST_WARN=1",
			       "-j2", "modules", NULL };
	int ret;

	snprintf(mdir, sizeof(mdir), "M=%s", k->dir);
	ret = run(argv, k->in->log);
	if (ret < 0) {
		lf_err("kbuild could not build the module (see %s)", k->in->log);
		return ret;
	}
	snprintf(ko, size, "%s/%s.ko", k->dir, k->in->name);
	return access(ko, R_OK) < 0 ? -ENOENT : 0;
}

static int diff_all(struct kmod *k)
{
	char path[PATH_MAX + 32];
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "%s/Module.symvers", k->in->headers);
	ret = k->in->refuse_module ? 0 : lf_read_file(path, MAX_SYMVERS, &k->symvers, &len);
	if (ret < 0) {
		lf_err("%s: cannot read (a prepared headers tree is needed, see --headers)", path);
		return ret;
	}
	for (size_t i = 0; i < k->in->n_units; i++)
		if ((ret = diff_unit(k, k->in->unit_target[i], k->in->units[i])) < 0)
			return ret;
	if (!k->nfuncs) {
		lf_err("the fix changes no function of the running kernel; no module was written");
		return -ENOEXEC;
	}
	return 0;
}

int kmod_build(const struct kmod_in *in)
{
	struct kmod k = { .in = in };
	const char *rm[] = { "rm", "-rf", k.dir, NULL };
	char ko[PATH_MAX + 300];
	size_t moved = 0, len;
	char *data = NULL;
	int ret;

	snprintf(k.dir, sizeof(k.dir), "%s/module", in->work);
	k.klp = calloc(MAX_REFS, sizeof(*k.klp));
	ret = k.klp ? run(rm, in->log) : -ENOMEM;  /* a kept work dir's last module */
	if (ret >= 0)
		ret = lf_mkdir_p(k.dir, 0755);
	if (ret < 0 || (ret = diff_all(&k)) < 0)
		goto out;
	if (in->refuse_module) {
		lf_err("%s; no module was written", in->refuse_module);
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = gen_sources(&k);
	if (ret < 0 || (ret = make_module(&k, ko, sizeof(ko))) < 0)
		goto out;
	ret = klp_convert_module(ko, k.klp, k.nklp, &moved);
	if (ret < 0) {
		lf_err("%s: cannot add the klp relocations: %s", ko, strerror(-ret));
		goto out;
	}
	ret = lf_read_file(ko, MAX_MODULE, &data, &len);
	if (ret >= 0)
		ret = lf_write_file_atomic(in->out, data, len, 0644);
	if (ret < 0) {
		lf_err("%s: cannot write: %s", in->out, strerror(-ret));
		goto out;
	}
	printf("module %s: %zu functions redirected, %zu klp symbols (%zu relocations), "
	       "%zu exported references\n", in->out, k.nfuncs, k.nklp, moved, k.nexported);
out:
	free(data);
	free(k.symvers);
	free(k.klp);
	return ret;
}
