/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a device or an operator sends the portal, after JSON parsing: the
 * check-in inventory, device events, bundle facts and request paths. The
 * first byte picks the target; the rest is the body. The store is an
 * in-memory SQLite database with one enrolled device, opened once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "checkin.h"
#include "portal.h"
#include "repo.h"

static struct lf_store *store;
static struct lf_principal device;

static int init_store(void)
{
	int64_t feed, group;

	if (lf_store_open(":memory:", &store) < 0 ||
	    lf_repo_feed_ensure(store, "prod", &feed) < 0 ||
	    lf_store_int(store, "INSERT INTO device_groups (name, feed_id, created) VALUES ('g', $1, 1)"
			 " RETURNING id", &group, "i", feed) < 0 ||
	    lf_store_int(store, "INSERT INTO devices (uid, group_id, enrolled) VALUES ('d', $1, 1)"
			 " RETURNING id", &device.device_id, "i", group) < 0)
		abort();
	device.group_id = group;
	device.feed_id = feed;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200], path[256];
	json_t *body;
	struct lf_req req;
	bool ok;

	if (!store)
		init_store();
	if (size < 1 || size > 65536)
		return 0;
	if (data[0] % 4 == 3) {
		size_t n = size - 1 < sizeof(path) - 1 ? size - 1 : sizeof(path) - 1;

		memcpy(path, data + 1, n);
		path[n] = '\0';
		memset(&req, 0, sizeof(req));
		(void)lf_route_match("GET", path, &req, &ok);
		return 0;
	}
	if (data[0] % 4 == 0) {
		/* The check-in parses its own body. */
		struct lf_buf out = LF_BUF_INIT(1 << 20);

		(void)lf_checkin(store, &device, NULL, (const char *)data + 1, size - 1, 600, NULL, &out,
				 err, sizeof(err));
		lf_buf_release(&out);
		return 0;
	}
	body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!body)
		return 0;
	switch (data[0] % 4) {
	case 1:
		(void)lf_checkin_events(store, &device, body, err, sizeof(err));
		break;
	case 2:
		if (lf_store_begin(store) == 0) {
			(void)lf_repo_add_bundle(store, "prod", body);
			lf_store_rollback(store);
		}
		break;
	}
	json_decref(body);
	return 0;
}
