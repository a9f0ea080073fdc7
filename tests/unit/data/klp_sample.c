// SPDX-License-Identifier: Apache-2.0
/* A patched function as a livepatch module holds it: calls and data of the
 * running kernel, one exported (exported_fn), two not (hidden_*). */
extern int hidden_helper(int x);
extern int exported_fn(int x);
extern int hidden_var;

int livefix_patched(int x)
{
	return hidden_helper(x) + exported_fn(hidden_var) + hidden_helper(x + 1);
}
