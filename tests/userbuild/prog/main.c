// SPDX-License-Identifier: Apache-2.0
/*
 * The process the userbuild tests patch live: every 3 ms one line
 *   c=<compute(7)> m=<message()> s=<counter step> v=<counter> a=<apply_scale(7)>
 *   k=<conf_sum()> l=<libval(7)> n=<line>
 * where the counter step is the difference between two counter_step() calls.
 */
#include <stdio.h>
#include <time.h>

#include "calc.h"

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 3000000 };
	FILE *out = argc > 1 ? fopen(argv[1], "w") : stdout;

	if (!out)
		return 1;
	setvbuf(out, NULL, _IOLBF, 0);
	for (unsigned long n = 0;; n++) {
		int s0 = counter_step();
		int s1 = counter_step();

		fprintf(out, "c=%d m=%s s=%d v=%d a=%d k=%d l=%d n=%lu\n", compute(7), message(), s1 - s0, s1,
			apply_scale(7), conf_sum(), libval(7), n);
		nanosleep(&ts, NULL);
	}
}
