/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build bundle: pack payloads and a manifest into a signed .lfb. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "livefix/cmd.h"
#include "livefix/error.h"

#include "bundle_build.h"

static const char usage[] =
	"usage: livefix-build bundle --kind kernel|user --payload [NAME=]FILE... TARGET\n"
	"                            --level N [--cve ID[:SEVERITY]]... [--id ID]\n"
	"                            [--supersedes ID]... [--description TEXT]\n"
	"                            [--created TIME] --key KEY... | --unsigned  -o OUT.lfb\n"
	"\n"
	"TARGET (what the bundle is for) is any of:\n"
	"  --arch ARCH --kernel-release REL --build-id HEX --proc-version-sha1 HEX\n"
	"  --target-elf FILE           arch and GNU build-id of an ELF file (user),\n"
	"                              or of vmlinux (kernel)\n"
	"  --target-kernel-notes FILE  build-id from a copy of /sys/kernel/notes or vmlinux\n"
	"  --proc-version FILE         sha1 of a copy of /proc/version\n"
	"  --target-kernel-image FILE  everything from the shipped vmlinuz or vmlinux:\n"
	"                              arch, release and /proc/version from its banner,\n"
	"                              build-id from its notes\n"
	"SEVERITY is unknown (default), none, low, medium, high or critical.\n"
	"KEY is a targets key; several keys add several signatures.\n";

int cmd_bundle(int argc, char **argv)
{
	struct option opts[32];
	struct bundle_opts *o = calloc(1, sizeof(*o));
	size_t n = 0;
	int c, r = LF_EXIT_OK;

	if (!o)
		return LF_EXIT_FAILURE;
	for (; bundle_long_options[n].name; n++)
		opts[n] = bundle_long_options[n];
	opts[n++] = (struct option){ "output", required_argument, NULL, 'o' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	bundle_opts_init(o);
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			goto out;
		}
		if (c == '?' || bundle_parse_opt(o, c, optarg) < 0) {
			r = lf_cmd_usage_error("livefix-build bundle", "bad value for option %s",
					       argv[optind - 1]);
			goto out;
		}
	}
	if (o->kind < 0 || !o->npayloads || !o->level || !o->out || optind != argc ||
	    (o->keys.n == 0) == !o->unsigned_ok)
		r = lf_cmd_usage_error("livefix-build bundle", "need --kind, --payload, --level, "
				       "-o and --key (or --unsigned)");
	else
		r = bundle_build(o);
out:
	bundle_opts_release(o);
	free(o);
	return r;
}
