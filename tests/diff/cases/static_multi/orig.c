/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A static function called from several places changes: only it is in the
 * patch, the callers keep calling it. legacy() is dropped by the fix.
 */
static __attribute__((noinline, noclone)) int check(int v)
{
	return v > 0 && v < 100;
}

int path_a(int v) { return check(v) ? v : -1; }
int path_b(int v) { return check(v + 1) ? 1 : 0; }
int path_c(int v) { return check(v * 2) + 7; }
int legacy(int v) { return v - 42; }
