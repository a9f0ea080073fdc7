/* SPDX-License-Identifier: Apache-2.0 */
/* libc functions and data, string literals: snprintf, errno, stdout. */
#include <errno.h>
#include <stdio.h>

const char *message_v2(void)
{
	static char buf[64];

	errno = 0;
	snprintf(buf, sizeof(buf), "patched-%d-%s", 42, stdout && !errno ? "out" : "none");
	return buf;
}
