/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_SIGNER_H
#define LF_PORTAL_SIGNER_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "livefix/portal_repo.h"

/*
 * The portal's own signer: snapshot and timestamp signed by the trust
 * library with the online keys in <data>/keys/{snapshot,timestamp}.key.
 */
#define LF_SIGNER_SNAPSHOT_EXPIRY (7 * 86400)
#define LF_SIGNER_TIMESTAMP_EXPIRY 86400
#define LF_SIGNER_REFRESH 3600

struct lf_portal_signer_config {
	int64_t snapshot_expiry;  /* seconds from signing; 0: default */
	int64_t timestamp_expiry; /* seconds from signing; 0: default */
	unsigned refresh;         /* seconds between timestamp re-signs; 0: default */
};

/*
 * Creates the online keys unless valid ones exist (a file that is not a
 * key in the trust library's format, such as an old placeholder, is
 * replaced) and writes their public keys, "<key>.pub", for root.json.
 * out (may be NULL) gets one line per key: "<role> <path.pub> <keyid>".
 */
int lf_portal_online_keys_init(const char *data_dir, FILE *out);

/* Loads the keys and fills *ret_ops (ctx owned: release with _close). */
int lf_portal_signer_open(const char *data_dir, const struct lf_portal_signer_config *cfg,
			  struct lf_portal_repo_ops *ret_ops);
void lf_portal_signer_close(struct lf_portal_repo_ops *ops);

/*
 * The same signer in a separate process (signer_proc.c): forks a child that
 * alone loads the keys and answers over a socketpair. Call it before any
 * thread or database connection exists. -errno of the child's key loading
 * when it could not start. Release with lf_portal_signer_stop(), which also
 * takes any other ops (in-process signer, pass-through).
 */
#define LF_SIGNER_MAGIC 0x3153464cu /* "LFS1" */
#define LF_SIGNER_FEED_MAX 64
enum { LF_SIGNER_OP_SNAPSHOT = 1, LF_SIGNER_OP_TIMESTAMP = 2 };

int lf_portal_signer_spawn(const char *data_dir, const struct lf_portal_signer_config *cfg,
			   struct lf_portal_repo_ops *ret_ops);
void lf_portal_signer_stop(struct lf_portal_repo_ops *ops);
/* For tests: the socket to the signer process and its pid. */
int lf_portal_signer_fd(const struct lf_portal_repo_ops *ops, pid_t *ret_pid);

/*
 * The signer's seccomp filter (signer_sandbox.c), installed on the calling
 * process for good: afterwards it may only read from fd and send on it,
 * write to fd or stderr, manage memory (never executable), read the clocks,
 * use futexes, return from signals and exit. Any other system call, or one
 * of another architecture, kills it with SIGSYS. -EOPNOTSUPP where no
 * filter is written for the architecture (x86_64, arm64 and 32-bit ARM
 * have one), else -errno of prctl/seccomp.
 */
int lf_portal_signer_sandbox(int fd);

#endif
