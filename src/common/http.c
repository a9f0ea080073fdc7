/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded HTTP GET with libcurl (include/livefix/http.h).
 *
 * libcurl is loaded with dlopen() on the first request rather than linked:
 * Debian's libcurl brings about 30 more shared libraries (TLS, Kerberos,
 * LDAP, ...), which made every start of the agent cost about 5 ms here and
 * far more on a small device, although only the commands that fetch over
 * HTTP need them. A device without libcurl can still do everything else.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "livefix/http.h"

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	int err;
} api;

static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void load_api(void)
{
	/* The SONAME of libcurl 7 and 8: the ABI these prototypes describe. */
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		api.err = -EOPNOTSUPP;
		return;
	}
#define SYM(field, name) \
	if (!(*(void **)&api.field = dlsym(h, name))) { api.err = -EOPNOTSUPP; return; }
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		api.err = -EIO;
}

int lf_http_available(void)
{
	pthread_once(&api_once, load_api);
	return api.err;
}

struct xfer {
	struct lf_buf *out;
	size_t max;
	bool overflow;
	struct lf_http_result *res;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;

	/* Stop at the declared length: whatever comes after is not read. */
	if (len > x->max - x->out->len) {
		x->overflow = true;
		return 0;
	}
	return lf_buf_append(x->out, data, len) == 0 ? len : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n, vlen;
	const char *v;

	if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
		v = data + 5;
		while (v < data + len && isspace((unsigned char)*v))
			v++;
		vlen = (size_t)(data + len - v);
		while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
			vlen--;
		if (vlen < sizeof(x->res->etag)) {
			memcpy(x->res->etag, v, vlen);
			x->res->etag[vlen] = '\0';
		}
	}
	return len;
}

static int map_error(CURLcode c, const struct xfer *x)
{
	if (x->overflow || c == CURLE_FILESIZE_EXCEEDED)
		return -EOVERFLOW;
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int status_result(long status, const struct lf_http_opts *o)
{
	if (status == 304 && o->etag && o->etag[0])
		return 1;
	if (status == 404 || status == 410)
		return -ENOENT;
	if (status != 200)
		return -EPROTO;
	return 0; /* shorter than o->max: the caller compares lengths and hashes */
}

static void setup(CURL *c, const char *url, const struct lf_http_opts *o, struct xfer *x,
		  struct curl_slist *hdrs)
{
	api.easy_setopt(c, CURLOPT_URL, url);
	api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	api.easy_setopt(c, CURLOPT_WRITEDATA, x);
	api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	api.easy_setopt(c, CURLOPT_HEADERDATA, x);
	api.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max);
	api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	if (o->min_rate > 0 && o->min_rate_time > 0) {
		api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o->min_rate);
		api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->min_rate_time);
	}
	if (o->timeout > 0)
		api.easy_setopt(c, CURLOPT_TIMEOUT, o->timeout);
	api.easy_setopt(c, CURLOPT_USERAGENT, "livefix/" LIVEFIX_VERSION);
	if (hdrs)
		api.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	api.easy_setopt(c, CURLOPT_ERRORBUFFER, x->res->error);
}

/* The request headers: If-None-Match, Authorization, Content-Type. */
static int make_headers(const char *url, const struct lf_http_opts *o, bool json,
			struct curl_slist **ret)
{
	char h[LF_HTTP_ETAG_MAX + 512];
	struct curl_slist *l = NULL, *n;

	*ret = NULL;
	if (o->etag && o->etag[0]) {
		snprintf(h, sizeof(h), "If-None-Match: %s", o->etag);
		if (!(l = api.slist_append(l, h)))
			return -ENOMEM;
	}
	/* A credential travels only inside TLS, and never with a line break in it. */
	if (o->bearer && o->bearer[0]) {
		if (strncmp(url, "https://", 8) != 0 || strlen(o->bearer) > LF_HTTP_BEARER_MAX ||
		    strpbrk(o->bearer, "\r\n"))
			return api.slist_free_all(l), -EINVAL;
		snprintf(h, sizeof(h), "Authorization: Bearer %s", o->bearer);
		n = api.slist_append(l, h);
		explicit_bzero(h, sizeof(h));
		if (!n)
			return api.slist_free_all(l), -ENOMEM;
		l = n;
	}
	if (json) {
		if (!(n = api.slist_append(l, "Content-Type: application/json")))
			return api.slist_free_all(l), -ENOMEM;
		l = n;
	}
	*ret = l;
	return 0;
}

/* Runs one transfer; returns the CURLcode mapped, or 0 with res->status set. */
static int perform(const char *url, const char *method, const char *body, size_t body_len,
		   const struct lf_http_opts *o, struct lf_buf *out, struct lf_http_result *res)
{
	struct xfer x = { .out = out, .max = o->max, .res = res };
	struct curl_slist *hdrs = NULL;
	curl_off_t down = 0;
	long hsize = 0, rsize = 0;
	CURLcode cc;
	CURL *c;
	int r;

	r = lf_http_available();
	if (r < 0) {
		snprintf(res->error, sizeof(res->error), "libcurl.so.4 cannot be loaded: %s",
			 r == -EOPNOTSUPP ? "not installed" : "initialisation failed");
		return r;
	}
	/* The headers first: o->etag may point into *res (the last result). */
	r = make_headers(url, o, method != NULL, &hdrs);
	if (r < 0)
		return r;
	memset(res, 0, sizeof(*res));
	lf_buf_reset(out);
	if (!(c = api.easy_init())) {
		api.slist_free_all(hdrs);
		return -EIO;
	}
	setup(c, url, o, &x, hdrs);
	if (o->ca_file && o->ca_file[0])
		api.easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (method) {
		api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		api.easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
	}
	cc = api.easy_perform(c);
	api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	api.easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &down);
	api.easy_getinfo(c, CURLINFO_HEADER_SIZE, &hsize);
	api.easy_getinfo(c, CURLINFO_REQUEST_SIZE, &rsize);
	res->bytes = (uint64_t)down + (uint64_t)hsize + (uint64_t)rsize;
	r = cc == CURLE_OK ? 0 : map_error(cc, &x);
	api.slist_free_all(hdrs);
	api.easy_cleanup(c);
	return r;
}

int lf_http_get(const char *url, const struct lf_http_opts *o, struct lf_buf *out,
		struct lf_http_result *res)
{
	int r = perform(url, NULL, NULL, 0, o, out, res);

	return r < 0 ? r : status_result(res->status, o);
}

int lf_http_request(const char *url, const char *method, const char *body, size_t body_len,
		    const struct lf_http_opts *o, struct lf_buf *out, struct lf_http_result *res)
{
	int r;

	if (!method || body_len > LF_HTTP_BODY_MAX)
		return -EINVAL;
	r = perform(url, method, body, body_len, o, out, res);
	if (r < 0)
		return r;
	return res->status >= 100 && res->status <= 599 ? (int)res->status : -EPROTO;
}
