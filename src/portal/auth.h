/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_AUTH_H
#define LF_PORTAL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * Credentials are 256-bit random bearer tokens with a prefix telling their
 * kind: "lfa_" admin tokens, "lfd_" device credentials, "lfe_" enrolment
 * keys. Only their SHA-256 is stored, so a copy of the database lets nobody
 * in. Roles form a ladder: admin > operator > viewer. Devices are outside it.
 */
enum lf_access {
	LF_ACCESS_NONE = 0,
	LF_ACCESS_VIEWER = 1,
	LF_ACCESS_OPERATOR = 2,
	LF_ACCESS_ADMIN = 3,
};

#define LF_TOKEN_MAX 64 /* prefix + 43 base64url characters + NUL, rounded */
#define LF_HASH_HEX 65

struct lf_principal {
	enum lf_access role;
	int64_t token_id;   /* admin tokens */
	int64_t device_id;  /* devices; 0 for admins */
	int64_t group_id;
	int64_t feed_id;
	char device_uid[40];
};

const char *lf_access_name(enum lf_access role);
/* Returns LF_ACCESS_NONE for an unknown name. */
enum lf_access lf_access_parse(const char *name);
bool lf_access_allows(enum lf_access have, enum lf_access need);

/* Makes a new random token "<prefix><base64url>"; prefix is 4 characters. */
int lf_auth_token_new(const char *prefix, char ret_token[LF_TOKEN_MAX]);
void lf_auth_hash(const char *token, char ret_hex[LF_HASH_HEX]);
/* A uuid-like random identifier (32 hex digits) for devices. */
void lf_auth_random_hex(char *ret, size_t bytes);

/* Creates an admin token; returns its id, the token text in ret_token. */
int lf_auth_admin_token_create(struct lf_store *s, enum lf_access role, const char *label,
			       char ret_token[LF_TOKEN_MAX], int64_t *ret_id);

/*
 * Resolves a bearer token to a principal: admin tokens to their role,
 * device credentials to their device. -EACCES when unknown or revoked.
 */
int lf_auth_lookup(struct lf_store *s, const char *token, struct lf_principal *ret);

/* Extracts the token from an "Authorization: Bearer <token>" value. */
const char *lf_auth_bearer(const char *header);

#endif
