/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The check-in cache: credentials and groups in memory, dropped by the
 * database's change log (see checkin_cache.h and schema migration 2).
 *
 * Two chained hash tables share the entries: by credential hash (lookups)
 * and by device id (drops). One mutex guards both and the groups; another
 * lets one thread at a time read the log. gen counts drops: a lookup that
 * missed reads the database without the lock and keeps its rows only if
 * nothing was dropped meanwhile, so a row read before a change and kept
 * after the change was seen cannot stay.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/hex.h"

#include "checkin.h"
#include "checkin_cache.h"

#define READ_BATCH 1024
#define READ_ROUNDS 16
#define NOTIFIED_MAX_AGE_MS 1000 /* with notifications: read the log at least this often */
#define RETENTION 3600           /* seconds of log kept by lf_checkin_cache_prune() */
#define FORGET_AFTER_MS (RETENTION * 1000 / 2) /* unread longer: the log may have lost rows */

struct entry {
	struct entry *next_key, *next_dev;
	uint8_t key[32];
	struct lf_principal who;
	char inv_hash[65];
	int64_t kernel_level;
	char *build_id;
};

struct group {
	struct group *next;
	int64_t id;
	char *policy;
	int64_t pin_level;
	char feed[72];
	char ts_etag[72];
	bool rolling;
};

struct lf_checkin_cache {
	pthread_mutex_t lock; /* the tables, the groups, gen, the counters */
	struct entry **by_key, **by_dev;
	size_t mask, n, max, cursor;
	struct group *groups;
	uint64_t gen;
	uint64_t hits, misses, dropped, log_reads;

	/* With notifications, one reader at a time: the others wait and find it read. */
	pthread_mutex_t read_lock;
	atomic_int_fast64_t next_seq; /* the first seq not read; 0: not read yet */
	atomic_int_fast64_t last_read_ms;
	atomic_bool notified;
	atomic_bool stale;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t key_slot(const struct lf_checkin_cache *c, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h)); /* a SHA-256: already uniform */
	return (size_t)h & c->mask;
}

static size_t dev_slot(const struct lf_checkin_cache *c, int64_t id)
{
	return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 20) & c->mask;
}

int lf_checkin_cache_new(size_t max_entries, struct lf_checkin_cache **ret)
{
	struct lf_checkin_cache *c = calloc(1, sizeof(*c));
	size_t nb = 1024;

	if (!c)
		return -ENOMEM;
	while (nb < max_entries && nb < ((size_t)1 << 30))
		nb <<= 1;
	c->by_key = calloc(nb, sizeof(*c->by_key));
	c->by_dev = calloc(nb, sizeof(*c->by_dev));
	if (!c->by_key || !c->by_dev) {
		free(c->by_key);
		free(c->by_dev);
		free(c);
		return -ENOMEM;
	}
	c->mask = nb - 1;
	c->max = max_entries ? max_entries : 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->read_lock, NULL);
	atomic_init(&c->next_seq, 0);
	atomic_init(&c->last_read_ms, 0);
	atomic_init(&c->notified, false);
	atomic_init(&c->stale, true);
	*ret = c;
	return 0;
}

static void unlink_entry(struct lf_checkin_cache *c, struct entry *e)
{
	struct entry **p;

	for (p = &c->by_key[key_slot(c, e->key)]; *p && *p != e; p = &(*p)->next_key)
		;
	if (*p)
		*p = e->next_key;
	for (p = &c->by_dev[dev_slot(c, e->who.device_id)]; *p && *p != e; p = &(*p)->next_dev)
		;
	if (*p)
		*p = e->next_dev;
	free(e->build_id);
	free(e);
	c->n--;
}

static void drop_group(struct lf_checkin_cache *c, int64_t id)
{
	for (struct group **p = &c->groups; *p;) {
		struct group *g = *p;

		if (id && g->id != id) {
			p = &g->next;
			continue;
		}
		*p = g->next;
		free(g->policy);
		free(g);
		c->dropped++;
	}
}

static void drop_device(struct lf_checkin_cache *c, int64_t id)
{
	struct entry *e = c->by_dev[dev_slot(c, id)], *next;

	for (; e; e = next) {
		next = e->next_dev;
		if (e->who.device_id == id) {
			unlink_entry(c, e);
			c->dropped++;
		}
	}
}

static void clear_locked(struct lf_checkin_cache *c)
{
	for (size_t i = 0; i <= c->mask; i++)
		while (c->by_key[i])
			unlink_entry(c, c->by_key[i]);
	drop_group(c, 0);
	c->gen++;
}

void lf_checkin_cache_clear(struct lf_checkin_cache *c)
{
	pthread_mutex_lock(&c->lock);
	clear_locked(c);
	pthread_mutex_unlock(&c->lock);
	atomic_store(&c->stale, true);
}

void lf_checkin_cache_free(struct lf_checkin_cache *c)
{
	if (!c)
		return;
	clear_locked(c);
	free(c->by_key);
	free(c->by_dev);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->read_lock);
	free(c);
}

void lf_checkin_cache_set_notified(struct lf_checkin_cache *c, bool notified)
{
	atomic_store(&c->stale, true);
	atomic_store(&c->notified, notified);
}

void lf_checkin_cache_stale(struct lf_checkin_cache *c)
{
	atomic_store(&c->stale, true);
}

struct change {
	int64_t seq, ref;
	bool group;
};

struct log_rows {
	struct change rows[READ_BATCH];
	size_t n;
};

static int log_row(void *ctx, const struct lf_row *row)
{
	struct log_rows *l = ctx;
	struct change *ch;

	if (l->n == READ_BATCH || !row->vals[0] || !row->vals[1] || !row->vals[2])
		return -EPROTO;
	ch = &l->rows[l->n++];
	ch->seq = strtoll(row->vals[0], NULL, 10);
	ch->group = !strcmp(row->vals[1], "group");
	ch->ref = strtoll(row->vals[2], NULL, 10);
	return 0;
}

static int max_row(void *ctx, const struct lf_row *row)
{
	*(int64_t *)ctx = row->vals[0] ? strtoll(row->vals[0], NULL, 10) : 0;
	return 0;
}

static void apply_rows(struct lf_checkin_cache *c, const struct log_rows *l)
{
	if (!l->n)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < l->n; i++) {
		if (l->rows[i].group)
			drop_group(c, l->rows[i].ref);
		else
			drop_device(c, l->rows[i].ref);
	}
	c->gen++;
	pthread_mutex_unlock(&c->lock);
}

/* Moves next_seq forward to seq, never back (readers may run side by side). */
static void advance(struct lf_checkin_cache *c, int64_t seq)
{
	int_fast64_t cur = atomic_load(&c->next_seq);

	while (cur < seq && !atomic_compare_exchange_weak(&c->next_seq, &cur, seq))
		;
}

/* Reads the log from next_seq on and drops what it names. */
static int read_log(struct lf_checkin_cache *c, struct lf_store *s)
{
	int64_t next = atomic_load(&c->next_seq), max = 0;
	struct log_rows *l;
	int r = 0;

	if (next == 0) {
		/* Nothing kept yet: only what comes after matters. */
		r = lf_store_q(s, "SELECT MAX(seq) FROM changes", max_row, &max, "");
		if (r >= 0)
			advance(c, max + 1);
		return r < 0 ? r : 0;
	}
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (int round = 0; round < READ_ROUNDS; round++) {
		l->n = 0;
		r = lf_store_q(s, "SELECT seq, kind, ref FROM changes WHERE seq >= $1"
			       " ORDER BY seq LIMIT 1024", log_row, l, "i", next);
		if (r < 0)
			break;
		apply_rows(c, l);
		if (l->n)
			next = l->rows[l->n - 1].seq + 1;
		advance(c, next);
		if (l->n < READ_BATCH)
			break;
		if (round == READ_ROUNDS - 1) {
			/* Too much at once to drop one by one: start over. */
			lf_checkin_cache_clear(c);
			r = lf_store_q(s, "SELECT MAX(seq) FROM changes", max_row, &max, "");
			if (r >= 0)
				advance(c, max + 1);
		}
	}
	free(l);
	return r < 0 ? r : 0;
}

static bool fresh(struct lf_checkin_cache *c, int64_t now)
{
	return atomic_load(&c->notified) && !atomic_load(&c->stale) &&
	       now - atomic_load(&c->last_read_ms) < NOTIFIED_MAX_AGE_MS;
}

int lf_checkin_cache_sync(struct lf_checkin_cache *c, struct lf_store *s)
{
	bool serial = atomic_load(&c->notified);
	int64_t now = mono_ms();
	int r;

	if (fresh(c, now))
		return 0;
	if (serial) {
		pthread_mutex_lock(&c->read_lock);
		now = mono_ms();
		if (fresh(c, now)) {
			pthread_mutex_unlock(&c->read_lock);
			return 0;
		}
	}
	if (atomic_load(&c->next_seq) && now - atomic_load(&c->last_read_ms) > FORGET_AFTER_MS)
		lf_checkin_cache_clear(c); /* the log may have been pruned meanwhile */
	/* Cleared first: a notification arriving during the read sets it again. */
	atomic_store(&c->stale, false);
	r = read_log(c, s);
	if (r < 0)
		atomic_store(&c->stale, true);
	else
		atomic_store(&c->last_read_ms, now);
	pthread_mutex_lock(&c->lock);
	c->log_reads++;
	pthread_mutex_unlock(&c->lock);
	if (serial)
		pthread_mutex_unlock(&c->read_lock);
	return r;
}

static struct entry *find(struct lf_checkin_cache *c, const uint8_t key[32])
{
	struct entry *e = c->by_key[key_slot(c, key)];

	while (e && memcmp(e->key, key, sizeof(e->key)))
		e = e->next_key;
	return e;
}

static struct group *find_group(struct lf_checkin_cache *c, int64_t id)
{
	struct group *g = c->groups;

	while (g && g->id != id)
		g = g->next;
	return g;
}

bool lf_checkin_cache_get(struct lf_checkin_cache *c, const char *hash_hex,
			  struct lf_principal *who, struct lf_checkin_dev *dev, uint64_t *ret_gen)
{
	uint8_t key[32];
	struct entry *e;
	struct group *g = NULL;
	bool hit = false;

	if (lf_unhex(hash_hex, key, sizeof(key)) < 0)
		return false;
	pthread_mutex_lock(&c->lock);
	*ret_gen = c->gen;
	e = find(c, key);
	if (e)
		g = find_group(c, e->who.group_id);
	if (g) {
		free(dev->policy);
		dev->policy = strdup(g->policy);
		hit = dev->policy != NULL;
	}
	if (hit) {
		*who = e->who;
		snprintf(dev->inv_hash, sizeof(dev->inv_hash), "%s", e->inv_hash);
		snprintf(dev->build_id, sizeof(dev->build_id), "%s", e->build_id);
		snprintf(dev->feed, sizeof(dev->feed), "%s", g->feed);
		snprintf(dev->ts_etag, sizeof(dev->ts_etag), "%s", g->ts_etag);
		dev->pin_level = g->pin_level;
		dev->kernel_level = e->kernel_level;
		dev->rolling = g->rolling;
		dev->found = true;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Makes room for one more entry: the first chain at or after the cursor goes. */
static void evict_one(struct lf_checkin_cache *c)
{
	for (size_t i = 0; i <= c->mask; i++) {
		size_t b = (c->cursor + i) & c->mask;

		if (c->by_key[b]) {
			unlink_entry(c, c->by_key[b]);
			c->cursor = b + 1;
			return;
		}
	}
}

static int put_group(struct lf_checkin_cache *c, int64_t id, const struct lf_checkin_dev *dev)
{
	struct group *g;

	if (find_group(c, id))
		return 0; /* same gen: the same rows */
	g = calloc(1, sizeof(*g));
	if (!g || !(g->policy = strdup(dev->policy ? dev->policy : "{}"))) {
		free(g);
		return -ENOMEM;
	}
	g->id = id;
	g->pin_level = dev->pin_level;
	snprintf(g->feed, sizeof(g->feed), "%s", dev->feed);
	snprintf(g->ts_etag, sizeof(g->ts_etag), "%s", dev->ts_etag);
	g->rolling = dev->rolling;
	g->next = c->groups;
	c->groups = g;
	return 0;
}

static struct entry *new_entry(const uint8_t key[32], const struct lf_principal *who,
			       const struct lf_checkin_dev *dev)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e || !(e->build_id = strdup(dev->build_id))) {
		free(e);
		return NULL;
	}
	memcpy(e->key, key, sizeof(e->key));
	e->who = *who;
	snprintf(e->inv_hash, sizeof(e->inv_hash), "%s", dev->inv_hash);
	e->kernel_level = dev->kernel_level;
	return e;
}

void lf_checkin_cache_put(struct lf_checkin_cache *c, uint64_t gen, const char *hash_hex,
			  const struct lf_principal *who, const struct lf_checkin_dev *dev)
{
	struct entry *e, *old;
	uint8_t key[32];

	if (lf_unhex(hash_hex, key, sizeof(key)) < 0 || !dev->found)
		return;
	pthread_mutex_lock(&c->lock);
	if (gen != c->gen || put_group(c, who->group_id, dev) < 0)
		goto out;
	e = new_entry(key, who, dev);
	if (!e)
		goto out;
	old = find(c, key);
	if (old)
		unlink_entry(c, old);
	if (c->n >= c->max)
		evict_one(c);
	e->next_key = c->by_key[key_slot(c, key)];
	c->by_key[key_slot(c, key)] = e;
	e->next_dev = c->by_dev[dev_slot(c, who->device_id)];
	c->by_dev[dev_slot(c, who->device_id)] = e;
	c->n++;
out:
	pthread_mutex_unlock(&c->lock);
}

void lf_checkin_cache_update(struct lf_checkin_cache *c, int64_t device_id, const char *inv_hash,
			     const char *build_id, int64_t kernel_level)
{
	pthread_mutex_lock(&c->lock);
	for (struct entry *e = c->by_dev[dev_slot(c, device_id)], *next; e; e = next) {
		char *copy;

		next = e->next_dev;
		if (e->who.device_id != device_id)
			continue;
		copy = strdup(build_id ? build_id : e->build_id);
		if (!copy) {
			unlink_entry(c, e); /* forget rather than keep it wrong */
			continue;
		}
		free(e->build_id);
		e->build_id = copy;
		snprintf(e->inv_hash, sizeof(e->inv_hash), "%s", inv_hash);
		e->kernel_level = kernel_level;
	}
	pthread_mutex_unlock(&c->lock);
}

int lf_checkin_cache_prune(struct lf_store *s)
{
	return lf_store_q(s, "DELETE FROM changes WHERE at < $1", NULL, NULL, "i",
			  lf_now() - RETENTION);
}

void lf_checkin_cache_stats(struct lf_checkin_cache *c, struct lf_checkin_cache_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = (struct lf_checkin_cache_stats){ c->hits, c->misses, c->dropped, c->log_reads, c->n };
	pthread_mutex_unlock(&c->lock);
}
