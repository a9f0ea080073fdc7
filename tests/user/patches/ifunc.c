/* SPDX-License-Identifier: Apache-2.0 */
/* Calls strlen and memcpy, IFUNC symbols of glibc, from patched code. */
#include <string.h>

extern const char *volatile word;
extern volatile int zero;

int slen_v2(void)
{
	char buf[32];
	size_t n = strlen(word);

	memcpy(buf, word, n + 1 + (size_t)zero);
	return (int)strlen(buf) * 10 + zero;
}
