/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bundle half of livefix-build shared by `bundle` and the builders that
 * can write a .lfb directly (`user -o OUT.lfb`): the options that describe a
 * bundle, the manifest, signing and writing.
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/bundle.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/log.h"

#include "livefix/kbuild.h"

#include "bundle_build.h"

#define PAYLOAD_FILE_MAX ((size_t)LF_BUNDLE_PAYLOAD_MAX)


static int set_str(char *dst, size_t max, const char *src, const char *what)
{
	if (strlen(src) > max) {
		lf_err("%s: too long (at most %zu)", what, max);
		return -EINVAL;
	}
	strcpy(dst, src);
	return 0;
}

int bundle_add_payload(struct bundle_opts *o, const char *arg)
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

/*
 * The kernel prints its banner, "Linux version <release> (...) ...\n", as
 * /proc/version, so the image itself gives the release and the fallback
 * identity a device without build-id notes reports.
 */
static int read_banner(struct bundle_opts *o, const uint8_t *elf, size_t len, const char *path)
{
	static const char prefix[] = "Linux version ";
	const uint8_t *p = elf, *end = elf + len;
	bool found = false;

	while ((p = memmem(p, (size_t)(end - p), prefix, sizeof(prefix) - 1))) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p) < 512 ? (size_t)(end - p) : 512);
		const char *rel = (const char *)p + sizeof(prefix) - 1, *num;
		size_t rlen = strcspn(rel, " ");

		/* The banner ends in a newline and a NUL; format strings do not. */
		if (nl && nl + 1 < end && nl[1] == '\0' && rlen > 0 && rlen <= LF_RELEASE_MAX &&
		    rel[0] != '%') {
			snprintf(o->id.release, sizeof(o->id.release), "%.*s", (int)rlen, rel);
			lf_sha1_hex(p, (size_t)(nl + 1 - p), o->id.proc_version_sha1);
			found = true;
			/*
			 * 6.1 links two banners: init/version.o's with an empty
			 * build number ("... # SMP ...") and the one
			 * init/version-timestamp.o gives /proc/version ("#1 SMP").
			 */
			num = memmem(p, (size_t)(nl - p), ") #", 3);
			if (num && num[3] >= '0' && num[3] <= '9')
				return 0;
		}
		p++;
	}
	if (found)
		return 0;
	lf_err("%s: no 'Linux version' banner in the image", path);
	return -ENOEXEC;
}

int bundle_read_image(struct bundle_opts *o, const char *path)
{
	struct lf_kimage *img;
	const uint8_t *elf;
	size_t len;
	int r = lf_kimage_open(path, &img);

	if (r < 0)
		return lf_log_errno(r, "%s: not a kernel image", path);
	elf = lf_kimage_elf(img, &len);
	/* e_machine of the vmlinux ELF, or EM_AARCH64 for a raw arm64 Image */
	switch (lf_kimage_machine(img)) {
	case 62: strcpy(o->id.arch, "x86_64"); break;
	case 183: strcpy(o->id.arch, "aarch64"); break;
	case 40: strcpy(o->id.arch, "arm"); break;
	default:
		lf_kimage_free(img);
		lf_err("%s: kernel image for an unknown architecture", path);
		return -ENOEXEC;
	}
	r = lf_kimage_build_id(img, o->id.build_id, sizeof(o->id.build_id));
	if (r < 0)
		lf_log_errno(r, "%s: no GNU build-id", path);
	if (r == 0)
		r = read_banner(o, elf, len, path);
	lf_kimage_free(img);
	return r;
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

int bundle_parse_opt(struct bundle_opts *o, int c, const char *arg)
{
	char *end;

	switch (c) {
	case 'k': o->kind = lf_kind_from_name(arg); return o->kind < 0 ? -EINVAL : 0;
	case 'p': return bundle_add_payload(o, arg);
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

static void write_cve(struct lf_json *j, const char *arg)
{
	const char *colon = strchr(arg, ':');
	char id[LF_CVE_MAX + 2];

	snprintf(id, sizeof(id), "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
	lf_json_object_begin(j);
	lf_json_kv_string(j, "id", id);
	lf_json_kv_string(j, "severity", colon ? colon + 1 : "unknown");
	lf_json_object_end(j);
}

static int write_manifest(const struct bundle_opts *o, struct lf_buf *out)
{
	struct lf_json j;
	char created[21], id[LF_ID_MAX + 1];

	lf_time_format(o->created, created);
	if (o->bundle_id)
		snprintf(id, sizeof(id), "%s", o->bundle_id);
	else
		snprintf(id, sizeof(id), "%s-%.16s-%lld", lf_kind_name(o->kind),
			 o->id.build_id[0] ? o->id.build_id : o->id.proc_version_sha1,
			 (long long)o->level);
	lf_json_init(&j, out, false);
	lf_json_object_begin(&j);
	lf_json_kv_string(&j, "_type", "bundle");
	lf_json_kv_string(&j, "created", created);
	lf_json_key(&j, "cves");
	lf_json_array_begin(&j);
	for (size_t i = 0; i < o->ncves; i++)
		write_cve(&j, o->cves[i]);
	lf_json_array_end(&j);
	lf_json_kv_string(&j, "description", o->description ? o->description : "");
	lf_json_kv_int(&j, "format", 1);
	lf_json_kv_string(&j, "id", id);
	lf_json_kv_string(&j, "kind", lf_kind_name(o->kind));
	lf_json_kv_int(&j, "level", o->level);
	lf_json_key(&j, "payloads");
	lf_json_array_begin(&j);
	for (size_t i = 0; i < o->npayloads; i++) {
		char hex[LF_SHA256_HEX + 1];

		lf_sha256_hex(o->payloads[i].data, o->payloads[i].len, hex);
		lf_json_object_begin(&j);
		lf_json_kv_int(&j, "length", (int64_t)o->payloads[i].len);
		lf_json_kv_string(&j, "name", o->payloads[i].name);
		lf_json_kv_string(&j, "sha256", hex);
		lf_json_object_end(&j);
	}
	lf_json_array_end(&j);
	lf_json_key(&j, "supersedes");
	lf_json_array_begin(&j);
	for (size_t i = 0; i < o->nsupersedes; i++)
		lf_json_string(&j, o->supersedes[i]);
	lf_json_array_end(&j);
	lf_json_key(&j, "target");
	lf_identity_to_json(&o->id, &j);
	lf_json_object_end(&j);
	return lf_json_finish(&j);
}

int bundle_write(struct bundle_opts *o)
{
	struct lf_buf manifest = LF_BUF_INIT(LF_BUNDLE_ENVELOPE_MAX);
	struct lf_buf out = LF_BUF_INIT(LF_BUNDLE_MAX);
	struct lf_why why = { "" };
	int r;

	for (size_t i = 0; i < o->keys.n; i++)
		if (strcmp(o->keys.keys[i].role, "targets") != 0)
			lf_warn("key %.16s… was made for the %s role: devices verify bundles "
				"with the targets keys", o->keys.keys[i].pub.keyid, o->keys.keys[i].role);
	o->id.kind = (enum lf_kind)o->kind;
	lf_arch_normalize(o->id.arch);
	r = lf_identity_check(&o->id, &why);
	if (r < 0) {
		lf_err("%s", why.msg);
		return -EINVAL;
	}
	r = write_manifest(o, &manifest);
	if (r == 0)
		r = lf_bundle_write(manifest.data, manifest.len, o->payloads, o->npayloads,
				    o->keys.ptrs, o->keys.n, &out, &why);
	if (r == 0)
		r = lf_write_file_atomic(o->out, out.data, out.len, 0644);
	if (r == 0)
		printf("%s: %zu bytes, level %lld, %zu payload(s), %zu signature(s)\n", o->out,
		       out.len, (long long)o->level, o->npayloads, o->keys.n);
	else
		lf_log_errno(r, "bundle %s%s%s", o->out, why.msg[0] ? ": " : "", why.msg);
	lf_buf_release(&manifest);
	lf_buf_release(&out);
	return r;
}

int bundle_build(struct bundle_opts *o)
{
	return lf_exit_code(bundle_write(o));
}


const struct option bundle_long_options[] = {
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
	{ NULL, 0, NULL, 0 },
};

void bundle_opts_init(struct bundle_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = -1;
	o->created = lf_time_now();
}

void bundle_opts_release(struct bundle_opts *o)
{
	for (size_t i = 0; i < o->npayloads; i++) {
		free((void *)o->payloads[i].data);
		free(o->payload_names[i]);
	}
	o->npayloads = 0;
	lf_build_keys_wipe(&o->keys);
}
