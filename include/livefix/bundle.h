/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUNDLE_H
#define LIVEFIX_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "livefix/identity.h"
#include "livefix/trust.h"

/*
 * Patch bundle (.lfb), docs/FORMATS.md "Patch bundle":
 *
 *   0   8  magic 89 4c 46 42 0d 0a 1a 0a ("\x89LFB\r\n\x1a\n")
 *   8   4  container format, big-endian u32, 1
 *  12   4  envelope length E, big-endian u32, 2 .. LF_BUNDLE_ENVELOPE_MAX
 *  16   8  payload bytes P, big-endian u64, 0 .. LF_BUNDLE_PAYLOAD_MAX
 *  24   E  signed envelope whose "signed" is the manifest (canonical JSON)
 *  24+E P  the payloads, concatenated in manifest order
 *
 * The file is exactly 24 + E + P bytes. The manifest lists each payload's
 * length and sha256, so the signatures bind the payloads.
 */
#define LF_BUNDLE_MAGIC "\x89LFB\r\n\x1a\n"
#define LF_BUNDLE_HEADER 24
#define LF_BUNDLE_FORMAT 1
#define LF_BUNDLE_ENVELOPE_MAX (256u << 10)
#define LF_BUNDLE_PAYLOAD_MAX (256ull << 20)
#define LF_BUNDLE_MAX ((size_t)LF_BUNDLE_HEADER + LF_BUNDLE_ENVELOPE_MAX + LF_BUNDLE_PAYLOAD_MAX)
#define LF_BUNDLE_MAX_PAYLOADS 8
#define LF_BUNDLE_MAX_CVES 256
#define LF_BUNDLE_MAX_SUPERSEDES 64
#define LF_ID_MAX 64
#define LF_CVE_MAX 31
#define LF_DESCRIPTION_MAX 4096
#define LF_LEVEL_MAX 1000000

struct lf_cve {
	char id[LF_CVE_MAX + 1];
	char severity[16]; /* unknown, none, low, medium, high, critical */
};

struct lf_payload {
	char name[LF_ID_MAX + 1];
	uint64_t length;
	char sha256[LF_SHA256_HEX + 1];
	uint64_t offset; /* from the start of the file */
};

struct lf_manifest {
	char id[LF_ID_MAX + 1];
	struct lf_identity target;
	int64_t level;
	int64_t created;
	size_t nsupersedes;
	char supersedes[LF_BUNDLE_MAX_SUPERSEDES][LF_ID_MAX + 1];
	size_t ncves;
	struct lf_cve cves[LF_BUNDLE_MAX_CVES];
	char description[LF_DESCRIPTION_MAX + 1];
	size_t npayloads;
	struct lf_payload payloads[LF_BUNDLE_MAX_PAYLOADS];
};

struct lf_bundle {
	struct lf_signed env;
	struct lf_manifest m;
	const char *data; /* borrowed: the whole file */
	size_t len;
};

/* Token rules shared with repository metadata. */
bool lf_is_id(const char *s);
bool lf_is_severity(const char *s);

int lf_manifest_from_json(const struct lf_jv *body, struct lf_manifest *ret, struct lf_why *why);
/* Container and manifest structure; data must outlive the bundle. */
int lf_bundle_parse(const char *data, size_t len, struct lf_bundle *ret, struct lf_why *why);
void lf_bundle_release(struct lf_bundle *b);
/* Manifest signatures by the targets role. */
int lf_bundle_verify(const struct lf_bundle *b, const struct lf_keyring *ring,
		     const struct lf_role_keys *role, struct lf_why *why);
/* Every payload's sha256 against the manifest: -EBADMSG on mismatch. */
int lf_bundle_check_payloads(const struct lf_bundle *b, struct lf_why *why);

struct lf_payload_in {
	const char *name;
	const void *data;
	size_t len;
};

/*
 * Builds a bundle: manifest_json is validated like a received manifest and
 * its payload list must describe payloads exactly; then it is signed.
 */
int lf_bundle_write(const char *manifest_json, size_t manifest_len,
		    const struct lf_payload_in *payloads, size_t npayloads,
		    const struct lf_privkey *const *keys, size_t nkeys,
		    struct lf_buf *out, struct lf_why *why);

#endif
