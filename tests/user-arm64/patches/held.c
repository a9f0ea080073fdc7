/* SPDX-License-Identifier: Apache-2.0 */
/* The fix of held(): one more. */
#include <unistd.h>

extern volatile int zero;

int held_v2(int x, int secs)
{
	if (secs)
		sleep((unsigned)secs);
	return x + 2 + zero;
}
