/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ed25519 keys (libsodium). A keyid is the sha256 of the canonical JSON of
 * the public key object, as in TUF, so any implementation derives the same
 * id from the same key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/trust.h"

#define KEY_FILE_MAX 4096

int lf_key_pub_json(const struct lf_pubkey *k, struct lf_buf *out)
{
	char hex[65];

	lf_hex(k->pk, sizeof(k->pk), hex);
	/* Already canonical: keys sorted, no whitespace, no escapes needed. */
	return lf_buf_printf(out,
		"{\"keytype\":\"ed25519\",\"keyval\":{\"public\":\"%s\"},\"scheme\":\"ed25519\"}",
		hex);
}

static int set_keyid(struct lf_pubkey *k)
{
	struct lf_buf b = LF_BUF_INIT(512);
	int r = lf_key_pub_json(k, &b);

	if (r == 0)
		lf_sha256_hex(b.data, b.len, k->keyid);
	lf_buf_release(&b);
	return r;
}

int lf_key_from_json(const struct lf_jv *v, struct lf_pubkey *ret)
{
	static const char *const keys[] = { "keytype", "keyval", "scheme", NULL };
	static const char *const val_keys[] = { "public", NULL };
	const struct lf_jv *val;
	const char *type, *scheme, *pub;
	struct lf_pubkey k;

	if (lf_jv_check_keys(v, keys) < 0 ||
	    lf_jv_get_str(v, "keytype", 16, &type) < 0 ||
	    lf_jv_get_str(v, "scheme", 16, &scheme) < 0 ||
	    lf_jv_get_obj(v, "keyval", &val) < 0 ||
	    lf_jv_check_keys(val, val_keys) < 0 ||
	    lf_jv_get_str(val, "public", 64, &pub) < 0)
		return -EBADMSG;
	if (strcmp(type, "ed25519") != 0 || strcmp(scheme, "ed25519") != 0)
		return -EBADMSG;
	if (lf_unhex(pub, k.pk, sizeof(k.pk)) < 0)
		return -EBADMSG;
	if (set_keyid(&k) < 0)
		return -ENOMEM;
	*ret = k;
	return 0;
}

int lf_key_generate(const char *role, struct lf_privkey *ret)
{
	if (sodium_init() < 0)
		return -EIO;
	if (strlen(role) >= sizeof(ret->role))
		return -EINVAL;
	crypto_sign_keypair(ret->pub.pk, ret->sk);
	strcpy(ret->role, role);
	return set_keyid(&ret->pub);
}

void lf_privkey_wipe(struct lf_privkey *k)
{
	sodium_memzero(k, sizeof(*k));
}

int lf_key_save(const char *path, const struct lf_privkey *k)
{
	struct lf_buf b = LF_BUF_INIT(KEY_FILE_MAX);
	char sk[129], pk[65], *pub_path = NULL;
	int r;

	lf_hex(k->sk, sizeof(k->sk), sk);
	lf_hex(k->pub.pk, sizeof(k->pub.pk), pk);
	r = lf_buf_printf(&b, "{\"keytype\":\"ed25519\",\"private\":\"%s\",\"public\":\"%s\","
			  "\"role\":\"%s\"}\n", sk, pk, k->role);
	sodium_memzero(sk, sizeof(sk));
	if (r == 0)
		r = lf_write_file_atomic(path, b.data, b.len, 0600);
	sodium_memzero(b.data, b.len);
	lf_buf_reset(&b);
	if (r < 0)
		goto out;
	r = lf_key_pub_json(&k->pub, &b);
	if (r == 0)
		r = lf_buf_putc(&b, '\n');
	if (r == 0 && asprintf(&pub_path, "%s.pub", path) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = lf_write_file_atomic(pub_path, b.data, b.len, 0644);
out:
	free(pub_path);
	lf_buf_release(&b);
	return r;
}

static int load_json(const char *path, struct lf_jv **ret)
{
	char *data;
	size_t len;
	int r = lf_read_file(path, KEY_FILE_MAX, &data, &len);

	if (r < 0)
		return r;
	r = lf_json_parse(data, len, NULL, ret);
	sodium_memzero(data, len);
	free(data);
	return r;
}

int lf_key_load_private(const char *path, struct lf_privkey *ret)
{
	static const char *const keys[] = { "keytype", "private", "public", "role", NULL };
	struct lf_privkey k = { 0 };
	const char *type, *sk, *pk, *role;
	struct lf_jv *v;
	int r = load_json(path, &v);

	if (r < 0)
		return r;
	r = -EBADMSG;
	if (lf_jv_check_keys(v, keys) < 0 || lf_jv_get_str(v, "keytype", 16, &type) < 0 ||
	    lf_jv_get_str(v, "private", 128, &sk) < 0 ||
	    lf_jv_get_str(v, "public", 64, &pk) < 0 ||
	    lf_jv_get_str(v, "role", sizeof(k.role) - 1, &role) < 0 ||
	    strcmp(type, "ed25519") != 0 || lf_unhex(sk, k.sk, sizeof(k.sk)) < 0 ||
	    lf_unhex(pk, k.pub.pk, sizeof(k.pub.pk)) < 0)
		goto out;
	/* The public half is stored twice (libsodium's sk ends with it). */
	if (memcmp(k.sk + 32, k.pub.pk, 32) != 0)
		goto out;
	strcpy(k.role, role);
	r = set_keyid(&k.pub);
	if (r == 0)
		*ret = k;
out:
	lf_privkey_wipe(&k);
	lf_jv_free(v);
	return r;
}

int lf_key_load_public(const char *path, struct lf_pubkey *ret)
{
	const struct lf_jv *priv;
	struct lf_jv *v;
	int r = load_json(path, &v);

	if (r < 0)
		return r;
	priv = lf_jv_get(v, "private");
	if (priv) {
		struct lf_privkey k;

		lf_jv_free(v);
		r = lf_key_load_private(path, &k);
		if (r == 0)
			*ret = k.pub;
		lf_privkey_wipe(&k);
		return r;
	}
	r = lf_key_from_json(v, ret);
	lf_jv_free(v);
	return r;
}

const struct lf_pubkey *lf_keyring_find(const struct lf_keyring *ring, const char *keyid)
{
	for (size_t i = 0; i < ring->n; i++)
		if (strcmp(ring->keys[i].keyid, keyid) == 0)
			return &ring->keys[i];
	return NULL;
}
