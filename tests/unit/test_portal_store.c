/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The portal store, run twice: on SQLite and on a real PostgreSQL cluster
 * started for this program. Beyond SQL round trips, it drives the portal's
 * own flows (check-in, events, rollouts, exposure) against each backend,
 * since a query that works on one dialect may fail on the other.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth.h"
#include "checkin.h"
#include "portal_fixture.h"
#include "repo.h"
#include "report.h"
#include "rollout.h"
#include "store.h"

struct ctx {
	struct fixture fx;
	struct lf_store *s;
	bool skip;
};

static struct ctx sqlite_ctx, pg_ctx;

/* Both databases for the whole program; PostgreSQL is skipped without a cluster script. */
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

/* Every test starts from an empty, freshly migrated database. */
static int setup(void **state)
{
	struct ctx *c = *state;

	if (c->skip)
		return 0;
	if (fixture_reset(&c->fx) < 0)
		return -1;
	return lf_store_open(c->fx.target, &c->s) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	lf_store_close(c->s);
	c->s = NULL;
	return 0;
}

#define SKIP_IF_NO_PG(c) do { if ((c)->skip) skip(); } while (0)

static void test_migrations(void **state)
{
	struct ctx *c = *state;
	struct lf_store *again;
	int64_t n;

	SKIP_IF_NO_PG(c);
	assert_int_equal(lf_store_schema_version(c->s), lf_store_migration_count());
	/* Opening a migrated database applies nothing twice. */
	assert_int_equal(lf_store_open(c->fx.target, &again), 0);
	assert_int_equal(lf_store_int(again, "SELECT COUNT(*) FROM schema_migrations", &n, ""), 0);
	assert_int_equal(n, lf_store_migration_count());
	lf_store_close(again);
}

struct opener {
	const char *target;
	int r;
};

static void *open_one(void *arg)
{
	struct opener *o = arg;
	struct lf_store *s;

	o->r = lf_store_open(o->target, &s);
	if (o->r == 0)
		lf_store_close(s);
	return NULL;
}

/* Several portals starting at once on an empty database all succeed. */
static void test_concurrent_migrations(void **state)
{
	struct ctx *c = *state;
	struct opener o[4];
	pthread_t t[4];
	int64_t n;

	SKIP_IF_NO_PG(c);
	lf_store_close(c->s);
	c->s = NULL;
	if (!strcmp(c->fx.kind, "sqlite")) {
		unlink(c->fx.target);
	} else {
		struct lf_store *s;

		assert_int_equal(lf_store_open(c->fx.target, &s), 0);
		assert_int_equal(lf_store_script(s, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
		lf_store_close(s);
	}
	for (int i = 0; i < 4; i++) {
		o[i] = (struct opener){ c->fx.target, -1 };
		assert_int_equal(pthread_create(&t[i], NULL, open_one, &o[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(o[i].r, 0);
	}
	assert_int_equal(lf_store_open(c->fx.target, &c->s), 0);
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM schema_migrations", &n, ""), 0);
	assert_int_equal(n, lf_store_migration_count());
}

static void test_roundtrip_types(void **state)
{
	struct ctx *c = *state;
	int64_t id;
	json_t *rows, *row;

	SKIP_IF_NO_PG(c);
	assert_int_equal(lf_store_int(c->s, "INSERT INTO feeds (name, created) VALUES ($1, $2)"
				      " RETURNING id", &id, "si", "test", (int64_t)1700000000), 0);
	assert_true(id > 0);
	assert_int_equal(lf_store_json(c->s, "SELECT id, name, created, NULL AS missing FROM feeds",
				       &rows, ""), 1);
	row = json_array_get(rows, 0);
	assert_true(json_is_integer(json_object_get(row, "id")));
	assert_int_equal(json_integer_value(json_object_get(row, "created")), 1700000000);
	assert_string_equal(json_string_value(json_object_get(row, "name")), "test");
	assert_true(json_is_null(json_object_get(row, "missing")));
	json_decref(rows);
	/* A missing row is -ENOENT, not zero. */
	assert_int_equal(lf_store_int(c->s, "SELECT id FROM feeds WHERE name = $1", &id, "s", "none"),
			 -ENOENT);
}

static void test_constraints_and_rollback(void **state)
{
	struct ctx *c = *state;
	int64_t n;

	SKIP_IF_NO_PG(c);
	assert_int_equal(lf_store_q(c->s, "INSERT INTO feeds (name, created) VALUES ('a', 1)",
				    NULL, NULL, ""), 1);
	assert_int_equal(lf_store_q(c->s, "INSERT INTO feeds (name, created) VALUES ('a', 2)",
				    NULL, NULL, ""), -EEXIST);
	assert_int_equal(lf_store_begin(c->s), 0);
	assert_int_equal(lf_store_q(c->s, "INSERT INTO feeds (name, created) VALUES ('b', 1)",
				    NULL, NULL, ""), 1);
	lf_store_rollback(c->s);
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM feeds", &n, ""), 0);
	assert_int_equal(n, 1);
	/* UPDATE reports the rows it changed. */
	assert_int_equal(lf_store_q(c->s, "UPDATE feeds SET created = 5", NULL, NULL, ""), 1);
	assert_int_equal(lf_store_q(c->s, "UPDATE feeds SET created = 5 WHERE name = 'zz'",
				    NULL, NULL, ""), 0);
}

static void bundle_name(const void *data, size_t len, char name[80])
{
	unsigned char h[32];
	char hex[65];

	crypto_hash_sha256(h, data, len);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(name, 80, "bundles/%s.lfb", hex);
}

static void test_repo_blobs(void **state)
{
	struct ctx *c = *state;
	const unsigned char bundle[] = { 'L', 'F', 'B', 0, 1, 2, 0, 255 };
	struct lf_repo_file f;
	char name[80], first[65];

	SKIP_IF_NO_PG(c);
	bundle_name(bundle, sizeof(bundle), name);
	assert_int_equal(lf_repo_put(c->s, NULL, "prod", name, bundle, sizeof(bundle)), 0);
	assert_int_equal(lf_repo_get(c->s, "prod", name, true, &f), 0);
	assert_int_equal(f.length, sizeof(bundle));
	assert_memory_equal(f.content, bundle, sizeof(bundle)); /* NUL bytes survive */
	assert_memory_equal(f.sha256, name + 8, 64);
	lf_repo_file_release(&f);
	/* A bundle's name is its hash: another name is refused. */
	name[10] = name[10] == 'a' ? 'b' : 'a';
	assert_int_equal(lf_repo_put(c->s, NULL, "prod", name, bundle, sizeof(bundle)), -EBADMSG);
	assert_int_equal(lf_repo_put(c->s, NULL, "prod", "../etc/passwd", "x", 1), -EINVAL);
	assert_int_equal(lf_repo_put(c->s, NULL, "Prod", "root.json", "x", 1), -EINVAL);
	/* Replacing a file changes its ETag. */
	assert_int_equal(lf_repo_put(c->s, NULL, "prod", "timestamp.json", "{\"v\":1}", 7), 0);
	assert_int_equal(lf_repo_get(c->s, "prod", "timestamp.json", false, &f), 0);
	memcpy(first, f.sha256, sizeof(first));
	assert_null(f.content);
	assert_int_equal(lf_repo_put(c->s, NULL, "prod", "timestamp.json", "{\"v\":2}", 7), 0);
	assert_int_equal(lf_repo_get(c->s, "prod", "timestamp.json", false, &f), 0);
	assert_string_not_equal(first, f.sha256);
	assert_int_equal(lf_repo_get(c->s, "prod", "root.json", false, &f), -ENOENT);
}

/* A group "g" on feed "prod" with n devices; credentials in creds. */
static int64_t make_fleet(struct lf_store *s, int n, char creds[][LF_TOKEN_MAX])
{
	int64_t g = fixture_fleet(s, n, creds);

	assert_true(g > 0);
	return g;
}

/* Publishes bundle facts for a kernel build-id "kb1" at a level. */
static void publish(struct lf_store *s, const char *id, int level, const char *cves)
{
	char body[64], name[80], facts[512];
	json_t *meta;

	snprintf(body, sizeof(body), "bundle %s", id);
	bundle_name(body, strlen(body), name);
	assert_int_equal(lf_repo_put(s, NULL, "prod", name, body, strlen(body)), 0);
	snprintf(facts, sizeof(facts), "{\"id\":\"%s\",\"kind\":\"kernel\",\"level\":%d,"
		 "\"sha256\":\"%.64s\",\"target\":{\"build_id\":\"kb1\",\"arch\":\"x86_64\"},"
		 "\"cves\":%s}", id, level, name + 8, cves);
	meta = json_loads(facts, 0, NULL);
	assert_non_null(meta);
	assert_int_equal(lf_repo_add_bundle(s, "prod", meta), 0);
	json_decref(meta);
}

/* A check-in as the server runs it: credential and device in one query. */
static json_t *checkin(struct lf_store *s, const char *cred, const char *inv_text)
{
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	struct lf_checkin_dev dev = { 0 };
	struct lf_principal who, by_auth;
	json_t *resp;
	char err[200];

	assert_int_equal(lf_auth_lookup(s, cred, &by_auth), 0);
	assert_int_equal(lf_checkin_lookup(s, NULL, cred, &who, &dev), 0);
	assert_int_equal(who.device_id, by_auth.device_id);
	assert_int_equal(who.group_id, by_auth.group_id);
	assert_int_equal(who.feed_id, by_auth.feed_id);
	assert_string_equal(who.device_uid, by_auth.device_uid);
	assert_int_equal(lf_checkin_lookup(s, NULL, "lfd_not-a-credential", &who, &dev), -EACCES);
	assert_null(dev.policy);
	assert_int_equal(lf_checkin_lookup(s, NULL, cred, &who, &dev), 0);
	assert_true(lf_checkin(s, &who, &dev, inv_text, strlen(inv_text), 600, NULL, &out, err,
			       sizeof(err)) >= 0);
	lf_checkin_dev_release(&dev);
	resp = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(resp);
	lf_buf_release(&out);
	return resp;
}

static void event(struct lf_store *s, const char *cred, const char *type, const char *bundle)
{
	struct lf_principal who;
	char text[256], err[200];
	json_t *body;

	snprintf(text, sizeof(text), "{\"events\":[{\"type\":\"%s\",\"bundle\":\"%s\","
		 "\"detail\":{\"why\":\"test\"}}]}", type, bundle);
	body = json_loads(text, 0, NULL);
	assert_int_equal(lf_auth_lookup(s, cred, &who), 0);
	assert_int_equal(lf_checkin_events(s, &who, body, err, sizeof(err)), 1);
	json_decref(body);
}

#define INV "{\"hostname\":\"h\",\"kernel\":{\"release\":\"6.1\",\"build_id\":\"kb1\",\"level\":0}}"

static void test_checkin_conditional(void **state)
{
	struct ctx *c = *state;
	char creds[1][LF_TOKEN_MAX], inv[512], *hash1;
	const char *etag, *pol;
	json_t *r1, *r2, *r3, *rows;
	int64_t next;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 1, creds);
	r1 = checkin(c->s, creds[0], INV);
	next = json_integer_value(json_object_get(r1, "next_checkin"));
	assert_true(next >= 540 && next <= 660); /* 600 s +- 10% */
	assert_false(json_is_true(json_object_get(r1, "update")));
	assert_non_null(json_object_get(r1, "policy"));
	assert_null(json_object_get(r1, "install"));
	assert_int_equal(lf_store_json(c->s, "SELECT inventory_hash, kernel_build_id FROM devices",
				       &rows, ""), 1);
	hash1 = strdup(json_string_value(json_object_get(json_array_get(rows, 0), "inventory_hash")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0),
							      "kernel_build_id")), "kb1");
	json_decref(rows);
	/* New metadata: the device is told, with the ETag to ask for. */
	assert_int_equal(lf_repo_put(c->s, NULL, "prod", "timestamp.json", "{}", 2), 0);
	pol = json_string_value(json_object_get(r1, "policy_etag"));
	snprintf(inv, sizeof(inv), "{\"hostname\":\"h\",\"uptime\":99,\"policy_etag\":\"%s\","
		 "\"kernel\":{\"release\":\"6.1\",\"build_id\":\"kb1\",\"level\":0}}", pol);
	r2 = checkin(c->s, creds[0], inv);
	assert_true(json_is_true(json_object_get(r2, "update")));
	assert_null(json_object_get(r2, "policy")); /* the device's copy is current */
	etag = json_string_value(json_object_get(r2, "timestamp_etag"));
	assert_non_null(etag);
	/* Idle: same inventory (uptime does not count), current ETags (quotes and all). */
	{
		json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:{s:s,s:s,s:i}}", "hostname", "h", "uptime", 150,
				      "policy_etag", pol, "timestamp_etag", etag, "kernel", "release",
				      "6.1", "build_id", "kb1", "level", 0);
		char *text = json_dumps(o, 0);

		snprintf(inv, sizeof(inv), "%s", text);
		free(text);
		json_decref(o);
	}
	r3 = checkin(c->s, creds[0], inv);
	assert_false(json_is_true(json_object_get(r3, "update")));
	assert_null(json_object_get(r3, "timestamp_etag"));
	assert_int_equal(lf_store_json(c->s, "SELECT inventory_hash FROM devices", &rows, ""), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0),
							      "inventory_hash")), hash1);
	json_decref(rows);
	free(hash1);
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
}

static bool told_to_install(struct lf_store *s, const char *cred, const char *bundle)
{
	json_t *r = checkin(s, cred, INV), *item;
	bool found = false;
	size_t i;

	json_array_foreach(json_object_get(r, "install"), i, item)
		found |= !strcmp(json_string_value(json_object_get(item, "bundle")), bundle);
	json_decref(r);
	return found;
}

static const char *rollout_state(struct lf_store *s, int64_t id, char buf[32])
{
	json_t *o;

	assert_int_equal(lf_rollout_get(s, id, &o), 0);
	snprintf(buf, 32, "%s/%s", json_string_value(json_object_get(o, "stage")),
		 json_string_value(json_object_get(o, "state")));
	json_decref(o);
	return buf;
}

static void test_rollout_halts_and_completes(void **state)
{
	struct ctx *c = *state;
	char creds[10][LF_TOKEN_MAX], st[32];
	struct lf_rollout_spec spec = { "kp-1", "prod", "g", 20, 0 };
	int canary[10], ncanary = 0, other = -1;
	int64_t id, n;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 10, creds);
	publish(c->s, "kp-1", 1, "[{\"id\":\"CVE-2024-0001\",\"severity\":\"high\"}]");
	for (int i = 0; i < 10; i++)
		json_decref(checkin(c->s, creds[i], INV)); /* inventory: kernel kb1 level 0 */
	assert_int_equal(lf_rollout_create(c->s, &spec, &id), 0);
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM rollout_devices WHERE rollout_id = $1",
				      &n, "i", id), 0);
	assert_int_equal(n, 2); /* 20% of 10 */
	for (int i = 0; i < 10; i++) {
		if (told_to_install(c->s, creds[i], "kp-1"))
			canary[ncanary++] = i;
		else
			other = i;
	}
	assert_int_equal(ncanary, 2); /* only canaries are told in the canary stage */
	/* One canary fails: over a 0% threshold, the rollout halts by itself. */
	event(c->s, creds[canary[0]], "failed", "kp-1");
	assert_string_equal(rollout_state(c->s, id, st), "canary/halted");
	assert_false(told_to_install(c->s, creds[canary[1]], "kp-1"));
	/* An operator looks, approves: every device of the group is told. */
	assert_int_equal(lf_rollout_apply_action(c->s, id, LF_ACTION_APPROVE, 1), 0);
	assert_string_equal(rollout_state(c->s, id, st), "all/running");
	assert_true(told_to_install(c->s, creds[other], "kp-1"));
	for (int i = 0; i < 10; i++)
		event(c->s, creds[i], "applied", "kp-1");
	assert_string_equal(rollout_state(c->s, id, st), "all/complete");
	assert_false(told_to_install(c->s, creds[other], "kp-1"));
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM devices WHERE kernel_level = 1",
				      &n, ""), 0);
	assert_int_equal(n, 10);
	/* Complete is final. */
	assert_int_equal(lf_rollout_apply_action(c->s, id, LF_ACTION_RESUME, 1), -EBUSY);
}

static void test_canary_done_waits_for_approval(void **state)
{
	struct ctx *c = *state;
	char creds[4][LF_TOKEN_MAX], st[32];
	struct lf_rollout_spec spec = { "kp-1", "prod", "g", 25, 50 };
	int64_t id;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 4, creds);
	publish(c->s, "kp-1", 1, "[]");
	for (int i = 0; i < 4; i++)
		json_decref(checkin(c->s, creds[i], INV));
	assert_int_equal(lf_rollout_create(c->s, &spec, &id), 0);
	for (int i = 0; i < 4; i++)
		if (told_to_install(c->s, creds[i], "kp-1"))
			event(c->s, creds[i], "applied", "kp-1");
	assert_string_equal(rollout_state(c->s, id, st), "canary/paused");
	assert_int_equal(lf_rollout_apply_action(c->s, id, LF_ACTION_APPROVE, 1), 0);
	assert_string_equal(rollout_state(c->s, id, st), "all/running");
}

struct collect {
	char open[4][40], fixed[4][40], fixed_by[4][40];
	int nopen, nfixed;
};

static int collect_row(void *ctx, const struct lf_exposure *e)
{
	struct collect *c = ctx;

	if (e->fixed) {
		snprintf(c->fixed[c->nfixed], 40, "%s", e->cve);
		snprintf(c->fixed_by[c->nfixed++], 40, "%s", e->fixed_by);
	} else {
		snprintf(c->open[c->nopen++], 40, "%s", e->cve);
	}
	return 0;
}

static void test_exposure_and_pin(void **state)
{
	struct ctx *c = *state;
	char creds[1][LF_TOKEN_MAX];
	struct lf_rollout_spec spec = { "kp-2", "prod", "g", 0, 0 };
	struct collect col = { 0 };
	int64_t id;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 1, creds);
	publish(c->s, "kp-1", 1, "[{\"id\":\"CVE-2024-0001\",\"severity\":\"high\"}]");
	publish(c->s, "kp-2", 2, "[{\"id\":\"CVE-2024-0001\",\"severity\":\"high\"},"
		"{\"id\":\"CVE-2024-0002\",\"severity\":\"critical\"}]");
	json_decref(checkin(c->s, creds[0], "{\"kernel\":{\"build_id\":\"kb1\",\"level\":1}}"));
	assert_int_equal(lf_report_exposure(c->s, NULL, 0, collect_row, &col), 0);
	assert_int_equal(col.nfixed, 1);
	assert_string_equal(col.fixed[0], "CVE-2024-0001");
	assert_string_equal(col.fixed_by[0], "kp-1");
	assert_int_equal(col.nopen, 1);
	assert_string_equal(col.open[0], "CVE-2024-0002");
	/* Pinned at level 1, the group is not offered level 2. */
	assert_int_equal(lf_store_q(c->s, "UPDATE device_groups SET pin_level = 1", NULL, NULL, ""), 1);
	assert_int_equal(lf_rollout_create(c->s, &spec, &id), 0);
	assert_false(told_to_install(c->s, creds[0], "kp-2"));
	assert_int_equal(lf_store_q(c->s, "UPDATE device_groups SET pin_level = NULL", NULL, NULL, ""), 1);
	assert_true(told_to_install(c->s, creds[0], "kp-2"));
	/* A withdrawn bundle cannot be rolled out. */
	assert_int_equal(lf_store_q(c->s, "UPDATE bundles SET withdrawn = 1 WHERE bundle_id = 'kp-1'",
				    NULL, NULL, ""), 1);
	spec.bundle_id = "kp-1";
	assert_int_equal(lf_rollout_create(c->s, &spec, &id), -ENOENT);
}

static void test_bad_input_refused(void **state)
{
	struct ctx *c = *state;
	char creds[1][LF_TOKEN_MAX], err[200];
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	struct lf_principal who;
	json_t *resp = NULL, *bad;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 1, creds);
	assert_int_equal(lf_auth_lookup(c->s, creds[0], &who), 0);
	assert_int_equal(lf_checkin(c->s, &who, NULL, "{\"hostname\":42}", 15, 600, NULL, &out, err,
				    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "inventory"));
	/* What the check-in's own parser refuses: 400, never a crash. */
	static const char *const refused[] = { "", "[]", "{\"uptime\":1.5}", "{\"a\":1,\"a\":2}",
		"{\"hostname\":\"a\\nb\"}", "{\"kernel\":{\"level\":99999999999999999999}}",
		"{\"doctor\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", "{} x" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(lf_checkin(c->s, &who, NULL, refused[i], strlen(refused[i]), 600, NULL,
					    &out, err, sizeof(err)), -EINVAL);
	assert_int_equal(out.len, 0);
	(void)resp;
	bad = json_loads("{\"events\":[{\"type\":\"exploded\"}]}", 0, NULL);
	assert_int_equal(lf_checkin_events(c->s, &who, bad, err, sizeof(err)), -EINVAL);
	json_decref(bad);
	bad = json_loads("{\"id\":\"x\",\"kind\":\"kernel\",\"level\":-1}", 0, NULL);
	assert_int_equal(lf_repo_add_bundle(c->s, "prod", bad), -EINVAL);
	json_decref(bad);
}

/* Each case runs on both backends: the ctx is the test's initial state. */
/* Idle check-ins queue last_seen; one transaction writes them all. */
static void test_seen_batch(void **state)
{
	struct ctx *c = *state;
	char creds[3][LF_TOKEN_MAX], err[200];
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	struct lf_seen_batch seen;
	struct lf_principal who;
	const char *inv = "{}";
	int64_t n;

	SKIP_IF_NO_PG(c);
	make_fleet(c->s, 3, creds);
	lf_seen_init(&seen);
	for (int i = 0; i < 3; i++) {
		/* The first check-in stores the inventory at once; the second is idle. */
		assert_int_equal(lf_auth_lookup(c->s, creds[i], &who), 0);
		assert_true(lf_checkin(c->s, &who, NULL, inv, strlen(inv), 600, &seen, &out, err,
				       sizeof(err)) >= 0);
		assert_int_equal(lf_store_q(c->s, "UPDATE devices SET last_seen = NULL", NULL, NULL, ""), 3);
		lf_buf_reset(&out);
		assert_true(lf_checkin(c->s, &who, NULL, inv, strlen(inv), 600, &seen, &out, err,
				       sizeof(err)) >= 0);
		lf_buf_reset(&out);
	}
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM devices WHERE last_seen IS NOT NULL",
				      &n, ""), 0);
	assert_int_equal(n, 0);
	assert_int_equal(lf_seen_flush(&seen, c->s), 3);
	assert_int_equal(lf_store_int(c->s, "SELECT COUNT(*) FROM devices WHERE last_seen IS NOT NULL",
				      &n, ""), 0);
	assert_int_equal(n, 3);
	assert_int_equal(lf_seen_flush(&seen, c->s), 0); /* nothing left */
	lf_buf_release(&out);
	lf_seen_release(&seen);
}

#define CASE(prefix, ctx, fn) { prefix "/" #fn, fn, setup, teardown, &ctx }
#define ALL_CASES(prefix, ctx) \
	CASE(prefix, ctx, test_migrations), CASE(prefix, ctx, test_concurrent_migrations), \
	CASE(prefix, ctx, test_roundtrip_types), \
	CASE(prefix, ctx, test_constraints_and_rollback), CASE(prefix, ctx, test_repo_blobs), \
	CASE(prefix, ctx, test_checkin_conditional), \
	CASE(prefix, ctx, test_rollout_halts_and_completes), \
	CASE(prefix, ctx, test_canary_done_waits_for_approval), \
	CASE(prefix, ctx, test_exposure_and_pin), CASE(prefix, ctx, test_bad_input_refused), \
	CASE(prefix, ctx, test_seen_batch)

int main(void)
{
	const struct CMUnitTest tests[] = {
		ALL_CASES("sqlite", sqlite_ctx),
		ALL_CASES("postgresql", pg_ctx),
	};

	return cmocka_run_group_tests_name("store", tests, group_setup, group_teardown);
}
