/* SPDX-License-Identifier: Apache-2.0 */
/*
 * greet() gets a new string literal in front of the ones it had; bye()
 * uses a literal stored after them (gcc puts a shared literal in the
 * section of its first user), so its offset shifts although bye() does not
 * change. shout() changes only the content of its literal.
 */
int printf(const char *fmt, ...);

void note(const char *msg);

void greet(const char *n)
{
	printf("hello %s\n", n);
	note("shared");
}

void bye(const char *n)
{
	printf("goodbye %s\n", n);
	note("shared");
}

void shout(void)
{
	note("quiet");
}
