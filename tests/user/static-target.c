/* SPDX-License-Identifier: Apache-2.0 */
/* A static executable (no dynamic symbols, libc inside): prints c=<compute(7)>. */
#include <stdio.h>
#include <unistd.h>

volatile int zero;

__attribute__((noipa)) int compute(int x)
{
	return x * 2 + zero;
}

int main(int argc, char **argv)
{
	FILE *out = argc > 1 ? fopen(argv[1], "w") : NULL;

	if (!out)
		return 2;
	for (unsigned long n = 0;; n++) {
		fprintf(out, "c=%d n=%lu\n", compute(7), n);
		fflush(out);
		usleep(3000);
	}
}
