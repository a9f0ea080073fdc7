/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A program whose code spans more than b's +-128 MiB: far_fn() sits in its
 * own segment 256 MiB above the rest (linked with --section-start). A patch
 * of near_fn() must be placed near near_fn(), and its call to far_fn() go
 * through a stub. Every 3 ms it prints
 *
 *   b=<near_fn(1)> f=<far_fn(1)> n=<line>
 *
 * usage: big-target OUTFILE
 */
#include <stdio.h>
#include <time.h>

volatile int zero;

__attribute__((noipa)) int near_fn(int x)
{
	return x + 1 + zero;
}

__attribute__((noipa, section(".fartext"))) int far_fn(int x)
{
	return x + 1000 + zero;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 3000000 };
	FILE *out = argc == 2 ? fopen(argv[1], "w") : NULL;

	if (!out)
		return 2;
	for (unsigned long n = 0;; n++) {
		fprintf(out, "b=%d f=%d n=%lu\n", near_fn(1), far_fn(1), n);
		fflush(out);
		nanosleep(&ts, NULL);
	}
}
