/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "livefix/trust.h"
#include "trust_helpers.h"

static struct lf_privkey ka, kb, kc;

static int setup(void **state)
{
	return lf_key_generate("targets", &ka) || lf_key_generate("targets", &kb) ||
	       lf_key_generate("snapshot", &kc);
}

static void ring_role(struct lf_keyring *ring, struct lf_role_keys *role, int threshold)
{
	memset(ring, 0, sizeof(*ring));
	memset(role, 0, sizeof(*role));
	ring->keys[0] = ka.pub;
	ring->keys[1] = kb.pub;
	ring->keys[2] = kc.pub;
	ring->n = 3;
	strcpy(role->keyids[0], ka.pub.keyid);
	strcpy(role->keyids[1], kb.pub.keyid);
	role->nkeys = 2;
	role->threshold = threshold;
}

static int verify(const char *doc, int threshold, struct lf_why *why)
{
	struct lf_keyring ring;
	struct lf_role_keys role;
	struct lf_signed s;
	int r;

	ring_role(&ring, &role, threshold);
	r = lf_signed_parse(doc, strlen(doc), &s, why);
	if (r < 0)
		return r;
	r = lf_signed_verify(&s, &ring, &role, "doc", why);
	lf_signed_release(&s);
	return r;
}

static void test_sign_verify_roundtrip(void **state)
{
	const struct lf_privkey *both[] = { &ka, &kb };
	char *doc = sign_doc("{ \"b\": 1, \"a\": [true] }", both, 2);
	struct lf_why why;

	assert_int_equal(verify(doc, 1, &why), 0);
	assert_int_equal(verify(doc, 2, &why), 0);
	free(doc);
}

static void test_formatting_does_not_matter(void **state)
{
	char *doc = sign1("{\"b\":1,\"a\":2}", &ka);
	char *sig = strstr(doc, "\"signed\":");
	char reformatted[1024];
	struct lf_why why;

	/* Same body, other spacing and key order: the canonical form is the same. */
	*sig = '\0';
	snprintf(reformatted, sizeof(reformatted), "%s\"signed\" : { \"a\" : 2 ,\n \"b\" : 1 } }",
		 doc);
	assert_int_equal(verify(reformatted, 1, &why), 0);
	free(doc);
}

static void test_tampered_is_bad_signature(void **state)
{
	char *doc = sign1("{\"version\":1}", &ka);
	struct lf_why why;

	strstr(doc, "\"version\":1")[10] = '2';
	assert_int_equal(verify(doc, 1, &why), -EBADMSG);
	assert_non_null(strstr(why.msg, "bad signature"));
	free(doc);
}

static void test_unsigned_and_wrong_role(void **state)
{
	const char *unsigned_doc = "{\"signatures\":[],\"signed\":{\"a\":1}}";
	char *doc = sign1("{\"a\":1}", &kc);
	struct lf_why why;

	assert_int_equal(verify(unsigned_doc, 1, &why), -EKEYREJECTED);
	assert_non_null(strstr(why.msg, "unsigned"));
	/* kc is in the ring but does not hold the role. */
	assert_int_equal(verify(doc, 1, &why), -EKEYREJECTED);
	assert_non_null(strstr(why.msg, "do not hold this role"));
	free(doc);
}

static void test_threshold_counts_distinct_keys(void **state)
{
	const struct lf_privkey *twice[] = { &ka, &ka };
	char *doc = sign_doc("{\"a\":1}", twice, 2);
	struct lf_why why;

	assert_int_equal(verify(doc, 1, &why), 0);
	assert_int_equal(verify(doc, 2, &why), -EKEYREJECTED);
	assert_non_null(strstr(why.msg, "threshold is 2"));
	free(doc);
}

static void test_malformed_envelopes(void **state)
{
	static const char *const bad[] = {
		"{\"signed\":{}}",
		"{\"signatures\":[],\"signed\":[]}",
		"{\"signatures\":[{\"keyid\":1,\"sig\":\"00\"}],\"signed\":{}}",
		"{\"signatures\":[{\"keyid\":\"a\"}],\"signed\":{}}",
		"{\"signatures\":[],\"signed\":{},\"extra\":1}",
	};
	struct lf_why why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(verify(bad[i], 1, &why), -EBADMSG);
}

static void test_keyid_is_sha256_of_canonical_key(void **state)
{
	struct lf_buf b = LF_BUF_INIT(512);
	char hex[65];
	struct lf_jv *v;
	struct lf_pubkey k;

	assert_int_equal(lf_key_pub_json(&ka.pub, &b), 0);
	lf_sha256_hex(b.data, b.len, hex);
	assert_string_equal(hex, ka.pub.keyid);
	assert_int_equal(lf_json_parse(b.data, b.len, NULL, &v), 0);
	assert_int_equal(lf_key_from_json(v, &k), 0);
	assert_string_equal(k.keyid, ka.pub.keyid);
	lf_jv_free(v);
	lf_buf_release(&b);
}

static void test_key_files(void **state)
{
	char dir[] = "/tmp/lf-test-key.XXXXXX", path[64], cmd[96];
	struct lf_privkey k;
	struct lf_pubkey p;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.key", dir);
	assert_int_equal(lf_key_save(path, &ka), 0);
	assert_int_equal(lf_key_load_private(path, &k), 0);
	assert_memory_equal(k.sk, ka.sk, 64);
	assert_string_equal(k.role, "targets");
	assert_int_equal(lf_key_load_public(path, &p), 0);
	assert_string_equal(p.keyid, ka.pub.keyid);
	strcat(path, ".pub");
	assert_int_equal(lf_key_load_public(path, &p), 0);
	assert_string_equal(p.keyid, ka.pub.keyid);
	assert_int_equal(lf_key_load_private(path, &k), -EBADMSG);
	lf_privkey_wipe(&k);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_hex_and_time(void **state)
{
	uint8_t b[2];
	int64_t t;
	char out[21], sha1[41];

	assert_int_equal(lf_unhex("0aff", b, 2), 0);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(lf_unhex("0AFF", b, 2), -EBADMSG);
	assert_int_equal(lf_unhex("0af", b, 2), -EBADMSG);
	assert_int_equal(lf_time_parse("2030-02-03T04:05:06Z", &t), 0);
	lf_time_format(t, out);
	assert_string_equal(out, "2030-02-03T04:05:06Z");
	assert_int_equal(lf_time_parse("2030-02-30T04:05:06Z", &t), -EBADMSG);
	assert_int_equal(lf_time_parse("2030-2-03T04:05:06Z ", &t), -EBADMSG);
	assert_int_equal(lf_time_parse("2030-02-03 04:05:06Z", &t), -EBADMSG);
	/* FIPS 180 test vectors. */
	lf_sha1_hex("abc", 3, sha1);
	assert_string_equal(sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	lf_sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, sha1);
	assert_string_equal(sha1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify_roundtrip),
		cmocka_unit_test(test_formatting_does_not_matter),
		cmocka_unit_test(test_tampered_is_bad_signature),
		cmocka_unit_test(test_unsigned_and_wrong_role),
		cmocka_unit_test(test_threshold_counts_distinct_keys),
		cmocka_unit_test(test_malformed_envelopes),
		cmocka_unit_test(test_keyid_is_sha256_of_canonical_key),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_hex_and_time),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
