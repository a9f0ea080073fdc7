/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_REPORT_H
#define LF_PORTAL_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* One verdict: a device against one CVE for one patch target. */
struct lf_exposure {
	char cve[40];
	char severity[16];
	char device[40];
	char kind[16];
	char target[130];
	int64_t have;         /* the device's level for this target */
	int64_t fix_level;    /* lowest level naming the CVE */
	char fix_bundle[130];
	bool fixed;
	int64_t fixed_level;
	char fixed_by[130];   /* highest bundle <= have naming the CVE */
};

typedef int (*lf_exposure_fn)(void *ctx, const struct lf_exposure *e);

/* Walks verdicts, for one CVE, one device (id), or all when both are unset. */
int lf_report_exposure(struct lf_store *s, const char *cve, int64_t device_id,
		       lf_exposure_fn fn, void *ctx);

#endif
