/* SPDX-License-Identifier: Apache-2.0 */
/* livefix: the device agent. Each command lives in its own cmd_*.c. */
#include <stdio.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/log.h"

#include "agent.h"

static int cmd_version(int argc, char **argv)
{
	printf("livefix %s\n", LIVEFIX_VERSION);
	return LF_EXIT_OK;
}

static const struct lf_cmd commands[] = {
	{ "version", cmd_version, "print the agent version" },
	{ "user", cmd_user, "userspace live patches: apply, revert, list" },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	lf_log_init("livefix");
	return lf_cmd_dispatch("livefix", commands, argc, argv);
}
