// SPDX-License-Identifier: Apache-2.0
/*
 * A signed .lfb from a bundle_opts: the target identity read from a kernel
 * image, the manifest, the signatures. Used by `livefix-build bundle` and by
 * `livefix-build kernel -o OUT.lfb`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/bundle.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/kbuild.h"
#include "livefix/log.h"

#include "bundle_make.h"

/*
 * The kernel prints its banner, "Linux version <release> (...) ...\n", as
 * /proc/version, so the image itself gives the release and the fallback
 * identity a device without build-id notes reports.
 */
static int read_banner(struct bundle_opts *o, const uint8_t *elf, size_t len, const char *path)
{
	static const char prefix[] = "Linux version ";
	const uint8_t *p = elf, *end = elf + len;

	while ((p = memmem(p, (size_t)(end - p), prefix, sizeof(prefix) - 1))) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p) < 512 ? (size_t)(end - p) : 512);
		const char *rel = (const char *)p + sizeof(prefix) - 1;
		size_t rlen = strcspn(rel, " ");

		/* The banner ends in a newline and a NUL; format strings do not. */
		if (nl && nl + 1 < end && nl[1] == '\0' && rlen > 0 && rlen <= LF_RELEASE_MAX &&
		    rel[0] != '%') {
			snprintf(o->id.release, sizeof(o->id.release), "%.*s", (int)rlen, rel);
			lf_sha1_hex(p, (size_t)(nl + 1 - p), o->id.proc_version_sha1);
			return 0;
		}
		p++;
	}
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
	/* e_machine of the little-endian vmlinux ELF */
	switch (len >= 20 ? elf[18] | elf[19] << 8 : 0) {
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

int bundle_build(struct bundle_opts *o)
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

void bundle_opts_release(struct bundle_opts *o)
{
	for (size_t i = 0; i < o->npayloads; i++) {
		free((void *)o->payloads[i].data);
		free(o->payload_names[i]);
	}
	o->npayloads = 0;
	lf_build_keys_wipe(&o->keys);
}
