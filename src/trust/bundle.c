/* SPDX-License-Identifier: Apache-2.0 */
/* The .lfb container and its manifest (include/livefix/bundle.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "livefix/bundle.h"

bool lf_is_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LF_ID_MAX || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

bool lf_is_severity(const char *s)
{
	static const char *const names[] = { "unknown", "none", "low", "medium", "high", "critical", NULL };

	for (const char *const *n = names; *n; n++)
		if (strcmp(*n, s) == 0)
			return true;
	return false;
}

static int parse_cves(const struct lf_jv *body, struct lf_manifest *m, struct lf_why *why)
{
	static const char *const keys[] = { "id", "severity", NULL };
	const struct lf_jv *arr;
	const char *id, *sev;

	if (lf_jv_get_arr(body, "cves", LF_BUNDLE_MAX_CVES, &arr) < 0)
		return lf_why_set(why, "manifest: cves missing or too many"), -EBADMSG;
	for (size_t i = 0; i < arr->len; i++) {
		const struct lf_jv *c = &arr->u.kids[i];

		if (lf_jv_check_keys(c, keys) < 0 || lf_jv_get_str(c, "id", LF_CVE_MAX, &id) < 0 ||
		    lf_jv_get_str(c, "severity", 15, &sev) < 0 || !lf_is_id(id) ||
		    !lf_is_severity(sev))
			return lf_why_set(why, "manifest: cves[%zu] invalid", i), -EBADMSG;
		strcpy(m->cves[i].id, id);
		strcpy(m->cves[i].severity, sev);
	}
	m->ncves = arr->len;
	return 0;
}

static int parse_supersedes(const struct lf_jv *body, struct lf_manifest *m, struct lf_why *why)
{
	const struct lf_jv *arr;

	if (lf_jv_get_arr(body, "supersedes", LF_BUNDLE_MAX_SUPERSEDES, &arr) < 0)
		return lf_why_set(why, "manifest: supersedes missing or too long"), -EBADMSG;
	for (size_t i = 0; i < arr->len; i++) {
		const struct lf_jv *s = &arr->u.kids[i];

		if (s->type != LF_JSTR || !lf_is_id(s->u.s))
			return lf_why_set(why, "manifest: supersedes[%zu] invalid", i), -EBADMSG;
		strcpy(m->supersedes[i], s->u.s);
	}
	m->nsupersedes = arr->len;
	return 0;
}

static int parse_payloads(const struct lf_jv *body, struct lf_manifest *m, struct lf_why *why)
{
	static const char *const keys[] = { "length", "name", "sha256", NULL };
	const struct lf_jv *arr;
	uint64_t total = 0;
	const char *name, *hash;
	int64_t len;

	if (lf_jv_get_arr(body, "payloads", LF_BUNDLE_MAX_PAYLOADS, &arr) < 0 || arr->len == 0)
		return lf_why_set(why, "manifest: payloads missing or too many"), -EBADMSG;
	for (size_t i = 0; i < arr->len; i++) {
		const struct lf_jv *p = &arr->u.kids[i];
		uint8_t h[32];

		if (lf_jv_check_keys(p, keys) < 0 || lf_jv_get_str(p, "name", LF_ID_MAX, &name) < 0 ||
		    lf_jv_get_str(p, "sha256", LF_SHA256_HEX, &hash) < 0 || !lf_is_id(name) ||
		    lf_unhex(hash, h, sizeof(h)) < 0 ||
		    lf_jv_get_int(p, "length", 0, (int64_t)LF_BUNDLE_PAYLOAD_MAX, &len) < 0)
			return lf_why_set(why, "manifest: payloads[%zu] invalid", i), -EBADMSG;
		total += (uint64_t)len;
		if (total > LF_BUNDLE_PAYLOAD_MAX)
			return lf_why_set(why, "manifest: payloads too large"), -EOVERFLOW;
		strcpy(m->payloads[i].name, name);
		strcpy(m->payloads[i].sha256, hash);
		m->payloads[i].length = (uint64_t)len;
	}
	m->npayloads = arr->len;
	return 0;
}

static int parse_head(const struct lf_jv *body, struct lf_manifest *m, struct lf_why *why)
{
	const struct lf_jv *target;
	const char *type, *id, *kind, *desc, *created;
	int64_t format;
	int k;

	if (lf_jv_get_str(body, "_type", 16, &type) < 0 || strcmp(type, "bundle") != 0)
		return lf_why_set(why, "manifest: _type is not \"bundle\""), -EBADMSG;
	if (lf_jv_get_int(body, "format", 1, 1, &format) < 0)
		return lf_why_set(why, "manifest: unsupported format version"), -EBADMSG;
	if (lf_jv_get_str(body, "id", LF_ID_MAX, &id) < 0 || !lf_is_id(id))
		return lf_why_set(why, "manifest: id missing or invalid"), -EBADMSG;
	strcpy(m->id, id);
	if (lf_jv_get_str(body, "kind", 16, &kind) < 0 || (k = lf_kind_from_name(kind)) < 0)
		return lf_why_set(why, "manifest: kind is neither kernel nor user"), -EBADMSG;
	if (lf_jv_get_obj(body, "target", &target) < 0 ||
	    lf_identity_from_json(target, (enum lf_kind)k, &m->target) < 0)
		return lf_why_set(why, "manifest: target identity missing or invalid"), -EBADMSG;
	if (lf_jv_get_int(body, "level", 1, LF_LEVEL_MAX, &m->level) < 0)
		return lf_why_set(why, "manifest: level missing or out of range"), -EBADMSG;
	if (lf_jv_get_str(body, "description", LF_DESCRIPTION_MAX, &desc) < 0)
		return lf_why_set(why, "manifest: description missing or too long"), -EBADMSG;
	strcpy(m->description, desc);
	if (lf_jv_get_str(body, "created", 20, &created) < 0 ||
	    lf_time_parse(created, &m->created) < 0)
		return lf_why_set(why, "manifest: created is not a UTC time"), -EBADMSG;
	return 0;
}

int lf_manifest_from_json(const struct lf_jv *body, struct lf_manifest *ret, struct lf_why *why)
{
	static const char *const keys[] = { "_type", "created", "cves", "description", "format",
					    "id", "kind", "level", "payloads", "supersedes",
					    "target", NULL };
	int r;

	memset(ret, 0, sizeof(*ret));
	if (lf_jv_check_keys(body, keys) < 0)
		return lf_why_set(why, "manifest: unknown field"), -EBADMSG;
	r = parse_head(body, ret, why);
	if (r == 0)
		r = parse_supersedes(body, ret, why);
	if (r == 0)
		r = parse_cves(body, ret, why);
	if (r == 0)
		r = parse_payloads(body, ret, why);
	return r;
}

static uint32_t get_be32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t get_be64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

int lf_bundle_parse(const char *data, size_t len, struct lf_bundle *ret, struct lf_why *why)
{
	uint32_t format, env_len;
	uint64_t payload_len, off, sum = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len < LF_BUNDLE_HEADER || memcmp(data, LF_BUNDLE_MAGIC, 8) != 0)
		return lf_why_set(why, "not a livefix bundle (bad magic)"), -EBADMSG;
	format = get_be32(data + 8);
	env_len = get_be32(data + 12);
	payload_len = get_be64(data + 16);
	if (format != LF_BUNDLE_FORMAT)
		return lf_why_set(why, "bundle container format %u not supported", format), -EBADMSG;
	if (env_len < 2 || env_len > LF_BUNDLE_ENVELOPE_MAX || payload_len > LF_BUNDLE_PAYLOAD_MAX)
		return lf_why_set(why, "bundle header lengths out of bounds"), -EOVERFLOW;
	if (len - LF_BUNDLE_HEADER != (uint64_t)env_len + payload_len)
		return lf_why_set(why, "bundle is %zu bytes, header declares %llu", len,
				  (unsigned long long)(LF_BUNDLE_HEADER + env_len + payload_len)),
		       len - LF_BUNDLE_HEADER > (uint64_t)env_len + payload_len ? -EOVERFLOW
									     : -EBADMSG;
	r = lf_signed_parse(data + LF_BUNDLE_HEADER, env_len, &ret->env, why);
	if (r < 0)
		return r;
	r = lf_manifest_from_json(ret->env.body, &ret->m, why);
	if (r < 0)
		goto err;
	off = LF_BUNDLE_HEADER + (uint64_t)env_len;
	for (size_t i = 0; i < ret->m.npayloads; i++) {
		ret->m.payloads[i].offset = off + sum;
		sum += ret->m.payloads[i].length;
	}
	if (sum != payload_len) {
		lf_why_set(why, "manifest payload lengths (%llu) disagree with the container (%llu)",
			   (unsigned long long)sum, (unsigned long long)payload_len);
		r = -EBADMSG;
		goto err;
	}
	ret->data = data;
	ret->len = len;
	return 0;
err:
	lf_bundle_release(ret);
	return r;
}

void lf_bundle_release(struct lf_bundle *b)
{
	lf_signed_release(&b->env);
}

int lf_bundle_verify(const struct lf_bundle *b, const struct lf_keyring *ring,
		     const struct lf_role_keys *role, struct lf_why *why)
{
	return lf_signed_verify(&b->env, ring, role, "bundle manifest", why);
}

int lf_bundle_check_payloads(const struct lf_bundle *b, struct lf_why *why)
{
	for (size_t i = 0; i < b->m.npayloads; i++) {
		const struct lf_payload *p = &b->m.payloads[i];
		char hex[LF_SHA256_HEX + 1];

		lf_sha256_hex(b->data + p->offset, p->length, hex);
		if (sodium_memcmp(hex, p->sha256, LF_SHA256_HEX) != 0)
			return lf_why_set(why, "payload %s: sha256 mismatch (payload hash %.16s…, "
					  "manifest says %.16s…)", p->name, hex, p->sha256),
			       -EBADMSG;
	}
	return 0;
}

static int put_header(struct lf_buf *out, size_t env_len, uint64_t payload_len)
{
	char h[LF_BUNDLE_HEADER];
	uint32_t v32;
	uint64_t v64;

	memcpy(h, LF_BUNDLE_MAGIC, 8);
	v32 = htobe32(LF_BUNDLE_FORMAT);
	memcpy(h + 8, &v32, 4);
	v32 = htobe32((uint32_t)env_len);
	memcpy(h + 12, &v32, 4);
	v64 = htobe64(payload_len);
	memcpy(h + 16, &v64, 8);
	return lf_buf_append(out, h, sizeof(h));
}

int lf_bundle_write(const char *manifest_json, size_t manifest_len,
		    const struct lf_payload_in *payloads, size_t npayloads,
		    const struct lf_privkey *const *keys, size_t nkeys,
		    struct lf_buf *out, struct lf_why *why)
{
	struct lf_buf env = LF_BUF_INIT(LF_BUNDLE_ENVELOPE_MAX);
	struct lf_manifest *m = calloc(1, sizeof(*m));
	struct lf_jv *body = NULL;
	uint64_t total = 0;
	int r;

	if (!m)
		return -ENOMEM;
	r = lf_json_parse(manifest_json, manifest_len, NULL, &body);
	if (r == 0)
		r = lf_manifest_from_json(body, m, why);
	if (r == 0 && m->npayloads != npayloads)
		r = -EINVAL;
	for (size_t i = 0; r == 0 && i < npayloads; i++) {
		char hex[LF_SHA256_HEX + 1];

		lf_sha256_hex(payloads[i].data, payloads[i].len, hex);
		if (m->payloads[i].length != payloads[i].len || strcmp(hex, m->payloads[i].sha256))
			r = -EINVAL;
		total += payloads[i].len;
	}
	if (r == 0)
		r = lf_signed_sign(body, keys, nkeys, &env);
	if (r == 0)
		r = put_header(out, env.len, total);
	if (r == 0)
		r = lf_buf_append(out, env.data, env.len);
	for (size_t i = 0; r == 0 && i < npayloads; i++)
		r = lf_buf_append(out, payloads[i].data, payloads[i].len);
	lf_jv_free(body);
	lf_buf_release(&env);
	free(m);
	return r;
}
