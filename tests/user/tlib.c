/* SPDX-License-Identifier: Apache-2.0 */
/* A shared library used by the test target; libfn is patched in place. */
volatile int tlib_zero;

__attribute__((noipa)) int libfn(int x)
{
	return x + 100 + tlib_zero;
}
