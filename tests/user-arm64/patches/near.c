/* SPDX-License-Identifier: Apache-2.0 */
/* near_fn() now calls far_fn(), 256 MiB away: out of bl's reach, a stub. */
extern volatile int zero;
int far_fn(int x);

int near_fn_v2(int x)
{
	return far_fn(x) + 1 + zero;	/* 1002 */
}
