// SPDX-License-Identifier: GPL-2.0
/*
 * lp_sleeper: a live patch for lf_sleeper_wait() in the lf_sleeper module.
 *
 * While a task sleeps inside lf_sleeper_wait(), the old function is on its
 * stack, so the transition to this patch cannot finish: the tests use it to
 * check that the agent gives up after its timeout, reverses the transition
 * and removes the module instead of forcing it.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

/* Replacement: never sleeps. */
static int lp_sleeper_wait(void)
{
	return 0;
}

static struct klp_func lp_sleeper_funcs[] = {
	{ .old_name = "lf_sleeper_wait", .new_func = lp_sleeper_wait },
	{}
};

static struct klp_object lp_sleeper_objs[] = {
	{ .name = "lf_sleeper", .funcs = lp_sleeper_funcs },
	{}
};

static struct klp_patch lp_sleeper_patch = {
	.mod = THIS_MODULE,
	.objs = lp_sleeper_objs,
	.replace = true,
};

static int __init lp_sleeper_init(void)
{
	return klp_enable_patch(&lp_sleeper_patch);
}

static void __exit lp_sleeper_exit(void)
{
}

module_init(lp_sleeper_init);
module_exit(lp_sleeper_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("livefix test live patch of lf_sleeper_wait(); its transition stalls while a task sleeps there");
MODULE_INFO(livepatch, "Y");
MODULE_INFO(livefix_level, "1");
