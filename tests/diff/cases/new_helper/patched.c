/* SPDX-License-Identifier: Apache-2.0 */
/* The fix moves a check into a new helper. */
static __attribute__((noinline, noclone)) int valid_len(int len, int max)
{
	return len >= 0 && len <= max;
}

int work(int len, int max)
{
	if (!valid_len(len, max))
		return -1;
	return len * 2;
}
