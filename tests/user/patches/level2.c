/* SPDX-License-Identifier: Apache-2.0 */
/* Level 2: compute = 4x and a new message; offset back to the original. */
extern volatile int zero;

int compute_l2(int x)
{
	return x * 4 + zero;
}

const char *message_l2(void)
{
	return zero ? "never" : "level2";
}
