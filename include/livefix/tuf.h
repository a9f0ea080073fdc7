/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_TUF_H
#define LIVEFIX_TUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livefix/bundle.h"
#include "livefix/identity.h"
#include "livefix/trust.h"

/*
 * Repository metadata (TUF roles, docs/FORMATS.md "Repository") and the
 * client workflow that updates it: root chain, timestamp, snapshot,
 * targets, then a bundle, each verified before anything uses it.
 */
#define LF_ROOT_MAX (64u << 10)      /* unknown length: capped */
#define LF_TIMESTAMP_MAX (16u << 10) /* unknown length: capped */
#define LF_SNAPSHOT_MAX (1u << 20)
#define LF_TARGETS_MAX (4u << 20)
#define LF_MAX_FEEDS 32
#define LF_MAX_TARGETS 1024
#define LF_MAX_ROOT_ROTATIONS 64     /* per update */

struct lf_meta_head {
	enum lf_role type;
	int64_t version;
	int64_t expires;
};

struct lf_root {
	struct lf_meta_head h;
	/*
	 * Snapshot and targets are also published under version-numbered
	 * names (N.snapshot.json, targets/<feed>/N.json), which clients then
	 * fetch, so a repository can be updated while clients read it.
	 */
	bool consistent_snapshot;
	struct lf_keyring ring;
	struct lf_role_keys roles[LF_ROLE_COUNT];
};

struct lf_metafile {
	char name[LF_NAME_MAX + 1];
	int64_t version;
	int64_t length;
	char sha256[LF_SHA256_HEX + 1];
};

struct lf_timestamp {
	struct lf_meta_head h;
	struct lf_metafile snapshot;
};

struct lf_snapshot {
	struct lf_meta_head h;
	size_t n;
	struct lf_metafile meta[LF_MAX_FEEDS];
};

struct lf_target {
	char name[LF_NAME_MAX + 1];
	int64_t length;
	char sha256[LF_SHA256_HEX + 1];
	char id[LF_ID_MAX + 1];
	int64_t level;
	struct lf_identity ident;
	/*
	 * Signed by the targets keys ("custom": {"withdrawn": true}): the
	 * bundle must not be applied, and a device that applied it reverts it.
	 */
	bool withdrawn;
};

struct lf_targets {
	struct lf_meta_head h;
	char feed[LF_ID_MAX + 1];
	size_t n;
	struct lf_target *t; /* heap, n entries */
};

/* A relative path without "..", empty or absolute parts: a/b-1.json */
bool lf_is_repo_path(const char *s);

/* Parse the "signed" part of a verified or to-be-verified document. */
int lf_root_parse(const struct lf_signed *s, struct lf_root *ret, struct lf_why *why);
int lf_timestamp_parse(const struct lf_signed *s, struct lf_timestamp *ret, struct lf_why *why);
int lf_snapshot_parse(const struct lf_signed *s, struct lf_snapshot *ret, struct lf_why *why);
int lf_targets_parse(const struct lf_signed *s, struct lf_targets *ret, struct lf_why *why);
void lf_targets_release(struct lf_targets *t);
const struct lf_metafile *lf_snapshot_find(const struct lf_snapshot *s, const char *name);

/*
 * Verifies a document of role against root (signatures, threshold, _type)
 * and returns it parsed in *ret (a struct of that role).
 */
int lf_meta_verify(const char *data, size_t len, const struct lf_root *root, enum lf_role role,
		   void *ret, struct lf_why *why);
/* Checks a root document against its predecessor (NULL for the first). */
int lf_root_verify_next(const char *data, size_t len, const struct lf_root *prev,
			struct lf_root *ret, struct lf_why *why);

/* ---- client ---- */

enum lf_fetch_flags {
	LF_FETCH_EXACT = 1, /* the file must be exactly max bytes */
};

struct lf_fetcher {
	/*
	 * Fetches name (a path relative to the repository) into out, at most
	 * max bytes; with LF_FETCH_EXACT exactly max bytes and not one more
	 * (-EOVERFLOW). etag (may be NULL) holds the validator of the copy
	 * the caller has on entry and of the fetched copy on return; a return
	 * of 1 means "not modified". -ENOENT: the file does not exist.
	 */
	int (*get)(void *ctx, const char *name, size_t max, unsigned flags, char *etag,
		   size_t etag_size, struct lf_buf *out, struct lf_why *why);
	void *ctx;
};

#define LF_ETAG_MAX 128

struct lf_tuf_doc {
	bool have;
	bool dirty;
	bool stale; /* signed under a root rotated away: do not reuse */
	struct lf_buf raw;
};

struct lf_tuf {
	char *dir; /* <state>/trust */
	char feed[LF_ID_MAX + 1];
	int64_t now;
	struct lf_root root;
	size_t nnew_roots;
	struct lf_buf new_roots[LF_MAX_ROOT_ROTATIONS];
	struct lf_tuf_doc ts_doc, snap_doc, targets_doc;
	char etag[LF_ETAG_MAX];
	struct lf_timestamp ts;
	struct lf_snapshot snap;
	struct lf_targets targets;
	/* Called after each file lf_tuf_commit() writes (power-cut tests). */
	void (*step_hook)(const char *step);
};

/* Pins the first root: signed by its own root threshold, not expired. */
int lf_tuf_pin_root(const char *state_dir, const char *data, size_t len, bool force,
		    struct lf_why *why);
/* -ENOENT when no root is pinned. */
int lf_tuf_open(struct lf_tuf *t, const char *state_dir, const char *feed, struct lf_why *why);
void lf_tuf_close(struct lf_tuf *t);
/* The TUF workflow, in memory; nothing is written. */
int lf_tuf_update(struct lf_tuf *t, const struct lf_fetcher *f, struct lf_why *why);
/* Persists what lf_tuf_update() verified (each file atomically). */
int lf_tuf_commit(struct lf_tuf *t);
/* Highest-level target of the feed for this identity, not withdrawn, or NULL. */
const struct lf_target *lf_tuf_select(const struct lf_tuf *t, const struct lf_identity *sys);
/* The verified target with this bundle sha256, or NULL. */
const struct lf_target *lf_tuf_find(const struct lf_tuf *t, const char *sha256);
/* Downloads, checks length and hash, parses and verifies a bundle (never a withdrawn one). */
int lf_tuf_fetch_bundle(const struct lf_tuf *t, const struct lf_fetcher *f,
			const struct lf_target *tg, struct lf_buf *data, struct lf_bundle *ret,
			struct lf_why *why);
/* Verifies a bundle file against a root's targets role (air-gapped apply). */
int lf_tuf_verify_bundle(const struct lf_root *root, const struct lf_bundle *b,
			 struct lf_why *why);

#endif
