/* SPDX-License-Identifier: Apache-2.0 */
/* Repository files per feed, as opaque blobs, and the re-signing seam. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "livefix/file.h"
#include "livefix/json_parse.h"
#include "livefix/repo_sign.h"

#include "repo.h"
#include "rollout.h"

static const char *const metadata_files[] = {
	"root.json", "targets.json", "snapshot.json", "timestamp.json",
};

static int keep_published(void *ctx, const char *feed, const struct lf_portal_blob *a,
			  const struct lf_portal_blob *b, unsigned char **ret, size_t *ret_len)
{
	return -EOPNOTSUPP;
}

static int keep_timestamp(void *ctx, const char *feed, const struct lf_portal_blob *a,
			  const struct lf_portal_blob *b, unsigned char **ret, size_t *ret_len)
{
	return -EOPNOTSUPP;
}

const struct lf_portal_repo_ops lf_portal_repo_passthrough = {
	.name = "passthrough",
	.sign_snapshot = keep_published,
	.sign_timestamp = keep_timestamp,
	.refresh_interval = 0,
};

void lf_repo_file_release(struct lf_repo_file *f)
{
	free(f->content);
	f->content = NULL;
}

static bool all_of(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

bool lf_repo_valid_feed(const char *name)
{
	return name && all_of(name, 1, 64, "._-") && name[0] != '.';
}

/* "<N>.<role>.json", N a version without leading zeros. */
static bool is_versioned(const char *name, const char *suffix)
{
	size_t n = strspn(name, "0123456789");

	return n > 0 && n < 11 && name[0] != '0' && !strcmp(name + n, suffix);
}

bool lf_repo_valid_file(const char *name)
{
	char hex[65];

	if (!name)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(name, metadata_files[i]))
			return true;
	if (is_versioned(name, ".root.json") || is_versioned(name, ".snapshot.json"))
		return true;
	if (strncmp(name, "bundles/", 8) || strlen(name) != 8 + 64 + 4 ||
	    strcmp(name + 8 + 64, ".lfb"))
		return false;
	memcpy(hex, name + 8, 64);
	hex[64] = '\0';
	return all_of(hex, 64, 64, "") && strspn(hex, "0123456789abcdef") == 64;
}

static void sha256_hex(const void *data, size_t len, char ret[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(ret, 65, h, sizeof(h));
}

int lf_repo_served_name(const char *feed, const char *path, char *ret, size_t size)
{
	size_t n = strlen(feed);

	if (!strncmp(path, "targets/", 8) && !strncmp(path + 8, feed, n)) {
		const char *rest = path + 8 + n;

		if (!strcmp(rest, ".json"))
			return snprintf(ret, size, "targets.json") < (int)size ? 0 : -ENOENT;
		if (rest[0] == '/' && is_versioned(rest + 1, ".json"))
			return snprintf(ret, size, "%s", path) < (int)size ? 0 : -ENOENT;
		return -ENOENT;
	}
	if (!lf_repo_valid_file(path))
		return -ENOENT;
	return snprintf(ret, size, "%s", path) < (int)size ? 0 : -ENOENT;
}

int lf_repo_feed_id(struct lf_store *s, const char *feed, int64_t *ret_id)
{
	return lf_store_int(s, "SELECT id FROM feeds WHERE name = $1", ret_id, "s", feed);
}

int lf_repo_feed_ensure(struct lf_store *s, const char *feed, int64_t *ret_id)
{
	int r;

	if (!lf_repo_valid_feed(feed))
		return -EINVAL;
	r = lf_repo_feed_id(s, feed, ret_id);
	if (r != -ENOENT)
		return r;
	r = lf_store_q(s, "INSERT INTO feeds (name, created) VALUES ($1, $2)"
		       " ON CONFLICT (name) DO NOTHING", NULL, NULL, "si", feed, lf_now());
	if (r < 0)
		return r;
	return lf_repo_feed_id(s, feed, ret_id);
}

static int store_blob(struct lf_store *s, int64_t feed_id, const char *name,
		      const void *data, size_t len)
{
	char hex[65];

	sha256_hex(data, len, hex);
	return lf_store_q(s, "INSERT INTO repo_files (feed_id, name, sha256, length, content, updated)"
			  " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (feed_id, name) DO UPDATE"
			  " SET sha256 = excluded.sha256, length = excluded.length,"
			  " content = excluded.content, updated = excluded.updated",
			  NULL, NULL, "issibi", feed_id, name, hex, (int64_t)len, data, len, lf_now());
}

struct withdrawn_ctx {
	int64_t ref;
	bool found;
};

static int withdrawn_row(void *ctx, const struct lf_row *row)
{
	struct withdrawn_ctx *c = ctx;

	c->ref = strtoll(row->vals[0], NULL, 10);
	c->found = true;
	return 0;
}

/*
 * Targets that mark bundles withdrawn (signed offline: livefix-build repo
 * withdraw) withdraw them in the portal too, in the same transaction: the
 * bundle is marked and its rollouts halt, so one upload does both. The
 * portal does not verify the signature here (devices do, and revert only
 * on a verified mark); an unsigned mark only stops rollouts, which an
 * operator may do anyway. Returns how many bundles this newly withdrew.
 */
static int withdraw_marked(struct lf_store *s, int64_t feed_id, const void *data, size_t len)
{
	const struct lf_jv *targets;
	struct lf_jv *doc = NULL;
	int n = 0, r;

	if (lf_json_parse(data, len, NULL, &doc) < 0)
		return 0; /* not JSON we read: nothing to withdraw */
	targets = lf_jv_get(lf_jv_get(doc, "signed"), "targets");
	for (size_t i = 0; targets && targets->type == LF_JOBJ && i < targets->len; i++) {
		const struct lf_jv *custom = lf_jv_get(&targets->u.kids[i], "custom");
		const struct lf_jv *id = lf_jv_get(custom, "id"), *w = lf_jv_get(custom, "withdrawn");
		struct withdrawn_ctx c = { 0 };

		if (!id || id->type != LF_JSTR || !w || w->type != LF_JBOOL || !w->u.b)
			continue;
		r = lf_store_q(s, "SELECT id FROM bundles WHERE feed_id = $1 AND bundle_id = $2",
			       withdrawn_row, &c, "is", feed_id, id->u.s);
		if (r >= 0 && c.found)
			r = lf_bundle_withdraw(s, c.ref, "withdrawn by the signed targets", NULL);
		if (r < 0) {
			lf_jv_free(doc);
			return r;
		}
		n += r > 0 && c.found;
	}
	lf_jv_free(doc);
	return n;
}

int lf_repo_withdraw_marked(struct lf_store *s, const char *feed)
{
	struct lf_repo_file f = { 0 };
	int64_t feed_id;
	int r = lf_repo_feed_id(s, feed, &feed_id);

	if (r >= 0)
		r = lf_repo_get(s, feed, "targets.json", true, &f);
	if (r == -ENOENT)
		return 0;
	if (r >= 0)
		r = withdraw_marked(s, feed_id, f.content, (size_t)f.length);
	lf_repo_file_release(&f);
	return r;
}

/*
 * Stores a metadata file and, when it is signed metadata, also under the
 * version-numbered name a client fetches with consistent snapshots
 * (N.root.json, N.snapshot.json, targets/<feed>/N.json), so a client half-way
 * through an update still finds the version its timestamp named.
 */
static int store_meta(struct lf_store *s, int64_t feed_id, const char *feed, const char *name,
		      const void *data, size_t len)
{
	char vname[LF_REPO_NAME_MAX];
	int64_t v;
	int r = store_blob(s, feed_id, name, data, len);

	if (r >= 0 && !strcmp(name, "targets.json")) {
		int n = withdraw_marked(s, feed_id, data, len);

		r = n < 0 ? n : r;
	}
	if (r < 0 || lf_meta_peek(data, len, &v, NULL) < 0)
		return r; /* not signed metadata (yet): served under its own name only */
	if (!strcmp(name, "root.json"))
		snprintf(vname, sizeof(vname), "%lld.root.json", (long long)v);
	else if (!strcmp(name, "snapshot.json"))
		snprintf(vname, sizeof(vname), "%lld.snapshot.json", (long long)v);
	else if (!strcmp(name, "targets.json"))
		snprintf(vname, sizeof(vname), "targets/%s/%lld.json", feed, (long long)v);
	else
		return r;
	return store_blob(s, feed_id, vname, data, len);
}

/* A file a feed may hold: valid names, within its size, a bundle named by its hash. */
static int check_file(const char *feed, const char *name, const void *data, size_t len,
		      bool *ret_bundle)
{
	bool bundle = !strncmp(name, "bundles/", 8);
	char hex[65];

	if (!lf_repo_valid_feed(feed) || !lf_repo_valid_file(name))
		return -EINVAL;
	if (len > (bundle ? LF_REPO_MAX_BUNDLE : LF_REPO_MAX_METADATA))
		return -EOVERFLOW;
	if (bundle) {
		sha256_hex(data, len, hex);
		if (strncmp(name + 8, hex, 64))
			return -EBADMSG; /* the name is the content's hash */
	}
	*ret_bundle = bundle;
	return 0;
}

int lf_repo_store_file(struct lf_store *s, const char *feed, const char *name, const void *data,
		       size_t len)
{
	bool bundle;
	int64_t feed_id;
	int r = check_file(feed, name, data, len, &bundle);

	if (r < 0)
		return r;
	r = lf_repo_feed_ensure(s, feed, &feed_id);
	if (r < 0)
		return r;
	return bundle ? store_blob(s, feed_id, name, data, len)
		      : store_meta(s, feed_id, feed, name, data, len);
}

struct file_ctx {
	struct lf_repo_file *f;
	bool with_content;
	int err;
	bool found;
};

static int file_row(void *ctx, const struct lf_row *row)
{
	struct file_ctx *c = ctx;

	snprintf(c->f->sha256, sizeof(c->f->sha256), "%s", row->vals[0]);
	c->f->length = strtoll(row->vals[1], NULL, 10);
	c->f->updated = strtoll(row->vals[2], NULL, 10);
	c->found = true;
	if (c->with_content) {
		if ((int64_t)row->lens[3] != c->f->length)
			return -EIO;
		c->f->content = malloc(row->lens[3] + 1);
		if (!c->f->content)
			return -ENOMEM;
		memcpy(c->f->content, row->vals[3], row->lens[3]);
	}
	return 0;
}

int lf_repo_get(struct lf_store *s, const char *feed, const char *name, bool with_content,
		struct lf_repo_file *ret)
{
	struct file_ctx c = { .f = ret, .with_content = with_content };
	int r;

	memset(ret, 0, sizeof(*ret));
	if (with_content)
		r = lf_store_q(s, "SELECT r.sha256, r.length, r.updated, r.content FROM repo_files r"
			       " JOIN feeds f ON f.id = r.feed_id WHERE f.name = $1 AND r.name = $2",
			       file_row, &c, "ss", feed, name);
	else
		r = lf_store_q(s, "SELECT r.sha256, r.length, r.updated FROM repo_files r"
			       " JOIN feeds f ON f.id = r.feed_id WHERE f.name = $1 AND r.name = $2",
			       file_row, &c, "ss", feed, name);
	if (r < 0) {
		lf_repo_file_release(ret);
		return r;
	}
	return c.found ? 0 : -ENOENT;
}

/* Asks the signer for new snapshot and timestamp; keeps the old on EOPNOTSUPP. */
static int resign(struct lf_store *s, const struct lf_portal_repo_ops *ops, const char *feed,
		  int64_t feed_id, bool snapshot_too)
{
	struct lf_repo_file targets = { 0 }, snap = { 0 }, prev_ts = { 0 };
	struct lf_portal_blob tb, sb = { NULL, 0 }, pb;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int r;

	r = lf_repo_get(s, feed, "snapshot.json", true, &snap);
	if (r < 0 && r != -ENOENT)
		return r;
	sb = (struct lf_portal_blob){ snap.content, (size_t)snap.length };
	if (snapshot_too) {
		r = lf_repo_get(s, feed, "targets.json", true, &targets);
		if (r < 0)
			goto out;
		tb = (struct lf_portal_blob){ targets.content, (size_t)targets.length };
		r = ops->sign_snapshot(ops->ctx, feed, &tb, &sb, &out, &out_len);
		if (r == 0) {
			r = store_meta(s, feed_id, feed, "snapshot.json", out, out_len);
			sb = (struct lf_portal_blob){ out, out_len };
		} else if (r == -EOPNOTSUPP) {
			r = 0; /* snapshot kept as published; the timestamp may still be ours */
		}
		if (r < 0)
			goto out;
	}
	r = lf_repo_get(s, feed, "timestamp.json", true, &prev_ts);
	if (r < 0 && r != -ENOENT)
		goto out;
	pb = (struct lf_portal_blob){ prev_ts.content, (size_t)prev_ts.length };
	{
		unsigned char *ts = NULL;
		size_t ts_len = 0;

		r = ops->sign_timestamp(ops->ctx, feed, &sb, &pb, &ts, &ts_len);
		if (r == 0)
			r = store_blob(s, feed_id, "timestamp.json", ts, ts_len);
		else if (r == -EOPNOTSUPP)
			r = 0;
		free(ts);
	}
out:
	free(out);
	lf_repo_file_release(&targets);
	lf_repo_file_release(&snap);
	lf_repo_file_release(&prev_ts);
	return r;
}

int lf_repo_resign(struct lf_store *s, const struct lf_portal_repo_ops *ops, const char *feed,
		   bool snapshot_too)
{
	int64_t feed_id;
	int r = lf_store_begin(s);

	if (r < 0)
		return r;
	r = lf_repo_feed_id(s, feed, &feed_id);
	if (r >= 0)
		r = resign(s, ops, feed, feed_id, snapshot_too);
	if (r >= 0)
		r = lf_store_commit(s);
	if (r < 0)
		lf_store_rollback(s);
	return r;
}

int lf_repo_put(struct lf_store *s, const struct lf_portal_repo_ops *ops, const char *feed,
		const char *name, const void *data, size_t len)
{
	bool bundle;
	int64_t feed_id;
	int r = check_file(feed, name, data, len, &bundle);

	if (r < 0)
		return r;
	r = lf_store_begin(s);
	if (r < 0)
		return r;
	r = lf_repo_feed_ensure(s, feed, &feed_id);
	if (r >= 0)
		r = bundle ? store_blob(s, feed_id, name, data, len)
			   : store_meta(s, feed_id, feed, name, data, len);
	if (r >= 0 && ops && !strcmp(name, "targets.json"))
		r = resign(s, ops, feed, feed_id, true);
	if (r >= 0)
		r = lf_store_commit(s);
	if (r < 0)
		lf_store_rollback(s);
	return r;
}
