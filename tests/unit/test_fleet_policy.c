/* SPDX-License-Identifier: Apache-2.0 */
/* The portal's policy JSON as the agent's policy (src/agent/fleet_policy.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fleet.h"

static int parse(const char *text, struct lf_policy *p)
{
	struct lf_jv *v;
	int r = lf_json_parse(text, strlen(text), &lf_json_default_limits, &v);

	assert_int_equal(r, 0);
	r = lf_fleet_policy_parse(v, p);
	lf_jv_free(v);
	return r;
}

static void test_empty_is_default(void **state)
{
	struct lf_policy p, d;

	(void)state;
	assert_int_equal(parse("{}", &p), 0);
	lf_policy_init(&d);
	assert_int_equal(p.n_windows, 0);
	assert_true(p.max_load < 0);
	assert_int_equal(p.min_battery_pct, -1);
	assert_int_equal(p.max_deferral_s, d.max_deferral_s);
	assert_true(p.pin_level < 0);
}

/* The group's pin reaches the device in its policy; a bad one is refused. */
static void test_pin_level(void **state)
{
	struct lf_policy p;

	(void)state;
	assert_int_equal(parse("{\"pin_level\":1}", &p), 0);
	assert_int_equal(p.pin_level, 1);
	assert_int_equal(parse("{\"pin_level\":0}", &p), 0);
	assert_int_equal(p.pin_level, 0);
	assert_int_equal(parse("{\"pin_level\":-1}", &p), -EBADMSG);
	assert_int_equal(parse("{\"pin_level\":\"2\"}", &p), -EBADMSG);
}

static void test_portal_example(void **state)
{
	struct lf_policy p;

	(void)state;
	assert_int_equal(parse("{\"maintenance_windows\":[{\"days\":[\"sat\",\"sun\"],"
			       "\"start\":\"02:00\",\"end\":\"04:00\",\"tz\":\"Europe/Berlin\"}],"
			       "\"max_load\":2,\"max_deferral_hours\":72,\"min_battery\":30,"
			       "\"busy_command\":\"/bin/false\",\"defer_while_running\":[\"make\",\"cc1\"]}",
			       &p), 0);
	assert_int_equal(p.n_windows, 1);
	assert_int_equal(p.windows[0].days, (1u << 0) | (1u << 6));
	assert_int_equal(p.windows[0].start_min, 120);
	assert_int_equal(p.windows[0].end_min, 240);
	assert_string_equal(p.tz, "Europe/Berlin");
	assert_true(p.max_load > 1.99 && p.max_load < 2.01);
	assert_int_equal(p.max_deferral_s, 72 * 3600);
	assert_int_equal(p.min_battery_pct, 30);
	assert_string_equal(p.busy_cmd, "/bin/false");
	assert_int_equal(p.n_processes, 2);
	assert_string_equal(p.processes[1], "cc1");
}

static void test_days_forms(void **state)
{
	struct lf_policy p;

	(void)state;
	assert_int_equal(parse("{\"maintenance_windows\":[{\"days\":\"mon-fri\",\"start\":\"23:00\","
			       "\"end\":\"01:00\"},{\"start\":\"12:00\",\"end\":\"13:00\"}]}", &p), 0);
	assert_int_equal(p.n_windows, 2);
	assert_int_equal(p.windows[0].days, 0x3e);
	assert_int_equal(p.windows[0].end_min, 60); /* wraps past midnight */
	assert_int_equal(p.windows[1].days, 0x7f);
	assert_string_equal(p.tz, "");
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"maintenance_windows\":{}}",
		"{\"maintenance_windows\":[{\"start\":\"25:00\",\"end\":\"01:00\"}]}",
		"{\"maintenance_windows\":[{\"start\":\"01:00\"}]}",
		"{\"maintenance_windows\":[{\"days\":[\"someday\"],\"start\":\"01:00\",\"end\":\"02:00\"}]}",
		"{\"max_load\":\"high\"}",
		"{\"min_battery\":101}",
		"{\"defer_while_running\":[\"a-process-name-too-long\"]}",
		"{\"busy_command\":7}",
	};
	struct lf_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &p), -EBADMSG);
}

static void test_too_many_windows(void **state)
{
	char text[2048] = "{\"maintenance_windows\":[";
	struct lf_policy p;

	(void)state;
	for (int i = 0; i <= LF_POLICY_MAX_WINDOWS; i++)
		strcat(text, i ? ",{\"start\":\"01:00\",\"end\":\"02:00\"}"
			       : "{\"start\":\"01:00\",\"end\":\"02:00\"}");
	strcat(text, "]}");
	assert_int_equal(parse(text, &p), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_default),
		cmocka_unit_test(test_portal_example),
		cmocka_unit_test(test_pin_level),
		cmocka_unit_test(test_days_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_too_many_windows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
