/* SPDX-License-Identifier: Apache-2.0 */
/* Repository metadata, timestamp role: the envelope and the "signed" body. */
#include <stdint.h>
#include <stdlib.h>

#include "livefix/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_timestamp *ret = calloc(1, sizeof(*ret));
	struct lf_why why;
	struct lf_signed s;

	if (!ret)
		return 0;
	if (lf_signed_parse((const char *)data, size, &s, &why) == 0) {
		(void)lf_timestamp_parse(&s, ret, &why);
		lf_signed_release(&s);
	}
	free(ret);
	return 0;
}
