/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_H
#define LIVEFIX_AGENT_H

#include <stddef.h>

/* Subcommand entry points of the livefix agent; one cmd_*.c each. */
int cmd_boot(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
int cmd_uname(int argc, char **argv);

int cmd_trust(int argc, char **argv);
int cmd_apply(int argc, char **argv);

int cmd_user(int argc, char **argv);

int cmd_register(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* "ok" or "fail: <checks>": the result of livefix doctor in one line. */
void lf_agent_doctor_summary(char *ret, size_t size);

#endif
