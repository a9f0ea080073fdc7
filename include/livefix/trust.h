/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_TRUST_H
#define LIVEFIX_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "livefix/buf.h"
#include "livefix/hex.h"
#include "livefix/json_parse.h"

/*
 * Keys, signed envelopes and TUF repository metadata (docs/FORMATS.md).
 * Errors follow include/livefix/error.h; functions that refuse input also
 * fill a struct lf_why with one line naming what was wrong, so the program
 * can log it once with its own context.
 */
struct lf_why {
	char msg[256];
};

__attribute__((format(printf, 2, 3)))
int lf_why_set(struct lf_why *w, const char *fmt, ...); /* returns 0 */

#define LF_KEYID_HEX 64
#define LF_SHA256_HEX 64
#define LF_MAX_KEYS 32       /* keys listed in one root */
#define LF_MAX_ROLE_KEYS 8   /* keys of one role */
#define LF_MAX_SIGNATURES 16 /* signatures on one document */
#define LF_NAME_MAX 128      /* metadata and target file names */

enum lf_role {
	LF_ROLE_ROOT,
	LF_ROLE_TARGETS,
	LF_ROLE_SNAPSHOT,
	LF_ROLE_TIMESTAMP,
	LF_ROLE_COUNT,
};

const char *lf_role_name(enum lf_role role);
int lf_role_from_name(const char *name); /* enum value or -EINVAL */

struct lf_pubkey {
	uint8_t pk[32];
	char keyid[LF_KEYID_HEX + 1];
};

struct lf_privkey {
	uint8_t sk[64];
	struct lf_pubkey pub;
	char role[16];
};

int lf_key_generate(const char *role, struct lf_privkey *ret);
void lf_privkey_wipe(struct lf_privkey *k);
/* Private key file: 0600, JSON; the public key is written to "<path>.pub". */
int lf_key_save(const char *path, const struct lf_privkey *k);
int lf_key_load_private(const char *path, struct lf_privkey *ret);
/* A public key file (".pub"), or the public half of a private key file. */
int lf_key_load_public(const char *path, struct lf_pubkey *ret);
/* Canonical JSON of the public key object, whose sha256 is the keyid. */
int lf_key_pub_json(const struct lf_pubkey *k, struct lf_buf *out);
int lf_key_from_json(const struct lf_jv *v, struct lf_pubkey *ret);

/* Keys and threshold of one role. */
struct lf_role_keys {
	size_t nkeys;
	char keyids[LF_MAX_ROLE_KEYS][LF_KEYID_HEX + 1];
	int64_t threshold;
};

struct lf_keyring {
	size_t n;
	struct lf_pubkey keys[LF_MAX_KEYS];
};

const struct lf_pubkey *lf_keyring_find(const struct lf_keyring *ring, const char *keyid);

/*
 * A signed document: {"signatures":[{"keyid":..,"sig":..}],"signed":{..}}.
 * canon holds the canonical JSON of "signed", the bytes signatures cover.
 */
struct lf_signed {
	struct lf_jv *doc;
	const struct lf_jv *body;
	struct lf_buf canon;
};

int lf_signed_parse(const char *data, size_t len, struct lf_signed *ret, struct lf_why *why);
void lf_signed_release(struct lf_signed *s);
/*
 * Counts distinct keys of role with a valid signature; fewer than the
 * threshold is -EKEYREJECTED, or -EBADMSG when a key of the role signed
 * but its signature does not match (tampered content).
 */
int lf_signed_verify(const struct lf_signed *s, const struct lf_keyring *ring,
		     const struct lf_role_keys *role, const char *what, struct lf_why *why);
/* Writes the envelope around the canonical form of body, signed by keys. */
int lf_signed_sign(const struct lf_jv *body, const struct lf_privkey *const *keys,
		   size_t nkeys, struct lf_buf *out);

/* Hex helpers. */
void lf_sha256_hex(const void *data, size_t len, char out[LF_SHA256_HEX + 1]);
/* SHA-1, only to name kernels by /proc/version (not for security). */
void lf_sha1_hex(const void *data, size_t len, char out[41]);

/* "YYYY-MM-DDTHH:MM:SSZ" <-> seconds since the epoch (UTC). */
int lf_time_parse(const char *s, int64_t *ret);
void lf_time_format(int64_t t, char out[21]);
int64_t lf_time_now(void);

#endif
