// SPDX-License-Identifier: Apache-2.0
/*
 * Module signing for kernels that enforce module signatures
 * (CONFIG_MODULE_SIG_FORCE or module.sig_enforce=1), with libcrypto.
 *
 * A signed module is the module's bytes followed by
 *
 *   PKCS#7 SignedData (DER), detached: the content is everything before it
 *   struct module_signature: algo, hash, id_type, signer_len, key_id_len
 *                            (u8 each), 3 bytes of padding, sig_len (be32);
 *                            only id_type (2, PKCS#7) and sig_len are used
 *   "~Module signature appended~\n"
 *
 * The kernel (kernel/module/signing.c) strips the magic, reads the
 * structure, and hands the PKCS#7 blob and the content to its PKCS#7
 * verifier, which finds the signer's key in its trusted keyrings by the
 * certificate's issuer and serial number. No certificate is embedded and
 * no signed attributes are added, so the signature is over the digest of
 * the content itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "livefix/file.h"

#include "kmod_sign.h"

#define MAX_MODULE (256u << 20)
#define MAX_PEM (1u << 20)
#define PKEY_ID_PKCS7 2

struct module_signature_le {
	uint8_t algo, hash, id_type, signer_len, key_id_len, pad[3];
	uint8_t sig_len_be[4];
};

int kmod_sig_split(const uint8_t *data, size_t len, size_t *ret_body_len,
		   const uint8_t **ret_sig, size_t *ret_sig_len)
{
	const size_t mlen = sizeof(KMOD_SIG_MAGIC) - 1;
	struct module_signature_le ms;
	size_t sig_len;

	if (len < mlen || memcmp(data + len - mlen, KMOD_SIG_MAGIC, mlen))
		return -ENODATA;
	len -= mlen;
	if (len < sizeof(ms))
		return -EBADMSG;
	memcpy(&ms, data + len - sizeof(ms), sizeof(ms));
	len -= sizeof(ms);
	sig_len = (size_t)ms.sig_len_be[0] << 24 | (size_t)ms.sig_len_be[1] << 16 |
		  (size_t)ms.sig_len_be[2] << 8 | ms.sig_len_be[3];
	if (ms.id_type != PKEY_ID_PKCS7 || !sig_len || sig_len > len)
		return -EBADMSG;
	*ret_body_len = len - sig_len;
	*ret_sig = data + len - sig_len;
	*ret_sig_len = sig_len;
	return 0;
}

static int read_pem(const char *path, EVP_PKEY **key, X509 **cert)
{
	char *pem;
	size_t len;
	BIO *b;
	int r = lf_read_file(path, MAX_PEM, &pem, &len);

	if (r < 0)
		return r;
	b = BIO_new_mem_buf(pem, (int)len);
	if (b && key)
		*key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (b && cert)
		*cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	explicit_bzero(pem, len);
	free(pem);
	return (key && !*key) || (cert && !*cert) ? -EKEYREJECTED : 0;
}

/* The detached PKCS#7 signature of data, DER, in *ret (OPENSSL_malloc'd). */
static int sign_der(const uint8_t *data, size_t len, EVP_PKEY *key, X509 *cert,
		    unsigned char **ret, int *ret_len)
{
	const unsigned flags = CMS_NOCERTS | CMS_BINARY | CMS_DETACHED | CMS_NOSMIMECAP |
			       CMS_NOATTR;
	CMS_ContentInfo *cms;
	BIO *in;
	int r = -EKEYREJECTED;

	in = BIO_new_mem_buf(data, (int)len);
	cms = in ? CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL) : NULL;
	if (!cms)
		goto out;
	if (!X509_check_private_key(cert, key) ||
	    !CMS_add1_signer(cms, cert, key, EVP_sha256(), flags) ||
	    !CMS_final(cms, in, NULL, flags))
		goto out;
	*ret = NULL;
	*ret_len = i2d_CMS_ContentInfo(cms, ret);
	r = *ret_len > 0 ? 0 : -ENOMEM;
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return r;
}

int kmod_sign_file(const char *path, const char *key_pem, const char *cert_pem)
{
	struct module_signature_le ms = { .id_type = PKEY_ID_PKCS7 };
	const size_t mlen = sizeof(KMOD_SIG_MAGIC) - 1;
	unsigned char *der = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char *data = NULL, *out = NULL;
	size_t len, olen;
	int r, dlen = 0;

	r = lf_read_file(path, MAX_MODULE, &data, &len);
	if (r < 0)
		return r;
	if (len >= mlen && !memcmp(data + len - mlen, KMOD_SIG_MAGIC, mlen)) {
		r = -EEXIST;
		goto out;
	}
	if ((r = read_pem(key_pem, &key, NULL)) < 0 || (r = read_pem(cert_pem, NULL, &cert)) < 0 ||
	    (r = sign_der((const uint8_t *)data, len, key, cert, &der, &dlen)) < 0)
		goto out;
	ms.sig_len_be[0] = (uint8_t)(dlen >> 24);
	ms.sig_len_be[1] = (uint8_t)(dlen >> 16);
	ms.sig_len_be[2] = (uint8_t)(dlen >> 8);
	ms.sig_len_be[3] = (uint8_t)dlen;
	olen = len + (size_t)dlen + sizeof(ms) + mlen;
	out = malloc(olen);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(out, data, len);
	memcpy(out + len, der, (size_t)dlen);
	memcpy(out + len + (size_t)dlen, &ms, sizeof(ms));
	memcpy(out + len + (size_t)dlen + sizeof(ms), KMOD_SIG_MAGIC, mlen);
	r = lf_write_file_atomic(path, out, olen, 0644);
out:
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	X509_free(cert);
	free(out);
	free(data);
	return r;
}
