/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_KERNEL_H
#define LIVEFIX_AGENT_KERNEL_H

#include <stdbool.h>

#include "klp.h"
#include "kmod.h"

#define LF_KERNEL_DEFAULT_TIMEOUT_MS 60000L
#define LF_KERNEL_MAX_STUCK 16

/* Where the kernel and the agent keep their state; tests point these elsewhere. */
struct lf_kernel_env {
	const char *klp_dir;  /* /sys/kernel/livepatch */
	const char *proc_dir; /* /proc */
	const char *run_dir;  /* /run/livefix: levels of loaded patches */
};

/* The defaults, with LIVEFIX_RUNTIME_DIR overriding run_dir. */
void lf_kernel_env_default(struct lf_kernel_env *env);

struct lf_kernel_opts {
	long timeout_ms;
	bool force;   /* write force=1 on a stalled transition instead of reverting */
};

struct lf_kernel_result {
	struct lf_kmod_info mod;
	long total_us;        /* start of load to end of transition */
	long transition_us;   /* finit_module return to end of transition */
	bool forced;
	bool reverted;        /* the stalled transition was reversed */
	bool removed;         /* ... and the module removed */
	bool module_kept;     /* unload: disabled, but a forced patch's module stays */
	int n_stuck;
	struct lf_klp_task stuck[LF_KERNEL_MAX_STUCK];
	int n_cleaned;        /* replaced patch modules removed after the load */
	char reason[512];     /* on failure: what went wrong, for one error line */
};

/*
 * Loads a livepatch module and waits for its transition. Refuses, before
 * anything reaches the kernel, a file that is not a livepatch module for
 * this arch and kernel. A transition that does not finish in time is
 * reversed and the module removed (-ETIMEDOUT, stuck tasks in ret), unless
 * opts->force. On success, modules of patches this one replaced are removed.
 */
int lf_kernel_load(const struct lf_kernel_env *env, const char *path,
		   const struct lf_kernel_opts *opts, struct lf_kernel_result *ret);

/* Disables a patch, waits for the transition and removes its module. */
int lf_kernel_unload(const struct lf_kernel_env *env, const char *name,
		     const struct lf_kernel_opts *opts, struct lf_kernel_result *ret);

/* Level recorded at load time for a patch, or -1 when unknown. */
int lf_kernel_level(const struct lf_kernel_env *env, const char *name);

/* Highest level among enabled patches with a known level, or -1. */
int lf_kernel_effective_level(const struct lf_kernel_env *env, const struct lf_klp_list *l);

/* Whether this process may load modules (root or CAP_SYS_MODULE). */
bool lf_kernel_can_load_modules(void);

#endif
