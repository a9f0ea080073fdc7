// SPDX-License-Identifier: Apache-2.0
/*
 * livefix-build kernel: the front half of a kernel live patch build.
 *
 *   1. read the shipped image and its symbols (kallsyms, System.map or symtab)
 *   2. open the cached O= build tree of this exact kernel (prepare it once)
 *   3. map the fix to translation units; rebuild the originals
 *   4. prove the rebuilt originals match the image (fidelity check)
 *   5. apply the fix, rebuild the patched units, restore the tree
 *
 *   6. diff each unit, write the patch objects and build the livepatch module
 *      (kernel_module.c, klp_convert.c)
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/kbuild.h"
#include "livefix/log.h"

#include "builder.h"
#include "kernel_build.h"

static const char usage_text[] =
	"usage: livefix-build kernel --source DIR|--source-package VERSION --config FILE\n"
	"         [--kernelvariables FILE] --image VMLINUZ|VMLINUX [--system-map FILE]\n"
	"         --patch FIX.patch [--level N] [--name NAME] [--cve ID[:SEVERITY] ...]\n"
	"         -o OUT.ko | -o OUT.lfb (--key KEY... | --unsigned) [--id ID]\n"
	"         [--supersedes ID]... [--description TEXT]\n"
	"         [--sign-key KEY.pem --sign-cert CERT.pem]\n"
	"         [--keep-work DIR] [--list-units] [--max-units N] [--jobs N]\n"
	"         [--kcflags FLAGS] [--cache DIR] [--headers DIR] [--module-dir DIR]\n"
	"         [--cross aarch64]\n"
	"\n"
	"Rebuilds only the units the fix touches, with the kernel's own config and\n"
	"compiler, checks the rebuilt originals against the image's machine code,\n"
	"diffs original and patched objects and builds a livepatch module for\n"
	"vmlinux and the loadable modules the fix touches (one klp_object each).\n"
	"  -o OUT.lfb       write a signed bundle holding the module instead, for the\n"
	"                   kernel of --image (its arch, release, build-id and\n"
	"                   /proc/version, as `bundle --target-kernel-image` reads\n"
	"                   them); --key, --unsigned, --id, --supersedes,\n"
	"                   --description and --cve as `livefix-build bundle` takes\n"
	"  --sign-key KEY.pem --sign-cert CERT.pem\n"
	"                   append a module signature (PKCS#7, sha256) for kernels\n"
	"                   that enforce module signatures\n"
	"  --list-units     print the units the fix touches and stop\n"
	"  --kcflags FLAGS  extra compiler flags for the rebuilt units (experiments:\n"
	"                   flags that change code are refused by the fidelity check)\n"
	"  --cache DIR      download and build-tree cache (default $LIVEFIX_CACHE,\n"
	"                   else ~/.cache/livefix)\n"
	"  --headers DIR    prepared headers tree with Module.symvers the module is\n"
	"                   built against (default: the directory of --config)\n"
	"  --module-dir DIR where the shipped .ko of a patched module is found,\n"
	"                   searched recursively (default: lib/modules beside the\n"
	"                   boot/ directory of --image, as a linux-image package\n"
	"                   unpacks)\n"
	"  --cross aarch64  the kernel is an arm64 one: build with ARCH=arm64\n"
	"                   CROSS_COMPILE=aarch64-linux-gnu- (inferred from an arm64\n"
	"                   --image; a mismatch is refused). armhf: not supported yet\n";

enum {
	OPT_SOURCE = 256, OPT_SOURCE_PKG, OPT_CONFIG, OPT_KVARS, OPT_IMAGE, OPT_SYSMAP,
	OPT_PATCH, OPT_LEVEL, OPT_NAME, OPT_CVE, OPT_KEEP, OPT_LIST, OPT_MAX_UNITS,
	OPT_JOBS, OPT_KCFLAGS, OPT_CACHE, OPT_HEADERS, OPT_MODULE_DIR,
	OPT_CROSS, OPT_KEY, OPT_UNSIGNED, OPT_ID, OPT_SUPERSEDES, OPT_DESCRIPTION, OPT_SIGN_KEY, OPT_SIGN_CERT,
};

static const struct option opts[] = {
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "source-package", required_argument, NULL, OPT_SOURCE_PKG },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "kernelvariables", required_argument, NULL, OPT_KVARS },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "system-map", required_argument, NULL, OPT_SYSMAP },
	{ "patch", required_argument, NULL, OPT_PATCH },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "cve", required_argument, NULL, OPT_CVE },
	{ "output", required_argument, NULL, 'o' },
	{ "keep-work", required_argument, NULL, OPT_KEEP },
	{ "list-units", no_argument, NULL, OPT_LIST },
	{ "max-units", required_argument, NULL, OPT_MAX_UNITS },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "kcflags", required_argument, NULL, OPT_KCFLAGS },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "headers", required_argument, NULL, OPT_HEADERS },
	{ "module-dir", required_argument, NULL, OPT_MODULE_DIR },
	{ "cross", required_argument, NULL, OPT_CROSS },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "unsigned", no_argument, NULL, OPT_UNSIGNED },
	{ "id", required_argument, NULL, OPT_ID },
	{ "supersedes", required_argument, NULL, OPT_SUPERSEDES },
	{ "description", required_argument, NULL, OPT_DESCRIPTION },
	{ "sign-key", required_argument, NULL, OPT_SIGN_KEY },
	{ "sign-cert", required_argument, NULL, OPT_SIGN_CERT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_int(const char *s, int lo, int hi, int *ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static int set_opt(struct kbuild_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_SOURCE: o->source = arg; return 0;
	case OPT_SOURCE_PKG: o->source_pkg = arg; return 0;
	case OPT_CONFIG: o->config = arg; return 0;
	case OPT_KVARS: o->kvars = arg; return 0;
	case OPT_IMAGE: o->image = arg; return 0;
	case OPT_SYSMAP: o->system_map = arg; return 0;
	case OPT_PATCH: o->patch = arg; return 0;
	case OPT_LEVEL: return parse_int(arg, 1, 1000000, &o->level);
	case OPT_NAME: o->name = arg; return 0;
	case OPT_CVE:
		if (o->n_cves == KBUILD_MAX_CVES)
			return -E2BIG;
		o->cves[o->n_cves++] = arg;
		return 0;
	case 'o': o->out = arg; return 0;
	case OPT_KEEP: o->keep_work = arg; return 0;
	case OPT_LIST: o->list_units = true; return 0;
	case OPT_MAX_UNITS: return parse_int(arg, 1, LF_KPATCH_MAX_UNITS, &o->max_units);
	case OPT_JOBS: return parse_int(arg, 1, 64, &o->jobs);
	case OPT_KCFLAGS: o->kcflags = arg; return 0;
	case OPT_CACHE: o->cache = arg; return 0;
	case OPT_HEADERS: o->headers = arg; return 0;
	case OPT_MODULE_DIR: o->module_dir = arg; return 0;
	case OPT_CROSS:
		if (strcmp(arg, "aarch64") && strcmp(arg, "armhf"))
			return -EINVAL;
		o->cross = arg;
		return 0;
	case OPT_KEY:
		if (o->n_keys == KBUILD_MAX_KEYS)
			return -E2BIG;
		o->keys[o->n_keys++] = arg;
		return 0;
	case OPT_UNSIGNED: o->unsigned_ok = true; return 0;
	case OPT_ID: o->bundle_id = arg; return 0;
	case OPT_SUPERSEDES:
		if (o->n_supersedes == KBUILD_MAX_SUPERSEDES)
			return -E2BIG;
		o->supersedes[o->n_supersedes++] = arg;
		return 0;
	case OPT_DESCRIPTION: o->description = arg; return 0;
	case OPT_SIGN_KEY: o->sign_key = arg; return 0;
	case OPT_SIGN_CERT: o->sign_cert = arg; return 0;
	default: return -EINVAL;
	}
}

/*
 * The pipeline runs make in other directories, so every path the user gave
 * relative to here is made absolute once, before anything uses it.
 */
static char *made_absolute[32];  /* freed when the command ends */
static size_t n_made_absolute;

static int make_absolute(const char **path)
{
	static char cwd[PATH_MAX];
	char *abs;

	if (n_made_absolute == sizeof(made_absolute) / sizeof(made_absolute[0]))
		return -E2BIG;
	if (!*path || (*path)[0] == '/')
		return 0;
	if (!cwd[0] && !getcwd(cwd, sizeof(cwd)))
		return -errno;
	if (asprintf(&abs, "%s/%s", cwd, *path) < 0)
		return -ENOMEM;
	*path = abs; /* lives as long as the command */
	made_absolute[n_made_absolute++] = abs;
	return 0;
}

static int check_opts(struct kbuild_opts *o)
{
	static char cache[PATH_MAX];
	const char *env = getenv("LIVEFIX_CACHE"), *home = getenv("HOME");

	if (!!o->source + !!o->source_pkg != 1)
		return lf_cmd_usage_error("livefix-build kernel",
					  "give exactly one of --source and --source-package");
	if (!o->config || !o->image || !o->patch)
		return lf_cmd_usage_error("livefix-build kernel",
					  "--config, --image and --patch are required");
	if (!o->out && !o->list_units)
		return lf_cmd_usage_error("livefix-build kernel", "-o OUT.ko or -o OUT.lfb is required");
	if (o->out && !kbuild_out_is_bundle(o->out) &&
	    (o->n_keys || o->unsigned_ok || o->bundle_id || o->n_supersedes || o->description))
		return lf_cmd_usage_error("livefix-build kernel", "--key, --unsigned, --id, "
					  "--supersedes and --description make a bundle: -o OUT.lfb");
	if (o->out && kbuild_out_is_bundle(o->out) && !o->n_keys == !o->unsigned_ok)
		return lf_cmd_usage_error("livefix-build kernel",
					  "-o OUT.lfb needs --key KEY (or --unsigned)");
	if (o->cross && !strcmp(o->cross, "armhf")) {
		lf_err("--cross armhf: 32-bit ARM kernels are not supported yet (no upstream "
		       "livepatch, no kallsyms reader for 32-bit images); only aarch64 is");
		return lf_exit_code(-EOPNOTSUPP);
	}
	if (!o->sign_key != !o->sign_cert)
		return lf_cmd_usage_error("livefix-build kernel",
					  "--sign-key and --sign-cert go together");
	/* It becomes the module name: MODULE_NAME_LEN is 56 with the NUL. */
	if (o->name && (!o->name[0] || strlen(o->name) > 55 ||
			o->name[strspn(o->name, "abcdefghijklmnopqrstuvwxyz0123456789_")]))
		return lf_cmd_usage_error("livefix-build kernel",
					  "--name: 1-55 characters of a-z, 0-9 and _");
	if (!o->cache) {
		if (env && *env)
			snprintf(cache, sizeof(cache), "%s", env);
		else
			snprintf(cache, sizeof(cache), "%s/.cache/livefix", home ? home : "/tmp");
		o->cache = cache;
	}
	const char **paths[] = { &o->source, &o->config, &o->kvars, &o->image, &o->system_map,
				 &o->patch, &o->out, &o->keep_work, &o->cache, &o->headers, &o->module_dir,
				 &o->sign_key, &o->sign_cert };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) + o->n_keys; i++) {
		int r = make_absolute(i < sizeof(paths) / sizeof(paths[0]) ? paths[i]
				      : &o->keys[i - sizeof(paths) / sizeof(paths[0])]);

		if (r < 0)
			return lf_exit_code(lf_log_errno(r, "current directory"));
	}
	return 0;
}

int cmd_kernel(int argc, char **argv)
{
	struct kbuild_opts o = { .level = 1, .max_units = 64, .jobs = 2 };
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return LF_EXIT_OK;
		}
		if (c == '?' || set_opt(&o, c, optarg) < 0)
			return lf_cmd_usage_error("livefix-build kernel", "invalid option or value%s%s",
						  c != '?' ? ": " : "", c != '?' ? optarg : "");
	}
	if (optind < argc)
		return lf_cmd_usage_error("livefix-build kernel", "unexpected argument '%s'",
					  argv[optind]);
	r = check_opts(&o);
	if (!r)
		r = lf_exit_code(kbuild_run(&o));
	while (n_made_absolute)
		free(made_absolute[--n_made_absolute]);
	return r;
}
