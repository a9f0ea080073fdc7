/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TUF client workflow. Trusted metadata lives in <state>/trust/:
 *
 *   root.json  N.root.json (history)  timestamp.json  timestamp.etag
 *   snapshot.json  targets/<feed>.json
 *
 * lf_tuf_update() verifies everything new in memory, in the order of the
 * TUF specification (root chain, timestamp, snapshot, targets), and
 * lf_tuf_commit() writes it afterwards, each file atomically. A refused
 * update therefore leaves the state exactly as it was. Every file written is
 * individually verified, so a power cut between two writes leaves an older
 * but still trusted set, which the next update moves forward again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "livefix/file.h"
#include "livefix/tuf.h"

static int path_in(const struct lf_tuf *t, const char *name, char **ret)
{
	return asprintf(ret, "%s/%s", t->dir, name) < 0 ? -ENOMEM : 0;
}

static int read_state(const struct lf_tuf *t, const char *name, size_t max, struct lf_buf *out)
{
	char *path, *data;
	size_t len;
	int r = path_in(t, name, &path);

	if (r < 0)
		return r;
	r = lf_read_file(path, max, &data, &len);
	free(path);
	if (r < 0)
		return r;
	lf_buf_reset(out);
	r = lf_buf_append(out, data, len);
	free(data);
	return r;
}

static int write_state(const struct lf_tuf *t, const char *name, const void *data, size_t len)
{
	char *path;
	int r = path_in(t, name, &path);

	if (r < 0)
		return r;
	r = lf_write_file_atomic(path, data, len, 0644);
	free(path);
	return r;
}

static int check_fresh(const struct lf_meta_head *h, int64_t now, struct lf_why *why)
{
	char when[21];

	if (h->expires > now)
		return 0;
	lf_time_format(h->expires, when);
	lf_why_set(why, "%s version %lld expired at %s (freeze attack or stale repository)",
		   lf_role_name(h->type), (long long)h->version, when);
	return -ESTALE;
}

static int check_rollback(const struct lf_meta_head *h, int64_t trusted, struct lf_why *why)
{
	if (h->version >= trusted)
		return 0;
	lf_why_set(why, "%s version %lld is older than trusted version %lld (rollback attack)",
		   lf_role_name(h->type), (long long)h->version, (long long)trusted);
	return -ESTALE;
}

int lf_tuf_pin_root(const char *state_dir, const char *data, size_t len, bool force,
		    struct lf_why *why)
{
	struct lf_tuf t = { 0 };
	struct lf_root *root = calloc(1, sizeof(*root));
	char *path = NULL, name[32];
	struct stat st;
	int r;

	if (!root)
		return -ENOMEM;
	r = lf_root_verify_next(data, len, NULL, root, why);
	if (r < 0)
		goto out;
	r = check_fresh(&root->h, lf_time_now(), why);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	if (asprintf(&t.dir, "%s/trust", state_dir) < 0)
		goto out;
	r = lf_mkdir_p(t.dir, 0755);
	if (r < 0)
		goto out;
	r = path_in(&t, "root.json", &path);
	if (r == 0 && !force && stat(path, &st) == 0) {
		lf_why_set(why, "a root is already pinned in %s (use --force to replace it)", t.dir);
		r = -EEXIST;
	}
	snprintf(name, sizeof(name), "%lld.root.json", (long long)root->h.version);
	if (r == 0)
		r = write_state(&t, name, data, len);
	if (r == 0)
		r = write_state(&t, "root.json", data, len);
out:
	free(path);
	free(t.dir);
	free(root);
	return r;
}

/*
 * Loads a trusted document if present. One that no longer verifies (its
 * role's keys were rotated) is forgotten, as TUF prescribes.
 */
static void load_trusted(struct lf_tuf *t, const char *name, size_t max, enum lf_role role,
			 struct lf_tuf_doc *doc, void *parsed)
{
	if (read_state(t, name, max, &doc->raw) < 0)
		return;
	if (lf_meta_verify(doc->raw.data, doc->raw.len, &t->root, role, parsed, NULL) < 0) {
		lf_buf_reset(&doc->raw);
		return;
	}
	doc->have = true;
}

static void targets_name(const char *feed, char *out, size_t size)
{
	snprintf(out, size, "targets/%s.json", feed);
}

int lf_tuf_open(struct lf_tuf *t, const char *state_dir, const char *feed, struct lf_why *why)
{
	struct lf_buf raw = LF_BUF_INIT(LF_ROOT_MAX);
	char tname[LF_NAME_MAX + 16], *etag_path;
	int r;

	memset(t, 0, sizeof(*t));
	lf_buf_init(&t->ts_doc.raw, LF_TIMESTAMP_MAX);
	lf_buf_init(&t->snap_doc.raw, LF_SNAPSHOT_MAX);
	lf_buf_init(&t->targets_doc.raw, LF_TARGETS_MAX);
	t->now = lf_time_now();
	if (!lf_is_id(feed))
		return lf_why_set(why, "feed name '%s' is invalid", feed), -EINVAL;
	strcpy(t->feed, feed);
	if (asprintf(&t->dir, "%s/trust", state_dir) < 0)
		return -ENOMEM;
	r = read_state(t, "root.json", LF_ROOT_MAX, &raw);
	if (r == -ENOENT)
		lf_why_set(why, "no trusted root in %s (run 'livefix trust init ROOT.json')", t->dir);
	/* Our own state: it was verified when pinned, verify again anyway
	 * (self-signed, not against a predecessor). */
	if (r == 0)
		r = lf_root_verify_next(raw.data, raw.len, NULL, &t->root, why);
	lf_buf_release(&raw);
	if (r < 0)
		return r;
	load_trusted(t, "timestamp.json", LF_TIMESTAMP_MAX, LF_ROLE_TIMESTAMP, &t->ts_doc, &t->ts);
	load_trusted(t, "snapshot.json", LF_SNAPSHOT_MAX, LF_ROLE_SNAPSHOT, &t->snap_doc, &t->snap);
	targets_name(feed, tname, sizeof(tname));
	load_trusted(t, tname, LF_TARGETS_MAX, LF_ROLE_TARGETS, &t->targets_doc, &t->targets);
	if (t->targets_doc.have && strcmp(t->targets.feed, feed) != 0)
		t->targets_doc.have = false;
	if (t->ts_doc.have && path_in(t, "timestamp.etag", &etag_path) == 0) {
		if (lf_read_line(etag_path, t->etag, sizeof(t->etag)) < 0)
			t->etag[0] = '\0';
		free(etag_path);
	}
	return 0;
}

void lf_tuf_close(struct lf_tuf *t)
{
	for (size_t i = 0; i < t->nnew_roots; i++)
		lf_buf_release(&t->new_roots[i]);
	lf_buf_release(&t->ts_doc.raw);
	lf_buf_release(&t->snap_doc.raw);
	lf_buf_release(&t->targets_doc.raw);
	lf_targets_release(&t->targets);
	free(t->dir);
	t->dir = NULL;
}

static bool same_role_keys(const struct lf_role_keys *a, const struct lf_role_keys *b)
{
	if (a->nkeys != b->nkeys || a->threshold != b->threshold)
		return false;
	for (size_t i = 0; i < a->nkeys; i++)
		if (strcmp(a->keyids[i], b->keyids[i]) != 0)
			return false;
	return true;
}

/*
 * After a rotation, trusted documents signed under the old root are kept as
 * rollback baselines but never reused: one that does not verify under the
 * new root is fetched again and must.
 */
static void recheck_trusted(struct lf_tuf *t)
{
	struct lf_tuf_doc *docs[] = { &t->ts_doc, &t->snap_doc, &t->targets_doc };
	enum lf_role roles[] = { LF_ROLE_TIMESTAMP, LF_ROLE_SNAPSHOT, LF_ROLE_TARGETS };

	for (int i = 0; i < 3; i++) {
		union {
			struct lf_timestamp ts;
			struct lf_snapshot snap;
			struct lf_targets targets;
		} *tmp = calloc(1, sizeof(*tmp));

		if (!tmp || !docs[i]->have ||
		    lf_meta_verify(docs[i]->raw.data, docs[i]->raw.len, &t->root, roles[i], tmp,
				   NULL) < 0)
			docs[i]->stale = true;
		if (tmp && roles[i] == LF_ROLE_TARGETS && docs[i]->have && !docs[i]->stale)
			lf_targets_release(&tmp->targets);
		free(tmp);
	}
	if (t->ts_doc.stale)
		t->etag[0] = '\0';
}

static int update_root(struct lf_tuf *t, const struct lf_fetcher *f, struct lf_why *why)
{
	struct lf_root *next = calloc(1, sizeof(*next));
	int r = 0;

	if (!next)
		return -ENOMEM;
	while (t->nnew_roots < LF_MAX_ROOT_ROTATIONS) {
		struct lf_buf *raw = &t->new_roots[t->nnew_roots];
		char name[32];

		lf_buf_init(raw, LF_ROOT_MAX);
		snprintf(name, sizeof(name), "%lld.root.json", (long long)t->root.h.version + 1);
		r = f->get(f->ctx, name, LF_ROOT_MAX, 0, NULL, 0, raw, why);
		if (r == -ENOENT) {
			lf_buf_release(raw);
			r = 0;
			break;
		}
		if (r == 0)
			r = lf_root_verify_next(raw->data, raw->len, &t->root, next, why);
		if (r < 0) {
			lf_buf_release(raw);
			break;
		}
		t->nnew_roots++;
		/* New timestamp or snapshot keys: forget what the old ones
		 * signed, so a compromised key's inflated versions cannot
		 * block the recovery (TUF 5.3.11). */
		if (!same_role_keys(&next->roles[LF_ROLE_TIMESTAMP], &t->root.roles[LF_ROLE_TIMESTAMP]) ||
		    !same_role_keys(&next->roles[LF_ROLE_SNAPSHOT], &t->root.roles[LF_ROLE_SNAPSHOT])) {
			t->ts_doc.have = t->snap_doc.have = false;
			t->etag[0] = '\0';
		}
		t->root = *next;
	}
	free(next);
	if (r == 0 && t->nnew_roots > 0)
		recheck_trusted(t);
	if (r == 0)
		r = check_fresh(&t->root.h, t->now, why);
	return r;
}

/* Replaces a trusted document by a newly verified one (written at commit). */
static int adopt(struct lf_tuf_doc *doc, struct lf_buf *raw)
{
	lf_buf_reset(&doc->raw);
	if (lf_buf_append(&doc->raw, raw->data, raw->len) < 0)
		return -ENOMEM;
	doc->have = doc->dirty = true;
	doc->stale = false;
	return 0;
}

static int update_timestamp(struct lf_tuf *t, const struct lf_fetcher *f, struct lf_why *why)
{
	struct lf_buf raw = LF_BUF_INIT(LF_TIMESTAMP_MAX);
	struct lf_timestamp next;
	char etag[LF_ETAG_MAX];
	int r;

	snprintf(etag, sizeof(etag), "%s", t->ts_doc.have ? t->etag : "");
	r = f->get(f->ctx, "timestamp.json", LF_TIMESTAMP_MAX, 0, etag, sizeof(etag), &raw, why);
	if (r == 1) {
		/* Not modified: the trusted copy must still be fresh. */
		lf_buf_release(&raw);
		if (!t->ts_doc.have)
			return lf_why_set(why, "timestamp: server says not modified, none trusted"),
			       -EBADMSG;
		return check_fresh(&t->ts.h, t->now, why);
	}
	if (r == -ENOENT)
		lf_why_set(why, "timestamp.json: not found in the repository");
	if (r == 0)
		r = lf_meta_verify(raw.data, raw.len, &t->root, LF_ROLE_TIMESTAMP, &next, why);
	if (r == 0 && t->ts_doc.have) {
		r = check_rollback(&next.h, t->ts.h.version, why);
		if (r == 0 && next.snapshot.version < t->ts.snapshot.version) {
			lf_why_set(why, "timestamp names snapshot version %lld, older than trusted "
				   "%lld (rollback attack)", (long long)next.snapshot.version,
				   (long long)t->ts.snapshot.version);
			r = -ESTALE;
		}
	}
	if (r == 0)
		r = check_fresh(&next.h, t->now, why);
	if (r == 0 && (!t->ts_doc.have || raw.len != t->ts_doc.raw.len ||
		       memcmp(raw.data, t->ts_doc.raw.data, raw.len) != 0)) {
		r = adopt(&t->ts_doc, &raw);
		t->ts = next;
	}
	if (r == 0)
		t->ts_doc.stale = false; /* verified under the current root just now */
	if (r == 0)
		memcpy(t->etag, etag, sizeof(etag));
	lf_buf_release(&raw);
	return r;
}

static bool matches(const struct lf_tuf_doc *doc, const struct lf_metafile *m)
{
	char hex[LF_SHA256_HEX + 1];

	if (!doc->have || doc->stale || doc->raw.len != (size_t)m->length)
		return false;
	lf_sha256_hex(doc->raw.data, doc->raw.len, hex);
	return strcmp(hex, m->sha256) == 0;
}

/*
 * Fetches a file whose length and hash a verified document declared, under
 * its own name or, with consistent snapshots, its version-numbered one.
 */
static int fetch_declared(const struct lf_fetcher *f, const struct lf_metafile *m,
			  const char *path, const char *what, struct lf_buf *raw,
			  struct lf_why *why)
{
	char hex[LF_SHA256_HEX + 1];
	int r = f->get(f->ctx, path ? path : m->name, (size_t)m->length, LF_FETCH_EXACT, NULL, 0,
		       raw, why);

	if (r == -ENOENT)
		lf_why_set(why, "%s: not found in the repository", m->name);
	if (r < 0)
		return r;
	lf_sha256_hex(raw->data, raw->len, hex);
	if (raw->len != (size_t)m->length || strcmp(hex, m->sha256) != 0)
		return lf_why_set(why, "%s: %zu bytes with hash %.16s… does not match the one %s "
				  "declares (tampered content or mix-and-match attack)", m->name,
				  raw->len, hex, what), -EBADMSG;
	return 0;
}

static int update_snapshot(struct lf_tuf *t, const struct lf_fetcher *f, struct lf_why *why)
{
	struct lf_buf raw = LF_BUF_INIT(LF_SNAPSHOT_MAX);
	struct lf_snapshot *next;
	char path[48];
	int r;

	if (matches(&t->snap_doc, &t->ts.snapshot))
		return check_fresh(&t->snap.h, t->now, why);
	next = calloc(1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%lld.snapshot.json", (long long)t->ts.snapshot.version);
	r = fetch_declared(f, &t->ts.snapshot, t->root.consistent_snapshot ? path : NULL,
			   "timestamp", &raw, why);
	if (r == 0)
		r = lf_meta_verify(raw.data, raw.len, &t->root, LF_ROLE_SNAPSHOT, next, why);
	if (r == 0 && next->h.version != t->ts.snapshot.version) {
		lf_why_set(why, "snapshot version %lld is not the version %lld timestamp declares "
			   "(mix-and-match attack)", (long long)next->h.version,
			   (long long)t->ts.snapshot.version);
		r = -EBADMSG;
	}
	if (r == 0 && t->snap_doc.have) {
		r = check_rollback(&next->h, t->snap.h.version, why);
		/* No feed may go back in time or disappear. */
		for (size_t i = 0; r == 0 && i < t->snap.n; i++) {
			const struct lf_metafile *old = &t->snap.meta[i];
			const struct lf_metafile *m = lf_snapshot_find(next, old->name);

			if (!m || m->version < old->version) {
				lf_why_set(why, "snapshot: %s version %lld is older than trusted %lld "
					   "(rollback attack)", old->name,
					   (long long)(m ? m->version : 0), (long long)old->version);
				r = -ESTALE;
			}
		}
	}
	if (r == 0)
		r = check_fresh(&next->h, t->now, why);
	if (r == 0) {
		r = adopt(&t->snap_doc, &raw);
		t->snap = *next;
	}
	free(next);
	lf_buf_release(&raw);
	return r;
}

static int update_targets(struct lf_tuf *t, const struct lf_fetcher *f, struct lf_why *why)
{
	struct lf_buf raw = LF_BUF_INIT(LF_TARGETS_MAX);
	struct lf_targets next = { 0 };
	char name[LF_NAME_MAX + 16], path[LF_ID_MAX + 32];
	const struct lf_metafile *m;
	int r;

	targets_name(t->feed, name, sizeof(name));
	m = lf_snapshot_find(&t->snap, name);
	if (!m)
		return lf_why_set(why, "feed '%s' is not in the repository", t->feed), -ENOENT;
	if (matches(&t->targets_doc, m))
		return check_fresh(&t->targets.h, t->now, why);
	snprintf(path, sizeof(path), "targets/%s/%lld.json", t->feed, (long long)m->version);
	r = fetch_declared(f, m, t->root.consistent_snapshot ? path : NULL, "snapshot", &raw, why);
	if (r == 0)
		r = lf_meta_verify(raw.data, raw.len, &t->root, LF_ROLE_TARGETS, &next, why);
	if (r == 0 && (next.h.version != m->version || strcmp(next.feed, t->feed) != 0)) {
		lf_why_set(why, "targets: version %lld of feed '%s' is not version %lld of feed "
			   "'%s' that snapshot declares (mix-and-match attack)",
			   (long long)next.h.version, next.feed, (long long)m->version, t->feed);
		r = -EBADMSG;
	}
	if (r == 0 && t->targets_doc.have)
		r = check_rollback(&next.h, t->targets.h.version, why);
	if (r == 0)
		r = check_fresh(&next.h, t->now, why);
	if (r == 0) {
		r = adopt(&t->targets_doc, &raw);
		lf_targets_release(&t->targets);
		t->targets = next;
		next.t = NULL;
	}
	lf_targets_release(&next);
	lf_buf_release(&raw);
	return r;
}

int lf_tuf_update(struct lf_tuf *t, const struct lf_fetcher *f, struct lf_why *why)
{
	int r = update_root(t, f, why);

	if (r == 0)
		r = update_timestamp(t, f, why);
	if (r == 0)
		r = update_snapshot(t, f, why);
	if (r == 0)
		r = update_targets(t, f, why);
	return r;
}

/*
 * Order: roots first (the keys everything else is checked with), then
 * targets, snapshot and timestamp last. Each step is verified on its own at
 * the next open, so a power cut between writes is harmless.
 */
int lf_tuf_commit(struct lf_tuf *t)
{
	char name[LF_NAME_MAX + 16], *sub;
	int r = 0;

	for (size_t i = 0; r == 0 && i < t->nnew_roots; i++) {
		struct lf_buf *raw = &t->new_roots[i];

		snprintf(name, sizeof(name), "%lld.root.json",
			 (long long)t->root.h.version - (long long)(t->nnew_roots - 1 - i));
		r = write_state(t, name, raw->data, raw->len);
		if (r == 0)
			r = write_state(t, "root.json", raw->data, raw->len);
		if (r == 0 && t->step_hook)
			t->step_hook("commit-root");
	}
	if (r == 0 && t->targets_doc.dirty) {
		if (asprintf(&sub, "%s/targets", t->dir) < 0)
			return -ENOMEM;
		r = lf_mkdir_p(sub, 0755);
		free(sub);
		targets_name(t->feed, name, sizeof(name));
		if (r == 0)
			r = write_state(t, name, t->targets_doc.raw.data, t->targets_doc.raw.len);
		if (r == 0 && t->step_hook)
			t->step_hook("commit-targets");
	}
	if (r == 0 && t->snap_doc.dirty) {
		r = write_state(t, "snapshot.json", t->snap_doc.raw.data, t->snap_doc.raw.len);
		if (r == 0 && t->step_hook)
			t->step_hook("commit-snapshot");
	}
	if (r == 0 && t->ts_doc.dirty) {
		r = write_state(t, "timestamp.json", t->ts_doc.raw.data, t->ts_doc.raw.len);
		if (r == 0 && t->step_hook)
			t->step_hook("commit-timestamp");
		if (r == 0)
			r = write_state(t, "timestamp.etag", t->etag, strlen(t->etag));
	}
	if (r == 0)
		t->targets_doc.dirty = t->snap_doc.dirty = t->ts_doc.dirty = false;
	return r;
}

const struct lf_target *lf_tuf_select(const struct lf_tuf *t, const struct lf_identity *sys)
{
	const struct lf_target *best = NULL;

	for (size_t i = 0; i < t->targets.n; i++) {
		const struct lf_target *tg = &t->targets.t[i];

		if (!tg->withdrawn && lf_identity_match(&tg->ident, sys, NULL) == 0 &&
		    (!best || tg->level > best->level))
			best = tg;
	}
	return best;
}

const struct lf_target *lf_tuf_find(const struct lf_tuf *t, const char *sha256)
{
	for (size_t i = 0; i < t->targets.n; i++)
		if (!strcmp(t->targets.t[i].sha256, sha256))
			return &t->targets.t[i];
	return NULL;
}

int lf_tuf_verify_bundle(const struct lf_root *root, const struct lf_bundle *b,
			 struct lf_why *why)
{
	int r = lf_bundle_verify(b, &root->ring, &root->roles[LF_ROLE_TARGETS], why);

	return r < 0 ? r : lf_bundle_check_payloads(b, why);
}

int lf_tuf_fetch_bundle(const struct lf_tuf *t, const struct lf_fetcher *f,
			const struct lf_target *tg, struct lf_buf *data, struct lf_bundle *ret,
			struct lf_why *why)
{
	struct lf_metafile m = { .version = 1, .length = tg->length };
	int r;

	if (tg->withdrawn)
		return lf_why_set(why, "bundle %s was withdrawn by the targets keys", tg->id),
		       -EKEYREJECTED;
	strcpy(m.name, tg->name);
	strcpy(m.sha256, tg->sha256);
	data->max = (size_t)tg->length;
	r = fetch_declared(f, &m, NULL, "targets", data, why);
	if (r < 0)
		return r;
	r = lf_bundle_parse(data->data, data->len, ret, why);
	if (r < 0)
		return r;
	r = lf_tuf_verify_bundle(&t->root, ret, why);
	/* The bundle must be what targets says it is. */
	if (r == 0 && (strcmp(ret->m.id, tg->id) != 0 || ret->m.level != tg->level ||
		       !lf_identity_equal(&ret->m.target, &tg->ident))) {
		lf_why_set(why, "bundle %s: manifest disagrees with its targets entry", tg->name);
		r = -EBADMSG;
	}
	if (r < 0)
		lf_bundle_release(ret);
	return r;
}
