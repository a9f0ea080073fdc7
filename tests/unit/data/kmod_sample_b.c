/* SPDX-License-Identifier: Apache-2.0 */
/* Second file of the "module": same-named statics as the first. */
#define __init __attribute__((section(".init.text")))

static __attribute__((noinline)) int helper(int x)
{
	return x * 9 - 1;
}

static __init __attribute__((noinline)) int both(int x)
{
	return x - 5;
}

int b_entry(int x)
{
	return helper(x);
}

int __init b_init(int x)
{
	return both(x);
}
