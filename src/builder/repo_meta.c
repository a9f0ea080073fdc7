/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing root and targets metadata (the online roles, snapshot and
 * timestamp, are built in src/trust/repo_sign.c, shared with the portal):
 * each role's "signed" body is written with the JSON writer, parsed back with
 * the same bounded parser devices use (so the build host cannot produce what
 * devices would refuse to parse), and signed over its canonical form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/file.h"
#include "livefix/json.h"

#include "repo.h"

void repo_write_root(struct lf_json *j, const struct lf_root *root)
{
	char hex[65];

	lf_json_object_begin(j);
	lf_meta_write_head(j, LF_ROLE_ROOT, root->h.version, root->h.expires);
	lf_json_kv_bool(j, "consistent_snapshot", root->consistent_snapshot);
	lf_json_key(j, "keys");
	lf_json_object_begin(j);
	for (size_t i = 0; i < root->ring.n; i++) {
		lf_hex(root->ring.keys[i].pk, 32, hex);
		lf_json_key(j, root->ring.keys[i].keyid);
		lf_json_object_begin(j);
		lf_json_kv_string(j, "keytype", "ed25519");
		lf_json_key(j, "keyval");
		lf_json_object_begin(j);
		lf_json_kv_string(j, "public", hex);
		lf_json_object_end(j);
		lf_json_kv_string(j, "scheme", "ed25519");
		lf_json_object_end(j);
	}
	lf_json_object_end(j);
	lf_json_key(j, "roles");
	lf_json_object_begin(j);
	for (int r = 0; r < LF_ROLE_COUNT; r++) {
		lf_json_key(j, lf_role_name((enum lf_role)r));
		lf_json_object_begin(j);
		lf_json_key(j, "keyids");
		lf_json_array_begin(j);
		for (size_t k = 0; k < root->roles[r].nkeys; k++)
			lf_json_string(j, root->roles[r].keyids[k]);
		lf_json_array_end(j);
		lf_json_kv_int(j, "threshold", root->roles[r].threshold);
		lf_json_object_end(j);
	}
	lf_json_object_end(j);
	lf_json_object_end(j);
}

void repo_write_targets(struct lf_json *j, const struct lf_targets *t)
{
	lf_json_object_begin(j);
	lf_meta_write_head(j, LF_ROLE_TARGETS, t->h.version, t->h.expires);
	lf_json_kv_string(j, "feed", t->feed);
	lf_json_key(j, "targets");
	lf_json_object_begin(j);
	for (size_t i = 0; i < t->n; i++) {
		const struct lf_target *tg = &t->t[i];

		lf_json_key(j, tg->name);
		lf_json_object_begin(j);
		lf_json_key(j, "custom");
		lf_json_object_begin(j);
		lf_json_kv_string(j, "id", tg->id);
		lf_json_kv_string(j, "kind", lf_kind_name(tg->ident.kind));
		lf_json_kv_int(j, "level", tg->level);
		lf_json_key(j, "target");
		lf_identity_to_json(&tg->ident, j);
		if (tg->withdrawn)
			lf_json_kv_bool(j, "withdrawn", true);
		lf_json_object_end(j);
		lf_json_key(j, "hashes");
		lf_json_object_begin(j);
		lf_json_kv_string(j, "sha256", tg->sha256);
		lf_json_object_end(j);
		lf_json_kv_int(j, "length", tg->length);
		lf_json_object_end(j);
	}
	lf_json_object_end(j);
	lf_json_object_end(j);
}

int repo_path(const char *dir, const char *name, char **ret)
{
	return asprintf(ret, "%s/%s", dir, name) < 0 ? -ENOMEM : 0;
}

int repo_read(const char *dir, const char *name, size_t max, char **data, size_t *len)
{
	char *p;
	int r = repo_path(dir, name, &p);

	if (r < 0)
		return r;
	r = lf_read_file(p, max, data, len);
	free(p);
	return r;
}

int repo_write(const char *dir, const char *name, const struct lf_buf *b)
{
	char *p;
	int r = repo_path(dir, name, &p);

	if (r < 0)
		return r;
	r = lf_write_file_atomic(p, b->data, b->len, 0644);
	free(p);
	return r;
}

int repo_load_root(const char *dir, struct lf_root *ret, struct lf_why *why)
{
	char *data;
	size_t len;
	int r = repo_read(dir, "root.json", LF_ROOT_MAX, &data, &len);

	if (r < 0)
		return r;
	r = lf_root_verify_next(data, len, NULL, ret, why);
	free(data);
	return r;
}

/* Signing keys must hold the role in root, unless building test fixtures. */
int repo_check_keys(const struct lf_root *root, enum lf_role role,
		    const struct lf_build_keys *keys, bool unchecked)
{
	const struct lf_role_keys *rk = &root->roles[role];
	size_t ok = 0;

	for (size_t i = 0; i < keys->n; i++) {
		bool found = false;

		for (size_t k = 0; k < rk->nkeys; k++)
			found |= strcmp(rk->keyids[k], keys->keys[i].pub.keyid) == 0;
		if (!found && !unchecked) {
			fprintf(stderr, "livefix-build: key %.16s… does not hold the %s role in "
				"root.json\n", keys->keys[i].pub.keyid, lf_role_name(role));
			return -EKEYREJECTED;
		}
		ok += found;
	}
	if ((int64_t)ok < rk->threshold && !unchecked) {
		fprintf(stderr, "livefix-build: %zu %s key(s) given, threshold is %lld\n", ok,
			lf_role_name(role), (long long)rk->threshold);
		return -EKEYREJECTED;
	}
	return 0;
}
