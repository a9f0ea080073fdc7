/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_PORTAL_REPO_H
#define LIVEFIX_PORTAL_REPO_H

#include <stddef.h>

/*
 * The seam between livefix-portal and the trust library (src/trust).
 *
 * The portal stores every repository file of a feed as an opaque blob and
 * serves it with its SHA-256 as ETag. It never parses or verifies signed
 * metadata itself. The only files it may (re)write are the ones signed by
 * its online keys: snapshot.json and timestamp.json. It asks this interface
 * for them:
 *
 *  - after targets.json of a feed changed (publish), sign_snapshot() gets the
 *    new targets.json and the previous snapshot.json (NULL data when none) and
 *    returns a new snapshot.json; then sign_timestamp() gets it and the
 *    previous timestamp.json (NULL data when none) and returns a new one;
 *  - every refresh_interval seconds, sign_timestamp() is called again with the
 *    current snapshot.json so that a device sees a fresh timestamp as long as
 *    the portal is alive (a frozen portal is noticed by expiry).
 *
 * A function returning -EOPNOTSUPP means "keep what was published": the
 * build host's own snapshot.json/timestamp.json are served unchanged. That is
 * what lf_portal_repo_passthrough does. livefix-portal's own signer (the
 * trust library with the keys in keys/) is lf_portal_signer_open().
 * Returned buffers are malloc()ed and owned by the caller. The online keys
 * live in the data directory's keys/ (mode 0700); ctx carries the signer's
 * own state (for example a connection to a key-holding process).
 */
struct lf_portal_blob {
	const unsigned char *data;
	size_t len;
};

struct lf_portal_repo_ops {
	const char *name;
	int (*sign_snapshot)(void *ctx, const char *feed, const struct lf_portal_blob *targets,
			     const struct lf_portal_blob *prev_snapshot,
			     unsigned char **ret_data, size_t *ret_len);
	int (*sign_timestamp)(void *ctx, const char *feed, const struct lf_portal_blob *snapshot,
			      const struct lf_portal_blob *prev_timestamp,
			      unsigned char **ret_data, size_t *ret_len);
	unsigned refresh_interval; /* seconds; 0 = never */
	void *ctx;                 /* passed to both functions (the signer's state) */
};

extern const struct lf_portal_repo_ops lf_portal_repo_passthrough;

#endif
