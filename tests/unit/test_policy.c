/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "policy.h"
#include "unit_tree.h"

/* Monday 2026-11-23 at hh:mm UTC, plus whole days. */
static time_t at(int day_offset, int hh, int mm)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 23 + day_offset,
			 .tm_hour = hh, .tm_min = mm };

	return timegm(&tm);
}

static void test_window_parse(void **state)
{
	struct lf_window w;

	assert_int_equal(lf_window_parse("mon-fri 01:00-05:00", &w), 0);
	assert_int_equal(w.days, 0x3e);
	assert_int_equal(w.start_min, 60);
	assert_int_equal(w.end_min, 300);
	assert_int_equal(lf_window_parse("sat-sun 22:00-02:00", &w), 0);
	assert_int_equal(w.days, 0x41);
	assert_int_equal(lf_window_parse("daily 00:00-24:00", &w), 0);
	assert_int_equal(w.days, 0x7f);
	assert_int_equal(w.end_min, 1440);
	assert_int_equal(lf_window_parse("mon 1:00-2:00", &w), -EINVAL);
	assert_int_equal(lf_window_parse("xyz 01:00-02:00", &w), -EINVAL);
	assert_int_equal(lf_window_parse("mon 25:00-26:00", &w), -EINVAL);
	assert_int_equal(lf_window_parse("mon 01:60-02:00", &w), -EINVAL);
	assert_int_equal(lf_window_parse("mon 24:00-02:00", &w), -EINVAL);
	assert_int_equal(lf_window_parse("mon", &w), -EINVAL);
}

static void test_window_membership(void **state)
{
	struct lf_policy p;
	time_t next;
	bool in;

	lf_policy_init(&p);
	snprintf(p.tz, sizeof(p.tz), "UTC0");
	assert_int_equal(lf_window_parse("mon-fri 01:00-05:00", &p.windows[0]), 0);
	p.n_windows = 1;
	assert_int_equal(lf_policy_in_window(&p, at(0, 2, 30), &in, &next), 0);
	assert_true(in);
	assert_int_equal(lf_policy_in_window(&p, at(0, 6, 0), &in, &next), 0);
	assert_false(in);
	assert_int_equal(next, at(1, 1, 0));
	/* Saturday: the next window is Monday. */
	assert_int_equal(lf_policy_in_window(&p, at(5, 3, 0), &in, &next), 0);
	assert_false(in);
	assert_int_equal(next, at(7, 1, 0));
	/* The same instant is inside the window one hour east of UTC. */
	snprintf(p.tz, sizeof(p.tz), "CET-1");
	assert_int_equal(lf_policy_in_window(&p, at(0, 0, 30), &in, &next), 0);
	assert_true(in);
}

static void test_window_wraps_midnight(void **state)
{
	struct lf_policy p;
	time_t next;
	bool in;

	lf_policy_init(&p);
	snprintf(p.tz, sizeof(p.tz), "UTC0");
	assert_int_equal(lf_window_parse("sat 22:00-02:00", &p.windows[0]), 0);
	p.n_windows = 1;
	assert_int_equal(lf_policy_in_window(&p, at(6, 1, 0), &in, &next), 0); /* Sun 01:00 */
	assert_true(in);
	assert_int_equal(lf_policy_in_window(&p, at(6, 3, 0), &in, &next), 0); /* Sun 03:00 */
	assert_false(in);
	assert_int_equal(next, at(12, 22, 0));
}

static void test_decide_conditions(void **state)
{
	struct lf_sysstate calm = { .load1 = 0.5, .cpu_pct = 10, .battery_pct = -1,
				    .busy_cmd_status = 0 };
	struct lf_sysstate s;
	struct lf_policy p;
	struct lf_decision d;

	lf_policy_init(&p);
	p.max_load = 2.0;
	p.max_cpu_pct = 80;
	p.min_battery_pct = 20;
	snprintf(p.busy_cmd, sizeof(p.busy_cmd), "vehicle-moving");
	assert_int_equal(lf_policy_decide(&p, &calm, at(0, 12, 0), 0, false, &d), 0);
	assert_int_equal(d.kind, LF_APPLY);

	s = calm;
	s.load1 = 3.5;
	lf_policy_decide(&p, &s, at(0, 12, 0), 0, false, &d);
	assert_int_equal(d.kind, LF_DEFER);
	assert_non_null(strstr(d.reason, "load average 3.50 above 2.00"));

	s = calm;
	s.cpu_pct = 95;
	lf_policy_decide(&p, &s, at(0, 12, 0), 0, false, &d);
	assert_non_null(strstr(d.reason, "CPU 95%"));

	s = calm;
	s.on_battery = true;
	s.battery_pct = 15;
	lf_policy_decide(&p, &s, at(0, 12, 0), 0, false, &d);
	assert_non_null(strstr(d.reason, "on battery at 15%"));
	s.on_battery = false; /* charging: no deferral */
	lf_policy_decide(&p, &s, at(0, 12, 0), 0, false, &d);
	assert_int_equal(d.kind, LF_APPLY);

	s = calm;
	s.busy_cmd_status = 1;
	lf_policy_decide(&p, &s, at(0, 12, 0), 0, false, &d);
	assert_non_null(strstr(d.reason, "busy check 'vehicle-moving' says busy"));

	s = calm;
	snprintf(s.running, sizeof(s.running), "print-job");
	lf_policy_decide(&p, &s, at(0, 12, 0), 0, false, &d);
	assert_non_null(strstr(d.reason, "process print-job is running"));
}

static void test_max_deferral_only_for_critical(void **state)
{
	struct lf_sysstate busy = { .load1 = 9, .battery_pct = -1 };
	struct lf_policy p;
	struct lf_decision d;
	time_t now = at(3, 12, 0);

	lf_policy_init(&p);
	p.max_load = 1;
	p.max_deferral_s = 24 * 3600;
	/* Not yet deferred long enough. */
	lf_policy_decide(&p, &busy, now, now - 3600, true, &d);
	assert_int_equal(d.kind, LF_DEFER);
	/* Long enough: critical applies, the reason says why. */
	lf_policy_decide(&p, &busy, now, now - 25 * 3600, true, &d);
	assert_int_equal(d.kind, LF_APPLY);
	assert_true(d.overridden);
	assert_non_null(strstr(d.reason, "load average"));
	/* Not critical: waits however long it takes. */
	lf_policy_decide(&p, &busy, now, now - 25 * 3600, false, &d);
	assert_int_equal(d.kind, LF_DEFER);
	/* Outside a window, the override applies too. */
	snprintf(p.tz, sizeof(p.tz), "UTC0");
	lf_window_parse("sun 01:00-02:00", &p.windows[0]);
	p.n_windows = 1;
	p.max_load = -1;
	lf_policy_decide(&p, &busy, now, 0, true, &d);
	assert_int_equal(d.kind, LF_DEFER);
	assert_non_null(strstr(d.reason, "outside the maintenance window (next opens Sun 01:00"));
	assert_int_equal(d.retry_at, at(6, 1, 0));
}

static void test_probe(void **state)
{
	char dir[] = "/tmp/lf-test-policy.XXXXXX", proc[64], power[64], cmd[96];
	struct lf_sysstate s;
	struct lf_policy p;

	assert_non_null(mkdtemp(dir));
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	snprintf(power, sizeof(power), "%s/power", dir);
	unit_put(dir, "proc/loadavg", "3.50 2.00 1.00 2/345 6789\n");
	unit_put(dir, "proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n");
	unit_put(dir, "proc/123/comm", "robot-arm\n");
	unit_put(dir, "power/BAT0/type", "Battery\n");
	unit_put(dir, "power/BAT0/capacity", "15\n");
	unit_put(dir, "power/BAT0/status", "Discharging\n");
	unit_put(dir, "power/AC/type", "Mains\n");
	unit_put(dir, "power/AC/online", "0\n");
	lf_policy_init(&p);
	snprintf(p.processes[0], sizeof(p.processes[0]), "robot-arm");
	p.n_processes = 1;
	snprintf(p.busy_cmd, sizeof(p.busy_cmd), "exit 3");
	assert_int_equal(lf_policy_probe(&p, proc, power, 1, &s), 0);
	assert_true(s.load1 > 3.49 && s.load1 < 3.51);
	assert_true(s.on_battery);
	assert_int_equal(s.battery_pct, 15);
	assert_string_equal(s.running, "robot-arm");
	assert_int_equal(s.busy_cmd_status, 3);

	/* Mains online: not on battery. A check that hangs counts as busy. */
	unit_put(dir, "power/AC/online", "1\n");
	snprintf(p.busy_cmd, sizeof(p.busy_cmd), "sleep 30");
	p.busy_cmd_timeout_ms = 100;
	p.n_processes = 0;
	assert_int_equal(lf_policy_probe(&p, proc, power, 1, &s), 0);
	assert_false(s.on_battery);
	assert_int_equal(s.busy_cmd_status, 124);
	assert_string_equal(s.running, "");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_parse),
		cmocka_unit_test(test_window_membership),
		cmocka_unit_test(test_window_wraps_midnight),
		cmocka_unit_test(test_decide_conditions),
		cmocka_unit_test(test_max_deferral_only_for_critical),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
