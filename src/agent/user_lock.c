/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One userspace applier at a time on a device (docs/USERSPACE.md): an
 * exclusive flock on $LIVEFIX_RUNTIME_DIR/user.lock, waited for up to 60 s.
 * Shared by livefix user (cmd_user.c), livefix apply (user_apply.c), the
 * daemon's exec-time patching (user_exec.c) and withdrawals (withdraw.c);
 * the daemon trims its memory only while it holds it (trim.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "livefix/file.h"

#include "trust_agent.h"

#define LOCK_WAIT_MS 60000

int lf_agent_lock_user(void)
{
	return lf_agent_lock_user_wait(LOCK_WAIT_MS);
}

int lf_agent_lock_user_wait(unsigned wait_ms)
{
	const char *dir = getenv("LIVEFIX_RUNTIME_DIR");
	char path[512];
	int fd, r;

	dir = dir && *dir ? dir : "/run/livefix";
	r = lf_mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/user.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 10) {
		if (errno != EWOULDBLOCK || waited >= wait_ms) {
			r = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			close(fd);
			return r;
		}
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	return fd; /* held until exit */
}
