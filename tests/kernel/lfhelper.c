/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lfhelper: a tiny static program for the kernel test VM, where busybox has
 * no monotonic clock with sub-second resolution.
 *
 *   lfhelper now                    print CLOCK_MONOTONIC in ns
 *   lfhelper time CMD [ARG...]      run CMD (output to /dev/null), print
 *                                   "<elapsed ns> <exit code>"
 *   lfhelper baseline FILE NAME     the plain-kernel way to apply a live patch:
 *                                   run `insmod FILE`, then poll
 *                                   /sys/kernel/livepatch/NAME/transition
 *                                   until it reads 0; print "<ns> <exit code>"
 *   lfhelper asuser UID CMD [ARG...]  exec CMD as uid and gid UID, no groups
 *                                   (busybox's setpriv cannot change uid)
 *
 * Exit code 0 when the measurement was taken (whatever the child returned),
 * 2 on bad usage, 1 when the system failed us.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_LIMIT_NS (60ULL * 1000 * 1000 * 1000)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Run argv with stdout and stderr on /dev/null; returns its exit code. */
static int run_quiet(char **argv)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* 1 when the transition file reads "0", 0 while it reads "1", <0 on error. */
static int transition_done(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, &c, 1);
	close(fd);
	if (n != 1)
		return -EIO;
	return c == '0';
}

static int cmd_baseline(const char *file, const char *name)
{
	char path[256];
	char *argv[] = { "insmod", (char *)file, NULL };
	uint64_t start, end;
	int rc, done;

	if (snprintf(path, sizeof(path), "/sys/kernel/livepatch/%s/transition", name) >= (int)sizeof(path))
		return 2;
	start = now_ns();
	rc = run_quiet(argv);
	if (rc < 0)
		return 1;
	for (;;) {
		done = transition_done(path);
		if (done != 0 || now_ns() - start > POLL_LIMIT_NS)
			break;
	}
	end = now_ns();
	if (done < 0 && rc == 0)
		rc = 1;
	else if (done == 0)
		rc = 124;
	printf("%llu %d\n", (unsigned long long)(end - start), rc);
	return 0;
}

static int cmd_asuser(const char *uid_text, char **argv)
{
	char *end;
	unsigned long uid = strtoul(uid_text, &end, 10);

	if (*end != '\0' || end == uid_text || uid == 0 || uid > 65534)
		return 2;
	if (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0) {
		perror("lfhelper: asuser");
		return 1;
	}
	execvp(argv[0], argv);
	perror("lfhelper: asuser: exec");
	return 127;
}

int main(int argc, char **argv)
{
	uint64_t start;
	int rc;

	if (argc == 2 && strcmp(argv[1], "now") == 0) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "time") == 0) {
		start = now_ns();
		rc = run_quiet(argv + 2);
		if (rc < 0)
			return 1;
		printf("%llu %d\n", (unsigned long long)(now_ns() - start), rc);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "baseline") == 0)
		return cmd_baseline(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "asuser") == 0)
		return cmd_asuser(argv[2], argv + 3);
	fprintf(stderr, "usage: lfhelper now | time CMD [ARG...] | baseline FILE NAME | asuser UID CMD [ARG...]\n");
	return 2;
}
