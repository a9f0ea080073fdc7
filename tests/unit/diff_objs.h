/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_TEST_DIFF_OBJS_H
#define LF_TEST_DIFF_OBJS_H

/*
 * Where the object pairs of tests/diff/cases/ were compiled (by meson) and
 * for which architectures: set in the environment by tests/unit/meson.build.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool arch_built(const char *arch)
{
	const char *list = getenv("LIVEFIX_DIFF_ARCHES");
	size_t n = strlen(arch);

	for (const char *p = list; p && *p; p += strcspn(p, " "), p += strspn(p, " "))
		if (!strncmp(p, arch, n) && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* "<dir>/<arch>-<variant>-<case>-<side>.o" */
static inline void case_path(char *buf, size_t len, const char *arch, const char *variant,
			     const char *name, const char *side)
{
	const char *dir = getenv("LIVEFIX_DIFF_OBJS");

	snprintf(buf, len, "%s/%s-%s-%s-%s.o", dir ? dir : ".", arch, variant, name, side);
}

/* binutils for an architecture: "" on the host, the cross prefix otherwise. */
static inline const char *tool_prefix(const char *arch)
{
	return strcmp(arch, "aarch64") ? "" : "aarch64-linux-gnu-";
}

#endif
