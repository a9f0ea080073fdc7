/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scale() is inlined into f1() and f2(): its fix shows up only as changed
 * bytes in those two, which must both be in the patch. f3() does not use it.
 */
static inline int scale(int x)
{
	return x * 3;
}

int f1(int a) { return scale(a) + 1; }
int f2(int a, int b) { return scale(a) - scale(b); }
int f3(int a) { return a + 11; }
