/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_H
#define LIVEFIX_AGENT_H

/* Subcommand entry points of the livefix agent; one cmd_*.c each. */
int cmd_boot(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
int cmd_uname(int argc, char **argv);

int cmd_trust(int argc, char **argv);
int cmd_apply(int argc, char **argv);

int cmd_user(int argc, char **argv);

#endif
