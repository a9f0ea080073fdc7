/* SPDX-License-Identifier: Apache-2.0 */
/* The second file: another static helper, and a symbol with two versions. */
__attribute__((noinline, used)) static int helper(int x)
{
	return x + 5;
}

int b_entry(int x)
{
	return helper(x) * 2;
}

int old_api(int x)
{
	return x;
}

int new_api(int x)
{
	return x + 1;
}

__asm__(".symver old_api,api@V1");
__asm__(".symver new_api,api@@V2");
