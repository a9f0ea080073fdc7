/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "livefix/buf.h"
#include "livefix/file.h"
#include "kconfig.h"

/* A distribution config is about 250 KiB; allow generous headroom. */
#define KCONFIG_MAX (8u << 20)

static int read_gz(const char *path, struct lf_buf *out)
{
	gzFile f = gzopen(path, "rbe");
	int r = 0;

	if (!f)
		return errno ? -errno : -ENOENT;
	for (;;) {
		int n;

		r = lf_buf_reserve(out, 65536);
		if (r < 0)
			break;
		n = gzread(f, out->data + out->len, 65536);
		if (n < 0) {
			r = -EBADMSG;
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	gzclose(f);
	return r;
}

int lf_kconfig_from_text(const char *text, size_t len, const char *source, struct lf_kconfig *ret)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	ret->text = copy;
	ret->len = len;
	snprintf(ret->source, sizeof(ret->source), "%s", source);
	return 0;
}

int lf_kconfig_load(const char *release, struct lf_kconfig *ret)
{
	struct lf_buf b = LF_BUF_INIT(KCONFIG_MAX);
	char path[PATH_MAX];
	int r;

	r = read_gz("/proc/config.gz", &b);
	if (r == 0 && b.len > 0) {
		snprintf(ret->source, sizeof(ret->source), "/proc/config.gz");
		ret->text = lf_buf_detach(&b, &ret->len);
		return 0;
	}
	lf_buf_release(&b);
	snprintf(path, sizeof(path), "/boot/config-%s", release);
	r = lf_read_file(path, KCONFIG_MAX, &ret->text, &ret->len);
	if (r < 0)
		return r;
	snprintf(ret->source, sizeof(ret->source), "%s", path);
	return 0;
}

void lf_kconfig_release(struct lf_kconfig *c)
{
	free(c->text);
	c->text = NULL;
	c->len = 0;
}

const char *lf_kconfig_get(const struct lf_kconfig *c, const char *sym, char *buf, size_t size)
{
	size_t slen = strlen(sym);
	const char *p = c->text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > 7 + slen && !memcmp(p, "CONFIG_", 7) && !memcmp(p + 7, sym, slen) &&
		    p[7 + slen] == '=') {
			size_t vlen = len - 8 - slen;

			if (vlen >= size)
				vlen = size - 1;
			memcpy(buf, p + 8 + slen, vlen);
			buf[vlen] = '\0';
			return buf;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}
