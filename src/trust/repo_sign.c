/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The online roles: snapshot (which version of every feed's targets is
 * current) and timestamp (which snapshot is current). Whoever holds the
 * online keys, build host or portal, builds them here, so both number and
 * date them the same way and write only what devices parse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/repo_sign.h"

void lf_meta_write_head(struct lf_json *j, enum lf_role role, int64_t version, int64_t expires)
{
	char when[21];

	lf_time_format(expires, when);
	lf_json_kv_string(j, "_type", lf_role_name(role));
	lf_json_kv_string(j, "expires", when);
	lf_json_kv_string(j, "spec_version", "1.0");
	lf_json_kv_int(j, "version", version);
}

int lf_meta_sign_body(const struct lf_buf *body, const struct lf_privkey *const *keys,
		      size_t nkeys, struct lf_buf *out)
{
	struct lf_jv *v;
	int r = lf_json_parse(body->data, body->len, NULL, &v);

	if (r < 0)
		return r;
	r = lf_signed_sign(v, keys, nkeys, out);
	lf_jv_free(v);
	return r;
}

int lf_meta_peek(const void *data, size_t len, int64_t *ret_version, int64_t *ret_expires)
{
	struct lf_signed s;
	const char *when;
	int64_t v, e = 0;
	int r = lf_signed_parse(data, len, &s, NULL);

	if (r < 0)
		return r;
	r = lf_jv_get_int(s.body, "version", 1, INT32_MAX, &v);
	if (r == 0 && ret_expires) {
		r = lf_jv_get_str(s.body, "expires", 20, &when);
		if (r == 0)
			r = lf_time_parse(when, &e);
	}
	lf_signed_release(&s);
	if (r < 0)
		return -EBADMSG;
	*ret_version = v;
	if (ret_expires)
		*ret_expires = e;
	return 0;
}

/* One entry of snapshot's or timestamp's "meta": what a client fetches. */
static int describe(const struct lf_meta_doc *d, struct lf_metafile *m)
{
	if (!d->name || strlen(d->name) > LF_NAME_MAX || !lf_is_repo_path(d->name))
		return -EINVAL;
	snprintf(m->name, sizeof(m->name), "%s", d->name);
	m->length = (int64_t)d->len;
	lf_sha256_hex(d->data, d->len, m->sha256);
	return lf_meta_peek(d->data, d->len, &m->version, NULL);
}

static void write_metafile(struct lf_json *j, const struct lf_metafile *m)
{
	lf_json_key(j, m->name);
	lf_json_object_begin(j);
	lf_json_key(j, "hashes");
	lf_json_object_begin(j);
	lf_json_kv_string(j, "sha256", m->sha256);
	lf_json_object_end(j);
	lf_json_kv_int(j, "length", m->length);
	lf_json_kv_int(j, "version", m->version);
	lf_json_object_end(j);
}

static int next_version(const struct lf_meta_doc *prev, int64_t *ret)
{
	int64_t v = 0;

	if (prev && prev->data && lf_meta_peek(prev->data, prev->len, &v, NULL) < 0)
		return -EBADMSG;
	if (v >= INT32_MAX)
		return -EOVERFLOW;
	*ret = v + 1;
	return 0;
}

/* Writes meta entries sorted by name, as canonical JSON would. */
static int cmp_meta(const void *a, const void *b)
{
	return strcmp(((const struct lf_metafile *)a)->name, ((const struct lf_metafile *)b)->name);
}

int lf_repo_sign_snapshot(const struct lf_meta_doc *targets, size_t ntargets,
			  const struct lf_meta_doc *prev, int64_t expires,
			  const struct lf_privkey *const *keys, size_t nkeys, struct lf_buf *out,
			  int64_t *ret_version)
{
	struct lf_snapshot *s;
	struct lf_buf body = LF_BUF_INIT(LF_SNAPSHOT_MAX);
	struct lf_json j;
	int r;

	if (ntargets > LF_MAX_FEEDS)
		return -E2BIG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = next_version(prev, &s->h.version);
	for (size_t i = 0; r == 0 && i < ntargets; i++) {
		r = strncmp(targets[i].name, "targets/", 8) ? -EINVAL : 0;
		if (r == 0)
			r = describe(&targets[i], &s->meta[s->n++]);
	}
	if (r < 0)
		goto out;
	qsort(s->meta, s->n, sizeof(s->meta[0]), cmp_meta);
	lf_json_init(&j, &body, false);
	lf_json_object_begin(&j);
	lf_meta_write_head(&j, LF_ROLE_SNAPSHOT, s->h.version, expires);
	lf_json_key(&j, "meta");
	lf_json_object_begin(&j);
	for (size_t i = 0; i < s->n; i++)
		write_metafile(&j, &s->meta[i]);
	lf_json_object_end(&j);
	lf_json_object_end(&j);
	r = lf_json_finish(&j);
	if (r == 0)
		r = lf_meta_sign_body(&body, keys, nkeys, out);
	if (r == 0 && ret_version)
		*ret_version = s->h.version;
out:
	lf_buf_release(&body);
	free(s);
	return r;
}

int lf_repo_sign_timestamp(const struct lf_meta_doc *snapshot, const struct lf_meta_doc *prev,
			   int64_t expires, const struct lf_privkey *const *keys, size_t nkeys,
			   struct lf_buf *out)
{
	struct lf_timestamp ts = { 0 };
	struct lf_buf body = LF_BUF_INIT(LF_TIMESTAMP_MAX);
	struct lf_json j;
	int r;

	if (!snapshot->data || strcmp(snapshot->name, "snapshot.json"))
		return -EINVAL;
	r = next_version(prev, &ts.h.version);
	if (r == 0)
		r = describe(snapshot, &ts.snapshot);
	if (r < 0)
		return r;
	lf_json_init(&j, &body, false);
	lf_json_object_begin(&j);
	lf_meta_write_head(&j, LF_ROLE_TIMESTAMP, ts.h.version, expires);
	lf_json_key(&j, "meta");
	lf_json_object_begin(&j);
	write_metafile(&j, &ts.snapshot);
	lf_json_object_end(&j);
	lf_json_object_end(&j);
	r = lf_json_finish(&j);
	if (r == 0)
		r = lf_meta_sign_body(&body, keys, nkeys, out);
	lf_buf_release(&body);
	return r;
}
