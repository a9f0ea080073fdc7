/* SPDX-License-Identifier: Apache-2.0 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "livefix/bundle.h"
#include "livefix/tuf.h"
#include "trust_helpers.h"

static struct lf_privkey kt, kother;
static const char payload[] = "\x7f" "ELF pretend module bytes";

static int setup(void **state)
{
	return lf_key_generate("targets", &kt) || lf_key_generate("targets", &kother);
}

static char *manifest(const char *extra_field, const char *severity, size_t len)
{
	struct lf_buf b = LF_BUF_INIT(1 << 16);
	char hex[65];

	lf_sha256_hex(payload, sizeof(payload) - 1, hex);
	lf_buf_printf(&b, "{\"_type\":\"bundle\",\"format\":1,\"id\":\"k-1\",\"kind\":\"kernel\","
		      "\"target\":{\"arch\":\"x86_64\",\"release\":\"6.1.0-56-amd64\","
		      "\"build_id\":\"00112233445566778899\"},\"level\":2,\"supersedes\":[\"k-0\"],"
		      "\"cves\":[{\"id\":\"CVE-2026-1\",\"severity\":\"%s\"}],\"description\":\"d\","
		      "\"created\":\"2026-01-01T00:00:00Z\",\"payloads\":[{\"name\":\"m.ko\","
		      "\"length\":%zu,\"sha256\":\"%s\"}]%s}", severity, len, hex, extra_field);
	return lf_buf_detach(&b, NULL);
}

static int build(const char *m, const struct lf_privkey *key, struct lf_buf *out)
{
	const struct lf_privkey *keys[] = { key };
	struct lf_payload_in p = { "m.ko", payload, sizeof(payload) - 1 };

	return lf_bundle_write(m, strlen(m), &p, 1, keys, key ? 1 : 0, out, NULL);
}

static struct lf_root *trust(const struct lf_privkey *k)
{
	struct lf_root *r = calloc(1, sizeof(*r));

	r->ring.keys[0] = k->pub;
	r->ring.n = 1;
	strcpy(r->roles[LF_ROLE_TARGETS].keyids[0], k->pub.keyid);
	r->roles[LF_ROLE_TARGETS].nkeys = 1;
	r->roles[LF_ROLE_TARGETS].threshold = 1;
	return r;
}

static void test_roundtrip(void **state)
{
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	char *m = manifest("", "high", sizeof(payload) - 1);
	struct lf_root *root = trust(&kt);
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_why why;

	assert_int_equal(build(m, &kt, &out), 0);
	assert_memory_equal(out.data, LF_BUNDLE_MAGIC, 8);
	assert_int_equal(lf_bundle_parse(out.data, out.len, b, &why), 0);
	assert_string_equal(b->m.id, "k-1");
	assert_int_equal(b->m.level, 2);
	assert_int_equal(b->m.ncves, 1);
	assert_string_equal(b->m.cves[0].severity, "high");
	assert_string_equal(b->m.supersedes[0], "k-0");
	assert_int_equal(b->m.payloads[0].length, sizeof(payload) - 1);
	assert_memory_equal(out.data + b->m.payloads[0].offset, payload, sizeof(payload) - 1);
	assert_int_equal(lf_tuf_verify_bundle(root, b, &why), 0);
	lf_bundle_release(b);
	free(b);
	free(root);
	free(m);
	lf_buf_release(&out);
}

static void test_signatures_and_payload(void **state)
{
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	char *m = manifest("", "low", sizeof(payload) - 1);
	struct lf_root *root = trust(&kt);
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_why why;

	assert_int_equal(build(m, &kother, &out), 0);
	assert_int_equal(lf_bundle_parse(out.data, out.len, b, &why), 0);
	assert_int_equal(lf_tuf_verify_bundle(root, b, &why), -EKEYREJECTED);
	lf_bundle_release(b);
	lf_buf_reset(&out);
	assert_int_equal(build(m, NULL, &out), 0);
	assert_int_equal(lf_bundle_parse(out.data, out.len, b, &why), 0);
	assert_int_equal(lf_tuf_verify_bundle(root, b, &why), -EKEYREJECTED);
	assert_non_null(strstr(why.msg, "unsigned"));
	lf_bundle_release(b);
	lf_buf_reset(&out);
	assert_int_equal(build(m, &kt, &out), 0);
	out.data[out.len - 1] ^= 1;
	assert_int_equal(lf_bundle_parse(out.data, out.len, b, &why), 0);
	assert_int_equal(lf_tuf_verify_bundle(root, b, &why), -EBADMSG);
	assert_non_null(strstr(why.msg, "sha256 mismatch"));
	lf_bundle_release(b);
	free(b);
	free(root);
	free(m);
	lf_buf_release(&out);
}

static void test_container_bounds(void **state)
{
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	char *m = manifest("", "critical", sizeof(payload) - 1);
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_why why;
	uint32_t v32;
	uint64_t v64;
	char *copy;

	assert_int_equal(build(m, &kt, &out), 0);
	copy = malloc(out.len + 1);
	/* Truncated anywhere, one byte more, bad magic, other format. */
	for (size_t n = 0; n < out.len; n += 7)
		assert_true(lf_bundle_parse(out.data, n, b, &why) < 0);
	memcpy(copy, out.data, out.len);
	copy[out.len] = 'x';
	assert_int_equal(lf_bundle_parse(copy, out.len + 1, b, &why), -EOVERFLOW);
	copy[0] = 'L';
	assert_int_equal(lf_bundle_parse(copy, out.len, b, &why), -EBADMSG);
	memcpy(copy, out.data, out.len);
	v32 = htobe32(2);
	memcpy(copy + 8, &v32, 4);
	assert_int_equal(lf_bundle_parse(copy, out.len, b, &why), -EBADMSG);
	/* Lengths that would wrap or exceed the bounds are refused unread. */
	memcpy(copy, out.data, out.len);
	v32 = htobe32(0xffffffff);
	memcpy(copy + 12, &v32, 4);
	assert_int_equal(lf_bundle_parse(copy, out.len, b, &why), -EOVERFLOW);
	memcpy(copy, out.data, out.len);
	v64 = htobe64(UINT64_MAX - 10);
	memcpy(copy + 16, &v64, 8);
	assert_int_equal(lf_bundle_parse(copy, out.len, b, &why), -EOVERFLOW);
	free(copy);
	free(b);
	free(m);
	lf_buf_release(&out);
}

static void test_manifest_fields(void **state)
{
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	char *m;

	m = manifest(",\"unknown\":1", "high", sizeof(payload) - 1);
	assert_int_equal(build(m, &kt, &out), -EBADMSG);
	free(m);
	m = manifest("", "severe", sizeof(payload) - 1);
	assert_int_equal(build(m, &kt, &out), -EBADMSG);
	free(m);
	/* The payload list must describe the payloads exactly. */
	m = manifest("", "high", sizeof(payload));
	assert_int_equal(build(m, &kt, &out), -EINVAL);
	free(m);
	lf_buf_release(&out);
}

static void test_ids(void **state)
{
	assert_true(lf_is_id("kernel-6.1_x"));
	assert_false(lf_is_id(""));
	assert_false(lf_is_id(".hidden"));
	assert_false(lf_is_id("a/b"));
	assert_false(lf_is_id("-opt"));
	assert_true(lf_is_severity("unknown"));
	assert_false(lf_is_severity("High"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_signatures_and_payload),
		cmocka_unit_test(test_container_bounds),
		cmocka_unit_test(test_manifest_fields),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
