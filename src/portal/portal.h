/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_PORTAL_H
#define LF_PORTAL_PORTAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "livefix/portal_repo.h"

#include "auth.h"
#include "checkin.h"
#include "store.h"

/* Request bodies: devices send little; admins may upload bundles. */
#define LF_MAX_DEVICE_BODY (64u << 10)
#define LF_MAX_ADMIN_BODY (1u << 20)
#define LF_MAX_UPLOAD_BODY (256u << 20)
#define LF_DRAIN_MAX (1u << 20) /* oversized bodies up to this are read and dropped */
#define LF_MAX_PATH_PARAMS 4
#define LF_MAX_PARAM_LEN 128

struct lf_portal_config {
	const char *data_dir;
	const char *db;        /* NULL: <data_dir>/portal.db */
	const char *listen;    /* "ADDR:PORT"; port 0 picks a free one */
	unsigned threads;      /* MHD thread pool */
	unsigned checkin_interval; /* seconds */
	const char *tls_cert;  /* PEM files; NULL: <data_dir>/tls/... */
	const char *tls_key;
	const struct lf_portal_repo_ops *repo_ops; /* NULL: lf_portal_repo_passthrough */
	size_t checkin_cache;  /* device credentials kept in memory; 0: LF_CHECKIN_CACHE_DEFAULT */
	bool no_checkin_cache; /* every check-in reads the database */
};

#define LF_CHECKIN_CACHE_DEFAULT 262144

struct lf_store_slot {
	pthread_mutex_t lock;
	struct lf_store *store;
};

struct lf_portal_metrics {
	atomic_uint_fast64_t requests[6]; /* by status class 1xx..5xx, [0] other */
	atomic_uint_fast64_t checkins;
	atomic_uint_fast64_t checkin_updates;
	atomic_uint_fast64_t enrolments;
	atomic_uint_fast64_t enrol_refused;
	atomic_uint_fast64_t events;
	atomic_uint_fast64_t repo_not_modified;
	atomic_uint_fast64_t repo_bytes;
};

struct lf_portal {
	struct lf_portal_config cfg;
	const struct lf_portal_repo_ops *repo_ops;
	struct lf_store_slot *slots;
	unsigned nslots;
	struct lf_portal_metrics metrics;
	struct lf_seen_batch seen;
	void *daemon; /* struct MHD_Daemon */
	char *cert_pem, *key_pem;
	uint16_t port;
	int64_t started;
	struct lf_checkin_cache *cache; /* NULL when off */
	pthread_t listener;             /* PostgreSQL: turns notifications into cache reads */
	bool listening;
	int wake_fd;                    /* eventfd: ends the listener */
	unsigned ticks;
	char db_target[4096];
	struct lf_store *seen_store;    /* the last_seen flusher's own connection */
	pthread_t seen_flusher;
	bool seen_running;
};

enum lf_auth_need {
	LF_AUTH_PUBLIC,
	LF_AUTH_ENROL,     /* the body carries an enrolment key */
	LF_AUTH_DEVICE,
	LF_AUTH_REPO,      /* a device of the feed, or a viewer */
	LF_AUTH_VIEWER,
	LF_AUTH_OPERATOR,
	LF_AUTH_ADMIN,
};

struct lf_req;

struct lf_route {
	const char *method;
	const char *pattern; /* "/api/v1/groups/{group}": {x} matches one segment */
	enum lf_auth_need auth;
	size_t max_body;
	int (*handler)(struct lf_req *req);
	const char *summary;
};

struct lf_req {
	struct lf_portal *portal;
	struct lf_store *store;
	const struct lf_route *route;
	void *conn; /* struct MHD_Connection */
	const char *method;
	const char *url;
	char params[LF_MAX_PATH_PARAMS][LF_MAX_PARAM_LEN];
	int nparams;
	const char *body;
	size_t body_len;
	json_t *json;
	struct lf_principal who;
	struct lf_checkin_dev checkin; /* read with the credential on the check-in route */
	/* Response, set by the handler. */
	int status;
	json_t *resp;
	unsigned char *resp_data; /* owned; freed after sending */
	size_t resp_len;
	const char *content_type;
	int64_t total; /* >= 0: a list's full length, sent as X-Total-Count; -1: none */
	char etag[70];
	char error[200];
};

extern const struct lf_route lf_portal_routes[];

/* Matches method and path; returns the route or NULL. ret_path_ok tells 405 from 404. */
const struct lf_route *lf_route_match(const char *method, const char *path,
				      struct lf_req *req, bool *ret_path_ok);

/* Maps a negative errno to an HTTP status, in one place. */
int lf_http_status(int err);

/* Handler helpers. */
int lf_req_error(struct lf_req *req, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int lf_req_json(struct lf_req *req, int status, json_t *body); /* steals body */
const char *lf_req_header(struct lf_req *req, const char *name);
const char *lf_req_query(struct lf_req *req, const char *name);
int lf_req_audit(struct lf_req *req, const char *action, const char *object);

int lf_portal_start(struct lf_portal *p, const struct lf_portal_config *cfg);
void lf_portal_stop(struct lf_portal *p);
/* Validates a configuration (address, TLS files, database) without serving. */
int lf_portal_check(const struct lf_portal_config *cfg);
/* The check-in cache and its listener (server_cache.c). */
int lf_portal_cache_start(struct lf_portal *p, const char *target);
void lf_portal_cache_stop(struct lf_portal *p);
void lf_portal_cache_tick(struct lf_portal *p, struct lf_store *s);

/* Housekeeping the server's main thread runs every second. */
void lf_portal_tick(struct lf_portal *p);

/* Handlers (api_*.c). */
int lf_api_enrol(struct lf_req *req);
int lf_api_checkin(struct lf_req *req);
int lf_api_events(struct lf_req *req);
int lf_api_repo_get(struct lf_req *req);
int lf_api_repo_bundle_get(struct lf_req *req);
int lf_api_repo_targets_get(struct lf_req *req);
int lf_api_repo_targets_version_get(struct lf_req *req);
int lf_api_health(struct lf_req *req);

int lf_api_groups_list(struct lf_req *req);
int lf_api_groups_create(struct lf_req *req);
int lf_api_group_get(struct lf_req *req);
int lf_api_group_policy(struct lf_req *req);
int lf_api_group_pin(struct lf_req *req);
int lf_api_feeds_list(struct lf_req *req);
int lf_api_feeds_create(struct lf_req *req);
int lf_api_feed_file_put(struct lf_req *req);
int lf_api_feed_bundles_list(struct lf_req *req);
int lf_api_feed_bundles_create(struct lf_req *req);
int lf_api_bundle_withdraw(struct lf_req *req);
int lf_api_keys_list(struct lf_req *req);
int lf_api_keys_create(struct lf_req *req);
int lf_api_key_revoke(struct lf_req *req);
int lf_api_devices_list(struct lf_req *req);
int lf_api_device_get(struct lf_req *req);
int lf_api_device_revoke(struct lf_req *req);
int lf_api_rollouts_list(struct lf_req *req);
int lf_api_rollouts_create(struct lf_req *req);
int lf_api_rollout_get(struct lf_req *req);
int lf_api_rollout_action(struct lf_req *req);
int lf_api_tokens_create(struct lf_req *req);
int lf_api_tokens_list(struct lf_req *req);
int lf_api_token_revoke(struct lf_req *req);
int lf_api_audit_list(struct lf_req *req);

int lf_api_report_fleet(struct lf_req *req);
int lf_api_report_cves(struct lf_req *req);
int lf_api_report_cve(struct lf_req *req);
int lf_api_report_vex(struct lf_req *req);
int lf_api_metrics(struct lf_req *req);
int lf_api_session(struct lf_req *req);
int lf_api_dashboard_index(struct lf_req *req);
int lf_api_dashboard_file(struct lf_req *req);

/* Reports shared by handlers and tests (report.c). */
int lf_report_device_cves(struct lf_store *s, int64_t device_id, json_t **ret_open,
			  json_t **ret_fixed);

#endif
