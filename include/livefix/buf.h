/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUF_H
#define LIVEFIX_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte buffer with a hard upper bound. Every buffer that holds
 * input from a file, the network or another process is created with the
 * largest size that input may legitimately have; growing past it fails with
 * -EOVERFLOW and leaves the contents as they were. The data is always
 * NUL-terminated (the terminator is not counted in len).
 */
struct lf_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define LF_BUF_INIT(maxlen) { .data = NULL, .len = 0, .cap = 0, .max = (maxlen) }

void lf_buf_init(struct lf_buf *b, size_t max);
void lf_buf_release(struct lf_buf *b);
void lf_buf_reset(struct lf_buf *b);
int lf_buf_reserve(struct lf_buf *b, size_t extra);
int lf_buf_append(struct lf_buf *b, const void *data, size_t len);
int lf_buf_puts(struct lf_buf *b, const char *s);
int lf_buf_putc(struct lf_buf *b, char c);
__attribute__((format(printf, 2, 3)))
int lf_buf_printf(struct lf_buf *b, const char *fmt, ...);
__attribute__((format(printf, 2, 0)))
int lf_buf_vprintf(struct lf_buf *b, const char *fmt, va_list ap);
/* Hands the data to the caller (free() it) and empties the buffer. */
char *lf_buf_detach(struct lf_buf *b, size_t *ret_len);

#endif
