/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite backend: one connection per store, WAL journal so readers never wait
 * for the writer, synchronous=NORMAL (in WAL mode a commit survives a crash
 * of the process; only a power cut can lose the last commits, never corrupt
 * the database), and a busy timeout because CLI commands (token, publish)
 * may write while the server runs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "livefix/buf.h"

#include "store.h"

#define CACHE_SIZE 128
#define MAX_COLS 32

struct cached {
	const char *key;
	sqlite3_stmt *stmt;
};

struct sq_conn {
	sqlite3 *db;
	struct cached cache[CACHE_SIZE];
};

static int sq_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return 0;
	case SQLITE_CONSTRAINT: return -EEXIST;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_CANTOPEN: case SQLITE_PERM: return -EACCES;
	case SQLITE_TOOBIG: return -EOVERFLOW;
	default: return -EIO;
	}
}

static int sq_open(const char *target, void **ret_conn)
{
	struct sq_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	rc = sqlite3_open_v2(target, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto err;
	sqlite3_busy_timeout(c->db, 10000);
	/*
	 * mmap_size: pages of the main database are read from the mapping
	 * instead of one pread() per page not in this connection's cache; a
	 * profile of idle check-ins showed pread (and its copy) at about 5% of
	 * the portal's time. cache_size: 16 MiB per connection (threads + 1).
	 */
	rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			  " PRAGMA foreign_keys=ON; PRAGMA mmap_size=1073741824;"
			  " PRAGMA cache_size=-16384;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto err;
	*ret_conn = c;
	return 0;
err:
	sqlite3_close(c->db);
	free(c);
	return sq_err(rc);
}

static void sq_close(void *conn)
{
	struct sq_conn *c = conn;

	for (int i = 0; i < CACHE_SIZE; i++)
		sqlite3_finalize(c->cache[i].stmt);
	sqlite3_close(c->db);
	free(c);
}

static int sq_script(void *conn, const char *sql)
{
	struct sq_conn *c = conn;

	return sq_err(sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

/* $N -> ?N, outside string literals. */
static int rewrite(const char *sql, struct lf_buf *out)
{
	bool quoted = false;
	int r = 0;

	for (const char *p = sql; *p && r >= 0; p++) {
		if (*p == '\'')
			quoted = !quoted;
		r = lf_buf_putc(out, (!quoted && *p == '$') ? '?' : *p);
	}
	return r;
}

static int prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **ret)
{
	struct lf_buf text = LF_BUF_INIT(1 << 16);
	size_t h = ((uintptr_t)sql >> 3) % CACHE_SIZE;
	struct cached *slot = NULL;
	int r;

	for (size_t i = 0; i < CACHE_SIZE; i++) {
		struct cached *e = &c->cache[(h + i) % CACHE_SIZE];

		if (e->key == sql) {
			*ret = e->stmt;
			return 0;
		}
		if (!e->key) {
			slot = e;
			break;
		}
	}
	r = rewrite(sql, &text);
	if (r >= 0)
		r = sq_err(sqlite3_prepare_v3(c->db, text.data, -1,
					      slot ? SQLITE_PREPARE_PERSISTENT : 0, ret, NULL));
	lf_buf_release(&text);
	if (r < 0)
		return r;
	if (!slot)
		return 1; /* not cached when the table is full: the caller finalizes */
	slot->key = sql;
	slot->stmt = *ret;
	return 0;
}

static int bind_all(sqlite3_stmt *st, int n, const struct lf_param *params)
{
	for (int i = 0; i < n; i++) {
		const struct lf_param *p = &params[i];
		int rc;

		if (!p->data)
			rc = sqlite3_bind_null(st, i + 1);
		else if (p->blob)
			rc = sqlite3_bind_blob64(st, i + 1, p->data, p->len, SQLITE_STATIC);
		else
			rc = sqlite3_bind_text(st, i + 1, p->data, -1, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return sq_err(rc);
	}
	return 0;
}

static int emit_row(sqlite3_stmt *st, lf_row_fn fn, void *ctx)
{
	const char *vals[MAX_COLS], *names[MAX_COLS];
	size_t lens[MAX_COLS];
	bool is_int[MAX_COLS];
	struct lf_row row = { .vals = vals, .lens = lens, .names = names, .is_int = is_int };
	int n = sqlite3_column_count(st);

	if (n > MAX_COLS)
		return -E2BIG;
	for (int i = 0; i < n; i++) {
		int type = sqlite3_column_type(st, i);

		if (type == SQLITE_BLOB)
			vals[i] = sqlite3_column_blob(st, i);
		else
			vals[i] = (const char *)sqlite3_column_text(st, i);
		if (type == SQLITE_NULL)
			vals[i] = NULL;
		else if (!vals[i])
			vals[i] = ""; /* empty blob */
		lens[i] = (size_t)sqlite3_column_bytes(st, i);
		names[i] = sqlite3_column_name(st, i);
		is_int[i] = type == SQLITE_INTEGER;
	}
	row.ncols = n;
	return fn ? fn(ctx, &row) : 0;
}

static int sq_exec(void *conn, const char *sql, int nparams,
		   const struct lf_param *params, lf_row_fn fn, void *ctx)
{
	struct sq_conn *c = conn;
	sqlite3_stmt *st;
	int rows = 0, r, uncached, rc;

	uncached = prepare(c, sql, &st);
	if (uncached < 0)
		return uncached;
	r = bind_all(st, nparams, params);
	while (r >= 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			rows++;
			r = emit_row(st, fn, ctx);
		} else {
			r = sq_err(rc);
			break;
		}
	}
	if (r >= 0 && sqlite3_column_count(st) == 0)
		rows = sqlite3_changes(c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (uncached)
		sqlite3_finalize(st);
	return r < 0 ? r : rows;
}

const struct lf_store_backend lf_store_sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.script = sq_script,
	.exec = sq_exec,
	.begin_sql = "BEGIN IMMEDIATE", /* takes the write lock: also serialises migrators */
	.migrate_lock_sql = NULL,
	.id_type = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.blob_type = "BLOB",
};
