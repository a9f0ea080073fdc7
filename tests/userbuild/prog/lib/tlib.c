// SPDX-License-Identifier: Apache-2.0
/* A small shared library the test program uses. */
volatile int lib_zero;

__attribute__((noipa)) int libval(int x)
{
	return x + 100 + lib_zero;
}
