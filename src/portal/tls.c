/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A self-signed certificate for a portal that has none yet: ECDSA P-256,
 * valid ten years, with the host name, localhost and 127.0.0.1 as subject
 * alternative names. Devices pin it (or its CA) at enrolment; a real site
 * passes its own with --tls-cert/--tls-key.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "livefix/file.h"

#include "tls.h"

#define TEN_YEARS (10 * 365 * 24 * 3600L)

static int gt(int rc)
{
	return rc < 0 ? -EIO : 0;
}

static int fill_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn)
{
	unsigned char serial[16];
	unsigned char lo[4] = { 127, 0, 0, 1 };
	time_t now = time(NULL);
	int r = 0;

	if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) < 0)
		return -EIO;
	serial[0] &= 0x7f; /* a positive serial number */
	r |= gt(gnutls_x509_crt_set_version(crt, 3));
	r |= gt(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	r |= gt(gnutls_x509_crt_set_activation_time(crt, now - 3600));
	r |= gt(gnutls_x509_crt_set_expiration_time(crt, now + TEN_YEARS));
	r |= gt(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)));
	r |= gt(gnutls_x509_crt_set_key(crt, key));
	r |= gt(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, cn, strlen(cn),
						     GNUTLS_FSAN_APPEND));
	r |= gt(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						     GNUTLS_FSAN_APPEND));
	r |= gt(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, lo, sizeof(lo),
						     GNUTLS_FSAN_APPEND));
	r |= gt(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
	r |= gt(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
	r |= gt(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
	r |= gt(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0));
	return r ? -EIO : 0;
}

int lf_tls_self_signed(const char *cert_path, const char *key_path)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t cert_pem = { 0 }, key_pem = { 0 };
	char host[256] = "livefix-portal";
	int r = -EIO;

	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "livefix-portal");
	if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0)
		goto out;
	if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
		goto out;
	r = fill_cert(crt, key, host);
	if (r < 0)
		goto out;
	r = -EIO;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem) < 0 ||
	    gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem) < 0)
		goto out;
	r = lf_write_file_atomic(key_path, key_pem.data, key_pem.size, 0600);
	if (r >= 0)
		r = lf_write_file_atomic(cert_path, cert_pem.data, cert_pem.size, 0644);
out:
	if (key_pem.data) {
		explicit_bzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(cert_pem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return r;
}
