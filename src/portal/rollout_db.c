/* SPDX-License-Identifier: Apache-2.0 */
/* Rollouts in the store: creation with canary choice, counting, actions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"

#define MAX_GROUP_DEVICES 10000000

struct ranked {
	uint64_t rank;
	int64_t device_id;
};

struct rank_ctx {
	int64_t rollout_id;
	struct ranked *v;
	size_t n, cap;
};

static int rank_row(void *ctx, const struct lf_row *row)
{
	struct rank_ctx *c = ctx;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct ranked *v;

		if (cap > MAX_GROUP_DEVICES)
			return -E2BIG;
		v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].device_id = strtoll(row->vals[0], NULL, 10);
	c->v[c->n].rank = lf_rollout_rank(c->rollout_id, row->vals[1]);
	c->n++;
	return 0;
}

static int cmp_rank(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int choose_canaries(struct lf_store *s, int64_t rollout_id, int64_t group_id, int percent)
{
	struct rank_ctx c = { .rollout_id = rollout_id };
	size_t k;
	int r;

	r = lf_store_q(s, "SELECT id, uid FROM devices WHERE group_id = $1 AND revoked = 0",
		       rank_row, &c, "i", group_id);
	if (r < 0)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), cmp_rank);
	k = lf_rollout_canary_count(c.n, percent);
	for (size_t i = 0; i < k && r >= 0; i++)
		r = lf_store_q(s, "INSERT INTO rollout_devices (rollout_id, device_id) VALUES ($1, $2)",
			       NULL, NULL, "ii", rollout_id, c.v[i].device_id);
	if (r >= 0)
		r = (int)k;
out:
	free(c.v);
	return r;
}

int lf_rollout_create(struct lf_store *s, const struct lf_rollout_spec *spec, int64_t *ret_id)
{
	int64_t bundle_ref, group_id, id, now = lf_now();
	int r, k;

	if (spec->canary_percent < 0 || spec->canary_percent > 100 ||
	    spec->error_threshold < 0 || spec->error_threshold > 100)
		return -EINVAL;
	r = lf_store_begin(s);
	if (r < 0)
		return r;
	r = lf_store_int(s, "SELECT b.id FROM bundles b JOIN feeds f ON f.id = b.feed_id"
			 " WHERE b.bundle_id = $1 AND f.name = $2 AND b.withdrawn = 0",
			 &bundle_ref, "ss", spec->bundle_id, spec->feed);
	if (r < 0)
		goto err;
	r = lf_store_int(s, "SELECT g.id FROM device_groups g JOIN feeds f ON f.id = g.feed_id"
			 " WHERE g.name = $1 AND f.name = $2", &group_id, "ss", spec->group, spec->feed);
	if (r == -ENOENT)
		r = -EXDEV; /* the group does not follow this bundle's feed */
	if (r < 0)
		goto err;
	r = lf_store_int(s, "INSERT INTO rollouts (bundle_ref, group_id, stage, canary_percent,"
			 " error_threshold, state, stage_started, created, updated)"
			 " VALUES ($1, $2, $3, $4, $5, 'running',"
			 " (SELECT COALESCE(MAX(id), 0) FROM events), $6, $6) RETURNING id", &id,
			 "iisiii", bundle_ref, group_id,
			 spec->canary_percent > 0 ? "canary" : "all",
			 (int64_t)spec->canary_percent, (int64_t)spec->error_threshold, now);
	if (r < 0)
		goto err;
	k = spec->canary_percent > 0 ? choose_canaries(s, id, group_id, spec->canary_percent) : 0;
	if (k < 0) {
		r = k;
		goto err;
	}
	r = lf_store_commit(s);
	if (r < 0)
		goto err;
	*ret_id = id;
	return 0;
err:
	lf_store_rollback(s);
	return r;
}

struct status_ctx {
	struct lf_rollout_status st;
	int64_t group_id, stage_started;
	bool found;
};

static int status_row(void *ctx, const struct lf_row *row)
{
	struct status_ctx *c = ctx;
	int state = lf_rollout_state_parse(row->vals[0]);
	int stage = lf_rollout_stage_parse(row->vals[1]);

	if (state < 0 || stage < 0)
		return -EPROTO;
	c->st.state = state;
	c->st.stage = stage;
	c->st.error_threshold = atoi(row->vals[2]);
	snprintf(c->st.reason, sizeof(c->st.reason), "%s", row->vals[3] ? row->vals[3] : "");
	c->group_id = strtoll(row->vals[4], NULL, 10);
	c->stage_started = strtoll(row->vals[5], NULL, 10);
	c->found = true;
	return 0;
}

static int load_status(struct lf_store *s, int64_t id, struct status_ctx *c)
{
	int r = lf_store_q(s, "SELECT state, stage, error_threshold, reason, group_id, stage_started"
			   " FROM rollouts WHERE id = $1", status_row, c, "i", id);

	if (r < 0)
		return r;
	return c->found ? 0 : -ENOENT;
}

static int count_stage(struct lf_store *s, int64_t id, const struct status_ctx *c,
		       struct lf_rollout_counts *n)
{
	int r;

	if (c->st.stage == LF_STAGE_CANARY)
		r = lf_store_int(s, "SELECT COUNT(*) FROM rollout_devices WHERE rollout_id = $1",
				 &n->targets, "i", id);
	else
		r = lf_store_int(s, "SELECT COUNT(*) FROM devices WHERE group_id = $1 AND revoked = 0",
				 &n->targets, "i", c->group_id);
	if (r >= 0)
		r = lf_store_int(s, "SELECT COUNT(DISTINCT device_id) FROM events"
				 " WHERE rollout_id = $1 AND type = 'applied'", &n->applied, "i", id);
	if (r >= 0)
		r = lf_store_int(s, "SELECT COUNT(DISTINCT device_id) FROM events"
				 " WHERE rollout_id = $1 AND type = 'failed' AND id > $2",
				 &n->failed, "ii", id, c->stage_started);
	return r;
}

static int save_status(struct lf_store *s, int64_t id, const struct lf_rollout_status *st,
		       bool stage_restarted)
{
	int64_t now = lf_now();

	/* stage_started is an event id: failures after it count against this stage. */
	if (stage_restarted)
		return lf_store_q(s, "UPDATE rollouts SET state = $1, stage = $2, reason = $3,"
				  " updated = $4, stage_started = (SELECT COALESCE(MAX(id), 0) FROM events)"
				  " WHERE id = $5", NULL, NULL, "sssii",
				  lf_rollout_state_name(st->state), lf_rollout_stage_name(st->stage),
				  st->reason, now, id);
	return lf_store_q(s, "UPDATE rollouts SET state = $1, stage = $2, reason = $3,"
			  " updated = $4 WHERE id = $5", NULL, NULL, "sssii",
			  lf_rollout_state_name(st->state), lf_rollout_stage_name(st->stage),
			  st->reason, now, id);
}

/* Inside the caller's transaction. */
int lf_rollout_refresh(struct lf_store *s, int64_t rollout_id)
{
	struct status_ctx c = { 0 };
	struct lf_rollout_counts n = { 0 };
	int r;

	r = load_status(s, rollout_id, &c);
	if (r < 0 || c.st.state != LF_ROLLOUT_RUNNING)
		return r;
	r = count_stage(s, rollout_id, &c, &n);
	if (r < 0)
		return r;
	if (!lf_rollout_evaluate(&c.st, &n))
		return 0;
	r = save_status(s, rollout_id, &c.st, false);
	return r < 0 ? r : 1;
}

int lf_rollout_apply_action(struct lf_store *s, int64_t rollout_id,
			    enum lf_rollout_action a, int64_t token_id)
{
	static const char *const names[] = { "approve", "pause", "resume" };
	struct status_ctx c = { 0 };
	int r, changed;

	r = lf_store_begin(s);
	if (r < 0)
		return r;
	r = load_status(s, rollout_id, &c);
	if (r < 0)
		goto err;
	changed = lf_rollout_act(&c.st, a);
	if (changed < 0) {
		r = -EBUSY; /* not allowed in this state: a conflict */
		goto err;
	}
	r = save_status(s, rollout_id, &c.st, changed > 0);
	if (r >= 0)
		r = lf_store_q(s, "INSERT INTO rollout_approvals (rollout_id, token_id, action, at)"
			       " VALUES ($1, $2, $3, $4)", NULL, NULL, "iisi",
			       rollout_id, token_id, names[a], lf_now());
	if (r >= 0)
		r = lf_rollout_refresh(s, rollout_id);
	if (r >= 0)
		r = lf_store_commit(s);
	if (r < 0)
		goto err;
	return 0;
err:
	lf_store_rollback(s);
	return r;
}

int lf_rollout_get(struct lf_store *s, int64_t rollout_id, json_t **ret)
{
	struct status_ctx c = { 0 };
	struct lf_rollout_counts n = { 0 };
	json_t *rows, *obj, *approvals = NULL, *canaries = NULL;
	int r;

	r = lf_store_json(s, "SELECT r.id, b.bundle_id AS bundle, f.name AS feed, g.name AS \"group\","
			  " r.stage, r.state, r.reason, r.canary_percent, r.error_threshold,"
			  " r.created, r.updated FROM rollouts r JOIN bundles b ON b.id = r.bundle_ref"
			  " JOIN feeds f ON f.id = b.feed_id JOIN device_groups g ON g.id = r.group_id"
			  " WHERE r.id = $1", &rows, "i", rollout_id);
	if (r < 0)
		return r;
	obj = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	if (!obj)
		return -ENOENT;
	r = load_status(s, rollout_id, &c);
	if (r >= 0)
		r = count_stage(s, rollout_id, &c, &n);
	if (r >= 0)
		r = lf_store_json(s, "SELECT action, token_id, at FROM rollout_approvals"
				  " WHERE rollout_id = $1 ORDER BY id", &approvals, "i", rollout_id);
	if (r >= 0)
		r = lf_store_json(s, "SELECT d.uid AS device FROM rollout_devices rd"
				  " JOIN devices d ON d.id = rd.device_id WHERE rd.rollout_id = $1"
				  " ORDER BY d.uid LIMIT 1000", &canaries, "i", rollout_id);
	if (r < 0) {
		json_decref(obj);
		json_decref(approvals);
		return r;
	}
	json_object_set_new(obj, "approvals", approvals);
	json_object_set_new(obj, "canaries", canaries);
	json_object_set_new(obj, "stage_devices", json_integer(n.targets));
	json_object_set_new(obj, "applied", json_integer(n.applied));
	json_object_set_new(obj, "failed", json_integer(n.failed));
	*ret = obj;
	return 0;
}

int lf_bundle_withdraw(struct lf_store *s, int64_t ref, const char *reason, int64_t *ret_halted)
{
	int64_t halted = 0;
	int marked, r;

	marked = lf_store_q(s, "UPDATE bundles SET withdrawn = 1 WHERE id = $1 AND withdrawn = 0",
			    NULL, NULL, "i", ref);
	if (marked < 0)
		return marked;
	r = lf_store_int(s, "SELECT COUNT(*) FROM rollouts WHERE bundle_ref = $1"
			 " AND state IN ('running', 'paused')", &halted, "i", ref);
	/* Rollouts of a withdrawn bundle stop at once: no device is told to install it. */
	if (r >= 0)
		r = lf_store_q(s, "UPDATE rollouts SET state = 'halted', reason = $1, updated = $2"
			       " WHERE bundle_ref = $3 AND state IN ('running', 'paused')",
			       NULL, NULL, "sii", reason, lf_now(), ref);
	if (r < 0)
		return r;
	if (ret_halted)
		*ret_halted = halted;
	return marked > 0;
}
