/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenVEX (v0.2.0, JSON-LD) for vulnerability scanners, and the Prometheus
 * text exposition. A VEX statement says, for one CVE and a set of devices,
 * "fixed" (with the live patch that fixed it) or "affected" (with the live
 * patch to apply): a scanner that only sees the kernel release would report
 * the CVE on a device that livefix already fixed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/buf.h"

#include "portal.h"
#include "report.h"

struct vex {
	json_t *statements; /* key "cve|status|bundle" -> statement */
};

static int vex_row(void *ctx, const struct lf_exposure *e)
{
	struct vex *v = ctx;
	char key[320], note[320], product[64];
	json_t *st;

	snprintf(key, sizeof(key), "%s|%d|%s", e->cve, e->fixed, e->fixed ? e->fixed_by : e->fix_bundle);
	snprintf(product, sizeof(product), "urn:livefix:device:%s", e->device);
	st = json_object_get(v->statements, key);
	if (!st) {
		if (e->fixed) {
			snprintf(note, sizeof(note), "fixed in the running %s by live patch %s (level %lld)",
				 e->kind, e->fixed_by, (long long)e->fixed_level);
			st = json_pack("{s:{s:s},s:[],s:s,s:s}", "vulnerability", "name", e->cve,
				       "products", "status", "fixed", "status_notes", note);
		} else {
			snprintf(note, sizeof(note), "apply live patch %s (level %lld)", e->fix_bundle,
				 (long long)e->fix_level);
			st = json_pack("{s:{s:s},s:[],s:s,s:s}", "vulnerability", "name", e->cve,
				       "products", "status", "affected", "action_statement", note);
		}
		if (!st || json_object_set_new(v->statements, key, st) < 0)
			return -ENOMEM;
	}
	return json_array_append_new(json_object_get(st, "products"),
				     json_pack("{s:s}", "@id", product)) < 0 ? -ENOMEM : 0;
}

int lf_api_report_vex(struct lf_req *req)
{
	struct vex v = { json_object() };
	json_t *doc, *list = json_array(), *st;
	char ts[32], id[96];
	time_t now = time(NULL);
	struct tm tm;
	const char *k;
	int r;

	if (!v.statements || !list) {
		json_decref(v.statements);
		json_decref(list);
		return -ENOMEM;
	}
	r = lf_report_exposure(req->store, NULL, 0, vex_row, &v);
	json_object_foreach(v.statements, k, st)
		json_array_append(list, st);
	json_decref(v.statements);
	if (r < 0) {
		json_decref(list);
		return r;
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(id, sizeof(id), "urn:livefix:portal:vex:%lld", (long long)now);
	doc = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o}", "@context", "https://openvex.dev/ns/v0.2.0",
			"@id", id, "author", "livefix-portal", "timestamp", ts, "version", 1,
			"tooling", "livefix-portal " LIVEFIX_VERSION, "statements", list);
	return lf_req_json(req, 200, doc);
}

static int metric_rows(void *ctx, const struct lf_row *row)
{
	return lf_buf_printf(ctx, "livefix_portal_rollouts{state=\"%s\"} %s\n", row->vals[0],
			     row->vals[1]);
}

int lf_api_metrics(struct lf_req *req)
{
	static const char *const classes[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	struct lf_portal_metrics *m = &req->portal->metrics;
	struct lf_buf b = LF_BUF_INIT(1 << 16);
	int64_t devices = 0, recent = 0;
	int r = 0;

	lf_store_int(req->store, "SELECT COUNT(*) FROM devices WHERE revoked = 0", &devices, "");
	lf_store_int(req->store, "SELECT COUNT(*) FROM devices WHERE revoked = 0 AND last_seen >= $1",
		     &recent, "i", lf_now() - 2 * (int64_t)req->portal->cfg.checkin_interval);
	r |= lf_buf_puts(&b, "# TYPE livefix_portal_requests_total counter\n");
	for (int i = 0; i < 6; i++)
		r |= lf_buf_printf(&b, "livefix_portal_requests_total{class=\"%s\"} %llu\n", classes[i],
				   (unsigned long long)atomic_load(&m->requests[i]));
#define COUNTER(name, field) \
	r |= lf_buf_printf(&b, "# TYPE livefix_portal_" name " counter\nlivefix_portal_" name " %llu\n", \
			   (unsigned long long)atomic_load(&m->field))
	COUNTER("checkins_total", checkins);
	COUNTER("checkin_updates_total", checkin_updates);
	COUNTER("enrolments_total", enrolments);
	COUNTER("enrolments_refused_total", enrol_refused);
	COUNTER("events_total", events);
	COUNTER("repo_not_modified_total", repo_not_modified);
	COUNTER("repo_bytes_total", repo_bytes);
#undef COUNTER
	if (req->portal->cache) {
		struct lf_checkin_cache_stats cs;

		lf_checkin_cache_stats(req->portal->cache, &cs);
		r |= lf_buf_printf(&b, "# TYPE livefix_portal_checkin_cache_hits_total counter\n"
				   "livefix_portal_checkin_cache_hits_total %llu\n"
				   "# TYPE livefix_portal_checkin_cache_misses_total counter\n"
				   "livefix_portal_checkin_cache_misses_total %llu\n"
				   "# TYPE livefix_portal_checkin_cache_dropped_total counter\n"
				   "livefix_portal_checkin_cache_dropped_total %llu\n"
				   "# TYPE livefix_portal_checkin_cache_log_reads_total counter\n"
				   "livefix_portal_checkin_cache_log_reads_total %llu\n"
				   "# TYPE livefix_portal_checkin_cache_entries gauge\n"
				   "livefix_portal_checkin_cache_entries %llu\n",
				   (unsigned long long)cs.hits, (unsigned long long)cs.misses,
				   (unsigned long long)cs.dropped, (unsigned long long)cs.log_reads,
				   (unsigned long long)cs.entries);
	}
	r |= lf_buf_printf(&b, "# TYPE livefix_portal_devices gauge\nlivefix_portal_devices %lld\n"
			   "# TYPE livefix_portal_devices_seen_recently gauge\n"
			   "livefix_portal_devices_seen_recently %lld\n"
			   "# TYPE livefix_portal_uptime_seconds gauge\nlivefix_portal_uptime_seconds %lld\n"
			   "# TYPE livefix_portal_rollouts gauge\n",
			   (long long)devices, (long long)recent,
			   (long long)(lf_now() - req->portal->started));
	if (r >= 0)
		r = lf_store_q(req->store, "SELECT state, COUNT(*) FROM rollouts GROUP BY state ORDER BY state",
			       metric_rows, &b, "");
	if (r < 0) {
		lf_buf_release(&b);
		return r;
	}
	req->resp_data = (unsigned char *)lf_buf_detach(&b, &req->resp_len);
	req->content_type = "text/plain; version=0.0.4";
	req->status = 200;
	return 0;
}
