/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The differ on pairs of objects compiled from tests/diff/cases/<case>/
 * {orig,patched}.c. Each case runs for every architecture built (x86_64,
 * aarch64) and both flag sets: "user" (userspace patch builds) and "kern"
 * (with the kernel's ftrace prologue). The expected outcome of each case is
 * written next to it here, as a user of livefix-build would see it.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "diff_objs.h"
#include "livefix/diff.h"
#include "livefix/elf.h"
#include "../../src/diff/diff_private.h" /* diff_canon_name() */

struct pair {
	const char *arch, *variant;
	struct lf_elf *o, *p;
	struct lf_diff_result *r;
};

static void pair_open(struct pair *x, const char *arch, const char *variant, const char *name,
		      const struct lf_diff_opts *opts)
{
	char path[4096];

	memset(x, 0, sizeof(*x));
	x->arch = arch;
	x->variant = variant;
	case_path(path, sizeof(path), arch, variant, name, "orig");
	assert_int_equal(lf_elf_open(path, &x->o), 0);
	case_path(path, sizeof(path), arch, variant, name, "patched");
	assert_int_equal(lf_elf_open(path, &x->p), 0);
	assert_int_equal(lf_diff_objects(x->o, x->p, opts, &x->r), 0);
}

static void pair_close(struct pair *x)
{
	lf_diff_result_free(x->r);
	lf_elf_free(x->o);
	lf_elf_free(x->p);
}

static const struct lf_diff_func *func(const struct pair *x, const char *name)
{
	const struct lf_diff_func *f = lf_diff_find_func(x->r, name);

	if (!f)
		fail_msg("%s/%s: no function %s in the result", x->arch, x->variant, name);
	return f;
}

static void expect_change(const struct pair *x, const char *name, enum lf_diff_change c)
{
	const struct lf_diff_func *f = func(x, name);

	if (f->change != c)
		fail_msg("%s/%s: %s is %s, expected %s", x->arch, x->variant, name,
			 lf_diff_change_name(f->change), lf_diff_change_name(c));
}

static void expect_refused(const struct pair *x, enum lf_diff_reason reason, const char *sym)
{
	const struct lf_diff_problem *p = lf_diff_find_problem(x->r, reason, sym);

	if (!p || !p->fatal)
		fail_msg("%s/%s: %s not refused for: %s", x->arch, x->variant, sym,
			 lf_diff_reason_name(reason));
	assert_non_null(strstr(p->detail, " ")); /* a sentence, not a code */
}

static const struct lf_diff_data *data_named(const struct lf_diff_result *r, const char *name)
{
	for (size_t i = 0; i < r->ndata; i++)
		if (!strcmp(r->data[i].name, name))
			return &r->data[i];
	return NULL;
}

static bool in_refs(const struct lf_diff_result *r, const char *prefix)
{
	for (size_t i = 0; i < r->nrefs; i++)
		if (!strncmp(r->refs[i].name, prefix, strlen(prefix)))
			return true;
	return false;
}

typedef void (*case_fn)(const char *arch, const char *variant);

static void for_each_variant(const char *arch, case_fn fn)
{
	if (!arch_built(arch))
		skip();
	fn(arch, "user");
	fn(arch, "kern");
}

/* ---- writing the patch object ---- */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/*
 * Writes the patch object of x, checks that binutils accept it (readelf
 * without warnings, objdump -dr, ld -r) and returns it loaded.
 */
static struct lf_elf *write_patch(const struct pair *x, char *path, size_t len)
{
	const char *pre = tool_prefix(x->arch);
	struct lf_elf *e = NULL;
	int fd;

	snprintf(path, len, "/tmp/livefix-test-diff-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lf_diff_write_object(x->p, x->r, path), 0);
	assert_int_equal(run("%sreadelf -aW %s 2>&1 | grep -qE 'readelf: (Warning|Error)'", pre, path) != 0, 1);
	assert_int_equal(run("%sobjdump -dr %s >/dev/null", pre, path), 0);
	assert_int_equal(run("%sld -r -o %s.linked %s", pre, path, path), 0);
	run("rm -f %s.linked", path);
	assert_int_equal(lf_elf_open(path, &e), 0);
	assert_int_equal(e->machine, x->p->machine);
	return e;
}

static const struct lf_elf_symbol *out_sym(const struct lf_elf *e, const char *name)
{
	for (size_t i = 1; i < e->nsyms; i++)
		if (!strcmp(e->syms[i].name, name))
			return &e->syms[i];
	return NULL;
}

static size_t out_defined_funcs(const struct lf_elf *e)
{
	size_t n = 0;

	for (size_t i = 1; i < e->nsyms; i++)
		n += e->syms[i].type == STT_FUNC && lf_elf_symbol_is_defined(&e->syms[i]);
	return n;
}

/* Does `fn`'s code in e refer to the (defined or undefined) symbol `to`? */
static bool out_refers(const struct lf_elf *e, const char *fn, const char *to)
{
	const struct lf_elf_symbol *f = out_sym(e, fn);
	const struct lf_elf_rela *r;
	size_t n;

	assert_non_null(f);
	lf_elf_section_relas(e, &e->secs[f->shndx], &r, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e->syms[r[i].sym].name, to))
			return true;
	return false;
}

/* ---- the cases ---- */

/* Rebuilding the same source (only a comment differs) reports nothing. */
static void unchanged(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "unchanged", NULL);
	assert_int_equal(x.r->nchanged + x.r->nnew + x.r->nremoved + x.r->nrefused, 0);
	assert_true(x.r->nunchanged >= 2);
	expect_change(&x, "sum_squares", LF_DIFF_UNCHANGED);
	expect_change(&x, "report", LF_DIFF_UNCHANGED);
	assert_int_equal(x.r->ndata, 0);
	assert_int_equal(x.r->nrefs, 0);
	pair_close(&x);
}

/* A one-line fix: only add_tax() is in the patch; its callers keep calling it. */
static void oneline(const char *arch, const char *variant)
{
	char path[64];
	struct lf_elf *out;
	struct pair x;

	pair_open(&x, arch, variant, "oneline", NULL);
	expect_change(&x, "add_tax", LF_DIFF_CHANGED);
	assert_int_equal(func(&x, "add_tax")->why, LF_DIFF_WHY_BODY);
	expect_change(&x, "total", LF_DIFF_UNCHANGED);
	expect_change(&x, "untouched", LF_DIFF_UNCHANGED);
	assert_int_equal(x.r->nchanged, 1);
	assert_int_equal(x.r->nrefused, 0);
	out = write_patch(&x, path, sizeof(path));
	assert_int_equal(out_defined_funcs(out), 1);
	assert_non_null(out_sym(out, "add_tax"));
	assert_null(out_sym(out, "total"));
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

/* A static function called from three places changes; legacy() is removed. */
static void static_multi(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "static_multi", NULL);
	expect_change(&x, "check", LF_DIFF_CHANGED);
	assert_false(func(&x, "check")->global);
	expect_change(&x, "path_a", LF_DIFF_UNCHANGED);
	expect_change(&x, "path_b", LF_DIFF_UNCHANGED);
	expect_change(&x, "path_c", LF_DIFF_UNCHANGED);
	expect_change(&x, "legacy", LF_DIFF_REMOVED);
	assert_int_equal(x.r->nchanged, 1);
	pair_close(&x);
}

/* scale() is inlined into f1() and f2(): both are changed, f3() is not. */
static void inline_two(const char *arch, const char *variant)
{
	static const char *const touched[] = { "scale" };
	const struct lf_diff_opts opts = { touched, 1 };
	struct pair x;

	pair_open(&x, arch, variant, "inline_two", NULL);
	expect_change(&x, "f1", LF_DIFF_CHANGED);
	expect_change(&x, "f2", LF_DIFF_CHANGED);
	expect_change(&x, "f3", LF_DIFF_UNCHANGED);
	assert_null(lf_diff_find_func(x.r, "scale"));
	pair_close(&x);
	/* Told which function the fix touched, the differ says why. */
	pair_open(&x, arch, variant, "inline_two", &opts);
	assert_int_equal(func(&x, "f1")->why, LF_DIFF_WHY_INLINED);
	assert_string_equal(func(&x, "f1")->detail, "scale");
	assert_int_equal(func(&x, "f2")->why, LF_DIFF_WHY_INLINED);
	pair_close(&x);
}

/* A new helper is new; the caller is changed and calls the patch's copy. */
static void new_helper(const char *arch, const char *variant)
{
	char path[64];
	struct lf_elf *out;
	struct pair x;

	pair_open(&x, arch, variant, "new_helper", NULL);
	expect_change(&x, "valid_len", LF_DIFF_NEW);
	assert_null(func(&x, "valid_len")->orig_name);
	expect_change(&x, "work", LF_DIFF_CHANGED);
	assert_int_equal(x.r->nnew, 1);
	assert_false(in_refs(x.r, "valid_len"));
	out = write_patch(&x, path, sizeof(path));
	assert_true(lf_elf_symbol_is_defined(out_sym(out, "valid_len")));
	assert_true(out_refers(out, "work", "valid_len") || out_refers(out, "work", ".text.valid_len"));
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

/*
 * greet() gets a new literal in front of the others: it changes, but bye(),
 * whose literal moved to another offset, does not. shout()'s literal
 * changed content at the same offset: it changes.
 */
static void strings(const char *arch, const char *variant)
{
	char path[64];
	struct lf_elf *out;
	struct pair x;
	bool loud = false;

	pair_open(&x, arch, variant, "strings", NULL);
	expect_change(&x, "greet", LF_DIFF_CHANGED);
	expect_change(&x, "bye", LF_DIFF_UNCHANGED);
	expect_change(&x, "shout", LF_DIFF_CHANGED);
	out = write_patch(&x, path, sizeof(path));
	for (size_t i = 1; i < out->nsecs; i++)
		if ((out->secs[i].flags & SHF_STRINGS) && out->secs[i].data)
			loud |= memmem(out->secs[i].data, out->secs[i].size, "LOUD", 5) != NULL;
	assert_true(loud);
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

/* A changed function's references: externals, and a global defined here. */
static void extern_ref(const char *arch, const char *variant)
{
	const struct lf_diff_ref *r;
	struct pair x;

	pair_open(&x, arch, variant, "extern_ref", NULL);
	expect_change(&x, "guard", LF_DIFF_CHANGED);
	expect_change(&x, "reader", LF_DIFF_UNCHANGED);
	r = lf_diff_find_ref(x.r, "global_limit");
	assert_non_null(r);
	assert_true(r->external && r->global);
	r = lf_diff_find_ref(x.r, "external_check");
	assert_non_null(r);
	assert_true(r->external);
	r = lf_diff_find_ref(x.r, "local_global");
	assert_non_null(r);
	assert_true(r->global && !r->external);
	assert_string_equal(x.o->syms[r->orig_sym].name, "local_global");
	assert_null(data_named(x.r, "local_global"));
	pair_close(&x);
}

/* Does function `fn` of e refer to anything in section `sec`? */
static bool code_uses_section(const struct lf_elf *e, const char *fn, uint32_t sec)
{
	const struct lf_elf_symbol *f = NULL;
	const struct lf_elf_rela *r;
	size_t n;

	for (size_t i = 1; i < e->nsyms && !f; i++)
		if (!strcmp(e->syms[i].name, fn))
			f = &e->syms[i];
	assert_non_null(f);
	lf_elf_section_relas(e, &e->secs[f->shndx], &r, &n);
	for (size_t i = 0; i < n; i++)
		if (e->syms[r[i].sym].shndx == sec)
			return true;
	return false;
}

/*
 * tick()'s static counter is bound to the original's, under the original's
 * name, although gcc renumbered it; tack()'s new counter is new data.
 */
static void static_local(const char *arch, const char *variant)
{
	const struct lf_diff_ref *ref = NULL;
	char path[64];
	struct lf_elf *out;
	struct pair x;

	pair_open(&x, arch, variant, "static_local", NULL);
	expect_change(&x, "tick", LF_DIFF_CHANGED);
	expect_change(&x, "tock", LF_DIFF_UNCHANGED);
	expect_change(&x, "tack", LF_DIFF_NEW);
	for (size_t i = 0; i < x.r->nrefs; i++)
		if (!strncmp(x.r->refs[i].name, "counter.", 8))
			ref = &x.r->refs[i];
	assert_non_null(ref);
	assert_false(ref->global);
	assert_false(ref->external);
	/* It is the counter the original tick() uses, not tock()'s. */
	assert_true(code_uses_section(x.o, "tick", x.o->syms[ref->orig_sym].shndx));
	assert_false(code_uses_section(x.o, "tock", x.o->syms[ref->orig_sym].shndx));
	/* The only new data is tack()'s counter. */
	assert_int_equal(x.r->ndata, 1);
	assert_true(code_uses_section(x.p, "tack", x.p->syms[x.r->data[0].sym].shndx));
	assert_int_equal(x.r->nrefused, 0);
	out = write_patch(&x, path, sizeof(path));
	assert_non_null(out_sym(out, ref->name));
	assert_false(lf_elf_symbol_is_defined(out_sym(out, ref->name)));
	assert_true(lf_elf_symbol_is_defined(out_sym(out, x.r->data[0].name)));
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

/* A new global variable goes into the patch. */
static void new_global(const char *arch, const char *variant)
{
	const struct lf_diff_data *d;
	char path[64];
	struct lf_elf *out;
	struct pair x;

	pair_open(&x, arch, variant, "new_global", NULL);
	expect_change(&x, "connect_once", LF_DIFF_CHANGED);
	d = data_named(x.r, "retries");
	assert_non_null(d);
	assert_true(d->global);
	assert_int_equal(d->size, 4);
	assert_int_equal(x.r->nrefused, 0);
	out = write_patch(&x, path, sizeof(path));
	assert_int_equal(out_sym(out, "retries")->type, STT_OBJECT);
	assert_true(lf_elf_symbol_is_defined(out_sym(out, "retries")));
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

/* compute.constprop.0 turns back into compute: one changed function. */
static void clone_rename(const char *arch, const char *variant)
{
	const struct lf_diff_func *f = NULL;
	struct pair x;

	pair_open(&x, arch, variant, "clone_rename", NULL);
	for (size_t i = 0; i < x.r->nfuncs; i++)
		if (x.r->funcs[i].orig_name && !strcmp(x.r->funcs[i].orig_name, "compute.constprop.0"))
			f = &x.r->funcs[i];
	assert_non_null(f);
	assert_int_equal(f->change, LF_DIFF_CHANGED);
	assert_int_equal(strncmp(f->name, "compute", 7), 0);
	assert_string_not_equal(f->name, f->orig_name);
	assert_int_equal(x.r->nnew, 0);
	assert_int_equal(x.r->nremoved, 0);
	pair_close(&x);
}

/* A switch's jump table travels with its function and is compared by content. */
static void jump_table(const char *arch, const char *variant)
{
	char path[64];
	struct lf_elf *out;
	struct pair x;
	bool table = false;

	pair_open(&x, arch, variant, "jump_table", NULL);
	expect_change(&x, "dispatch", LF_DIFF_CHANGED);
	expect_change(&x, "classify", LF_DIFF_UNCHANGED);
	out = write_patch(&x, path, sizeof(path));
	for (size_t i = 1; i < out->nsecs; i++)
		table |= !strncmp(out->secs[i].name, ".rodata", 7) && !(out->secs[i].flags & SHF_STRINGS);
	assert_true(table);
	assert_null(out_sym(out, "classify"));
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

/*
 * Where gcc moves parse()'s error path out of line (parse.cold), a fix to
 * that path changes the part, and the parent is patched with its part.
 */
static void cold_part(const char *arch, const char *variant)
{
	const struct lf_diff_func *part;
	char path[64];
	struct lf_elf *out;
	struct pair x;

	pair_open(&x, arch, variant, "cold_part", NULL);
	expect_change(&x, "parse", LF_DIFF_CHANGED);
	expect_change(&x, "unrelated", LF_DIFF_UNCHANGED);
	assert_int_equal(x.r->nrefused, 0);
	part = lf_diff_find_func(x.r, "parse.cold");
	if (!part) { /* inlined on this target: an ordinary change */
		assert_int_equal(func(&x, "parse")->why, LF_DIFF_WHY_BODY);
		pair_close(&x);
		return;
	}
	assert_true(part->is_part);
	assert_false(func(&x, "parse")->is_part);
	assert_int_equal(part->change, LF_DIFF_CHANGED);
	assert_int_equal(func(&x, "parse")->why, LF_DIFF_WHY_COLD_PART);
	out = write_patch(&x, path, sizeof(path));
	assert_true(lf_elf_symbol_is_defined(out_sym(out, "parse.cold")));
	assert_true(out_refers(out, "parse", "parse.cold"));
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

static void struct_layout(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "struct_layout", NULL);
	expect_refused(&x, LF_DIFF_REFUSE_LAYOUT, "config");
	assert_int_equal(x.r->nrefused, 1);
	assert_int_equal(lf_diff_write_object(x.p, x.r, "/nonexistent/never-written.o"), -EOPNOTSUPP);
	pair_close(&x);
}

static void data_init(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "data_init", NULL);
	expect_refused(&x, LF_DIFF_REFUSE_DATA_INIT, "threshold");
	assert_int_equal(x.r->nrefused, 1);
	expect_change(&x, "over", LF_DIFF_UNCHANGED);
	pair_close(&x);
}

static void init_text(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "init_text", NULL);
	expect_refused(&x, LF_DIFF_REFUSE_INIT_SECTION, "setup");
	assert_int_equal(x.r->nrefused, 1);
	expect_change(&x, "runtime", LF_DIFF_UNCHANGED);
	pair_close(&x);
}

/* notrace matters only where functions get a prologue (kernel builds). */
static void notrace(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "notrace", NULL);
	expect_change(&x, "fast_path", LF_DIFF_CHANGED);
	expect_change(&x, "traced", LF_DIFF_CHANGED);
	if (!strcmp(variant, "kern")) {
		expect_refused(&x, LF_DIFF_REFUSE_NOTRACE, "fast_path");
		assert_false(func(&x, "fast_path")->has_prologue);
		assert_true(func(&x, "traced")->has_prologue);
		assert_int_equal(x.r->nrefused, 1);
	} else {
		assert_int_equal(x.r->nrefused, 0);
	}
	pair_close(&x);
}

static void static_key(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "static_key", NULL);
	expect_refused(&x, LF_DIFF_REFUSE_STATIC_KEY, "debug_key");
	assert_null(lf_diff_find_problem(x.r, LF_DIFF_REFUSE_STATIC_KEY, "trace_key"));
	assert_non_null(data_named(x.r, "trace_key"));
	pair_close(&x);
}

static void static_call(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "static_call", NULL);
	expect_refused(&x, LF_DIFF_REFUSE_STATIC_CALL, "__SCK__net_rx");
	assert_null(lf_diff_find_problem(x.r, LF_DIFF_REFUSE_STATIC_CALL, "__SCK__net_tx"));
	expect_change(&x, "send", LF_DIFF_UNCHANGED);
	expect_change(&x, "receive", LF_DIFF_NEW);
	pair_close(&x);
}

/* gcc's local suffixes come off; the .cold tag stays. */
static void test_canonical_names(void **state)
{
	static const char *const cases[][2] = {
		{ "compute.constprop.0", "compute" },
		{ "compute.isra.12", "compute" },
		{ "compute.constprop.0.isra.0", "compute" },
		{ "compute.part.3", "compute" },
		{ "counter.1", "counter" },
		{ "helper.lto_priv.0", "helper" },
		{ "x.localalias", "x" },
		{ "parse.cold", "parse.cold" },
		{ "parse.part.0.cold", "parse.cold" },
		{ "plain", "plain" },
		{ ".LC0", ".LC0" },
		{ "version.2.34", "version" },
		{ "a.b", "a.b" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = diff_canon_name(cases[i][0]);

		assert_non_null(c);
		assert_string_equal(c, cases[i][1]);
		free(c);
	}
}

/* Objects of two machines are not a pair. */
static void test_machine_mismatch(void **state)
{
	char a[4096], b[4096];
	struct lf_elf *o, *p;
	struct lf_diff_result *r = NULL;

	if (!arch_built("aarch64"))
		skip();
	case_path(a, sizeof(a), "x86_64", "user", "oneline", "orig");
	case_path(b, sizeof(b), "aarch64", "user", "oneline", "patched");
	assert_int_equal(lf_elf_open(a, &o), 0);
	assert_int_equal(lf_elf_open(b, &p), 0);
	assert_int_equal(lf_diff_objects(o, p, NULL, &r), -ENOEXEC);
	assert_null(r);
	lf_elf_free(o);
	lf_elf_free(p);
}

static const struct lf_diff_table *table(const struct lf_diff_result *r, const char *name)
{
	for (size_t i = 0; i < r->ntables; i++)
		if (!strcmp(r->tables[i].name, name))
			return &r->tables[i];
	fail_msg("no table %s in the result", name);
	return NULL;
}

/* The relocations of section name in e: count, and the symbol at offset off. */
static size_t out_relas(const struct lf_elf *e, const char *name, uint64_t off,
			const char **ret_sym, int64_t *ret_addend)
{
	const struct lf_elf_section *s = lf_elf_section_by_name(e, name);
	const struct lf_elf_rela *r;
	size_t n;

	assert_non_null(s);
	lf_elf_section_relas(e, s, &r, &n);
	*ret_sym = NULL;
	for (size_t i = 0; i < n; i++)
		if (r[i].offset == off) {
			*ret_sym = e->syms[r[i].sym].name;
			*ret_addend = r[i].addend;
		}
	return n;
}

/*
 * Kernel tables: get_one()'s entries are carried, compacted to the front of
 * a table of the same name, with their relocations; get_two()'s are not.
 * The static key and the replacement code's callee of get_one() become
 * references marked with the table that needs them at load time.
 */
static void special_tables(const char *arch, const char *variant)
{
	static const struct { const char *name; size_t entsize; } tabs[] = {
		{ "__ex_table", 12 }, { "__jump_table", 16 }, { "__bug_table", 12 },
		{ ".altinstructions", 12 }, { ".orc_unwind_ip", 8 }, { ".orc_unwind", 12 },
	};
	const struct lf_diff_ref *key, *alt;
	const char *sym;
	int64_t addend = 0;
	struct lf_elf *out;
	char path[64];
	struct pair x;

	pair_open(&x, arch, variant, "special_tables", NULL);
	expect_change(&x, "get_one", LF_DIFF_CHANGED);
	expect_change(&x, "get_two", LF_DIFF_UNCHANGED);
	assert_int_equal(x.r->nrefused, 0);
	if (strcmp(arch, "x86_64")) {
		assert_int_equal(x.r->ntables, 0);
		pair_close(&x);
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(table(x.r, tabs[i].name)->entries, 2);
		assert_int_equal(table(x.r, tabs[i].name)->carried, 1);
	}
	assert_int_equal(table(x.r, ".orc_unwind_ip")->carried, 2);
	assert_int_equal(table(x.r, ".orc_unwind")->carried, 2);
	assert_true(table(x.r, ".altinstr_replacement")->code_bytes);
	assert_int_equal(table(x.r, ".altinstr_replacement")->carried, 5);
	key = lf_diff_find_ref(x.r, "hot_key");
	alt = lf_diff_find_ref(x.r, "alt_target_one");
	assert_non_null(key);
	assert_non_null(alt);
	assert_string_equal(key->table, "__jump_table");
	assert_string_equal(key->table_func, "get_one");
	assert_string_equal(alt->table, ".altinstr_replacement");
	assert_string_equal(alt->table_func, "get_one");
	assert_false(in_refs(x.r, "cold_key") || in_refs(x.r, "alt_target_two"));
	/* get_one()'s slow path: testb (7 bytes), jnz (6), jmp (5), after get_two()'s. */
	assert_int_equal(table(x.r, ".altinstr_aux")->entries, 36);
	assert_int_equal(table(x.r, ".altinstr_aux")->carried, 18);
	assert_true(in_refs(x.r, "flag_one"));
	assert_false(in_refs(x.r, "flag_two"));

	out = write_patch(&x, path, sizeof(path));
	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
		assert_int_equal(lf_elf_section_by_name(out, tabs[i].name)->size, tabs[i].entsize);
	assert_int_equal(out_relas(out, "__jump_table", 8, &sym, &addend), 3);
	assert_string_equal(sym, "hot_key");
	assert_int_equal(addend, 1);
	assert_int_equal(out_relas(out, "__ex_table", 0, &sym, &addend), 2);
	assert_true(!strcmp(sym, "get_one") || !strcmp(sym, ".text.get_one"));
	assert_int_equal(out_relas(out, "__bug_table", 4, &sym, &addend), 2);
	assert_non_null(sym);
	assert_int_equal(out_relas(out, ".orc_unwind_ip", 4, &sym, &addend), 2);
	assert_int_equal(out_relas(out, ".altinstr_replacement", 6, &sym, &addend), 1);
	assert_string_equal(sym, "alt_target_one");
	assert_int_equal(lf_elf_section_by_name(out, ".altinstr_replacement")->size, 10);
	assert_int_equal(out_relas(out, ".altinstr_aux", 18 + 2, &sym, &addend), 3);
	assert_non_null(sym);
	assert_string_equal(sym, "flag_one");
	assert_int_equal(run("readelf -rW %s | grep -A20 \"'.rela.text.get_one'\" | "
			     "grep -q '.altinstr_aux + e$'", path), 0);
	/* The bug entry's line (42) came along; its file string is in the patch. */
	assert_int_equal(lf_elf_section_by_name(out, "__bug_table")->data[8], 42);
	assert_int_equal(run("objdump -s -j .rodata.str1.1 %s | grep -q special_tables", path), 0);
	lf_elf_free(out);
	unlink(path);
	pair_close(&x);
}

/* A table whose size is no whole number of the kernel's entries: refused. */
static void special_bad(const char *arch, const char *variant)
{
	struct pair x;

	pair_open(&x, arch, variant, "special_bad", NULL);
	expect_change(&x, "warn_if", LF_DIFF_CHANGED);
	if (!strcmp(arch, "x86_64"))
		expect_refused(&x, LF_DIFF_REFUSE_SPECIAL, "__bug_table");
	else
		assert_int_equal(x.r->nrefused, 0);
	pair_close(&x);
}

#define CASE(name)                                                                  \
	static void test_##name##_x86_64(void **state) { for_each_variant("x86_64", name); } \
	static void test_##name##_aarch64(void **state) { for_each_variant("aarch64", name); }
#define RUN(name) cmocka_unit_test(test_##name##_x86_64), cmocka_unit_test(test_##name##_aarch64)

CASE(unchanged)
CASE(oneline)
CASE(static_multi)
CASE(inline_two)
CASE(new_helper)
CASE(strings)
CASE(extern_ref)
CASE(static_local)
CASE(new_global)
CASE(clone_rename)
CASE(jump_table)
CASE(cold_part)
CASE(struct_layout)
CASE(data_init)
CASE(init_text)
CASE(notrace)
CASE(static_key)
CASE(static_call)
CASE(special_tables)
CASE(special_bad)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RUN(unchanged), RUN(oneline), RUN(static_multi), RUN(inline_two),
		RUN(new_helper), RUN(strings), RUN(extern_ref), RUN(static_local),
		RUN(new_global), RUN(clone_rename), RUN(jump_table), RUN(cold_part),
		RUN(struct_layout),
		RUN(data_init), RUN(init_text), RUN(notrace), RUN(static_key), RUN(static_call),
		RUN(special_tables), RUN(special_bad),
		cmocka_unit_test(test_canonical_names),
		cmocka_unit_test(test_machine_mismatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
