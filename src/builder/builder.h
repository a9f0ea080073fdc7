/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_H
#define LIVEFIX_BUILDER_H

/* Subcommands of livefix-build, one cmd_*.c each. */
int cmd_kernel(int argc, char **argv);
int cmd_ksyms(int argc, char **argv);

#endif
