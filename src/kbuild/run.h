/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_KBUILD_RUN_H
#define LIVEFIX_KBUILD_RUN_H

#include <stddef.h>

/*
 * Runs a program (argv[0] looked up in PATH) with stdin from /dev/null and
 * stdout+stderr appended to log_path (NULL: discarded). 0 when it exits 0,
 * -EIO when it exits non-zero or dies, another negative errno when it could
 * not be started.
 */
int kb_run(const char *const argv[], const char *log_path);
/* Same, in directory cwd. */
int kb_run_in(const char *cwd, const char *const argv[], const char *log_path);
/* Same, but captures up to size-1 bytes of stdout into out (NUL-terminated). */
int kb_run_capture(const char *const argv[], char *out, size_t size);
/* Recursive copy of one file, preserving nothing but the contents and mode. */
int kb_copy_file(const char *from, const char *to);
/* rm -rf of a path that the caller created under the cache. */
int kb_remove_tree(const char *path);

#endif
