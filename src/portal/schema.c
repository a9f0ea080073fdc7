/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The portal schema as numbered migrations. A migration is never edited once
 * released: a change is a new entry. {{id}} and {{blob}} are the only
 * dialect differences between SQLite and PostgreSQL in tables; everything
 * else is portable SQL (integers for booleans and times, in seconds since
 * the epoch), except triggers, which each database writes its own way:
 * text between {{sqlite}} or {{postgresql}} and {{end}} is for that backend.
 */
#include <stddef.h>

#include "schema.h"

/* Seconds since the epoch in SQLite's SQL. */
#define SQLITE_NOW "CAST(strftime('%s', 'now') AS INTEGER)"

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

	/*
	 * 2: the change log. Triggers note every change to what a device's
	 * check-in reads (its credential, its device row without last_seen,
	 * its group, its feed's timestamp, its group's running rollouts), from
	 * whichever process or portal instance makes it, so that a portal can
	 * keep those rows in memory (checkin_cache.c) and drop exactly what
	 * changed. kind 'device' names a device id, 'group' a group id (0: all
	 * groups). On PostgreSQL the trigger takes a transaction-scoped
	 * advisory lock before it draws its seq, so seq order is commit order
	 * (a reader that sees seq N has seen every committed seq below N), and
	 * notifies 'livefix_changes'; SQLite has one writer at a time anyway.
	 */
	"CREATE TABLE changes ("
	" seq {{id}}, kind TEXT NOT NULL, ref BIGINT NOT NULL, at BIGINT NOT NULL);"
	"CREATE INDEX changes_at ON changes(at);"
	"{{sqlite}}"
	"CREATE TRIGGER devices_changed AFTER UPDATE OF group_id, revoked, inventory_hash,"
	" kernel_build_id, kernel_level ON devices BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('device', NEW.id, " SQLITE_NOW "); END;"
	"CREATE TRIGGER devices_deleted AFTER DELETE ON devices BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('device', OLD.id, " SQLITE_NOW "); END;"
	"CREATE TRIGGER credentials_changed AFTER UPDATE ON device_credentials BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('device', NEW.device_id, " SQLITE_NOW ");"
	" INSERT INTO changes (kind, ref, at) SELECT 'device', OLD.device_id, " SQLITE_NOW
	"  WHERE OLD.device_id <> NEW.device_id; END;"
	"CREATE TRIGGER credentials_deleted AFTER DELETE ON device_credentials BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('device', OLD.device_id, " SQLITE_NOW "); END;"
	"CREATE TRIGGER groups_changed AFTER UPDATE ON device_groups BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', NEW.id, " SQLITE_NOW "); END;"
	"CREATE TRIGGER groups_deleted AFTER DELETE ON device_groups BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', OLD.id, " SQLITE_NOW "); END;"
	"CREATE TRIGGER feeds_changed AFTER UPDATE ON feeds BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', 0, " SQLITE_NOW "); END;"
	"CREATE TRIGGER timestamp_added AFTER INSERT ON repo_files"
	" WHEN NEW.name = 'timestamp.json' BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', 0, " SQLITE_NOW "); END;"
	"CREATE TRIGGER timestamp_changed AFTER UPDATE ON repo_files"
	" WHEN NEW.name = 'timestamp.json' OR OLD.name = 'timestamp.json' BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', 0, " SQLITE_NOW "); END;"
	"CREATE TRIGGER timestamp_deleted AFTER DELETE ON repo_files"
	" WHEN OLD.name = 'timestamp.json' BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', 0, " SQLITE_NOW "); END;"
	"CREATE TRIGGER rollouts_added AFTER INSERT ON rollouts BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', NEW.group_id, " SQLITE_NOW "); END;"
	"CREATE TRIGGER rollouts_changed AFTER UPDATE OF state, group_id ON rollouts BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', NEW.group_id, " SQLITE_NOW ");"
	" INSERT INTO changes (kind, ref, at) SELECT 'group', OLD.group_id, " SQLITE_NOW
	"  WHERE OLD.group_id <> NEW.group_id; END;"
	"CREATE TRIGGER rollouts_deleted AFTER DELETE ON rollouts BEGIN"
	" INSERT INTO changes (kind, ref, at) VALUES ('group', OLD.group_id, " SQLITE_NOW "); END;"
	"{{end}}"
	"{{postgresql}}"
	/* Column arg 1 of the row (NEW, or OLD for a delete) names the reference. */
	"CREATE FUNCTION livefix_note_change() RETURNS trigger LANGUAGE plpgsql AS $$"
	" DECLARE rec RECORD; ref BIGINT; BEGIN"
	"  PERFORM pg_advisory_xact_lock(" PG_CHANGES_LOCK ");"
	"  IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;"
	"  ref := COALESCE((to_jsonb(rec) ->> TG_ARGV[1])::bigint, 0);"
	"  INSERT INTO changes (kind, ref, at)"
	"   VALUES (TG_ARGV[0], ref, EXTRACT(EPOCH FROM clock_timestamp())::bigint);"
	"  IF TG_OP = 'UPDATE' AND TG_ARGV[1] <> '' AND"
	"     (to_jsonb(OLD) ->> TG_ARGV[1]) IS DISTINCT FROM (to_jsonb(NEW) ->> TG_ARGV[1]) THEN"
	"   INSERT INTO changes (kind, ref, at) VALUES (TG_ARGV[0],"
	"    COALESCE((to_jsonb(OLD) ->> TG_ARGV[1])::bigint, 0),"
	"    EXTRACT(EPOCH FROM clock_timestamp())::bigint);"
	"  END IF;"
	"  PERFORM pg_notify('livefix_changes', '');"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER devices_changed AFTER UPDATE OF group_id, revoked, inventory_hash,"
	" kernel_build_id, kernel_level ON devices"
	" FOR EACH ROW EXECUTE FUNCTION livefix_note_change('device', 'id');"
	"CREATE TRIGGER devices_deleted AFTER DELETE ON devices"
	" FOR EACH ROW EXECUTE FUNCTION livefix_note_change('device', 'id');"
	"CREATE TRIGGER credentials_changed AFTER UPDATE OR DELETE ON device_credentials"
	" FOR EACH ROW EXECUTE FUNCTION livefix_note_change('device', 'device_id');"
	"CREATE TRIGGER groups_changed AFTER UPDATE OR DELETE ON device_groups"
	" FOR EACH ROW EXECUTE FUNCTION livefix_note_change('group', 'id');"
	"CREATE TRIGGER feeds_changed AFTER UPDATE ON feeds"
	" FOR EACH ROW EXECUTE FUNCTION livefix_note_change('group', '');"
	"CREATE TRIGGER timestamp_changed AFTER INSERT OR UPDATE ON repo_files"
	" FOR EACH ROW WHEN (NEW.name = 'timestamp.json')"
	" EXECUTE FUNCTION livefix_note_change('group', '');"
	"CREATE TRIGGER timestamp_deleted AFTER DELETE ON repo_files"
	" FOR EACH ROW WHEN (OLD.name = 'timestamp.json')"
	" EXECUTE FUNCTION livefix_note_change('group', '');"
	"CREATE TRIGGER rollouts_added AFTER INSERT OR DELETE ON rollouts"
	" FOR EACH ROW EXECUTE FUNCTION livefix_note_change('group', 'group_id');"
	"CREATE TRIGGER rollouts_changed AFTER UPDATE OF state, group_id ON rollouts"
	" FOR EACH ROW EXECUTE FUNCTION livefix_note_change('group', 'group_id');"
	"{{end}}",
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
