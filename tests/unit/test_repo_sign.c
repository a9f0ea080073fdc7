/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The online roles as the trust library builds them for the build host and
 * the portal: each verifies under a root listing the online keys, names
 * exactly the documents it was given, and counts on from the previous one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "livefix/repo_sign.h"
#include "trust_helpers.h"

static struct lf_privkey kr, kt, ks, kts;
static struct lf_root root;
static char *targets_a, *targets_b;

static int setup(void **state)
{
	const struct lf_privkey *k[4] = { &kr, &kt, &ks, &kts };
	char *body, *doc;
	int r;

	if (lf_key_generate("root", &kr) || lf_key_generate("targets", &kt) ||
	    lf_key_generate("snapshot", &ks) || lf_key_generate("timestamp", &kts))
		return -1;
	body = root_body(1, FAR_FUTURE, k, 1);
	doc = sign1(body, &kr);
	r = lf_root_verify_next(doc, strlen(doc), NULL, &root, NULL);
	free(body);
	free(doc);
	targets_a = sign1("{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":3,"
			  "\"expires\":\"" FAR_FUTURE "\",\"feed\":\"a\",\"targets\":{}}", &kt);
	targets_b = sign1("{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":7,"
			  "\"expires\":\"" FAR_FUTURE "\",\"feed\":\"b\",\"targets\":{}}", &kt);
	return r;
}

static int teardown(void **state)
{
	free(targets_a);
	free(targets_b);
	return 0;
}

static void test_snapshot(void **state)
{
	const struct lf_privkey *key = &ks;
	struct lf_meta_doc docs[2] = {
		{ "targets/b.json", targets_b, strlen(targets_b) },
		{ "targets/a.json", targets_a, strlen(targets_a) },
	};
	struct lf_meta_doc prev = { "snapshot.json", NULL, 0 };
	struct lf_buf out = LF_BUF_INIT(LF_SNAPSHOT_MAX), out2 = LF_BUF_INIT(LF_SNAPSHOT_MAX);
	struct lf_snapshot *s = calloc(1, sizeof(*s));
	const struct lf_metafile *m;
	char hex[LF_SHA256_HEX + 1];
	int64_t v = 0, expires = lf_time_now() + 3600;

	assert_int_equal(lf_repo_sign_snapshot(docs, 2, &prev, expires, &key, 1, &out, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(lf_meta_verify(out.data, out.len, &root, LF_ROLE_SNAPSHOT, s, NULL), 0);
	assert_int_equal(s->h.version, 1);
	assert_int_equal(s->h.expires, expires);
	assert_int_equal(s->n, 2);
	m = lf_snapshot_find(s, "targets/b.json");
	assert_non_null(m);
	assert_int_equal(m->version, 7);
	assert_int_equal(m->length, (int64_t)strlen(targets_b));
	lf_sha256_hex(targets_b, strlen(targets_b), hex);
	assert_string_equal(m->sha256, hex);
	assert_int_equal(lf_snapshot_find(s, "targets/a.json")->version, 3);
	/* The next one counts on from the previous. */
	prev.data = out.data;
	prev.len = out.len;
	assert_int_equal(lf_repo_sign_snapshot(docs, 1, &prev, expires, &key, 1, &out2, &v), 0);
	assert_int_equal(v, 2);
	/* Signed by the timestamp key: not a snapshot under this root. */
	key = &kts;
	lf_buf_reset(&out2);
	assert_int_equal(lf_repo_sign_snapshot(docs, 1, NULL, expires, &key, 1, &out2, NULL), 0);
	assert_int_equal(lf_meta_verify(out2.data, out2.len, &root, LF_ROLE_SNAPSHOT, s, NULL),
			 -EKEYREJECTED);
	lf_buf_release(&out);
	lf_buf_release(&out2);
	free(s);
}

static void test_snapshot_refusals(void **state)
{
	const struct lf_privkey *key = &ks;
	struct lf_meta_doc bad_name = { "snapshot.json", targets_a, strlen(targets_a) };
	struct lf_meta_doc escape = { "targets/../x.json", targets_a, strlen(targets_a) };
	struct lf_meta_doc junk = { "targets/a.json", "{}", 2 };
	struct lf_meta_doc ok = { "targets/a.json", targets_a, strlen(targets_a) };
	struct lf_meta_doc bad_prev = { "snapshot.json", "not json", 8 };
	struct lf_buf out = LF_BUF_INIT(LF_SNAPSHOT_MAX);
	int64_t t = lf_time_now() + 60;

	assert_int_equal(lf_repo_sign_snapshot(&bad_name, 1, NULL, t, &key, 1, &out, NULL), -EINVAL);
	assert_int_equal(lf_repo_sign_snapshot(&escape, 1, NULL, t, &key, 1, &out, NULL), -EINVAL);
	assert_int_equal(lf_repo_sign_snapshot(&junk, 1, NULL, t, &key, 1, &out, NULL), -EBADMSG);
	assert_int_equal(lf_repo_sign_snapshot(&ok, 1, &bad_prev, t, &key, 1, &out, NULL), -EBADMSG);
	assert_int_equal(lf_repo_sign_snapshot(&ok, LF_MAX_FEEDS + 1, NULL, t, &key, 1, &out, NULL),
			 -E2BIG);
	lf_buf_release(&out);
}

static void test_timestamp(void **state)
{
	const struct lf_privkey *sk = &ks, *tk = &kts;
	struct lf_meta_doc t = { "targets/a.json", targets_a, strlen(targets_a) };
	struct lf_buf snap = LF_BUF_INIT(LF_SNAPSHOT_MAX), ts = LF_BUF_INIT(LF_TIMESTAMP_MAX);
	struct lf_buf ts2 = LF_BUF_INIT(LF_TIMESTAMP_MAX);
	struct lf_timestamp parsed;
	struct lf_meta_doc s, prev = { "timestamp.json", NULL, 0 };
	char hex[LF_SHA256_HEX + 1];
	int64_t v, expires = lf_time_now() + 600;

	assert_int_equal(lf_repo_sign_snapshot(&t, 1, NULL, expires, &sk, 1, &snap, &v), 0);
	s = (struct lf_meta_doc){ "snapshot.json", snap.data, snap.len };
	assert_int_equal(lf_repo_sign_timestamp(&s, &prev, expires, &tk, 1, &ts), 0);
	assert_int_equal(lf_meta_verify(ts.data, ts.len, &root, LF_ROLE_TIMESTAMP, &parsed, NULL), 0);
	assert_int_equal(parsed.h.version, 1);
	assert_int_equal(parsed.h.expires, expires);
	assert_string_equal(parsed.snapshot.name, "snapshot.json");
	assert_int_equal(parsed.snapshot.version, 1);
	assert_int_equal(parsed.snapshot.length, (int64_t)snap.len);
	lf_sha256_hex(snap.data, snap.len, hex);
	assert_string_equal(parsed.snapshot.sha256, hex);
	/* A re-sign of the same snapshot (the periodic refresh) is version 2. */
	prev = (struct lf_meta_doc){ "timestamp.json", ts.data, ts.len };
	assert_int_equal(lf_repo_sign_timestamp(&s, &prev, expires + 60, &tk, 1, &ts2), 0);
	assert_int_equal(lf_meta_verify(ts2.data, ts2.len, &root, LF_ROLE_TIMESTAMP, &parsed, NULL), 0);
	assert_int_equal(parsed.h.version, 2);
	assert_int_equal(lf_meta_peek(ts2.data, ts2.len, &v, &expires), 0);
	assert_int_equal(v, 2);
	assert_int_equal(expires, parsed.h.expires);
	/* Only snapshot.json can be named. */
	s.name = "targets/a.json";
	assert_int_equal(lf_repo_sign_timestamp(&s, NULL, expires, &tk, 1, &ts2), -EINVAL);
	lf_buf_release(&snap);
	lf_buf_release(&ts);
	lf_buf_release(&ts2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_snapshot_refusals),
		cmocka_unit_test(test_timestamp),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
