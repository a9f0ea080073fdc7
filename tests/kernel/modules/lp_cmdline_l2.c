// SPDX-License-Identifier: GPL-2.0
/*
 * lp_cmdline_l2: livefix test patch, level 2, cumulative.
 *
 * Contains the level 1 fix (in its level 2 form) and a second one, and
 * atomically replaces level 1: after its transition only this patch is
 * active, and level 1's module can be removed.
 *
 * Fix 1: /proc/cmdline prints a level 2 marker.
 * Fix 2: /proc/version carries the marker after the usual banner fields.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

/* Replacement for fs/proc/cmdline.c:cmdline_proc_show(). */
static int lf_l2_cmdline_show(struct seq_file *m, void *v)
{
	seq_puts(m, "livefix-level-2 /proc/cmdline is live patched\n");
	return 0;
}

/* Replacement for fs/proc/version.c:version_proc_show(). */
static int lf_l2_version_show(struct seq_file *m, void *v)
{
	struct new_utsname *uts = utsname();

	seq_printf(m, "%s version %s %s (livefix-level-2)\n",
		   uts->sysname, uts->release, uts->version);
	return 0;
}

static struct klp_func lf_l2_funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = lf_l2_cmdline_show },
	{ .old_name = "version_proc_show", .new_func = lf_l2_version_show },
	{}
};

static struct klp_object lf_l2_objs[] = {
	{ .name = NULL /* vmlinux */, .funcs = lf_l2_funcs },
	{}
};

static struct klp_patch lf_l2_patch = {
	.mod = THIS_MODULE,
	.objs = lf_l2_objs,
	.replace = true,
};

static int __init lf_l2_init(void)
{
	return klp_enable_patch(&lf_l2_patch);
}

static void __exit lf_l2_exit(void)
{
}

module_init(lf_l2_init);
module_exit(lf_l2_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("livefix test live patch, level 2: replaces level 1, marks /proc/cmdline and /proc/version");
MODULE_INFO(livepatch, "Y");
MODULE_INFO(livefix_level, "2");
