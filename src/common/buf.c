/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/buf.h"

void lf_buf_init(struct lf_buf *b, size_t max)
{
	*b = (struct lf_buf)LF_BUF_INIT(max);
}

void lf_buf_release(struct lf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void lf_buf_reset(struct lf_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int lf_buf_reserve(struct lf_buf *b, size_t extra)
{
	/* Keep room for the terminator even with an unbounded buffer. */
	size_t max = b->max < SIZE_MAX ? b->max : SIZE_MAX - 1;
	size_t need, cap;
	char *p;

	if (extra > max || b->len > max - extra)
		return -EOVERFLOW;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > max + 1)
		cap = max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int lf_buf_append(struct lf_buf *b, const void *data, size_t len)
{
	int r = lf_buf_reserve(b, len);

	if (r < 0)
		return r;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int lf_buf_puts(struct lf_buf *b, const char *s)
{
	return lf_buf_append(b, s, strlen(s));
}

int lf_buf_putc(struct lf_buf *b, char c)
{
	/* The common case (room left, under the bound) without a call. */
	if (b->len + 2 <= b->cap && b->len < b->max) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return lf_buf_append(b, &c, 1);
}

int lf_buf_vprintf(struct lf_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n, r;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return -EINVAL;
	r = lf_buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int lf_buf_printf(struct lf_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = lf_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *lf_buf_detach(struct lf_buf *b, size_t *ret_len)
{
	char *p = b->data;

	if (!p)
		p = calloc(1, 1);
	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
