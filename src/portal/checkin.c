/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "livefix/json.h"
#include "livefix/json_parse.h"

#include "checkin.h"
#include "rollout.h"

#define MAX_DETAIL 8192

static int bad(char *err, size_t errsz, const char *what)
{
	snprintf(err, errsz, "%s", what);
	return -EINVAL;
}

/*
 * The check-in body is parsed by our bounded parser (no float, no duplicate
 * key, no control character, at most LF_CHECKIN_MAX_DEPTH deep): an agent
 * never sends anything else, and the canonical form it yields is what the
 * inventory digest covers.
 */
#define LF_CHECKIN_MAX_DEPTH 32

static const struct lf_json_limits checkin_limits = {
	.max_depth = LF_CHECKIN_MAX_DEPTH,
	.max_values = 65536, /* the body itself is at most 64 KiB */
	.max_string = 65536,
};

/* A string member, or NULL when missing or of another type. */
static const char *str(const struct lf_jv *o, const char *key)
{
	const struct lf_jv *v = lf_jv_get(o, key);

	return v && v->type == LF_JSTR ? v->u.s : NULL;
}

/* An integer member, or 0 when missing or of another type. */
static int64_t num(const struct lf_jv *o, const char *key)
{
	const struct lf_jv *v = lf_jv_get(o, key);

	return v && v->type == LF_JINT ? v->u.i : 0;
}

/* An optional string member of at most max bytes. */
static bool opt_str(const struct lf_jv *o, const char *key, size_t max)
{
	const struct lf_jv *v = lf_jv_get(o, key);

	return !v || v->type == LF_JNULL || (v->type == LF_JSTR && v->len <= max);
}

static bool opt_uint(const struct lf_jv *o, const char *key)
{
	const struct lf_jv *v = lf_jv_get(o, key);

	return !v || (v->type == LF_JINT && v->u.i >= 0);
}

static bool is(const struct lf_jv *v, enum lf_jtype t)
{
	return v && v->type == t;
}

static int validate(const struct lf_jv *inv, char *err, size_t errsz)
{
	const struct lf_jv *kernel = lf_jv_get(inv, "kernel"), *user = lf_jv_get(inv, "userspace");
	const struct lf_jv *doctor = lf_jv_get(inv, "doctor");

	if (!is(inv, LF_JOBJ))
		return bad(err, errsz, "check-in body must be a JSON object");
	if (!opt_str(inv, "hostname", 255) || !opt_str(inv, "arch", 32) ||
	    !opt_str(inv, "distro", 128) || !opt_str(inv, "agent_version", 64) ||
	    !opt_str(inv, "policy_state", 64) || !opt_uint(inv, "uptime") ||
	    !opt_str(inv, "timestamp_etag", 70) || !opt_str(inv, "policy_etag", 70))
		return bad(err, errsz, "inventory: a field has the wrong type or is too long");
	if (kernel && (!is(kernel, LF_JOBJ) || !opt_str(kernel, "release", 128) ||
		       !opt_str(kernel, "build_id", 128) || !opt_uint(kernel, "level")))
		return bad(err, errsz, "inventory: kernel must be {release, build_id, level}");
	if (doctor && !is(doctor, LF_JSTR) && !is(doctor, LF_JOBJ))
		return bad(err, errsz, "inventory: doctor must be a string or an object");
	if (user && (!is(user, LF_JARR) || user->len > LF_MAX_USER_PATCHES))
		return bad(err, errsz, "inventory: userspace must be an array of at most 256");
	for (size_t i = 0; user && i < user->len; i++) {
		const struct lf_jv *p = &user->u.kids[i];

		if (!is(p, LF_JOBJ) || !opt_uint(p, "pid") || !opt_str(p, "exe", 4096) ||
		    !opt_str(p, "build_id", 128) || !opt_str(p, "bundle", 128) || !opt_uint(p, "level"))
			return bad(err, errsz, "inventory: bad userspace entry");
	}
	return 0;
}

/* Members that change on every call and are not part of the inventory. */
static bool is_volatile(const char *key)
{
	return !strcmp(key, "uptime") || !strcmp(key, "timestamp_etag") ||
	       !strcmp(key, "policy_etag");
}

/* A member name as the canonical form writes it: only '"' and '\\' escaped. */
static int put_key(struct lf_buf *b, const char *key)
{
	int r = lf_buf_putc(b, '"');

	for (const char *c = key; r == 0 && *c; c++) {
		if (*c == '"' || *c == '\\')
			r = lf_buf_putc(b, '\\');
		if (r == 0)
			r = lf_buf_putc(b, *c);
	}
	return r ? r : lf_buf_putc(b, '"');
}

/*
 * Hash of what the device reported, without what changes on every call:
 * the canonical form of the body minus the volatile members. Members are
 * already sorted by the parser, so this is one pass, no copy and no second
 * sort, and the text is the same as the sorted compact dump stored before.
 */
static int inventory_digest(const struct lf_jv *inv, struct lf_buf *text, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	bool first = true;
	int r = lf_buf_putc(text, '{');

	for (size_t i = 0; r == 0 && i < inv->len; i++) {
		const struct lf_jv *m = &inv->u.kids[i];

		if (is_volatile(m->key))
			continue;
		if (!first)
			r = lf_buf_putc(text, ',');
		first = false;
		if (r == 0)
			r = put_key(text, m->key);
		if (r == 0)
			r = lf_buf_putc(text, ':');
		if (r == 0)
			r = lf_json_canonical(m, text);
	}
	if (r == 0)
		r = lf_buf_putc(text, '}');
	if (r < 0)
		return r;
	crypto_hash_sha256(h, (unsigned char *)text->data, text->len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
	return 0;
}

/* Columns: those of dev_row() below, after the device's own four. */
#define DEV_COLUMNS "d.inventory_hash, g.policy, g.pin_level, f.name, d.kernel_build_id," \
	" d.kernel_level, (SELECT r.sha256 FROM repo_files r WHERE r.feed_id = f.id" \
	"  AND r.name = 'timestamp.json') AS ts," \
	" (SELECT COUNT(*) FROM rollouts o WHERE o.group_id = g.id AND o.state = 'running')" \
	" AS rolling"

static int dev_cols(struct lf_checkin_dev *d, const char *const *v)
{
	snprintf(d->inv_hash, sizeof(d->inv_hash), "%s", v[0] ? v[0] : "");
	free(d->policy);
	d->policy = strdup(v[1] ? v[1] : "{}");
	d->pin_level = v[2] ? strtoll(v[2], NULL, 10) : -1;
	snprintf(d->feed, sizeof(d->feed), "%s", v[3]);
	snprintf(d->build_id, sizeof(d->build_id), "%s", v[4] ? v[4] : "");
	d->kernel_level = strtoll(v[5], NULL, 10);
	d->ts_etag[0] = '\0';
	if (v[6])
		snprintf(d->ts_etag, sizeof(d->ts_etag), "\"%s\"", v[6]);
	d->rolling = strtoll(v[7], NULL, 10) > 0;
	d->found = true;
	return d->policy ? 0 : -ENOMEM;
}

static int dev_row(void *ctx, const struct lf_row *row)
{
	return dev_cols(ctx, row->vals);
}

void lf_checkin_dev_release(struct lf_checkin_dev *d)
{
	free(d->policy);
	memset(d, 0, sizeof(*d));
}

struct lookup_ctx {
	struct lf_principal who;
	struct lf_checkin_dev *dev;
};

static int lookup_row(void *ctx, const struct lf_row *row)
{
	struct lookup_ctx *c = ctx;

	c->who.device_id = strtoll(row->vals[0], NULL, 10);
	snprintf(c->who.device_uid, sizeof(c->who.device_uid), "%s", row->vals[1]);
	c->who.group_id = strtoll(row->vals[2], NULL, 10);
	c->who.feed_id = strtoll(row->vals[3], NULL, 10);
	return dev_cols(c->dev, row->vals + 4);
}

int lf_checkin_lookup(struct lf_store *s, struct lf_checkin_cache *cache, const char *token,
		      struct lf_principal *ret_who, struct lf_checkin_dev *ret_dev)
{
	struct lookup_ctx c = { .dev = ret_dev };
	char hash[LF_HASH_HEX];
	uint64_t gen = 0;
	int r;

	if (!token || strncmp(token, "lfd_", 4) || strlen(token) < 8 ||
	    strlen(token) >= LF_TOKEN_MAX)
		return -EACCES;
	lf_auth_hash(token, hash);
	/* A log that cannot be read: answer from the database alone. */
	if (cache && lf_checkin_cache_sync(cache, s) < 0)
		cache = NULL;
	ret_dev->cache = cache;
	if (cache && lf_checkin_cache_get(cache, hash, ret_who, ret_dev, &gen))
		return 0;
	r = lf_store_q(s, "SELECT d.id, d.uid, d.group_id, g.feed_id, " DEV_COLUMNS
		       " FROM device_credentials c JOIN devices d ON d.id = c.device_id"
		       " JOIN device_groups g ON g.id = d.group_id JOIN feeds f ON f.id = g.feed_id"
		       " WHERE c.token_hash = $1 AND c.revoked = 0 AND d.revoked = 0",
		       lookup_row, &c, "s", hash);
	if (r != 1) {
		lf_checkin_dev_release(ret_dev);
		return r < 0 ? r : -EACCES;
	}
	*ret_who = c.who;
	if (cache)
		lf_checkin_cache_put(cache, gen, hash, ret_who, ret_dev);
	return 0;
}

static int record_patch(struct lf_store *s, int64_t device_id, const char *kind,
			const char *target, int64_t level, const char *bundle, const char *state)
{
	return lf_store_q(s, "INSERT INTO device_patches (device_id, kind, target, level, bundle,"
			  " state, updated) VALUES ($1, $2, $3, $4, $5, $6, $7)"
			  " ON CONFLICT (device_id, kind, target) DO UPDATE SET level = excluded.level,"
			  " bundle = excluded.bundle, state = excluded.state, updated = excluded.updated",
			  NULL, NULL, "ississi", device_id, kind, target, level, bundle, state, lf_now());
}

static int store_inventory(struct lf_store *s, int64_t device_id, const struct lf_jv *inv,
			   const char *text, const char *hash)
{
	const struct lf_jv *kernel = lf_jv_get(inv, "kernel"), *user = lf_jv_get(inv, "userspace");
	int64_t klevel = num(kernel, "level");
	int r;

	r = lf_store_q(s, "UPDATE devices SET hostname = $1, arch = $2, distro = $3,"
		       " kernel_release = $4, kernel_build_id = $5, agent_version = $6,"
		       " kernel_level = $7, inventory = $8, inventory_hash = $9, last_seen = $10"
		       " WHERE id = $11", NULL, NULL, "ssssssissii",
		       str(inv, "hostname"), str(inv, "arch"), str(inv, "distro"),
		       str(kernel, "release"), str(kernel, "build_id"), str(inv, "agent_version"),
		       klevel, text, hash, lf_now(), device_id);
	if (r >= 0 && str(kernel, "build_id"))
		r = record_patch(s, device_id, "kernel", str(kernel, "build_id"), klevel, NULL,
				 klevel > 0 ? "applied" : "none");
	for (size_t i = 0; user && i < user->len; i++) {
		const struct lf_jv *p = &user->u.kids[i];

		if (r < 0 || !str(p, "build_id"))
			continue;
		r = record_patch(s, device_id, "user", str(p, "build_id"), num(p, "level"),
				 str(p, "bundle"), "applied");
	}
	return r;
}

void lf_seen_init(struct lf_seen_batch *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->wake, NULL);
}

void lf_seen_release(struct lf_seen_batch *b)
{
	free(b->ids);
	pthread_cond_destroy(&b->wake);
	pthread_mutex_destroy(&b->lock);
}

/* Appends ids under the lock, growing up to LF_SEEN_CAP; counts what does not fit. */
static void seen_append(struct lf_seen_batch *b, const int64_t *ids, size_t n)
{
	if (b->n + n > b->cap && b->cap < LF_SEEN_CAP) {
		size_t cap = b->cap ? b->cap : LF_SEEN_CHUNK;
		int64_t *grown;

		while (cap < b->n + n && cap < LF_SEEN_CAP)
			cap *= 2;
		grown = realloc(b->ids, cap * sizeof(*grown));
		if (grown) {
			b->ids = grown;
			b->cap = cap;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (b->n < b->cap)
			b->ids[b->n++] = ids[i];
		else
			b->dropped++;
	}
	if (b->n >= LF_SEEN_CHUNK)
		pthread_cond_signal(&b->wake);
}

int lf_seen_flush(struct lf_seen_batch *b, struct lf_store *s)
{
	int64_t *ids, now = lf_now();
	size_t n, done = 0;
	int r = 0;

	pthread_mutex_lock(&b->lock);
	ids = b->ids;
	n = b->n;
	b->ids = NULL;
	b->n = b->cap = 0;
	pthread_mutex_unlock(&b->lock);
	while (done < n && r >= 0) {
		size_t k = n - done < LF_SEEN_CHUNK ? n - done : LF_SEEN_CHUNK;

		r = lf_store_touch_devices(s, now, ids + done, k);
		if (r >= 0)
			done += k;
	}
	if (done < n) {
		/* The database refused: the rest waits for the next flush. */
		pthread_mutex_lock(&b->lock);
		seen_append(b, ids + done, n - done);
		pthread_mutex_unlock(&b->lock);
	}
	free(ids);
	return r < 0 ? r : (int)done;
}

bool lf_seen_wait(struct lf_seen_batch *b, unsigned ms)
{
	struct timespec until;
	bool running;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&b->lock);
	while (!b->stop && b->n < LF_SEEN_CHUNK)
		if (pthread_cond_timedwait(&b->wake, &b->lock, &until))
			break;
	running = !b->stop;
	pthread_mutex_unlock(&b->lock);
	return running;
}

void lf_seen_stop(struct lf_seen_batch *b)
{
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->wake);
	pthread_mutex_unlock(&b->lock);
}

/* Queues an idle device for the flusher. */
static void seen_add(struct lf_seen_batch *b, int64_t id)
{
	pthread_mutex_lock(&b->lock);
	seen_append(b, &id, 1);
	pthread_mutex_unlock(&b->lock);
}

static int update_device(struct lf_store *s, int64_t device_id, const struct lf_jv *inv,
			 struct lf_checkin_dev *d, struct lf_seen_batch *seen)
{
	const struct lf_jv *kernel = lf_jv_get(inv, "kernel");
	struct lf_buf text = LF_BUF_INIT(1u << 20);
	char hash[65];
	int r;

	r = inventory_digest(inv, &text, hash);
	if (r >= 0 && !strcmp(hash, d->inv_hash)) {
		lf_buf_release(&text);
		/* Idle: last_seen only, batched when the server gives a batch. */
		if (seen) {
			seen_add(seen, device_id);
			return 0;
		}
		return lf_store_q(s, "UPDATE devices SET last_seen = $1 WHERE id = $2", NULL, NULL,
				  "ii", lf_now(), device_id);
	}
	if (r >= 0)
		r = lf_store_begin(s);
	if (r >= 0) {
		r = store_inventory(s, device_id, inv, text.data, hash);
		if (r >= 0)
			r = lf_store_commit(s);
		else
			lf_store_rollback(s);
	}
	lf_buf_release(&text);
	if (r >= 0 && str(kernel, "build_id")) {
		snprintf(d->build_id, sizeof(d->build_id), "%s", str(kernel, "build_id"));
		d->kernel_level = num(kernel, "level");
	}
	if (r >= 0 && d->cache)
		lf_checkin_cache_update(d->cache, device_id, hash, d->build_id, d->kernel_level);
	return r;
}

struct install_ctx {
	const struct lf_checkin_dev *d;
	struct lf_buf *out;
	size_t n;
};

static int install_row(void *ctx, const struct lf_row *row)
{
	struct install_ctx *c = ctx;
	const char *kind = row->vals[1], *target = row->vals[3];
	int64_t level = strtoll(row->vals[2], NULL, 10);
	struct lf_buf *b = c->out;
	int r;

	if (c->d->pin_level >= 0 && level > c->d->pin_level)
		return 0; /* the group is pinned below this level */
	if (!strcmp(kind, "kernel") && (strcmp(target, c->d->build_id) || level <= c->d->kernel_level))
		return 0; /* not for this kernel, or already at this level */
	r = lf_buf_puts(b, c->n++ ? ",{\"bundle\":" : ",\"install\":[{\"bundle\":");
	if (r == 0)
		r = lf_json_escape(b, row->vals[0]);
	if (r == 0)
		r = lf_buf_puts(b, ",\"kind\":");
	if (r == 0)
		r = lf_json_escape(b, kind);
	if (r == 0)
		r = lf_buf_printf(b, ",\"level\":%lld,\"target\":", (long long)level);
	if (r == 0)
		r = lf_json_escape(b, target);
	if (r == 0)
		r = lf_buf_puts(b, ",\"sha256\":");
	if (r == 0)
		r = lf_json_escape(b, row->vals[4]);
	if (r == 0)
		r = lf_buf_printf(b, ",\"length\":%lld,\"rollout\":%lld}",
				  strtoll(row->vals[5], NULL, 10), strtoll(row->vals[6], NULL, 10));
	return r;
}

/* Appends ,"install":[...] when a running rollout has bundles for the device. */
static int install_list(struct lf_store *s, const struct lf_principal *dev,
			const struct lf_checkin_dev *d, struct lf_buf *out)
{
	struct install_ctx c = { d, out, 0 };
	int r;

	r = lf_store_q(s, "SELECT b.bundle_id, b.kind, b.level, b.target, b.sha256, b.length, r.id"
		       " FROM rollouts r JOIN bundles b ON b.id = r.bundle_ref"
		       " WHERE r.group_id = $1 AND r.state = 'running' AND b.withdrawn = 0"
		       " AND (r.stage = 'all' OR EXISTS (SELECT 1 FROM rollout_devices rd"
		       "  WHERE rd.rollout_id = r.id AND rd.device_id = $2))"
		       " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.rollout_id = r.id"
		       "  AND e.device_id = $2 AND (e.type = 'applied'"
		       "  OR (e.type = 'failed' AND e.id > r.stage_started)))"
		       " AND NOT EXISTS (SELECT 1 FROM device_patches p WHERE p.device_id = $2"
		       "  AND p.kind = b.kind AND p.target = b.target AND p.level >= b.level"
		       "  AND p.state = 'applied') ORDER BY b.level",
		       install_row, &c, "ii", dev->group_id, dev->device_id);
	if (r >= 0 && c.n)
		r = lf_buf_putc(out, ']');
	return r < 0 ? r : 0;
}

static void policy_etag(const struct lf_checkin_dev *d, char ret[24])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char text[32];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (unsigned char *)d->policy, strlen(d->policy));
	snprintf(text, sizeof(text), "|%lld", (long long)d->pin_level);
	crypto_hash_sha256_update(&st, (unsigned char *)text, strlen(text));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(ret, 17, h, 8);
}

/*
 * The group's policy as stored (a compact JSON object written by the
 * policy endpoint), with the group's pin level added as "pin_level": a key
 * the policy endpoint refuses, so it cannot be there twice.
 */
static int put_policy(struct lf_buf *b, const struct lf_checkin_dev *d)
{
	const char *p = d->policy;
	size_t n = strlen(p);
	int r;

	while (n && (p[n - 1] == ' ' || p[n - 1] == '\n'))
		n--;
	if (n < 2 || p[0] != '{' || p[n - 1] != '}')
		p = "{}", n = 2; /* not an object: as if no policy were set */
	r = lf_buf_puts(b, ",\"policy\":");
	if (d->pin_level < 0)
		return r ? r : lf_buf_append(b, p, n);
	if (r == 0)
		r = lf_buf_append(b, p, n - 1);
	if (r == 0)
		r = lf_buf_printf(b, "%s\"pin_level\":%lld}", n > 2 ? "," : "",
				  (long long)d->pin_level);
	return r;
}

/* The answer, written straight into out; returns 1 when the device must update. */
static int answer(struct lf_store *s, const struct lf_principal *dev, const struct lf_jv *inv,
		  const struct lf_checkin_dev *d, unsigned interval, struct lf_buf *out)
{
	const char *dev_ts = str(inv, "timestamp_etag"), *dev_pol = str(inv, "policy_etag");
	const char *ts = d->ts_etag;
	bool update = ts[0] && (!dev_ts || strcmp(dev_ts, ts));
	char pol[24];
	unsigned next;
	int r;

	policy_etag(d, pol);
	/* +-10% jitter spreads a fleet that started together. */
	next = interval - interval / 10 + randombytes_uniform(interval / 5 + 1);
	r = lf_buf_printf(out, "{\"next_checkin\":%u,\"feed\":", next);
	if (r == 0)
		r = lf_json_escape(out, d->feed);
	if (r == 0)
		r = lf_buf_puts(out, update ? ",\"update\":true" : ",\"update\":false");
	/* The device's timestamp.json is current unless the ETags differ. */
	if (r == 0 && update) {
		r = lf_buf_puts(out, ",\"timestamp_etag\":");
		if (r == 0)
			r = lf_json_escape(out, ts);
	}
	if (r == 0 && (!dev_pol || strcmp(dev_pol, pol)))
		r = put_policy(out, d);
	if (r == 0)
		r = lf_buf_printf(out, ",\"policy_etag\":\"%s\"", pol);
	/* Most check-ins meet no running rollout: one query fewer. */
	if (r == 0 && d->rolling)
		r = install_list(s, dev, d, out);
	if (r == 0)
		r = lf_buf_putc(out, '}');
	return r < 0 ? r : update;
}

int lf_checkin(struct lf_store *s, const struct lf_principal *dev, struct lf_checkin_dev *pre,
	       const char *body, size_t len, unsigned interval, struct lf_seen_batch *seen,
	       struct lf_buf *out, char *err, size_t errsz)
{
	struct lf_checkin_dev own = { 0 }, *d = pre ? pre : &own;
	struct lf_jv *inv = NULL;
	int r;

	if (interval < 10)
		interval = 10;
	r = lf_json_parse(body, len, &checkin_limits, &inv);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bad(err, errsz, r == -EOVERFLOW ? "body is not JSON: nested too deep" :
			   "body is not JSON (or uses a float, a duplicate key or a control character)");
	r = validate(inv, err, errsz);
	if (r >= 0 && !pre)
		r = lf_store_q(s, "SELECT " DEV_COLUMNS
			       " FROM devices d JOIN device_groups g ON g.id = d.group_id"
			       " JOIN feeds f ON f.id = g.feed_id WHERE d.id = $1", dev_row, d, "i",
			       dev->device_id);
	if (r >= 0 && !d->found)
		r = -ENOENT;
	if (r >= 0)
		r = update_device(s, dev->device_id, inv, d, seen);
	if (r >= 0)
		r = answer(s, dev, inv, d, interval, out);
	lf_checkin_dev_release(&own);
	lf_jv_free(inv);
	return r;
}
