/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define DEFAULT_MAX_DEFERRAL_S (3L * 24 * 3600)
#define MINUTES_PER_WEEK (7 * 1440)

void lf_policy_init(struct lf_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_load = -1;
	p->max_cpu_pct = -1;
	p->min_battery_pct = -1;
	p->busy_cmd_timeout_ms = 5000;
	p->max_deferral_s = DEFAULT_MAX_DEFERRAL_S;
	p->pin_level = -1;
}

/* Local time in a given zone. glibc has no per-call zone, so swap TZ. */
static int local_time(const char *tz, time_t t, struct tm *ret)
{
	char *saved = NULL;
	const char *old;
	int r = 0;

	if (!tz[0])
		return localtime_r(&t, ret) ? 0 : -EINVAL;
	old = getenv("TZ");
	if (old && !(saved = strdup(old)))
		return -ENOMEM;
	setenv("TZ", tz, 1);
	tzset();
	if (!localtime_r(&t, ret))
		r = -EINVAL;
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	return r;
}

/* Minutes from minute-of-week m forward to the next start of w (0 if now). */
static int minutes_to_start(const struct lf_window *w, int m)
{
	for (int d = 0; d <= 7; d++) {
		int start = d * 1440 + w->start_min;
		int day = ((m / 1440) + d) % 7;

		if (start < m % 1440 && d == 0)
			continue;
		if (w->days & (1u << day))
			return start - m % 1440;
	}
	return -1;
}

static bool in_window(const struct lf_window *w, int wday, int m)
{
	int prev = (wday + 6) % 7;

	if (w->start_min < w->end_min)
		return (w->days & (1u << wday)) && m >= w->start_min && m < w->end_min;
	/* Wraps past midnight (or a whole day when start == end). */
	return ((w->days & (1u << wday)) && m >= w->start_min) ||
	       ((w->days & (1u << prev)) && m < w->end_min);
}

int lf_policy_in_window(const struct lf_policy *p, time_t now, bool *ret_in, time_t *ret_next)
{
	struct tm tm;
	int best = -1, r, m;

	*ret_in = p->n_windows == 0;
	*ret_next = now;
	if (p->n_windows == 0)
		return 0;
	r = local_time(p->tz, now, &tm);
	if (r < 0)
		return r;
	m = tm.tm_hour * 60 + tm.tm_min;
	for (int i = 0; i < p->n_windows; i++) {
		int wait;

		if (in_window(&p->windows[i], tm.tm_wday, m)) {
			*ret_in = true;
			return 0;
		}
		wait = minutes_to_start(&p->windows[i], tm.tm_wday * 1440 + m);
		if (wait >= 0 && (best < 0 || wait < best))
			best = wait;
	}
	if (best >= 0)
		*ret_next = now + (time_t)best * 60 - tm.tm_sec;
	return 0;
}

__attribute__((format(printf, 2, 3)))
static void defer(struct lf_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->kind = LF_DEFER;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

static void check_conditions(const struct lf_policy *p, const struct lf_sysstate *s,
			     struct lf_decision *d)
{
	if (p->max_load >= 0 && s->load1 > p->max_load)
		defer(d, "load average %.2f above %.2f", s->load1, p->max_load);
	else if (p->max_cpu_pct >= 0 && s->cpu_pct > p->max_cpu_pct)
		defer(d, "CPU %d%% busy, above %d%%", s->cpu_pct, p->max_cpu_pct);
	else if (p->min_battery_pct >= 0 && s->on_battery && s->battery_pct >= 0 &&
		 s->battery_pct < p->min_battery_pct)
		defer(d, "on battery at %d%%, below %d%%", s->battery_pct, p->min_battery_pct);
	else if (p->busy_cmd[0] && s->busy_cmd_status > 0)
		defer(d, "busy check '%s' says busy (exit %d)", p->busy_cmd, s->busy_cmd_status);
	else if (s->running[0])
		defer(d, "process %s is running", s->running);
}

int lf_policy_decide(const struct lf_policy *p, const struct lf_sysstate *s, time_t now,
		     time_t deferred_since, bool critical, struct lf_decision *ret)
{
	struct lf_decision d = { .kind = LF_APPLY };
	time_t next;
	bool in;
	int r;

	r = lf_policy_in_window(p, now, &in, &next);
	if (r < 0)
		return r;
	if (!in) {
		struct tm tm;
		char when[32] = "?";

		if (local_time(p->tz, next, &tm) == 0)
			strftime(when, sizeof(when), "%a %H:%M", &tm);
		defer(&d, "outside the maintenance window (next opens %s%s%s)", when,
		      p->tz[0] ? " " : "", p->tz);
		d.retry_at = next;
	} else {
		check_conditions(p, s, &d);
	}
	if (d.kind == LF_DEFER && critical && p->max_deferral_s >= 0 && deferred_since > 0 &&
	    now - deferred_since >= p->max_deferral_s) {
		char why[sizeof(d.reason)];

		snprintf(why, sizeof(why), "%s", d.reason);
		snprintf(d.reason, sizeof(d.reason),
			 "critical patch deferred %ld s (maximum %ld s): applied although %s",
			 (long)(now - deferred_since), p->max_deferral_s, why);
		d.kind = LF_APPLY;
		d.overridden = true;
	}
	*ret = d;
	return 0;
}

static int parse_days(const char *s, size_t len, unsigned *ret)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	char a[4] = "", b[4] = "";
	int ia = -1, ib = -1;

	if (len == 5 && !strncmp(s, "daily", 5)) {
		*ret = 0x7f;
		return 0;
	}
	if (len == 3)
		memcpy(a, s, 3);
	else if (len == 7 && s[3] == '-') {
		memcpy(a, s, 3);
		memcpy(b, s + 4, 3);
	} else {
		return -EINVAL;
	}
	for (int i = 0; i < 7; i++) {
		if (!strcmp(a, names[i]))
			ia = i;
		if (!strcmp(b, names[i]))
			ib = i;
	}
	if (ia < 0 || (b[0] && ib < 0))
		return -EINVAL;
	if (ib < 0)
		ib = ia;
	*ret = 0;
	for (int d = ia;; d = (d + 1) % 7) {
		*ret |= 1u << d;
		if (d == ib)
			break;
	}
	return 0;
}

static int parse_hhmm(const char *s, int *ret)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -EINVAL;
	*ret = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
	return *ret <= 1440 && (s[3] - '0') < 6 ? 0 : -EINVAL;
}

/* "<days> HH:MM-HH:MM": days is daily, a day (mon) or a range (mon-fri). */
int lf_window_parse(const char *text, struct lf_window *ret)
{
	const char *sp = strchr(text, ' ');
	struct lf_window w;

	if (!sp || strlen(sp + 1) != 11 || sp[6] != '-')
		return -EINVAL;
	if (parse_days(text, (size_t)(sp - text), &w.days) < 0 ||
	    parse_hhmm(sp + 1, &w.start_min) < 0 || parse_hhmm(sp + 7, &w.end_min) < 0 ||
	    w.start_min >= 1440)
		return -EINVAL;
	*ret = w;
	return 0;
}
