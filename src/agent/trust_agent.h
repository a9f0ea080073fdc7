/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_TRUST_H
#define LIVEFIX_AGENT_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "livefix/bundle.h"
#include "livefix/tuf.h"
#include "livefix/user.h"

/* Private to the agent's trust and apply commands. */

#define LF_STATE_DIR_DEFAULT "/var/lib/livefix"

/* --state-dir, else $LIVEFIX_STATE_DIR, else /var/lib/livefix. */
const char *lf_agent_state_dir(const char *opt);
/* --sysroot, else $LIVEFIX_SYSROOT, else "" (the real /proc and /sys). */
const char *lf_agent_sysroot(const char *opt);

/* Where a repository is fetched from: a directory or an http(s) URL. */
struct lf_agent_fetch {
	const char *base;    /* without a trailing slash */
	bool http;
	long min_rate;       /* bytes/s */
	long min_rate_time;  /* seconds below min_rate before giving up */
	long timeout;        /* seconds per file */
	const char *ca_file; /* https: PEM certificates to trust, NULL: the system's */
	const char *bearer;  /* https: the device credential, NULL: none */
	uint64_t bytes;      /* transferred, headers included */
	char error[128];     /* the transport's own words for the last failure */
	unsigned requests;
};

void lf_agent_fetcher(struct lf_agent_fetch *ctx, struct lf_fetcher *ret);

/*
 * Serialises commands that change the state (<state>/lock, flock): two
 * updates committing in turn could otherwise move trusted versions back.
 * Returns the fd holding the lock, -EBUSY when another command holds it.
 */
int lf_agent_lock_state(const char *state_dir);

#define LF_APPLIED_HISTORY 8

/* The last patch applied, per kind (applied.json in the state directory). */
struct lf_applied {
	bool have;
	char id[LF_ID_MAX + 1];
	int64_t level;
	char sha256[LF_SHA256_HEX + 1];
	int64_t when;
	char boot_id[40];   /* /proc/sys/kernel/random/boot_id when applied */
	char patch[64];     /* kernel: the livepatch (module) name; user: the patch id */
	/*
	 * Kernel: the levels this one replaced, newest first and each lower
	 * than the one before it (their bundles are cached), so that
	 * withdrawing this one goes back to the newest that is not withdrawn.
	 */
	struct lf_applied_prev {
		char id[LF_ID_MAX + 1];
		char sha256[LF_SHA256_HEX + 1];
		int64_t level;
	} prev[LF_APPLIED_HISTORY];
	size_t nprev;
};

/* This boot's id; live patches do not survive a reboot, so a record from
 * another boot says nothing about what is applied now. */
int lf_agent_boot_id(const char *sysroot, char ret[40]);

/* Whether a kernel record describes a patch that is applied right now. */
bool lf_applied_is_current(const struct lf_applied *a, const char *sysroot);

/*
 * Applies a verified userspace bundle to every process that maps its target
 * file, all or nothing, and records it. Returns how many processes run
 * it now (at least 1). *ret_up_to_date is set when every such process ran
 * it already (nothing done). opts may be NULL; its zero budget_ms and
 * retries mean the applier's defaults.
 */
int lf_agent_apply_user(const char *state_dir, const char *sysroot, const struct lf_bundle *b,
			const char *sha256, const struct lf_user_opts *opts, bool *ret_up_to_date,
			struct lf_why *why);

/* One applier of userspace patches at a time (<runtime>/user.lock). */
int lf_agent_lock_user(void);
/* The same, waiting at most wait_ms (0: only if free now): -ETIMEDOUT if held. */
int lf_agent_lock_user_wait(unsigned wait_ms);

/* A targets role made of the public keys in paths, threshold 1 (--key). */
int lf_agent_trust_keys(const char *const *paths, size_t n, struct lf_root *ret,
			struct lf_why *why);

/*
 * Applies a verified kernel bundle: writes its module under <state>/payloads,
 * loads it, caches the bundle under <state>/bundles for livefix boot, and
 * records it in applied.json with this boot's id. Nothing is recorded unless
 * the load succeeded.
 */
int lf_agent_apply_kernel(const char *state_dir, const char *sysroot, const struct lf_bundle *b,
			  const char *sha256, struct lf_why *why);

int lf_applied_load(const char *state_dir, enum lf_kind kind, struct lf_applied *ret);
/* Records the last patch of a kind; a == NULL removes the kind's record. */
int lf_applied_record(const char *state_dir, enum lf_kind kind, const struct lf_applied *a);

/*
 * Hand-off to the kernel loader: loads the livepatch module at path.
 * Narrow on purpose, so the loader (livefix kernel load) can change behind it.
 */
int lf_agent_kernel_load(const char *module_path);
/* The same for "livefix kernel unload NAME": disable the patch, remove its module. */
int lf_agent_kernel_unload(const char *patch_name);

/*
 * Test builds (livefix-test) only: exits with SIGKILL at the named step
 * when LIVEFIX_TEST_CRASH_AT names it, to test power cuts. A no-op in the
 * installed agent.
 */
void lf_agent_crash_point(const char *step);

#endif
