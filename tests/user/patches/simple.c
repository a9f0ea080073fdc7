/* SPDX-License-Identifier: Apache-2.0 */
/* A simple function change: compute(x) = 3x instead of 2x. */
extern volatile int zero;

int compute_v2(int x)
{
	return x * 3 + zero;
}
