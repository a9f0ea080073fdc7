// SPDX-License-Identifier: Apache-2.0
/* The other half: a second static "show", as two kernel files have. */
static __attribute__((noinline, used)) int show(int x)
{
	return x * 2;
}

int (*show_b)(int) = show;
