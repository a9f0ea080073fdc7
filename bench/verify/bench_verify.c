/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verification cost, against a baseline measured in the same run:
 *   bundle:   parse + signature + payload hashes of a bundle file
 *   metadata: verify timestamp + snapshot + targets (one update's worth)
 *   baseline: sha256 of the same bytes
 * Prints medians of many runs. Never fails on time.
 *
 *   bench_verify BUNDLE TARGETS_PUB ROOT.json TIMESTAMP SNAPSHOT TARGETS [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/file.h"
#include "livefix/tuf.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

static char *slurp(const char *path, size_t *len)
{
	char *d;

	if (lf_read_file(path, LF_BUNDLE_MAX, &d, len) < 0) {
		fprintf(stderr, "bench_verify: cannot read %s\n", path);
		exit(1);
	}
	return d;
}

static int verify_bundle(const char *data, size_t len, const struct lf_root *keys)
{
	struct lf_bundle *b = malloc(sizeof(*b));
	int r = lf_bundle_parse(data, len, b, NULL);

	if (r == 0) {
		r = lf_tuf_verify_bundle(keys, b, NULL);
		lf_bundle_release(b);
	}
	free(b);
	return r;
}

static int verify_meta(char *const *doc, const size_t *len, const struct lf_root *root)
{
	struct lf_timestamp ts;
	struct lf_snapshot *snap = malloc(sizeof(*snap));
	struct lf_targets tg;
	int r = lf_meta_verify(doc[0], len[0], root, LF_ROLE_TIMESTAMP, &ts, NULL);

	if (r == 0)
		r = lf_meta_verify(doc[1], len[1], root, LF_ROLE_SNAPSHOT, snap, NULL);
	if (r == 0 && (r = lf_meta_verify(doc[2], len[2], root, LF_ROLE_TARGETS, &tg, NULL)) == 0)
		lf_targets_release(&tg);
	free(snap);
	return r;
}

int main(int argc, char **argv)
{
	int runs = argc > 7 ? atoi(argv[7]) : 201;
	double *tb = calloc((size_t)runs, sizeof(double)), *th = calloc((size_t)runs, sizeof(double));
	double *tm = calloc((size_t)runs, sizeof(double)), *tmh = calloc((size_t)runs, sizeof(double));
	struct lf_root *keys = calloc(1, sizeof(*keys)), *root = calloc(1, sizeof(*root));
	char *bundle, *rootdoc, *meta[3], hex[65];
	size_t blen, rlen, mlen[3], mtotal = 0;

	if (argc < 7)
		return fprintf(stderr, "usage: bench_verify BUNDLE PUB ROOT TS SNAP TARGETS [RUNS]\n"), 2;
	bundle = slurp(argv[1], &blen);
	rootdoc = slurp(argv[3], &rlen);
	for (int i = 0; i < 3; i++) {
		meta[i] = slurp(argv[4 + i], &mlen[i]);
		mtotal += mlen[i];
	}
	if (lf_key_load_public(argv[2], &keys->ring.keys[0]) < 0 ||
	    lf_root_verify_next(rootdoc, rlen, NULL, root, NULL) < 0)
		return fprintf(stderr, "bench_verify: bad key or root\n"), 1;
	keys->ring.n = 1;
	strcpy(keys->roles[LF_ROLE_TARGETS].keyids[0], keys->ring.keys[0].keyid);
	keys->roles[LF_ROLE_TARGETS].nkeys = 1;
	keys->roles[LF_ROLE_TARGETS].threshold = 1;
	for (int i = 0; i < runs; i++) {
		double t0 = now_us();

		if (verify_bundle(bundle, blen, keys) < 0)
			return fprintf(stderr, "bench_verify: bundle does not verify\n"), 1;
		tb[i] = now_us() - t0;
		t0 = now_us();
		lf_sha256_hex(bundle, blen, hex);
		th[i] = now_us() - t0;
		t0 = now_us();
		if (verify_meta(meta, mlen, root) < 0)
			return fprintf(stderr, "bench_verify: metadata does not verify\n"), 1;
		tm[i] = now_us() - t0;
		t0 = now_us();
		for (int k = 0; k < 3; k++)
			lf_sha256_hex(meta[k], mlen[k], hex);
		tmh[i] = now_us() - t0;
	}
	printf("bundle %zu bytes: verify median %.1f us, sha256 baseline %.1f us, ratio %.2f (%d runs)\n",
	       blen, median(tb, runs), median(th, runs), median(tb, runs) / median(th, runs), runs);
	printf("metadata update (timestamp+snapshot+targets, %zu bytes): verify median %.1f us, "
	       "sha256 baseline %.1f us, ratio %.1f\n", mtotal, median(tm, runs), median(tmh, runs),
	       median(tm, runs) / median(tmh, runs));
	return 0;
}
