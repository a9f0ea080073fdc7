/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_CHECKIN_H
#define LF_PORTAL_CHECKIN_H

#include <jansson.h>

#include "auth.h"
#include "store.h"

#define LF_MAX_EVENTS 64
#define LF_MAX_USER_PATCHES 256

/*
 * A device's check-in: records its inventory (only when it changed: an idle
 * check-in writes one timestamp) and answers with when to come back, its
 * policy when the device's copy is stale, whether its feed's timestamp.json
 * changed, and the bundles a running rollout tells it to install.
 */
int lf_checkin(struct lf_store *s, const struct lf_principal *dev, json_t *inv,
	       unsigned interval, json_t **ret_resp, char *err, size_t errsz);

/*
 * Records events (applied, reverted, deferred, failed) and lets the rollouts
 * they belong to react. Returns the number of events.
 */
int lf_checkin_events(struct lf_store *s, const struct lf_principal *dev, json_t *body,
		      char *err, size_t errsz);

#endif
