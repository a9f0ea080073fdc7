/* SPDX-License-Identifier: Apache-2.0 */
/* First file of a "module" linked with ld -r (test_kmodule.c). */
#define __init __attribute__((section(".init.text")))

static __attribute__((noinline)) int helper(int x)
{
	return x * 7 + 1;
}

__attribute__((noinline)) int both(int x)
{
	return x + 5;
}

int a_entry(int x)
{
	return helper(x) + both(x);
}

static __init __attribute__((noinline)) int setup(int x)
{
	return x + 3;
}

int __init a_init(int x)
{
	return setup(x);
}
