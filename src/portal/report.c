/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exposure: which device is still exposed to which CVE, and which live patch
 * fixed it. Levels are cumulative, so a device whose level for a target is
 * at least the lowest level of a bundle naming the CVE is fixed, by the
 * highest such bundle at or below its level.
 *
 * Example: bundles L1 {CVE-A}, L2 {CVE-A, CVE-B}, L3 {CVE-C} for build-id X.
 * A device on X at level 2: CVE-A fixed (by L2), CVE-B fixed (by L2),
 * CVE-C open (needs L3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "report.h"

#define EXPOSURE_SELECT "SELECT c.cve, c.severity, d.uid, b.kind, b.target, b.bundle_id, b.level," \
	" CASE WHEN b.kind = 'kernel' THEN d.kernel_level ELSE COALESCE(p.level, 0) END AS have" \
	" FROM bundle_cves c JOIN bundles b ON b.id = c.bundle_ref" \
	" JOIN device_groups g ON g.feed_id = b.feed_id" \
	" JOIN devices d ON d.group_id = g.id AND d.revoked = 0" \
	" LEFT JOIN device_patches p ON p.device_id = d.id AND p.kind = b.kind AND p.target = b.target" \
	" WHERE b.withdrawn = 0 AND ((b.kind = 'kernel' AND b.target = d.kernel_build_id)" \
	"  OR (b.kind = 'user' AND p.target IS NOT NULL))"
#define EXPOSURE_ORDER " ORDER BY c.cve, d.uid, b.kind, b.target, b.level"

/*
 * Rows arrive sorted by (cve, device, target, level); one verdict is emitted
 * per (cve, device, target) when the group ends.
 */
struct walk {
	lf_exposure_fn fn;
	void *ctx;
	struct lf_exposure cur;
	bool open_group;
};

static int flush(struct walk *w)
{
	int r = 0;

	if (w->open_group)
		r = w->fn(w->ctx, &w->cur);
	w->open_group = false;
	return r;
}

static bool same_group(const struct lf_exposure *e, const struct lf_row *row)
{
	return !strcmp(e->cve, row->vals[0]) && !strcmp(e->device, row->vals[2]) &&
	       !strcmp(e->kind, row->vals[3]) && !strcmp(e->target, row->vals[4]);
}

static int exposure_row(void *ctx, const struct lf_row *row)
{
	struct walk *w = ctx;
	struct lf_exposure *e = &w->cur;
	int64_t level = strtoll(row->vals[6], NULL, 10), have = strtoll(row->vals[7], NULL, 10);
	int r;

	if (!w->open_group || !same_group(e, row)) {
		r = flush(w);
		if (r < 0)
			return r;
		memset(e, 0, sizeof(*e));
		snprintf(e->cve, sizeof(e->cve), "%s", row->vals[0]);
		snprintf(e->severity, sizeof(e->severity), "%s", row->vals[1]);
		snprintf(e->device, sizeof(e->device), "%s", row->vals[2]);
		snprintf(e->kind, sizeof(e->kind), "%s", row->vals[3]);
		snprintf(e->target, sizeof(e->target), "%s", row->vals[4]);
		e->have = have;
		e->fix_level = level; /* the lowest level naming the CVE */
		snprintf(e->fix_bundle, sizeof(e->fix_bundle), "%s", row->vals[5]);
		w->open_group = true;
	}
	if (level <= have) {
		e->fixed = true;
		e->fixed_level = level;
		snprintf(e->fixed_by, sizeof(e->fixed_by), "%s", row->vals[5]);
	}
	return 0;
}

int lf_report_exposure(struct lf_store *s, const char *cve, int64_t device_id,
		       lf_exposure_fn fn, void *ctx)
{
	struct walk w = { .fn = fn, .ctx = ctx };
	int r;

	if (cve)
		r = lf_store_q(s, EXPOSURE_SELECT " AND c.cve = $1" EXPOSURE_ORDER, exposure_row, &w,
			       "s", cve);
	else if (device_id)
		r = lf_store_q(s, EXPOSURE_SELECT " AND d.id = $1" EXPOSURE_ORDER, exposure_row, &w,
			       "i", device_id);
	else
		r = lf_store_q(s, EXPOSURE_SELECT EXPOSURE_ORDER, exposure_row, &w, "");
	if (r < 0)
		return r;
	return flush(&w);
}

struct device_cves {
	json_t *open, *fixed;
};

static int device_cve(void *ctx, const struct lf_exposure *e)
{
	struct device_cves *d = ctx;
	json_t *item;

	if (e->fixed)
		item = json_pack("{s:s,s:s,s:s,s:I}", "cve", e->cve, "severity", e->severity,
				 "fixed_by", e->fixed_by, "level", (json_int_t)e->fixed_level);
	else
		item = json_pack("{s:s,s:s,s:s,s:I}", "cve", e->cve, "severity", e->severity,
				 "fix_bundle", e->fix_bundle, "fix_level", (json_int_t)e->fix_level);
	return json_array_append_new(e->fixed ? d->fixed : d->open, item) < 0 ? -ENOMEM : 0;
}

int lf_report_device_cves(struct lf_store *s, int64_t device_id, json_t **ret_open,
			  json_t **ret_fixed)
{
	struct device_cves d = { json_array(), json_array() };
	int r = (d.open && d.fixed) ? lf_report_exposure(s, NULL, device_id, device_cve, &d) : -ENOMEM;

	if (r < 0) {
		json_decref(d.open);
		json_decref(d.fixed);
		return r;
	}
	*ret_open = d.open;
	*ret_fixed = d.fixed;
	return 0;
}
