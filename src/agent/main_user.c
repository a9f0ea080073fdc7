/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix-user: the agent's "user" commands alone, built by the
 * userspace-only configuration (meson -Duser_only=true) for targets where
 * the full agent's libraries (libelf, libsodium, libcurl) are not at hand,
 * such as the static aarch64 cross build that tests/user-arm64 runs in a VM.
 * "livefix-user user apply ..." is "livefix user apply ...".
 */
#include <stdio.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/log.h"

#include "agent.h"

static int cmd_version(int argc, char **argv)
{
	printf("livefix-user %s\n", LIVEFIX_VERSION);
	return LF_EXIT_OK;
}

static const struct lf_cmd commands[] = {
	{ "user", cmd_user, "userspace live patches: apply, revert, list" },
	{ "version", cmd_version, "print the agent version" },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	lf_log_init("livefix");
	return lf_cmd_dispatch("livefix", commands, argc, argv);
}
