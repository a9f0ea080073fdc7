/* SPDX-License-Identifier: Apache-2.0 */
/* The rollout state machine and the canary choice, without storage. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollout.h"

static struct lf_rollout_status running(enum lf_rollout_stage stage, int threshold)
{
	struct lf_rollout_status st = { LF_ROLLOUT_RUNNING, stage, threshold, "" };

	return st;
}

static void test_halt_over_threshold(void **state)
{
	struct lf_rollout_status st = running(LF_STAGE_ALL, 10);
	struct lf_rollout_counts c = { .targets = 100, .applied = 50, .failed = 10 };

	/* 10 of 100 is at the threshold, not over it. */
	assert_false(lf_rollout_evaluate(&st, &c));
	assert_int_equal(st.state, LF_ROLLOUT_RUNNING);
	c.failed = 11;
	assert_true(lf_rollout_evaluate(&st, &c));
	assert_int_equal(st.state, LF_ROLLOUT_HALTED);
	assert_non_null(strstr(st.reason, "11 of 100"));
	/* Halted stays halted whatever else arrives. */
	c.failed = 0;
	c.applied = 100;
	assert_false(lf_rollout_evaluate(&st, &c));
	assert_int_equal(st.state, LF_ROLLOUT_HALTED);
}

static void test_zero_threshold_halts_on_first_failure(void **state)
{
	struct lf_rollout_status st = running(LF_STAGE_CANARY, 0);
	struct lf_rollout_counts c = { .targets = 3, .applied = 0, .failed = 0 };

	assert_false(lf_rollout_evaluate(&st, &c));
	c.failed = 1;
	assert_true(lf_rollout_evaluate(&st, &c));
	assert_int_equal(st.state, LF_ROLLOUT_HALTED);
}

static void test_canary_done_pauses_then_all_completes(void **state)
{
	struct lf_rollout_status st = running(LF_STAGE_CANARY, 20);
	struct lf_rollout_counts c = { .targets = 5, .applied = 4, .failed = 0 };

	assert_false(lf_rollout_evaluate(&st, &c));
	c.applied = 5;
	assert_true(lf_rollout_evaluate(&st, &c));
	assert_int_equal(st.state, LF_ROLLOUT_PAUSED);
	assert_int_equal(st.stage, LF_STAGE_CANARY);
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_APPROVE), 1);
	assert_int_equal(st.stage, LF_STAGE_ALL);
	assert_int_equal(st.state, LF_ROLLOUT_RUNNING);
	c = (struct lf_rollout_counts){ .targets = 50, .applied = 50, .failed = 0 };
	assert_true(lf_rollout_evaluate(&st, &c));
	assert_int_equal(st.state, LF_ROLLOUT_COMPLETE);
	/* Nothing moves a complete rollout. */
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_RESUME), -EINVAL);
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_APPROVE), -EINVAL);
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_PAUSE), -EINVAL);
}

static void test_actions(void **state)
{
	struct lf_rollout_status st = running(LF_STAGE_CANARY, 0);

	assert_int_equal(lf_rollout_act(&st, LF_ACTION_RESUME), -EINVAL); /* already running */
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_PAUSE), 0);
	assert_int_equal(st.state, LF_ROLLOUT_PAUSED);
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_PAUSE), -EINVAL);
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_RESUME), 1);
	assert_int_equal(st.state, LF_ROLLOUT_RUNNING);
	assert_int_equal(st.stage, LF_STAGE_CANARY);
	st.state = LF_ROLLOUT_HALTED;
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_APPROVE), 1);
	assert_int_equal(st.stage, LF_STAGE_ALL);
	assert_int_equal(lf_rollout_act(&st, LF_ACTION_APPROVE), -EINVAL); /* all, running */
	/* The paused state ignores results until someone acts. */
	struct lf_rollout_counts c = { .targets = 1, .applied = 0, .failed = 1 };
	st.state = LF_ROLLOUT_PAUSED;
	assert_false(lf_rollout_evaluate(&st, &c));
}

static void test_names(void **state)
{
	assert_int_equal(lf_rollout_state_parse("halted"), LF_ROLLOUT_HALTED);
	assert_int_equal(lf_rollout_stage_parse("all"), LF_STAGE_ALL);
	assert_int_equal(lf_rollout_action_parse("approve"), LF_ACTION_APPROVE);
	assert_true(lf_rollout_action_parse("delete") < 0);
	assert_true(lf_rollout_state_parse(NULL) < 0);
	assert_string_equal(lf_rollout_state_name(LF_ROLLOUT_COMPLETE), "complete");
}

static void test_canary_count(void **state)
{
	assert_int_equal(lf_rollout_canary_count(10, 20), 2);
	assert_int_equal(lf_rollout_canary_count(10, 1), 1); /* at least one when > 0 */
	assert_int_equal(lf_rollout_canary_count(0, 50), 0);
	assert_int_equal(lf_rollout_canary_count(7, 0), 0);
	assert_int_equal(lf_rollout_canary_count(7, 100), 7);
	assert_int_equal(lf_rollout_canary_count(1000, 5), 50);
	assert_int_equal(lf_rollout_canary_count(101, 10), 11);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Canaries of rollout r among 1000 devices: the 100 lowest ranks. */
static void canaries(int64_t r, bool chosen[1000])
{
	uint64_t ranks[1000], cut;
	char uid[16];

	for (int i = 0; i < 1000; i++) {
		snprintf(uid, sizeof(uid), "dev%d", i);
		ranks[i] = lf_rollout_rank(r, uid);
	}
	uint64_t sorted[1000];
	memcpy(sorted, ranks, sizeof(ranks));
	qsort(sorted, 1000, sizeof(sorted[0]), cmp_u64);
	cut = sorted[99];
	for (int i = 0; i < 1000; i++)
		chosen[i] = ranks[i] <= cut;
}

static void test_canary_choice_deterministic_and_varied(void **state)
{
	bool a[1000], b[1000], c[1000];
	int same_ab = 0, same_ac = 0, na = 0, low_half = 0;

	canaries(7, a);
	canaries(7, b);
	canaries(8, c);
	for (int i = 0; i < 1000; i++) {
		same_ab += a[i] == b[i];
		same_ac += a[i] && c[i];
		na += a[i];
		low_half += a[i] && i < 500;
	}
	assert_int_equal(same_ab, 1000); /* the same rollout always picks the same devices */
	assert_int_equal(na, 100);
	/* Another rollout picks mostly other devices (expected overlap: 10). */
	assert_true(same_ac < 40);
	/* Spread over the group, not the first ones enrolled. */
	assert_true(low_half > 25 && low_half < 75);
	assert_true(lf_rollout_rank(1, "x") != lf_rollout_rank(1, "y"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_halt_over_threshold),
		cmocka_unit_test(test_zero_threshold_halts_on_first_failure),
		cmocka_unit_test(test_canary_done_pauses_then_all_completes),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_canary_count),
		cmocka_unit_test(test_canary_choice_deterministic_and_varied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
