/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_CHECKIN_H
#define LF_PORTAL_CHECKIN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "livefix/buf.h"

#include "auth.h"
#include "checkin_cache.h"
#include "store.h"

#define LF_MAX_EVENTS 64
#define LF_MAX_USER_PATCHES 256

/*
 * Idle check-ins change nothing but last_seen. Instead of one commit each,
 * the server collects their device ids and a flusher thread writes them,
 * LF_SEEN_CHUNK per statement, once a second or as soon as a chunk is
 * waiting; a request thread never waits for that write. A crash loses at
 * most that second of last_seen, which the next check-in restores. While
 * the database cannot take them, up to LF_SEEN_CAP ids wait; beyond that
 * they are counted as dropped (the devices' next check-ins bring them back).
 */
#define LF_SEEN_CHUNK 16384
#define LF_SEEN_CAP (1u << 22)

struct lf_seen_batch {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int64_t *ids;
	size_t n, cap;
	uint64_t dropped;
	bool stop;
};

void lf_seen_init(struct lf_seen_batch *b);
void lf_seen_release(struct lf_seen_batch *b);
/* Writes every waiting id; returns how many, or < 0 (they wait for the next call). */
int lf_seen_flush(struct lf_seen_batch *b, struct lf_store *s);
/*
 * For the flusher: waits up to ms for a full chunk, or until lf_seen_stop().
 * Returns false once stopped.
 */
bool lf_seen_wait(struct lf_seen_batch *b, unsigned ms);
void lf_seen_stop(struct lf_seen_batch *b);

/* What a check-in needs to know of its device, its group and its feed. */
struct lf_checkin_dev {
	char inv_hash[65];
	char *policy;      /* owned: the group's policy, compact JSON */
	char feed[72];
	char build_id[130];
	int64_t pin_level; /* -1: not pinned */
	int64_t kernel_level;
	char ts_etag[72];  /* of the feed's timestamp.json, quoted; "" when none */
	bool rolling;      /* the group has a running rollout */
	bool found;
	/* The cache the lookup used: told when lf_checkin() writes the inventory. */
	struct lf_checkin_cache *cache;
};

void lf_checkin_dev_release(struct lf_checkin_dev *d);

/*
 * Authenticates a device credential and reads what its check-in needs in
 * the same query, so that an idle check-in is one round trip to the
 * database, or none when cache (may be NULL) has it after reading the
 * database's change log. Same rules as lf_auth_lookup(): -EACCES when the
 * credential is malformed, unknown or revoked, or its device revoked.
 */
int lf_checkin_lookup(struct lf_store *s, struct lf_checkin_cache *cache, const char *token,
		      struct lf_principal *ret_who, struct lf_checkin_dev *ret_dev);

/*
 * A device's check-in: parses the body (the inventory, at most 32 deep, no
 * float, no duplicate key), records it only when it changed (an idle
 * check-in writes one timestamp, batched through seen when given) and
 * writes to out the answer: when to come back, the device's policy when its
 * copy is stale, whether its feed's timestamp.json changed, and the bundles
 * a running rollout tells it to install. pre is what lf_checkin_lookup()
 * read, or NULL to read it here. Returns 1 when the answer tells the device
 * to update, 0 when not, -EINVAL with err set for a bad body.
 */
int lf_checkin(struct lf_store *s, const struct lf_principal *dev, struct lf_checkin_dev *pre,
	       const char *body, size_t len, unsigned interval, struct lf_seen_batch *seen,
	       struct lf_buf *out, char *err, size_t errsz);

/*
 * Records events (applied, reverted, deferred, failed) and lets the rollouts
 * they belong to react. Returns the number of events.
 */
int lf_checkin_events(struct lf_store *s, const struct lf_principal *dev, json_t *body,
		      char *err, size_t errsz);

#endif
