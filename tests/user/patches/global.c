/* SPDX-License-Identifier: Apache-2.0 */
/* New global variables: initialised (.data) and zeroed (.bss). */
extern volatile int zero;
int patch_scale = 5;
static int patch_calls;

int compute_v2(int x)
{
	patch_calls++;
	return x * patch_scale + (patch_calls > 0 ? 0 : 1000) + zero;	/* 35 */
}
