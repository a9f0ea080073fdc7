/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module inspection on arbitrary bytes: whatever the file holds, inspection
 * returns 0 or a negative errno with a reason, never crashes or reads past
 * the data. The bytes go through a memfd because the agent inspects files.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_kmod_info info;
	char path[64], reason[256];
	int fd = memfd_create("fuzz-kmod", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (lf_kmod_inspect(path, &info, reason, sizeof(reason)) == 0) {
			/* Fields must be terminated within their arrays. */
			if (strnlen(info.name, sizeof(info.name)) == sizeof(info.name) ||
			    strnlen(info.release, sizeof(info.release)) == sizeof(info.release))
				__builtin_trap();
			lf_kmod_check(&info, "6.1.0-test-amd64", reason, sizeof(reason));
		}
	}
	close(fd);
	return 0;
}
