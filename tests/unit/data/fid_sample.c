// SPDX-License-Identifier: Apache-2.0
/* Functions shaped like kernel code (ftrace call, external calls, data refs) for test_fidelity. */
extern int ext_val;
extern int ext_fn(int x);

static __attribute__((noinline)) int helper(int x)
{
	return x * 3 + ext_val;
}

int sample_add(int a, int b);
int sample_add(int a, int b)
{
	return ext_fn(a) + helper(b);
}

int sample_mul(int a);
int sample_mul(int a)
{
	return a * 7 + 1;
}

/* A weak default that the "image" overrides with another definition. */
int sample_weak(int a);
__attribute__((weak)) int sample_weak(int a)
{
	return a - 5;
}
