/* SPDX-License-Identifier: Apache-2.0 */
/* A bundle manifest, as the "signed" body of the envelope. */
#include <stdint.h>
#include <stdlib.h>

#include "livefix/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_manifest *m = malloc(sizeof(*m));
	struct lf_why why;
	struct lf_jv *v;

	if (!m)
		return 0;
	if (lf_json_parse((const char *)data, size, NULL, &v) == 0) {
		if (lf_manifest_from_json(v, m, &why) == 0 &&
		    (m->npayloads == 0 || m->level < 1 || lf_identity_check(&m->target, NULL) < 0))
			abort(); /* accepted something the format forbids */
		lf_jv_free(v);
	}
	free(m);
	return 0;
}
