/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sysfs livepatch layer against a directory tree shaped like
 * /sys/kernel/livepatch and /proc. The real interface is exercised by
 * tests/kernel in QEMU.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "klp.h"
#include "unit_tree.h"

struct tree {
	char root[64];
	char klp[128];
	char proc[128];
};

static void put(const struct tree *t, const char *rel, const char *content)
{
	unit_put(t->root, rel, content);
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	snprintf(t->root, sizeof(t->root), "/tmp/lf-test-klp.XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	snprintf(t->klp, sizeof(t->klp), "%s/klp", t->root);
	snprintf(t->proc, sizeof(t->proc), "%s/proc", t->root);
	put(t, "klp/lp_b/enabled", "1\n");
	put(t, "klp/lp_b/transition", "0\n");
	put(t, "klp/lp_b/replace", "1\n");
	put(t, "klp/lp_b/force", "");
	put(t, "klp/lp_b/vmlinux/cmdline_proc_show,1", NULL);
	put(t, "klp/lp_b/vmlinux/version_proc_show,1", NULL);
	put(t, "klp/lp_b/ext4/ext4_fill_super,2", NULL);
	put(t, "klp/lp_a/enabled", "0\n");
	put(t, "klp/lp_a/transition", "1\n");
	put(t, "klp/lp_a/vmlinux/meminfo_proc_show,1", NULL);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	free(t);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_list(void **state)
{
	struct tree *t = *state;
	struct lf_klp_list l;
	const struct lf_klp_patch *a, *b;

	assert_int_equal(lf_klp_list_read(t->klp, &l), 0);
	assert_int_equal(l.n, 2);
	a = &l.patches[0];
	b = &l.patches[1];
	assert_string_equal(a->name, "lp_a");
	assert_false(a->enabled);
	assert_true(a->transition);
	assert_int_equal(a->replace, -1);
	assert_string_equal(b->name, "lp_b");
	assert_true(b->enabled);
	assert_false(b->transition);
	assert_int_equal(b->replace, 1);
	assert_int_equal(b->n_objects, 2);
	for (size_t i = 0; i < b->n_objects; i++) {
		const struct lf_klp_object *o = &b->objects[i];

		if (!strcmp(o->name, "vmlinux")) {
			assert_int_equal(o->n_funcs, 2);
			assert_string_equal(o->funcs[0].name, "cmdline_proc_show");
			assert_int_equal(o->funcs[0].sympos, 1);
			assert_string_equal(o->funcs[1].name, "version_proc_show");
		} else {
			assert_string_equal(o->name, "ext4");
			assert_int_equal(o->funcs[0].sympos, 2);
		}
	}
	lf_klp_list_release(&l);
}

static void test_missing_dir(void **state)
{
	struct lf_klp_list l;

	assert_int_equal(lf_klp_list_read("/nonexistent/livepatch", &l), -ENOENT);
}

static void test_wait_times_out(void **state)
{
	struct tree *t = *state;
	long waited;

	assert_int_equal(lf_klp_wait(t->klp, "lp_a", LF_KLP_SETTLED, 60, &waited), -ETIMEDOUT);
	assert_true(waited >= 60000);
	assert_true(waited < 2000000);
}

static void test_wait_settled_immediately(void **state)
{
	struct tree *t = *state;
	long waited;

	assert_int_equal(lf_klp_wait(t->klp, "lp_b", LF_KLP_SETTLED, 1000, &waited), 0);
	assert_true(waited < 1000);
	/* A patch that is gone is settled too. */
	assert_int_equal(lf_klp_wait(t->klp, "lp_gone", LF_KLP_SETTLED, 1000, NULL), 0);
	assert_int_equal(lf_klp_wait(t->klp, "lp_b", LF_KLP_GONE, 30, NULL), -ETIMEDOUT);
}

static void *finish_transition(void *arg)
{
	const struct tree *t = arg;
	char path[256];

	nanosleep(&(struct timespec){ 0, 30 * 1000000L }, NULL);
	snprintf(path, sizeof(path), "%s/lp_a/transition", t->klp);
	lf_write_file_atomic(path, "0\n", 2, 0644);
	return NULL;
}

static void test_wait_sees_transition_end(void **state)
{
	struct tree *t = *state;
	pthread_t th;
	long waited;

	assert_int_equal(pthread_create(&th, NULL, finish_transition, t), 0);
	assert_int_equal(lf_klp_wait(t->klp, "lp_a", LF_KLP_SETTLED, 5000, &waited), 0);
	pthread_join(th, NULL);
	assert_true(waited >= 30000);
	/* Backoff is capped at 20 ms, so the end is seen promptly. */
	assert_true(waited < 1000000);
}

static void test_flags(void **state)
{
	struct tree *t = *state;
	bool v;

	assert_int_equal(lf_klp_read_flag(t->klp, "lp_b", "enabled", &v), 0);
	assert_true(v);
	assert_int_equal(lf_klp_write_attr(t->klp, "lp_b", "enabled", "0"), 0);
	assert_int_equal(lf_klp_read_flag(t->klp, "lp_b", "enabled", &v), 0);
	assert_false(v);
	put(t, "klp/lp_b/enabled", "garbage\n");
	assert_int_equal(lf_klp_read_flag(t->klp, "lp_b", "enabled", &v), -EBADMSG);
	assert_true(lf_klp_exists(t->klp, "lp_b"));
	assert_false(lf_klp_exists(t->klp, "lp_c"));
}

static void test_stuck_tasks(void **state)
{
	struct tree *t = *state;
	struct lf_klp_task tasks[4];

	put(t, "proc/100/task/100/patch_state", "1\n");
	put(t, "proc/100/task/100/comm", "switched\n");
	put(t, "proc/200/task/200/patch_state", "-1\n");
	put(t, "proc/300/task/300/patch_state", "1\n");
	put(t, "proc/300/task/301/patch_state", "0\n");
	put(t, "proc/300/task/301/comm", "sleeper\n");
	put(t, "proc/300/task/301/stack", "[<0>] lf_sleeper_wait+0x20/0x40\n[<0>] proc_reg_read+0x5/0x9\n");
	put(t, "proc/self/task/1/patch_state", "0\n");
	assert_int_equal(lf_klp_stuck_tasks(t->proc, 1, tasks, 4), 1);
	assert_int_equal(tasks[0].pid, 300);
	assert_int_equal(tasks[0].tid, 301);
	assert_string_equal(tasks[0].comm, "sleeper");
	assert_non_null(strstr(tasks[0].stack, "lf_sleeper_wait"));
	/* While removing, the target state is 0: task 100 is the one left behind. */
	assert_int_equal(lf_klp_stuck_tasks(t->proc, 0, tasks, 4), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test_setup_teardown(test_wait_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_settled_immediately, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_sees_transition_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stuck_tasks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
