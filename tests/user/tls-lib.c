/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A shared library with thread-local variables, used by tls-target.c:
 * tls_lib is exported (the program reads it with initial-exec code, which
 * gives the process a TPOFF64 slot for it), tls_hidden is static (this
 * library's own code reaches it with local-dynamic code: a DTPMOD64 slot).
 */
__thread int tls_lib;
static __thread int tls_hidden;
volatile int tlsl_zero;

void tlsl_set(int v)
{
	tls_lib = v;
	tls_hidden = 10 * v;
}

__attribute__((noipa)) int lprobe(void)
{
	return tls_lib + tls_hidden + tlsl_zero;
}
