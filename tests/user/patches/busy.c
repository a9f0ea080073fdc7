/* SPDX-License-Identifier: Apache-2.0 */
/* Replaces functions that a thread is inside of. */
#include <unistd.h>

extern volatile int zero;

void busy_forever_v2(void)
{
	for (;;)
		pause();
}

int busy_often_v2(int x)
{
	usleep(4000);
	return x + zero;
}

int in_signal_v2(int x)
{
	return x + zero;
}

int busy_at_start_v2(int x)
{
	return x + zero;
}
