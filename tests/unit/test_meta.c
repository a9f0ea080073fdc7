/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "livefix/tuf.h"
#include "trust_helpers.h"

static struct lf_privkey kr, kt, ks, kts, kr2;
static struct lf_root root;

static int setup(void **state)
{
	const struct lf_privkey *k[4] = { &kr, &kt, &ks, &kts };
	char *body, *doc;
	int r;

	if (lf_key_generate("root", &kr) || lf_key_generate("targets", &kt) ||
	    lf_key_generate("snapshot", &ks) || lf_key_generate("timestamp", &kts) ||
	    lf_key_generate("root", &kr2))
		return -1;
	body = root_body(1, FAR_FUTURE, k, 1);
	doc = sign1(body, &kr);
	r = lf_root_verify_next(doc, strlen(doc), NULL, &root, NULL);
	free(body);
	free(doc);
	return r;
}

static int verify_role(const char *body, const struct lf_privkey *key, enum lf_role role,
		       void *ret, struct lf_why *why)
{
	char *doc = sign1(body, key);
	int r = lf_meta_verify(doc, strlen(doc), &root, role, ret, why);

	free(doc);
	return r;
}

static void test_root_roles(void **state)
{
	assert_int_equal(root.h.version, 1);
	assert_int_equal(root.ring.n, 4);
	assert_string_equal(root.roles[LF_ROLE_TARGETS].keyids[0], kt.pub.keyid);
	assert_int_equal(root.roles[LF_ROLE_ROOT].threshold, 1);
}

static void test_root_refusals(void **state)
{
	const struct lf_privkey *k[4] = { &kr, &kt, &ks, &kts };
	struct lf_root *out = calloc(1, sizeof(*out));
	struct lf_why why;
	char *body, *doc;

	/* Threshold above the number of keys would lock the role forever. */
	body = root_body(1, FAR_FUTURE, k, 2);
	doc = sign1(body, &kr);
	assert_int_equal(lf_root_verify_next(doc, strlen(doc), NULL, out, &why), -EBADMSG);
	free(body);
	free(doc);
	/* Signed by a key that is not its root key. */
	body = root_body(1, FAR_FUTURE, k, 1);
	doc = sign1(body, &kt);
	assert_int_equal(lf_root_verify_next(doc, strlen(doc), NULL, out, &why), -EKEYREJECTED);
	free(doc);
	/* Version 3 after version 1, or signed by the old keys only. */
	free(body);
	body = root_body(3, FAR_FUTURE, k, 1);
	doc = sign1(body, &kr);
	assert_int_equal(lf_root_verify_next(doc, strlen(doc), &root, out, &why), -ESTALE);
	free(doc);
	free(body);
	free(out);
}

static void test_root_rotation_needs_both(void **state)
{
	const struct lf_privkey *k[4] = { &kr2, &kt, &ks, &kts };
	const struct lf_privkey *both[] = { &kr, &kr2 };
	struct lf_root *out = calloc(1, sizeof(*out));
	struct lf_why why;
	char *body = root_body(2, FAR_FUTURE, k, 1), *doc;

	doc = sign1(body, &kr2);
	assert_int_equal(lf_root_verify_next(doc, strlen(doc), &root, out, &why), -EKEYREJECTED);
	assert_non_null(strstr(why.msg, "previous root"));
	free(doc);
	doc = sign1(body, &kr);
	assert_int_equal(lf_root_verify_next(doc, strlen(doc), &root, out, &why), -EKEYREJECTED);
	assert_non_null(strstr(why.msg, "its own keys"));
	free(doc);
	doc = sign_doc(body, both, 2);
	assert_int_equal(lf_root_verify_next(doc, strlen(doc), &root, out, &why), 0);
	assert_int_equal(out->h.version, 2);
	free(doc);
	free(body);
	free(out);
}

#define TS_BODY "{\"_type\":\"timestamp\",\"spec_version\":\"1.0\",\"version\":4," \
	"\"expires\":\"" FAR_FUTURE "\",\"meta\":{\"snapshot.json\":{\"version\":3," \
	"\"length\":100,\"hashes\":{\"sha256\":\"%s\"}}}}"
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static void test_timestamp(void **state)
{
	struct lf_snapshot *snap = calloc(1, sizeof(*snap));
	struct lf_timestamp ts;
	struct lf_why why;
	char body[1024];

	snprintf(body, sizeof(body), TS_BODY, ZEROS);
	assert_int_equal(verify_role(body, &kts, LF_ROLE_TIMESTAMP, &ts, &why), 0);
	assert_int_equal(ts.h.version, 4);
	assert_int_equal(ts.snapshot.version, 3);
	assert_int_equal(ts.snapshot.length, 100);
	/* Wrong key, role confusion, malformed hash. */
	assert_int_equal(verify_role(body, &ks, LF_ROLE_TIMESTAMP, &ts, &why), -EKEYREJECTED);
	assert_int_equal(verify_role(body, &ks, LF_ROLE_SNAPSHOT, snap, &why), -EBADMSG);
	assert_non_null(strstr(why.msg, "role confusion"));
	snprintf(body, sizeof(body), TS_BODY, "00");
	assert_int_equal(verify_role(body, &kts, LF_ROLE_TIMESTAMP, &ts, &why), -EBADMSG);
	free(snap);
}

static void test_snapshot(void **state)
{
	struct lf_snapshot *s = calloc(1, sizeof(*s));
	struct lf_why why;
	const char *ok = "{\"_type\":\"snapshot\",\"spec_version\":\"1.0\",\"version\":2,"
		"\"expires\":\"" FAR_FUTURE "\",\"meta\":{\"targets/production.json\":"
		"{\"version\":5,\"length\":10,\"hashes\":{\"sha256\":\"" ZEROS "\"}}}}";
	const char *escape = "{\"_type\":\"snapshot\",\"spec_version\":\"1.0\",\"version\":2,"
		"\"expires\":\"" FAR_FUTURE "\",\"meta\":{\"targets/../../etc/x.json\":"
		"{\"version\":5,\"length\":10,\"hashes\":{\"sha256\":\"" ZEROS "\"}}}}";

	assert_int_equal(verify_role(ok, &ks, LF_ROLE_SNAPSHOT, s, &why), 0);
	assert_int_equal(s->n, 1);
	assert_non_null(lf_snapshot_find(s, "targets/production.json"));
	assert_int_equal(lf_snapshot_find(s, "targets/production.json")->version, 5);
	assert_int_equal(verify_role(escape, &ks, LF_ROLE_SNAPSHOT, s, &why), -EBADMSG);
	free(s);
}

static void test_targets(void **state)
{
	struct lf_targets t;
	struct lf_why why;
	char body[2048];
#define fmt "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1," \
		"\"expires\":\"%s\",\"feed\":\"production\",\"targets\":{\"bundles/a.lfb\":" \
		"{\"length\":1000,\"hashes\":{\"sha256\":\"" ZEROS "\"},\"custom\":{\"id\":\"k1\"," \
		"\"kind\":\"kernel\",\"level\":%d,\"target\":{\"arch\":\"x86_64\"," \
		"\"release\":\"6.1.0-1\",\"build_id\":\"0011223344\"}}}}}"

	snprintf(body, sizeof(body), fmt, FAR_FUTURE, 3);
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.feed, "production");
	assert_int_equal(t.t[0].level, 3);
	assert_string_equal(t.t[0].ident.build_id, "0011223344");
	lf_targets_release(&t);
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, 0);
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), -EBADMSG);
	snprintf(body, sizeof(body), fmt, "2099-01-01", 3);
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), -EBADMSG);
	/* A snapshot key cannot sign targets (stolen online key). */
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, 3);
	assert_int_equal(verify_role(body, &ks, LF_ROLE_TARGETS, &t, &why), -EKEYREJECTED);
#undef fmt
}

/* "withdrawn": true in custom, signed by the targets keys; nothing else accepted. */
static void test_targets_withdrawn(void **state)
{
	struct lf_targets t;
	struct lf_why why;
	char body[2048];
#define fmt "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1," \
		"\"expires\":\"%s\",\"feed\":\"production\",\"targets\":{\"bundles/a.lfb\":" \
		"{\"length\":1000,\"hashes\":{\"sha256\":\"" ZEROS "\"},\"custom\":{\"id\":\"k1\"," \
		"\"kind\":\"kernel\",\"level\":2,\"target\":{\"arch\":\"x86_64\"," \
		"\"release\":\"6.1.0-1\",\"build_id\":\"0011223344\"}%s}}}}"

	(void)state;
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, "");
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), 0);
	assert_false(t.t[0].withdrawn);
	lf_targets_release(&t);
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, ",\"withdrawn\":true");
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), 0);
	assert_true(t.t[0].withdrawn);
	lf_targets_release(&t);
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, ",\"withdrawn\":false");
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), 0);
	assert_false(t.t[0].withdrawn);
	lf_targets_release(&t);
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, ",\"withdrawn\":1");
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), -EBADMSG);
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, ",\"withdrawn\":\"yes\"");
	assert_int_equal(verify_role(body, &kt, LF_ROLE_TARGETS, &t, &why), -EBADMSG);
	/* The mark means nothing unless the targets keys signed it. */
	snprintf(body, sizeof(body), fmt, FAR_FUTURE, ",\"withdrawn\":true");
	assert_int_equal(verify_role(body, &ks, LF_ROLE_TARGETS, &t, &why), -EKEYREJECTED);
#undef fmt
}

static void test_repo_paths(void **state)
{
	assert_true(lf_is_repo_path("bundles/ab.lfb"));
	assert_false(lf_is_repo_path("/etc/passwd"));
	assert_false(lf_is_repo_path("a/../b"));
	assert_false(lf_is_repo_path("a//b"));
	assert_false(lf_is_repo_path("a/"));
	assert_false(lf_is_repo_path("a b"));
	assert_false(lf_is_repo_path(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_roles),
		cmocka_unit_test(test_root_refusals),
		cmocka_unit_test(test_root_rotation_needs_both),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_withdrawn),
		cmocka_unit_test(test_repo_paths),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
