/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_USER_H
#define LIVEFIX_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Userspace live patching: applies a patch object (docs/USERSPACE.md) to
 * running processes, lists and reverts what is applied. Every function
 * returns 0 or a negative errno; the reason of a refusal is put in the
 * caller's message buffer (msg, msg_size), worded for a log line.
 *
 *   -EMEDIUMTYPE  the process does not map the patch's target build-id
 *   -ENOEXEC      malformed or unsupported patch object
 *   -EOPNOTSUPP   the target cannot be patched (seccomp, short function,
 *                 no free address in branch range)
 *   -EEXIST       the same patch id is already applied
 *   -EALREADY     an equal or higher level is already applied
 *   -EBUSY        a thread stayed inside a function being replaced
 *   -ETIMEDOUT    the threads could not be stopped within the budget
 *   -ESRCH        no such process, no such applied patch
 */

#define LF_USER_ID_MAX 64
#define LF_USER_MSG_MAX 512

struct lf_user_opts {
	unsigned budget_ms;	/* longest all-threads-stopped pause per attempt */
	unsigned retries;	/* attempts before giving up with -EBUSY */
	unsigned retry_delay_ms;
};

#define LF_USER_OPTS_DEFAULT { .budget_ms = 10, .retries = 20, .retry_delay_ms = 10 }

/* What one apply or revert did to one process. */
struct lf_user_result {
	pid_t pid;
	int err;
	unsigned attempts;
	unsigned threads;
	uint64_t pause_ns;	/* all threads stopped, successful attempt */
	uint64_t inject_ns;	/* one thread stopped for mmap/mprotect/munmap */
	uint64_t map_addr;
	char msg[LF_USER_MSG_MAX];
};

struct lf_user_patch;

/* Loads and validates a patch object file (at most 64 MiB). */
int lf_user_patch_load(const char *path, struct lf_user_patch **ret_patch,
		       char *msg, size_t msg_size);
void lf_user_patch_free(struct lf_user_patch *p);
const char *lf_user_patch_id(const struct lf_user_patch *p);
unsigned lf_user_patch_level(const struct lf_user_patch *p);
/* Hex build-id of the object the patch is for. */
const char *lf_user_patch_target(const struct lf_user_patch *p);

/*
 * Every process that maps an object with the patch's target build-id, in
 * ascending pid order, at most max. Returns the count.
 */
int lf_user_find_targets(const struct lf_user_patch *p, pid_t *ret_pids, size_t max);
/* The same for a raw build-id (id_len bytes). */
int lf_user_find_build_id(const uint8_t *id, unsigned id_len, pid_t *ret_pids, size_t max);
/* GNU build-id of an ELF file in hex (41 bytes); its length in bytes, -ENODATA if none. */
int lf_user_file_build_id(const char *path, char hex[41]);

/*
 * Whether a newly started process is past its dynamic loader (every library
 * mapped and relocated): 1 ready, 0 not yet, 2 cannot tell (no glibc: the
 * caller waits until its maps stop changing), -ESRCH gone.
 */
int lf_user_process_ready(pid_t pid);
/* Whether process pid maps an object with the patch's target build-id. */
bool lf_user_maps_target(const struct lf_user_patch *p, pid_t pid);
/* Raw GNU build-id of the patch's target (bytes, returns the length). */
unsigned lf_user_patch_build_id(const struct lf_user_patch *p, const uint8_t **ret_id);

int lf_user_apply(const struct lf_user_patch *p, pid_t pid, const struct lf_user_opts *opts,
		  struct lf_user_result *ret);

int lf_user_revert(const char *id, pid_t pid, const struct lf_user_opts *opts,
		   struct lf_user_result *ret);

/* One applied patch in one process, as found from its memory. */
struct lf_user_applied {
	pid_t pid;
	uint64_t map_addr;
	uint64_t map_size;
	unsigned level;
	unsigned nfuncs;
	unsigned redirected;	/* functions whose entry jumps to the patch */
	char id[LF_USER_ID_MAX];
	char build_id[41];
	char object[256];
};

/*
 * Calls fn for every livefix patch found in process pid (pid > 0) or in
 * every process (pid == 0). Stops at and returns fn's first non-zero value.
 */
int lf_user_for_each_applied(pid_t pid, int (*fn)(const struct lf_user_applied *a, void *ud),
			     void *ud);

/*
 * The processes in which patch id is applied: at most max pids in ret;
 * returns how many were found (possibly more than max), or -errno.
 */
int lf_user_pids_running(const char *id, pid_t *ret, size_t max);

/*
 * Called with the name of each step of an apply (tests: the agent's test
 * build kills itself at a named step). NULL, and never set, in the agent
 * that is installed.
 */
extern void (*lf_user_step_hook)(const char *step);

#endif
