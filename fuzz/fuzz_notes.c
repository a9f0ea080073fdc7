/* SPDX-License-Identifier: Apache-2.0 */
/* ELF notes as in /sys/kernel/notes (the running kernel's build-id). */
#include <stdint.h>
#include <string.h>

#include "livefix/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[LF_BUILD_ID_MAX + 1];

	if (lf_identity_notes_build_id(data, size, hex) == 0 && strlen(hex) > LF_BUILD_ID_MAX)
		__builtin_trap();
	return 0;
}
