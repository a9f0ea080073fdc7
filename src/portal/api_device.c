/* SPDX-License-Identifier: Apache-2.0 */
/* Device endpoints: enrolment, check-in, events, repository files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "checkin.h"
#include "portal.h"
#include "repo.h"

int lf_api_health(struct lf_req *req)
{
	return lf_req_json(req, 200, json_pack("{s:s,s:s}", "status", "ok",
					       "store", lf_store_backend_name(req->store)));
}

struct key_ctx {
	int64_t id, group_id, uses, max_uses, expires;
	bool found;
};

static int key_row(void *ctx, const struct lf_row *row)
{
	struct key_ctx *k = ctx;

	k->id = strtoll(row->vals[0], NULL, 10);
	k->group_id = strtoll(row->vals[1], NULL, 10);
	k->uses = strtoll(row->vals[2], NULL, 10);
	k->max_uses = row->vals[3] ? strtoll(row->vals[3], NULL, 10) : -1;
	k->expires = row->vals[4] ? strtoll(row->vals[4], NULL, 10) : -1;
	k->found = true;
	return 0;
}

static int enrol_tx(struct lf_req *req, const struct key_ctx *k, const char *hostname,
		    char uid[33], char cred[LF_TOKEN_MAX])
{
	char hash[LF_HASH_HEX];
	int64_t device_id, now = lf_now();
	int r;

	lf_auth_random_hex(uid, 16);
	r = lf_auth_token_new("lfd_", cred);
	if (r < 0)
		return r;
	lf_auth_hash(cred, hash);
	r = lf_store_begin(req->store);
	if (r < 0)
		return r;
	/* The use count is checked again under the write lock. */
	r = lf_store_q(req->store, "UPDATE enrolment_keys SET uses = uses + 1 WHERE id = $1"
		       " AND revoked = 0 AND (max_uses IS NULL OR uses < max_uses)",
		       NULL, NULL, "i", k->id);
	if (r == 0)
		r = -EACCES;
	if (r >= 0)
		r = lf_store_int(req->store, "INSERT INTO devices (uid, group_id, hostname, enrolled)"
				 " VALUES ($1, $2, $3, $4) RETURNING id", &device_id, "sisi",
				 uid, k->group_id, hostname, now);
	if (r >= 0)
		r = lf_store_q(req->store, "INSERT INTO device_credentials (device_id, token_hash, created)"
			       " VALUES ($1, $2, $3)", NULL, NULL, "isi", device_id, hash, now);
	if (r >= 0)
		r = lf_store_commit(req->store);
	if (r < 0)
		lf_store_rollback(req->store);
	return r;
}

int lf_api_enrol(struct lf_req *req)
{
	const char *key = json_string_value(json_object_get(req->json, "enrolment_key"));
	const char *hostname = json_string_value(json_object_get(req->json, "hostname"));
	struct lf_portal_metrics *m = &req->portal->metrics;
	struct key_ctx k = { 0 };
	char hash[LF_HASH_HEX], uid[33], cred[LF_TOKEN_MAX];
	int r;

	if (!key || strncmp(key, "lfe_", 4) || strlen(key) >= LF_TOKEN_MAX)
		return lf_req_error(req, -EINVAL, "enrolment_key missing or malformed");
	if (hostname && strlen(hostname) > 255)
		return lf_req_error(req, -EINVAL, "hostname longer than 255 bytes");
	lf_auth_hash(key, hash);
	r = lf_store_q(req->store, "SELECT id, group_id, uses, max_uses, expires FROM enrolment_keys"
		       " WHERE key_hash = $1 AND revoked = 0", key_row, &k, "s", hash);
	if (r < 0)
		return r;
	if (!k.found || (k.expires >= 0 && k.expires < lf_now()) ||
	    (k.max_uses >= 0 && k.uses >= k.max_uses)) {
		atomic_fetch_add(&m->enrol_refused, 1);
		return lf_req_error(req, -EACCES, "enrolment key unknown, revoked, expired or used up");
	}
	r = enrol_tx(req, &k, hostname, uid, cred);
	if (r < 0) {
		if (r == -EACCES)
			atomic_fetch_add(&m->enrol_refused, 1);
		return lf_req_error(req, r, "enrolment failed");
	}
	atomic_fetch_add(&m->enrolments, 1);
	r = lf_req_json(req, 201, json_pack("{s:s,s:s}", "device", uid, "credential", cred));
	sodium_memzero(cred, sizeof(cred));
	return r;
}

/* The body is parsed by lf_checkin itself (no jansson on this path). */
int lf_api_checkin(struct lf_req *req)
{
	struct lf_buf out = LF_BUF_INIT(LF_MAX_DEVICE_BODY);
	int r;

	r = lf_checkin(req->store, &req->who, req->checkin.found ? &req->checkin : NULL,
		       req->body, req->body_len,
		       req->portal->cfg.checkin_interval, &req->portal->seen, &out,
		       req->error, sizeof(req->error));
	if (r < 0) {
		lf_buf_release(&out);
		return r;
	}
	atomic_fetch_add(&req->portal->metrics.checkins, 1);
	if (r > 0)
		atomic_fetch_add(&req->portal->metrics.checkin_updates, 1);
	req->resp_data = (unsigned char *)lf_buf_detach(&out, &req->resp_len);
	req->content_type = "application/json";
	req->status = 200;
	return 0;
}

int lf_api_events(struct lf_req *req)
{
	int r;

	r = lf_checkin_events(req->store, &req->who, req->json, req->error, sizeof(req->error));
	if (r < 0)
		return r;
	atomic_fetch_add(&req->portal->metrics.events, (unsigned)r);
	return lf_req_json(req, 202, json_pack("{s:i}", "accepted", r));
}

static int serve_file(struct lf_req *req, const char *feed, const char *path)
{
	const char *inm = lf_req_header(req, "If-None-Match");
	struct lf_repo_file f;
	char stored[LF_REPO_NAME_MAX];
	const char *name = stored;
	int64_t feed_id;
	int r;

	if (!lf_repo_valid_feed(feed) || lf_repo_served_name(feed, path, stored, sizeof(stored)) < 0)
		return -ENOENT;
	if (req->who.device_id) {
		/* A device reads its own feed only. */
		r = lf_repo_feed_id(req->store, feed, &feed_id);
		if (r < 0 || feed_id != req->who.feed_id)
			return -ENOENT;
	}
	r = lf_repo_get(req->store, feed, name, false, &f);
	if (r < 0)
		return r;
	snprintf(req->etag, sizeof(req->etag), "\"%s\"", f.sha256);
	req->content_type = strstr(name, ".json") ? "application/json" : "application/octet-stream";
	if (inm && (strstr(inm, req->etag) || !strcmp(inm, "*"))) {
		atomic_fetch_add(&req->portal->metrics.repo_not_modified, 1);
		req->status = 304;
		return 0;
	}
	r = lf_repo_get(req->store, feed, name, true, &f);
	if (r < 0)
		return r;
	req->resp_data = f.content;
	req->resp_len = (size_t)f.length;
	atomic_fetch_add(&req->portal->metrics.repo_bytes, (uint64_t)f.length);
	req->status = 200;
	return 0;
}

int lf_api_repo_get(struct lf_req *req)
{
	return serve_file(req, req->params[0], req->params[1]);
}

int lf_api_repo_bundle_get(struct lf_req *req)
{
	char name[LF_MAX_PARAM_LEN + 16];

	snprintf(name, sizeof(name), "bundles/%s", req->params[1]);
	return serve_file(req, req->params[0], name);
}

/* targets/<feed>.json and, with consistent snapshots, targets/<feed>/N.json. */
int lf_api_repo_targets_get(struct lf_req *req)
{
	char name[2 * LF_MAX_PARAM_LEN + 16];

	snprintf(name, sizeof(name), "targets/%s", req->params[1]);
	return serve_file(req, req->params[0], name);
}

int lf_api_repo_targets_version_get(struct lf_req *req)
{
	char name[2 * LF_MAX_PARAM_LEN + 16];

	snprintf(name, sizeof(name), "targets/%s/%s", req->params[1], req->params[2]);
	return serve_file(req, req->params[0], name);
}
