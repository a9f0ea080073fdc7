/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark target. usage: target OUTFILE NTHREADS sleep|measure
 *   sleep:   NTHREADS threads (main included) sleep 1 ms in a loop.
 *   measure: the main thread times 2^22 calls of work() per round and
 *            prints "ns/call" lines; NTHREADS-1 threads sleep.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile unsigned sink;

__attribute__((noipa)) unsigned work(unsigned x)
{
	return x * 2654435761u + 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

static void *sleeper(void *arg)
{
	for (;;)
		sleep_ms(1);
	return arg;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	FILE *out = fopen(argv[1], "w");
	int n = atoi(argv[2]);
	pthread_t t;

	if (!out)
		return 2;
	for (int i = 1; i < n; i++)
		pthread_create(&t, NULL, sleeper, NULL);
	fprintf(out, "ready\n");
	fflush(out);
	if (strcmp(argv[3], "measure"))
		sleeper(NULL);
	for (;;) {
		unsigned acc = 1;
		double t0 = now();
		for (unsigned i = 0; i < (1u << 22); i++)
			acc = work(acc);
		double t1 = now();
		sink = acc;
		fprintf(out, "%.4f\n", (t1 - t0) / (1u << 22));
		fflush(out);
		sleep_ms(5);
	}
}
