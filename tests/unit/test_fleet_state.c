/* SPDX-License-Identifier: Apache-2.0 */
/* The device's fleet.json (deferrals per bundle) and event queue (src/agent/fleet*.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/file.h"

#include "fleet.h"

static int setup(void **state)
{
	char *dir = strdup("/tmp/lf-fleet-state.XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char path[4096];

	snprintf(path, sizeof(path), "rm -rf '%s'", (char *)*state);
	if (system(path) != 0)
		return -1;
	free(*state);
	return 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(lf_write_file_atomic(path, text, strlen(text), 0644), 0);
}

/* A kernel and two userspace bundles deferred at once survive a save and a load. */
static void test_deferrals_round_trip(void **state)
{
	struct lf_fleet_state s = { .ndeferred = 3 }, t;
	const char *ids[] = { "kernel-7a1ec2d1e0b1a2b3-1", "ua-1", "uc-1" };

	for (size_t i = 0; i < 3; i++) {
		snprintf(s.deferred[i].id, sizeof(s.deferred[i].id), "%s", ids[i]);
		s.deferred[i].since = 1000 + (int64_t)i;
		snprintf(s.deferred[i].reason, sizeof(s.deferred[i].reason), "reason \"%zu\"", i);
	}
	snprintf(s.last_result, sizeof(s.last_result), "deferred");
	assert_int_equal(lf_fleet_state_save(*state, &s), 0);
	assert_int_equal(lf_fleet_state_load(*state, &t), 0);
	assert_int_equal(t.ndeferred, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct lf_fleet_deferral *d = lf_fleet_deferral_find(&t, ids[i]);

		assert_non_null(d);
		assert_int_equal(d->since, 1000 + (int64_t)i);
		assert_string_equal(d->reason, s.deferred[i].reason);
	}
	assert_null(lf_fleet_deferral_find(&t, "ub-1"));
	assert_string_equal(t.last_result, "deferred");
}

/* The one deferral an older agent wrote ("pending") is taken over. */
static void test_legacy_pending(void **state)
{
	struct lf_fleet_state t;

	write_file(*state, "fleet.json", "{\"pending\":\"kernel-1\",\"deferred_since\":77,"
		   "\"reason\":\"outside the maintenance window\",\"feed\":\"production\"}");
	assert_int_equal(lf_fleet_state_load(*state, &t), 0);
	assert_int_equal(t.ndeferred, 1);
	assert_string_equal(t.deferred[0].id, "kernel-1");
	assert_int_equal(t.deferred[0].since, 77);
	assert_string_equal(t.deferred[0].reason, "outside the maintenance window");
	assert_string_equal(t.feed, "production");

	write_file(*state, "fleet.json", "{\"pending\":\"\",\"deferred_since\":0}");
	assert_int_equal(lf_fleet_state_load(*state, &t), 0);
	assert_int_equal(t.ndeferred, 0);
}

/* More deferrals than the agent tracks, duplicates and bad entries: bounded, skipped. */
static void test_deferrals_bounded(void **state)
{
	char *text = malloc(60 << 10), *p = text;
	struct lf_fleet_state t;

	assert_non_null(text);
	p += sprintf(p, "{\"deferred\":[{\"id\":\"dup\",\"since\":1,\"reason\":\"a\"},"
		     "{\"id\":\"dup\",\"since\":2,\"reason\":\"b\"},{\"id\":\"\"},{\"id\":7},");
	for (int i = 0; i < LF_FLEET_DEFER_MAX + 10; i++)
		p += sprintf(p, "%s{\"id\":\"u-%d\",\"since\":%d,\"reason\":\"r\"}", i ? "," : "", i, i);
	sprintf(p, "]}");
	write_file(*state, "fleet.json", text);
	free(text);
	assert_int_equal(lf_fleet_state_load(*state, &t), 0);
	assert_int_equal(t.ndeferred, LF_FLEET_DEFER_MAX);
	assert_int_equal(lf_fleet_deferral_find(&t, "dup")->since, 1);
	assert_non_null(lf_fleet_deferral_find(&t, "u-0"));
	assert_null(lf_fleet_deferral_find(&t, "u-40"));
}

/* A userspace event carries its kind, its reason or process count, and when. */
static void test_event_detail(void **state)
{
	struct lf_fleet_event applied = { .type = "applied", .id = "ua-1", .level = 1,
					  .kind = "user", .processes = 3 };
	struct lf_fleet_event failed = { .type = "failed", .id = "ub-1", .level = 2, .kind = "user",
					 .key = "error", .text = "pid 9: busy", .processes = -1 };
	char path[4096], *data;
	size_t len;

	assert_int_equal(lf_fleet_event_add(*state, &applied), 0);
	assert_int_equal(lf_fleet_event_add(*state, &failed), 0);
	assert_int_equal(lf_fleet_events_count(*state), 2);
	snprintf(path, sizeof(path), "%s/events.json", (char *)*state);
	assert_int_equal(lf_read_file(path, 1 << 20, &data, &len), 0);
	assert_non_null(strstr(data, "\"bundle\":\"ua-1\""));
	assert_non_null(strstr(data, "\"kind\":\"user\",\"processes\":3"));
	assert_non_null(strstr(data, "\"error\":\"pid 9: busy\""));
	assert_non_null(strstr(data, "\"level\":2"));
	/* Only the applied event says how many processes. */
	assert_null(strstr(strstr(data, "processes") + 1, "processes"));
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deferrals_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferrals_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_detail, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
