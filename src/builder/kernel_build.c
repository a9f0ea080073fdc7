// SPDX-License-Identifier: Apache-2.0
/* The pipeline of `livefix-build kernel`, one function per step. */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "livefix/buf.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/kbuild.h"
#include "livefix/log.h"

#include "bundle_build.h"
#include "kernel_build.h"
#include "kernel_module.h"
#include "kmod_sign.h"

#define MAX_PATCH (16u << 20)
#define MAX_OBJECT (256u << 20)

#define MAX_MODULES 16

/* A loadable module the fix touches: its shipped .ko is the reference. */
struct kmodule {
	char name[64];              /* KBUILD_MODNAME, the klp_object's name */
	char path[PATH_MAX];
	struct lf_kimage *image;
	struct lf_ksyms *syms;
};

/* The kernel architectures we build for; the first is the host's own. */
struct karch {
	const char *name;          /* --cross value, or the native arch */
	uint16_t machine;          /* ELF e_machine of the image */
	const char *kbuild_arch;   /* ARCH=, NULL natively */
	const char *cross_compile; /* CROSS_COMPILE=, NULL natively */
	const char *config_line;   /* what the kernel's .config must say */
};

static const struct karch karchs[] = {
	{ "x86_64", EM_X86_64, NULL, NULL, "CONFIG_X86_64=y" },
	{ "aarch64", EM_AARCH64, "arm64", "aarch64-linux-gnu-", "CONFIG_ARM64=y" },
};

static const struct karch *karch_by_machine(uint16_t machine)
{
	for (size_t i = 0; i < sizeof(karchs) / sizeof(karchs[0]); i++)
		if (karchs[i].machine == machine)
			return &karchs[i];
	return NULL;
}

struct run {
	const struct kbuild_opts *o;
	const struct karch *arch;
	bool livepatch;            /* the config has CONFIG_LIVEPATCH=y */
	struct lf_kimage *image;
	struct lf_ksyms *syms;
	struct kmodule mods[MAX_MODULES];
	size_t nmods;
	size_t unit_target[LF_KPATCH_MAX_UNITS]; /* 0: vmlinux, i: mods[i - 1] */
	struct lf_ktree tree;
	struct lf_kfix fix;
	struct lf_fid_report fid;
	char work[PATH_MAX];
	char log[PATH_MAX + 16];
	char tar[PATH_MAX];
	char build_id[130];
	double t_orig, t_patched;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The image says which architecture it is for; --cross must agree (or is
 * inferred from it), and the config must be that architecture's.
 */
static int check_arch(struct run *ru)
{
	const struct kbuild_opts *o = ru->o;
	uint16_t machine = lf_kimage_machine(ru->image);
	char *config;
	size_t len;
	int r;

	ru->arch = karch_by_machine(machine);
	if (!ru->arch)
		return lf_log_errno(-EOPNOTSUPP, "%s: ELF machine %u: not a kernel we build for "
				    "(x86_64, aarch64)", o->image, machine);
	if (o->cross && strcmp(o->cross, ru->arch->name)) {
		lf_err("%s: the image is an %s kernel, but --cross %s was given", o->image,
		       ru->arch->name, o->cross);
		return -ENOEXEC;
	}
	if (!o->cross && ru->arch != &karchs[0]) {
		lf_err("%s: the image is an %s kernel: give --cross %s to build for it", o->image,
		       ru->arch->name, ru->arch->name);
		return -ENOEXEC;
	}
	r = lf_read_file(o->config, 4u << 20, &config, &len);
	if (r < 0)
		return lf_log_errno(r, "%s: cannot read", o->config);
	ru->livepatch = strstr(config, "\nCONFIG_LIVEPATCH=y\n") != NULL;
	r = strstr(config, ru->arch->config_line) ? 0 : -ENOEXEC;
	free(config);
	if (r < 0) {
		lf_err("%s: not the config of an %s kernel (no %s), but the image is one",
		       o->config, ru->arch->name, ru->arch->config_line);
		return r;
	}
	if (ru->arch->cross_compile)
		printf("cross build for %s: ARCH=%s CROSS_COMPILE=%s, config %s CONFIG_LIVEPATCH\n",
		       ru->arch->name, ru->arch->kbuild_arch, ru->arch->cross_compile,
		       ru->livepatch ? "with" : "without");
	return 0;
}

static int load_image(struct run *ru)
{
	const struct kbuild_opts *o = ru->o;
	const uint8_t *elf;
	size_t len;
	int r;

	r = lf_kimage_open(o->image, &ru->image);
	if (r < 0)
		return lf_log_errno(r, "%s: cannot read kernel image", o->image);
	if (lf_kimage_build_id(ru->image, ru->build_id, sizeof(ru->build_id)) < 0)
		snprintf(ru->build_id, sizeof(ru->build_id), "none");
	elf = lf_kimage_elf(ru->image, &len);
	if (o->system_map) {
		r = lf_ksyms_read_system_map(o->system_map, &ru->syms);
		if (r < 0)
			return lf_log_errno(r, "%s: not a usable System.map", o->system_map);
	} else {
		r = lf_ksyms_read_elf(elf, len, &ru->syms);
		if (r < 0)
			r = lf_kallsyms_decode(elf, len, &ru->syms);
		if (r < 0)
			return lf_log_errno(r, "%s: no symbol table found (kallsyms, symtab); "
					    "give --system-map", o->image);
	}
	printf("image %s: %s, build-id %s, %zu symbols from %s\n", o->image,
	       lf_kimage_compression(ru->image), ru->build_id, ru->syms->n, ru->syms->source);
	return check_arch(ru);
}

/*
 * The config records the compiler the kernel was built with
 * (CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"). A
 * different one may still produce the same code for the units at hand, so
 * this only warns, naming both; the fidelity check decides. Program names
 * differ legitimately (gcc-12 vs aarch64-linux-gnu-gcc-12): only what
 * follows the first space is compared.
 */
static void compare_compiler(const struct run *ru)
{
	static const char key[] = "\nCONFIG_CC_VERSION_TEXT=\"";
	char *config, *p, *ours = strchr(ru->tree.cc_version, ' ');
	size_t len, n;

	if (!ours || lf_read_file(ru->o->config, 4u << 20, &config, &len) < 0)
		return;
	p = strstr(config, key);
	if (p) {
		p += sizeof(key) - 1;
		n = strcspn(p, "\"\n");
		p[n] = '\0';
		if (strchr(p, ' ') && strcmp(strchr(p, ' '), ours))
			lf_warn("compiler: the kernel was built with '%s', this build uses '%s': "
				"functions may differ (the fidelity check decides)", p,
				ru->tree.cc_version);
	}
	free(config);
}

static int open_tree(struct run *ru)
{
	const struct kbuild_opts *o = ru->o;
	struct lf_ktree_config cfg = {
		.cache_dir = o->cache, .source_dir = o->source, .config = o->config,
		.kernelvariables = o->kvars, .kcflags = o->kcflags, .log_path = ru->log,
		.jobs = o->jobs, .arch = ru->arch->kbuild_arch,
		.cross_compile = ru->arch->cross_compile,
	};
	double t0 = now();
	int r;

	if (o->source_pkg) {
		r = lf_kbuild_fetch_source(o->cache, o->source_pkg, ru->log, ru->tar, sizeof(ru->tar));
		if (r < 0)
			return lf_log_errno(r, "linux-source %s: cannot fetch (see %s)", o->source_pkg,
					    ru->log);
		cfg.source_tar = ru->tar;
		cfg.source_id = o->source_pkg;
	}
	r = lf_ktree_open(&cfg, &ru->tree);
	if (r == -ENOENT)
		return lf_log_errno(r, "build tree: source or compiler not found");
	if (r < 0)
		return lf_log_errno(r, "build tree: cannot prepare (see %s)", ru->log);
	printf("build tree %s: %s (%.1f s), compiler %s\n", ru->tree.objdir,
	       ru->tree.reused ? "reused" : "prepared", now() - t0, ru->tree.cc);
	compare_compiler(ru);
	return 0;
}

static int plan_units(struct run *ru)
{
	char *text;
	size_t len, i;
	double t0 = now();
	int r;

	r = lf_read_file(ru->o->patch, MAX_PATCH, &text, &len);
	if (r < 0)
		return lf_log_errno(r, "%s: cannot read", ru->o->patch);
	r = lf_kfix_parse(text, len, &ru->fix);
	if (r >= 0)
		r = lf_kfix_touched(&ru->fix, text, len, ru->tree.srcdir);
	free(text);
	if (r < 0)
		return lf_log_errno(r, "%s: not a unified diff with file names", ru->o->patch);
	r = lf_kfix_units(&ru->fix, &ru->tree);
	if (r == -EOPNOTSUPP)
		return lf_log_errno(r, "%s: changes files that are not C, assembly or headers",
				    ru->o->patch);
	if (r < 0)
		return lf_log_errno(r, "%s: cannot map the fix to units", ru->o->patch);
	printf("fix %s: %zu files changed (%zu headers), %zu units to rebuild", ru->o->patch,
	       ru->fix.n_files, ru->fix.n_headers, ru->fix.n_units);
	if (ru->fix.unit_method)
		printf(" (header users by %s, %.1f s)", ru->fix.unit_method, now() - t0);
	printf("\n");
	for (i = 0; i < ru->fix.n_units && (ru->o->list_units || i < 20); i++)
		printf("  unit %s\n", ru->fix.units[i]);
	if (ru->fix.n_touched) {
		printf("  touched functions:");
		for (i = 0; i < ru->fix.n_touched && i < 40; i++)
			printf(" %s", ru->fix.touched[i]);
		printf("%s\n", ru->fix.n_touched > 40 ? " ..." : "");
	}
	return 0;
}

static int copy_objects(struct run *ru, const char *sub)
{
	char from[PATH_MAX * 2], to[PATH_MAX * 2], *data, *slash;
	size_t i, len;
	int r;

	for (i = 0; i < ru->fix.n_units; i++) {
		snprintf(from, sizeof(from), "%s/%s", ru->tree.objdir, ru->fix.units[i]);
		snprintf(to, sizeof(to), "%s/%s/%s", ru->work, sub, ru->fix.units[i]);
		slash = strrchr(to, '/');
		*slash = '\0';
		r = lf_mkdir_p(to, 0755);
		*slash = '/';
		if (r < 0)
			return r;
		r = lf_read_file(from, MAX_OBJECT, &data, &len);
		if (r < 0)
			return r;
		r = lf_write_file_atomic(to, data, len, 0644);
		free(data);
		if (r < 0)
			return r;
	}
	return 0;
}

static int build_units(struct run *ru, const char *sub, double *secs)
{
	double t0 = now();
	int r;

	r = lf_ktree_build(&ru->tree, (const char *const *)ru->fix.units, ru->fix.n_units);
	*secs = now() - t0;
	if (r < 0)
		return lf_log_errno(r, "%s build of %zu units failed (see %s)", sub,
				    ru->fix.n_units, ru->log);
	printf("rebuilt %s: %zu units in %.1f s\n", sub, ru->fix.n_units, *secs);
	r = copy_objects(ru, sub);
	if (r < 0)
		return lf_log_errno(r, "%s: cannot keep the %s objects", ru->work, sub);
	return 0;
}

/* Where the shipped modules are: --module-dir, else the image package's lib/modules. */
static void module_dir(const struct kbuild_opts *o, char *dir, size_t size)
{
	const char *slash;

	if (o->module_dir) {
		snprintf(dir, size, "%s", o->module_dir);
		return;
	}
	snprintf(dir, size, "%s", o->image);      /* ROOT/boot/vmlinuz-X */
	for (int up = 0; up < 2; up++) {
		slash = strrchr(dir, '/');
		if (!slash)
			break;
		dir[slash - dir] = '\0';
	}
	snprintf(dir + strlen(dir), size - strlen(dir), "/lib/modules");
}

static int open_module(struct run *ru, const char *name, size_t *ret)
{
	struct kmodule *m;
	char dir[PATH_MAX];
	const uint8_t *elf;
	size_t i, len;
	int r;

	for (i = 0; i < ru->nmods; i++)
		if (!strcmp(ru->mods[i].name, name)) {
			*ret = i + 1;
			return 0;
		}
	if (ru->nmods == MAX_MODULES)
		return lf_log_errno(-E2BIG, "the fix touches more than %d modules", MAX_MODULES);
	m = &ru->mods[ru->nmods];
	snprintf(m->name, sizeof(m->name), "%s", name);
	module_dir(ru->o, dir, sizeof(dir));
	r = lf_kmodule_find(dir, name, m->path, sizeof(m->path));
	if (r == -EMEDIUMTYPE)
		return lf_log_errno(-EOPNOTSUPP, "module %s: only a compressed .ko under %s; "
				    "not supported yet: give uncompressed modules with --module-dir",
				    name, dir);
	if (r < 0)
		return lf_log_errno(r, "module %s: no %s.ko under %s (give --module-dir)", name,
				    name, dir);
	r = lf_kimage_open_module(m->path, &m->image);
	if (r < 0)
		return lf_log_errno(r, "%s: not a readable module", m->path);
	elf = lf_kimage_elf(m->image, &len);
	r = lf_ksyms_read_module(elf, len, &m->syms);
	if (r < 0) {
		lf_kimage_free(m->image);
		m->image = NULL;
		return lf_log_errno(r, "%s: no usable symbol table", m->path);
	}
	ru->nmods++;
	*ret = ru->nmods;
	printf("module %s: %s, %zu symbols\n", name, m->path, m->syms->n);
	return 0;
}

/*
 * kbuild compiles objects of loadable modules with -DMODULE and names the
 * module in KBUILD_MODNAME: such a unit is compared with, and patched in,
 * that module's shipped .ko instead of vmlinux.
 */
static int unit_target(struct run *ru, size_t i)
{
	char path[PATH_MAX * 2], name[64], *text, *slash, *p;
	size_t len, n = 0;
	int r;

	slash = strrchr(ru->fix.units[i], '/');
	snprintf(path, sizeof(path), "%s/%.*s.%s.cmd", ru->tree.objdir,
		 slash ? (int)(slash - ru->fix.units[i] + 1) : 0, ru->fix.units[i],
		 slash ? slash + 1 : ru->fix.units[i]);
	r = lf_read_file(path, 16u << 20, &text, &len);
	if (r < 0)
		return lf_log_errno(r, "%s: cannot read how kbuild built it", path);
	ru->unit_target[i] = 0;
	static const char key[] = "-DKBUILD_MODNAME='\"";

	p = strstr(text, " -DMODULE ") ? strstr(text, key) : NULL;
	if (p)
		for (p += sizeof(key) - 1; n + 1 < sizeof(name) && (isalnum((unsigned char)p[n]) || p[n] == '_'); n++)
			name[n] = p[n];
	name[n] = '\0';
	r = p && (!n || p[n] != '"') ? -EBADMSG : 0;
	free(text);
	if (r < 0)
		return lf_log_errno(r, "%s: built as a module without a KBUILD_MODNAME", path);
	if (!p)
		return 0;
	r = open_module(ru, name, &ru->unit_target[i]);
	if (r >= 0)
		printf("  unit %s is part of module %s\n", ru->fix.units[i], name);
	return r;
}

static int unit_targets(struct run *ru)
{
	int r;

	for (size_t i = 0; i < ru->fix.n_units; i++)
		if ((r = unit_target(ru, i)) < 0)
			return r;
	return 0;
}

static void print_func(const struct lf_fid_func *f)
{
	static const char *const word[] = { "match", "DIFFER", "absent" };
	uint32_t i;

	printf("  %-6s %s %s", word[f->verdict], f->object, f->name);
	if (f->verdict != LF_FID_ABSENT)
		printf(" at %#" PRIx64 " (pos %u), %u bytes, %u masked", f->addr, f->pos, f->size,
		       f->masked);
	else if (f->weak)
		printf(" (weak, overridden by a strong definition in the image)");
	if (f->verdict == LF_FID_DIFFER) {
		printf(", %u differ at", f->n_diffs);
		for (i = 0; i < f->n_diffs && i < LF_FID_MAX_DIFFS; i++)
			printf(" +%#x", f->diff_at[i]);
		if (f->n_diffs > LF_FID_MAX_DIFFS)
			printf(" ...");
	}
	printf("\n");
}

static int verify(struct run *ru)
{
	char path[PATH_MAX * 2];
	size_t i;
	int r;

	for (i = 0; i < ru->fix.n_units; i++) {
		snprintf(path, sizeof(path), "%s/orig/%s", ru->work, ru->fix.units[i]);
		size_t t = ru->unit_target[i];

		r = lf_fid_check_object(path, ru->fix.units[i], t ? ru->mods[t - 1].image : ru->image,
					t ? ru->mods[t - 1].syms : ru->syms, &ru->fid);
		if (r < 0)
			return lf_log_errno(r, "%s: cannot compare with the image", path);
	}
	for (i = 0; i < ru->fid.n; i++)
		print_func(&ru->fid.funcs[i]);
	printf("fidelity: %zu functions match the image%s, %zu differ, %zu not in the image\n",
	       ru->fid.n_match, ru->nmods ? " or shipped modules" : "", ru->fid.n_differ,
	       ru->fid.n_absent);
	if (ru->fid.n_differ) {
		lf_err("fidelity check failed: %zu functions differ from the shipped kernel%s "
		       "(wrong source, config or compiler):", ru->fid.n_differ,
		       ru->nmods ? " or its modules" : "");
		for (i = 0; i < ru->fid.n; i++)
			if (ru->fid.funcs[i].verdict == LF_FID_DIFFER)
				lf_err("  %s (%s)", ru->fid.funcs[i].name, ru->fid.funcs[i].object);
		return -EMEDIUMTYPE;
	}
	if (!ru->fid.n_match) {
		lf_err("fidelity check failed: no rebuilt function was found in the image");
		return -EMEDIUMTYPE;
	}
	return 0;
}

/* Patched build; the tree is restored whatever happens. */
static int build_patched(struct run *ru)
{
	int r, u;

	r = lf_ktree_patch(&ru->tree, ru->o->patch);
	if (r == -ENOEXEC) {
		lf_err("%s: does not apply to %s (see %s)", ru->o->patch, ru->tree.srcdir, ru->log);
		return r;
	}
	if (r < 0)
		return lf_log_errno(r, "%s: cannot apply", ru->o->patch);
	r = build_units(ru, "patched", &ru->t_patched);
	u = lf_ktree_unpatch(&ru->tree);
	if (u < 0)
		return lf_log_errno(u, "%s: CANNOT RESTORE the source tree; the next run retries "
				    "from the journal %s", ru->tree.srcdir, ru->tree.journal);
	return r;
}

static int write_manifest(struct run *ru)
{
	struct lf_buf b = LF_BUF_INIT(1u << 20);
	struct lf_json j;
	char path[PATH_MAX + 32];
	size_t i;
	int r;

	lf_json_init(&j, &b, true);
	lf_json_object_begin(&j);
	lf_json_kv_string(&j, "image", ru->o->image);
	lf_json_kv_string(&j, "build_id", ru->build_id);
	lf_json_kv_string(&j, "name", ru->o->name ? ru->o->name : "");
	lf_json_kv_int(&j, "level", ru->o->level);
	lf_json_key(&j, "cves");
	lf_json_array_begin(&j);
	for (i = 0; i < ru->o->n_cves; i++)
		lf_json_string(&j, ru->o->cves[i]);
	lf_json_array_end(&j);
	lf_json_kv_string(&j, "build_tree", ru->tree.objdir);
	lf_json_key(&j, "units");
	lf_json_array_begin(&j);
	for (i = 0; i < ru->fix.n_units; i++)
		lf_json_string(&j, ru->fix.units[i]);
	lf_json_array_end(&j);
	lf_json_key(&j, "functions");
	lf_json_array_begin(&j);
	for (i = 0; i < ru->fid.n; i++) {
		lf_json_object_begin(&j);
		lf_json_kv_string(&j, "name", ru->fid.funcs[i].name);
		lf_json_kv_string(&j, "object", ru->fid.funcs[i].object);
		lf_json_kv_int(&j, "sympos", ru->fid.funcs[i].pos);
		lf_json_kv_bool(&j, "verified", ru->fid.funcs[i].verdict == LF_FID_MATCH);
		lf_json_object_end(&j);
	}
	lf_json_array_end(&j);
	lf_json_object_end(&j);
	r = lf_json_finish(&j);
	if (r >= 0) {
		snprintf(path, sizeof(path), "%s/kbuild.json", ru->work);
		r = lf_write_file_atomic(path, b.data, b.len, 0644);
	}
	lf_buf_release(&b);
	return r;
}

static int make_work(struct run *ru)
{
	int r;

	if (ru->o->keep_work) {
		snprintf(ru->work, sizeof(ru->work), "%s", ru->o->keep_work);
		r = lf_mkdir_p(ru->work, 0755);
		if (r < 0)
			return lf_log_errno(r, "%s: cannot create", ru->work);
	} else {
		snprintf(ru->work, sizeof(ru->work), "/tmp/livefix-kbuild.XXXXXX");
		if (!mkdtemp(ru->work))
			return lf_log_errno(-errno, "cannot create a work directory");
	}
	snprintf(ru->log, sizeof(ru->log), "%s/make.log", ru->work);
	return 0;
}

bool kbuild_out_is_bundle(const char *out)
{
	size_t n = strlen(out);

	return n > 4 && !strcmp(out + n - 4, ".lfb");
}

/* Module name: --name, else the output's base name without .ko/.lfb, as kbuild spells it. */
static void module_name(const struct kbuild_opts *o, char *name, size_t size)
{
	const char *base = strrchr(o->out, '/') ? strrchr(o->out, '/') + 1 : o->out;
	size_t i, n = 0;

	if (o->name) {
		snprintf(name, size, "%s", o->name);
		return;
	}
	for (i = 0; base[i] && strcmp(base + i, ".ko") && strcmp(base + i, ".lfb") && n + 1 < size &&
		    n < 55; i++)
		name[n++] = (base[i] >= 'a' && base[i] <= 'z') || (base[i] >= '0' && base[i] <= '9')
			? base[i] : (base[i] >= 'A' && base[i] <= 'Z') ? (char)(base[i] - 'A' + 'a') : '_';
	name[n] = '\0';
	if (!n)
		snprintf(name, size, "livefix_patch");
}

/*
 * -o OUT.lfb: the module just built as the payload of a bundle for the
 * kernel of --image, signed as `livefix-build bundle` signs.
 */
static int make_bundle(struct run *ru, const char *ko, const char *name)
{
	const struct kbuild_opts *o = ru->o;
	struct bundle_opts *b = calloc(1, sizeof(*b));
	char *data = NULL, *pname = NULL;
	size_t len;
	int r;

	if (!b)
		return -ENOMEM;
	*b = (struct bundle_opts){ .kind = LF_KIND_KERNEL, .level = o->level,
				   .created = lf_time_now(), .bundle_id = o->bundle_id,
				   .description = o->description, .out = o->out,
				   .unsigned_ok = o->unsigned_ok, .ncves = o->n_cves,
				   .nsupersedes = o->n_supersedes };
	for (size_t i = 0; i < o->n_cves; i++)
		b->cves[i] = (char *)o->cves[i];
	for (size_t i = 0; i < o->n_supersedes; i++)
		b->supersedes[i] = o->supersedes[i];
	r = 0;
	for (size_t i = 0; i < o->n_keys && r >= 0; i++)
		r = lf_build_keys_add(&b->keys, o->keys[i]);
	if (r < 0) {
		lf_err("bundle %s: cannot use the keys", o->out);
		goto out;
	}
	if ((r = bundle_read_image(b, o->image)) < 0)
		goto out;
	r = lf_read_file(ko, LF_BUNDLE_PAYLOAD_MAX, &data, &len);
	if (r >= 0 && asprintf(&pname, "%s.ko", name) < 0)
		r = -ENOMEM;
	if (r < 0) {
		lf_log_errno(r, "%s: cannot read the module", ko);
		goto out;
	}
	b->payload_names[0] = pname;
	b->payloads[b->npayloads++] = (struct lf_payload_in){ pname, data, len };
	data = pname = NULL; /* owned by b */
	r = bundle_write(b);
out:
	free(data);
	free(pname);
	bundle_opts_release(b);
	free(b);
	return r;
}

/* Why no module can be built for this kernel, or NULL. */
static const char *refusal(const struct run *ru)
{
	if (!ru->livepatch)
		return "the target kernel has no CONFIG_LIVEPATCH: it cannot load a livepatch "
		       "module (Debian's arm64 6.1 kernel has none; upstream arm64 livepatch "
		       "is 6.17+); what would be patched is listed above";
	if (ru->arch->cross_compile)
		return "livepatch modules for aarch64 kernels are not supported yet (klp "
		       "relocations of AArch64 types, __patchable_function_entries); what would "
		       "be patched is listed above";
	return NULL;
}

static int make_module(struct run *ru)
{
	char name[64], headers[PATH_MAX], ko[PATH_MAX + 16];
	bool bundle = kbuild_out_is_bundle(ru->o->out);
	struct kmod_target targets[MAX_MODULES + 1] = { { "vmlinux", ru->syms } };
	struct kmod_in in = {
		.work = ru->work, .units = (const char *const *)ru->fix.units,
		.n_units = ru->fix.n_units, .targets = targets, .n_targets = ru->nmods + 1,
		.unit_target = ru->unit_target, .fid = &ru->fid, .name = name,
		.touched = (const char *const *)ru->fix.touched, .n_touched = ru->fix.n_touched,
		.out = bundle ? ko : ru->o->out, .log = ru->log, .level = ru->o->level,
		.headers = headers, .refuse_module = refusal(ru),
	};
	double t0 = now();
	char *slash;
	int r;

	module_name(ru->o, name, sizeof(name));
	snprintf(ko, sizeof(ko), "%s/%s.ko", ru->work, name);
	for (size_t i = 0; i < ru->nmods; i++)
		targets[i + 1] = (struct kmod_target){ ru->mods[i].name, ru->mods[i].syms };
	if (ru->o->headers) {
		snprintf(headers, sizeof(headers), "%s", ru->o->headers);
	} else {  /* the headers tree the --config came from */
		snprintf(headers, sizeof(headers), "%s", ru->o->config);
		slash = strrchr(headers, '/');
		snprintf(headers, sizeof(headers), "%.*s", slash ? (int)(slash - headers) : 1,
			 slash ? ru->o->config : ".");
	}
	r = kmod_build(&in);
	if (r < 0)
		return r;
	if (ru->o->sign_key && (r = kmod_sign_file(in.out, ru->o->sign_key, ru->o->sign_cert)) < 0)
		return lf_log_errno(r, "%s: cannot sign with %s", in.out, ru->o->sign_key);
	if (ru->o->sign_key)
		printf("module %s: signed with %s (PKCS#7, sha256)\n", in.out, ru->o->sign_cert);
	printf("module built in %.1f s\n", now() - t0);
	return bundle ? make_bundle(ru, ko, name) : 0;
}

static int steps(struct run *ru)
{
	int r;

	if ((r = make_work(ru)) < 0 || (r = load_image(ru)) < 0 || (r = open_tree(ru)) < 0 ||
	    (r = plan_units(ru)) < 0)
		return r;
	if (ru->o->list_units)
		return 0;
	if (ru->fix.n_units > (size_t)ru->o->max_units) {
		lf_err("%s: touches %zu units, more than --max-units %d", ru->o->patch,
		       ru->fix.n_units, ru->o->max_units);
		return -E2BIG;
	}
	if ((r = build_units(ru, "orig", &ru->t_orig)) < 0 || (r = unit_targets(ru)) < 0 ||
	    (r = verify(ru)) < 0 ||
	    (r = build_patched(ru)) < 0 || (r = write_manifest(ru)) < 0)
		return r;
	printf("verified objects: %s/orig, patched objects: %s/patched (work: %s)\n",
	       ru->work, ru->work, ru->work);
	return make_module(ru);
}

int kbuild_run(const struct kbuild_opts *o)
{
	struct run ru = { .o = o, .tree = { .lock_fd = -1 } };
	int r;

	r = steps(&ru);
	fflush(stdout);
	lf_ktree_close(&ru.tree);
	lf_kfix_release(&ru.fix);
	lf_fid_report_release(&ru.fid);
	for (size_t i = 0; i < ru.nmods; i++) {
		lf_ksyms_free(ru.mods[i].syms);
		lf_kimage_free(ru.mods[i].image);
	}
	lf_ksyms_free(ru.syms);
	lf_kimage_free(ru.image);
	return r;
}
