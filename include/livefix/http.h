/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_HTTP_H
#define LIVEFIX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livefix/buf.h"

/*
 * A bounded HTTP(S) GET (libcurl). The body goes into out and never past
 * max bytes: a longer body is cut off at max + 1 bytes and fails with
 * -EOVERFLOW (endless data). A transfer slower than min_rate bytes/s for
 * min_rate_time seconds, or longer than timeout seconds in total, fails
 * with -ETIMEDOUT (slow retrieval). Only http and https, no redirects.
 *
 * Returns 0 (200), 1 (304 Not Modified, with etag sent), -ENOENT (404 or
 * 410), -EOVERFLOW, -ETIMEDOUT, -ECONNREFUSED, -EPROTO (other statuses),
 * -EIO (other transfer errors).
 */
/* 0 when HTTP can be used; -EOPNOTSUPP when libcurl.so.4 is not installed. */
int lf_http_available(void);

struct lf_http_opts {
	size_t max;
	bool exact;           /* max is a declared length, not a cap (a shorter body is
				 returned as is: the caller checks length and hash) */
	long min_rate;        /* bytes per second */
	long min_rate_time;   /* seconds */
	long timeout;         /* seconds, whole transfer */
	const char *etag;     /* sent as If-None-Match when non-empty */
	const char *ca_file;  /* PEM certificates to trust for https (CURLOPT_CAINFO);
				 NULL: the system's store */
	const char *bearer;   /* sent as Authorization: Bearer, over https only */
};

#define LF_HTTP_ETAG_MAX 128
#define LF_HTTP_BEARER_MAX 256

struct lf_http_result {
	long status;
	char etag[LF_HTTP_ETAG_MAX];
	uint64_t bytes;       /* request + response headers + body */
	char error[128];
};

int lf_http_get(const char *url, const struct lf_http_opts *o, struct lf_buf *out,
		struct lf_http_result *res);

/*
 * A bounded request with a JSON body (method "POST" or "PUT"; body may be
 * NULL for none). The answer goes into out as for lf_http_get. Returns the
 * HTTP status (100..599) when the exchange completed, whatever it was, or
 * the negative errors of lf_http_get for transfer failures.
 */
#define LF_HTTP_BODY_MAX (1 << 20)
int lf_http_request(const char *url, const char *method, const char *body, size_t body_len,
		    const struct lf_http_opts *o, struct lf_buf *out, struct lf_http_result *res);

#endif
