/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The four TUF roles: parsing of each "signed" body with every field checked,
 * and verification of a document against the keys a root gives its role.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/tuf.h"

#define EXPIRES_MAX_LEN 20

bool lf_is_repo_path(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LF_NAME_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//") ||
	    strstr(s, ".."))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == n;
}

static int parse_head(const struct lf_jv *body, enum lf_role role, struct lf_meta_head *h,
		      struct lf_why *why)
{
	const char *type, *spec, *expires;

	if (lf_jv_get_str(body, "_type", 16, &type) < 0 || strcmp(type, lf_role_name(role)) != 0)
		return lf_why_set(why, "%s: _type is not \"%s\" (role confusion)",
				  lf_role_name(role), lf_role_name(role)), -EBADMSG;
	if (lf_jv_get_str(body, "spec_version", 16, &spec) < 0 || strcmp(spec, "1.0") != 0)
		return lf_why_set(why, "%s: unsupported spec_version", lf_role_name(role)), -EBADMSG;
	if (lf_jv_get_int(body, "version", 1, INT32_MAX, &h->version) < 0)
		return lf_why_set(why, "%s: version missing or out of range", lf_role_name(role)),
		       -EBADMSG;
	if (lf_jv_get_str(body, "expires", EXPIRES_MAX_LEN, &expires) < 0 ||
	    lf_time_parse(expires, &h->expires) < 0)
		return lf_why_set(why, "%s: expires is not a UTC time", lf_role_name(role)), -EBADMSG;
	h->type = role;
	return 0;
}

static int parse_role_keys(const struct lf_jv *v, const struct lf_keyring *ring,
			   struct lf_role_keys *ret)
{
	static const char *const keys[] = { "keyids", "threshold", NULL };
	const struct lf_jv *ids;

	if (lf_jv_check_keys(v, keys) < 0 ||
	    lf_jv_get_arr(v, "keyids", LF_MAX_ROLE_KEYS, &ids) < 0 ||
	    lf_jv_get_int(v, "threshold", 1, LF_MAX_ROLE_KEYS, &ret->threshold) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < ids->len; i++) {
		const struct lf_jv *id = &ids->u.kids[i];

		if (id->type != LF_JSTR || !lf_keyring_find(ring, id->u.s))
			return -EBADMSG;
		for (size_t j = 0; j < i; j++)
			if (strcmp(ret->keyids[j], id->u.s) == 0)
				return -EBADMSG;
		strcpy(ret->keyids[i], id->u.s);
	}
	ret->nkeys = ids->len;
	/* A threshold no set of listed keys can reach would lock the role. */
	if ((size_t)ret->threshold > ret->nkeys)
		return -EBADMSG;
	return 0;
}

int lf_root_parse(const struct lf_signed *s, struct lf_root *ret, struct lf_why *why)
{
	static const char *const keys[] = { "_type", "consistent_snapshot", "expires", "keys",
					    "roles", "spec_version", "version", NULL };
	const struct lf_jv *jkeys, *roles, *cs;
	struct lf_root *r = ret;
	int e;

	memset(r, 0, sizeof(*r));
	e = parse_head(s->body, LF_ROLE_ROOT, &r->h, why);
	if (e < 0)
		return e;
	cs = lf_jv_get(s->body, "consistent_snapshot");
	if (cs && cs->type != LF_JBOOL)
		return lf_why_set(why, "root: consistent_snapshot is not a boolean"), -EBADMSG;
	r->consistent_snapshot = cs && cs->u.b;
	if (lf_jv_check_keys(s->body, keys) < 0 || lf_jv_get_obj(s->body, "keys", &jkeys) < 0 ||
	    lf_jv_get_obj(s->body, "roles", &roles) < 0 || jkeys->len > LF_MAX_KEYS ||
	    roles->len != LF_ROLE_COUNT)
		return lf_why_set(why, "root: keys or roles malformed"), -EBADMSG;
	for (size_t i = 0; i < jkeys->len; i++) {
		struct lf_pubkey *k = &r->ring.keys[i];

		if (lf_key_from_json(&jkeys->u.kids[i], k) < 0 ||
		    strcmp(k->keyid, jkeys->u.kids[i].key) != 0)
			return lf_why_set(why, "root: key %zu malformed or keyid does not match it",
					  i), -EBADMSG;
		r->ring.n++;
	}
	for (int i = 0; i < LF_ROLE_COUNT; i++) {
		const struct lf_jv *rv = lf_jv_get(roles, lf_role_name((enum lf_role)i));

		if (!rv || parse_role_keys(rv, &r->ring, &r->roles[i]) < 0)
			return lf_why_set(why, "root: role %s malformed", lf_role_name((enum lf_role)i)),
			       -EBADMSG;
	}
	return 0;
}

static int parse_metafile(const struct lf_jv *v, struct lf_metafile *ret)
{
	static const char *const keys[] = { "hashes", "length", "version", NULL };
	static const char *const hkeys[] = { "sha256", NULL };
	const struct lf_jv *hashes;
	const char *h;
	uint8_t bin[32];

	if (!v->key || !lf_is_repo_path(v->key) || lf_jv_check_keys(v, keys) < 0 ||
	    lf_jv_get_int(v, "version", 1, INT32_MAX, &ret->version) < 0 ||
	    lf_jv_get_int(v, "length", 1, LF_TARGETS_MAX, &ret->length) < 0 ||
	    lf_jv_get_obj(v, "hashes", &hashes) < 0 || lf_jv_check_keys(hashes, hkeys) < 0 ||
	    lf_jv_get_str(hashes, "sha256", LF_SHA256_HEX, &h) < 0 || lf_unhex(h, bin, 32) < 0)
		return -EBADMSG;
	strcpy(ret->name, v->key);
	strcpy(ret->sha256, h);
	return 0;
}

int lf_timestamp_parse(const struct lf_signed *s, struct lf_timestamp *ret, struct lf_why *why)
{
	static const char *const keys[] = { "_type", "expires", "meta", "spec_version", "version",
					    NULL };
	const struct lf_jv *meta;
	int e;

	memset(ret, 0, sizeof(*ret));
	e = parse_head(s->body, LF_ROLE_TIMESTAMP, &ret->h, why);
	if (e < 0)
		return e;
	if (lf_jv_check_keys(s->body, keys) < 0 || lf_jv_get_obj(s->body, "meta", &meta) < 0 ||
	    meta->len != 1 || strcmp(meta->u.kids[0].key, "snapshot.json") != 0 ||
	    parse_metafile(&meta->u.kids[0], &ret->snapshot) < 0 ||
	    ret->snapshot.length > LF_SNAPSHOT_MAX)
		return lf_why_set(why, "timestamp: meta malformed"), -EBADMSG;
	return 0;
}

int lf_snapshot_parse(const struct lf_signed *s, struct lf_snapshot *ret, struct lf_why *why)
{
	static const char *const keys[] = { "_type", "expires", "meta", "spec_version", "version",
					    NULL };
	const struct lf_jv *meta;
	int e;

	memset(ret, 0, sizeof(*ret));
	e = parse_head(s->body, LF_ROLE_SNAPSHOT, &ret->h, why);
	if (e < 0)
		return e;
	if (lf_jv_check_keys(s->body, keys) < 0 || lf_jv_get_obj(s->body, "meta", &meta) < 0 ||
	    meta->len > LF_MAX_FEEDS)
		return lf_why_set(why, "snapshot: meta malformed or too many feeds"), -EBADMSG;
	for (size_t i = 0; i < meta->len; i++) {
		if (parse_metafile(&meta->u.kids[i], &ret->meta[i]) < 0 ||
		    strncmp(ret->meta[i].name, "targets/", 8) != 0)
			return lf_why_set(why, "snapshot: meta entry %zu malformed", i), -EBADMSG;
		ret->n++;
	}
	return 0;
}

const struct lf_metafile *lf_snapshot_find(const struct lf_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->meta[i].name, name) == 0)
			return &s->meta[i];
	return NULL;
}

static int parse_target(const struct lf_jv *v, struct lf_target *t)
{
	static const char *const keys[] = { "custom", "hashes", "length", NULL };
	static const char *const ckeys[] = { "id", "kind", "level", "target", "withdrawn", NULL };
	static const char *const hkeys[] = { "sha256", NULL };
	const struct lf_jv *hashes, *custom, *ident, *w;
	const char *h, *id, *kind;
	uint8_t bin[32];
	int k;

	if (!lf_is_repo_path(v->key) || lf_jv_check_keys(v, keys) < 0 ||
	    lf_jv_get_int(v, "length", LF_BUNDLE_HEADER, (int64_t)LF_BUNDLE_MAX, &t->length) < 0 ||
	    lf_jv_get_obj(v, "hashes", &hashes) < 0 || lf_jv_check_keys(hashes, hkeys) < 0 ||
	    lf_jv_get_str(hashes, "sha256", LF_SHA256_HEX, &h) < 0 || lf_unhex(h, bin, 32) < 0 ||
	    lf_jv_get_obj(v, "custom", &custom) < 0 || lf_jv_check_keys(custom, ckeys) < 0 ||
	    lf_jv_get_str(custom, "id", LF_ID_MAX, &id) < 0 || !lf_is_id(id) ||
	    lf_jv_get_str(custom, "kind", 16, &kind) < 0 || (k = lf_kind_from_name(kind)) < 0 ||
	    lf_jv_get_int(custom, "level", 1, LF_LEVEL_MAX, &t->level) < 0 ||
	    lf_jv_get_obj(custom, "target", &ident) < 0 ||
	    lf_identity_from_json(ident, (enum lf_kind)k, &t->ident) < 0)
		return -EBADMSG;
	/* Optional; only true is meaningful, anything but a boolean is refused. */
	w = lf_jv_get(custom, "withdrawn");
	if (w && w->type != LF_JBOOL)
		return -EBADMSG;
	t->withdrawn = w && w->u.b;
	strcpy(t->name, v->key);
	strcpy(t->sha256, h);
	strcpy(t->id, id);
	return 0;
}

int lf_targets_parse(const struct lf_signed *s, struct lf_targets *ret, struct lf_why *why)
{
	static const char *const keys[] = { "_type", "expires", "feed", "spec_version", "targets",
					    "version", NULL };
	const struct lf_jv *targets;
	const char *feed;
	int e;

	memset(ret, 0, sizeof(*ret));
	e = parse_head(s->body, LF_ROLE_TARGETS, &ret->h, why);
	if (e < 0)
		return e;
	if (lf_jv_check_keys(s->body, keys) < 0 || lf_jv_get_str(s->body, "feed", LF_ID_MAX, &feed) < 0 ||
	    !lf_is_id(feed) || lf_jv_get_obj(s->body, "targets", &targets) < 0 ||
	    targets->len > LF_MAX_TARGETS)
		return lf_why_set(why, "targets: feed or targets malformed"), -EBADMSG;
	strcpy(ret->feed, feed);
	ret->t = calloc(targets->len ? targets->len : 1, sizeof(*ret->t));
	if (!ret->t)
		return -ENOMEM;
	for (size_t i = 0; i < targets->len; i++) {
		if (parse_target(&targets->u.kids[i], &ret->t[i]) < 0) {
			lf_targets_release(ret);
			return lf_why_set(why, "targets: entry %zu malformed", i), -EBADMSG;
		}
		ret->n++;
	}
	return 0;
}

void lf_targets_release(struct lf_targets *t)
{
	free(t->t);
	t->t = NULL;
	t->n = 0;
}

int lf_meta_verify(const char *data, size_t len, const struct lf_root *root, enum lf_role role,
		   void *ret, struct lf_why *why)
{
	struct lf_why inner = { "" };
	struct lf_signed s;
	int r = lf_signed_parse(data, len, &s, &inner);

	if (r < 0)
		return lf_why_set(why, "%s: %s", lf_role_name(role), inner.msg), r;
	r = lf_signed_verify(&s, &root->ring, &root->roles[role], lf_role_name(role), why);
	if (r < 0)
		goto out;
	switch (role) {
	case LF_ROLE_ROOT:
		r = lf_root_parse(&s, ret, why);
		break;
	case LF_ROLE_TIMESTAMP:
		r = lf_timestamp_parse(&s, ret, why);
		break;
	case LF_ROLE_SNAPSHOT:
		r = lf_snapshot_parse(&s, ret, why);
		break;
	case LF_ROLE_TARGETS:
		r = lf_targets_parse(&s, ret, why);
		break;
	default:
		r = -EINVAL;
	}
out:
	lf_signed_release(&s);
	return r;
}

/*
 * A new root must carry the threshold of the previous root's root keys
 * (the old owners agree) and of its own root keys (the new owners hold
 * their keys), and be exactly the next version.
 */
int lf_root_verify_next(const char *data, size_t len, const struct lf_root *prev,
			struct lf_root *ret, struct lf_why *why)
{
	struct lf_signed s;
	struct lf_root *next = calloc(1, sizeof(*next));
	int r;

	if (!next)
		return -ENOMEM;
	r = lf_signed_parse(data, len, &s, why);
	if (r < 0)
		goto out_free;
	r = lf_root_parse(&s, next, why);
	if (r < 0)
		goto out;
	if (prev) {
		r = lf_signed_verify(&s, &prev->ring, &prev->roles[LF_ROLE_ROOT],
				     "root (by the previous root's keys)", why);
		if (r < 0)
			goto out;
		if (next->h.version != prev->h.version + 1) {
			lf_why_set(why, "root: version %lld does not follow trusted version %lld",
				   (long long)next->h.version, (long long)prev->h.version);
			r = -ESTALE;
			goto out;
		}
	}
	r = lf_signed_verify(&s, &next->ring, &next->roles[LF_ROLE_ROOT],
			     "root (by its own keys)", why);
	if (r == 0)
		*ret = *next;
out:
	lf_signed_release(&s);
out_free:
	free(next);
	return r;
}
