/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A kernel-style static key defined in this object, with its __jump_table
 * entry. The fix adds a second key, which the patch module defines and
 * registers itself, and changes the first one's initial state, which the
 * running kernel registered at boot: that is refused.
 */
struct static_key {
	int enabled;
	void *entries;
};

struct jump_entry {
	const void *code;
	const void *target;
	const struct static_key *key;
};

struct static_key debug_key = { .enabled = 1 };
struct static_key trace_key;

int feature(int v)
{
	if (trace_key.enabled)
		v++;
	return debug_key.enabled ? v * 2 : v;
}

__attribute__((section("__jump_table"), used, aligned(8)))
static const struct jump_entry entry_debug = { feature, feature, &debug_key };
__attribute__((section("__jump_table"), used, aligned(8)))
static const struct jump_entry entry_trace = { feature, feature, &trace_key };
