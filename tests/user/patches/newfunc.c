/* SPDX-License-Identifier: Apache-2.0 */
/* The replacement calls a function that is new in the patch. */
extern volatile int zero;

__attribute__((noinline)) static int square(int x)
{
	return x * x + zero;
}

int compute_v2(int x)
{
	return square(x) + 1;	/* 50 */
}
