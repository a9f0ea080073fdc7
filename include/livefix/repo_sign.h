/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_REPO_SIGN_H
#define LIVEFIX_REPO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "livefix/json.h"
#include "livefix/tuf.h"

/*
 * Writing and signing repository metadata (docs/FORMATS.md section 7): the
 * one implementation of the online roles, used by `livefix-build repo sign`
 * on a build host and by livefix-portal with its online keys.
 */

/* A metadata document by its repository name, e.g. "targets/production.json". */
struct lf_meta_doc {
	const char *name;
	const void *data; /* NULL when there is none (first signature) */
	size_t len;
};

/* The head every role's "signed" body starts with. */
void lf_meta_write_head(struct lf_json *j, enum lf_role role, int64_t version, int64_t expires);
/*
 * Parses body back with the parser devices use (so nothing is signed that a
 * device would refuse to parse) and signs its canonical form.
 */
int lf_meta_sign_body(const struct lf_buf *body, const struct lf_privkey *const *keys,
		      size_t nkeys, struct lf_buf *out);
/*
 * Version and expiry of a signed document, without verifying it (the
 * signer's own previous output, to number the next one).
 */
int lf_meta_peek(const void *data, size_t len, int64_t *ret_version, int64_t *ret_expires);

/*
 * A new snapshot.json listing the given targets documents (one per feed, at
 * most LF_MAX_FEEDS), numbered one above prev (version 1 when prev has no
 * data), expiring at expires. *ret_version is the new version.
 */
int lf_repo_sign_snapshot(const struct lf_meta_doc *targets, size_t ntargets,
			  const struct lf_meta_doc *prev, int64_t expires,
			  const struct lf_privkey *const *keys, size_t nkeys, struct lf_buf *out,
			  int64_t *ret_version);
/* A new timestamp.json naming snapshot, numbered one above prev. */
int lf_repo_sign_timestamp(const struct lf_meta_doc *snapshot, const struct lf_meta_doc *prev,
			   int64_t expires, const struct lf_privkey *const *keys, size_t nkeys,
			   struct lf_buf *out);

#endif
