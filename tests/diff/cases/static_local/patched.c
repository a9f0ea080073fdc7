/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tick()'s static counter must stay the running program's counter. The fix
 * also adds tack() with its own static counter, which renumbers gcc's
 * counter.N names: tick's counter.1 becomes counter.2, and tack's new
 * counter takes the name counter.0 that tock's counter had.
 */
int tick(void)
{
	static int counter;

	counter += 2;
	return counter;
}

int tock(void)
{
	static int counter = 7;

	return counter--;
}

int tack(void)
{
	static int counter;

	return counter++ * 2;
}
