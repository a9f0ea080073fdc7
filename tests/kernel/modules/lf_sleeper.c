// SPDX-License-Identifier: GPL-2.0
/*
 * lf_sleeper: an ordinary (not livepatch) module that parks a task inside a
 * known function, so the tests can produce a live patch transition that
 * cannot finish: a task sleeping in the function to be patched keeps the old
 * code on its stack.
 *
 * Reading /proc/lf_sleeper sleeps UNINTERRUPTIBLY in lf_sleeper_wait() until
 * released, by writing "1" to /proc/lf_sleeper or setting the parameter
 * "released" to 1, or until max_wait_sec (60 s by default) have passed, so a
 * broken test cannot hang a VM for ever. Writing "0" arms it again. The read
 * returns "released\n" or "timeout\n".
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

static bool released;
module_param(released, bool, 0644);
MODULE_PARM_DESC(released, "1 lets sleeping readers of /proc/lf_sleeper return");

static unsigned int max_wait_sec = 60;
module_param(max_wait_sec, uint, 0644);
MODULE_PARM_DESC(max_wait_sec, "upper bound of one sleep, in seconds");

/*
 * Global and noinline so it stays one real function under its own name,
 * which lp_sleeper patches. Polls in 100 ms uninterruptible naps: a module
 * parameter write wakes nobody, and a signal must not end the sleep early.
 * Returns 0 when released, -ETIMEDOUT when the bound was hit.
 */
noinline int lf_sleeper_wait(void);
noinline int lf_sleeper_wait(void)
{
	unsigned long deadline = jiffies + (unsigned long)max_wait_sec * HZ;

	while (!READ_ONCE(released)) {
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		schedule_timeout_uninterruptible(msecs_to_jiffies(100));
	}
	return 0;
}

static ssize_t lf_sleeper_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	const char *msg;

	if (*ppos > 0)
		return 0;
	msg = lf_sleeper_wait() == 0 ? "released\n" : "timeout\n";
	return simple_read_from_buffer(ubuf, count, ppos, msg, strlen(msg));
}

static ssize_t lf_sleeper_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	char c;

	if (count < 1 || get_user(c, ubuf))
		return -EFAULT;
	if (c != '0' && c != '1')
		return -EINVAL;
	WRITE_ONCE(released, c == '1');
	return count;
}

static const struct proc_ops lf_sleeper_ops = {
	.proc_read = lf_sleeper_read,
	.proc_write = lf_sleeper_write,
	.proc_lseek = noop_llseek,
};

static int __init lf_sleeper_init(void)
{
	if (!proc_create("lf_sleeper", 0600, NULL, &lf_sleeper_ops))
		return -ENOMEM;
	return 0;
}

/* remove_proc_entry() waits for readers still inside lf_sleeper_read(). */
static void __exit lf_sleeper_exit(void)
{
	WRITE_ONCE(released, true);
	remove_proc_entry("lf_sleeper", NULL);
}

module_init(lf_sleeper_init);
module_exit(lf_sleeper_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("livefix test helper: parks readers of /proc/lf_sleeper in lf_sleeper_wait()");
