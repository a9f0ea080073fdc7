/* SPDX-License-Identifier: Apache-2.0 */
/* Rebuilding the same source must report nothing. */
int printf(const char *fmt, ...);

static int calls;

static __attribute__((noinline)) int square(int x)
{
	calls++;
	return x * x;
}

int sum_squares(int a, int b)
{
	return square(a) + square(b);
}

void report(const char *who)
{
	printf("%s called square %d times\n", who, calls);
}
