/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The portal schema as numbered migrations. A migration is never edited once
 * released: a change is a new entry. {{id}} and {{blob}} are the only
 * dialect differences between SQLite and PostgreSQL; everything else is
 * portable SQL (integers for booleans and times, in seconds since the epoch).
 */
#include <stddef.h>

#include "schema.h"

static const char *const migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE feeds ("
	" id {{id}}, name TEXT NOT NULL UNIQUE, created BIGINT NOT NULL);"
	"CREATE TABLE device_groups ("
	" id {{id}}, name TEXT NOT NULL UNIQUE,"
	" feed_id BIGINT NOT NULL REFERENCES feeds(id),"
	" pin_level BIGINT, policy TEXT NOT NULL DEFAULT '{}', created BIGINT NOT NULL);"
	"CREATE TABLE enrolment_keys ("
	" id {{id}}, key_hash TEXT NOT NULL UNIQUE,"
	" group_id BIGINT NOT NULL REFERENCES device_groups(id), label TEXT,"
	" uses BIGINT NOT NULL DEFAULT 0, max_uses BIGINT, expires BIGINT,"
	" revoked INTEGER NOT NULL DEFAULT 0, created BIGINT NOT NULL);"
	"CREATE TABLE devices ("
	" id {{id}}, uid TEXT NOT NULL UNIQUE,"
	" group_id BIGINT NOT NULL REFERENCES device_groups(id),"
	" hostname TEXT, arch TEXT, distro TEXT, kernel_release TEXT,"
	" kernel_build_id TEXT, agent_version TEXT,"
	" kernel_level BIGINT NOT NULL DEFAULT 0, inventory TEXT, inventory_hash TEXT,"
	" last_seen BIGINT, enrolled BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX devices_group ON devices(group_id);"
	"CREATE TABLE device_credentials ("
	" id {{id}}, device_id BIGINT NOT NULL REFERENCES devices(id),"
	" token_hash TEXT NOT NULL UNIQUE, created BIGINT NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE bundles ("
	" id {{id}}, bundle_id TEXT NOT NULL, feed_id BIGINT NOT NULL REFERENCES feeds(id),"
	" kind TEXT NOT NULL, level BIGINT NOT NULL, target TEXT NOT NULL,"
	" target_arch TEXT, target_release TEXT,"
	" sha256 TEXT NOT NULL, length BIGINT NOT NULL,"
	" withdrawn INTEGER NOT NULL DEFAULT 0, created BIGINT NOT NULL,"
	" UNIQUE (feed_id, bundle_id));"
	"CREATE TABLE bundle_cves ("
	" bundle_ref BIGINT NOT NULL REFERENCES bundles(id), cve TEXT NOT NULL,"
	" severity TEXT NOT NULL, PRIMARY KEY (bundle_ref, cve));"
	"CREATE TABLE repo_files ("
	" feed_id BIGINT NOT NULL REFERENCES feeds(id), name TEXT NOT NULL,"
	" sha256 TEXT NOT NULL, length BIGINT NOT NULL, content {{blob}} NOT NULL,"
	" updated BIGINT NOT NULL, PRIMARY KEY (feed_id, name));"
	/* rollouts.stage_started: the last event id before the current stage began. */
	"CREATE TABLE rollouts ("
	" id {{id}}, bundle_ref BIGINT NOT NULL REFERENCES bundles(id),"
	" group_id BIGINT NOT NULL REFERENCES device_groups(id),"
	" stage TEXT NOT NULL, canary_percent BIGINT NOT NULL,"
	" error_threshold BIGINT NOT NULL, state TEXT NOT NULL, reason TEXT,"
	" stage_started BIGINT NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL);"
	"CREATE INDEX rollouts_group ON rollouts(group_id, state);"
	"CREATE TABLE rollout_devices ("
	" rollout_id BIGINT NOT NULL REFERENCES rollouts(id),"
	" device_id BIGINT NOT NULL REFERENCES devices(id),"
	" PRIMARY KEY (rollout_id, device_id));"
	"CREATE TABLE rollout_approvals ("
	" id {{id}}, rollout_id BIGINT NOT NULL REFERENCES rollouts(id),"
	" token_id BIGINT, action TEXT NOT NULL, at BIGINT NOT NULL);"
	"CREATE TABLE device_patches ("
	" device_id BIGINT NOT NULL REFERENCES devices(id), kind TEXT NOT NULL,"
	" target TEXT NOT NULL, level BIGINT NOT NULL, bundle TEXT,"
	" state TEXT NOT NULL, updated BIGINT NOT NULL,"
	" PRIMARY KEY (device_id, kind, target));"
	"CREATE TABLE events ("
	" id {{id}}, device_id BIGINT NOT NULL REFERENCES devices(id),"
	" type TEXT NOT NULL, bundle TEXT, rollout_id BIGINT, detail TEXT,"
	" at BIGINT NOT NULL);"
	"CREATE INDEX events_device ON events(device_id, at);"
	"CREATE INDEX events_rollout ON events(rollout_id, type, at);"
	"CREATE TABLE tokens ("
	" id {{id}}, token_hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
	" label TEXT, created BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE audit_log ("
	" id {{id}}, at BIGINT NOT NULL, token_id BIGINT, role TEXT,"
	" action TEXT NOT NULL, object TEXT, detail TEXT);",
};

int lf_schema_count(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *lf_schema_migration(int version)
{
	if (version < 1 || version > lf_schema_count())
		return NULL;
	return migrations[version - 1];
}
