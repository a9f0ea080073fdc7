/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gcc moves the unlikely error path of parse() out of line into
 * parse.cold. The fix changes only that path: parse.cold changes, and
 * parse() itself must be patched (it is the entry point ftrace redirects),
 * carrying its cold part along.
 */
void report_error(const char *what, int v) __attribute__((cold));
int lookup(int v);

int parse(int v)
{
	if (__builtin_expect(v < 0, 0)) {
		report_error("negative", v);
		report_error("value", lookup(v));
		return -1 - lookup(v * 5);
	}
	return v * 2 + lookup(v);
}

int unrelated(int v)
{
	return lookup(v + 1);
}
