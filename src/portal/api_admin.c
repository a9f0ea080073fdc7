/* SPDX-License-Identifier: Apache-2.0 */
/* Admin endpoints: groups, feeds, bundles, enrolment keys, tokens, audit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "repo.h"

#define MAX_POLICY 4096

static const char *body_str(struct lf_req *req, const char *key)
{
	return json_string_value(json_object_get(req->json, key));
}

static int list(struct lf_req *req, int r, json_t *rows)
{
	if (r < 0)
		return r;
	return lf_req_json(req, 200, rows);
}

/* The first row of a query as an object, or -ENOENT. */
static int one(struct lf_req *req, int r, json_t *rows, json_t **ret)
{
	if (r < 0)
		return r;
	*ret = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return *ret ? 0 : -ENOENT;
}

#define GROUP_SELECT "SELECT g.id, g.name, f.name AS feed, g.pin_level, g.policy," \
	" (SELECT COUNT(*) FROM devices d WHERE d.group_id = g.id AND d.revoked = 0) AS devices" \
	" FROM device_groups g JOIN feeds f ON f.id = g.feed_id"

int lf_api_groups_list(struct lf_req *req)
{
	json_t *rows = NULL;
	int r = lf_store_json(req->store, GROUP_SELECT " ORDER BY g.name", &rows, "");

	return list(req, r, rows);
}

int lf_api_group_get(struct lf_req *req)
{
	json_t *rows = NULL, *g;
	int r;

	r = lf_store_json(req->store, GROUP_SELECT " WHERE g.name = $1", &rows, "s", req->params[0]);
	r = one(req, r, rows, &g);
	if (r < 0)
		return lf_req_error(req, r, "group '%s' not found", req->params[0]);
	return lf_req_json(req, 200, g);
}

int lf_api_groups_create(struct lf_req *req)
{
	const char *name = body_str(req, "name"), *feed = body_str(req, "feed");
	int64_t feed_id, id;
	int r;

	if (!lf_repo_valid_feed(name))
		return lf_req_error(req, -EINVAL, "name: 1 to 64 of a-z 0-9 . _ -");
	if (!feed || lf_repo_feed_id(req->store, feed, &feed_id) < 0)
		return lf_req_error(req, -ENOENT, "feed '%s' not found", feed ? feed : "");
	r = lf_store_int(req->store, "INSERT INTO device_groups (name, feed_id, created)"
			 " VALUES ($1, $2, $3) RETURNING id", &id, "sii", name, feed_id, lf_now());
	if (r < 0)
		return lf_req_error(req, r, "group '%s' exists", name);
	return lf_req_json(req, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id,
					       "name", name, "feed", feed));
}

/* Policy: what the device agent schedules by. Unknown keys are refused. */
static int check_policy(struct lf_req *req)
{
	static const char *const keys[] = { "maintenance_windows", "max_load", "min_battery",
		"busy_command", "defer_while_running", "max_deferral_hours", "metered_download" };
	const char *key;
	json_t *v;
	char *text;
	size_t len;

	if (!json_is_object(req->json))
		return lf_req_error(req, -EINVAL, "policy must be a JSON object");
	json_object_foreach(req->json, key, v) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			ok |= !strcmp(key, keys[i]);
		if (!ok)
			return lf_req_error(req, -EINVAL, "policy: unknown key '%.64s'", key);
	}
	v = json_object_get(req->json, "maintenance_windows");
	if (v && !json_is_array(v))
		return lf_req_error(req, -EINVAL, "policy: maintenance_windows must be an array");
	text = json_dumps(req->json, JSON_COMPACT | JSON_SORT_KEYS);
	len = text ? strlen(text) : 0;
	free(text);
	if (len > MAX_POLICY)
		return lf_req_error(req, -EOVERFLOW, "policy longer than %d bytes", MAX_POLICY);
	return 0;
}

int lf_api_group_policy(struct lf_req *req)
{
	char *text;
	int r;

	r = check_policy(req);
	if (r < 0)
		return r;
	text = json_dumps(req->json, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	r = lf_store_q(req->store, "UPDATE device_groups SET policy = $1 WHERE name = $2",
		       NULL, NULL, "ss", text, req->params[0]);
	free(text);
	if (r == 0)
		r = lf_req_error(req, -ENOENT, "group '%s' not found", req->params[0]);
	return r < 0 ? r : lf_api_group_get(req);
}

int lf_api_group_pin(struct lf_req *req)
{
	json_t *v = json_object_get(req->json, "level");
	char level[24];
	int r;

	if (!json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) >= 0))
		return lf_req_error(req, -EINVAL, "level must be a non-negative integer or null");
	snprintf(level, sizeof(level), "%lld", (long long)json_integer_value(v));
	r = lf_store_q(req->store, "UPDATE device_groups SET pin_level = $1 WHERE name = $2",
		       NULL, NULL, "ss", json_is_null(v) ? NULL : level, req->params[0]);
	if (r == 0)
		r = lf_req_error(req, -ENOENT, "group '%s' not found", req->params[0]);
	return r < 0 ? r : lf_api_group_get(req);
}

int lf_api_feeds_list(struct lf_req *req)
{
	json_t *rows = NULL;
	int r = lf_store_json(req->store, "SELECT f.id, f.name, f.created,"
			      " (SELECT COUNT(*) FROM bundles b WHERE b.feed_id = f.id) AS bundles"
			      " FROM feeds f ORDER BY f.name", &rows, "");

	return list(req, r, rows);
}

int lf_api_feeds_create(struct lf_req *req)
{
	const char *name = body_str(req, "name");
	int64_t id;
	int r;

	if (!lf_repo_valid_feed(name))
		return lf_req_error(req, -EINVAL, "name: 1 to 64 of a-z 0-9 . _ -");
	r = lf_store_int(req->store, "INSERT INTO feeds (name, created) VALUES ($1, $2) RETURNING id",
			 &id, "si", name, lf_now());
	if (r < 0)
		return lf_req_error(req, r, "feed '%s' exists", name);
	return lf_req_json(req, 201, json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name));
}

int lf_api_feed_file_put(struct lf_req *req)
{
	const char *file = req->params[1];
	char name[LF_MAX_PARAM_LEN + 16];
	struct lf_repo_file f;
	int64_t feed_id;
	int r;

	if (lf_repo_feed_id(req->store, req->params[0], &feed_id) < 0)
		return lf_req_error(req, -ENOENT, "feed '%s' not found", req->params[0]);
	snprintf(name, sizeof(name), "%s%s", strstr(file, ".lfb") ? "bundles/" : "", file);
	r = lf_repo_put(req->store, req->portal->repo_ops, req->params[0], name,
			req->body ? req->body : "", req->body_len);
	if (r == -EBADMSG && !strncmp(name, "bundles/", 8))
		return lf_req_error(req, r, "bundle name must be <sha256 of its content>.lfb");
	if (r == -EBADMSG)
		return lf_req_error(req, r, "%s: not signed metadata the portal can list in its "
				    "snapshot", name);
	if (r == -EINVAL)
		return lf_req_error(req, r, "file must be root|targets|snapshot|timestamp.json,"
				    " N.root.json, N.snapshot.json or <sha256>.lfb");
	if (r < 0)
		return r;
	r = lf_repo_get(req->store, req->params[0], name, false, &f);
	if (r < 0)
		return r;
	return lf_req_json(req, 201, json_pack("{s:s,s:s,s:I}", "name", name, "sha256", f.sha256,
					       "length", (json_int_t)f.length));
}
