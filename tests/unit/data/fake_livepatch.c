/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Not a real module: a relocatable object with the .modinfo strings kbuild
 * emits, so the agent's module inspection can be tested without a kernel
 * tree. The real modules are tested in tests/kernel.
 */
#define MODINFO(tag, info) \
	static const char modinfo_##tag[] __attribute__((section(".modinfo"), used, aligned(1))) = \
		#tag "=" info

MODINFO(license, "GPL");
#ifdef LIVEPATCH
MODINFO(livepatch, "Y");
#endif
MODINFO(livefix_level, "3");
MODINFO(name, "lp_fake");
MODINFO(vermagic, "6.1.0-test-amd64 SMP preempt mod_unload modversions ");

int lp_fake_function(int x);
int lp_fake_function(int x)
{
	return x + 1;
}
