/* SPDX-License-Identifier: Apache-2.0 */
/* The backend-independent half of the store: dispatch, migrations, helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/buf.h"

#include "schema.h"
#include "store.h"

#define MAX_PARAMS 16

struct lf_store {
	const struct lf_store_backend *be;
	void *conn;
	int schema_version;
};

int64_t lf_now(void)
{
	return (int64_t)time(NULL);
}

static bool is_pg_url(const char *target)
{
	return !strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11);
}

int lf_store_migration_count(void)
{
	return lf_schema_count();
}

/*
 * Replaces {{id}} and {{blob}} with the backend's type names, and keeps
 * the text between {{<backend name>}} and {{end}} only for that backend.
 */
static int render_migration(const struct lf_store_backend *be, const char *src,
			    struct lf_buf *out)
{
	size_t name_len = strlen(be->name);
	bool skip = false;
	int r = 0;

	while (*src && r >= 0) {
		if (!strncmp(src, "{{end}}", 7)) {
			skip = false;
			src += 7;
		} else if (!strncmp(src, "{{sqlite}}", 10) || !strncmp(src, "{{postgresql}}", 14)) {
			skip = strncmp(src + 2, be->name, name_len) || src[2 + name_len] != '}';
			src = strstr(src, "}}") + 2;
		} else if (skip) {
			src++;
		} else if (!strncmp(src, "{{id}}", 6)) {
			r = lf_buf_puts(out, be->id_type);
			src += 6;
		} else if (!strncmp(src, "{{blob}}", 8)) {
			r = lf_buf_puts(out, be->blob_type);
			src += 8;
		} else {
			r = lf_buf_putc(out, *src++);
		}
	}
	return r;
}

static int version_row(void *ctx, const struct lf_row *row)
{
	if (row->vals[0])
		*(int *)ctx = atoi(row->vals[0]);
	return 0;
}

/*
 * Applies one migration unless another process did it meanwhile: the
 * version is read again under the migration lock, inside the transaction.
 */
static int apply_migration(struct lf_store *s, int version)
{
	struct lf_buf sql = LF_BUF_INIT(1 << 20);
	int current = 0, r;

	r = render_migration(s->be, lf_schema_migration(version), &sql);
	if (r < 0)
		goto out;
	r = lf_store_begin(s);
	if (r < 0)
		goto out;
	if (s->be->migrate_lock_sql)
		r = s->be->script(s->conn, s->be->migrate_lock_sql);
	if (r >= 0)
		r = lf_store_q(s, "SELECT MAX(version) FROM schema_migrations", version_row, &current, "");
	if (r >= 0 && current < version) {
		r = s->be->script(s->conn, sql.data);
		if (r >= 0)
			r = lf_store_q(s, "INSERT INTO schema_migrations (version, applied)"
				       " VALUES ($1, $2)", NULL, NULL, "ii", (int64_t)version, lf_now());
	}
	if (r >= 0)
		r = lf_store_commit(s);
	else
		lf_store_rollback(s);
out:
	lf_buf_release(&sql);
	return r;
}

static int migrate_locked(struct lf_store *s);

static int migrate(struct lf_store *s)
{
	int r = 0, q;

	if (s->be->migrate_serialize_sql)
		r = s->be->script(s->conn, s->be->migrate_serialize_sql);
	if (r < 0)
		return r;
	r = migrate_locked(s);
	if (s->be->migrate_unserialize_sql) {
		q = s->be->script(s->conn, s->be->migrate_unserialize_sql);
		if (r == 0)
			r = q;
	}
	return r;
}

static int migrate_locked(struct lf_store *s)
{
	int version = 0, r;

	/* Two first starts may race on creating it: the loser tries once more. */
	for (int i = 0; i < 2; i++) {
		r = s->be->script(s->conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
				  " version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)");
		if (r != -EEXIST)
			break;
	}
	if (r < 0)
		return r;
	r = lf_store_q(s, "SELECT MAX(version) FROM schema_migrations", version_row, &version, "");
	if (r < 0)
		return r;
	if (version > lf_schema_count())
		return -EPROTO; /* a newer portal migrated this database */
	for (int v = version + 1; v <= lf_schema_count(); v++) {
		r = apply_migration(s, v);
		if (r < 0)
			return r;
	}
	s->schema_version = lf_schema_count();
	return 0;
}

int lf_store_open(const char *target, struct lf_store **ret_store)
{
	struct lf_store *s;
	int r;

	if (!target || !*target)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->be = is_pg_url(target) ? &lf_store_pg_backend : &lf_store_sqlite_backend;
	r = s->be->open(target, &s->conn);
	if (r < 0)
		goto err;
	r = migrate(s);
	if (r < 0)
		goto err;
	*ret_store = s;
	return 0;
err:
	lf_store_close(s);
	return r;
}

void lf_store_close(struct lf_store *s)
{
	if (!s)
		return;
	if (s->conn)
		s->be->close(s->conn);
	free(s);
}

const char *lf_store_backend_name(const struct lf_store *s)
{
	return s->be->name;
}

int lf_store_schema_version(struct lf_store *s)
{
	return s->schema_version;
}

int lf_store_exec(struct lf_store *s, const char *sql, int nparams,
		  const struct lf_param *params, lf_row_fn fn, void *ctx)
{
	if (nparams < 0 || nparams > MAX_PARAMS)
		return -E2BIG;
	return s->be->exec(s->conn, sql, nparams, params, fn, ctx);
}

/* Parameters are formatted into this; integers need text storage. */
struct params {
	struct lf_param p[MAX_PARAMS];
	char ints[MAX_PARAMS][24];
	int n;
};

static int collect_params(struct params *ps, const char *fmt, va_list ap)
{
	ps->n = 0;
	for (const char *f = fmt; *f; f++) {
		struct lf_param *p = &ps->p[ps->n];

		if (ps->n >= MAX_PARAMS)
			return -E2BIG;
		memset(p, 0, sizeof(*p));
		switch (*f) {
		case 's':
			p->data = va_arg(ap, const char *);
			break;
		case 'i':
			snprintf(ps->ints[ps->n], sizeof(ps->ints[0]), "%lld",
				 (long long)va_arg(ap, int64_t));
			p->data = ps->ints[ps->n];
			break;
		case 'b':
			p->data = va_arg(ap, const void *);
			p->len = va_arg(ap, size_t);
			p->blob = true;
			if (!p->data)
				p->data = "";
			break;
		default:
			return -EINVAL;
		}
		ps->n++;
	}
	return 0;
}

static int vq(struct lf_store *s, const char *sql, lf_row_fn fn, void *ctx,
	      const char *fmt, va_list ap)
{
	struct params ps;
	int r;

	r = collect_params(&ps, fmt, ap);
	if (r < 0)
		return r;
	return lf_store_exec(s, sql, ps.n, ps.p, fn, ctx);
}

int lf_store_q(struct lf_store *s, const char *sql, lf_row_fn fn, void *ctx,
	       const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vq(s, sql, fn, ctx, fmt, ap);
	va_end(ap);
	return r;
}

/* Text that is not UTF-8 (a raw path in the audit log) is shown with '?'. */
static json_t *json_text(const char *s, size_t len)
{
	json_t *v = json_stringn(s, len);
	char *copy;

	if (v)
		return v;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < len; i++)
		copy[i] = (s[i] & 0x80) || !s[i] ? '?' : s[i];
	copy[len] = '\0';
	v = json_stringn(copy, len);
	free(copy);
	return v;
}

static int json_row(void *ctx, const struct lf_row *row)
{
	json_t *obj = json_object();
	int r = 0;

	if (!obj)
		return -ENOMEM;
	for (int i = 0; i < row->ncols && r == 0; i++) {
		json_t *v;

		if (!row->vals[i])
			v = json_null();
		else if (row->is_int[i])
			v = json_integer(strtoll(row->vals[i], NULL, 10));
		else
			v = json_text(row->vals[i], row->lens[i]);
		if (!v || json_object_set_new(obj, row->names[i], v) < 0)
			r = -ENOMEM;
	}
	if (r == 0 && json_array_append_new(ctx, obj) < 0)
		return -ENOMEM;
	if (r < 0)
		json_decref(obj);
	return r;
}

int lf_store_json(struct lf_store *s, const char *sql, json_t **ret_rows,
		  const char *fmt, ...)
{
	json_t *rows = json_array();
	va_list ap;
	int r;

	if (!rows)
		return -ENOMEM;
	va_start(ap, fmt);
	r = vq(s, sql, json_row, rows, fmt, ap);
	va_end(ap);
	if (r < 0) {
		json_decref(rows);
		return r;
	}
	*ret_rows = rows;
	return r;
}

struct int_ctx {
	int64_t v;
	bool found;
};

static int int_row(void *ctx, const struct lf_row *row)
{
	struct int_ctx *c = ctx;

	if (!c->found && row->ncols > 0 && row->vals[0]) {
		c->v = strtoll(row->vals[0], NULL, 10);
		c->found = true;
	}
	return 0;
}

int lf_store_int(struct lf_store *s, const char *sql, int64_t *ret,
		 const char *fmt, ...)
{
	struct int_ctx c = { 0, false };
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vq(s, sql, int_row, &c, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	if (!c.found)
		return -ENOENT;
	*ret = c.v;
	return 0;
}

int lf_store_script(struct lf_store *s, const char *sql)
{
	return s->be->script(s->conn, sql);
}

int lf_store_begin(struct lf_store *s)
{
	return s->be->script(s->conn, s->be->begin_sql);
}

int lf_store_commit(struct lf_store *s)
{
	return s->be->script(s->conn, "COMMIT");
}

void lf_store_rollback(struct lf_store *s)
{
	(void)s->be->script(s->conn, "ROLLBACK");
}

int lf_store_audit(struct lf_store *s, int64_t token_id, const char *role,
		   const char *action, const char *object, const char *detail)
{
	return lf_store_q(s, "INSERT INTO audit_log (at, token_id, role, action, object, detail)"
			  " VALUES ($1, $2, $3, $4, $5, $6)", NULL, NULL, "iissss",
			  lf_now(), token_id, role, action, object, detail);
}

/*
 * The ids travel as one JSON array parameter; the two dialects unpack it
 * differently (SQLite's json_each, PostgreSQL's jsonb_array_elements_text).
 */
int lf_store_listen(struct lf_store *s, const char *channel)
{
	return s->be->listen ? s->be->listen(s->conn, channel) : -EOPNOTSUPP;
}

int lf_store_notified(struct lf_store *s)
{
	return s->be->notified ? s->be->notified(s->conn) : -EOPNOTSUPP;
}

int lf_store_touch_devices(struct lf_store *s, int64_t now, const int64_t *ids, size_t n)
{
	struct lf_buf list = LF_BUF_INIT(n * 21 + 3);
	int r = lf_buf_putc(&list, '[');

	for (size_t i = 0; i < n && r >= 0; i++)
		r = lf_buf_printf(&list, i ? ",%lld" : "%lld", (long long)ids[i]);
	if (r >= 0)
		r = lf_buf_putc(&list, ']');
	if (r >= 0 && s->be == &lf_store_pg_backend)
		r = lf_store_q(s, "UPDATE devices SET last_seen = $1 WHERE id IN"
			       " (SELECT jsonb_array_elements_text($2::jsonb)::bigint)", NULL, NULL,
			       "is", now, list.data);
	else if (r >= 0)
		r = lf_store_q(s, "UPDATE devices SET last_seen = $1 WHERE id IN"
			       " (SELECT value FROM json_each($2))", NULL, NULL, "is", now, list.data);
	lf_buf_release(&list);
	return r;
}
