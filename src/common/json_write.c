/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "livefix/json.h"

void lf_json_init(struct lf_json *j, struct lf_buf *out, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
	j->first[0] = true;
}

static void check(struct lf_json *j, int r)
{
	if (r < 0 && j->err == 0)
		j->err = r;
}

static void indent(struct lf_json *j)
{
	check(j, lf_buf_putc(j->out, '\n'));
	for (int i = 0; i < j->depth; i++)
		check(j, lf_buf_puts(j->out, "  "));
}

/* Separator and indentation before a value or a key. */
static void before_item(struct lf_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		check(j, lf_buf_putc(j->out, ','));
	j->first[j->depth] = false;
	if (j->pretty && j->depth > 0)
		indent(j);
}

static void open_nested(struct lf_json *j, char c)
{
	before_item(j);
	check(j, lf_buf_putc(j->out, c));
	if (j->depth + 1 >= LF_JSON_MAX_DEPTH) {
		check(j, -E2BIG);
		return;
	}
	j->depth++;
	j->first[j->depth] = true;
}

static void close_nested(struct lf_json *j, char c)
{
	bool empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (j->pretty && !empty)
		indent(j);
	check(j, lf_buf_putc(j->out, c));
}

void lf_json_object_begin(struct lf_json *j) { open_nested(j, '{'); }
void lf_json_object_end(struct lf_json *j) { close_nested(j, '}'); }
void lf_json_array_begin(struct lf_json *j) { open_nested(j, '['); }
void lf_json_array_end(struct lf_json *j) { close_nested(j, ']'); }

int lf_json_escape(struct lf_buf *b, const char *s)
{
	int r = lf_buf_putc(b, '"');

	for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++) {
		switch (*p) {
		case '"': r = lf_buf_puts(b, "\\\""); break;
		case '\\': r = lf_buf_puts(b, "\\\\"); break;
		case '\n': r = lf_buf_puts(b, "\\n"); break;
		case '\r': r = lf_buf_puts(b, "\\r"); break;
		case '\t': r = lf_buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				r = lf_buf_printf(b, "\\u%04x", *p);
			else
				r = lf_buf_putc(b, (char)*p);
		}
	}
	return r ? r : lf_buf_putc(b, '"');
}

void lf_json_key(struct lf_json *j, const char *key)
{
	before_item(j);
	check(j, lf_json_escape(j->out, key));
	check(j, lf_buf_puts(j->out, j->pretty ? ": " : ":"));
	j->after_key = true;
}

void lf_json_string(struct lf_json *j, const char *s)
{
	before_item(j);
	if (!s)
		check(j, lf_buf_puts(j->out, "null"));
	else
		check(j, lf_json_escape(j->out, s));
}

void lf_json_int(struct lf_json *j, int64_t v)
{
	before_item(j);
	check(j, lf_buf_printf(j->out, "%" PRId64, v));
}

void lf_json_uint(struct lf_json *j, uint64_t v)
{
	before_item(j);
	check(j, lf_buf_printf(j->out, "%" PRIu64, v));
}

void lf_json_bool(struct lf_json *j, bool v)
{
	before_item(j);
	check(j, lf_buf_puts(j->out, v ? "true" : "false"));
}

void lf_json_null(struct lf_json *j)
{
	before_item(j);
	check(j, lf_buf_puts(j->out, "null"));
}

void lf_json_kv_string(struct lf_json *j, const char *key, const char *s)
{
	lf_json_key(j, key);
	lf_json_string(j, s);
}

void lf_json_kv_int(struct lf_json *j, const char *key, int64_t v)
{
	lf_json_key(j, key);
	lf_json_int(j, v);
}

void lf_json_kv_bool(struct lf_json *j, const char *key, bool v)
{
	lf_json_key(j, key);
	lf_json_bool(j, v);
}

int lf_json_finish(struct lf_json *j)
{
	if (j->pretty)
		check(j, lf_buf_putc(j->out, '\n'));
	return j->err;
}

int lf_json_flush(struct lf_json *j, FILE *f)
{
	int r = lf_json_finish(j);

	if (r == 0 && fputs(j->out->data, f) == EOF)
		r = -EIO;
	lf_buf_release(j->out);
	return r;
}
