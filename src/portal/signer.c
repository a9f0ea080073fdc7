/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot and timestamp, re-signed by the portal with its online keys. The
 * documents themselves are built by the trust library (src/trust/repo_sign.c),
 * the same code `livefix-build repo sign` uses on a build host; the portal
 * serves one repository per feed, so its snapshot lists that feed only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/repo_sign.h"

#include "signer.h"

static const char *const online_roles[] = { "snapshot", "timestamp" };

struct signer {
	struct lf_privkey keys[2]; /* snapshot, timestamp */
	int64_t snapshot_expiry, timestamp_expiry;
};

static void key_path(const char *data, const char *role, char *out, size_t size)
{
	snprintf(out, size, "%s/keys/%s.key", data, role);
}

int lf_portal_online_keys_init(const char *data_dir, FILE *out)
{
	char path[4096];
	struct lf_privkey k = { 0 };
	int r = 0;

	for (size_t i = 0; r == 0 && i < 2; i++) {
		key_path(data_dir, online_roles[i], path, sizeof(path));
		r = lf_key_load_private(path, &k);
		if (r < 0 || strcmp(k.role, online_roles[i])) {
			/* absent, or not a key of the trust format (old placeholder) */
			lf_privkey_wipe(&k);
			if (unlink(path) < 0 && errno != ENOENT)
				return -errno;
			r = lf_key_generate(online_roles[i], &k);
			if (r == 0)
				r = lf_key_save(path, &k);
		}
		if (r == 0 && out)
			fprintf(out, "%s %s.pub %s\n", online_roles[i], path, k.pub.keyid);
		lf_privkey_wipe(&k);
	}
	return r;
}

static int to_blob(struct lf_buf *b, unsigned char **ret, size_t *ret_len)
{
	unsigned char *p = malloc(b->len ? b->len : 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, b->data, b->len);
	*ret = p;
	*ret_len = b->len;
	return 0;
}

static int sign_snapshot(void *ctx, const char *feed, const struct lf_portal_blob *targets,
			 const struct lf_portal_blob *prev, unsigned char **ret, size_t *ret_len)
{
	struct signer *sg = ctx;
	const struct lf_privkey *key = &sg->keys[0];
	struct lf_buf out = LF_BUF_INIT(LF_SNAPSHOT_MAX);
	char name[LF_NAME_MAX + 1];
	struct lf_meta_doc t = { name, targets->data, targets->len };
	struct lf_meta_doc p = { "snapshot.json", prev ? prev->data : NULL, prev ? prev->len : 0 };
	int r;

	if (snprintf(name, sizeof(name), "targets/%s.json", feed) >= (int)sizeof(name))
		return -EINVAL;
	r = lf_repo_sign_snapshot(&t, 1, &p, lf_time_now() + sg->snapshot_expiry, &key, 1, &out,
				  NULL);
	if (r == -EBADMSG && p.data) {
		/* The previous one is not ours to number from (e.g. a placeholder). */
		p.data = NULL;
		r = lf_repo_sign_snapshot(&t, 1, &p, lf_time_now() + sg->snapshot_expiry, &key, 1,
					  &out, NULL);
	}
	if (r == 0)
		r = to_blob(&out, ret, ret_len);
	lf_buf_release(&out);
	return r;
}

static int sign_timestamp(void *ctx, const char *feed, const struct lf_portal_blob *snapshot,
			  const struct lf_portal_blob *prev, unsigned char **ret, size_t *ret_len)
{
	struct signer *sg = ctx;
	const struct lf_privkey *key = &sg->keys[1];
	struct lf_buf out = LF_BUF_INIT(LF_TIMESTAMP_MAX);
	struct lf_meta_doc s = { "snapshot.json", snapshot->data, snapshot->len };
	struct lf_meta_doc p = { "timestamp.json", prev ? prev->data : NULL, prev ? prev->len : 0 };
	int r;

	(void)feed;
	if (!snapshot->data)
		return -EOPNOTSUPP; /* nothing to name yet */
	r = lf_repo_sign_timestamp(&s, &p, lf_time_now() + sg->timestamp_expiry, &key, 1, &out);
	if (r == -EBADMSG && p.data) {
		p.data = NULL;
		r = lf_repo_sign_timestamp(&s, &p, lf_time_now() + sg->timestamp_expiry, &key, 1,
					   &out);
	}
	if (r == 0)
		r = to_blob(&out, ret, ret_len);
	lf_buf_release(&out);
	return r;
}

int lf_portal_signer_open(const char *data_dir, const struct lf_portal_signer_config *cfg,
			  struct lf_portal_repo_ops *ret_ops)
{
	struct signer *sg = calloc(1, sizeof(*sg));
	char path[4096];
	int r = sg ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < 2; i++) {
		key_path(data_dir, online_roles[i], path, sizeof(path));
		r = lf_key_load_private(path, &sg->keys[i]);
		if (r == 0 && strcmp(sg->keys[i].role, online_roles[i]))
			r = -EKEYREJECTED;
	}
	if (r < 0) {
		if (sg)
			explicit_bzero(sg, sizeof(*sg));
		free(sg);
		return r;
	}
	sg->snapshot_expiry = cfg && cfg->snapshot_expiry ? cfg->snapshot_expiry
							   : LF_SIGNER_SNAPSHOT_EXPIRY;
	sg->timestamp_expiry = cfg && cfg->timestamp_expiry ? cfg->timestamp_expiry
							     : LF_SIGNER_TIMESTAMP_EXPIRY;
	*ret_ops = (struct lf_portal_repo_ops){
		.name = "trust",
		.sign_snapshot = sign_snapshot,
		.sign_timestamp = sign_timestamp,
		.refresh_interval = cfg && cfg->refresh ? cfg->refresh : LF_SIGNER_REFRESH,
		.ctx = sg,
	};
	return 0;
}

void lf_portal_signer_close(struct lf_portal_repo_ops *ops)
{
	struct signer *sg = ops->ctx;

	if (sg) {
		lf_privkey_wipe(&sg->keys[0]);
		lf_privkey_wipe(&sg->keys[1]);
		free(sg);
	}
	ops->ctx = NULL;
}
