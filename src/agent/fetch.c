/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Repository transports for the TUF client: a directory (USB stick, mirror
 * on disk) or HTTP(S). Both enforce the same bounds; the metadata, not the
 * transport, carries the trust.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/http.h"

#include "trust_agent.h"

static int explain(int r, const char *name, size_t max, unsigned flags,
		   const struct lf_agent_fetch *f, struct lf_why *why)
{
	switch (r) {
	case -EOVERFLOW:
		lf_why_set(why, "%s: longer than %s %zu bytes, download stopped (endless data attack)",
			   name, flags & LF_FETCH_EXACT ? "the declared" : "the maximum", max);
		break;
	case -ETIMEDOUT:
		lf_why_set(why, "%s: slower than %ld bytes/s for %ld s or longer than %ld s, download "
			   "aborted (slow retrieval attack)", name, f->min_rate, f->min_rate_time,
			   f->timeout);
		break;
	case -ENOENT:
		break;
	default:
		lf_why_set(why, "%s: cannot fetch from %s: %s", name, f->base, strerror(-r));
	}
	return r;
}

static int dir_get(struct lf_agent_fetch *f, const char *name, size_t max, unsigned flags,
		   struct lf_buf *out)
{
	struct stat st;
	char *path, *data;
	size_t len;
	int fd, r;

	if (asprintf(&path, "%s/%s", f->base, name) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	free(path);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EIO;
	}
	/* lf_read_fd reads at most max + 1 bytes, whatever the file claims. */
	r = lf_read_fd(fd, max, &data, &len);
	close(fd);
	if (r < 0)
		return r;
	f->bytes += len;
	lf_buf_reset(out);
	r = lf_buf_append(out, data, len);
	free(data);
	return r; /* a shorter file is the caller's to judge, with its hash */
}

static int http_get(struct lf_agent_fetch *f, const char *name, size_t max, unsigned flags,
		    char *etag, size_t etag_size, struct lf_buf *out)
{
	struct lf_http_opts o = {
		.max = max, .exact = flags & LF_FETCH_EXACT, .min_rate = f->min_rate,
		.min_rate_time = f->min_rate_time, .timeout = f->timeout,
		.etag = etag, .bearer = f->bearer, .cainfo = f->cainfo,
	};
	struct lf_http_result res;
	char served[256];
	char *url;
	int r;

	if (f->portal) {
		lf_agent_portal_name(name, served, sizeof(served));
		name = served;
	}
	if (asprintf(&url, "%s/%s", f->base, name) < 0)
		return -ENOMEM;
	r = lf_http_get(url, &o, out, &res);
	free(url);
	f->bytes += res.bytes;
	if (r >= 0 && etag && etag_size) {
		if (r == 0)
			snprintf(etag, etag_size, "%s", res.etag);
	}
	return r;
}

static int agent_get(void *ctx, const char *name, size_t max, unsigned flags, char *etag,
		     size_t etag_size, struct lf_buf *out, struct lf_why *why)
{
	struct lf_agent_fetch *f = ctx;
	size_t saved_max = out->max;
	int r;

	f->requests++;
	/* Room for one byte more than allowed, to tell "longer" apart. */
	out->max = max + 1;
	if (f->http)
		r = http_get(f, name, max, flags, etag, etag_size, out);
	else
		r = dir_get(f, name, max, flags, out);
	out->max = saved_max > max ? saved_max : max;
	return r < 0 ? explain(r, name, max, flags, f, why) : r;
}

void lf_agent_portal_name(const char *name, char *ret, size_t size)
{
	const char *dot = strchr(name, '.');
	size_t n = strspn(name, "0123456789");

	if (n > 0 && dot == name + n && !strcmp(dot, ".snapshot.json"))
		snprintf(ret, size, "snapshot.json");
	else if (!strncmp(name, "targets/", 8) && strchr(name + 8, '/'))
		snprintf(ret, size, "targets.json");
	else
		snprintf(ret, size, "%s", name);
}

void lf_agent_fetcher(struct lf_agent_fetch *ctx, struct lf_fetcher *ret)
{
	ctx->http = strncmp(ctx->base, "http://", 7) == 0 || strncmp(ctx->base, "https://", 8) == 0;
	ret->get = agent_get;
	ret->ctx = ctx;
}
