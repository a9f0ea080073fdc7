/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A function that one thread is inside for the first seconds, then never
 * again: a patch of it must be refused at first and applied once the
 * thread has left. Every 3 ms the main thread prints
 *
 *   h=<held(0, 0)> t=<in|out> n=<line>
 *
 * usage: wait-target OUTFILE SECONDS [spin]
 *   spin adds a thread that is almost always inside spin(), a leaf function
 *   without a stack frame: its caller's sp is its own (aarch64 bl does not
 *   push), which the stack check must accept.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile int zero;
static volatile int state;	/* 0 not yet, 1 inside held(), 2 left */

__attribute__((noipa)) int held(int x, int secs)
{
	if (secs)
		sleep((unsigned)secs);	/* the frame of held() is below libc's on the stack */
	return x + 1 + zero;
}

__attribute__((noipa)) static int spin(void)
{
	int n = 0;

	while (!zero && n < 1000000000)
		n++;
	return n;
}

static void *spinner(void *arg)
{
	for (;;)
		spin();
	return arg;
}

static void *holder(void *arg)
{
	state = 1;
	held(0, (int)(long)arg);
	state = 2;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 3000000 };
	pthread_t t;
	FILE *out = argc >= 3 ? fopen(argv[1], "w") : NULL;

	if (!out)
		return 2;
	if (argc > 3)
		pthread_create(&t, NULL, spinner, NULL);
	pthread_create(&t, NULL, holder, (void *)(long)atoi(argv[2]));
	while (!state)
		nanosleep(&ts, NULL);
	for (unsigned long n = 0;; n++) {
		fprintf(out, "h=%d t=%s n=%lu\n", held(0, 0), state == 1 ? "in" : "out", n);
		fflush(out);
		nanosleep(&ts, NULL);
	}
}
