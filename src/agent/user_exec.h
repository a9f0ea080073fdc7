/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_USER_EXEC_H
#define LIVEFIX_AGENT_USER_EXEC_H

#include <signal.h>
#include <stdint.h>

/*
 * livefix daemon's exec-time patching: processes that start after a
 * userspace patch was applied get it too (docs/USERSPACE.md, "New
 * processes"). The kernel's proc connector reports every exec; each new
 * process is patched once its dynamic loader is done. A periodic scan of
 * /proc catches libraries opened later with dlopen, and replaces the
 * connector where it is not available.
 */
struct lf_user_watch;

/*
 * scan_s: seconds between /proc scans (0: the default, 30; 1 without the
 * connector); budget_ms: the pause budget of each apply (0: the applier's).
 */
int lf_user_watch_open(const char *state_dir, unsigned scan_s, unsigned budget_ms,
		       struct lf_user_watch **ret);
/* Serves exec events and scans for up to seconds, or until *stop. */
void lf_user_watch_wait(struct lf_user_watch *w, int64_t seconds, volatile sig_atomic_t *stop);
void lf_user_watch_free(struct lf_user_watch *w);

#endif
