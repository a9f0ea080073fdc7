/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_STORE_H
#define LF_PORTAL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The portal's storage: one schema, written once in portable SQL, on two
 * backends (SQLite in the data directory, or PostgreSQL for several portal
 * instances). Queries use $1..$N placeholders; the SQLite backend rewrites
 * them. Statements are prepared once per connection and cached by the
 * address of their SQL text, so callers pass string literals.
 *
 * A store is one connection: use it from one thread at a time.
 */
struct lf_store;

/* A result row: text values (NULL for SQL NULL) with lengths and names. */
struct lf_row {
	int ncols;
	const char *const *vals;
	const size_t *lens;
	const char *const *names;
	const bool *is_int;
};

typedef int (*lf_row_fn)(void *ctx, const struct lf_row *row);

/* A bound parameter: text (len ignored), blob, or NULL (data == NULL). */
struct lf_param {
	const void *data;
	size_t len;
	bool blob;
};

/* Backend operations, one implementation per database. */
struct lf_store_backend {
	const char *name;
	int (*open)(const char *target, void **ret_conn);
	void (*close)(void *conn);
	/* Runs a multi-statement script without parameters (migrations). */
	int (*script)(void *conn, const char *sql);
	/*
	 * Runs one statement. Returns the number of rows passed to fn, or for a
	 * statement without result rows the number of rows it changed.
	 */
	int (*exec)(void *conn, const char *sql, int nparams,
		    const struct lf_param *params, lf_row_fn fn, void *ctx);
	const char *begin_sql;
	/* Run after begin_sql while migrating, so that one migrator runs at a time. */
	const char *migrate_lock_sql;
	/*
	 * Around the whole migration, on the connection (NULL: none needed).
	 * PostgreSQL: concurrent CREATE TABLE IF NOT EXISTS of the same table
	 * can fail (a unique violation in its catalog), so first starts of
	 * several portals take a session advisory lock before creating anything.
	 */
	const char *migrate_serialize_sql;
	const char *migrate_unserialize_sql;
	/*
	 * Optional (NULL: the database has no notifications). listen subscribes
	 * the connection to a channel and returns a descriptor to poll;
	 * notified reads what arrived and returns how many notifications, 0
	 * for none, or < 0 when the connection is gone.
	 */
	int (*listen)(void *conn, const char *channel);
	int (*notified)(void *conn);
	/* Type names substituted into the schema: {{id}} and {{blob}}. */
	const char *id_type;
	const char *blob_type;
};

extern const struct lf_store_backend lf_store_sqlite_backend;
extern const struct lf_store_backend lf_store_pg_backend;

/*
 * Opens a store: "postgresql://..." or "postgres://..." selects PostgreSQL,
 * anything else is the path of a SQLite file. Runs pending migrations.
 */
int lf_store_open(const char *target, struct lf_store **ret_store);
void lf_store_close(struct lf_store *s);
const char *lf_store_backend_name(const struct lf_store *s);
/* The schema version after migrations. */
int lf_store_schema_version(struct lf_store *s);

int lf_store_exec(struct lf_store *s, const char *sql, int nparams,
		  const struct lf_param *params, lf_row_fn fn, void *ctx);

/*
 * Shorthand with typed parameters given by fmt: 's' string (NULL is SQL
 * NULL), 'i' int64_t, 'b' blob (pointer, size_t).
 */
int lf_store_q(struct lf_store *s, const char *sql, lf_row_fn fn, void *ctx,
	       const char *fmt, ...);

/* Runs a query and returns its rows as a JSON array of objects. */
int lf_store_json(struct lf_store *s, const char *sql, json_t **ret_rows,
		  const char *fmt, ...);

/* First column of the first row as an integer; -ENOENT when no row. */
int lf_store_int(struct lf_store *s, const char *sql, int64_t *ret,
		 const char *fmt, ...);

/* Runs statements without parameters or results (administration, tests). */
int lf_store_script(struct lf_store *s, const char *sql);

int lf_store_begin(struct lf_store *s);
int lf_store_commit(struct lf_store *s);
void lf_store_rollback(struct lf_store *s);

/* Writes one audit-log record; detail may be NULL. */
int lf_store_audit(struct lf_store *s, int64_t token_id, const char *role,
		   const char *action, const char *object, const char *detail);

/*
 * Notifications (PostgreSQL's LISTEN): returns a descriptor that becomes
 * readable when something arrives, or -EOPNOTSUPP for a database without
 * them (SQLite). lf_store_notified() then returns how many arrived, 0 for
 * none, or < 0 when the connection is lost (open a new store to listen again).
 */
int lf_store_listen(struct lf_store *s, const char *channel);
int lf_store_notified(struct lf_store *s);

/* Sets last_seen of many devices in one statement. */
int lf_store_touch_devices(struct lf_store *s, int64_t now, const int64_t *ids, size_t n);

int64_t lf_now(void);

/* Number of migrations in this build, for tests. */
int lf_store_migration_count(void);

#endif
