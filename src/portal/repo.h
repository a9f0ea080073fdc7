/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_REPO_H
#define LF_PORTAL_REPO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "livefix/portal_repo.h"

#include "store.h"

/* Bundles up to 256 MiB; metadata files up to 16 MiB. */
#define LF_REPO_MAX_BUNDLE (256u << 20)
#define LF_REPO_MAX_METADATA (16u << 20)

struct lf_repo_file {
	char sha256[65];
	int64_t length;
	int64_t updated;
	unsigned char *content; /* malloc()ed; NULL when not asked for */
};

void lf_repo_file_release(struct lf_repo_file *f);

/* Feed name: 1..64 of [a-z0-9._-]. */
bool lf_repo_valid_feed(const char *name);
/*
 * File name inside a feed: one of the four metadata roles, or
 * "bundles/<sha256>.lfb".
 */
bool lf_repo_valid_file(const char *name);

/*
 * The stored name of a file a client asks for under /repo/<feed>/: the TUF
 * layout of docs/FORMATS.md, with the feed's targets document stored as
 * "targets.json" and served as targets/<feed>.json. -ENOENT for any other.
 */
#define LF_REPO_NAME_MAX 160
int lf_repo_served_name(const char *feed, const char *path, char *ret, size_t size);

int lf_repo_feed_id(struct lf_store *s, const char *feed, int64_t *ret_id);
int lf_repo_feed_ensure(struct lf_store *s, const char *feed, int64_t *ret_id);

/*
 * Stores one file. A bundle's name must carry its own SHA-256. When
 * targets.json changes, the ops re-sign snapshot and timestamp.
 */
int lf_repo_put(struct lf_store *s, const struct lf_portal_repo_ops *ops, const char *feed,
		const char *name, const void *data, size_t len);

/*
 * Stores one file as it is, inside the caller's transaction (no signer:
 * import and mirror keep what upstream signed).
 */
int lf_repo_store_file(struct lf_store *s, const char *feed, const char *name, const void *data,
		       size_t len);

/* Looks a file up; with_content loads the bytes too. -ENOENT if absent. */
/*
 * Withdraws in the portal the bundles the feed's stored targets.json marks
 * withdrawn (storing targets.json does it too); returns how many were new.
 */
int lf_repo_withdraw_marked(struct lf_store *s, const char *feed);

int lf_repo_get(struct lf_store *s, const char *feed, const char *name, bool with_content,
		struct lf_repo_file *ret);

/*
 * Records one bundle's facts (JSON object: id, kind, level, target, cves,
 * sha256) after checking its file is in the feed with that hash. Returns
 * -ENOENT when the file is missing, -EINVAL on bad facts.
 */
int lf_repo_add_bundle(struct lf_store *s, const char *feed, json_t *meta);

/*
 * Publishes a signed repository directory from the build host: root.json,
 * targets.json (and snapshot/timestamp when present), bundles/ *.lfb, then
 * the bundle facts (one object or an array). Returns the number of bundles.
 */
int lf_repo_publish_dir(struct lf_store *s, const struct lf_portal_repo_ops *ops,
			const char *feed, const char *dir, json_t *meta);

/* Re-signs timestamp (and snapshot too) of one feed, in one transaction. */
int lf_repo_resign(struct lf_store *s, const struct lf_portal_repo_ops *ops, const char *feed,
		   bool snapshot_too);

/*
 * Re-signs timestamp.json of every feed (periodic refresh), and snapshot.json
 * too when it would expire before two more refreshes.
 */
int lf_repo_refresh_timestamps(struct lf_store *s, const struct lf_portal_repo_ops *ops);

#endif
