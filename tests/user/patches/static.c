/* SPDX-License-Identifier: Apache-2.0 */
/* In a static executable, libc's snprintf is one of the program's own symbols. */
#include <stdio.h>

extern volatile int zero;

int compute_v2(int x)
{
	char b[8];

	snprintf(b, sizeof(b), "%d", x);
	return x * 3 + zero + (b[0] == '7' ? 0 : 1000);	/* 21 */
}
