/* SPDX-License-Identifier: Apache-2.0 */
/* The fix changes boot-time (__init) code, which has already run and been freed. */
__attribute__((section(".init.text"), noinline)) int setup(int v)
{
	return v * 2;
}

int runtime(int v)
{
	return v + 1;
}
