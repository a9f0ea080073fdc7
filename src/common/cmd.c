/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <string.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/log.h"

void lf_cmd_usage(FILE *f, const char *prog, const struct lf_cmd *table)
{
	fprintf(f, "usage: %s COMMAND [ARGS...]\n\ncommands:\n", prog);
	for (const struct lf_cmd *c = table; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fprintf(f, "\nRun '%s COMMAND --help' for the options of a command.\n", prog);
}

int lf_cmd_usage_error(const char *prog, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\nTry '%s --help'.\n", lf_log_prog(), msg, prog);
	return LF_EXIT_USAGE;
}

int lf_cmd_dispatch(const char *prog, const struct lf_cmd *table, int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name)
		return lf_cmd_usage_error(prog, "no command given");
	if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
		lf_cmd_usage(stdout, prog, table);
		return LF_EXIT_OK;
	}
	for (const struct lf_cmd *c = table; c->name; c++)
		if (!strcmp(c->name, name))
			return c->run(argc - 1, argv + 1);
	return lf_cmd_usage_error(prog, "unknown command '%s'", name);
}
