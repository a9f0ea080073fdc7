/* SPDX-License-Identifier: Apache-2.0 */
/* One of two files of a small library with same-named statics (test_elfimg). */
__attribute__((noinline, used)) static int helper(int x)
{
	return x * 3;
}

int a_entry(int x)
{
	return helper(x) + 1;
}
