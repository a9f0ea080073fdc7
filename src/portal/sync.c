/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verified transfer of feeds between portals: the TUF client over an export
 * directory or an upstream portal, then the verified files staged in memory
 * and stored in one transaction. See sync.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/bundle.h"
#include "livefix/file.h"
#include "livefix/http.h"
#include "livefix/tuf.h"

#include "sync.h"

/* ---- the transports: a directory or HTTPS, with the same bounds ---- */

static int dir_get(struct lf_sync_source *src, const char *feed, const char *name, size_t max,
		   struct lf_buf *out)
{
	struct stat st;
	char *path, *data;
	size_t len;
	int fd, r;

	if (asprintf(&path, "%s/%s/%s", src->dir, feed, name) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EIO;
	}
	r = lf_read_fd(fd, max, &data, &len); /* at most max + 1 bytes */
	close(fd);
	if (r < 0)
		return r;
	src->bytes += len;
	lf_buf_reset(out);
	r = lf_buf_append(out, data, len);
	free(data);
	return r;
}

static int http_get(struct lf_sync_source *src, const char *feed, const char *name, size_t max,
		    unsigned flags, struct lf_buf *out, struct lf_why *why)
{
	struct lf_http_opts o = {
		.max = max, .exact = flags & LF_FETCH_EXACT, .min_rate = 1024,
		.min_rate_time = 30, .timeout = 600, .ca_file = src->ca_file, .bearer = src->bearer,
	};
	struct lf_http_result res = { 0 };
	char *url;
	int r;

	if (asprintf(&url, "%s/repo/%s/%s", src->url, feed, name) < 0)
		return -ENOMEM;
	r = lf_http_get(url, &o, out, &res);
	src->bytes += res.bytes;
	if (r < 0 && r != -ENOENT)
		lf_why_set(why, "%s: %s", url, res.error[0] ? res.error : strerror(-r));
	free(url);
	return r;
}

struct fetch_ctx {
	struct lf_sync_source *src;
	const char *feed;
};

static int sync_get(void *ctx, const char *name, size_t max, unsigned flags, char *etag,
		    size_t etag_size, struct lf_buf *out, struct lf_why *why)
{
	struct fetch_ctx *c = ctx;
	size_t saved = out->max;
	int r;

	if (!lf_is_repo_path(name))
		return lf_why_set(why, "%s: not a repository path", name), -EINVAL;
	if (etag && etag_size)
		etag[0] = '\0'; /* always the whole file: a transfer is not a poll */
	out->max = max + 1;
	r = c->src->url ? http_get(c->src, c->feed, name, max, flags, out, why)
			: dir_get(c->src, c->feed, name, max, out);
	out->max = saved;
	if (r == 0 && out->len > max)
		r = -EOVERFLOW;
	if (r == -EOVERFLOW)
		lf_why_set(why, "%s: longer than %zu bytes (endless data)", name, max);
	return r;
}

/* ---- staging ---- */

void lf_sync_feed_release(struct lf_sync_feed *f)
{
	for (size_t i = 0; i < f->nfiles; i++)
		free(f->files[i].data);
	free(f->files);
	json_decref(f->facts);
	memset(f, 0, sizeof(*f));
}

static int stage(struct lf_sync_feed *f, const char *name, const void *data, size_t len)
{
	struct lf_sync_file *n = realloc(f->files, (f->nfiles + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	f->files = n;
	n = &f->files[f->nfiles];
	if (snprintf(n->name, sizeof(n->name), "%s", name) >= (int)sizeof(n->name))
		return -ENAMETOOLONG;
	n->data = malloc(len ? len : 1);
	if (!n->data)
		return -ENOMEM;
	memcpy(n->data, data, len);
	n->len = len;
	f->nfiles++;
	return 0;
}

/* The facts the portal keeps of a bundle, from its verified manifest. */
static int stage_facts(struct lf_sync_feed *f, const struct lf_bundle *b, const char *sha256,
		       int64_t length)
{
	const struct lf_identity *t = &b->m.target;
	json_t *cves = json_array(), *o;

	for (size_t i = 0; cves && i < b->m.ncves; i++)
		json_array_append_new(cves, json_pack("{s:s,s:s}", "id", b->m.cves[i].id,
						      "severity", b->m.cves[i].severity));
	o = json_pack("{s:s,s:s,s:I,s:s,s:I,s:{s:s,s:s,s:s},s:o}", "id", b->m.id, "kind",
		      lf_kind_name(t->kind), "level", (json_int_t)b->m.level, "sha256", sha256,
		      "length", (json_int_t)length, "target", "build_id", t->build_id, "arch",
		      t->arch, "release", t->release, "cves", cves);
	if (!o)
		return -ENOMEM;
	return json_array_append_new(f->facts, o) < 0 ? -ENOMEM : 0;
}

/* Every target of the feed: fetched, hash- and signature-checked, staged. */
static int stage_bundles(struct lf_store *s, struct lf_tuf *t, const struct lf_fetcher *fe,
			 struct lf_sync_feed *f, struct lf_why *why)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < t->targets.n; i++) {
		const struct lf_target *tg = &t->targets.t[i];
		struct lf_buf data = LF_BUF_INIT((size_t)tg->length);
		struct lf_repo_file file;
		struct lf_bundle b;
		char name[LF_REPO_NAME_MAX];

		snprintf(name, sizeof(name), "bundles/%s.lfb", tg->sha256);
		if (strcmp(tg->name, name)) {
			lf_why_set(why, "targets: %s is not named bundles/<sha256>.lfb", tg->name);
			r = -EBADMSG;
			break;
		}
		if (lf_repo_get(s, f->feed, name, false, &file) == 0) {
			lf_buf_release(&data);
			continue; /* named by its hash: we have these bytes, and their facts */
		}
		r = lf_tuf_fetch_bundle(t, fe, tg, &data, &b, why);
		if (r == 0) {
			r = stage(f, name, data.data, data.len);
			if (r == 0)
				r = stage_facts(f, &b, tg->sha256, tg->length);
			lf_bundle_release(&b);
			f->nbundles++;
		}
		lf_buf_release(&data);
	}
	return r;
}

/* ---- the trusted starting point ---- */

static int write_trusted(const char *trust, const char *name, struct lf_store *s,
			 const char *feed, const char *stored)
{
	struct lf_repo_file file;
	char path[4096];
	int r = lf_repo_get(s, feed, stored, true, &file);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", trust, name);
	r = lf_write_file_atomic(path, file.content, (size_t)file.length, 0600);
	lf_repo_file_release(&file);
	return r;
}

/*
 * The client's state: the root this portal trusts for the feed, and the
 * timestamp, snapshot and targets it serves now, so anything older is
 * refused as a rollback exactly as a device would refuse it.
 */
static int prepare_state(struct lf_store *s, const char *feed, const char *root_file,
			 const char *state, struct lf_buf *ret_root, struct lf_why *why)
{
	struct lf_repo_file root;
	char trust[4096], *data = NULL;
	size_t len = 0;
	int r = lf_repo_get(s, feed, "root.json", true, &root);

	if (r == 0) {
		data = (char *)root.content;
		len = (size_t)root.length;
		root.content = NULL;
	} else if (r == -ENOENT && root_file) {
		r = lf_read_file(root_file, LF_ROOT_MAX, &data, &len);
		if (r < 0)
			lf_why_set(why, "%s: %s", root_file, strerror(-r));
	} else if (r == -ENOENT) {
		lf_why_set(why, "feed %s: this portal trusts no root for it yet (give --root "
			   "ROOT.json, the root its devices pin)", feed);
		r = -ENOKEY;
	}
	lf_repo_file_release(&root);
	if (r == 0)
		r = lf_tuf_pin_root(state, data, len, true, why);
	if (r == 0)
		r = lf_buf_append(ret_root, data, len);
	free(data);
	snprintf(trust, sizeof(trust), "%s/trust/targets", state);
	if (r == 0)
		r = lf_mkdir_p(trust, 0700);
	snprintf(trust, sizeof(trust), "%s/trust", state);
	if (r == 0)
		r = write_trusted(trust, "timestamp.json", s, feed, "timestamp.json");
	if (r == 0)
		r = write_trusted(trust, "snapshot.json", s, feed, "snapshot.json");
	snprintf(trust, sizeof(trust), "%s/trust/targets", state);
	if (r == 0) {
		char name[LF_REPO_NAME_MAX];

		snprintf(name, sizeof(name), "%s.json", feed);
		r = write_trusted(trust, name, s, feed, "targets.json");
	}
	return r;
}

/*
 * The offered root.json must be the trusted root or one reached from it by
 * signed N.root.json steps. Checked before the client runs, so that a root
 * of another device maker or an older root gets one clear error.
 */
static int check_offered_root(const struct lf_buf *trusted, const struct lf_buf *offered,
			      struct lf_why *why)
{
	struct lf_root *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	int r = a && b ? 0 : -ENOMEM;

	if (r == 0 && trusted->len == offered->len &&
	    !memcmp(trusted->data, offered->data, offered->len))
		goto out;
	if (r == 0)
		r = lf_root_verify_next(trusted->data, trusted->len, NULL, a, why);
	if (r == 0 && lf_root_verify_next(offered->data, offered->len, NULL, b, why) < 0) {
		lf_why_set(why, "root.json: not a valid self-signed root");
		r = -EBADMSG;
	}
	if (r == 0 && b->h.version < a->h.version) {
		lf_why_set(why, "root.json: version %lld is older than the trusted version %lld "
			   "(rollback refused)", (long long)b->h.version, (long long)a->h.version);
		r = -ESTALE;
	} else if (r == 0 && b->h.version == a->h.version) {
		lf_why_set(why, "root.json: version %lld is not the root this portal trusts "
			   "(foreign root refused)", (long long)b->h.version);
		r = -EKEYREJECTED;
	}
out:
	free(a);
	free(b);
	return r;
}

static bool same_bytes(const struct lf_buf *a, const struct lf_buf *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static int stage_meta(struct lf_tuf *t, const struct lf_buf *trusted, struct lf_sync_feed *f)
{
	int64_t first = t->root.h.version - (int64_t)t->nnew_roots;
	char name[48];
	int r;

	/* Every root from the trusted one on, so devices can walk the chain. */
	snprintf(name, sizeof(name), "%lld.root.json", (long long)first);
	r = stage(f, name, trusted->data, trusted->len);
	for (size_t i = 0; r == 0 && i < t->nnew_roots; i++) {
		snprintf(name, sizeof(name), "%lld.root.json", (long long)(first + 1 + (int64_t)i));
		r = stage(f, name, t->new_roots[i].data, t->new_roots[i].len);
	}
	if (r == 0)
		r = t->nnew_roots ? stage(f, "root.json", t->new_roots[t->nnew_roots - 1].data,
					  t->new_roots[t->nnew_roots - 1].len)
				  : stage(f, "root.json", trusted->data, trusted->len);
	if (r == 0)
		r = stage(f, "targets.json", t->targets_doc.raw.data, t->targets_doc.raw.len);
	if (r == 0)
		r = stage(f, "snapshot.json", t->snap_doc.raw.data, t->snap_doc.raw.len);
	if (r == 0)
		r = stage(f, "timestamp.json", t->ts_doc.raw.data, t->ts_doc.raw.len);
	f->root_version = t->root.h.version;
	f->timestamp_version = t->ts.h.version;
	f->targets_version = t->targets.h.version;
	return r;
}

int lf_sync_verify_feed(struct lf_store *s, struct lf_sync_source *src, const char *feed,
			const char *root_file, const char *workdir, struct lf_sync_feed *ret,
			struct lf_why *why)
{
	struct fetch_ctx fc = { src, feed };
	struct lf_fetcher fe = { sync_get, &fc };
	struct lf_buf trusted = LF_BUF_INIT(LF_ROOT_MAX), offered = LF_BUF_INIT(LF_ROOT_MAX);
	struct lf_tuf *t = calloc(1, sizeof(*t));
	char state[4096];
	int r;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->feed, sizeof(ret->feed), "%s", feed);
	ret->facts = json_array();
	if (!t || !ret->facts || !lf_repo_valid_feed(feed)) {
		free(t);
		return !lf_repo_valid_feed(feed) ? -EINVAL : -ENOMEM;
	}
	snprintf(state, sizeof(state), "%s/%s", workdir, feed);
	r = prepare_state(s, feed, root_file, state, &trusted, why);
	if (r == 0)
		r = sync_get(&fc, "root.json", LF_ROOT_MAX, 0, NULL, 0, &offered, why);
	if (r == -ENOENT)
		lf_why_set(why, "feed %s: no root.json offered", feed);
	if (r == 0)
		r = check_offered_root(&trusted, &offered, why);
	if (r == 0)
		r = lf_tuf_open(t, state, feed, why);
	if (r == 0) {
		r = lf_tuf_update(t, &fe, why);
		if (r == 0 && !same_bytes(&offered, t->nnew_roots ? &t->new_roots[t->nnew_roots - 1]
								  : &trusted)) {
			lf_why_set(why, "root.json: version offered is not reached from the trusted "
				   "root by signed N.root.json files (foreign root refused)");
			r = -EKEYREJECTED;
		}
		ret->changed = t->nnew_roots || t->ts_doc.dirty || t->snap_doc.dirty ||
			       t->targets_doc.dirty;
		if (r == 0 && ret->changed)
			r = stage_meta(t, &trusted, ret);
		if (r == 0 && ret->changed)
			r = stage_bundles(s, t, &fe, ret, why);
		lf_tuf_close(t);
	}
	free(t);
	lf_buf_release(&trusted);
	lf_buf_release(&offered);
	if (r < 0)
		lf_sync_feed_release(ret);
	return r;
}
