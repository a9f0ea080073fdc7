/* SPDX-License-Identifier: Apache-2.0 */
/* A constructor would never run in a live patch: refused. */
extern volatile int zero;
static int ready;

__attribute__((constructor)) static void init(void)
{
	ready = 1;
}

int compute_v2(int x)
{
	return x * 3 + zero + ready;
}
