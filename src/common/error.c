/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "livefix/error.h"

static const struct {
	int err;
	enum lf_exit exit;
	const char *text;
} table[] = {
	{ EBADMSG, LF_EXIT_REFUSED, "bad signature or malformed signed data" },
	{ EKEYREJECTED, LF_EXIT_REFUSED, "not signed by enough trusted keys" },
	{ ESTALE, LF_EXIT_REFUSED, "metadata expired" },
	{ EOVERFLOW, LF_EXIT_REFUSED, "longer than declared or allowed" },
	{ ETIMEDOUT, LF_EXIT_BUSY, "timed out" },
	{ EBUSY, LF_EXIT_BUSY, "busy" },
	{ ENOEXEC, LF_EXIT_MISMATCH, "not a valid object for this machine" },
	{ EMEDIUMTYPE, LF_EXIT_MISMATCH, "built for another kernel or binary" },
	{ EOPNOTSUPP, LF_EXIT_UNSUPPORTED, "not supported on this system" },
	{ ENOSYS, LF_EXIT_UNSUPPORTED, "not supported on this system" },
	{ EPERM, LF_EXIT_UNSUPPORTED, "operation not permitted" },
	{ EACCES, LF_EXIT_UNSUPPORTED, "permission denied" },
	{ EINVAL, LF_EXIT_USAGE, "invalid argument" },
};

int lf_exit_code(int err)
{
	if (err >= 0)
		return LF_EXIT_OK;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].err == -err)
			return table[i].exit;
	return LF_EXIT_FAILURE;
}

const char *lf_strerror(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].err == err)
			return table[i].text;
	return strerror(err);
}
