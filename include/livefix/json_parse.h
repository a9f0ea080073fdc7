/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_JSON_PARSE_H
#define LIVEFIX_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "livefix/buf.h"

/*
 * A bounded JSON parser for signed metadata and manifests, and the canonical
 * form that signatures cover (docs/FORMATS.md, "Canonical JSON").
 *
 * It accepts the subset that livefix formats use: objects, arrays, strings,
 * integers (no fractions or exponents), true, false, null. It refuses
 * duplicate object keys, strings with control characters or invalid UTF-8,
 * and anything past the limits given. Malformed input is -EBADMSG, input
 * past a limit -EOVERFLOW.
 *
 * Object members are kept sorted by key (bytewise), so lookups are binary
 * searches and lf_json_canonical() writes them in order.
 */
enum lf_jtype {
	LF_JNULL,
	LF_JBOOL,
	LF_JINT,
	LF_JSTR,
	LF_JARR,
	LF_JOBJ,
};

struct lf_jv {
	enum lf_jtype type;
	char *key;          /* member name inside an object, else NULL */
	size_t len;         /* string length in bytes, or number of children */
	union {
		bool b;
		int64_t i;
		char *s;            /* NUL-terminated, never contains NUL */
		struct lf_jv *kids; /* array elements, or members sorted by key */
	} u;
};

struct lf_json_limits {
	size_t max_depth;   /* nesting of arrays and objects */
	size_t max_values;  /* values in the whole document */
	size_t max_string;  /* bytes in one string or key, after unescaping */
};

/* Limits for repository metadata and manifests. */
extern const struct lf_json_limits lf_json_default_limits;

int lf_json_parse(const char *data, size_t len, const struct lf_json_limits *lim,
		  struct lf_jv **ret);
void lf_jv_free(struct lf_jv *v);

/*
 * Canonical form: no insignificant whitespace, members sorted by key
 * bytewise, strings with only '"' and '\\' escaped, integers in shortest
 * decimal form.
 */
int lf_json_canonical(const struct lf_jv *v, struct lf_buf *out);

/* Member of an object by key, or NULL (also when v is not an object). */
const struct lf_jv *lf_jv_get(const struct lf_jv *obj, const char *key);

/*
 * Typed member getters: -EBADMSG when the member is missing or has another
 * type, -EOVERFLOW when out of the given bounds.
 */
int lf_jv_get_str(const struct lf_jv *obj, const char *key, size_t max_len,
		  const char **ret);
int lf_jv_get_int(const struct lf_jv *obj, const char *key, int64_t min,
		  int64_t max, int64_t *ret);
int lf_jv_get_obj(const struct lf_jv *obj, const char *key, const struct lf_jv **ret);
int lf_jv_get_arr(const struct lf_jv *obj, const char *key, size_t max_len,
		  const struct lf_jv **ret);

/* Only the listed keys (NULL-terminated) may appear in obj: -EBADMSG otherwise. */
int lf_jv_check_keys(const struct lf_jv *obj, const char *const *allowed);

#endif
