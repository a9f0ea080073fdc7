/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tick()'s static counter must stay the running program's counter. The fix
 * also adds tack() with its own static counter, which renumbers
 * gcc's counter.N names.
 */
int tick(void)
{
	static int counter;

	return ++counter;
}

int tock(void)
{
	static int counter = 7;

	return counter--;
}
