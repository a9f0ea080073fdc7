/* SPDX-License-Identifier: Apache-2.0 */
/* The unified diff parser of livefix-build kernel on arbitrary text. */
#include <stdint.h>

#include "livefix/kbuild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_kfix fix = { 0 };

	if (lf_kfix_parse((const char *)data, size, &fix) == 0)
		lf_kfix_release(&fix);
	return 0;
}
