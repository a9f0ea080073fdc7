/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix-diff: a developer's window on the differ (not installed).
 *
 *   livefix-diff [--touched f,g] [-o patch.o] ORIG.o PATCHED.o
 *   livefix-diff --time N ORIG.o PATCHED.o
 *
 * Prints one line per changed/new/removed function, new data, reference to
 * the original and problem; exits 3 when something is refused. --time runs
 * N rounds and prints the median time to load both objects and to load and
 * diff them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/diff.h"
#include "livefix/elf.h"

#define MAX_TOUCHED 256
#define MAX_ROUNDS 1000

static void print_result(const struct lf_diff_result *r)
{
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lf_diff_func *f = &r->funcs[i];

		if (f->change == LF_DIFF_UNCHANGED)
			continue;
		printf("%-9s %s", lf_diff_change_name(f->change), f->name);
		if (f->orig_name && strcmp(f->orig_name, f->name))
			printf(" (was %s)", f->orig_name);
		if (f->why != LF_DIFF_WHY_NONE && f->why != LF_DIFF_WHY_NEW)
			printf(": %s", lf_diff_why_name(f->why));
		if (f->detail)
			printf(" [%s]", f->detail);
		printf("\n");
	}
	for (size_t i = 0; i < r->ndata; i++)
		printf("new-data  %s (%llu bytes, %s)\n", r->data[i].name,
		       (unsigned long long)r->data[i].size, r->data[i].global ? "global" : "local");
	for (size_t i = 0; i < r->nrefs; i++)
		printf("ref       %s (%s%s)\n", r->refs[i].name, r->refs[i].global ? "global" : "local",
		       r->refs[i].external ? ", external" : "");
	for (size_t i = 0; i < r->nproblems; i++)
		printf("%-9s %s: %s: %s\n", r->problems[i].fatal ? "REFUSED" : "warning",
		       r->problems[i].symbol, lf_diff_reason_name(r->problems[i].reason),
		       r->problems[i].detail);
	printf("summary   %zu changed, %zu new, %zu removed, %zu unchanged, %zu refused\n",
	       r->nchanged, r->nnew, r->nremoved, r->nunchanged, r->nrefused);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int one_round(const char *a, const char *b, bool diff, double *ret_us)
{
	struct lf_elf *o = NULL, *p = NULL;
	struct lf_diff_result *res = NULL;
	double t0 = now_us();
	int r;

	r = lf_elf_open(a, &o);
	if (r == 0)
		r = lf_elf_open(b, &p);
	if (r == 0 && diff)
		r = lf_diff_objects(o, p, NULL, &res);
	*ret_us = now_us() - t0;
	lf_diff_result_free(res);
	lf_elf_free(o);
	lf_elf_free(p);
	return r;
}

static int time_rounds(int n, const char *a, const char *b)
{
	static double load[MAX_ROUNDS], full[MAX_ROUNDS];

	for (int i = 0; i < n; i++) {
		if (one_round(a, b, false, &load[i]) < 0 || one_round(a, b, true, &full[i]) < 0)
			return 1;
	}
	qsort(load, (size_t)n, sizeof(double), cmp_double);
	qsort(full, (size_t)n, sizeof(double), cmp_double);
	printf("rounds %d load_us %.0f load_diff_us %.0f diff_us %.0f ratio %.2f\n", n,
	       load[n / 2], full[n / 2], full[n / 2] - load[n / 2], full[n / 2] / load[n / 2]);
	return 0;
}

static int split_touched(char *list, const char **v)
{
	int n = 0;

	for (char *t = strtok(list, ","); t && n < MAX_TOUCHED; t = strtok(NULL, ","))
		v[n++] = t;
	return n;
}

int main(int argc, char **argv)
{
	const char *touched[MAX_TOUCHED], *out = NULL;
	struct lf_diff_opts opts = { .touched = touched };
	struct lf_elf *o = NULL, *p = NULL;
	struct lf_diff_result *res = NULL;
	int i = 1, rounds = 0, r;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--touched"))
			opts.ntouched = (size_t)split_touched(argv[i + 1], touched);
		else if (!strcmp(argv[i], "-o"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--time"))
			rounds = atoi(argv[i + 1]);
		else
			break;
	}
	if (argc - i != 2 || rounds < 0 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: livefix-diff [--touched f,g] [-o patch.o] [--time N] ORIG.o PATCHED.o\n");
		return 2;
	}
	if (rounds)
		return time_rounds(rounds, argv[i], argv[i + 1]);
	r = lf_elf_open(argv[i], &o);
	if (r == 0)
		r = lf_elf_open(argv[i + 1], &p);
	if (r == 0)
		r = lf_diff_objects(o, p, &opts, &res);
	if (r < 0) {
		fprintf(stderr, "livefix-diff: %s: %s\n", r == -ENOEXEC ? "not a supported object" : "failed",
			strerror(-r));
		goto out;
	}
	print_result(res);
	if (out && !res->nrefused) {
		r = lf_diff_write_object(p, res, out);
		if (r < 0)
			fprintf(stderr, "livefix-diff: %s: cannot write: %s\n", out, strerror(-r));
	}
out:
	r = r < 0 ? 1 : res->nrefused ? 3 : 0;
	lf_diff_result_free(res);
	lf_elf_free(o);
	lf_elf_free(p);
	return r;
}
