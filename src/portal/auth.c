/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"

static const char *const role_names[] = {
	[LF_ACCESS_NONE] = "none",
	[LF_ACCESS_VIEWER] = "viewer",
	[LF_ACCESS_OPERATOR] = "operator",
	[LF_ACCESS_ADMIN] = "admin",
};

const char *lf_access_name(enum lf_access role)
{
	if (role < LF_ACCESS_NONE || role > LF_ACCESS_ADMIN)
		return "none";
	return role_names[role];
}

enum lf_access lf_access_parse(const char *name)
{
	for (int r = LF_ACCESS_VIEWER; r <= LF_ACCESS_ADMIN; r++)
		if (name && !strcmp(name, role_names[r]))
			return (enum lf_access)r;
	return LF_ACCESS_NONE;
}

bool lf_access_allows(enum lf_access have, enum lf_access need)
{
	return need >= LF_ACCESS_VIEWER && have >= need;
}

int lf_auth_token_new(const char *prefix, char ret_token[LF_TOKEN_MAX])
{
	unsigned char raw[32];

	if (strlen(prefix) != 4 || sodium_init() < 0)
		return -EINVAL;
	randombytes_buf(raw, sizeof(raw));
	memcpy(ret_token, prefix, 4);
	sodium_bin2base64(ret_token + 4, LF_TOKEN_MAX - 4, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void lf_auth_hash(const char *token, char ret_hex[LF_HASH_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(ret_hex, LF_HASH_HEX, h, sizeof(h));
}

void lf_auth_random_hex(char *ret, size_t bytes)
{
	unsigned char raw[32];

	if (bytes > sizeof(raw))
		bytes = sizeof(raw);
	randombytes_buf(raw, bytes);
	sodium_bin2hex(ret, bytes * 2 + 1, raw, bytes);
}

int lf_auth_admin_token_create(struct lf_store *s, enum lf_access role, const char *label,
			       char ret_token[LF_TOKEN_MAX], int64_t *ret_id)
{
	char token[LF_TOKEN_MAX], hash[LF_HASH_HEX];
	int64_t id;
	int r;

	if (role < LF_ACCESS_VIEWER || role > LF_ACCESS_ADMIN)
		return -EINVAL;
	r = lf_auth_token_new("lfa_", token);
	if (r < 0)
		return r;
	lf_auth_hash(token, hash);
	r = lf_store_int(s, "INSERT INTO tokens (token_hash, role, label, created)"
			 " VALUES ($1, $2, $3, $4) RETURNING id", &id, "sssi",
			 hash, lf_access_name(role), label, lf_now());
	if (r < 0)
		goto out;
	memcpy(ret_token, token, LF_TOKEN_MAX);
	if (ret_id)
		*ret_id = id;
out:
	sodium_memzero(token, sizeof(token));
	return r;
}

static int admin_row(void *ctx, const struct lf_row *row)
{
	struct lf_principal *p = ctx;

	p->token_id = strtoll(row->vals[0], NULL, 10);
	p->role = lf_access_parse(row->vals[1]);
	return 0;
}

static int device_row(void *ctx, const struct lf_row *row)
{
	struct lf_principal *p = ctx;

	p->device_id = strtoll(row->vals[0], NULL, 10);
	snprintf(p->device_uid, sizeof(p->device_uid), "%s", row->vals[1]);
	p->group_id = strtoll(row->vals[2], NULL, 10);
	p->feed_id = strtoll(row->vals[3], NULL, 10);
	return 0;
}

int lf_auth_lookup(struct lf_store *s, const char *token, struct lf_principal *ret)
{
	struct lf_principal p = { 0 };
	char hash[LF_HASH_HEX];
	int r;

	if (!token || strlen(token) < 8 || strlen(token) >= LF_TOKEN_MAX)
		return -EACCES;
	lf_auth_hash(token, hash);
	if (!strncmp(token, "lfa_", 4)) {
		r = lf_store_q(s, "SELECT id, role FROM tokens WHERE token_hash = $1 AND revoked = 0",
			       admin_row, &p, "s", hash);
		if (r == 1 && p.role != LF_ACCESS_NONE) {
			*ret = p;
			return 0;
		}
	} else if (!strncmp(token, "lfd_", 4)) {
		r = lf_store_q(s, "SELECT d.id, d.uid, d.group_id, g.feed_id"
			       " FROM device_credentials c JOIN devices d ON d.id = c.device_id"
			       " JOIN device_groups g ON g.id = d.group_id"
			       " WHERE c.token_hash = $1 AND c.revoked = 0 AND d.revoked = 0",
			       device_row, &p, "s", hash);
		if (r == 1) {
			*ret = p;
			return 0;
		}
	} else {
		return -EACCES;
	}
	return r < 0 ? r : -EACCES;
}

const char *lf_auth_bearer(const char *header)
{
	if (!header || strncasecmp(header, "Bearer ", 7))
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return *header ? header : NULL;
}
