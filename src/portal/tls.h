/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_TLS_H
#define LF_PORTAL_TLS_H

/* Writes a new self-signed server certificate and its key (mode 0600). */
int lf_tls_self_signed(const char *cert_path, const char *key_path);

#endif
