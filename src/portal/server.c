/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP side: libmicrohttpd with GnuTLS (TLS 1.3 only), an epoll-driven
 * thread pool, a bounded request body per route, and one store connection
 * per worker taken from a small pool.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "livefix/buf.h"
#include "livefix/file.h"
#include "livefix/log.h"

#include "portal.h"

/*
 * Per-connection memory of libmicrohttpd (request line, headers, read
 * buffer; bodies are handed to us in pieces). MHD zeroes the pool for every
 * request on a kept-alive connection: callgrind counted that at ~19% of
 * the instructions of an idle check-in with the default 32 KiB (55k of
 * 287k per request; 32k with 16 KiB, 17k with 8 KiB). 16 KiB leaves room
 * for a browser's headers.
 */
#define LF_CONN_POOL (16u << 10)

/* Per-request state kept by MHD between calls of the access handler. */
struct conn_ctx {
	struct lf_req req;
	struct lf_buf body;
	int status;    /* 404, 405, 413: refused before the handler runs */
	bool answered; /* the refusal is queued already */
};

const char *lf_req_header(struct lf_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *lf_req_query(struct lf_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int lf_req_json(struct lf_req *req, int status, json_t *body)
{
	json_decref(req->resp);
	req->resp = body;
	req->status = status;
	return body ? 0 : -ENOMEM;
}

int lf_req_error(struct lf_req *req, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->error, sizeof(req->error), fmt, ap);
	va_end(ap);
	/* Messages quote the request; JSON needs UTF-8, the request may not be. */
	for (char *c = req->error; *c; c++)
		if (*c & 0x80)
			*c = '?';
	return err;
}

int lf_req_audit(struct lf_req *req, const char *action, const char *object)
{
	return lf_store_audit(req->store, req->who.token_id, lf_access_name(req->who.role),
			      action, object, NULL);
}

static struct lf_store *store_acquire(struct lf_portal *p, unsigned *ret_slot)
{
	unsigned start = (unsigned)(uintptr_t)pthread_self() % p->nslots;

	for (unsigned i = 0; i < p->nslots; i++) {
		unsigned k = (start + i) % p->nslots;

		if (pthread_mutex_trylock(&p->slots[k].lock) == 0) {
			*ret_slot = k;
			return p->slots[k].store;
		}
	}
	pthread_mutex_lock(&p->slots[start].lock);
	*ret_slot = start;
	return p->slots[start].store;
}

static void store_release(struct lf_portal *p, unsigned slot)
{
	pthread_mutex_unlock(&p->slots[slot].lock);
}

/*
 * The dashboard's page may load its own script and style and call the API
 * of its own origin, nothing else: no inline script or style, no other
 * host, no frames, no form posting anywhere (the login form is handled by
 * app.js; without it the token must not end up in a URL). docs/PORTAL.md
 * says why each directive is there.
 */
#define CSP_DASHBOARD                                                                       \
	"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "     \
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
/* Everything else is data (JSON, metadata, bundles): a browser may run nothing in it. */
#define CSP_DATA "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static bool is_dashboard(const struct lf_req *req)
{
	return req->route && (req->route->handler == lf_api_dashboard_index ||
			      req->route->handler == lf_api_dashboard_file);
}

/*
 * A device's own endpoints (check-in, events) answer an agent, never a
 * browser, and an idle check-in should cost a few hundred bytes: their
 * successful answers carry none of the browser headers (their errors do).
 */
static bool for_browsers(const struct lf_req *req, int status)
{
	return status >= 400 || !req->route || req->route->auth != LF_AUTH_DEVICE;
}

/*
 * On every answer, errors and 304s included. The portal speaks only TLS
 * (MHD_USE_TLS below, TLS 1.3), so Strict-Transport-Security is always
 * true of it: a browser that reached it once never tries plain HTTP to it.
 * No includeSubDomains: the portal's name says nothing about its siblings.
 */
static void add_security_headers(struct MHD_Response *resp, bool dashboard)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
				dashboard ? CSP_DASHBOARD : CSP_DATA);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result send_json(const struct lf_req *req, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (for_browsers(req, status))
		add_security_headers(resp, is_dashboard(req));
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (status < 300 && req->total >= 0) {
		char total[24];

		snprintf(total, sizeof(total), "%lld", (long long)req->total);
		MHD_add_response_header(resp, "X-Total-Count", total);
	}
	ret = MHD_queue_response(req->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "bad request";
	case 401: return "missing or unknown credential";
	case 403: return "not allowed for this role";
	case 404: return "not found";
	case 405: return "method not allowed";
	case 409: return "conflict";
	case 413: return "request body too large";
	case 415: return "request body must be JSON";
	case 503: return "database unavailable";
	default: return "internal error";
	}
}

static enum MHD_Result send_error(struct lf_portal *p, struct lf_req *req, int status,
				  const char *msg)
{
	json_t *body = json_pack("{s:s,s:i}", "error", msg, "status", status);
	enum MHD_Result ret;

	atomic_fetch_add(&p->metrics.requests[status / 100 <= 5 ? status / 100 : 0], 1);
	if (!body)
		body = json_pack("{s:s,s:i}", "error", status_text(status), "status", status);
	if (!body)
		return MHD_NO;
	ret = send_json(req, status, body);
	json_decref(body);
	return ret;
}

/* Decides who is calling; returns 0 or an HTTP status. */
static int authenticate(struct lf_req *req)
{
	const char *token = lf_auth_bearer(lf_req_header(req, "Authorization"));
	enum lf_auth_need need = req->route->auth;
	int r;

	if (need == LF_AUTH_PUBLIC || need == LF_AUTH_ENROL)
		return 0;
	if (!token)
		return 401;
	/* A device's check-in reads its device with its credential: one query. */
	if (req->route->handler == lf_api_checkin && !strncmp(token, "lfd_", 4))
		r = lf_checkin_lookup(req->store, req->portal->cache, token, &req->who,
				      &req->checkin);
	else
		r = lf_auth_lookup(req->store, token, &req->who);
	if (r == -EACCES)
		return 401;
	if (r < 0)
		return lf_http_status(r);
	if (need == LF_AUTH_DEVICE)
		return req->who.device_id ? 0 : 403;
	if (need == LF_AUTH_REPO && req->who.device_id)
		return 0;
	if (req->who.device_id)
		return 403; /* a device credential never opens an admin endpoint */
	if (need == LF_AUTH_REPO)
		need = LF_AUTH_VIEWER;
	return lf_access_allows(req->who.role, (enum lf_access)(need - LF_AUTH_VIEWER + LF_ACCESS_VIEWER))
		       ? 0 : 403;
}

static bool is_admin_write(const struct lf_req *req)
{
	return req->route->auth >= LF_AUTH_VIEWER && strcmp(req->method, "GET");
}

/* Every admin action is in the audit log, refused ones included. */
static void audit(struct lf_req *req, int status)
{
	char action[160], detail[256];

	snprintf(action, sizeof(action), "%s %s", req->method, req->route->pattern);
	snprintf(detail, sizeof(detail), "status=%d%s%s", status, req->error[0] ? " " : "",
		 req->error);
	(void)lf_store_audit(req->store, req->who.token_id, lf_access_name(req->who.role),
			     action, req->url, detail);
}

static int run_handler(struct lf_req *req)
{
	int r;

	/* Uploaded files are not JSON; the check-in parses its own body. */
	if (req->body_len > 0 && strcmp(req->route->pattern, "/api/v1/feeds/{feed}/files/{file}") &&
	    req->route->handler != lf_api_checkin) {
		json_error_t jerr;

		req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (!req->json) {
			snprintf(req->error, sizeof(req->error), "body is not JSON: %s (line %d)",
				 jerr.text, jerr.line);
			return 400;
		}
	}
	req->status = 200;
	r = req->route->handler(req);
	if (r < 0)
		return lf_http_status(r);
	return req->status;
}

static enum MHD_Result respond(struct lf_portal *p, struct lf_req *req, int status)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (status >= 400) {
		if (!req->error[0])
			snprintf(req->error, sizeof(req->error), "%s", status_text(status));
		return send_error(p, req, status, req->error);
	}
	atomic_fetch_add(&p->metrics.requests[status / 100], 1);
	if (req->resp)
		return send_json(req, status, req->resp);
	resp = MHD_create_response_from_buffer(req->resp_len, req->resp_data,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	req->resp_data = NULL; /* owned by resp */
	if (for_browsers(req, status))
		add_security_headers(resp, is_dashboard(req));
	if (req->content_type)
		MHD_add_response_header(resp, "Content-Type", req->content_type);
	if (req->etag[0]) {
		MHD_add_response_header(resp, "ETag", req->etag);
		MHD_add_response_header(resp, "Cache-Control", "no-cache");
	} else if (req->content_type && !strcmp(req->content_type, "application/json")) {
		MHD_add_response_header(resp, "Cache-Control", "no-store"); /* as send_json */
	}
	ret = MHD_queue_response(req->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result finish(struct lf_portal *p, struct conn_ctx *cc)
{
	struct lf_req *req = &cc->req;
	unsigned slot;
	int status;

	req->body = cc->body.data;
	req->body_len = cc->body.len;
	req->store = store_acquire(p, &slot);
	status = authenticate(req);
	if (status == 0)
		status = run_handler(req);
	if (is_admin_write(req) && req->who.token_id)
		audit(req, status);
	/* What this request wrote is read from the change log before the next check-in. */
	if (p->cache && strcmp(req->method, "GET") && req->route->handler != lf_api_checkin)
		lf_checkin_cache_stale(p->cache);
	store_release(p, slot);
	req->store = NULL;
	return respond(p, req, status);
}

static enum MHD_Result first_call(struct lf_portal *p, struct MHD_Connection *c,
				  const char *url, const char *method, void **con_cls)
{
	struct conn_ctx *cc = calloc(1, sizeof(*cc));
	const char *cl;
	bool path_ok;

	if (!cc)
		return MHD_NO;
	*con_cls = cc;
	cc->req.portal = p;
	cc->req.total = -1;
	cc->req.conn = c;
	cc->req.method = method;
	cc->req.url = url;
	cc->req.route = lf_route_match(method, url, &cc->req, &path_ok);
	if (cc->req.route)
		lf_buf_init(&cc->body, cc->req.route->max_body);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cc->req.route)
		cc->status = path_ok ? 405 : 404;
	else if (cl && strtoull(cl, NULL, 10) > cc->req.route->max_body)
		cc->status = 413;
	/*
	 * A refused request with a small body is answered after its body was
	 * read and dropped, so a client still sending gets the answer instead of
	 * a reset connection. A large one is answered at once and the connection
	 * closed (curl and libcurl wait for "100 Continue" there and see it).
	 */
	if (cc->status && cl && strtoull(cl, NULL, 10) > LF_DRAIN_MAX) {
		cc->answered = true;
		return respond(p, &cc->req, cc->status);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct lf_portal *p = cls;
	struct conn_ctx *cc = *con_cls;

	if (!cc)
		return first_call(p, c, url, method, con_cls);
	if (*upload_data_size) {
		/* Past the route's bound the rest is dropped, and the answer is 413. */
		if (!cc->answered && !cc->status &&
		    lf_buf_append(&cc->body, upload_data, *upload_data_size) < 0)
			cc->status = 413;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (cc->answered)
		return MHD_YES; /* the response is already queued */
	if (cc->status)
		return respond(p, &cc->req, cc->status);
	return finish(p, cc);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *cc = *con_cls;

	if (!cc)
		return;
	lf_buf_release(&cc->body);
	json_decref(cc->req.json);
	json_decref(cc->req.resp);
	lf_checkin_dev_release(&cc->req.checkin);
	free(cc->req.resp_data);
	free(cc);
	*con_cls = NULL;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *ret_len)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	size_t hlen;
	long port;
	char *end;

	if (!colon)
		return -EINVAL;
	hlen = (size_t)(colon - listen);
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[hlen - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*a);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*ret_len = sizeof(*a);
	return inet_pton(AF_INET, hlen ? host : "0.0.0.0", &a->sin_addr) == 1 ? 0 : -EINVAL;
}

static int open_stores(struct lf_portal *p, const char *target)
{
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (!p->slots)
		return -ENOMEM;
	for (unsigned i = 0; i < p->nslots; i++) {
		int r = lf_store_open(target, &p->slots[i].store);

		pthread_mutex_init(&p->slots[i].lock, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Writes idle devices' last_seen once a second, or at once when a chunk waits. */
static void *seen_main(void *arg)
{
	struct lf_portal *p = arg;

	while (lf_seen_wait(&p->seen, 1000)) {
		int r = lf_seen_flush(&p->seen, p->seen_store);

		if (r < 0)
			lf_debug("last_seen not written yet: %s", strerror(-r));
	}
	return NULL;
}

static int start_seen_flusher(struct lf_portal *p, const char *target)
{
	int r = lf_store_open(target, &p->seen_store);

	if (r < 0)
		return r;
	r = -pthread_create(&p->seen_flusher, NULL, seen_main, p);
	p->seen_running = r == 0;
	return r;
}

static void stop_seen_flusher(struct lf_portal *p)
{
	if (p->seen_running) {
		lf_seen_stop(&p->seen);
		pthread_join(p->seen_flusher, NULL);
		p->seen_running = false;
	}
	if (p->seen_store && lf_seen_flush(&p->seen, p->seen_store) < 0)
		lf_debug("last_seen of some devices not written at stop");
	lf_store_close(p->seen_store);
	p->seen_store = NULL;
}

static int load_tls(struct lf_portal *p)
{
	char cert[4096], key[4096];
	int r;

	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", p->cfg.data_dir);
	snprintf(key, sizeof(key), "%s/tls/key.pem", p->cfg.data_dir);
	r = lf_read_file(p->cfg.tls_cert ? p->cfg.tls_cert : cert, 1 << 20, &p->cert_pem, NULL);
	if (r >= 0)
		r = lf_read_file(p->cfg.tls_key ? p->cfg.tls_key : key, 1 << 20, &p->key_pem, NULL);
	return r;
}

int lf_portal_start(struct lf_portal *p, const struct lf_portal_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const union MHD_DaemonInfo *info;
	char dbpath[4096];
	int r;

	memset(p, 0, sizeof(*p));
	p->wake_fd = -1;
	lf_seen_init(&p->seen);
	p->cfg = *cfg;
	p->repo_ops = cfg->repo_ops ? cfg->repo_ops : &lf_portal_repo_passthrough;
	p->started = lf_now();
	p->nslots = (cfg->threads ? cfg->threads : 2) + 1;
	r = parse_listen(cfg->listen ? cfg->listen : "0.0.0.0:8443", &ss, &sslen);
	if (r < 0)
		return r;
	snprintf(dbpath, sizeof(dbpath), "%s/portal.db", cfg->data_dir);
	r = open_stores(p, cfg->db ? cfg->db : dbpath);
	if (r >= 0)
		r = lf_portal_cache_start(p, cfg->db ? cfg->db : dbpath);
	if (r >= 0)
		r = start_seen_flusher(p, cfg->db ? cfg->db : dbpath);
	if (r < 0)
		goto err;
	r = load_tls(p);
	if (r < 0)
		goto err;
	p->daemon = MHD_start_daemon(MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD,
		0, NULL, NULL, on_request, p,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_HTTPS_MEM_CERT, p->cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, p->key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3",
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 2),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LF_CONN_POOL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, p,
		MHD_OPTION_END);
	if (!p->daemon) {
		r = -EADDRINUSE;
		goto err;
	}
	info = MHD_get_daemon_info(p->daemon, MHD_DAEMON_INFO_BIND_PORT);
	p->port = info ? info->port : 0;
	return 0;
err:
	lf_portal_stop(p);
	return r;
}

int lf_portal_check(const struct lf_portal_config *cfg)
{
	struct lf_portal p = { .cfg = *cfg };
	struct sockaddr_storage ss;
	struct lf_store *s;
	socklen_t sslen;
	char dbpath[4096];
	int r;

	r = parse_listen(cfg->listen ? cfg->listen : "0.0.0.0:8443", &ss, &sslen);
	if (r < 0)
		return r;
	r = load_tls(&p);
	if (p.key_pem)
		explicit_bzero(p.key_pem, strlen(p.key_pem));
	free(p.key_pem);
	free(p.cert_pem);
	if (r < 0)
		return r;
	snprintf(dbpath, sizeof(dbpath), "%s/portal.db", cfg->data_dir);
	r = lf_store_open(cfg->db ? cfg->db : dbpath, &s);
	if (r == 0)
		lf_store_close(s);
	return r;
}

void lf_portal_tick(struct lf_portal *p)
{
	pthread_mutex_lock(&p->slots[0].lock);
	lf_portal_cache_tick(p, p->slots[0].store);
	pthread_mutex_unlock(&p->slots[0].lock);
}

void lf_portal_stop(struct lf_portal *p)
{
	if (p->daemon)
		MHD_stop_daemon(p->daemon);
	p->daemon = NULL;
	lf_portal_cache_stop(p);
	stop_seen_flusher(p);
	for (unsigned i = 0; p->slots && i < p->nslots; i++) {
		lf_store_close(p->slots[i].store);
		pthread_mutex_destroy(&p->slots[i].lock);
	}
	free(p->slots);
	p->slots = NULL;
	if (p->key_pem)
		explicit_bzero(p->key_pem, strlen(p->key_pem));
	free(p->key_pem);
	free(p->cert_pem);
	p->key_pem = p->cert_pem = NULL;
	lf_seen_release(&p->seen);
}
