/* SPDX-License-Identifier: Apache-2.0 */
/* The rollout state machine and canary choice, without storage. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "rollout.h"

static const char *const state_names[] = { "running", "halted", "paused", "complete" };
static const char *const stage_names[] = { "canary", "all" };
static const char *const action_names[] = { "approve", "pause", "resume" };

static int parse(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return -EINVAL;
}

const char *lf_rollout_state_name(enum lf_rollout_state s) { return state_names[s]; }
int lf_rollout_state_parse(const char *name) { return parse(state_names, 4, name); }
const char *lf_rollout_stage_name(enum lf_rollout_stage s) { return stage_names[s]; }
int lf_rollout_stage_parse(const char *name) { return parse(stage_names, 2, name); }
int lf_rollout_action_parse(const char *name) { return parse(action_names, 3, name); }

int lf_rollout_act(struct lf_rollout_status *st, enum lf_rollout_action a)
{
	if (st->state == LF_ROLLOUT_COMPLETE)
		return -EINVAL;
	switch (a) {
	case LF_ACTION_PAUSE:
		if (st->state != LF_ROLLOUT_RUNNING)
			return -EINVAL;
		st->state = LF_ROLLOUT_PAUSED;
		snprintf(st->reason, sizeof(st->reason), "paused by an operator");
		return 0;
	case LF_ACTION_RESUME:
		if (st->state == LF_ROLLOUT_RUNNING)
			return -EINVAL;
		st->state = LF_ROLLOUT_RUNNING;
		st->reason[0] = '\0';
		/* Failures counted before the halt were looked at by a human. */
		return 1;
	case LF_ACTION_APPROVE:
		if (st->stage == LF_STAGE_ALL && st->state == LF_ROLLOUT_RUNNING)
			return -EINVAL;
		st->stage = LF_STAGE_ALL;
		st->state = LF_ROLLOUT_RUNNING;
		st->reason[0] = '\0';
		return 1;
	}
	return -EINVAL;
}

bool lf_rollout_evaluate(struct lf_rollout_status *st, const struct lf_rollout_counts *c)
{
	if (st->state != LF_ROLLOUT_RUNNING || c->targets <= 0)
		return false;
	/* Over the threshold: failed / targets > threshold / 100, in integers. */
	if (c->failed * 100 > (int64_t)st->error_threshold * c->targets) {
		st->state = LF_ROLLOUT_HALTED;
		snprintf(st->reason, sizeof(st->reason),
			 "%lld of %lld devices failed in the %s stage (threshold %d%%)",
			 (long long)c->failed, (long long)c->targets,
			 stage_names[st->stage], st->error_threshold);
		return true;
	}
	if (c->applied + c->failed < c->targets)
		return false;
	if (st->stage == LF_STAGE_CANARY) {
		st->state = LF_ROLLOUT_PAUSED;
		snprintf(st->reason, sizeof(st->reason), "canary stage done: awaiting approval");
	} else {
		st->state = LF_ROLLOUT_COMPLETE;
		snprintf(st->reason, sizeof(st->reason), "%lld of %lld devices applied",
			 (long long)c->applied, (long long)c->targets);
	}
	return true;
}

size_t lf_rollout_canary_count(size_t n, int percent)
{
	if (percent <= 0)
		return 0;
	if (percent >= 100)
		return n;
	return (n * (size_t)percent + 99) / 100;
}

uint64_t lf_rollout_rank(int64_t rollout_id, const char *device_uid)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char text[96];
	uint64_t v = 0;
	int n;

	n = snprintf(text, sizeof(text), "%lld:%s", (long long)rollout_id, device_uid);
	crypto_hash_sha256(h, (const unsigned char *)text, (size_t)n);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	return v;
}
