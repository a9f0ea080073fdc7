/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed envelopes: {"signatures":[...],"signed":{...}}. Signatures cover the
 * canonical JSON of "signed", so the file itself may be formatted freely and
 * the verifier never depends on how it was written.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "livefix/trust.h"

#define SIGNED_CANON_MAX (1u << 20)

void lf_signed_release(struct lf_signed *s)
{
	lf_jv_free(s->doc);
	s->doc = NULL;
	s->body = NULL;
	lf_buf_release(&s->canon);
}

int lf_signed_parse(const char *data, size_t len, struct lf_signed *ret, struct lf_why *why)
{
	static const char *const keys[] = { "signatures", "signed", NULL };
	struct lf_signed s = { .canon = LF_BUF_INIT(SIGNED_CANON_MAX) };
	const struct lf_jv *sigs;
	int r;

	r = lf_json_parse(data, len, NULL, &s.doc);
	if (r < 0) {
		lf_why_set(why, "not valid JSON within limits");
		return r;
	}
	r = -EBADMSG;
	if (lf_jv_check_keys(s.doc, keys) < 0 || lf_jv_get_obj(s.doc, "signed", &s.body) < 0) {
		lf_why_set(why, "not a signed document");
		goto err;
	}
	r = lf_jv_get_arr(s.doc, "signatures", LF_MAX_SIGNATURES, &sigs);
	if (r < 0) {
		lf_why_set(why, "missing or too many signatures");
		goto err;
	}
	for (size_t i = 0; i < sigs->len; i++) {
		static const char *const sig_keys[] = { "keyid", "sig", NULL };
		const struct lf_jv *sg = &sigs->u.kids[i];
		const char *str;

		if (lf_jv_check_keys(sg, sig_keys) < 0 ||
		    lf_jv_get_str(sg, "keyid", LF_KEYID_HEX, &str) < 0 ||
		    lf_jv_get_str(sg, "sig", 2 * crypto_sign_BYTES, &str) < 0) {
			r = -EBADMSG;
			lf_why_set(why, "malformed signature entry");
			goto err;
		}
	}
	r = lf_json_canonical(s.body, &s.canon);
	if (r < 0)
		goto err;
	*ret = s;
	return 0;
err:
	lf_signed_release(&s);
	return r;
}

static bool role_has(const struct lf_role_keys *role, const char *keyid)
{
	for (size_t i = 0; i < role->nkeys; i++)
		if (strcmp(role->keyids[i], keyid) == 0)
			return true;
	return false;
}

int lf_signed_verify(const struct lf_signed *s, const struct lf_keyring *ring,
		     const struct lf_role_keys *role, const char *what, struct lf_why *why)
{
	const struct lf_jv *sigs = lf_jv_get(s->doc, "signatures");
	char counted[LF_MAX_SIGNATURES][LF_KEYID_HEX + 1];
	size_t ncounted = 0, bad = 0, foreign = 0;

	if (sodium_init() < 0)
		return -EIO;
	if (role->threshold < 1) {
		lf_why_set(why, "%s: role threshold below 1", what);
		return -EKEYREJECTED;
	}
	for (size_t i = 0; sigs && i < sigs->len; i++) {
		const char *keyid = lf_jv_get(&sigs->u.kids[i], "keyid")->u.s;
		const char *sighex = lf_jv_get(&sigs->u.kids[i], "sig")->u.s;
		const struct lf_pubkey *k = lf_keyring_find(ring, keyid);
		uint8_t sig[crypto_sign_BYTES];
		bool dup = false;

		if (!k || !role_has(role, keyid)) {
			foreign++;
			continue;
		}
		for (size_t j = 0; j < ncounted; j++)
			dup |= strcmp(counted[j], keyid) == 0;
		if (dup)
			continue; /* one key counts once, however often it signs */
		if (lf_unhex(sighex, sig, sizeof(sig)) < 0 ||
		    crypto_sign_verify_detached(sig, (const uint8_t *)s->canon.data,
						s->canon.len, k->pk) != 0) {
			bad++;
			continue;
		}
		strcpy(counted[ncounted++], keyid);
	}
	if ((int64_t)ncounted >= role->threshold)
		return 0;
	if (bad > 0) {
		lf_why_set(why, "%s: bad signature (content does not match what the key signed)",
			   what);
		return -EBADMSG;
	}
	if (!sigs || sigs->len == 0)
		lf_why_set(why, "%s: unsigned", what);
	else
		lf_why_set(why, "%s: %zu valid signature(s) of the trusted keys, threshold is %lld%s",
			   what, ncounted, (long long)role->threshold,
			   foreign ? " (signed by keys that do not hold this role)" : "");
	return -EKEYREJECTED;
}

int lf_signed_sign(const struct lf_jv *body, const struct lf_privkey *const *keys,
		   size_t nkeys, struct lf_buf *out)
{
	struct lf_buf canon = LF_BUF_INIT(SIGNED_CANON_MAX);
	int r;

	if (sodium_init() < 0)
		return -EIO;
	r = lf_json_canonical(body, &canon);
	if (r == 0)
		r = lf_buf_puts(out, "{\"signatures\":[");
	for (size_t i = 0; r == 0 && i < nkeys; i++) {
		uint8_t sig[crypto_sign_BYTES];
		char hex[2 * crypto_sign_BYTES + 1];

		crypto_sign_detached(sig, NULL, (const uint8_t *)canon.data, canon.len,
				     keys[i]->sk);
		lf_hex(sig, sizeof(sig), hex);
		r = lf_buf_printf(out, "%s{\"keyid\":\"%s\",\"sig\":\"%s\"}", i ? "," : "",
				  keys[i]->pub.keyid, hex);
	}
	if (r == 0)
		r = lf_buf_puts(out, "],\"signed\":");
	if (r == 0)
		r = lf_buf_append(out, canon.data, canon.len);
	if (r == 0)
		r = lf_buf_puts(out, "}\n");
	lf_buf_release(&canon);
	return r;
}
