/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded recursive-descent JSON parser. Recursion depth is capped by
 * max_depth, every allocation by max_values and max_string, so a hostile
 * document costs at most O(len) time and a bounded amount of memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/json_parse.h"

const struct lf_json_limits lf_json_default_limits = {
	.max_depth = 16,
	.max_values = 65536,
	.max_string = 65536,
};

struct parser {
	const char *p;
	const char *end;
	const struct lf_json_limits *lim;
	size_t depth;
	size_t values;
};

static int parse_value(struct parser *ps, struct lf_jv *v);

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int expect_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return -EBADMSG;
	ps->p += n;
	return 0;
}

static int hex4(const char *p, unsigned *ret)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EBADMSG;
	}
	*ret = v;
	return 0;
}

/* Length of a valid UTF-8 sequence at p (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0], cp;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static int put_utf8(struct lf_buf *b, unsigned cp)
{
	char u[3];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	} else {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	}
	return lf_buf_append(b, u, n);
}

static int parse_escape(struct parser *ps, struct lf_buf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	unsigned cp;

	if (ps->p >= ps->end)
		return -EBADMSG;
	e = strchr(from, *ps->p);
	if (e && *ps->p) {
		ps->p++;
		return lf_buf_putc(b, to[e - from]);
	}
	if (*ps->p != 'u' || ps->end - ps->p < 5 || hex4(ps->p + 1, &cp) < 0)
		return -EBADMSG;
	ps->p += 5;
	/* Surrogates are refused: formats hold no characters outside the BMP
	 * that would need them escaped, and raw UTF-8 is accepted. */
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
		return -EBADMSG;
	return put_utf8(b, cp);
}

static int parse_string(struct parser *ps, char **ret, size_t *ret_len)
{
	struct lf_buf b = LF_BUF_INIT(ps->lim->max_string);
	int r;

	if (ps->p >= ps->end || *ps->p != '"')
		return -EBADMSG;
	ps->p++;
	r = lf_buf_reserve(&b, 0);
	if (r == 0)
		b.data[0] = '\0'; /* "" must come out terminated too */
	while (r == 0) {
		unsigned char c;
		size_t n;

		if (ps->p >= ps->end) {
			r = -EBADMSG;
			break;
		}
		c = (unsigned char)*ps->p;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			/* A run of plain ASCII is copied at once, not byte by byte. */
			const char *q = ps->p + 1;

			while (q < ps->end && (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x80 &&
			       *q != '"' && *q != '\\')
				q++;
			r = lf_buf_append(&b, ps->p, (size_t)(q - ps->p));
			ps->p = q;
			continue;
		}
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c == '\\') {
			ps->p++;
			r = parse_escape(ps, &b);
			continue;
		}
		n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
		if (c < 0x20 || n == 0) {
			r = -EBADMSG;
			break;
		}
		r = lf_buf_append(&b, ps->p, n);
		ps->p += n;
	}
	if (r == 0) {
		/* Control characters from escapes are refused too: canonical
		 * form writes strings raw, so they must not need escaping. */
		for (size_t i = 0; i < b.len; i++)
			if ((unsigned char)b.data[i] < 0x20)
				r = -EBADMSG;
	}
	if (r < 0) {
		lf_buf_release(&b);
		return r;
	}
	*ret = lf_buf_detach(&b, ret_len);
	return 0;
}

static int parse_int(struct parser *ps, struct lf_jv *v)
{
	bool neg = false;
	uint64_t acc = 0;
	const char *start;

	if (ps->p < ps->end && *ps->p == '-') {
		neg = true;
		ps->p++;
	}
	start = ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		unsigned d = (unsigned)(*ps->p - '0');

		if (acc > (UINT64_MAX - d) / 10)
			return -EOVERFLOW;
		acc = acc * 10 + d;
		ps->p++;
	}
	if (ps->p == start || (*start == '0' && ps->p - start > 1))
		return -EBADMSG;
	if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
		return -EBADMSG; /* no floats in livefix formats */
	if (neg && acc == 0)
		return -EBADMSG; /* "-0" has no canonical form */
	if ((!neg && acc > INT64_MAX) || (neg && acc > (uint64_t)INT64_MAX + 1))
		return -EOVERFLOW;
	v->type = LF_JINT;
	v->u.i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct lf_jv *)a)->key, ((const struct lf_jv *)b)->key);
}

static void release(struct lf_jv *v);

/* "key" : — the member name and its colon, with the whitespace around. */
static int parse_key(struct parser *ps, char **ret)
{
	size_t klen;
	int r = parse_string(ps, ret, &klen);

	if (r < 0)
		return r;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != ':') {
		free(*ret);
		*ret = NULL;
		return -EBADMSG;
	}
	ps->p++;
	skip_ws(ps);
	return 0;
}

static int sort_members(struct lf_jv *v)
{
	qsort(v->u.kids, v->len, sizeof(*v->u.kids), cmp_key);
	for (size_t i = 1; i < v->len; i++)
		if (strcmp(v->u.kids[i - 1].key, v->u.kids[i].key) == 0)
			return -EBADMSG; /* duplicate keys are ambiguous */
	return 0;
}

/* Parses the elements of an array or the members of an object. */
static int parse_container(struct parser *ps, struct lf_jv *v, bool is_obj)
{
	size_t cap = 0;
	char close = is_obj ? '}' : ']';
	int r = 0;

	v->type = is_obj ? LF_JOBJ : LF_JARR;
	ps->p++;
	if (++ps->depth > ps->lim->max_depth)
		return -EOVERFLOW;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		goto done;
	}
	for (;;) {
		struct lf_jv *kid;
		char *key = NULL;

		skip_ws(ps);
		if (is_obj && (r = parse_key(ps, &key)) < 0)
			return r;
		if (v->len == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct lf_jv *n = realloc(v->u.kids, ncap * sizeof(*n));

			if (!n) {
				free(key);
				return -ENOMEM;
			}
			v->u.kids = n;
			cap = ncap;
		}
		kid = &v->u.kids[v->len++];
		memset(kid, 0, sizeof(*kid));
		kid->key = key;
		r = parse_value(ps, kid);
		if (r < 0)
			return r;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		return -EBADMSG;
	}
	if (is_obj && (r = sort_members(v)) < 0)
		return r;
done:
	ps->depth--;
	return 0;
}

static int parse_value(struct parser *ps, struct lf_jv *v)
{
	if (++ps->values > ps->lim->max_values)
		return -EOVERFLOW;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EBADMSG;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, v, true);
	case '[':
		return parse_container(ps, v, false);
	case '"':
		v->type = LF_JSTR;
		return parse_string(ps, &v->u.s, &v->len);
	case 't':
		v->type = LF_JBOOL;
		v->u.b = true;
		return expect_word(ps, "true");
	case 'f':
		v->type = LF_JBOOL;
		return expect_word(ps, "false");
	case 'n':
		v->type = LF_JNULL;
		return expect_word(ps, "null");
	default:
		return parse_int(ps, v);
	}
}

static void release(struct lf_jv *v)
{
	free(v->key);
	if (v->type == LF_JSTR)
		free(v->u.s);
	if (v->type == LF_JARR || v->type == LF_JOBJ) {
		for (size_t i = 0; i < v->len; i++)
			release(&v->u.kids[i]);
		free(v->u.kids);
	}
}

void lf_jv_free(struct lf_jv *v)
{
	if (!v)
		return;
	release(v);
	free(v);
}

int lf_json_parse(const char *data, size_t len, const struct lf_json_limits *lim,
		  struct lf_jv **ret)
{
	struct parser ps = { .p = data, .end = data + len,
			     .lim = lim ? lim : &lf_json_default_limits };
	struct lf_jv *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	r = parse_value(&ps, v);
	if (r == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			r = -EBADMSG; /* trailing data */
	}
	if (r < 0) {
		lf_jv_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

static int put_string(struct lf_buf *out, const char *s, size_t len)
{
	int r = lf_buf_putc(out, '"');

	for (size_t i = 0; r == 0 && i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			r = lf_buf_putc(out, '\\');
		if (r == 0)
			r = lf_buf_putc(out, s[i]);
	}
	return r ? r : lf_buf_putc(out, '"');
}

int lf_json_canonical(const struct lf_jv *v, struct lf_buf *out)
{
	int r = 0;

	switch (v->type) {
	case LF_JNULL:
		return lf_buf_puts(out, "null");
	case LF_JBOOL:
		return lf_buf_puts(out, v->u.b ? "true" : "false");
	case LF_JINT:
		return lf_buf_printf(out, "%" PRId64, v->u.i);
	case LF_JSTR:
		return put_string(out, v->u.s, v->len);
	case LF_JARR:
	case LF_JOBJ:
		r = lf_buf_putc(out, v->type == LF_JOBJ ? '{' : '[');
		for (size_t i = 0; r == 0 && i < v->len; i++) {
			const struct lf_jv *k = &v->u.kids[i];

			if (i > 0)
				r = lf_buf_putc(out, ',');
			if (r == 0 && v->type == LF_JOBJ) {
				r = put_string(out, k->key, strlen(k->key));
				if (r == 0)
					r = lf_buf_putc(out, ':');
			}
			if (r == 0)
				r = lf_json_canonical(k, out);
		}
		return r ? r : lf_buf_putc(out, v->type == LF_JOBJ ? '}' : ']');
	}
	return -EINVAL;
}

const struct lf_jv *lf_jv_get(const struct lf_jv *obj, const char *key)
{
	size_t lo = 0, hi;

	if (!obj || obj->type != LF_JOBJ)
		return NULL;
	hi = obj->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, obj->u.kids[mid].key);

		if (c == 0)
			return &obj->u.kids[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int lf_jv_get_str(const struct lf_jv *obj, const char *key, size_t max_len,
		  const char **ret)
{
	const struct lf_jv *v = lf_jv_get(obj, key);

	if (!v || v->type != LF_JSTR)
		return -EBADMSG;
	if (v->len > max_len)
		return -EOVERFLOW;
	*ret = v->u.s;
	return 0;
}

int lf_jv_get_int(const struct lf_jv *obj, const char *key, int64_t min,
		  int64_t max, int64_t *ret)
{
	const struct lf_jv *v = lf_jv_get(obj, key);

	if (!v || v->type != LF_JINT)
		return -EBADMSG;
	if (v->u.i < min || v->u.i > max)
		return -EOVERFLOW;
	*ret = v->u.i;
	return 0;
}

int lf_jv_get_obj(const struct lf_jv *obj, const char *key, const struct lf_jv **ret)
{
	const struct lf_jv *v = lf_jv_get(obj, key);

	if (!v || v->type != LF_JOBJ)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int lf_jv_get_arr(const struct lf_jv *obj, const char *key, size_t max_len,
		  const struct lf_jv **ret)
{
	const struct lf_jv *v = lf_jv_get(obj, key);

	if (!v || v->type != LF_JARR)
		return -EBADMSG;
	if (v->len > max_len)
		return -EOVERFLOW;
	*ret = v;
	return 0;
}

int lf_jv_check_keys(const struct lf_jv *obj, const char *const *allowed)
{
	if (!obj || obj->type != LF_JOBJ)
		return -EBADMSG;
	for (size_t i = 0; i < obj->len; i++) {
		const char *const *a = allowed;

		while (*a && strcmp(*a, obj->u.kids[i].key) != 0)
			a++;
		if (!*a)
			return -EBADMSG;
	}
	return 0;
}
