/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_KMOD_SIGN_H
#define LIVEFIX_BUILDER_KMOD_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* The trailer the kernel looks for at the end of a signed module. */
#define KMOD_SIG_MAGIC "~Module signature appended~\n"

/*
 * Appends a module signature to the .ko at path, in place (atomically):
 * a detached PKCS#7 SignedData over the whole file (sha256, signer by
 * issuer and serial number, no certificates, no signed attributes), then
 * struct module_signature (id_type PKCS#7, big-endian signature length),
 * then the magic. key_pem: the private key; cert_pem: its X.509
 * certificate, which the kernel must trust. -EEXIST if already signed,
 * -EKEYREJECTED when the key or certificate cannot be used.
 */
int kmod_sign_file(const char *path, const char *key_pem, const char *cert_pem);

/*
 * Splits a signed module: *ret_body_len is the length of the signed
 * content, *ret_sig and *ret_sig_len the PKCS#7 DER. -ENODATA when unsigned,
 * -EBADMSG when the trailer is malformed.
 */
int kmod_sig_split(const uint8_t *data, size_t len, size_t *ret_body_len,
		   const uint8_t **ret_sig, size_t *ret_sig_len);

#endif
