/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "checkin.h"
#include "rollout.h"

#define MAX_DETAIL 8192

static int bad(char *err, size_t errsz, const char *what)
{
	snprintf(err, errsz, "%s", what);
	return -EINVAL;
}

/* An optional string member of at most max bytes. */
static bool opt_str(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);

	return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) <= max);
}

static bool opt_uint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return !v || (json_is_integer(v) && json_integer_value(v) >= 0);
}

static int validate(json_t *inv, char *err, size_t errsz)
{
	json_t *kernel = json_object_get(inv, "kernel"), *user = json_object_get(inv, "userspace");
	json_t *doctor = json_object_get(inv, "doctor"), *p;
	size_t i;

	if (!json_is_object(inv))
		return bad(err, errsz, "inventory must be a JSON object");
	if (!opt_str(inv, "hostname", 255) || !opt_str(inv, "arch", 32) ||
	    !opt_str(inv, "distro", 128) || !opt_str(inv, "agent_version", 64) ||
	    !opt_str(inv, "policy_state", 64) || !opt_uint(inv, "uptime") ||
	    !opt_str(inv, "timestamp_etag", 70) || !opt_str(inv, "policy_etag", 70))
		return bad(err, errsz, "inventory: a field has the wrong type or is too long");
	if (kernel && (!json_is_object(kernel) || !opt_str(kernel, "release", 128) ||
		       !opt_str(kernel, "build_id", 128) || !opt_uint(kernel, "level")))
		return bad(err, errsz, "inventory: kernel must be {release, build_id, level}");
	if (doctor && !json_is_string(doctor) && !json_is_object(doctor))
		return bad(err, errsz, "inventory: doctor must be a string or an object");
	if (user && (!json_is_array(user) || json_array_size(user) > LF_MAX_USER_PATCHES))
		return bad(err, errsz, "inventory: userspace must be an array of at most 256");
	json_array_foreach(user, i, p)
		if (!json_is_object(p) || !opt_uint(p, "pid") || !opt_str(p, "exe", 4096) ||
		    !opt_str(p, "build_id", 128) || !opt_str(p, "bundle", 128) || !opt_uint(p, "level"))
			return bad(err, errsz, "inventory: bad userspace entry");
	return 0;
}

/* Hash of what the device reported, without what changes on every call. */
static int inventory_digest(json_t *inv, char **ret_text, char hex[65])
{
	json_t *copy = json_deep_copy(inv);
	unsigned char h[crypto_hash_sha256_BYTES];
	char *text;

	if (!copy)
		return -ENOMEM;
	json_object_del(copy, "uptime");
	json_object_del(copy, "timestamp_etag");
	json_object_del(copy, "policy_etag");
	text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	if (!text)
		return -ENOMEM;
	crypto_hash_sha256(h, (unsigned char *)text, strlen(text));
	sodium_bin2hex(hex, 65, h, sizeof(h));
	*ret_text = text;
	return 0;
}

struct dev_ctx {
	char inv_hash[65];
	char *policy;
	char feed[72];
	char build_id[130];
	int64_t pin_level; /* -1: not pinned */
	int64_t kernel_level;
	char ts_etag[72];  /* of the feed's timestamp.json, quoted; "" when none */
	bool rolling;      /* the group has a running rollout */
	bool found;
};

static int dev_row(void *ctx, const struct lf_row *row)
{
	struct dev_ctx *d = ctx;

	snprintf(d->inv_hash, sizeof(d->inv_hash), "%s", row->vals[0] ? row->vals[0] : "");
	d->policy = strdup(row->vals[1] ? row->vals[1] : "{}");
	d->pin_level = row->vals[2] ? strtoll(row->vals[2], NULL, 10) : -1;
	snprintf(d->feed, sizeof(d->feed), "%s", row->vals[3]);
	snprintf(d->build_id, sizeof(d->build_id), "%s", row->vals[4] ? row->vals[4] : "");
	d->kernel_level = strtoll(row->vals[5], NULL, 10);
	if (row->vals[6])
		snprintf(d->ts_etag, sizeof(d->ts_etag), "\"%s\"", row->vals[6]);
	d->rolling = strtoll(row->vals[7], NULL, 10) > 0;
	d->found = true;
	return d->policy ? 0 : -ENOMEM;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
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

static int store_inventory(struct lf_store *s, int64_t device_id, json_t *inv,
			   const char *text, const char *hash)
{
	json_t *kernel = json_object_get(inv, "kernel"), *user = json_object_get(inv, "userspace"), *p;
	int64_t klevel = json_integer_value(json_object_get(kernel, "level"));
	size_t i;
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
	json_array_foreach(user, i, p) {
		if (r < 0 || !str(p, "build_id"))
			continue;
		r = record_patch(s, device_id, "user", str(p, "build_id"),
				 json_integer_value(json_object_get(p, "level")), str(p, "bundle"),
				 "applied");
	}
	return r;
}

void lf_seen_init(struct lf_seen_batch *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
}

void lf_seen_release(struct lf_seen_batch *b)
{
	pthread_mutex_destroy(&b->lock);
}

int lf_seen_flush(struct lf_seen_batch *b, struct lf_store *s, bool force)
{
	int64_t *ids, now = lf_now();
	size_t n;
	int r;

	pthread_mutex_lock(&b->lock);
	n = b->n;
	if (n == 0 || (!force && now <= b->since && n < LF_SEEN_MAX)) {
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	ids = malloc(n * sizeof(*ids));
	if (!ids) {
		pthread_mutex_unlock(&b->lock);
		return -ENOMEM;
	}
	memcpy(ids, b->ids, n * sizeof(ids[0]));
	b->n = 0;
	pthread_mutex_unlock(&b->lock);
	r = lf_store_touch_devices(s, now, ids, n);
	free(ids);
	return r < 0 ? r : (int)n;
}

/* Queues an idle device; returns true when the batch is full. */
static bool seen_add(struct lf_seen_batch *b, int64_t id)
{
	bool full;

	pthread_mutex_lock(&b->lock);
	if (b->n == 0)
		b->since = lf_now();
	if (b->n < LF_SEEN_MAX)
		b->ids[b->n++] = id;
	full = b->n == LF_SEEN_MAX;
	pthread_mutex_unlock(&b->lock);
	return full;
}

static int update_device(struct lf_store *s, int64_t device_id, json_t *inv, struct dev_ctx *d,
			 struct lf_seen_batch *seen)
{
	char hash[65], *text = NULL;
	int r;

	r = inventory_digest(inv, &text, hash);
	if (r < 0)
		return r;
	if (!strcmp(hash, d->inv_hash)) {
		free(text);
		/* Idle: last_seen only, batched when the server gives a batch. */
		if (seen)
			return seen_add(seen, device_id) ? lf_seen_flush(seen, s, true) : 0;
		return lf_store_q(s, "UPDATE devices SET last_seen = $1 WHERE id = $2", NULL, NULL,
				  "ii", lf_now(), device_id);
	}
	r = lf_store_begin(s);
	if (r >= 0) {
		r = store_inventory(s, device_id, inv, text, hash);
		if (r >= 0)
			r = lf_store_commit(s);
		else
			lf_store_rollback(s);
	}
	free(text);
	if (r >= 0 && str(json_object_get(inv, "kernel"), "build_id")) {
		json_t *k = json_object_get(inv, "kernel");

		snprintf(d->build_id, sizeof(d->build_id), "%s", str(k, "build_id"));
		d->kernel_level = json_integer_value(json_object_get(k, "level"));
	}
	return r;
}

struct install_ctx {
	const struct dev_ctx *d;
	json_t *list;
};

static int install_row(void *ctx, const struct lf_row *row)
{
	struct install_ctx *c = ctx;
	const char *kind = row->vals[1], *target = row->vals[3];
	int64_t level = strtoll(row->vals[2], NULL, 10);
	json_t *item;

	if (c->d->pin_level >= 0 && level > c->d->pin_level)
		return 0; /* the group is pinned below this level */
	if (!strcmp(kind, "kernel") && (strcmp(target, c->d->build_id) || level <= c->d->kernel_level))
		return 0; /* not for this kernel, or already at this level */
	item = json_pack("{s:s,s:s,s:I,s:s,s:s,s:I,s:I}", "bundle", row->vals[0], "kind", kind,
			 "level", (json_int_t)level, "target", target, "sha256", row->vals[4],
			 "length", (json_int_t)strtoll(row->vals[5], NULL, 10),
			 "rollout", (json_int_t)strtoll(row->vals[6], NULL, 10));
	return json_array_append_new(c->list, item) < 0 ? -ENOMEM : 0;
}

static int install_list(struct lf_store *s, const struct lf_principal *dev,
			const struct dev_ctx *d, json_t **ret)
{
	struct install_ctx c = { d, json_array() };
	int r;

	if (!c.list)
		return -ENOMEM;
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
	if (r < 0) {
		json_decref(c.list);
		return r;
	}
	*ret = c.list;
	return 0;
}

static void policy_etag(const struct dev_ctx *d, char ret[24])
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

static int answer(struct lf_store *s, const struct lf_principal *dev, json_t *inv,
		  const struct dev_ctx *d, unsigned interval, json_t **ret)
{
	const char *dev_ts = str(inv, "timestamp_etag"), *dev_pol = str(inv, "policy_etag");
	const char *ts = d->ts_etag;
	char pol[24];
	json_t *resp, *install = NULL;
	unsigned next;
	int r;

	/* Most check-ins meet no running rollout: one query fewer. */
	r = d->rolling ? install_list(s, dev, d, &install) : 0;
	if (r < 0)
		return r;
	policy_etag(d, pol);
	/* +-10% jitter spreads a fleet that started together. */
	next = interval - interval / 10 + randombytes_uniform(interval / 5 + 1);
	resp = json_pack("{s:I,s:s}", "next_checkin", (json_int_t)next, "feed", d->feed);
	if (!resp) {
		json_decref(install);
		return -ENOMEM;
	}
	/* The device's timestamp.json is current unless the ETags differ. */
	json_object_set_new(resp, "update", json_boolean(ts[0] && (!dev_ts || strcmp(dev_ts, ts))));
	if (ts[0] && (!dev_ts || strcmp(dev_ts, ts)))
		json_object_set_new(resp, "timestamp_etag", json_string(ts));
	if (!dev_pol || strcmp(dev_pol, pol)) {
		json_t *policy = json_loads(d->policy, 0, NULL);

		json_object_set_new(resp, "policy", policy ? policy : json_object());
		if (d->pin_level >= 0)
			json_object_set_new(json_object_get(resp, "policy"), "pin_level",
					    json_integer(d->pin_level));
	}
	json_object_set_new(resp, "policy_etag", json_string(pol));
	if (install && json_array_size(install))
		json_object_set_new(resp, "install", install);
	else
		json_decref(install);
	*ret = resp;
	return 0;
}

int lf_checkin(struct lf_store *s, const struct lf_principal *dev, json_t *inv,
	       unsigned interval, struct lf_seen_batch *seen, json_t **ret_resp,
	       char *err, size_t errsz)
{
	struct dev_ctx d = { 0 };
	int r;

	if (interval < 10)
		interval = 10;
	r = validate(inv, err, errsz);
	if (r < 0)
		return r;
	r = lf_store_q(s, "SELECT d.inventory_hash, g.policy, g.pin_level, f.name,"
		       " d.kernel_build_id, d.kernel_level,"
		       " (SELECT r.sha256 FROM repo_files r WHERE r.feed_id = f.id"
		       "  AND r.name = 'timestamp.json') AS ts,"
		       " (SELECT COUNT(*) FROM rollouts o WHERE o.group_id = g.id"
		       "  AND o.state = 'running') AS rolling"
		       " FROM devices d JOIN device_groups g ON g.id = d.group_id"
		       " JOIN feeds f ON f.id = g.feed_id WHERE d.id = $1", dev_row, &d, "i",
		       dev->device_id);
	if (r >= 0 && !d.found)
		r = -ENOENT;
	if (r >= 0)
		r = update_device(s, dev->device_id, inv, &d, seen);
	if (r >= 0)
		r = answer(s, dev, inv, &d, interval, ret_resp);
	free(d.policy);
	return r;
}
