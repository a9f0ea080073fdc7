/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The check-in cache against a real database, on SQLite and PostgreSQL:
 * whatever another connection (another process, another portal instance)
 * changes in what a check-in reads is seen at the next lookup; a row read
 * before a change is never kept after it; the change log's notification
 * arrives on PostgreSQL.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "checkin.h"
#include "checkin_cache.h"
#include "portal_fixture.h"
#include "repo.h"
#include "store.h"

struct ctx {
	struct fixture fx;
	struct lf_store *s;     /* the portal's connection */
	struct lf_store *other; /* someone else's */
	struct lf_checkin_cache *cache;
	bool skip;
};

static struct ctx sqlite_ctx, pg_ctx;

static int group_setup(void **state)
{
	return fixture_both(&sqlite_ctx.fx, &pg_ctx.fx, &pg_ctx.skip);
}

static int group_teardown(void **state)
{
	fixture_release(&sqlite_ctx.fx);
	fixture_release(&pg_ctx.fx);
	return 0;
}

static int setup(void **state)
{
	struct ctx *c = *state;

	if (c->skip)
		return 0;
	if (fixture_reset(&c->fx) < 0 || lf_store_open(c->fx.target, &c->s) < 0 ||
	    lf_store_open(c->fx.target, &c->other) < 0)
		return -1;
	return lf_checkin_cache_new(1000, &c->cache) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	lf_checkin_cache_free(c->cache);
	lf_store_close(c->s);
	lf_store_close(c->other);
	c->cache = NULL;
	c->s = c->other = NULL;
	return 0;
}

#define SKIP_IF_NO_PG(c) do { if ((c)->skip) skip(); } while (0)

/* A group "g" on feed "prod" with n devices; returns the group id. */
static int64_t make_fleet(struct lf_store *s, int n, char creds[][LF_TOKEN_MAX])
{
	int64_t g = fixture_fleet(s, n, creds);

	assert_true(g > 0);
	return g;
}

/* A lookup through the cache; the device's rows are in *dev (release them). */
static int look(struct ctx *c, const char *cred, struct lf_principal *who,
		struct lf_checkin_dev *dev)
{
	lf_checkin_dev_release(dev);
	return lf_checkin_lookup(c->s, c->cache, cred, who, dev);
}

static uint64_t hits(struct ctx *c)
{
	struct lf_checkin_cache_stats st;

	lf_checkin_cache_stats(c->cache, &st);
	return st.hits;
}

static void test_hit_same_as_database(void **state)
{
	struct ctx *c = *state;
	char creds[2][LF_TOKEN_MAX];
	struct lf_checkin_dev dev = { 0 }, db = { 0 };
	struct lf_principal who, who_db;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 2, creds);
	assert_int_equal(lf_repo_put(c->s, NULL, "prod", "timestamp.json", "{}", 2), 0);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_int_equal(hits(c), 0);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_int_equal(hits(c), 1);
	assert_int_equal(lf_checkin_lookup(c->s, NULL, creds[0], &who_db, &db), 0);
	assert_memory_equal(&who, &who_db, sizeof(who));
	assert_string_equal(dev.inv_hash, db.inv_hash);
	assert_string_equal(dev.policy, db.policy);
	assert_string_equal(dev.feed, db.feed);
	assert_string_equal(dev.build_id, db.build_id);
	assert_string_equal(dev.ts_etag, db.ts_etag);
	assert_true(dev.ts_etag[0] == '"');
	assert_int_equal(dev.pin_level, db.pin_level);
	assert_int_equal(dev.kernel_level, db.kernel_level);
	assert_int_equal(dev.rolling, db.rolling);
	assert_ptr_equal(dev.cache, c->cache);
	/* The other device is its own entry; a wrong credential is no hit. */
	assert_int_equal(look(c, creds[1], &who, &dev), 0);
	assert_int_not_equal(who.device_id, who_db.device_id);
	assert_int_equal(look(c, "lfd_not-a-credential", &who, &dev), -EACCES);
	lf_checkin_dev_release(&dev);
	lf_checkin_dev_release(&db);
}

static void other_q(struct ctx *c, const char *sql, const char *fmt, int64_t a, int64_t b)
{
	assert_true(lf_store_q(c->other, sql, NULL, NULL, fmt, a, b) >= 0);
}

static void test_changes_by_others_seen(void **state)
{
	struct ctx *c = *state;
	char creds[2][LF_TOKEN_MAX], etag[72];
	struct lf_checkin_dev dev = { 0 };
	struct lf_principal who;
	int64_t g2, feed, bundle;
	uint64_t h;

	SKIP_IF_NO_PG(c);
	int64_t g = make_fleet(c->s, 2, creds);

	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_string_equal(dev.policy, "{}");
	other_q(c, "UPDATE device_groups SET policy = '{\"max_load\":2}' WHERE id = $1", "i", g, 0);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_string_equal(dev.policy, "{\"max_load\":2}");
	other_q(c, "UPDATE device_groups SET pin_level = $1 WHERE id = $2", "ii", 3, g);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_int_equal(dev.pin_level, 3);
	/* Nothing changed: served from memory. */
	h = hits(c);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_int_equal(hits(c), h + 1);
	/* New metadata on the feed. */
	snprintf(etag, sizeof(etag), "%s", dev.ts_etag);
	assert_int_equal(lf_repo_put(c->other, NULL, "prod", "timestamp.json", "{\"v\":2}", 7), 0);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_string_not_equal(dev.ts_etag, etag);
	/* A rollout starts in the group. */
	assert_false(dev.rolling);
	assert_int_equal(lf_store_int(c->other, "SELECT id FROM feeds WHERE name = 'prod'", &feed, ""), 0);
	assert_int_equal(lf_store_int(c->other, "INSERT INTO bundles (bundle_id, feed_id, kind, level,"
				      " target, sha256, length, created) VALUES ('b', $1, 'kernel', 1,"
				      " 'kb1', 'aa', 1, 1) RETURNING id", &bundle, "i", feed), 0);
	other_q(c, "INSERT INTO rollouts (bundle_ref, group_id, stage, canary_percent, error_threshold,"
		" state, stage_started, created, updated) VALUES ($1, $2, 'all', 100, 1, 'running',"
		" 0, 1, 1)", "ii", bundle, g);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_true(dev.rolling);
	/* The device reported a new inventory through another instance. */
	other_q(c, "UPDATE devices SET inventory_hash = 'h1', kernel_level = $1 WHERE id = $2", "ii", 2,
		who.device_id);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_string_equal(dev.inv_hash, "h1");
	assert_int_equal(dev.kernel_level, 2);
	/* Moved to another group. */
	assert_int_equal(lf_store_int(c->other, "INSERT INTO device_groups (name, feed_id, created)"
				      " VALUES ('g2', $1, 1) RETURNING id", &g2, "i", feed), 0);
	other_q(c, "UPDATE devices SET group_id = $1 WHERE id = $2", "ii", g2, who.device_id);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_int_equal(who.group_id, g2);
	assert_false(dev.rolling);
	/* Revoked: the credential, then the other device itself. */
	other_q(c, "UPDATE device_credentials SET revoked = 1 WHERE device_id = $1", "i",
		who.device_id, 0);
	assert_int_equal(look(c, creds[0], &who, &dev), -EACCES);
	assert_int_equal(look(c, creds[1], &who, &dev), 0);
	assert_int_equal(look(c, creds[1], &who, &dev), 0);
	other_q(c, "UPDATE devices SET revoked = 1 WHERE id = $1", "i", who.device_id, 0);
	assert_int_equal(look(c, creds[1], &who, &dev), -EACCES);
	lf_checkin_dev_release(&dev);
}

/* With notifications the log is read when told (or once a second), not every time. */
static void test_notified_reads_when_told(void **state)
{
	struct ctx *c = *state;
	char creds[1][LF_TOKEN_MAX];
	struct lf_checkin_dev dev = { 0 };
	struct lf_principal who;
	struct lf_store *l = NULL;
	struct pollfd pfd;
	int64_t g;
	int fd;

	SKIP_IF_NO_PG(c);
	g = make_fleet(c->s, 1, creds);
	fd = lf_store_open(c->fx.target, &l) < 0 ? -EIO : lf_store_listen(l, "livefix_changes");
	if (!strcmp(c->fx.kind, "sqlite"))
		assert_int_equal(fd, -EOPNOTSUPP);
	else
		assert_true(fd >= 0);
	lf_checkin_cache_set_notified(c->cache, true);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	other_q(c, "UPDATE device_groups SET policy = '{\"a\":1}' WHERE id = $1", "i", g, 0);
	if (fd >= 0) {
		/* PostgreSQL: the trigger's notification arrives on the listening connection. */
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		assert_true(lf_store_notified(l) > 0);
	}
	lf_checkin_cache_stale(c->cache);
	assert_int_equal(look(c, creds[0], &who, &dev), 0);
	assert_string_equal(dev.policy, "{\"a\":1}");
	lf_checkin_dev_release(&dev);
	lf_store_close(l);
}

/* A row read before a change and offered after the change was seen is not kept. */
static void test_no_row_older_than_the_log(void **state)
{
	struct ctx *c = *state;
	char creds[1][LF_TOKEN_MAX], hash[LF_HASH_HEX];
	struct lf_checkin_dev dev = { 0 }, old = { 0 };
	struct lf_principal who, old_who;
	uint64_t gen;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 1, creds);
	lf_auth_hash(creds[0], hash);
	assert_int_equal(lf_checkin_cache_sync(c->cache, c->s), 0);
	assert_false(lf_checkin_cache_get(c->cache, hash, &who, &dev, &gen));
	assert_int_equal(lf_checkin_lookup(c->s, NULL, creds[0], &old_who, &old), 0);
	other_q(c, "UPDATE device_credentials SET revoked = 1", "", 0, 0);
	assert_int_equal(lf_checkin_cache_sync(c->cache, c->s), 0);
	lf_checkin_cache_put(c->cache, gen, hash, &old_who, &old);
	assert_int_equal(look(c, creds[0], &who, &dev), -EACCES);
	lf_checkin_dev_release(&dev);
	lf_checkin_dev_release(&old);
}

static void test_bounded_and_long_logs(void **state)
{
	struct ctx *c = *state;
	char creds[5][LF_TOKEN_MAX];
	struct lf_checkin_dev dev = { 0 };
	struct lf_checkin_cache_stats st;
	struct lf_principal who;
	int64_t g, n;

	SKIP_IF_NO_PG(c);
	g = make_fleet(c->s, 5, creds);
	lf_checkin_cache_free(c->cache);
	assert_int_equal(lf_checkin_cache_new(2, &c->cache), 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5; i++) {
			assert_int_equal(look(c, creds[i], &who, &dev), 0);
			assert_int_equal(who.group_id, g);
		}
	lf_checkin_cache_stats(c->cache, &st);
	assert_true(st.entries <= 2);
	/* More log than one read takes: the change at its end is still seen. */
	assert_int_equal(lf_store_begin(c->other), 0);
	for (int i = 0; i < 2500; i++)
		other_q(c, "INSERT INTO changes (kind, ref, at) VALUES ('device', $1, $2)", "ii",
			1000000 + i, lf_now());
	assert_int_equal(lf_store_commit(c->other), 0);
	other_q(c, "UPDATE device_groups SET policy = '{\"b\":2}' WHERE id = $1", "i", g, 0);
	assert_int_equal(look(c, creds[4], &who, &dev), 0);
	assert_string_equal(dev.policy, "{\"b\":2}");
	/* Pruning keeps the last hour. */
	other_q(c, "INSERT INTO changes (kind, ref, at) VALUES ('device', 1, $1)", "i",
		lf_now() - 7200, 0);
	assert_true(lf_checkin_cache_prune(c->s) >= 1);
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM changes WHERE at < $1", &n, "i",
				      lf_now() - 3600), 0);
	assert_int_equal(n, 0);
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM changes", &n, ""), 0);
	assert_true(n >= 2500);
	lf_checkin_dev_release(&dev);
}

#define CASE(prefix, ctx, fn) { prefix "/" #fn, fn, setup, teardown, &ctx }
#define ALL_CASES(prefix, ctx) \
	CASE(prefix, ctx, test_hit_same_as_database), \
	CASE(prefix, ctx, test_changes_by_others_seen), \
	CASE(prefix, ctx, test_notified_reads_when_told), \
	CASE(prefix, ctx, test_no_row_older_than_the_log), \
	CASE(prefix, ctx, test_bounded_and_long_logs)

int main(void)
{
	const struct CMUnitTest tests[] = {
		ALL_CASES("sqlite", sqlite_ctx),
		ALL_CASES("postgresql", pg_ctx),
	};

	return cmocka_run_group_tests_name("checkin cache", tests, group_setup, group_teardown);
}
