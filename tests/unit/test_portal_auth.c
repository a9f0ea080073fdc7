/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials, roles, and the route table's authorisation rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "portal.h"
#include "portal_fixture.h"

static void test_role_ladder(void **state)
{
	assert_true(lf_access_allows(LF_ACCESS_ADMIN, LF_ACCESS_OPERATOR));
	assert_true(lf_access_allows(LF_ACCESS_OPERATOR, LF_ACCESS_VIEWER));
	assert_true(lf_access_allows(LF_ACCESS_VIEWER, LF_ACCESS_VIEWER));
	assert_false(lf_access_allows(LF_ACCESS_VIEWER, LF_ACCESS_OPERATOR));
	assert_false(lf_access_allows(LF_ACCESS_OPERATOR, LF_ACCESS_ADMIN));
	assert_false(lf_access_allows(LF_ACCESS_NONE, LF_ACCESS_VIEWER));
	assert_false(lf_access_allows(LF_ACCESS_ADMIN, LF_ACCESS_NONE));
	assert_int_equal(lf_access_parse("operator"), LF_ACCESS_OPERATOR);
	assert_int_equal(lf_access_parse("root"), LF_ACCESS_NONE);
	assert_int_equal(lf_access_parse(NULL), LF_ACCESS_NONE);
}

static void test_tokens_random_and_hashed(void **state)
{
	char a[LF_TOKEN_MAX], b[LF_TOKEN_MAX], ha[LF_HASH_HEX], hb[LF_HASH_HEX];

	assert_int_equal(lf_auth_token_new("lfa_", a), 0);
	assert_int_equal(lf_auth_token_new("lfa_", b), 0);
	assert_int_equal(strlen(a), 4 + 43); /* 256 bits in base64url */
	assert_memory_equal(a, "lfa_", 4);
	assert_string_not_equal(a, b);
	lf_auth_hash(a, ha);
	lf_auth_hash(b, hb);
	assert_int_equal(strlen(ha), 64);
	assert_string_not_equal(ha, hb);
	assert_null(strstr(ha, a + 4));
	assert_int_equal(lf_auth_token_new("toolong_", a), -EINVAL);
}

static void test_bearer(void **state)
{
	assert_string_equal(lf_auth_bearer("Bearer abc"), "abc");
	assert_string_equal(lf_auth_bearer("bearer   abc"), "abc");
	assert_null(lf_auth_bearer("Basic abc"));
	assert_null(lf_auth_bearer("Bearer "));
	assert_null(lf_auth_bearer(NULL));
}

static void test_lookup(void **state)
{
	struct fixture fx = { 0 };
	struct lf_store *s;
	struct lf_principal p;
	char admin[LF_TOKEN_MAX], viewer[LF_TOKEN_MAX], dev[LF_TOKEN_MAX], hash[LF_HASH_HEX];
	int64_t id, feed, group, device;

	assert_int_equal(fixture_sqlite(&fx), 0);
	assert_int_equal(lf_store_open(fx.target, &s), 0);
	assert_int_equal(lf_auth_admin_token_create(s, LF_ACCESS_ADMIN, "a", admin, &id), 0);
	assert_int_equal(lf_auth_admin_token_create(s, LF_ACCESS_VIEWER, "v", viewer, NULL), 0);
	assert_int_equal(lf_auth_lookup(s, admin, &p), 0);
	assert_int_equal(p.role, LF_ACCESS_ADMIN);
	assert_int_equal(p.token_id, id);
	assert_int_equal(p.device_id, 0);
	assert_int_equal(lf_auth_lookup(s, viewer, &p), 0);
	assert_int_equal(p.role, LF_ACCESS_VIEWER);
	/* Only hashes are stored. */
	assert_int_equal(lf_store_int(s, "SELECT COUNT(*) FROM tokens WHERE token_hash = $1",
				      &id, "s", admin), 0);
	assert_int_equal(id, 0);
	/* A device credential names its device and nothing else. */
	assert_int_equal(lf_store_int(s, "INSERT INTO feeds (name, created) VALUES ('f', 1) RETURNING id",
				      &feed, ""), 0);
	assert_int_equal(lf_store_int(s, "INSERT INTO device_groups (name, feed_id, created)"
				      " VALUES ('g', $1, 1) RETURNING id", &group, "i", feed), 0);
	assert_int_equal(lf_store_int(s, "INSERT INTO devices (uid, group_id, enrolled)"
				      " VALUES ('d1', $1, 1) RETURNING id", &device, "i", group), 0);
	assert_int_equal(lf_auth_token_new("lfd_", dev), 0);
	lf_auth_hash(dev, hash);
	assert_int_equal(lf_store_q(s, "INSERT INTO device_credentials (device_id, token_hash, created)"
				    " VALUES ($1, $2, 1)", NULL, NULL, "is", device, hash), 1);
	memset(&p, 0, sizeof(p));
	assert_int_equal(lf_auth_lookup(s, dev, &p), 0);
	assert_int_equal(p.device_id, device);
	assert_int_equal(p.group_id, group);
	assert_int_equal(p.feed_id, feed);
	assert_int_equal(p.role, LF_ACCESS_NONE);
	assert_string_equal(p.device_uid, "d1");
	/* Unknown, forged-prefix and revoked credentials are refused. */
	assert_int_equal(lf_auth_lookup(s, "lfa_nothing-like-a-token", &p), -EACCES);
	dev[0] = 'x';
	assert_int_equal(lf_auth_lookup(s, dev, &p), -EACCES);
	dev[0] = 'l';
	assert_int_equal(lf_store_q(s, "UPDATE devices SET revoked = 1", NULL, NULL, ""), 1);
	assert_int_equal(lf_auth_lookup(s, dev, &p), -EACCES);
	assert_int_equal(lf_store_q(s, "UPDATE tokens SET revoked = 1 WHERE role = 'admin'",
				    NULL, NULL, ""), 1);
	assert_int_equal(lf_auth_lookup(s, admin, &p), -EACCES);
	lf_store_close(s);
	fixture_release(&fx);
}

/* Every /api/v1 route other than enrolment and the device's own needs a role. */
static void test_route_table_rules(void **state)
{
	int n = 0;

	for (const struct lf_route *r = lf_portal_routes; r->method; r++, n++) {
		bool device = !strncmp(r->pattern, "/api/v1/devices/self/", 21);
		bool enrol = !strcmp(r->pattern, "/api/v1/enrol");

		if (!strncmp(r->pattern, "/api/v1/", 8) && !device && !enrol)
			assert_true(r->auth >= LF_AUTH_VIEWER);
		if (device) {
			assert_int_equal(r->auth, LF_AUTH_DEVICE);
			assert_int_equal(r->max_body, LF_MAX_DEVICE_BODY);
		}
		if (strcmp(r->method, "GET") && r->auth >= LF_AUTH_VIEWER)
			assert_true(r->auth >= LF_AUTH_OPERATOR); /* viewers never write */
		if (!strcmp(r->method, "GET"))
			assert_int_equal(r->max_body, 0);
		if (!strcmp(r->pattern, "/api/v1/tokens") || !strcmp(r->pattern, "/api/v1/audit"))
			assert_int_equal(r->auth, LF_AUTH_ADMIN);
	}
	assert_true(n > 30);
}

static void test_route_match(void **state)
{
	struct lf_req req;
	bool path_ok;
	const struct lf_route *r;

	memset(&req, 0, sizeof(req));
	r = lf_route_match("GET", "/repo/prod/bundles/abc.lfb", &req, &path_ok);
	assert_non_null(r);
	assert_string_equal(r->pattern, "/repo/{feed}/bundles/{file}");
	assert_string_equal(req.params[0], "prod");
	assert_string_equal(req.params[1], "abc.lfb");
	r = lf_route_match("GET", "/repo/prod/timestamp.json", &req, &path_ok);
	assert_string_equal(r->pattern, "/repo/{feed}/{file}");
	r = lf_route_match("POST", "/api/v1/rollouts/12/approve", &req, &path_ok);
	assert_string_equal(req.params[0], "12");
	assert_string_equal(req.params[1], "approve");
	/* Wrong method on a known path: 405, unknown path: 404. */
	assert_null(lf_route_match("DELETE", "/api/v1/groups", &req, &path_ok));
	assert_true(path_ok);
	assert_null(lf_route_match("GET", "/api/v1/nothing", &req, &path_ok));
	assert_false(path_ok);
	assert_null(lf_route_match("GET", "/repo//timestamp.json", &req, &path_ok));
	assert_null(lf_route_match("GET", "/api/v1/groups/", &req, &path_ok));
}

static void test_http_status(void **state)
{
	assert_int_equal(lf_http_status(-EINVAL), 400);
	assert_int_equal(lf_http_status(-EACCES), 401);
	assert_int_equal(lf_http_status(-EPERM), 403);
	assert_int_equal(lf_http_status(-ENOENT), 404);
	assert_int_equal(lf_http_status(-EEXIST), 409);
	assert_int_equal(lf_http_status(-EOVERFLOW), 413);
	assert_int_equal(lf_http_status(-ECONNREFUSED), 503);
	assert_int_equal(lf_http_status(-EIO), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_ladder),
		cmocka_unit_test(test_tokens_random_and_hashed),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_route_table_rules),
		cmocka_unit_test(test_route_match),
		cmocka_unit_test(test_http_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
