/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_HEX_H
#define LIVEFIX_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of n bytes; out holds 2n+1 bytes. */
void lf_hex(const uint8_t *in, size_t n, char *out);

/* Exactly 2n lower-case hex digits into n bytes, else -EBADMSG. */
int lf_unhex(const char *hex, uint8_t *out, size_t n);

#endif
