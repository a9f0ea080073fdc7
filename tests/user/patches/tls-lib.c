/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads a library's exported thread-local variable and its static one.
 * -fPIC: global-dynamic for tls_lib, local-dynamic (TLSLD, DTPOFF32) for
 * the hidden tls_hidden; with -ftls-model=initial-exec: GOTTPOFF for both.
 */
extern __thread int tls_lib;
extern __thread int tls_hidden __attribute__((visibility("hidden")));
extern volatile int tlsl_zero;

int lprobe_v2(void)
{
	return tls_lib * 1000 + tls_hidden + tlsl_zero;
}
