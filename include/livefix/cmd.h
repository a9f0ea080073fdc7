/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_CMD_H
#define LIVEFIX_CMD_H

#include <stdbool.h>
#include <stdio.h>

/*
 * One command table per program (and per command group such as
 * "livefix kernel"). run() gets argv with argv[0] = the command name and
 * returns an exit code (enum lf_exit).
 */
struct lf_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/*
 * Dispatches argv[1] to its entry in table (terminated by a NULL name).
 * "help", "--help" and "-h" print the table. An unknown or missing command
 * prints one error line and returns LF_EXIT_USAGE.
 */
int lf_cmd_dispatch(const char *prog, const struct lf_cmd *table, int argc, char **argv);

void lf_cmd_usage(FILE *f, const char *prog, const struct lf_cmd *table);

/* Prints an error with "Try '<prog> --help'." and returns LF_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
int lf_cmd_usage_error(const char *prog, const char *fmt, ...);

#endif
