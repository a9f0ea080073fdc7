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
	{ "apply", cmd_apply, "verify and apply a patch bundle, from a file or a repository" },
	{ "boot", cmd_boot, "re-apply the kernel patch level after a reboot, from the cache" },
	{ "daemon", cmd_daemon, "check in with the portal and apply updates by its policy" },
	{ "doctor", cmd_doctor, "check whether live patching can work here" },
	{ "kernel", cmd_kernel, "load, unload and list kernel live patches" },
	{ "register", cmd_register, "enrol this device with a livefix portal" },
	{ "status", cmd_status, "registration, last check-in, patches, policy decision" },
	{ "trust", cmd_trust, "pin the repository root, show trusted metadata" },
	{ "uname", cmd_uname, "print the effective kernel version (release + patch level)" },
	{ "update", cmd_update, "one check-in and update cycle now" },
	{ "version", cmd_version, "print the agent version" },
	{ "user", cmd_user, "userspace live patches: apply, revert, list" },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	lf_log_init("livefix");
	return lf_cmd_dispatch("livefix", commands, argc, argv);
}
