/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The portal's policy object (docs/api.yaml, Policy) as the agent's struct
 * lf_policy. Maintenance windows are {days, start, end, tz}: days is absent
 * (every day), a string as in lf_window_parse ("daily", "mon-fri"), or an
 * array of day names; the windows share one time zone, the last given.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fleet.h"

/* days: absent (every day), "mon-fri" style, or ["sat", "sun"]. */
static int window_days(const struct lf_jv *v, unsigned *ret)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	char text[32];
	struct lf_window w;

	if (!v) {
		*ret = 0x7f;
		return 0;
	}
	if (v->type == LF_JSTR) {
		if (snprintf(text, sizeof(text), "%s 00:00-00:00", v->u.s) >= (int)sizeof(text) ||
		    lf_window_parse(text, &w) < 0)
			return -EBADMSG;
		*ret = w.days;
		return 0;
	}
	if (v->type != LF_JARR || v->len > 7)
		return -EBADMSG;
	*ret = 0;
	for (size_t i = 0; i < v->len; i++) {
		int d = -1;

		for (int k = 0; k < 7 && v->u.kids[i].type == LF_JSTR; k++)
			if (!strcmp(v->u.kids[i].u.s, names[k]))
				d = k;
		if (d < 0)
			return -EBADMSG;
		*ret |= 1u << d;
	}
	return 0;
}

static int parse_window(const struct lf_jv *o, struct lf_policy *p)
{
	struct lf_window *w = &p->windows[p->n_windows];
	const char *start, *end, *tz;
	char text[32];
	int r;

	if (o->type != LF_JOBJ)
		return -EBADMSG;
	r = lf_jv_get_str(o, "start", 5, &start);
	if (r == 0)
		r = lf_jv_get_str(o, "end", 5, &end);
	if (r < 0)
		return r;
	snprintf(text, sizeof(text), "daily %s-%s", start, end);
	r = lf_window_parse(text, w);
	if (r == 0)
		r = window_days(lf_jv_get(o, "days"), &w->days);
	if (r == 0 && lf_jv_get_str(o, "tz", sizeof(p->tz) - 1, &tz) == 0)
		snprintf(p->tz, sizeof(p->tz), "%s", tz); /* one zone: the windows' */
	if (r == 0)
		p->n_windows++;
	return r < 0 ? -EBADMSG : 0;
}

static int parse_processes(const struct lf_jv *a, struct lf_policy *p)
{
	if (a->type != LF_JARR || a->len > LF_POLICY_MAX_PROCESSES)
		return -EBADMSG;
	for (size_t i = 0; i < a->len; i++) {
		const struct lf_jv *s = &a->u.kids[i];

		if (s->type != LF_JSTR || s->len >= sizeof(p->processes[0]))
			return -EBADMSG;
		snprintf(p->processes[p->n_processes++], sizeof(p->processes[0]), "%s", s->u.s);
	}
	return 0;
}

int lf_fleet_policy_parse(const struct lf_jv *v, struct lf_policy *ret)
{
	const struct lf_jv *a;
	const char *s;
	int64_t n;
	int r = 0;

	lf_policy_init(ret);
	if (v->type != LF_JOBJ)
		return -EBADMSG;
	if ((a = lf_jv_get(v, "maintenance_windows"))) {
		if (a->type != LF_JARR || a->len > LF_POLICY_MAX_WINDOWS)
			return -EBADMSG;
		for (size_t i = 0; r == 0 && i < a->len; i++)
			r = parse_window(&a->u.kids[i], ret);
	}
	if (r == 0 && lf_jv_get(v, "max_load") &&
	    (r = lf_jv_get_int(v, "max_load", 0, 1 << 20, &n)) == 0)
		ret->max_load = (double)n;
	if (r == 0 && lf_jv_get(v, "min_battery") &&
	    (r = lf_jv_get_int(v, "min_battery", 0, 100, &n)) == 0)
		ret->min_battery_pct = (int)n;
	if (r == 0 && lf_jv_get(v, "max_deferral_hours") &&
	    (r = lf_jv_get_int(v, "max_deferral_hours", 0, 24 * 365, &n)) == 0)
		ret->max_deferral_s = (long)n * 3600;
	if (r == 0 && lf_jv_get(v, "busy_command") &&
	    (r = lf_jv_get_str(v, "busy_command", sizeof(ret->busy_cmd) - 1, &s)) == 0)
		snprintf(ret->busy_cmd, sizeof(ret->busy_cmd), "%s", s);
	if (r == 0 && (a = lf_jv_get(v, "defer_while_running")))
		r = parse_processes(a, ret);
	/* Set by the portal from the group's pin (PUT /groups/{group}/pin). */
	if (r == 0 && lf_jv_get(v, "pin_level"))
		r = lf_jv_get_int(v, "pin_level", 0, LF_LEVEL_MAX, &ret->pin_level);
	return r < 0 ? -EBADMSG : 0;
}
