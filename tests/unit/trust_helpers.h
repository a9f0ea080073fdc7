/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the trust unit tests: keys, signed documents, roots. */
#ifndef LIVEFIX_TEST_TRUST_HELPERS_H
#define LIVEFIX_TEST_TRUST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/tuf.h"

/* Signs a JSON body (any formatting) with n keys; returns the envelope. */
static inline char *sign_doc(const char *body, const struct lf_privkey *const *keys, size_t n)
{
	struct lf_buf out = LF_BUF_INIT(1 << 22);
	struct lf_jv *v;

	assert_int_equal(lf_json_parse(body, strlen(body), NULL, &v), 0);
	assert_int_equal(lf_signed_sign(v, keys, n, &out), 0);
	lf_jv_free(v);
	return lf_buf_detach(&out, NULL);
}

static inline char *sign1(const char *body, const struct lf_privkey *k)
{
	const struct lf_privkey *keys[] = { k };

	return sign_doc(body, keys, 1);
}

static inline void pub_hex(const struct lf_privkey *k, char out[65])
{
	lf_hex(k->pub.pk, 32, out);
}

/* A root body: one key per role (root, targets, snapshot, timestamp). */
static inline char *root_body(int64_t version, const char *expires, const struct lf_privkey *k[4],
			      int threshold_root)
{
	static const char *const roles[] = { "root", "targets", "snapshot", "timestamp" };
	struct lf_buf b = LF_BUF_INIT(1 << 16);
	char hex[65];

	assert_int_equal(lf_buf_printf(&b, "{\"_type\":\"root\",\"spec_version\":\"1.0\","
				       "\"consistent_snapshot\":false,\"version\":%lld,"
				       "\"expires\":\"%s\",\"keys\":{", (long long)version,
				       expires), 0);
	for (int i = 0; i < 4; i++) {
		bool dup = false;

		for (int j = 0; j < i; j++)
			dup |= k[j] == k[i];
		if (dup)
			continue;
		pub_hex(k[i], hex);
		lf_buf_printf(&b, "%s\"%s\":{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\","
			      "\"keyval\":{\"public\":\"%s\"}}", i ? "," : "", k[i]->pub.keyid, hex);
	}
	lf_buf_puts(&b, "},\"roles\":{");
	for (int i = 0; i < 4; i++)
		lf_buf_printf(&b, "%s\"%s\":{\"keyids\":[\"%s\"],\"threshold\":%d}", i ? "," : "",
			      roles[i], k[i]->pub.keyid, i == 0 ? threshold_root : 1);
	lf_buf_puts(&b, "}}");
	return lf_buf_detach(&b, NULL);
}

#define FAR_FUTURE "2099-01-01T00:00:00Z"
#define PAST "2001-01-01T00:00:00Z"

#endif
