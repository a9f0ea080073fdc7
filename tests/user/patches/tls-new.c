/* SPDX-License-Identifier: Apache-2.0 */
/* Defines a new thread-local variable: refused. */
__thread int tls_added;
extern __thread int tls_exe;

int probe_v2(void)
{
	return tls_exe + ++tls_added;
}
