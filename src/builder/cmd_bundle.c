/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build bundle: pack payloads and a manifest into a signed .lfb. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/bundle.h"
#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/log.h"

#include "builder.h"
#include "bundle_make.h"

#define PAYLOAD_FILE_MAX ((size_t)LF_BUNDLE_PAYLOAD_MAX)

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

static int set_str(char *dst, size_t max, const char *src, const char *what)
{
	if (strlen(src) > max) {
		lf_err("%s: too long (at most %zu)", what, max);
		return -EINVAL;
	}
	strcpy(dst, src);
	return 0;
}

static int add_payload(struct bundle_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '='), *path = eq ? eq + 1 : arg;
	char *name, *data;
	size_t len;
	int r;

	if (o->npayloads == LF_BUNDLE_MAX_PAYLOADS)
		return -E2BIG;
	if (eq)
		name = strndup(arg, (size_t)(eq - arg));
	else
		name = strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	if (!name)
		return -ENOMEM;
	if (!lf_is_id(name)) {
		lf_err("payload name '%s': use letters, digits, '.', '_', '-' (NAME=FILE)", name);
		free(name);
		return -EINVAL;
	}
	r = lf_read_file(path, PAYLOAD_FILE_MAX, &data, &len);
	if (r < 0) {
		free(name);
		return lf_log_errno(r, "payload %s", path);
	}
	o->payload_names[o->npayloads] = name;
	o->payloads[o->npayloads++] = (struct lf_payload_in){ name, data, len };
	return 0;
}

static int read_notes(struct bundle_opts *o, const char *path)
{
	struct lf_identity elf_id;
	char *data;
	size_t len;
	int r;

	if (lf_identity_elf(path, LF_KIND_KERNEL, &elf_id) == 0) {
		strcpy(o->id.build_id, elf_id.build_id);
		return 0;
	}
	r = lf_read_file(path, 1 << 20, &data, &len);
	if (r < 0)
		return lf_log_errno(r, "%s", path);
	r = lf_identity_notes_build_id(data, len, o->id.build_id);
	free(data);
	if (r < 0)
		lf_err("%s: no GNU build-id note", path);
	return r;
}

static int read_proc_version(struct bundle_opts *o, const char *path)
{
	char *data;
	size_t len;
	int r = lf_read_file(path, 4096, &data, &len);

	if (r < 0)
		return lf_log_errno(r, "%s", path);
	lf_sha1_hex(data, len, o->id.proc_version_sha1);
	free(data);
	return 0;
}

static int read_elf(struct bundle_opts *o, const char *path)
{
	struct lf_identity e;
	int r = lf_identity_elf(path, LF_KIND_USER, &e);

	if (r < 0)
		return lf_log_errno(r, "%s: no arch or GNU build-id", path);
	strcpy(o->id.arch, e.arch);
	strcpy(o->id.build_id, e.build_id);
	return 0;
}

static int parse_opt(struct bundle_opts *o, int c, const char *arg)
{
	char *end;

	switch (c) {
	case 'k': o->kind = lf_kind_from_name(arg); return o->kind < 0 ? -EINVAL : 0;
	case 'p': return add_payload(o, arg);
	case 'a': return set_str(o->id.arch, LF_ARCH_MAX, arg, "--arch");
	case 'r': return set_str(o->id.release, LF_RELEASE_MAX, arg, "--kernel-release");
	case 'b': return set_str(o->id.build_id, LF_BUILD_ID_MAX, arg, "--build-id");
	case 's': return set_str(o->id.proc_version_sha1, 40, arg, "--proc-version-sha1");
	case 'E': return read_elf(o, arg);
	case 'N': return read_notes(o, arg);
	case 'V': return read_proc_version(o, arg);
	case 'I': return bundle_read_image(o, arg);
	case 'l':
		o->level = strtoll(arg, &end, 10);
		return *end || o->level < 1 || o->level > LF_LEVEL_MAX ? -EINVAL : 0;
	case 'c':
		if (o->ncves == LF_BUNDLE_MAX_CVES)
			return -E2BIG;
		o->cves[o->ncves++] = (char *)arg;
		return 0;
	case 'S':
		if (o->nsupersedes == LF_BUNDLE_MAX_SUPERSEDES)
			return -E2BIG;
		o->supersedes[o->nsupersedes++] = arg;
		return 0;
	case 'i': o->bundle_id = arg; return 0;
	case 'd': o->description = arg; return 0;
	case 'C': return lf_time_parse(arg, &o->created);
	case 'K': return lf_build_keys_add(&o->keys, arg);
	case 'U': o->unsigned_ok = true; return 0;
	case 'o': o->out = arg; return 0;
	}
	return -EINVAL;
}

int cmd_bundle(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "payload", required_argument, NULL, 'p' },
		{ "arch", required_argument, NULL, 'a' },
		{ "kernel-release", required_argument, NULL, 'r' },
		{ "build-id", required_argument, NULL, 'b' },
		{ "proc-version-sha1", required_argument, NULL, 's' },
		{ "target-elf", required_argument, NULL, 'E' },
		{ "target-kernel-notes", required_argument, NULL, 'N' },
		{ "proc-version", required_argument, NULL, 'V' },
		{ "target-kernel-image", required_argument, NULL, 'I' },
		{ "level", required_argument, NULL, 'l' },
		{ "cve", required_argument, NULL, 'c' },
		{ "supersedes", required_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'i' },
		{ "description", required_argument, NULL, 'd' },
		{ "created", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "unsigned", no_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bundle_opts *o = calloc(1, sizeof(*o));
	int c, r = LF_EXIT_OK;

	if (!o)
		return LF_EXIT_FAILURE;
	o->kind = -1;
	o->created = lf_time_now();
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			goto out;
		}
		if (c == '?' || parse_opt(o, c, optarg) < 0) {
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
		r = lf_exit_code(bundle_build(o));
out:
	bundle_opts_release(o);
	free(o);
	return r;
}
