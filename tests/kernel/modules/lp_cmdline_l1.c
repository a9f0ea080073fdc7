// SPDX-License-Identifier: GPL-2.0
/*
 * lp_cmdline_l1: livefix test patch, level 1.
 *
 * Plays the part of a security fix: the "vulnerable" behaviour is what
 * /proc/cmdline prints, the "fixed" one carries a marker a test can see.
 * It is an atomic-replace patch, like every livefix kernel patch, so a later
 * level replaces it as a whole.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

/* Replacement for fs/proc/cmdline.c:cmdline_proc_show(). */
static int lf_l1_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "livefix-level-1 /proc/cmdline is live patched\n");
	return 0;
}

static struct klp_func lf_l1_funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = lf_l1_cmdline_show },
	{}
};

static struct klp_object lf_l1_objs[] = {
	{ .name = NULL /* vmlinux */, .funcs = lf_l1_funcs },
	{}
};

static struct klp_patch lf_l1_patch = {
	.mod = THIS_MODULE,
	.objs = lf_l1_objs,
	.replace = true,
};

static int __init lf_l1_init(void)
{
	return klp_enable_patch(&lf_l1_patch);
}

static void __exit lf_l1_exit(void)
{
}

module_init(lf_l1_init);
module_exit(lf_l1_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("livefix test live patch, level 1: marks /proc/cmdline");
MODULE_INFO(livepatch, "Y");
MODULE_INFO(livefix_level, "1");
