/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_FLEET_H
#define LIVEFIX_AGENT_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "livefix/buf.h"
#include "livefix/bundle.h"
#include "livefix/json_parse.h"

#include "policy.h"

/*
 * The device side of the portal's API (docs/api.yaml): registration, the
 * check-in, the policy it carries, and events. Files in the state directory:
 *
 *   portal.json     url, device id, ca (portal-ca.pem when given)
 *   credential      the device's bearer credential (0600)
 *   fleet.json      last and next check-in, backoff, policy etag, deferral
 *   policy.json     the last policy received (canonical JSON)
 *   events.json     events not yet delivered (at most LF_FLEET_QUEUE_MAX)
 */

#define LF_FLEET_URL_MAX 512
#define LF_FLEET_CRED_MAX 128
#define LF_FLEET_QUEUE_MAX 64      /* the portal takes 64 events per request */
#define LF_FLEET_BODY_MAX (64 << 10)
#define LF_FLEET_ALLOW_MAX 16      /* bundles a check-in answer may name */
#define LF_FLEET_DEFER_MAX 33      /* deferred at once: the kernel's and 32 userspace bundles */

struct lf_fleet_conf {
	char url[LF_FLEET_URL_MAX];   /* without a trailing slash */
	char ca[LF_FLEET_URL_MAX];    /* CA file path, or "" for the system's */
	char device[64];
	char credential[LF_FLEET_CRED_MAX + 1];
};

/* A bundle the policy holds back: one event when it starts or its reason changes. */
struct lf_fleet_deferral {
	char id[LF_ID_MAX + 1];
	int64_t since;                /* its first deferral (the maximum deferral counts from it) */
	char reason[256];
};

struct lf_fleet_state {
	int64_t last_checkin;         /* last successful check-in, 0 never */
	int64_t next_checkin;         /* when the next one is due */
	int64_t failures;             /* consecutive failed check-ins */
	char feed[LF_ID_MAX + 1];
	char policy_etag[64];
	char last_result[256];        /* outcome of the last cycle */
	struct lf_fleet_deferral deferred[LF_FLEET_DEFER_MAX]; /* oldest first */
	size_t ndeferred;
};

/* The deferral of bundle id, or NULL. */
const struct lf_fleet_deferral *lf_fleet_deferral_find(const struct lf_fleet_state *s,
							const char *id);

int lf_fleet_conf_load(const char *state_dir, struct lf_fleet_conf *ret);
int lf_fleet_conf_save(const char *state_dir, const struct lf_fleet_conf *c);
int lf_fleet_state_load(const char *state_dir, struct lf_fleet_state *ret);
int lf_fleet_state_save(const char *state_dir, const struct lf_fleet_state *s);

/*
 * POST path (below the portal URL) with a JSON body and the device
 * credential (when conf->credential is set). Returns the HTTP status, or a
 * negative errno when the portal could not be reached. out gets the answer.
 */
int lf_fleet_post(const struct lf_fleet_conf *c, const char *path, const char *body,
		  size_t len, struct lf_buf *out, char *err, size_t err_size);

/* The portal's policy object (api.yaml, Policy) as the agent's policy. */
int lf_fleet_policy_parse(const struct lf_jv *v, struct lf_policy *ret);
/* The stored policy; -ENOENT when none was received yet. */
int lf_fleet_policy_load(const char *state_dir, struct lf_policy *ret);

/* The check-in body (api.yaml, Inventory). */
int lf_fleet_inventory(const char *state_dir, const char *sysroot,
		       const struct lf_fleet_state *fs, struct lf_buf *out);

/*
 * An event for the portal (api.yaml, Events). Its detail object gets
 * {"kind": kind} when kind is set, {"<key>": "<text>"} when both are set,
 * {"processes": n} when processes >= 0, and always {"at": now}.
 */
struct lf_fleet_event {
	const char *type;             /* applied, failed, deferred, reverted */
	const char *id;               /* the bundle, NULL: none */
	int64_t level;                /* for reverted: the level in effect now */
	const char *kind;             /* kernel, user, NULL: not said */
	const char *key, *text;
	int64_t processes;            /* userspace applied: processes running it, -1: not said */
};
int lf_fleet_event_add(const char *state_dir, const struct lf_fleet_event *ev);

/* Queues an event; detail_key/detail become {"<key>": "<detail>", "at": now}. */
int lf_fleet_event_queue(const char *state_dir, const char *type, const struct lf_manifest *m,
			 const char *detail_key, const char *detail);
/* The same for a bundle named by id; level is the one the event reports
 * (for "reverted": the level in effect now, 0 none). id NULL: no bundle. */
int lf_fleet_event_queue_id(const char *state_dir, const char *type, const char *id,
			    int64_t level, const char *detail_key, const char *detail);
/* Number of queued events, 0 when none. */
int lf_fleet_events_count(const char *state_dir);
/* Sends the queued events; on 202 the queue is emptied. */
int lf_fleet_events_flush(const char *state_dir, const struct lf_fleet_conf *c, char *err,
			  size_t err_size);

#endif
