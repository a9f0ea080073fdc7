/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registration and check-in state of a device (fleet.h), and the one way
 * the agent talks to its portal: a bounded JSON POST with the credential.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/file.h"
#include "livefix/http.h"
#include "livefix/json.h"

#include "fleet.h"

#define CONF_MAX (64 << 10) /* fleet.json holds up to LF_FLEET_DEFER_MAX deferrals */

static int path_of(const char *dir, const char *name, char *ret, size_t size)
{
	return snprintf(ret, size, "%s/%s", dir, name) < (int)size ? 0 : -ENAMETOOLONG;
}

/* Reads a small JSON object file of the state directory. */
static int read_obj(const char *dir, const char *name, struct lf_jv **ret)
{
	char path[4096], *data;
	size_t len;
	int r = path_of(dir, name, path, sizeof(path));

	if (r == 0)
		r = lf_read_file(path, CONF_MAX, &data, &len);
	if (r < 0)
		return r;
	r = lf_json_parse(data, len, &lf_json_default_limits, ret);
	free(data);
	if (r == 0 && (*ret)->type != LF_JOBJ) {
		lf_jv_free(*ret);
		r = -EBADMSG;
	}
	return r;
}

static int write_json(const char *dir, const char *name, struct lf_json *j, mode_t mode)
{
	char path[4096];
	int r = lf_json_finish(j);

	if (r == 0)
		r = path_of(dir, name, path, sizeof(path));
	if (r == 0)
		r = lf_write_file_atomic(path, j->out->data, j->out->len, mode);
	lf_buf_release(j->out);
	return r;
}

/* Copies an optional string member; a missing one leaves ret as it is. */
static int copy_str(const struct lf_jv *o, const char *key, char *ret, size_t size)
{
	const char *s;
	int r = lf_jv_get_str(o, key, size - 1, &s);

	if (r == -EBADMSG && !lf_jv_get(o, key))
		return 0;
	if (r == 0)
		snprintf(ret, size, "%s", s);
	return r;
}

int lf_fleet_conf_load(const char *state_dir, struct lf_fleet_conf *ret)
{
	char path[4096];
	struct lf_jv *v;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = read_obj(state_dir, "portal.json", &v);
	if (r < 0)
		return r;
	r = copy_str(v, "url", ret->url, sizeof(ret->url));
	if (r == 0)
		r = copy_str(v, "ca", ret->ca, sizeof(ret->ca));
	if (r == 0)
		r = copy_str(v, "device", ret->device, sizeof(ret->device));
	lf_jv_free(v);
	if (r == 0 && !ret->url[0])
		r = -EBADMSG;
	if (r == 0)
		r = path_of(state_dir, "credential", path, sizeof(path));
	if (r == 0 && (r = lf_read_line(path, ret->credential, sizeof(ret->credential))) > 0)
		r = 0;
	return r;
}

int lf_fleet_conf_save(const char *state_dir, const struct lf_fleet_conf *c)
{
	struct lf_buf out = LF_BUF_INIT(CONF_MAX);
	struct lf_json j;
	char path[4096];
	int r;

	/* The credential first: portal.json is what makes a device registered. */
	r = path_of(state_dir, "credential", path, sizeof(path));
	if (r == 0)
		r = lf_write_file_atomic(path, c->credential, strlen(c->credential), 0600);
	if (r < 0)
		return r;
	lf_json_init(&j, &out, true);
	lf_json_object_begin(&j);
	lf_json_kv_string(&j, "url", c->url);
	lf_json_kv_string(&j, "ca", c->ca);
	lf_json_kv_string(&j, "device", c->device);
	lf_json_object_end(&j);
	return write_json(state_dir, "portal.json", &j, 0644);
}

static int copy_int(const struct lf_jv *o, const char *key, int64_t *ret)
{
	int r = lf_jv_get_int(o, key, 0, INT64_MAX, ret);

	return r == -EBADMSG && !lf_jv_get(o, key) ? 0 : r;
}

/* One deferral of fleet.json's "deferred" list; a bad one is skipped. */
static void load_deferral(const struct lf_jv *o, struct lf_fleet_state *ret)
{
	struct lf_fleet_deferral *d;

	if (ret->ndeferred == LF_FLEET_DEFER_MAX)
		return;
	d = &ret->deferred[ret->ndeferred];
	memset(d, 0, sizeof(*d));
	if (o->type != LF_JOBJ ||
	    copy_str(o, "id", d->id, sizeof(d->id)) < 0 || !d->id[0] ||
	    copy_int(o, "since", &d->since) < 0 || copy_str(o, "reason", d->reason, sizeof(d->reason)) < 0 ||
	    lf_fleet_deferral_find(ret, d->id))
		return;
	ret->ndeferred++;
}

/* The deferrals; a fleet.json of an older agent has one, "pending". */
static int load_deferrals(const struct lf_jv *v, struct lf_fleet_state *ret)
{
	const struct lf_jv *arr = lf_jv_get(v, "deferred");
	struct lf_fleet_deferral *d = &ret->deferred[0];
	int r;

	if (arr && arr->type == LF_JARR) {
		for (size_t i = 0; i < arr->len; i++)
			load_deferral(&arr->u.kids[i], ret);
		return 0;
	}
	r = copy_str(v, "pending", d->id, sizeof(d->id));
	r = r ?: copy_int(v, "deferred_since", &d->since);
	r = r ?: copy_str(v, "reason", d->reason, sizeof(d->reason));
	if (r == 0 && d->id[0])
		ret->ndeferred = 1;
	else
		memset(d, 0, sizeof(*d));
	return r;
}

const struct lf_fleet_deferral *lf_fleet_deferral_find(const struct lf_fleet_state *s,
							const char *id)
{
	for (size_t i = 0; id && i < s->ndeferred; i++)
		if (!strcmp(s->deferred[i].id, id))
			return &s->deferred[i];
	return NULL;
}

int lf_fleet_state_load(const char *state_dir, struct lf_fleet_state *ret)
{
	struct lf_jv *v;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = read_obj(state_dir, "fleet.json", &v);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = copy_int(v, "last_checkin", &ret->last_checkin);
	r = r ?: copy_int(v, "next_checkin", &ret->next_checkin);
	r = r ?: copy_int(v, "failures", &ret->failures);
	r = r ?: copy_str(v, "feed", ret->feed, sizeof(ret->feed));
	r = r ?: copy_str(v, "policy_etag", ret->policy_etag, sizeof(ret->policy_etag));
	r = r ?: load_deferrals(v, ret);
	r = r ?: copy_str(v, "last_result", ret->last_result, sizeof(ret->last_result));
	lf_jv_free(v);
	return r;
}

int lf_fleet_state_save(const char *state_dir, const struct lf_fleet_state *s)
{
	struct lf_buf out = LF_BUF_INIT(CONF_MAX);
	struct lf_json j;

	lf_json_init(&j, &out, true);
	lf_json_object_begin(&j);
	lf_json_kv_int(&j, "last_checkin", s->last_checkin);
	lf_json_kv_int(&j, "next_checkin", s->next_checkin);
	lf_json_kv_int(&j, "failures", s->failures);
	lf_json_kv_string(&j, "feed", s->feed);
	lf_json_kv_string(&j, "policy_etag", s->policy_etag);
	lf_json_key(&j, "deferred");
	lf_json_array_begin(&j);
	for (size_t i = 0; i < s->ndeferred && i < LF_FLEET_DEFER_MAX; i++) {
		lf_json_object_begin(&j);
		lf_json_kv_string(&j, "id", s->deferred[i].id);
		lf_json_kv_int(&j, "since", s->deferred[i].since);
		lf_json_kv_string(&j, "reason", s->deferred[i].reason);
		lf_json_object_end(&j);
	}
	lf_json_array_end(&j);
	lf_json_kv_string(&j, "last_result", s->last_result);
	lf_json_object_end(&j);
	return write_json(state_dir, "fleet.json", &j, 0644);
}

int lf_fleet_post(const struct lf_fleet_conf *c, const char *path, const char *body,
		  size_t len, struct lf_buf *out, char *err, size_t err_size)
{
	struct lf_http_opts o = {
		.max = LF_FLEET_BODY_MAX, .min_rate = 1, .min_rate_time = 30, .timeout = 60,
		.bearer = c->credential, .ca_file = c->ca,
	};
	struct lf_http_result res;
	char url[LF_FLEET_URL_MAX + 64];
	int r;

	out->max = LF_FLEET_BODY_MAX + 1;
	if (snprintf(url, sizeof(url), "%s%s", c->url, path) >= (int)sizeof(url))
		return -ENAMETOOLONG;
	r = lf_http_request(url, "POST", body, len, &o, out, &res);
	if (r < 0)
		snprintf(err, err_size, "%s: %s", c->url, res.error[0] ? res.error : strerror(-r));
	else if (r >= 300)
		snprintf(err, err_size, "%s%s: HTTP %d: %.*s", c->url, path, r,
			 (int)(out->len > 160 ? 160 : out->len), out->data ? out->data : "");
	return r;
}
