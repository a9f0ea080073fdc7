// SPDX-License-Identifier: Apache-2.0
/* The functions the userbuild tests patch; main.c prints their results. */
#include "calc.h"

volatile int zero;
struct conf config = { 1, 2 };

__attribute__((noipa)) int compute(int x)
{
	return x * 2 + zero;
}

__attribute__((noipa)) const char *message(void)
{
	return zero ? "never" : "original";
}

/* A static local: a patch must keep using the running process's counter. */
__attribute__((noipa)) int counter_step(void)
{
	static int count;

	count += 1;
	return count;
}

__attribute__((noipa)) int apply_scale(int x)
{
	return scale(x) * 10 + zero;
}

__attribute__((noipa)) int conf_sum(void)
{
	return config.a + config.b + zero;
}
