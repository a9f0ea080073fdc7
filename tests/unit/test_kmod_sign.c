/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module signatures (src/builder/kmod_sign.c): the trailer is found again,
 * the PKCS#7 verifies over exactly the original bytes with the signer's
 * certificate (checked with libcrypto's own CMS verifier), a changed body
 * does not, a signed module is not signed twice, a wrong key is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "livefix/file.h"
#include "kmod_sign.h"

static char dir[] = "/tmp/lf-kmod-sign.XXXXXX";
static char key[256], cert[256], key2[256], cert2[256];

static int make_key(const char *k, const char *c)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "openssl req -new -nodes -utf8 -sha256 -days 3650 -batch -x509 "
		 "-subj /CN=livefix-unit -newkey rsa:2048 -keyout %s -out %s >/dev/null 2>&1", k, c);
	return system(cmd);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key2, sizeof(key2), "%s/k2.pem", dir);
	snprintf(cert2, sizeof(cert2), "%s/c2.pem", dir);
	return make_key(key, cert) || make_key(key2, cert2) ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

/* libcrypto's verdict on a detached signature over body with cert as the trust anchor. */
static bool cms_ok(const uint8_t *sig, size_t sig_len, const uint8_t *body, size_t len)
{
	BIO *s = BIO_new_mem_buf(sig, (int)sig_len), *c = BIO_new_mem_buf(body, (int)len);
	BIO *cb = BIO_new_file(cert, "r");
	X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	CMS_ContentInfo *cms = d2i_CMS_bio(s, NULL);
	bool ok;

	X509_STORE_add_cert(store, x);
	sk_X509_push(certs, x);
	ok = cms && CMS_verify(cms, certs, store, c, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
	CMS_ContentInfo_free(cms);
	sk_X509_free(certs);
	X509_STORE_free(store);
	X509_free(x);
	BIO_free(cb);
	BIO_free(s);
	BIO_free(c);
	return ok;
}

static void test_sign_verify(void **state)
{
	char mod[300], *data;
	uint8_t body[4096];
	const uint8_t *sig;
	size_t len, blen, slen;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 31 + 7);
	snprintf(mod, sizeof(mod), "%s/m.ko", dir);
	assert_int_equal(lf_write_file_atomic(mod, body, sizeof(body), 0644), 0);
	assert_int_equal(kmod_sign_file(mod, key, cert), 0);
	assert_int_equal(lf_read_file(mod, 1u << 20, &data, &len), 0);
	assert_true(len > sizeof(body) + 40);
	assert_memory_equal(data + len - 28, KMOD_SIG_MAGIC, 28);
	assert_int_equal(data[len - 28 - 12 + 2], 2);   /* id_type PKCS#7 */
	assert_int_equal(kmod_sig_split((const uint8_t *)data, len, &blen, &sig, &slen), 0);
	assert_int_equal(blen, sizeof(body));
	assert_memory_equal(data, body, sizeof(body));
	assert_true(cms_ok(sig, slen, body, sizeof(body)));
	body[100] ^= 1;
	assert_false(cms_ok(sig, slen, body, sizeof(body)));
	free(data);
	/* signed once only */
	assert_int_equal(kmod_sign_file(mod, key, cert), -EEXIST);
}

static void test_refusals(void **state)
{
	char mod[300];
	const uint8_t *sig;
	size_t blen, slen;

	(void)state;
	snprintf(mod, sizeof(mod), "%s/m2.ko", dir);
	assert_int_equal(lf_write_file_atomic(mod, "module", 6, 0644), 0);
	/* a key that does not belong to the certificate */
	assert_int_equal(kmod_sign_file(mod, key2, cert), -EKEYREJECTED);
	/* a certificate given as the key */
	assert_int_equal(kmod_sign_file(mod, cert, cert), -EKEYREJECTED);
	assert_int_equal(kmod_sign_file(mod, "/nonexistent.pem", cert), -ENOENT);
	assert_int_equal(kmod_sig_split((const uint8_t *)"module", 6, &blen, &sig, &slen), -ENODATA);
	assert_int_equal(kmod_sig_split((const uint8_t *)"x" KMOD_SIG_MAGIC, 29, &blen, &sig, &slen),
			 -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
