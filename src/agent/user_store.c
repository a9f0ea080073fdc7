/* SPDX-License-Identifier: Apache-2.0 */
/* <state>/user/<build-id>.lfb: see user_store.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/trust.h"

#include "trust_agent.h"
#include "user_store.h"

#define STORED_MAX 256

int lf_agent_user_payload(const struct lf_bundle *b, struct lf_user_patch **ret, char *msg,
			  size_t size)
{
	const struct lf_payload *pl = &b->m.payloads[0];
	int fd = memfd_create("livefix-patch", MFD_CLOEXEC), r;
	char path[64];

	if (fd < 0) {
		r = -errno;
		snprintf(msg, size, "memfd: %s", strerror(errno));
		return r;
	}
	if (write(fd, b->data + pl->offset, pl->length) != (ssize_t)pl->length) {
		snprintf(msg, size, "memfd: short write");
		close(fd);
		return -EIO;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = lf_user_patch_load(path, ret, msg, size);
	close(fd);
	return r;
}

static bool same_content(const char *path, const char *data, size_t len)
{
	char *old = NULL;
	size_t old_len;
	bool same = lf_read_file(path, LF_BUNDLE_MAX, &old, &old_len) == 0 && old_len == len &&
		    !memcmp(old, data, len);

	free(old);
	return same;
}

int lf_agent_user_store_save(const char *state_dir, const struct lf_bundle *b)
{
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/user", state_dir);
	if ((r = lf_mkdir_p(path, 0755)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/user/%s.lfb", state_dir, b->m.target.build_id);
	if (same_content(path, b->data, b->len))
		return 0;	/* unchanged: the daemon need not reload */
	return lf_write_file_atomic(path, b->data, b->len, 0644);
}

int64_t lf_agent_user_store_stamp(const char *state_dir)
{
	char path[4096];
	struct stat st;
	size_t n = strlen(state_dir);

	/* Not snprintf: the daemon calls this every second while it waits (trim.h). */
	if (n + sizeof("/user") > sizeof(path))
		return 0;
	memcpy(path, state_dir, n);
	memcpy(path + n, "/user", sizeof("/user"));
	if (stat(path, &st) < 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* One stored file: parsed, verified when a root is pinned, its patch loaded. */
static int load_one(const char *path, const char *hex, const struct lf_root *root,
		    struct lf_user_stored *ret)
{
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_why why = { "" };
	char *data = NULL, msg[LF_USER_MSG_MAX];
	size_t len;
	int r = b ? lf_read_file(path, LF_BUNDLE_MAX, &data, &len) : -ENOMEM;

	if (r == 0 && (r = lf_bundle_parse(data, len, b, &why)) == 0) {
		if (root)
			r = lf_tuf_verify_bundle(root, b, &why);
		if (r == 0 && (b->m.target.kind != LF_KIND_USER || strcmp(b->m.target.build_id, hex)))
			r = -EBADMSG;
		if (r == 0)
			r = lf_agent_user_payload(b, &ret->p, msg, sizeof(msg));
		if (r == 0) {
			snprintf(ret->id, sizeof(ret->id), "%s", b->m.id);
			ret->level = b->m.level;
		}
		lf_bundle_release(b);
	}
	free(data);
	free(b);
	return r;
}

int lf_agent_user_store_load(const char *state_dir, struct lf_user_stored **ret, size_t *ret_n,
			     size_t *ret_bad)
{
	char dir[4096], path[4400 + 256];
	struct lf_root *root = calloc(1, sizeof(*root));
	struct lf_user_stored *v = calloc(STORED_MAX, sizeof(*v));
	struct lf_why why = { "" };
	struct lf_tuf t = { 0 };
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	*ret_bad = 0;
	if (!root || !v) {
		free(root);
		free(v);
		return -ENOMEM;
	}
	bool pinned = lf_tuf_open(&t, state_dir, "production", &why) == 0;
	if (pinned)
		*root = t.root;
	lf_tuf_close(&t);
	snprintf(dir, sizeof(dir), "%s/user", state_dir);
	d = opendir(dir);
	while (d && (de = readdir(d)) && n < STORED_MAX) {
		size_t l = strlen(de->d_name);
		char hex[LF_BUILD_ID_MAX + 1];
		if (l < 5 || l - 4 > LF_BUILD_ID_MAX || strcmp(de->d_name + l - 4, ".lfb"))
			continue;	/* temporary files of an atomic write, others */
		snprintf(hex, sizeof(hex), "%.*s", (int)(l - 4), de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (load_one(path, hex, pinned ? root : NULL, &v[n]) == 0)
			n++;
		else
			(*ret_bad)++;
	}
	if (d)
		closedir(d);
	free(root);
	*ret = v;
	*ret_n = n;
	return 0;
}

void lf_agent_user_store_free(struct lf_user_stored *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		lf_user_patch_free(v[i].p);
	free(v);
}

/* The stored bundle at path: its sha256 and the id of its patch object. */
static int describe(const char *path, struct lf_user_kept *ret)
{
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_user_patch *p = NULL;
	struct lf_why why = { "" };
	char *data = NULL, msg[LF_USER_MSG_MAX];
	size_t len;
	int r = b ? lf_read_file(path, LF_BUNDLE_MAX, &data, &len) : -ENOMEM;

	if (r == 0 && (r = lf_bundle_parse(data, len, b, &why)) == 0) {
		r = lf_agent_user_payload(b, &p, msg, sizeof(msg));
		if (r == 0) {
			lf_sha256_hex(data, len, ret->sha256);
			snprintf(ret->bundle_id, sizeof(ret->bundle_id), "%s", b->m.id);
			snprintf(ret->patch_id, sizeof(ret->patch_id), "%s", lf_user_patch_id(p));
			ret->level = b->m.level;
			lf_user_patch_free(p);
		}
		lf_bundle_release(b);
	}
	free(data);
	free(b);
	return r;
}

int lf_agent_user_store_each(const char *state_dir,
			     int (*fn)(const struct lf_user_kept *k, void *ud), void *ud)
{
	char dir[4096];
	struct dirent *de;
	int r = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/user", state_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (de = readdir(d))) {
		struct lf_user_kept k = { 0 };
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".lfb"))
			continue;
		snprintf(k.path, sizeof(k.path), "%s/%s", dir, de->d_name);
		if (describe(k.path, &k) == 0)
			r = fn(&k, ud);
	}
	closedir(d);
	return r;
}

struct forget {
	const char *patch_id;
	int n;
};

static int forget_one(const struct lf_user_kept *k, void *ud)
{
	struct forget *f = ud;

	if (strcmp(k->patch_id, f->patch_id))
		return 0;
	if (unlink(k->path) < 0 && errno != ENOENT)
		return -errno;
	f->n++;
	return 0;
}

int lf_agent_user_store_forget(const char *state_dir, const char *patch_id)
{
	struct forget f = { patch_id, 0 };
	int r = lf_agent_user_store_each(state_dir, forget_one, &f);

	return r < 0 ? r : f.n;
}
