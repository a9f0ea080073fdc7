/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_KLP_H
#define LIVEFIX_AGENT_KLP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The kernel's livepatch interface in sysfs:
 *   <klp_dir>/<patch>/{enabled,transition,force,replace}
 *   <klp_dir>/<patch>/<object>/<function>,<sympos>/
 * All functions take the directory so tests can point them at a copy.
 */
#define LF_KLP_DIR "/sys/kernel/livepatch"

/* Bounds on what we read back from sysfs: far above any real patch. */
#define LF_KLP_MAX_PATCHES 256
#define LF_KLP_MAX_OBJECTS 64
#define LF_KLP_MAX_FUNCS 1024

struct lf_klp_func {
	char name[128];
	unsigned long sympos;
};

struct lf_klp_object {
	char name[64];
	struct lf_klp_func *funcs;
	size_t n_funcs;
};

struct lf_klp_patch {
	char name[64];
	bool enabled;
	bool transition;
	int replace;  /* 1, 0, or -1 when the kernel does not say */
	struct lf_klp_object *objects;
	size_t n_objects;
};

struct lf_klp_list {
	struct lf_klp_patch *patches;
	size_t n;
};

/* Reads every patch, sorted by name. An absent klp_dir is -ENOENT. */
int lf_klp_list_read(const char *klp_dir, struct lf_klp_list *ret);
void lf_klp_list_release(struct lf_klp_list *l);

bool lf_klp_exists(const char *klp_dir, const char *patch);
/* Reads a 0/1 attribute such as "enabled" or "transition". */
int lf_klp_read_flag(const char *klp_dir, const char *patch, const char *attr, bool *ret);
int lf_klp_write_attr(const char *klp_dir, const char *patch, const char *attr, const char *value);

enum lf_klp_wait_for {
	LF_KLP_SETTLED,  /* transition is 0 (or the patch is gone) */
	LF_KLP_GONE,     /* the patch directory has disappeared */
};

/*
 * Waits for a patch to reach a state, polling adaptively: the first look
 * is immediate, then the interval doubles from 50 us up to 20 ms, so a fast
 * transition is seen within a fraction of a millisecond and a slow one costs
 * little CPU. Returns 0, or -ETIMEDOUT after timeout_ms. *ret_waited_us (may
 * be NULL) is the time spent.
 */
int lf_klp_wait(const char *klp_dir, const char *patch, enum lf_klp_wait_for what,
		long timeout_ms, long *ret_waited_us);

/* A task that has not switched to the target patch state. */
struct lf_klp_task {
	pid_t pid;
	pid_t tid;
	char comm[32];
	char stack[1024]; /* /proc/PID/task/TID/stack, or empty when unreadable */
};

/*
 * Lists tasks whose /proc/PID/task/TID/patch_state is not target (1 while a
 * patch is being applied, 0 while it is being removed), at most max of them.
 * Returns the number found.
 */
int lf_klp_stuck_tasks(const char *proc_dir, int target, struct lf_klp_task *ret, size_t max);

/* Monotonic time in microseconds. */
long lf_klp_now_us(void);

#endif
