/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads and writes the program's own thread-local variables. Built three
 * times: -fPIC (global-dynamic: TLSGD and __tls_get_addr), initial-exec
 * (GOTTPOFF) and local-exec (TPOFF32).
 */
extern __thread int tls_exe, tls_writes;
extern volatile int zero;

int probe_v2(void)
{
	tls_writes++;
	return tls_exe + 1000 + zero;
}
