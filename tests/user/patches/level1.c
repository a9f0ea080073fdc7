/* SPDX-License-Identifier: Apache-2.0 */
/* Level 1: compute = 3x and offset = x + 30. */
extern volatile int zero;
extern int offset_value;

int compute_l1(int x)
{
	return x * 3 + zero;
}

int offset_l1(int x)
{
	return x + offset_value * 10 + zero;
}
