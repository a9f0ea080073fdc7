/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_SYNC_H
#define LF_PORTAL_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "livefix/trust.h"

#include "repo.h"
#include "store.h"

/*
 * Moving signed repositories between portals (air-gapped export/import and
 * chained mirrors). The receiving portal runs the device's own TUF client
 * (src/trust/tuf.c) over what it is given, starting from the root it
 * already trusts for the feed, so it accepts exactly what a device of the
 * upstream portal would accept, and then stores the verified files as they
 * are: devices below it verify the same signatures.
 */

/* Where the files come from: an export directory, or an upstream portal. */
struct lf_sync_source {
	const char *dir;     /* export: DIR/<feed>/ in the served layout */
	const char *url;     /* upstream base URL (https://host:port) */
	const char *ca_file; /* upstream TLS trust (NULL: the system's) */
	const char *bearer;  /* an upstream viewer token or device credential */
	uint64_t bytes;      /* transferred, for the report */
};

struct lf_sync_file {
	char name[LF_REPO_NAME_MAX];
	unsigned char *data;
	size_t len;
};

/* One feed, verified and staged in memory, stored by lf_sync_store(). */
struct lf_sync_feed {
	char feed[65];
	bool changed;            /* false: the portal already has this state */
	int64_t root_version, timestamp_version, targets_version;
	size_t nfiles, nbundles;
	struct lf_sync_file *files;
	json_t *facts;           /* array of bundle facts read from the verified manifests */
};

void lf_sync_feed_release(struct lf_sync_feed *f);

/*
 * Verifies one feed of src (root chain from the trusted root, timestamp,
 * snapshot, targets, every bundle) and stages its files. The trusted root
 * is the feed's root.json in the store, or root_file when the store has
 * none. Refuses with -EKEYREJECTED a root not reached from the trusted one
 * (a foreign root), -ESTALE anything older than what the store has
 * (rollback), -EBADMSG tampered content; why says which file and why.
 * workdir is an empty private directory for the client's state.
 */
int lf_sync_verify_feed(struct lf_store *s, struct lf_sync_source *src, const char *feed,
			const char *root_file, const char *workdir, struct lf_sync_feed *ret,
			struct lf_why *why);

/* Stores staged feeds in one transaction: all of them or nothing. */
int lf_sync_store(struct lf_store *s, struct lf_sync_feed *feeds, size_t n);

/* The feed names of an export directory (its subdirectories), as a JSON array. */
int lf_sync_dir_feeds(const char *dir, json_t **ret);

/*
 * Writes every feed's repository (the files the portal serves, bundles
 * included) under dir/<feed>/, into a temporary directory renamed to dir at
 * the end; dir must not exist. Returns the number of files written.
 */
int lf_sync_export(struct lf_store *s, const char *dir, size_t *ret_feeds);

/* Removes a directory tree (no symlinks followed). */
int lf_sync_rmtree(const char *dir);

/*
 * The row in repo_files that marks a feed as following an upstream (import,
 * mirror): never served (not a valid file name), not exported, and the
 * periodic refresh does not re-sign its timestamp with this portal's keys,
 * which the upstream root does not name.
 */
#define LF_SYNC_MARKER ".upstream"

#endif
