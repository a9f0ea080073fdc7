// SPDX-License-Identifier: Apache-2.0
/*
 * The private copy of the source tree the fix is applied to. --source is
 * never written: the copy is a tree of directories and symbolic links to
 * the original files, and a file the fix touches is replaced by a real copy
 * before `patch` runs. A symlinked tree keeps every relative #include
 * working as in the original (the compiler looks for "x.h" next to the
 * path it was given, which is the copy's), at the cost of one link per file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/file.h"
#include "ub.h"

#define COPY_MAX (256u << 20)

static int walk(const char *src, const char *dst, size_t *count, size_t max, int depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 64)
		return -ELOOP;
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return -errno;
	d = opendir(src);
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".git"))
			continue;
		if (++*count > max) {
			r = -E2BIG;
			break;
		}
		if (snprintf(s, sizeof(s), "%s/%s", src, de->d_name) >= (int)sizeof(s) ||
		    snprintf(t, sizeof(t), "%s/%s", dst, de->d_name) >= (int)sizeof(t)) {
			r = -ENAMETOOLONG;
			break;
		}
		if (lstat(s, &st) < 0)
			r = -errno;
		else if (S_ISDIR(st.st_mode))
			r = walk(s, t, count, max, depth + 1);
		else if (symlink(s, t) < 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

int ub_mirror(const char *src, const char *dst, size_t max_files)
{
	size_t count = 0;

	return walk(src, dst, &count, max_files, 0);
}

int ub_mirror_own(const char *dst, const char *rel)
{
	char path[PATH_MAX], *data;
	struct stat st;
	size_t len;
	int r;

	if (strstr(rel, "..") || rel[0] == '/')
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", dst, rel) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;   /* a file the fix creates */
	if (!S_ISLNK(st.st_mode))
		return 0;
	r = lf_read_file(path, COPY_MAX, &data, &len);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		st.st_mode = 0644;
	if (unlink(path) < 0)
		r = -errno;
	else
		r = lf_write_file_atomic(path, data, len, st.st_mode & 0777);
	free(data);
	return r;
}

int ub_apply_patch(const char *dir, const char *patch, const char *log)
{
	char *const dry[] = { "patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch",
			      "-r", "-", "-s", "-i", (char *)patch, "--dry-run", NULL };
	char *const real[] = { "patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch",
			       "-r", "-", "-s", "-i", (char *)patch, NULL };

	if (ub_run(dir, dry, log) < 0 || ub_run(dir, real, log) < 0)
		return -ENOEXEC;
	return 0;
}
