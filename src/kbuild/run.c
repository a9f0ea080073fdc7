// SPDX-License-Identifier: Apache-2.0
/* Child processes (make, tar, patch) and small file helpers for the build tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livefix/file.h"
#include "run.h"

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static void exec_child(const char *const argv[], int out_fd, int err_fd, const char *cwd)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (cwd && chdir(cwd) < 0)
		_exit(127);
	if (null_fd < 0 || dup2(null_fd, 0) < 0)
		_exit(127);
	if (dup2(out_fd >= 0 ? out_fd : null_fd, 1) < 0 ||
	    dup2(err_fd >= 0 ? err_fd : null_fd, 2) < 0)
		_exit(127);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

int kb_run(const char *const argv[], const char *log_path)
{
	return kb_run_in(NULL, argv, log_path);
}

int kb_run_in(const char *cwd, const char *const argv[], const char *log_path)
{
	int fd = -1, r;
	pid_t pid;

	if (log_path) {
		fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0)
		exec_child(argv, fd, fd, cwd);
	r = wait_child(pid);
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int kb_run_capture(const char *const argv[], char *out, size_t size)
{
	int p[2], r;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (size == 0 || pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0)
		exec_child(argv, p[1], -1, NULL);
	close(p[1]);
	for (;;) {
		char sink[512];
		char *dst = len < size - 1 ? out + len : sink;
		size_t room = len < size - 1 ? size - 1 - len : sizeof(sink);

		n = read(p[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			len += (size_t)n;
	}
	close(p[0]);
	out[len] = '\0';
	return wait_child(pid);
}

int kb_copy_file(const char *from, const char *to)
{
	char *data;
	size_t len;
	int r;

	r = lf_read_file(from, 256u << 20, &data, &len);
	if (r < 0)
		return r;
	r = lf_write_file_atomic(to, data, len, 0644);
	free(data);
	return r;
}

int kb_remove_tree(const char *path)
{
	const char *argv[] = { "rm", "-rf", "--", path, NULL };

	return kb_run(argv, NULL);
}
