/* SPDX-License-Identifier: Apache-2.0 */
/* Publishing: a build host's signed repository directory and bundle facts. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "livefix/file.h"
#include "livefix/repo_sign.h"

#include "repo.h"

#define MAX_CVES 256

static bool valid_id(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-:+", *s))
			return false;
	return true;
}

static bool valid_severity(const char *s)
{
	static const char *const names[] = { "none", "low", "medium", "high", "critical", "unknown" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s && !strcmp(s, names[i]))
			return true;
	return false;
}

static int add_cves(struct lf_store *s, int64_t bundle_ref, json_t *cves)
{
	size_t i;
	json_t *c;
	int r = 0;

	if (!json_is_array(cves) || json_array_size(cves) > MAX_CVES)
		return -EINVAL;
	json_array_foreach(cves, i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		const char *sev = json_string_value(json_object_get(c, "severity"));

		if (!id || strncmp(id, "CVE-", 4) || !valid_id(id, 32))
			return -EINVAL;
		if (!sev)
			sev = "unknown";
		if (!valid_severity(sev))
			return -EINVAL;
		r = lf_store_q(s, "INSERT INTO bundle_cves (bundle_ref, cve, severity) VALUES ($1, $2, $3)",
			       NULL, NULL, "iss", bundle_ref, id, sev);
		if (r < 0)
			return r;
	}
	return 0;
}

struct facts {
	const char *id, *kind, *sha256, *build_id, *arch, *release;
	json_int_t level;
};

static int read_facts(json_t *meta, struct facts *f)
{
	json_t *target = json_object_get(meta, "target");

	if (!json_is_object(meta) || !json_is_object(target))
		return -EINVAL;
	f->id = json_string_value(json_object_get(meta, "id"));
	f->kind = json_string_value(json_object_get(meta, "kind"));
	f->sha256 = json_string_value(json_object_get(meta, "sha256"));
	f->build_id = json_string_value(json_object_get(target, "build_id"));
	f->arch = json_string_value(json_object_get(target, "arch"));
	f->release = json_string_value(json_object_get(target, "release"));
	f->level = json_integer_value(json_object_get(meta, "level"));
	if (!valid_id(f->id, 128) || !f->kind || (strcmp(f->kind, "kernel") && strcmp(f->kind, "user")))
		return -EINVAL;
	if (!json_is_integer(json_object_get(meta, "level")) || f->level < 0 || f->level > 1000000)
		return -EINVAL;
	if (!f->sha256 || strlen(f->sha256) != 64 || strspn(f->sha256, "0123456789abcdef") != 64)
		return -EINVAL;
	if (!valid_id(f->build_id, 128) || (f->arch && !valid_id(f->arch, 32)) ||
	    (f->release && !valid_id(f->release, 128)))
		return -EINVAL;
	return 0;
}

int lf_repo_add_bundle(struct lf_store *s, const char *feed, json_t *meta)
{
	struct lf_repo_file file;
	struct facts f;
	char name[80];
	int64_t feed_id, ref;
	int r;

	r = read_facts(meta, &f);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "bundles/%s.lfb", f.sha256);
	r = lf_repo_get(s, feed, name, false, &file);
	if (r < 0)
		return r;
	if (json_is_integer(json_object_get(meta, "length")) &&
	    json_integer_value(json_object_get(meta, "length")) != file.length)
		return -EBADMSG;
	r = lf_repo_feed_id(s, feed, &feed_id);
	if (r < 0)
		return r;
	r = lf_store_int(s, "INSERT INTO bundles (bundle_id, feed_id, kind, level, target, target_arch,"
			 " target_release, sha256, length, created)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id", &ref,
			 "sisissssii", f.id, feed_id, f.kind, (int64_t)f.level, f.build_id, f.arch,
			 f.release, f.sha256, file.length, lf_now());
	if (r >= 0 && json_object_get(meta, "cves"))
		r = add_cves(s, ref, json_object_get(meta, "cves"));
	/* Facts that come after the targets withdrew the bundle: withdrawn from the start. */
	if (r >= 0)
		r = lf_repo_withdraw_marked(s, feed);
	return r < 0 ? r : 0;
}

static int put_path(struct lf_store *s, const struct lf_portal_repo_ops *ops, const char *feed,
		    const char *path, const char *name, bool optional)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	r = lf_read_file(path, LF_REPO_MAX_METADATA, &data, &len);
	if (r == -ENOENT && optional)
		return 0;
	if (r < 0)
		return r;
	r = lf_repo_put(s, ops, feed, name, data, len);
	free(data);
	return r;
}

static int put_bundles(struct lf_store *s, const char *feed, const char *dir)
{
	char path[4096], name[80], hex[65];
	unsigned char h[crypto_hash_sha256_BYTES];
	struct dirent *e;
	DIR *d;
	int r = 0, n = 0;

	snprintf(path, sizeof(path), "%s/bundles", dir);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r >= 0 && (e = readdir(d))) {
		size_t len = strlen(e->d_name), dlen;
		char *data;

		if (len < 5 || strcmp(e->d_name + len - 4, ".lfb"))
			continue;
		snprintf(path, sizeof(path), "%s/bundles/%s", dir, e->d_name);
		r = lf_read_file(path, LF_REPO_MAX_BUNDLE, &data, &dlen);
		if (r < 0)
			break;
		crypto_hash_sha256(h, (unsigned char *)data, dlen);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		snprintf(name, sizeof(name), "bundles/%s.lfb", hex);
		r = lf_repo_put(s, NULL, feed, name, data, dlen);
		free(data);
		n++;
	}
	closedir(d);
	return r < 0 ? r : n;
}

/* Every root version (N.root.json), so a device can follow the rotation chain. */
static int put_roots(struct lf_store *s, const char *feed, const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return -errno;
	while (r >= 0 && (e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 11 || strcmp(e->d_name + len - 10, ".root.json") ||
		    !lf_repo_valid_file(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		r = put_path(s, NULL, feed, path, e->d_name, false);
	}
	closedir(d);
	return r;
}

int lf_repo_publish_dir(struct lf_store *s, const struct lf_portal_repo_ops *ops,
			const char *feed, const char *dir, json_t *meta)
{
	char path[4096];
	size_t i;
	json_t *m;
	int r;

	r = put_bundles(s, feed, dir);
	if (r < 0)
		return r;
	/* Snapshot and timestamp first, so re-signing after targets.json wins. */
	snprintf(path, sizeof(path), "%s/snapshot.json", dir);
	r = put_path(s, NULL, feed, path, "snapshot.json", true);
	snprintf(path, sizeof(path), "%s/timestamp.json", dir);
	if (r >= 0)
		r = put_path(s, NULL, feed, path, "timestamp.json", true);
	if (r >= 0)
		r = put_roots(s, feed, dir);
	snprintf(path, sizeof(path), "%s/root.json", dir);
	if (r >= 0)
		r = put_path(s, NULL, feed, path, "root.json", false);
	/* The build host's layout (targets/<feed>.json), or one feed's targets.json. */
	snprintf(path, sizeof(path), "%s/targets/%s.json", dir, feed);
	if (r >= 0 && access(path, F_OK) < 0)
		snprintf(path, sizeof(path), "%s/targets.json", dir);
	if (r >= 0)
		r = put_path(s, ops, feed, path, "targets.json", false);
	if (r < 0 || !meta)
		return r;
	if (json_is_object(meta)) {
		r = lf_repo_add_bundle(s, feed, meta);
		return r < 0 ? r : 1;
	}
	if (!json_is_array(meta))
		return -EINVAL;
	r = lf_store_begin(s);
	if (r < 0)
		return r;
	json_array_foreach(meta, i, m) {
		r = lf_repo_add_bundle(s, feed, m);
		if (r < 0) {
			lf_store_rollback(s);
			return r;
		}
	}
	r = lf_store_commit(s);
	return r < 0 ? r : (int)json_array_size(meta);
}

static int feed_name_row(void *ctx, const struct lf_row *row)
{
	json_t *names = ctx;

	return json_array_append_new(names, json_string(row->vals[0])) < 0 ? -ENOMEM : 0;
}

/* A snapshot that would expire before the refresh after next is re-signed too. */
static bool snapshot_due(struct lf_store *s, const char *feed, unsigned every)
{
	struct lf_repo_file snap;
	int64_t v, expires;
	bool due;

	if (lf_repo_get(s, feed, "snapshot.json", true, &snap) < 0)
		return false;
	due = lf_meta_peek(snap.content, (size_t)snap.length, &v, &expires) == 0 &&
	      expires < lf_now() + 2 * (int64_t)every;
	lf_repo_file_release(&snap);
	return due;
}

int lf_repo_refresh_timestamps(struct lf_store *s, const struct lf_portal_repo_ops *ops)
{
	json_t *names = json_array(), *n;
	size_t i;
	int r;

	if (!names)
		return -ENOMEM;
	r = lf_store_q(s, "SELECT name FROM feeds ORDER BY id", feed_name_row, names, "");
	json_array_foreach(names, i, n) {
		const char *feed = json_string_value(n);
		struct lf_repo_file snap;

		if (r < 0)
			break;
		if (lf_repo_get(s, feed, "snapshot.json", false, &snap) < 0)
			continue; /* nothing published yet */
		if (lf_repo_get(s, feed, ".upstream", false, &snap) == 0)
			continue; /* imported or mirrored: served as its upstream signed it */
		r = lf_repo_resign(s, ops, feed, snapshot_due(s, feed, ops->refresh_interval));
	}
	json_decref(names);
	return r;
}
