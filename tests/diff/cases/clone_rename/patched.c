/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every caller passes out == NULL, so gcc specialises compute() as
 * compute.constprop.0. The fix makes user_two() use the out value: the
 * specialisation goes away and the function is plain compute again (or
 * another clone, depending on the compiler). It must be recognised as the
 * same, changed function, not as one removed and one new.
 */
static __attribute__((noinline)) int compute(int a, int b, int *out)
{
	int r = 0;

	for (int i = 0; i < b; i++)
		r = r * 3 + a;
	if (out)
		*out = r;
	return r;
}

int user_one(int x)
{
	return compute(x, 7, 0);
}

int user_two(int x)
{
	int o;

	compute(x, 9, &o);
	return o * 2;
}
