/* SPDX-License-Identifier: Apache-2.0 */
/* Device events and their effect on patch state and rollouts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkin.h"
#include "rollout.h"

#define MAX_DETAIL 8192

static const char *const event_types[] = { "applied", "reverted", "deferred", "failed" };

struct bundle_ctx {
	int64_t ref;
	char kind[16];
	char target[130];
	int64_t level;
	bool found;
};

static int bundle_row(void *ctx, const struct lf_row *row)
{
	struct bundle_ctx *b = ctx;

	b->ref = strtoll(row->vals[0], NULL, 10);
	snprintf(b->kind, sizeof(b->kind), "%s", row->vals[1]);
	snprintf(b->target, sizeof(b->target), "%s", row->vals[2]);
	b->level = strtoll(row->vals[3], NULL, 10);
	b->found = true;
	return 0;
}

static bool known_type(const char *t)
{
	for (size_t i = 0; i < 4; i++)
		if (t && !strcmp(t, event_types[i]))
			return true;
	return false;
}

static int patch_state(struct lf_store *s, int64_t device_id, const struct bundle_ctx *b,
		       const char *bundle, const char *type, json_t *ev)
{
	json_t *lv = json_object_get(ev, "level");
	int64_t level = b->level;
	int r;

	if (!strcmp(type, "reverted"))
		level = json_is_integer(lv) ? json_integer_value(lv) : 0; /* level now in effect */
	else if (strcmp(type, "applied"))
		return 0;
	r = lf_store_q(s, "INSERT INTO device_patches (device_id, kind, target, level, bundle,"
		       " state, updated) VALUES ($1, $2, $3, $4, $5, $6, $7)"
		       " ON CONFLICT (device_id, kind, target) DO UPDATE SET level = excluded.level,"
		       " bundle = excluded.bundle, state = excluded.state, updated = excluded.updated",
		       NULL, NULL, "ississi", device_id, b->kind, b->target, level, bundle, type,
		       lf_now());
	if (r >= 0 && !strcmp(b->kind, "kernel"))
		r = lf_store_q(s, "UPDATE devices SET kernel_level = $1 WHERE id = $2"
			       " AND kernel_build_id = $3", NULL, NULL, "iis", level, device_id,
			       b->target);
	return r;
}

/* Records one event; *ret_rollout is the rollout it belongs to, or 0. */
static int one_event(struct lf_store *s, const struct lf_principal *dev, json_t *ev,
		     int64_t *ret_rollout, char *err, size_t errsz)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *bundle = json_string_value(json_object_get(ev, "bundle"));
	struct bundle_ctx b = { 0 };
	int64_t rollout = 0;
	char *detail = NULL;
	int r;

	*ret_rollout = 0;
	if (!json_is_object(ev) || !known_type(type) || (bundle && strlen(bundle) > 128) ||
	    (json_object_get(ev, "bundle") && !bundle)) {
		snprintf(err, errsz, "event: type must be applied|reverted|deferred|failed, bundle a string");
		return -EINVAL;
	}
	if (json_object_get(ev, "detail")) {
		detail = json_dumps(json_object_get(ev, "detail"), JSON_COMPACT | JSON_ENCODE_ANY);
		if (!detail || strlen(detail) > MAX_DETAIL) {
			free(detail);
			snprintf(err, errsz, "event: detail longer than %d bytes", MAX_DETAIL);
			return -EOVERFLOW;
		}
	}
	if (bundle) {
		r = lf_store_q(s, "SELECT id, kind, target, level FROM bundles"
			       " WHERE feed_id = $1 AND bundle_id = $2", bundle_row, &b, "is",
			       dev->feed_id, bundle);
		if (r >= 0 && b.found)
			r = lf_store_int(s, "SELECT id FROM rollouts WHERE group_id = $1 AND"
					 " bundle_ref = $2 ORDER BY id DESC LIMIT 1", &rollout, "ii",
					 dev->group_id, b.ref);
		if (r == -ENOENT)
			r = 0;
		if (r < 0)
			goto out;
	}
	{
		char rid[24];

		snprintf(rid, sizeof(rid), "%lld", (long long)rollout);
		r = lf_store_q(s, "INSERT INTO events (device_id, type, bundle, rollout_id, detail, at)"
			       " VALUES ($1, $2, $3, $4, $5, $6)", NULL, NULL, "issssi",
			       dev->device_id, type, bundle, rollout ? rid : NULL, detail, lf_now());
	}
	if (r >= 0 && b.found)
		r = patch_state(s, dev->device_id, &b, bundle, type, ev);
out:
	free(detail);
	*ret_rollout = rollout;
	return r;
}

int lf_checkin_events(struct lf_store *s, const struct lf_principal *dev, json_t *body,
		      char *err, size_t errsz)
{
	json_t *events = json_object_get(body, "events"), *ev;
	int64_t touched[LF_MAX_EVENTS];
	size_t i, ntouched = 0;
	int r;

	if (!json_is_array(events) || json_array_size(events) == 0 ||
	    json_array_size(events) > LF_MAX_EVENTS) {
		snprintf(err, errsz, "body must be {\"events\": [...]} with 1 to %d events",
			 LF_MAX_EVENTS);
		return -EINVAL;
	}
	r = lf_store_begin(s);
	if (r < 0)
		return r;
	json_array_foreach(events, i, ev) {
		int64_t rollout;
		bool seen = false;

		r = one_event(s, dev, ev, &rollout, err, errsz);
		if (r < 0)
			goto err;
		for (size_t k = 0; k < ntouched; k++)
			seen |= touched[k] == rollout;
		if (rollout && !seen)
			touched[ntouched++] = rollout;
	}
	/* A failure over the threshold halts the rollout in this same transaction. */
	for (size_t k = 0; k < ntouched; k++) {
		r = lf_rollout_refresh(s, touched[k]);
		if (r < 0)
			goto err;
	}
	r = lf_store_commit(s);
	if (r < 0)
		goto err;
	return (int)json_array_size(events);
err:
	lf_store_rollback(s);
	return r;
}
