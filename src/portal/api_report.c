/* SPDX-License-Identifier: Apache-2.0 */
/* Reports: fleet summary, CVE exposure, OpenVEX, Prometheus metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/buf.h"

#include "portal.h"
#include "report.h"

struct cve_sum {
	json_t *by_cve; /* cve -> {severity, exposed, fixed} */
	const char *only;
	json_t *exposed, *fixed; /* device lists for one CVE */
};

static int sum_row(void *ctx, const struct lf_exposure *e)
{
	struct cve_sum *c = ctx;
	json_t *o = json_object_get(c->by_cve, e->cve);
	const char *key = e->fixed ? "fixed" : "exposed";

	if (!o) {
		o = json_pack("{s:s,s:s,s:i,s:i}", "cve", e->cve, "severity", e->severity,
			      "exposed", 0, "fixed", 0);
		if (!o || json_object_set_new(c->by_cve, e->cve, o) < 0)
			return -ENOMEM;
	}
	json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + 1));
	if (!c->only)
		return 0;
	if (e->fixed)
		return json_array_append_new(c->fixed, json_pack("{s:s,s:s,s:I}", "device", e->device,
						 "fixed_by", e->fixed_by, "level", (json_int_t)e->have));
	return json_array_append_new(c->exposed, json_pack("{s:s,s:s,s:I,s:s,s:I}", "device",
				     e->device, "kind", e->kind, "level", (json_int_t)e->have,
				     "fix_bundle", e->fix_bundle, "fix_level", (json_int_t)e->fix_level));
}

static int cve_summary(struct lf_store *s, const char *only, struct cve_sum *c)
{
	c->by_cve = json_object();
	c->only = only;
	c->exposed = json_array();
	c->fixed = json_array();
	if (!c->by_cve || !c->exposed || !c->fixed)
		return -ENOMEM;
	return lf_report_exposure(s, only, 0, sum_row, c);
}

static void cve_sum_release(struct cve_sum *c)
{
	json_decref(c->by_cve);
	json_decref(c->exposed);
	json_decref(c->fixed);
}

int lf_api_report_cves(struct lf_req *req)
{
	struct cve_sum c = { 0 };
	json_t *list = json_array(), *v;
	const char *k;
	int r = cve_summary(req->store, NULL, &c);

	if (r >= 0 && list)
		json_object_foreach(c.by_cve, k, v)
			json_array_append(list, v);
	cve_sum_release(&c);
	if (r < 0) {
		json_decref(list);
		return r;
	}
	return lf_req_json(req, 200, list);
}

int lf_api_report_cve(struct lf_req *req)
{
	struct cve_sum c = { 0 };
	json_t *out;
	int r;

	if (strncmp(req->params[0], "CVE-", 4) || strlen(req->params[0]) > 32)
		return lf_req_error(req, -EINVAL, "not a CVE id: '%s'", req->params[0]);
	r = cve_summary(req->store, req->params[0], &c);
	if (r < 0) {
		cve_sum_release(&c);
		return r;
	}
	out = json_pack("{s:s,s:O,s:O}", "cve", req->params[0], "exposed", c.exposed,
			"fixed", c.fixed);
	cve_sum_release(&c);
	return lf_req_json(req, 200, out);
}

static int fleet_count(struct lf_store *s, json_t *out, const char *key, const char *sql,
		       int64_t arg)
{
	int64_t n = 0;
	int r = arg ? lf_store_int(s, sql, &n, "i", arg) : lf_store_int(s, sql, &n, "");

	if (r < 0 && r != -ENOENT)
		return r;
	return json_object_set_new(out, key, json_integer(n)) < 0 ? -ENOMEM : 0;
}

int lf_api_report_fleet(struct lf_req *req)
{
	struct lf_store *s = req->store;
	int64_t recent = lf_now() - 2 * (int64_t)req->portal->cfg.checkin_interval;
	struct cve_sum c = { 0 };
	json_t *out = json_object(), *rollouts = NULL, *groups = NULL, *v;
	int64_t open_cves = 0, exposed_pairs = 0;
	const char *k;
	int r;

	if (!out)
		return -ENOMEM;
	r = fleet_count(s, out, "devices", "SELECT COUNT(*) FROM devices WHERE revoked = 0", 0);
	if (r >= 0)
		r = fleet_count(s, out, "devices_seen_recently", "SELECT COUNT(*) FROM devices"
				" WHERE revoked = 0 AND last_seen >= $1", recent);
	if (r >= 0)
		r = fleet_count(s, out, "bundles", "SELECT COUNT(*) FROM bundles WHERE withdrawn = 0", 0);
	if (r >= 0)
		r = lf_store_json(s, "SELECT state, COUNT(*) AS count FROM rollouts GROUP BY state"
				  " ORDER BY state", &rollouts, "");
	if (r >= 0)
		r = lf_store_json(s, "SELECT g.name AS \"group\", COUNT(d.id) AS devices"
				  " FROM device_groups g LEFT JOIN devices d ON d.group_id = g.id"
				  " AND d.revoked = 0 GROUP BY g.name ORDER BY g.name", &groups, "");
	if (r >= 0)
		r = cve_summary(s, NULL, &c);
	if (r < 0) {
		json_decref(out);
		json_decref(rollouts);
		json_decref(groups);
		cve_sum_release(&c);
		return r;
	}
	json_object_foreach(c.by_cve, k, v) {
		int64_t n = json_integer_value(json_object_get(v, "exposed"));

		open_cves += n > 0;
		exposed_pairs += n;
	}
	cve_sum_release(&c);
	json_object_set_new(out, "rollouts", rollouts);
	json_object_set_new(out, "groups", groups);
	json_object_set_new(out, "cves_open", json_integer(open_cves));
	json_object_set_new(out, "device_cve_exposures", json_integer(exposed_pairs));
	return lf_req_json(req, 200, out);
}
