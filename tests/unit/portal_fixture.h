/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixture shared by the portal's unit tests: a store on a temporary
 * SQLite file, or on a throwaway PostgreSQL cluster started with
 * tests/portal/pg_cluster.sh (path in LIVEFIX_PG_CLUSTER) and stopped at the
 * end of the test program.
 */
#ifndef PORTAL_FIXTURE_H
#define PORTAL_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "repo.h"
#include "store.h"

struct fixture {
	const char *kind;
	char dir[64];
	char target[256];
};

static inline int fixture_sqlite(struct fixture *f)
{
	f->kind = "sqlite";
	snprintf(f->dir, sizeof(f->dir), "/tmp/lfsq.XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->target, sizeof(f->target), "%s/portal.db", f->dir);
	return 0;
}

/* Returns -ENOENT when no cluster script was given (the test is skipped). */
static inline int fixture_pg(struct fixture *f)
{
	const char *script = getenv("LIVEFIX_PG_CLUSTER");
	char cmd[512];
	FILE *p;

	f->kind = "postgresql";
	if (!script)
		return -ENOENT;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lfpg.XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(cmd, sizeof(cmd), "'%s' start '%s'", script, f->dir);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	if (!fgets(f->target, sizeof(f->target), p))
		f->target[0] = '\0';
	if (pclose(p) != 0 || !f->target[0])
		return -EIO;
	f->target[strcspn(f->target, "\n")] = '\0';
	return 0;
}

/* Empties the database: the next lf_store_open() migrates a fresh one. */
static inline int fixture_reset(struct fixture *f)
{
	struct lf_store *s;

	if (!strcmp(f->kind, "sqlite")) {
		static const char *const suffix[] = { "", "-wal", "-shm" };
		char path[300];

		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s%s", f->target, suffix[i]);
			unlink(path);
		}
		return 0;
	}
	if (lf_store_open(f->target, &s) < 0)
		return -1;
	if (lf_store_script(s, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") < 0) {
		lf_store_close(s);
		return -1;
	}
	lf_store_close(s);
	return 0;
}

static inline void fixture_release(struct fixture *f)
{
	char cmd[512];

	if (!f->dir[0])
		return;
	if (!strcmp(f->kind, "postgresql")) {
		snprintf(cmd, sizeof(cmd), "'%s' stop '%s'", getenv("LIVEFIX_PG_CLUSTER"), f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not stop the cluster in %s\n", f->dir);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", f->dir);
	}
	f->dir[0] = '\0';
}

/* SQLite always, PostgreSQL when the cluster script was given (else *pg_skip). */
static inline int fixture_both(struct fixture *sq, struct fixture *pg, bool *pg_skip)
{
	int r;

	if (fixture_sqlite(sq) < 0)
		return -1;
	r = fixture_pg(pg);
	if (r == -ENOENT)
		*pg_skip = true;
	return r < 0 && r != -ENOENT ? -1 : 0;
}

/*
 * A group "g" on feed "prod" with n enrolled devices dev000.. and their
 * credentials in creds; returns the group id, or < 0.
 */
static inline int64_t fixture_fleet(struct lf_store *s, int n, char creds[][LF_TOKEN_MAX])
{
	int64_t feed_id, group_id, dev;
	char uid[40], hash[LF_HASH_HEX];

	if (lf_repo_feed_ensure(s, "prod", &feed_id) < 0 ||
	    lf_store_int(s, "INSERT INTO device_groups (name, feed_id, created)"
			 " VALUES ('g', $1, 1) RETURNING id", &group_id, "i", feed_id) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		snprintf(uid, sizeof(uid), "dev%03d", i);
		if (lf_store_int(s, "INSERT INTO devices (uid, group_id, enrolled)"
				 " VALUES ($1, $2, 1) RETURNING id", &dev, "si", uid, group_id) < 0 ||
		    lf_auth_token_new("lfd_", creds[i]) < 0)
			return -1;
		lf_auth_hash(creds[i], hash);
		if (lf_store_q(s, "INSERT INTO device_credentials (device_id, token_hash, created)"
			       " VALUES ($1, $2, 1)", NULL, NULL, "is", dev, hash) != 1)
			return -1;
	}
	return group_id;
}

#endif
