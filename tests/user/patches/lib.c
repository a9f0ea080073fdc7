/* SPDX-License-Identifier: Apache-2.0 */
/* A function of a shared library used by the program. */
extern volatile int tlib_zero;

int libfn_v2(int x)
{
	return x + 200 + tlib_zero;
}
