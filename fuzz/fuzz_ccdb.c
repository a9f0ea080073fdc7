/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build user's compile database and command-line splitter on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/userbuild/ub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ub_ccdb db;
	char *text = malloc(size + 1), **argv;
	size_t argc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ub_ccdb_parse(text, size, &db) == 0)
		ub_ccdb_release(&db);
	if (ub_split_command(text, &argv, &argc) == 0)
		ub_free_argv(argv, argc);
	free(text);
	return 0;
}
