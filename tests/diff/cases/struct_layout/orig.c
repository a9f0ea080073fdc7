/* SPDX-License-Identifier: Apache-2.0 */
/* The fix adds a member to a global struct: the running program's object is too small. */
struct conf {
	int a;
	int b;
};

struct conf config = { 1, 2 };

int get_a(void)
{
	return config.a;
}
