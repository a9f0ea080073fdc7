/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_CHECKIN_CACHE_H
#define LF_PORTAL_CHECKIN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "store.h"

struct lf_checkin_dev;

/*
 * What an idle check-in reads, kept in memory: per device credential the
 * device (principal, inventory hash, kernel build-id and level), per group
 * its policy, pin, feed, the feed's timestamp ETag and whether a rollout
 * runs. The database's change log (schema migration 2, filled by triggers
 * whatever process writes) says what to drop. The log is read before a
 * check-in is answered from memory when it may have moved: on every
 * check-in for a database without notifications (SQLite, in-process, a few
 * microseconds), and on PostgreSQL when a notification came, this process
 * wrote, or a second passed. A check-in never answers from rows older than
 * the last read of the log; an instance of the portal sees another's change
 * as soon as its notification arrives.
 */
struct lf_checkin_cache;

struct lf_checkin_cache_stats {
	uint64_t hits, misses, dropped, log_reads, entries;
};

/* max_entries: credentials kept (the oldest-filled bucket's go first). */
int lf_checkin_cache_new(size_t max_entries, struct lf_checkin_cache **ret);
void lf_checkin_cache_free(struct lf_checkin_cache *c);

/*
 * Whether the log must be read before every check-in (no notifications), or
 * only when lf_checkin_cache_stale() was called or a second passed.
 */
void lf_checkin_cache_set_notified(struct lf_checkin_cache *c, bool notified);
/* Something may have changed: read the log before the next answer. */
void lf_checkin_cache_stale(struct lf_checkin_cache *c);
/* The notification channel was lost: drop everything. */
void lf_checkin_cache_clear(struct lf_checkin_cache *c);

/* Reads the change log when needed (see above) and drops what changed. */
int lf_checkin_cache_sync(struct lf_checkin_cache *c, struct lf_store *s);

/*
 * Looks a credential hash up. Returns true and fills who and dev (dev's
 * policy is a copy the caller releases) on a hit; on a miss returns false
 * and sets *ret_gen for lf_checkin_cache_put().
 */
bool lf_checkin_cache_get(struct lf_checkin_cache *c, const char *hash_hex,
			  struct lf_principal *who, struct lf_checkin_dev *dev, uint64_t *ret_gen);
/* Keeps what a lookup read, unless the log dropped anything since gen. */
void lf_checkin_cache_put(struct lf_checkin_cache *c, uint64_t gen, const char *hash_hex,
			  const struct lf_principal *who, const struct lf_checkin_dev *dev);
/* After this process wrote a device's inventory. */
void lf_checkin_cache_update(struct lf_checkin_cache *c, int64_t device_id, const char *inv_hash,
			     const char *build_id, int64_t kernel_level);
/* Deletes log records older than an hour; any process may, once a minute or so. */
int lf_checkin_cache_prune(struct lf_store *s);

void lf_checkin_cache_stats(struct lf_checkin_cache *c, struct lf_checkin_cache_stats *ret);

#endif
