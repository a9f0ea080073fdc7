/* SPDX-License-Identifier: Apache-2.0 */
/* References to globals defined elsewhere and in this file. */
extern int global_limit;
extern int external_check(int v);
int local_global = 5;

int guard(int v)
{
	if (v > global_limit)
		return external_check(v);
	return v + local_global;
}

int reader(void)
{
	return local_global + 1;
}
