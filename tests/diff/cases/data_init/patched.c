/* SPDX-License-Identifier: Apache-2.0 */
/* The fix changes the initial value of existing data: the program already runs with the old one. */
int threshold = 20;

int over(int v)
{
	return v > threshold;
}
