/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two ends of an air-gapped transfer that touch the store: writing every
 * feed out in the layout the portal serves (export), and storing verified
 * feeds in one transaction (import, mirror).
 */
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/file.h"

#include "repo.h"
#include "sync.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

int lf_sync_rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

static bool bundle_recorded(struct lf_store *s, const char *feed, json_t *facts)
{
	int64_t n = 0;

	return lf_store_int(s, "SELECT COUNT(*) FROM bundles b JOIN feeds f ON f.id = b.feed_id"
			    " WHERE f.name = $1 AND b.bundle_id = $2", &n, "ss", feed,
			    json_string_value(json_object_get(facts, "id"))) == 0 && n > 0;
}

static int store_feed(struct lf_store *s, struct lf_sync_feed *f)
{
	size_t i;
	json_t *facts;
	int r = 0;

	/* Bundles before the metadata that names them; timestamp last. */
	for (i = 0; r >= 0 && i < f->nfiles; i++)
		if (!strncmp(f->files[i].name, "bundles/", 8))
			r = lf_repo_store_file(s, f->feed, f->files[i].name, f->files[i].data,
					       f->files[i].len);
	for (i = 0; r >= 0 && i < f->nfiles; i++)
		if (strncmp(f->files[i].name, "bundles/", 8))
			r = lf_repo_store_file(s, f->feed, f->files[i].name, f->files[i].data,
					       f->files[i].len);
	/* This feed follows its upstream: the local online keys leave it alone. */
	if (r >= 0)
		r = lf_store_q(s, "INSERT INTO repo_files (feed_id, name, sha256, length, content,"
			       " updated) SELECT id, '" LF_SYNC_MARKER "', '', 0, $1, $2 FROM feeds"
			       " WHERE name = $3 ON CONFLICT (feed_id, name) DO UPDATE SET"
			       " updated = excluded.updated", NULL, NULL, "bis", "", (size_t)0,
			       lf_now(), f->feed);
	json_array_foreach(f->facts, i, facts) {
		if (r < 0)
			break;
		if (!bundle_recorded(s, f->feed, facts))
			r = lf_repo_add_bundle(s, f->feed, facts);
	}
	return r < 0 ? r : 0;
}

int lf_sync_store(struct lf_store *s, struct lf_sync_feed *feeds, size_t n)
{
	int r = lf_store_begin(s);

	for (size_t i = 0; r >= 0 && i < n; i++)
		if (feeds[i].changed)
			r = store_feed(s, &feeds[i]);
	if (r >= 0)
		r = lf_store_commit(s);
	if (r < 0)
		lf_store_rollback(s);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

int lf_sync_dir_feeds(const char *dir, json_t **ret)
{
	DIR *d = opendir(dir);
	json_t *names = json_array();
	struct dirent *e;
	int r = 0;

	if (!d || !names) {
		r = d ? -ENOMEM : -errno;
		goto out;
	}
	while ((e = readdir(d)) && json_array_size(names) < 64)
		if (e->d_type == DT_DIR && lf_repo_valid_feed(e->d_name))
			json_array_append_new(names, json_string(e->d_name));
	/* Readdir order is the file system's: sort, so reports are stable. */
	if (json_array_size(names) > 1) {
		size_t n = json_array_size(names);
		json_t **v = calloc(n, sizeof(*v));

		for (size_t i = 0; v && i < n; i++)
			v[i] = json_incref(json_array_get(names, i));
		if (v) {
			qsort(v, n, sizeof(*v), cmp_names);
			json_array_clear(names);
			for (size_t i = 0; i < n; i++)
				json_array_append_new(names, v[i]);
		}
		free(v);
	}
out:
	if (d)
		closedir(d);
	if (r < 0) {
		json_decref(names);
		return r;
	}
	*ret = names;
	return 0;
}

struct export_ctx {
	const char *root; /* the temporary directory */
	const char *feed;
	int files;
};

/* One stored file out under its served name (targets.json as targets/<feed>.json). */
static int export_row(void *ctx, const struct lf_row *row)
{
	struct export_ctx *c = ctx;
	const char *name = row->vals[0];
	char path[4096], *slash;
	int r;

	if (!strcmp(name, "targets.json"))
		snprintf(path, sizeof(path), "%s/%s/targets/%s.json", c->root, c->feed, c->feed);
	else if (snprintf(path, sizeof(path), "%s/%s/%s", c->root, c->feed, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	slash = strrchr(path, '/');
	*slash = '\0';
	r = lf_mkdir_p(path, 0755);
	*slash = '/';
	if (r == 0)
		r = lf_write_file_atomic(path, row->vals[1], row->lens[1], 0644);
	c->files += r == 0;
	return r;
}

static int feed_row(void *ctx, const struct lf_row *row)
{
	return json_array_append_new(ctx, json_string(row->vals[0])) < 0 ? -ENOMEM : 0;
}

int lf_sync_export(struct lf_store *s, const char *dir, size_t *ret_feeds)
{
	char tmp[4096];
	struct export_ctx c = { tmp, NULL, 0 };
	json_t *feeds = json_array(), *n;
	struct stat st;
	size_t i;
	int r = 0;

	if (!feeds)
		return -ENOMEM;
	if (stat(dir, &st) == 0 || errno != ENOENT) {
		json_decref(feeds);
		return -EEXIST;
	}
	snprintf(tmp, sizeof(tmp), "%s.partial.%d", dir, (int)getpid());
	r = lf_mkdir_p(tmp, 0755);
	if (r == 0)
		r = lf_store_q(s, "SELECT name FROM feeds ORDER BY name", feed_row, feeds, "");
	json_array_foreach(feeds, i, n) {
		if (r < 0)
			break;
		c.feed = json_string_value(n);
		r = lf_store_q(s, "SELECT r.name, r.content FROM repo_files r JOIN feeds f"
			       " ON f.id = r.feed_id WHERE f.name = $1 AND r.name <> '" LF_SYNC_MARKER "'"
			       " ORDER BY r.name",
			       export_row, &c, "s", c.feed);
	}
	/* All or nothing: the directory appears complete, under its name, or not at all. */
	if (r >= 0 && rename(tmp, dir) < 0)
		r = -errno;
	if (r < 0)
		(void)lf_sync_rmtree(tmp);
	if (r >= 0 && ret_feeds)
		*ret_feeds = json_array_size(feeds);
	json_decref(feeds);
	return r < 0 ? r : c.files;
}
