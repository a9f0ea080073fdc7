/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build user: a userspace live patch from a source fix (src/userbuild). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/log.h"
#include "livefix/userbuild.h"

#include "bundle_build.h"

static const char usage[] =
	"usage: livefix-build user --target ELF --source DIR --patch FIX.patch\n"
	"                          [--compile-commands FILE | --cflags \"...\" [--cc CC]]\n"
	"                          [--id ID] [--level N] [--cve ID[:SEVERITY]]...\n"
	"                          [--work-dir DIR] -o OUT.o|OUT.lfb [bundle options]\n"
	"\n"
	"Rebuilds the translation units FIX.patch touches, original and patched, with\n"
	"the target's flags plus -ffunction-sections -fdata-sections; checks that the\n"
	"rebuilt originals are the target's machine code; diffs them and writes the\n"
	"patch object `livefix user apply` takes. --source is never modified.\n"
	"With OUT.lfb the object is packed into a bundle for the target's build-id;\n"
	"the bundle options of `livefix-build bundle` apply (--key KEY... | --unsigned,\n"
	"--supersedes, --description, --created).\n"
	"Exit codes: 0 built; 2 usage; 4 the fix does not apply or compile, the\n"
	"rebuilt original does not match the target, or the fix changes none of\n"
	"its functions; 6 the differ refused the change.\n";

enum { OPT_TARGET = 256, OPT_SOURCE, OPT_PATCH, OPT_CCDB, OPT_CFLAGS, OPT_CC, OPT_WORK };

struct user_cmd {
	struct lf_ubuild_opts u;
	struct bundle_opts b;
	bool bundle_only_opt;   /* an option that makes sense only for a .lfb */
};

static bool is_lfb(const char *out)
{
	size_t n = strlen(out);

	return n > 4 && !strcmp(out + n - 4, ".lfb");
}

static int parse(struct user_cmd *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_TARGET: c->u.target = arg; return 0;
	case OPT_SOURCE: c->u.source = arg; return 0;
	case OPT_PATCH: c->u.patch = arg; return 0;
	case OPT_CCDB: c->u.ccdb = arg; return 0;
	case OPT_CFLAGS: c->u.cflags = arg; return 0;
	case OPT_CC: c->u.cc = arg; return 0;
	case OPT_WORK: c->u.workdir = arg; return 0;
	case 'o': c->b.out = arg; return 0;
	case 'i':
		if (!lf_is_id(arg) || strlen(arg) >= 64)
			return -EINVAL;
		/* fall through */
	case 'l':
	case 'c':
		return bundle_parse_opt(&c->b, opt, arg);
	case 'k': case 'p': case 'E':
		return -EINVAL;   /* given by the builder itself */
	}
	c->bundle_only_opt = true;
	return bundle_parse_opt(&c->b, opt, arg);
}

static int write_bundle(struct user_cmd *c, const char *object)
{
	char payload[4200];
	int r;

	snprintf(payload, sizeof(payload), "patch.o=%s", object);
	c->b.kind = LF_KIND_USER;
	r = bundle_parse_opt(&c->b, 'E', c->u.target);
	if (r == 0)
		r = bundle_add_payload(&c->b, payload);
	if (r < 0)
		return lf_exit_code(r);
	return bundle_build(&c->b);
}

static int run(struct user_cmd *c)
{
	struct lf_ubuild_report rep;
	char object[4200], id[80];
	struct timespec t0, t1;
	bool lfb = is_lfb(c->b.out);
	int r, code;

	if (!c->b.level)
		c->b.level = 1;
	c->u.level = (unsigned)c->b.level;
	c->u.id = c->b.bundle_id;
	if (!c->u.id)
		c->b.bundle_id = c->u.id = "user-fix";
	snprintf(id, sizeof(id), "%s", c->u.id);
	c->u.out = c->b.out;
	if (lfb) {
		snprintf(object, sizeof(object), "%s.o", c->b.out);
		c->u.out = object;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = lf_ubuild_run(&c->u, &rep);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fputs(rep.text.data ? rep.text.data : "", r < 0 ? stderr : stdout);
	if (r < 0) {
		lf_err("%s: no patch built for %s", c->u.patch, c->u.target);
		lf_ubuild_report_release(&rep);
		return lf_exit_code(r);
	}
	printf("%s: patch %s level %u: %zu unit(s), %zu changed, %zu new, %zu redirected, "
	       "%zu function(s) checked against %s, %.2f s\n",
	       c->u.out, id, c->u.level, rep.units, rep.changed, rep.added, rep.redirected,
	       rep.checked, c->u.target,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	lf_ubuild_report_release(&rep);
	code = lfb ? write_bundle(c, object) : LF_EXIT_OK;
	if (lfb)
		remove(object);
	return code;
}

static int check_args(struct user_cmd *c, int argc)
{
	if (!c->u.target || !c->u.source || !c->u.patch || !c->b.out || optind != argc)
		return lf_cmd_usage_error("livefix-build user",
					  "need --target, --source, --patch and -o");
	if (c->u.ccdb && c->u.cflags)
		return lf_cmd_usage_error("livefix-build user",
					  "--compile-commands and --cflags exclude each other");
	if (!is_lfb(c->b.out) && (c->bundle_only_opt || c->b.keys.n || c->b.unsigned_ok))
		return lf_cmd_usage_error("livefix-build user",
					  "bundle options need -o OUT.lfb");
	if (is_lfb(c->b.out) && (c->b.keys.n == 0) == !c->b.unsigned_ok)
		return lf_cmd_usage_error("livefix-build user", "-o OUT.lfb needs --key or --unsigned");
	return 0;
}

int cmd_user(int argc, char **argv)
{
	static const struct option own[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "patch", required_argument, NULL, OPT_PATCH },
		{ "compile-commands", required_argument, NULL, OPT_CCDB },
		{ "cflags", required_argument, NULL, OPT_CFLAGS },
		{ "cc", required_argument, NULL, OPT_CC },
		{ "work-dir", required_argument, NULL, OPT_WORK },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option opts[64];
	struct user_cmd *c = calloc(1, sizeof(*c));
	size_t n = 0;
	int opt, r = LF_EXIT_OK;

	if (!c)
		return LF_EXIT_FAILURE;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		opts[n++] = own[i];
	for (size_t i = 0; bundle_long_options[i].name && n < 63; i++)
		opts[n++] = bundle_long_options[i];
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	bundle_opts_init(&c->b);
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			goto out;
		}
		if (opt == '?' || parse(c, opt, optarg) < 0) {
			r = lf_cmd_usage_error("livefix-build user", "bad value for option %s",
					       argv[optind - 1]);
			goto out;
		}
	}
	r = check_args(c, argc);
	if (r == 0)
		r = run(c);
out:
	bundle_opts_release(&c->b);
	free(c);
	return r;
}
