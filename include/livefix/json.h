/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_JSON_H
#define LIVEFIX_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "livefix/buf.h"

/*
 * A streaming JSON writer for --json output and API responses. It tracks
 * nesting so commas and indentation are always right; errors (out of memory,
 * too deep) stick and are returned by lf_json_finish().
 */
#define LF_JSON_MAX_DEPTH 32

struct lf_json {
	struct lf_buf *out;
	int depth;
	int err;
	bool pretty;
	bool after_key;
	bool first[LF_JSON_MAX_DEPTH];
};

void lf_json_init(struct lf_json *j, struct lf_buf *out, bool pretty);
void lf_json_object_begin(struct lf_json *j);
void lf_json_object_end(struct lf_json *j);
void lf_json_array_begin(struct lf_json *j);
void lf_json_array_end(struct lf_json *j);
void lf_json_key(struct lf_json *j, const char *key);
void lf_json_string(struct lf_json *j, const char *s);
void lf_json_int(struct lf_json *j, int64_t v);
void lf_json_uint(struct lf_json *j, uint64_t v);
void lf_json_bool(struct lf_json *j, bool v);
void lf_json_null(struct lf_json *j);

/* Shorthands for "key": value inside an object. */
void lf_json_kv_string(struct lf_json *j, const char *key, const char *s);
void lf_json_kv_int(struct lf_json *j, const char *key, int64_t v);
void lf_json_kv_bool(struct lf_json *j, const char *key, bool v);

/* Appends a newline when pretty; returns the first error, or 0. */
int lf_json_finish(struct lf_json *j);

/*
 * Finishes j and writes the document to f (nothing when there was an
 * error), then releases j's buffer. Returns the first error, or 0.
 */
int lf_json_flush(struct lf_json *j, FILE *f);

/* Appends s as a JSON string literal (quotes included) to b. */
int lf_json_escape(struct lf_buf *b, const char *s);

#endif
