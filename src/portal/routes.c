/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route table: every endpoint, who may call it and how large its body
 * may be. `livefix-portal routes` prints it, and a test compares it with
 * docs/api.yaml so the document cannot drift from the code.
 */
#include <errno.h>
#include <string.h>

#include "portal.h"

#define DEV LF_MAX_DEVICE_BODY
#define ADM LF_MAX_ADMIN_BODY

const struct lf_route lf_portal_routes[] = {
	{ "GET", "/healthz", LF_AUTH_PUBLIC, 0, lf_api_health, "liveness" },
	{ "POST", "/api/v1/enrol", LF_AUTH_ENROL, DEV, lf_api_enrol, "enrol a device with an enrolment key" },
	{ "POST", "/api/v1/devices/self/checkin", LF_AUTH_DEVICE, DEV, lf_api_checkin, "device check-in with inventory" },
	{ "POST", "/api/v1/devices/self/events", LF_AUTH_DEVICE, DEV, lf_api_events, "device events" },
	{ "GET", "/repo/{feed}/{file}", LF_AUTH_REPO, 0, lf_api_repo_get, "repository metadata file" },
	{ "GET", "/repo/{feed}/bundles/{file}", LF_AUTH_REPO, 0, lf_api_repo_bundle_get, "bundle by sha256" },
	{ "GET", "/repo/{feed}/targets/{file}", LF_AUTH_REPO, 0, lf_api_repo_targets_get, "the feed's targets metadata" },
	{ "GET", "/repo/{feed}/targets/{name}/{file}", LF_AUTH_REPO, 0, lf_api_repo_targets_version_get, "targets metadata by version" },
	{ "GET", "/api/v1/groups", LF_AUTH_VIEWER, 0, lf_api_groups_list, "list groups" },
	{ "POST", "/api/v1/groups", LF_AUTH_OPERATOR, ADM, lf_api_groups_create, "create a group" },
	{ "GET", "/api/v1/groups/{group}", LF_AUTH_VIEWER, 0, lf_api_group_get, "group detail" },
	{ "PUT", "/api/v1/groups/{group}/policy", LF_AUTH_OPERATOR, ADM, lf_api_group_policy, "set a group's policy" },
	{ "PUT", "/api/v1/groups/{group}/pin", LF_AUTH_OPERATOR, ADM, lf_api_group_pin, "pin a group to a level" },
	{ "GET", "/api/v1/feeds", LF_AUTH_VIEWER, 0, lf_api_feeds_list, "list feeds" },
	{ "POST", "/api/v1/feeds", LF_AUTH_ADMIN, ADM, lf_api_feeds_create, "create a feed" },
	{ "PUT", "/api/v1/feeds/{feed}/files/{file}", LF_AUTH_OPERATOR, LF_MAX_UPLOAD_BODY, lf_api_feed_file_put, "upload a repository file" },
	{ "GET", "/api/v1/feeds/{feed}/bundles", LF_AUTH_VIEWER, 0, lf_api_feed_bundles_list, "list bundles" },
	{ "POST", "/api/v1/feeds/{feed}/bundles", LF_AUTH_OPERATOR, ADM, lf_api_feed_bundles_create, "publish bundle facts" },
	{ "POST", "/api/v1/feeds/{feed}/bundles/{bundle}/withdraw", LF_AUTH_OPERATOR, ADM, lf_api_bundle_withdraw, "withdraw a bundle" },
	{ "GET", "/api/v1/enrolment-keys", LF_AUTH_ADMIN, 0, lf_api_keys_list, "list enrolment keys" },
	{ "POST", "/api/v1/enrolment-keys", LF_AUTH_ADMIN, ADM, lf_api_keys_create, "create an enrolment key" },
	{ "DELETE", "/api/v1/enrolment-keys/{key}", LF_AUTH_ADMIN, 0, lf_api_key_revoke, "revoke an enrolment key" },
	{ "GET", "/api/v1/devices", LF_AUTH_VIEWER, 0, lf_api_devices_list, "list devices" },
	{ "GET", "/api/v1/devices/{device}", LF_AUTH_VIEWER, 0, lf_api_device_get, "device detail, patch state, open CVEs" },
	{ "DELETE", "/api/v1/devices/{device}", LF_AUTH_ADMIN, 0, lf_api_device_revoke, "revoke a device" },
	{ "GET", "/api/v1/rollouts", LF_AUTH_VIEWER, 0, lf_api_rollouts_list, "list rollouts" },
	{ "POST", "/api/v1/rollouts", LF_AUTH_OPERATOR, ADM, lf_api_rollouts_create, "start a rollout" },
	{ "GET", "/api/v1/rollouts/{rollout}", LF_AUTH_VIEWER, 0, lf_api_rollout_get, "rollout detail" },
	{ "POST", "/api/v1/rollouts/{rollout}/{action}", LF_AUTH_OPERATOR, ADM, lf_api_rollout_action, "approve, pause or resume" },
	{ "GET", "/api/v1/tokens", LF_AUTH_ADMIN, 0, lf_api_tokens_list, "list admin tokens" },
	{ "POST", "/api/v1/tokens", LF_AUTH_ADMIN, ADM, lf_api_tokens_create, "create an admin token" },
	{ "DELETE", "/api/v1/tokens/{token}", LF_AUTH_ADMIN, 0, lf_api_token_revoke, "revoke an admin token" },
	{ "GET", "/api/v1/audit", LF_AUTH_ADMIN, 0, lf_api_audit_list, "audit log" },
	{ "GET", "/api/v1/reports/fleet", LF_AUTH_VIEWER, 0, lf_api_report_fleet, "fleet summary" },
	{ "GET", "/api/v1/reports/cves", LF_AUTH_VIEWER, 0, lf_api_report_cves, "exposure per CVE" },
	{ "GET", "/api/v1/reports/cves/{cve}", LF_AUTH_VIEWER, 0, lf_api_report_cve, "devices exposed to one CVE" },
	{ "GET", "/api/v1/reports/vex", LF_AUTH_VIEWER, 0, lf_api_report_vex, "OpenVEX document" },
	{ "GET", "/metrics", LF_AUTH_VIEWER, 0, lf_api_metrics, "Prometheus metrics" },
	{ "GET", "/api/v1/session", LF_AUTH_VIEWER, 0, lf_api_session, "the role of the token in use" },
	{ "GET", "/dashboard/", LF_AUTH_PUBLIC, 0, lf_api_dashboard_index, "web dashboard page" },
	{ "GET", "/dashboard/{file}", LF_AUTH_PUBLIC, 0, lf_api_dashboard_file, "web dashboard static file" },
	{ NULL, NULL, 0, 0, NULL, NULL },
};

/* Matches one pattern; path parameters are copied into req. */
static bool match(const char *pattern, const char *path, struct lf_req *req)
{
	int n = 0;

	while (*pattern && *path) {
		if (*pattern == '{') {
			const char *end = strchr(path, '/');
			size_t len = end ? (size_t)(end - path) : strlen(path);

			if (len == 0 || len >= LF_MAX_PARAM_LEN || n >= LF_MAX_PATH_PARAMS)
				return false;
			memcpy(req->params[n], path, len);
			req->params[n++][len] = '\0';
			path += len;
			pattern = strchr(pattern, '}') + 1;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	if (*pattern || *path)
		return false;
	req->nparams = n;
	return true;
}

const struct lf_route *lf_route_match(const char *method, const char *path,
				      struct lf_req *req, bool *ret_path_ok)
{
	*ret_path_ok = false;
	/* Patterns never overlap: a {param} is one whole segment. */
	for (const struct lf_route *r = lf_portal_routes; r->method; r++) {
		if (!match(r->pattern, path, req))
			continue;
		*ret_path_ok = true;
		if (!strcmp(r->method, method))
			return r;
	}
	return NULL;
}

int lf_http_status(int err)
{
	switch (err) {
	case -EINVAL: case -EBADMSG: case -EPROTO: return 400;
	case -EACCES: return 401;
	case -EPERM: return 403;
	case -ENOENT: return 404;
	case -EEXIST: case -EBUSY: case -EXDEV: return 409;
	case -EOVERFLOW: case -E2BIG: return 413;
	case -ECONNREFUSED: case -ECONNRESET: return 503;
	default: return 500;
	}
}
