/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process the userspace tests patch live. Every 3 ms the main thread
 * prints one line with the results of the patchable functions:
 *
 *   c=<compute(7)> m=<message()> l=<libfn(7)> o=<offset(7)> w=<workers> e=<errors> n=<line>
 *
 * usage: target OUTFILE NTHREADS [B][O][W][S][C][V][F][Z]
 *   NTHREADS workers call compute(7) in a loop; w= is "ok" when all of
 *   them saw the same value as the main thread in their last call, or the
 *   values they saw; e= counts nanosleep calls that failed; B adds a thread that sits forever inside
 *   busy_forever(); O a thread that is inside busy_often() half the time;
 *   W a thread inside busy_at_start() for the first two seconds, then gone;
 *   S a thread that sits in a signal handler entered inside in_signal();
 *   C a thread that creates and joins short-lived threads all the time;
 *   V a thread that is almost always inside vfork(), which no tracer can stop;
 *   F fills the address space within 2 GiB of the program: no room for a patch;
 *   Z makes the main thread exit (a zombie leader) after starting a printer.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int libfn(int x);

volatile int zero;
static int offset_value = 3;	/* a local the patches bind to */

__attribute__((noipa)) int compute(int x)
{
	return x * 2 + zero;
}

__attribute__((noipa)) const char *message(void)
{
	return zero ? "never" : "original";
}

__attribute__((noipa)) int offset(int x)
{
	return x + offset_value + zero;
}

__attribute__((noipa)) int tiny(void)
{
	return 0;
}

__attribute__((noipa)) void busy_forever(void)
{
	for (;;)
		pause();
}

__attribute__((noipa)) int busy_often(int x)
{
	usleep(4000);
	return x + zero;
}

/* Sits for the first two seconds of the process, then returns for good. */
__attribute__((noipa)) int busy_at_start(int x)
{
	struct timespec now, start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	return x + zero;
}

/* Interrupted by a signal whose handler never returns: a signal frame on the stack. */
__attribute__((noipa)) int in_signal(int x)
{
	raise(SIGUSR2);
	return x + zero;
}

static void on_usr2(int sig)
{
	for (;;)
		pause();
}

/*
 * Sleeps that end early or fail: the leader is where syscalls are injected,
 * usually while it sleeps here, and its nanosleep must restart unharmed.
 */
static volatile int sleep_errors;

static void main_anchor(void)
{
}

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	if (nanosleep(&ts, NULL) != 0)
		sleep_errors++;
}

#define WORKERS_MAX 512
static volatile int seen[WORKERS_MAX];

static void *worker(void *arg)
{
	int i = (int)(long)arg;

	for (;;) {
		seen[i] = compute(7);
		sleep_us(500);
	}
	return NULL;
}

static void *forever(void *arg)
{
	busy_forever();
	return arg;
}

static void *at_start(void *arg)
{
	busy_at_start(1);
	return arg;
}

static void *often(void *arg)
{
	for (;;) {
		busy_often(1);
		sleep_us(4000);
	}
	return arg;
}

static void *signalled(void *arg)
{
	struct sigaction sa = { .sa_handler = on_usr2 };

	sigaction(SIGUSR2, &sa, NULL);
	in_signal(1);
	return arg;
}

static void *nothing(void *arg)
{
	return arg;
}

/* Threads come and go all the time. */
static void *spawner(void *arg)
{
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
		sleep_us(200);
	}
	return arg;
}

/*
 * Reserves every free page within 2 GiB of the program (PROT_NONE, no
 * memory used), so that no patch can be placed within jump reach.
 */
static void fill_reach(void)
{
	uint64_t anchor = (uint64_t)(uintptr_t)&main_anchor & ~0xfffull, lo = anchor - (3ull << 30),
		 hi = anchor + (3ull << 30), starts[4096], ends[4096], prev = 0x10000;
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && n < 4096 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &starts[n], &ends[n]) == 2)
			n++;
	if (f)
		fclose(f);
	for (int i = 0; i <= n; i++) {
		uint64_t end = i < n ? starts[i] : hi;
		uint64_t a = prev > lo ? prev : lo, b = end < hi ? end : hi;
		if (b > a)
			mmap((void *)a, b - a, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			     MAP_FIXED_NOREPLACE, -1, 0);
		if (i < n && ends[i] > prev)
			prev = ends[i];
	}
}

/* Almost always inside vfork(), waiting for a child: a thread that cannot be stopped. */
static void *vforker(void *arg)
{
	for (;;) {
		pid_t child = vfork();
		if (child == 0) {
			struct timespec ts = { 0, 50 * 1000000 };
			syscall(SYS_nanosleep, &ts, NULL);
			_exit(0);
		}
		if (child > 0)
			waitpid(child, NULL, 0);
	}
	return arg;
}

static void workers_state(int n, int expect, char *buf, size_t size)
{
	size_t len = 0;

	snprintf(buf, size, "ok");
	for (int i = 0; i < n; i++)
		if (seen[i] != expect) {
			len += snprintf(buf + len, size - len, "%s%d", len ? "," : "", seen[i]);
			if (len >= size)
				break;
		}
}

static FILE *out;
static int nworkers;

static void *printer(void *arg)
{
	char w[256];
	int n = nworkers;

	for (unsigned long line = 0;; line++) {
		int c = compute(7);
		sleep_us(1000);	/* workers catch up with a change */
		workers_state(n, compute(7), w, sizeof(w));
		fprintf(out, "c=%d m=%s l=%d o=%d w=%s e=%d n=%lu\n", c, message(), libfn(7), offset(7), w,
			sleep_errors, line);
		fflush(out);
		sleep_us(2000);
		(void)tiny();
	}
	return arg;
}

int main(int argc, char **argv)
{
	const char *flags = argc > 3 ? argv[3] : "";
	pthread_t t;

	if (argc < 3) {
		fprintf(stderr, "usage: target OUTFILE NTHREADS [B][O][W][S][C][V][F][Z]\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	nworkers = atoi(argv[2]);
	if (!out || nworkers < 0 || nworkers > WORKERS_MAX)
		return 2;
	if (argc > 99)
		offset_value = argc;	/* keeps it a variable, not a constant */
	if (strchr(flags, 'F'))
		fill_reach();
	for (int i = 0; i < nworkers; i++)
		pthread_create(&t, NULL, worker, (void *)(long)i);
	if (strchr(flags, 'B'))
		pthread_create(&t, NULL, forever, NULL);
	if (strchr(flags, 'O'))
		pthread_create(&t, NULL, often, NULL);
	if (strchr(flags, 'W'))
		pthread_create(&t, NULL, at_start, NULL);
	if (strchr(flags, 'S'))
		pthread_create(&t, NULL, signalled, NULL);
	if (strchr(flags, 'C'))
		pthread_create(&t, NULL, spawner, NULL);
	if (strchr(flags, 'V'))
		pthread_create(&t, NULL, vforker, NULL);
	if (strchr(flags, 'Z')) {	/* the leader exits, the process lives on */
		pthread_create(&t, NULL, printer, NULL);
		pthread_exit(NULL);
	}
	printer(NULL);
}
