/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hand-off from verification to the kernel loader. Until the loader is
 * linked in, the verified module is passed to "livefix kernel load PATH" in
 * a child process: the verifier never needs the privilege to load modules.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livefix/error.h"

#include "trust_agent.h"

static const char *loader_program(void)
{
#ifdef LF_TEST_HOOKS
	/* Test builds may name a stand-in loader that records what it got. */
	const char *env = getenv("LIVEFIX_TEST_KERNEL_LOADER");

	if (env && *env)
		return env;
#endif
	return "/proc/self/exe";
}

/* verb "load" PATH or "unload" NAME; a stand-in loader gets PATH or "--unload" NAME. */
static int handoff(const char *verb, const char *arg)
{
	const char *prog = loader_program();
	bool unload = !strcmp(verb, "unload");
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (strcmp(prog, "/proc/self/exe") == 0)
			execl(prog, "livefix", "kernel", verb, arg, (char *)NULL);
		else if (unload)
			execl(prog, prog, "--unload", arg, (char *)NULL);
		else
			execl(prog, prog, arg, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status))
		return -EIO;
	/* The loader's exit code (include/livefix/error.h) back to an errno,
	 * so that apply exits as the loader did. */
	switch (WEXITSTATUS(status)) {
	case LF_EXIT_OK: return 0;
	case LF_EXIT_REFUSED: return -EBADMSG;
	case LF_EXIT_MISMATCH: return -EMEDIUMTYPE;
	case LF_EXIT_BUSY: return -ETIMEDOUT;
	case LF_EXIT_UNSUPPORTED: return -EOPNOTSUPP;
	default: return -EIO;
	}
}

int lf_agent_kernel_load(const char *module_path)
{
	return handoff("load", module_path);
}

int lf_agent_kernel_unload(const char *patch_name)
{
	return handoff("unload", patch_name);
}

void lf_agent_crash_point(const char *step)
{
#ifdef LF_TEST_HOOKS
	const char *at = getenv("LIVEFIX_TEST_CRASH_AT");

	if (at && strcmp(at, step) == 0) {
		fprintf(stderr, "livefix-test: crashing at %s\n", step);
		fflush(NULL);
		raise(SIGKILL);
	}
#else
	(void)step;
#endif
}
