/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process the TLS and IFUNC tests patch live. Three threads, numbered
 * 1..3, each set their own thread-local variables (tls_exe = 100*i here,
 * tls_lib = i and the library's static tls_hidden = 10*i in tls-lib.c) and
 * call probe(), lprobe() and slen() in a loop. Every 3 ms the main thread
 * prints one line:
 *
 *   p=<probe of threads 1,2,3> l=<lprobe of 1,2,3> s=<slen> w=<tls_writes of 1,2,3> n=<line>
 *
 * Unpatched: p=100,200,300 l=11,22,33 s=5. A patch that reads another
 * thread's variable, or the wrong block, shows in the numbers.
 *
 * usage: tls-target OUTFILE [D]   D: dlopen the library after 1 s instead
 *                                   of linking it (lprobe then reads 0s)
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NT 3

__thread int tls_exe;
__thread int tls_writes;	/* the patches count their calls here */
volatile int zero;
const char *volatile word = "hello";

__attribute__((noipa)) int probe(void)
{
	return tls_exe + zero;
}

__attribute__((noipa)) int slen(void)
{
	return (int)strlen(word) + zero;
}

static volatile int probes[NT], lprobes[NT], writes[NT];
static int (*volatile lprobe_fn)(void);
static void (*volatile tlsl_set_fn)(int);

static void nap(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static void *thread(void *arg)
{
	int i = (int)(long)arg;
	bool set = false;

	tls_exe = 100 * (i + 1);
	for (;;) {
		if (!set && tlsl_set_fn) {
			tlsl_set_fn(i + 1);
			set = true;
		}
		probes[i] = probe();
		lprobes[i] = lprobe_fn ? lprobe_fn() : 0;
		writes[i] = tls_writes;
		nap(500);
	}
	return NULL;
}

static int load_lib(const char *dir)
{
	char path[4096];
	void *h;

	snprintf(path, sizeof(path), "%s/libtlsl.so", dir);
	h = dlopen(path, RTLD_NOW);
	if (!h)
		return -1;
	tlsl_set_fn = (void (*)(int))dlsym(h, "tlsl_set");
	lprobe_fn = (int (*)(void))dlsym(h, "lprobe");
	return 0;
}

#ifndef TLS_DLOPEN_ONLY
extern __thread int tls_lib;
void tlsl_set(int v);
int lprobe(void);

/* The program itself reads the library's variable (initial-exec code). */
__attribute__((noipa)) int peek_lib(void)
{
	return tls_lib;
}
#endif

int main(int argc, char **argv)
{
	FILE *out = argc > 1 ? fopen(argv[1], "w") : NULL;
	bool later = argc > 2 && strchr(argv[2], 'D');
	pthread_t t;
	char dir[4096];
	const char *slash;

	if (!out)
		return 2;
	setvbuf(out, NULL, _IOLBF, 0);
	slash = strrchr(argv[0], '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
#ifndef TLS_DLOPEN_ONLY
	if (!later) {
		tlsl_set_fn = tlsl_set;
		lprobe_fn = lprobe;
	}
#endif
	for (long i = 0; i < NT; i++)
		pthread_create(&t, NULL, thread, (void *)i);
	for (unsigned long n = 0;; n++) {
		if (later && n == 300 && load_lib(dir) < 0)
			fprintf(out, "dlopen failed: %s\n", dlerror());
		fprintf(out, "p=%d,%d,%d l=%d,%d,%d s=%d w=%c%c%c n=%lu\n", probes[0], probes[1],
			probes[2], lprobes[0], lprobes[1], lprobes[2], slen(), writes[0] ? 'y' : '-',
			writes[1] ? 'y' : '-', writes[2] ? 'y' : '-', n);
		nap(3000);
	}
}
