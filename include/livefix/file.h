/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_FILE_H
#define LIVEFIX_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads a whole file of at most max bytes; a longer file fails with
 * -EOVERFLOW. *ret_data is NUL-terminated and must be freed.
 */
int lf_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
int lf_read_fd(int fd, size_t max, char **ret_data, size_t *ret_len);

/*
 * Reads the first line of a small file (sysfs, procfs) into buf, without the
 * newline. Returns the length.
 */
int lf_read_line(const char *path, char *buf, size_t size);

/* Writes a string to an existing file (sysfs attributes), in one write. */
int lf_write_string(const char *path, const char *s);

/*
 * Replaces path atomically and durably: writes a temporary file in the same
 * directory, fsyncs it, renames it over path and fsyncs the directory. After
 * a power cut, path holds either the old or the new contents, never a mix.
 */
int lf_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p with the given mode for created directories. */
int lf_mkdir_p(const char *path, mode_t mode);

#endif
