/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL backend (libpq). Parameters go as text, blobs as binary; results
 * come back as text, bytea decoded here. Statements are prepared on first use
 * per connection. A broken connection is reset once and the statement
 * retried, so a restarted database does not take the portal down.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store.h"

#define CACHE_SIZE 128
#define MAX_COLS 32
#define MAX_PARAMS 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23

struct cached {
	const char *key;
	char name[16];
};

struct pg_conn {
	PGconn *db;
	struct cached cache[CACHE_SIZE];
	int next_name;
};

static int pg_result_err(PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (!state)
		return -EIO;
	if (!strncmp(state, "23", 2))
		return -EEXIST; /* integrity constraint */
	if (!strncmp(state, "22", 2))
		return -EINVAL; /* data exception: bad number, too long */
	if (!strncmp(state, "08", 2))
		return -ECONNRESET;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
		return -EBUSY;
	return -EIO;
}

/* Server notices (NOTICE: ...) are not errors; a library does not print them. */
static void quiet(void *arg, const char *message)
{
}

static int pg_open(const char *target, void **ret_conn)
{
	struct pg_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->db = PQconnectdb(target);
	if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
		PQfinish(c->db);
		free(c);
		return -ECONNREFUSED;
	}
	PQsetNoticeProcessor(c->db, quiet, NULL);
	*ret_conn = c;
	return 0;
}

static void pg_close(void *conn)
{
	struct pg_conn *c = conn;

	PQfinish(c->db);
	free(c);
}

static int pg_script(void *conn, const char *sql)
{
	struct pg_conn *c = conn;
	PGresult *res = PQexec(c->db, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		r = pg_result_err(res);
	PQclear(res);
	return r;
}

/* Returns the prepared statement's name, preparing it when new. */
static int prepare(struct pg_conn *c, const char *sql, int nparams, const char **ret_name)
{
	size_t h = ((uintptr_t)sql >> 3) % CACHE_SIZE;
	struct cached *slot = NULL;
	PGresult *res;
	int r = 0;

	for (size_t i = 0; i < CACHE_SIZE; i++) {
		struct cached *e = &c->cache[(h + i) % CACHE_SIZE];

		if (e->key == sql) {
			*ret_name = e->name;
			return 0;
		}
		if (!e->key) {
			slot = e;
			break;
		}
	}
	if (!slot) {
		*ret_name = NULL; /* cache full: run unprepared */
		return 0;
	}
	snprintf(slot->name, sizeof(slot->name), "lf%d", c->next_name++);
	res = PQprepare(c->db, slot->name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = pg_result_err(res);
	PQclear(res);
	if (r < 0)
		return r;
	slot->key = sql;
	*ret_name = slot->name;
	return 0;
}

static int emit_rows(PGresult *res, lf_row_fn fn, void *ctx)
{
	const char *vals[MAX_COLS], *names[MAX_COLS];
	unsigned char *decoded[MAX_COLS];
	size_t lens[MAX_COLS];
	bool is_int[MAX_COLS];
	struct lf_row row = { .vals = vals, .lens = lens, .names = names, .is_int = is_int };
	int ncols = PQnfields(res), nrows = PQntuples(res), r = 0;

	if (ncols > MAX_COLS)
		return -E2BIG;
	row.ncols = ncols;
	for (int i = 0; i < ncols; i++) {
		Oid t = PQftype(res, i);

		names[i] = PQfname(res, i);
		is_int[i] = t == OID_INT8 || t == OID_INT4 || t == OID_INT2;
	}
	for (int j = 0; j < nrows && r >= 0; j++) {
		memset(decoded, 0, sizeof(decoded));
		for (int i = 0; i < ncols; i++) {
			vals[i] = PQgetisnull(res, j, i) ? NULL : PQgetvalue(res, j, i);
			lens[i] = (size_t)PQgetlength(res, j, i);
			if (vals[i] && PQftype(res, i) == OID_BYTEA) {
				decoded[i] = PQunescapeBytea((const unsigned char *)vals[i], &lens[i]);
				if (!decoded[i])
					r = -ENOMEM;
				vals[i] = (const char *)decoded[i];
			}
		}
		if (r >= 0 && fn)
			r = fn(ctx, &row);
		for (int i = 0; i < ncols; i++)
			PQfreemem(decoded[i]);
	}
	return r < 0 ? r : nrows;
}

static int exec_once(struct pg_conn *c, const char *sql, int nparams,
		     const struct lf_param *params, lf_row_fn fn, void *ctx)
{
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS], formats[MAX_PARAMS];
	const char *name;
	PGresult *res;
	int r;

	if (nparams > MAX_PARAMS)
		return -E2BIG;
	for (int i = 0; i < nparams; i++) {
		values[i] = params[i].data;
		lengths[i] = (int)params[i].len;
		formats[i] = params[i].blob ? 1 : 0;
	}
	r = prepare(c, sql, nparams, &name);
	if (r < 0)
		return r;
	if (name)
		res = PQexecPrepared(c->db, name, nparams, values, lengths, formats, 0);
	else
		res = PQexecParams(c->db, sql, nparams, NULL, values, lengths, formats, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		r = emit_rows(res, fn, ctx);
		break;
	case PGRES_COMMAND_OK:
		r = atoi(PQcmdTuples(res));
		break;
	default:
		r = pg_result_err(res);
	}
	PQclear(res);
	return r;
}

static int pg_exec(void *conn, const char *sql, int nparams,
		   const struct lf_param *params, lf_row_fn fn, void *ctx)
{
	struct pg_conn *c = conn;
	int r = exec_once(c, sql, nparams, params, fn, ctx);

	if (r < 0 && PQstatus(c->db) == CONNECTION_BAD) {
		PQreset(c->db);
		memset(c->cache, 0, sizeof(c->cache)); /* prepared statements are gone */
		if (PQstatus(c->db) != CONNECTION_OK)
			return -ECONNREFUSED;
		r = exec_once(c, sql, nparams, params, fn, ctx);
	}
	return r;
}

/* LISTEN on a channel named by us (an identifier, not user input). */
static int pg_listen(void *conn, const char *channel)
{
	struct pg_conn *c = conn;
	char sql[96];
	int r;

	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	r = pg_script(c, sql);
	if (r < 0)
		return r;
	return PQsocket(c->db) >= 0 ? PQsocket(c->db) : -ECONNRESET;
}

static int pg_notified(void *conn)
{
	struct pg_conn *c = conn;
	PGnotify *n;
	int count = 0;

	if (!PQconsumeInput(c->db) || PQstatus(c->db) != CONNECTION_OK)
		return -ECONNRESET;
	while ((n = PQnotifies(c->db))) {
		count++;
		PQfreemem(n);
	}
	return count;
}

const struct lf_store_backend lf_store_pg_backend = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.script = pg_script,
	.exec = pg_exec,
	.begin_sql = "BEGIN",
	.migrate_lock_sql = "LOCK TABLE schema_migrations IN EXCLUSIVE MODE",
	/* The key is arbitrary but fixed: "lfmigr" in ASCII. */
	.migrate_serialize_sql = "SELECT pg_advisory_lock(119187178088306)",
	.migrate_unserialize_sql = "SELECT pg_advisory_unlock(119187178088306)",
	.listen = pg_listen,
	.notified = pg_notified,
	.id_type = "BIGSERIAL PRIMARY KEY",
	.blob_type = "BYTEA",
};
