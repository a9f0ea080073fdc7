/* SPDX-License-Identifier: Apache-2.0 */
/* The .lfb container: header, envelope, manifest, payload bounds and hashes. */
#include <stdint.h>
#include <stdlib.h>

#include "livefix/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_bundle *b = malloc(sizeof(*b));
	struct lf_why why;

	if (!b)
		return 0;
	if (lf_bundle_parse((const char *)data, size, b, &why) == 0) {
		/* Every payload lies inside the file. */
		for (size_t i = 0; i < b->m.npayloads; i++)
			if (b->m.payloads[i].offset + b->m.payloads[i].length > size)
				abort();
		lf_bundle_check_payloads(b, &why);
		lf_bundle_release(b);
	}
	free(b);
	return 0;
}
