/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-portal: the on-prem server. Each command lives in its own cmd_*.c. */
#include <stdio.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/log.h"

#include "cli.h"

static int cmd_version(int argc, char **argv)
{
	printf("livefix-portal %s\n", LIVEFIX_VERSION);
	return LF_EXIT_OK;
}

static const struct lf_cmd commands[] = {
	{ "init", cmd_init, "create a data directory, database, TLS key and first admin token" },
	{ "serve", cmd_serve, "serve devices and admins over HTTPS" },
	{ "token", cmd_token, "create admin tokens (token create --role ROLE)" },
	{ "publish", cmd_publish, "publish a signed repository directory to a feed" },
	{ "export", cmd_export, "write every feed's signed repository to a directory (air gap)" },
	{ "import", cmd_import, "verify and import an export from another portal" },
	{ "mirror", cmd_mirror, "serve, following an upstream portal's repository" },
	{ "routes", cmd_routes, "print the HTTP routes (METHOD PATH)" },
	{ "version", cmd_version, "print the version" },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	lf_log_init("livefix-portal");
	return lf_cmd_dispatch("livefix-portal", commands, argc, argv);
}
