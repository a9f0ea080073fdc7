/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_ROLLOUT_H
#define LF_PORTAL_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/*
 * A staged rollout of one bundle to one group: a canary stage (a fixed,
 * deterministic subset of the group), then the whole group. It halts by
 * itself when the share of failing devices in the current stage goes over
 * the error threshold, pauses for approval when the canaries are done, and
 * completes when every device of the group applied the bundle.
 *
 *   running --(failures > threshold)--> halted --resume--> running
 *   running --(canaries all applied)--> paused --approve--> running, stage all
 *   running --pause--> paused --resume--> running
 *   running, stage all --(all applied)--> complete
 *   approve from halted/paused/running in the canary stage: stage all
 */
enum lf_rollout_state {
	LF_ROLLOUT_RUNNING,
	LF_ROLLOUT_HALTED,
	LF_ROLLOUT_PAUSED,
	LF_ROLLOUT_COMPLETE,
};

enum lf_rollout_stage {
	LF_STAGE_CANARY,
	LF_STAGE_ALL,
};

enum lf_rollout_action {
	LF_ACTION_APPROVE,
	LF_ACTION_PAUSE,
	LF_ACTION_RESUME,
};

struct lf_rollout_status {
	enum lf_rollout_state state;
	enum lf_rollout_stage stage;
	int error_threshold; /* percent of the stage's devices */
	char reason[128];
};

struct lf_rollout_counts {
	int64_t targets; /* devices in the current stage */
	int64_t applied;
	int64_t failed;  /* since the stage (re)started */
};

const char *lf_rollout_state_name(enum lf_rollout_state s);
int lf_rollout_state_parse(const char *name);
const char *lf_rollout_stage_name(enum lf_rollout_stage s);
int lf_rollout_stage_parse(const char *name);
int lf_rollout_action_parse(const char *name);

/*
 * Applies an operator's action. Returns 1 when the stage changed (failure
 * counting restarts), 0 otherwise, -EINVAL when not allowed in this state.
 */
int lf_rollout_act(struct lf_rollout_status *st, enum lf_rollout_action a);

/* Applies the devices' results; returns true when the state changed. */
bool lf_rollout_evaluate(struct lf_rollout_status *st, const struct lf_rollout_counts *c);

/* Number of canaries for a group of n devices: ceil(n * percent / 100). */
size_t lf_rollout_canary_count(size_t n, int percent);

/*
 * Deterministic canary rank of a device in a rollout: the first 8 bytes of
 * SHA-256("<rollout id>:<device uid>"). The canaries are the devices with
 * the lowest ranks, so the choice is stable, spread over the group, and
 * different from one rollout to the next.
 */
uint64_t lf_rollout_rank(int64_t rollout_id, const char *device_uid);

/* Store-level operations (rollout_db.c). */
struct lf_rollout_spec {
	const char *bundle_id;
	const char *feed;
	const char *group;
	int canary_percent;
	int error_threshold;
};

int lf_rollout_create(struct lf_store *s, const struct lf_rollout_spec *spec, int64_t *ret_id);
/* Re-reads the counts of a rollout and updates its state. */
int lf_rollout_refresh(struct lf_store *s, int64_t rollout_id);
int lf_rollout_apply_action(struct lf_store *s, int64_t rollout_id,
			    enum lf_rollout_action a, int64_t token_id);
int lf_rollout_get(struct lf_store *s, int64_t rollout_id, json_t **ret);

/*
 * Marks a bundle (by row id) withdrawn and halts its running and paused
 * rollouts with reason; *ret_halted (may be NULL) counts them. Run inside
 * the caller's transaction. Returns 1 when the bundle was not withdrawn
 * before, 0 when it was.
 */
int lf_bundle_withdraw(struct lf_store *s, int64_t ref, const char *reason, int64_t *ret_halted);

#endif
