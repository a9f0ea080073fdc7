/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build: the build host's tool. Each command lives in its own cmd_*.c. */
#include <stdio.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/log.h"

#include "builder.h"

static int cmd_version(int argc, char **argv)
{
	printf("livefix-build %s\n", LIVEFIX_VERSION);
	return LF_EXIT_OK;
}

static const struct lf_cmd commands[] = {
	{ "kernel", cmd_kernel, "build a kernel live patch from a source fix" },
	{ "user", cmd_user, "build a userspace live patch from a source fix" },
	{ "ksyms", cmd_ksyms, "print the symbols read from a kernel image (kallsyms order)" },
	{ "keygen", cmd_keygen, "create an Ed25519 signing key for a repository role" },
	{ "bundle", cmd_bundle, "pack and sign a patch bundle (.lfb)" },
	{ "repo", cmd_repo, "manage an offline repository: init, add, sign, rotate-root" },
	{ "version", cmd_version, "print the builder version" },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	lf_log_init("livefix-build");
	return lf_cmd_dispatch("livefix-build", commands, argc, argv);
}
