/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calls IFUNC symbols of glibc from patched code: strlen (the programs call
 * it: their own resolved slot), memcpy (libc's IRELATIVE slots) and strstr
 * (no slot anywhere in the process: the agent's own resolution).
 */
#include <string.h>

extern const char *volatile word;
extern volatile int zero;

int slen_v2(void)
{
	char buf[32];
	size_t n = strlen(word);

	memcpy(buf, word, n + 1 + (size_t)zero);
	return (int)strlen(buf) * 10 + (strstr(buf, "ll") == buf + 2 ? 0 : 1000) + zero;
}
