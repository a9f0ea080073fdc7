/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/PID/maps parsing and the gap search on what it parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "user-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_maps m;
	char *text = malloc(size + 1);
	uint64_t a;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (lf_maps_parse(text, &m) < 0)
		return 0;	/* the parser took text and freed it */
	if (m.n) {
		lf_maps_find(&m, m.v[0].start);
		lf_maps_find_gap(&m, m.v[0].start, m.v[0].end, 3 * 4096, 1ull << 31, &a);
	}
	lf_maps_release(&m);
	return 0;
}
