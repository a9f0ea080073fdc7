/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bounded JSON parser and canonical form. Beyond not crashing: the
 * canonical form of anything accepted must parse again to the same
 * canonical form (signatures depend on it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/json_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_buf c1 = LF_BUF_INIT(1 << 22), c2 = LF_BUF_INIT(1 << 22);
	struct lf_jv *v = NULL, *w = NULL;

	if (lf_json_parse((const char *)data, size, NULL, &v) < 0)
		return 0;
	if (lf_json_canonical(v, &c1) == 0) {
		if (lf_json_parse(c1.data, c1.len, NULL, &w) < 0 ||
		    lf_json_canonical(w, &c2) < 0 || c1.len != c2.len ||
		    memcmp(c1.data, c2.data, c1.len) != 0)
			abort();
	}
	lf_jv_free(v);
	lf_jv_free(w);
	lf_buf_release(&c1);
	lf_buf_release(&c2);
	return 0;
}
