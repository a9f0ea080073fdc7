/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_UNIT_TREE_H
#define LIVEFIX_UNIT_TREE_H

/*
 * Tests that stand in for /proc and /sys build small directory trees:
 * unit_put(root, "proc/123/comm", "robot\n") writes a file (creating its
 * directories); a NULL content makes rel a directory.
 */
#include <stdio.h>
#include <string.h>

#include "livefix/file.h"

static inline void unit_put(const char *root, const char *rel, const char *content)
{
	char path[512], dir[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(lf_mkdir_p(dir, 0755), 0);
	if (content)
		assert_int_equal(lf_write_file_atomic(path, content, strlen(content), 0644), 0);
	else
		assert_int_equal(lf_mkdir_p(path, 0755), 0);
}

#endif
