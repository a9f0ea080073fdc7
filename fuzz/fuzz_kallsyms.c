/* SPDX-License-Identifier: Apache-2.0 */
/* kallsyms search/decoding, the ELF symtab reader and the System.map reader on arbitrary bytes. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "livefix/kbuild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_ksyms *syms;
	char path[64];
	int fd;

	if (lf_kallsyms_decode(data, size, &syms) == 0)
		lf_ksyms_free(syms);
	if (lf_ksyms_read_elf(data, size, &syms) == 0)
		lf_ksyms_free(syms);
	fd = memfd_create("map", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (lf_ksyms_read_system_map(path, &syms) == 0)
			lf_ksyms_free(syms);
	}
	close(fd);
	return 0;
}
