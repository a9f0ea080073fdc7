/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded HTTP GET with libcurl (include/livefix/http.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "livefix/http.h"

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
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	if (o->min_rate > 0 && o->min_rate_time > 0) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o->min_rate);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->min_rate_time);
	}
	if (o->timeout > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "livefix/" LIVEFIX_VERSION);
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->res->error);
}

int lf_http_get(const char *url, const struct lf_http_opts *o, struct lf_buf *out,
		struct lf_http_result *res)
{
	struct xfer x = { .out = out, .max = o->max, .res = res };
	struct curl_slist *hdrs = NULL;
	curl_off_t down = 0;
	long hsize = 0, rsize = 0;
	CURLcode cc;
	CURL *c;
	int r;

	/* The header first: o->etag may point into *res (the last result). */
	if (o->etag && o->etag[0]) {
		char h[LF_HTTP_ETAG_MAX + 32];

		snprintf(h, sizeof(h), "If-None-Match: %s", o->etag);
		hdrs = curl_slist_append(NULL, h);
		if (!hdrs)
			return -ENOMEM;
	}
	memset(res, 0, sizeof(*res));
	lf_buf_reset(out);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = curl_easy_init())) {
		curl_slist_free_all(hdrs);
		return -EIO;
	}
	setup(c, url, o, &x, hdrs);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &down);
	curl_easy_getinfo(c, CURLINFO_HEADER_SIZE, &hsize);
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &rsize);
	res->bytes = (uint64_t)down + (uint64_t)hsize + (uint64_t)rsize;
	r = cc == CURLE_OK ? status_result(res->status, o) : map_error(cc, &x);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}
