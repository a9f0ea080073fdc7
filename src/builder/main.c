/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build: the build host's tool. Each command lives in its own cmd_*.c. */
#include "livefix/cmd.h"
#include "livefix/log.h"

#include "builder.h"

static const struct lf_cmd commands[] = {
	{ "keygen", cmd_keygen, "create an Ed25519 signing key for a repository role" },
	{ "bundle", cmd_bundle, "pack and sign a patch bundle (.lfb)" },
	{ "repo", cmd_repo, "manage an offline repository: init, add, sign, rotate-root" },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	lf_log_init("livefix-build");
	return lf_cmd_dispatch("livefix-build", commands, argc, argv);
}
