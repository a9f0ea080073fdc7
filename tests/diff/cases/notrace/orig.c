/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fast_path() is notrace: a kernel build gives it no __fentry__ call, so
 * ftrace cannot redirect it. traced() is an ordinary function.
 */
/* The kernel's notrace: no mcount/fentry call, no patchable entry. */
__attribute__((no_instrument_function, patchable_function_entry(0, 0), noinline)) int fast_path(int v)
{
	return v ^ 0x55;
}

int traced(int v)
{
	return fast_path(v) + 1;
}
