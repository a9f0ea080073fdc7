/* SPDX-License-Identifier: Apache-2.0 */
/* Admin endpoints: bundles, enrolment keys, devices, rollouts, tokens, audit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "portal.h"
#include "repo.h"
#include "rollout.h"

static int cves_of(struct lf_store *s, int64_t ref, json_t **ret)
{
	return lf_store_json(s, "SELECT cve AS id, severity FROM bundle_cves WHERE bundle_ref = $1"
			     " ORDER BY cve", ret, "i", ref);
}

int lf_api_feed_bundles_list(struct lf_req *req)
{
	json_t *rows, *b;
	size_t i;
	int r;

	r = lf_store_json(req->store, "SELECT b.id, b.bundle_id, b.kind, b.level, b.target,"
			  " b.target_arch, b.target_release, b.sha256, b.length, b.withdrawn, b.created"
			  " FROM bundles b JOIN feeds f ON f.id = b.feed_id WHERE f.name = $1"
			  " ORDER BY b.level, b.id", &rows, "s", req->params[0]);
	if (r < 0)
		return r;
	json_array_foreach(rows, i, b) {
		json_t *cves;

		r = cves_of(req->store, json_integer_value(json_object_get(b, "id")), &cves);
		if (r < 0) {
			json_decref(rows);
			return r;
		}
		json_object_set_new(b, "cves", cves);
	}
	return lf_req_json(req, 200, rows);
}

int lf_api_feed_bundles_create(struct lf_req *req)
{
	int64_t feed_id;
	int r;

	if (lf_repo_feed_id(req->store, req->params[0], &feed_id) < 0)
		return lf_req_error(req, -ENOENT, "feed '%s' not found", req->params[0]);
	r = lf_store_begin(req->store);
	if (r < 0)
		return r;
	r = lf_repo_add_bundle(req->store, req->params[0], req->json);
	if (r >= 0)
		r = lf_store_commit(req->store);
	if (r >= 0)
		return lf_req_json(req, 201, json_incref(req->json));
	lf_store_rollback(req->store);
	if (r == -ENOENT)
		return lf_req_error(req, r, "bundle file with this sha256 is not in feed '%s'",
				    req->params[0]);
	if (r == -EEXIST)
		return lf_req_error(req, r, "bundle id exists in this feed");
	if (r == -EBADMSG)
		return lf_req_error(req, r, "length differs from the stored file");
	return lf_req_error(req, r, "bundle facts: id, kind (kernel|user), level, sha256,"
			    " target {build_id, arch, release}, cves [{id, severity}]");
}

/*
 * Whether the feed's stored targets.json (signed offline) marks the bundle
 * withdrawn. Only that makes devices revert it: the portal cannot sign
 * targets, and a revert on its word alone would let a stolen portal strip
 * fixes from the fleet. The answer tells the operator which case this is.
 * The portal does not verify the signature here: devices do.
 */
static bool targets_mark_withdrawn(struct lf_store *s, const char *feed, const char *bundle)
{
	struct lf_repo_file f = { 0 };
	json_t *doc, *targets, *t;
	const char *name;
	bool found = false;

	if (lf_repo_get(s, feed, "targets.json", true, &f) < 0)
		return false;
	doc = json_loadb((const char *)f.content, (size_t)f.length, 0, NULL);
	lf_repo_file_release(&f);
	targets = json_object_get(json_object_get(doc, "signed"), "targets");
	json_object_foreach(targets, name, t) {
		json_t *custom = json_object_get(t, "custom");
		const char *id = json_string_value(json_object_get(custom, "id"));

		if (id && !strcmp(id, bundle) && json_is_true(json_object_get(custom, "withdrawn")))
			found = true;
	}
	json_decref(doc);
	return found;
}

int lf_api_bundle_withdraw(struct lf_req *req)
{
	int64_t ref, halted = 0;
	int r;

	r = lf_store_begin(req->store);
	if (r < 0)
		return r;
	r = lf_store_int(req->store, "SELECT b.id FROM bundles b JOIN feeds f ON f.id = b.feed_id"
			 " WHERE f.name = $1 AND b.bundle_id = $2", &ref, "ss",
			 req->params[0], req->params[1]);
	if (r >= 0)
		r = lf_bundle_withdraw(req->store, ref, "bundle withdrawn", &halted);
	if (r >= 0)
		r = lf_store_commit(req->store);
	if (r < 0) {
		lf_store_rollback(req->store);
		return lf_req_error(req, r, "bundle '%s' not in feed '%s'", req->params[1],
				    req->params[0]);
	}
	return lf_req_json(req, 200, json_pack("{s:s,s:b,s:I,s:b}", "bundle", req->params[1],
					       "withdrawn", 1, "rollouts_halted", (json_int_t)halted,
					       "devices_revert", targets_mark_withdrawn(req->store,
							req->params[0], req->params[1])));
}

int lf_api_keys_list(struct lf_req *req)
{
	json_t *rows;
	int r = lf_store_json(req->store, "SELECT k.id, g.name AS \"group\", k.label, k.uses,"
			      " k.max_uses, k.expires, k.revoked, k.created FROM enrolment_keys k"
			      " JOIN device_groups g ON g.id = k.group_id ORDER BY k.id", &rows, "");

	return r < 0 ? r : lf_req_json(req, 200, rows);
}

int lf_api_keys_create(struct lf_req *req)
{
	json_t *j = req->json, *mu = json_object_get(j, "max_uses"), *ttl = json_object_get(j, "expires_in");
	const char *group = json_string_value(json_object_get(j, "group"));
	const char *label = json_string_value(json_object_get(j, "label"));
	char key[LF_TOKEN_MAX], hash[LF_HASH_HEX], maxs[24], exps[24];
	int64_t group_id, id;
	int r;

	if ((mu && (!json_is_integer(mu) || json_integer_value(mu) < 1)) ||
	    (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1)) ||
	    (label && strlen(label) > 128))
		return lf_req_error(req, -EINVAL, "max_uses and expires_in (seconds) must be positive");
	if (!group || lf_store_int(req->store, "SELECT id FROM device_groups WHERE name = $1",
				   &group_id, "s", group) < 0)
		return lf_req_error(req, -ENOENT, "group '%s' not found", group ? group : "");
	r = lf_auth_token_new("lfe_", key);
	if (r < 0)
		return r;
	lf_auth_hash(key, hash);
	snprintf(maxs, sizeof(maxs), "%lld", (long long)json_integer_value(mu));
	snprintf(exps, sizeof(exps), "%lld", (long long)(lf_now() + json_integer_value(ttl)));
	r = lf_store_int(req->store, "INSERT INTO enrolment_keys (key_hash, group_id, label, max_uses,"
			 " expires, created) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", &id,
			 "sisssi", hash, group_id, label,
			 mu ? maxs : NULL, ttl ? exps : NULL, lf_now());
	if (r >= 0)
		r = lf_req_json(req, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id,
						    "group", group, "enrolment_key", key));
	sodium_memzero(key, sizeof(key));
	return r;
}

int lf_api_key_revoke(struct lf_req *req)
{
	int r = lf_store_q(req->store, "UPDATE enrolment_keys SET revoked = 1 WHERE id = $1",
			   NULL, NULL, "s", req->params[0]);

	if (r == 0)
		return lf_req_error(req, -ENOENT, "enrolment key %s not found", req->params[0]);
	return r < 0 ? lf_req_error(req, -EINVAL, "bad key id") :
		       lf_req_json(req, 200, json_pack("{s:s,s:b}", "id", req->params[0], "revoked", 1));
}

#define DEVICE_COLUMNS "SELECT d.uid AS id, g.name AS \"group\", d.hostname, d.arch, d.distro," \
	" d.kernel_release, d.kernel_build_id, d.kernel_level, d.agent_version, d.last_seen," \
	" d.enrolled, d.revoked"
#define DEVICE_SELECT DEVICE_COLUMNS " FROM devices d JOIN device_groups g ON g.id = d.group_id"

/*
 * One page of devices, with the count of the userspace patches each has
 * applied (the dashboard's column: one index lookup per row, instead of a
 * detail request per device) and the full count in X-Total-Count.
 *
 * The page is chosen first, from devices alone, and only its rows are
 * joined and counted: OFFSET walks every row it skips, and PostgreSQL
 * computed user_patches for each of them when the subquery sat in the
 * outer select (100,000 devices, the last page: 650 ms; this way 45 ms).
 * The total reads the whole devices_group index: with 100,000 devices
 * about 1 ms on SQLite and 10 ms on PostgreSQL (loaded machine), most of a
 * first page's cost there, a fraction of a late page's (docs/PORTAL.md).
 */
#define DEVICE_PAGE(where, limit, offset) DEVICE_COLUMNS ", (SELECT COUNT(*) FROM device_patches p" \
	" WHERE p.device_id = d.id AND p.kind = 'user' AND p.state = 'applied') AS user_patches" \
	" FROM (SELECT id, uid, group_id, hostname, arch, distro, kernel_release, kernel_build_id," \
	" kernel_level, agent_version, last_seen, enrolled, revoked FROM devices" where \
	" ORDER BY id LIMIT " limit " OFFSET " offset ") d" \
	" JOIN device_groups g ON g.id = d.group_id ORDER BY d.id"
#define IN_GROUP " WHERE group_id = (SELECT id FROM device_groups WHERE name = $1)"

int lf_api_devices_list(struct lf_req *req)
{
	const char *group = lf_req_query(req, "group"), *lim = lf_req_query(req, "limit");
	const char *off = lf_req_query(req, "offset");
	int64_t limit = lim ? strtoll(lim, NULL, 10) : 100, offset = off ? strtoll(off, NULL, 10) : 0;
	json_t *rows;
	int r;

	if (limit < 1 || limit > 1000 || offset < 0)
		return lf_req_error(req, -EINVAL, "limit must be 1..1000, offset >= 0");
	if (group)
		r = lf_store_int(req->store, "SELECT COUNT(*) FROM devices" IN_GROUP, &req->total,
				 "s", group);
	else
		r = lf_store_int(req->store, "SELECT COUNT(*) FROM devices", &req->total, "");
	if (r < 0)
		return r;
	if (group)
		r = lf_store_json(req->store, DEVICE_PAGE(IN_GROUP, "$2", "$3"), &rows, "sii", group,
				  limit, offset);
	else
		r = lf_store_json(req->store, DEVICE_PAGE("", "$1", "$2"), &rows, "ii", limit, offset);
	return r < 0 ? r : lf_req_json(req, 200, rows);
}

int lf_api_device_get(struct lf_req *req)
{
	json_t *rows, *dev, *patches = NULL, *events = NULL, *open = NULL, *fixed = NULL;
	int64_t id;
	int r;

	r = lf_store_int(req->store, "SELECT id FROM devices WHERE uid = $1", &id, "s", req->params[0]);
	if (r < 0)
		return lf_req_error(req, r, "device '%s' not found", req->params[0]);
	r = lf_store_json(req->store, DEVICE_SELECT " WHERE d.id = $1", &rows, "i", id);
	if (r < 0)
		return r;
	dev = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	r = lf_store_json(req->store, "SELECT kind, target, level, bundle, state, updated"
			  " FROM device_patches WHERE device_id = $1 ORDER BY kind, target",
			  &patches, "i", id);
	if (r >= 0)
		r = lf_store_json(req->store, "SELECT type, bundle, rollout_id, detail, at FROM events"
				  " WHERE device_id = $1 ORDER BY id DESC LIMIT 20", &events, "i", id);
	if (r >= 0)
		r = lf_report_device_cves(req->store, id, &open, &fixed);
	if (r < 0 || !dev) {
		json_decref(dev);
		json_decref(patches);
		json_decref(events);
		return r < 0 ? r : -ENOENT;
	}
	json_object_set_new(dev, "patches", patches);
	json_object_set_new(dev, "recent_events", events);
	json_object_set_new(dev, "open_cves", open);
	json_object_set_new(dev, "fixed_cves", fixed);
	return lf_req_json(req, 200, dev);
}

int lf_api_device_revoke(struct lf_req *req)
{
	int r;

	r = lf_store_begin(req->store);
	if (r < 0)
		return r;
	r = lf_store_q(req->store, "UPDATE devices SET revoked = 1 WHERE uid = $1", NULL, NULL, "s",
		       req->params[0]);
	if (r == 0)
		r = -ENOENT;
	if (r >= 0)
		r = lf_store_q(req->store, "UPDATE device_credentials SET revoked = 1 WHERE device_id ="
			       " (SELECT id FROM devices WHERE uid = $1)", NULL, NULL, "s", req->params[0]);
	if (r >= 0)
		r = lf_store_commit(req->store);
	if (r < 0) {
		lf_store_rollback(req->store);
		return lf_req_error(req, r, "device '%s' not found", req->params[0]);
	}
	return lf_req_json(req, 200, json_pack("{s:s,s:b}", "id", req->params[0], "revoked", 1));
}

int lf_api_rollouts_list(struct lf_req *req)
{
	json_t *rows;
	int r = lf_store_json(req->store, "SELECT r.id, b.bundle_id AS bundle, f.name AS feed,"
			      " g.name AS \"group\", r.stage, r.state, r.reason, r.canary_percent,"
			      " r.error_threshold, r.created, r.updated FROM rollouts r"
			      " JOIN bundles b ON b.id = r.bundle_ref JOIN feeds f ON f.id = b.feed_id"
			      " JOIN device_groups g ON g.id = r.group_id ORDER BY r.id DESC LIMIT 500",
			      &rows, "");

	return r < 0 ? r : lf_req_json(req, 200, rows);
}

int lf_api_rollouts_create(struct lf_req *req)
{
	json_t *j = req->json, *cp = json_object_get(j, "canary_percent");
	json_t *et = json_object_get(j, "error_threshold");
	struct lf_rollout_spec spec = {
		.bundle_id = json_string_value(json_object_get(j, "bundle")),
		.feed = json_string_value(json_object_get(j, "feed")),
		.group = json_string_value(json_object_get(j, "group")),
		.canary_percent = cp ? (int)json_integer_value(cp) : 10,
		.error_threshold = et ? (int)json_integer_value(et) : 0,
	};
	json_t *out;
	int64_t id;
	int r;

	if (!spec.bundle_id || !spec.feed || !spec.group || (cp && !json_is_integer(cp)) ||
	    (et && !json_is_integer(et)))
		return lf_req_error(req, -EINVAL, "need bundle, feed, group; canary_percent and"
				    " error_threshold are integers 0..100");
	r = lf_rollout_create(req->store, &spec, &id);
	if (r == -ENOENT)
		return lf_req_error(req, r, "bundle or group not found, or bundle withdrawn");
	if (r == -EXDEV)
		return lf_req_error(req, r, "group '%s' does not follow feed '%s'", spec.group, spec.feed);
	if (r == -EINVAL)
		return lf_req_error(req, r, "canary_percent and error_threshold must be 0..100");
	if (r < 0)
		return r;
	r = lf_rollout_get(req->store, id, &out);
	return r < 0 ? r : lf_req_json(req, 201, out);
}

static int rollout_id(struct lf_req *req, int64_t *ret)
{
	char *end;

	*ret = strtoll(req->params[0], &end, 10);
	if (*end || *ret <= 0)
		return lf_req_error(req, -ENOENT, "rollout '%s' not found", req->params[0]);
	return 0;
}

int lf_api_rollout_get(struct lf_req *req)
{
	json_t *out;
	int64_t id;
	int r = rollout_id(req, &id);

	if (r >= 0)
		r = lf_rollout_get(req->store, id, &out);
	if (r < 0)
		return lf_req_error(req, r, "rollout '%s' not found", req->params[0]);
	return lf_req_json(req, 200, out);
}

int lf_api_rollout_action(struct lf_req *req)
{
	int action = lf_rollout_action_parse(req->params[1]);
	json_t *out;
	int64_t id;
	int r = rollout_id(req, &id);

	if (r < 0)
		return r;
	if (action < 0)
		return lf_req_error(req, -ENOENT, "action must be approve, pause or resume");
	r = lf_rollout_apply_action(req->store, id, action, req->who.token_id);
	if (r == -EBUSY)
		return lf_req_error(req, r, "cannot %s this rollout in its current state", req->params[1]);
	if (r < 0)
		return lf_req_error(req, r, "rollout '%s' not found", req->params[0]);
	r = lf_rollout_get(req->store, id, &out);
	return r < 0 ? r : lf_req_json(req, 200, out);
}

int lf_api_tokens_create(struct lf_req *req)
{
	enum lf_access role = lf_access_parse(json_string_value(json_object_get(req->json, "role")));
	const char *label = json_string_value(json_object_get(req->json, "label"));
	char token[LF_TOKEN_MAX];
	int64_t id;
	int r;

	if (role == LF_ACCESS_NONE || (label && strlen(label) > 128))
		return lf_req_error(req, -EINVAL, "role must be admin, operator or viewer");
	r = lf_auth_admin_token_create(req->store, role, label, token, &id);
	if (r < 0)
		return r;
	r = lf_req_json(req, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id,
					    "role", lf_access_name(role), "token", token));
	sodium_memzero(token, sizeof(token));
	return r;
}

int lf_api_tokens_list(struct lf_req *req)
{
	json_t *rows;
	int r = lf_store_json(req->store, "SELECT id, role, label, created, revoked FROM tokens"
			      " ORDER BY id", &rows, "");

	return r < 0 ? r : lf_req_json(req, 200, rows);
}

int lf_api_token_revoke(struct lf_req *req)
{
	char *end;
	int64_t id = strtoll(req->params[0], &end, 10);
	int r;

	if (*end || id <= 0)
		return lf_req_error(req, -ENOENT, "token '%s' not found", req->params[0]);
	if (id == req->who.token_id)
		return lf_req_error(req, -EBUSY, "a token cannot revoke itself");
	r = lf_store_q(req->store, "UPDATE tokens SET revoked = 1 WHERE id = $1", NULL, NULL, "i", id);
	if (r == 0)
		return lf_req_error(req, -ENOENT, "token %lld not found", (long long)id);
	return r < 0 ? r : lf_req_json(req, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id,
							    "revoked", 1));
}

int lf_api_audit_list(struct lf_req *req)
{
	const char *lim = lf_req_query(req, "limit");
	int64_t limit = lim ? strtoll(lim, NULL, 10) : 200;
	json_t *rows;
	int r;

	if (limit < 1 || limit > 10000)
		return lf_req_error(req, -EINVAL, "limit must be 1..10000");
	r = lf_store_json(req->store, "SELECT id, at, token_id, role, action, object, detail"
			  " FROM audit_log ORDER BY id DESC LIMIT $1", &rows, "i", limit);
	return r < 0 ? r : lf_req_json(req, 200, rows);
}
