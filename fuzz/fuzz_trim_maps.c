/* SPDX-License-Identifier: Apache-2.0 */
/* The idle trim's reading of /proc/self/maps lines (src/agent/trim.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line, *nl;
	uintptr_t start, end;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (lf_agent_trim_candidate(line, 4096, &start, &end) &&
		    (start >= end || start % 4096 || end % 4096))
			abort();	/* a range the trim would madvise must be sane */
	}
	free(text);
	return 0;
}
