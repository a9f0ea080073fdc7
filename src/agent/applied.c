/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The record of applied patches, <state>/applied.json:
 *   {"kernel":{"applied":"2026-..Z","id":"..","level":3,"sha256":"..",
 *              "previous":[{"id":"..","level":2,"sha256":".."},..]},"user":{..}}
 * It is written atomically, and only after the loader reported success.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/json_parse.h"

#include "trust_agent.h"

#define APPLIED_MAX (64u << 10)

const char *lf_agent_state_dir(const char *opt)
{
	const char *env = getenv("LIVEFIX_STATE_DIR");

	if (opt)
		return opt;
	return env && *env ? env : LF_STATE_DIR_DEFAULT;
}

const char *lf_agent_sysroot(const char *opt)
{
	const char *env = getenv("LIVEFIX_SYSROOT");

	if (opt)
		return opt;
	return env ? env : "";
}

static int parse_prev(const struct lf_jv *p, struct lf_applied *ret)
{
	struct lf_applied_prev *v = &ret->prev[ret->nprev];
	const char *id, *sha;

	if (ret->nprev == LF_APPLIED_HISTORY || lf_jv_get_str(p, "id", LF_ID_MAX, &id) < 0 ||
	    lf_jv_get_str(p, "sha256", LF_SHA256_HEX, &sha) < 0 ||
	    lf_jv_get_int(p, "level", 1, LF_LEVEL_MAX, &v->level) < 0)
		return -EBADMSG;
	strcpy(v->id, id);
	strcpy(v->sha256, sha);
	ret->nprev++;
	return 0;
}

static int parse_entry(const struct lf_jv *e, struct lf_applied *ret)
{
	const struct lf_jv *prev;
	const char *id, *sha, *when;

	if (lf_jv_get_str(e, "id", LF_ID_MAX, &id) < 0 ||
	    lf_jv_get_str(e, "sha256", LF_SHA256_HEX, &sha) < 0 ||
	    lf_jv_get_str(e, "applied", 20, &when) < 0 ||
	    lf_jv_get_int(e, "level", 1, LF_LEVEL_MAX, &ret->level) < 0 ||
	    lf_time_parse(when, &ret->when) < 0)
		return -EBADMSG;
	strcpy(ret->id, id);
	strcpy(ret->sha256, sha);
	/* Optional: records written before these fields existed lack them. */
	if (lf_jv_get_str(e, "boot_id", sizeof(ret->boot_id) - 1, &id) == 0)
		strcpy(ret->boot_id, id);
	if (lf_jv_get_str(e, "patch", sizeof(ret->patch) - 1, &id) == 0)
		strcpy(ret->patch, id);
	/* An array, newest first; one object in records from before the history. */
	prev = lf_jv_get(e, "previous");
	if (prev && prev->type == LF_JOBJ) {
		if (parse_prev(prev, ret) < 0)
			return -EBADMSG;
	} else if (prev) {
		if (prev->type != LF_JARR || prev->len > LF_APPLIED_HISTORY)
			return -EBADMSG;
		for (size_t i = 0; i < prev->len; i++)
			if (parse_prev(&prev->u.kids[i], ret) < 0)
				return -EBADMSG;
	}
	ret->have = true;
	return 0;
}

int lf_agent_boot_id(const char *sysroot, char ret[40])
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/proc/sys/kernel/random/boot_id", sysroot);
	r = lf_read_line(path, ret, 40);
	return r < 0 ? r : r == 0 ? -EBADMSG : 0;
}

bool lf_applied_is_current(const struct lf_applied *a, const char *sysroot)
{
	char boot_id[40], path[PATH_MAX];

	if (!a->have || !a->boot_id[0] || lf_agent_boot_id(sysroot, boot_id) < 0 ||
	    strcmp(boot_id, a->boot_id) != 0)
		return false;
	if (!a->patch[0])
		return true;
	snprintf(path, sizeof(path), "%s/sys/kernel/livepatch/%s", sysroot, a->patch);
	return access(path, F_OK) == 0;
}

static int load_all(const char *state_dir, struct lf_jv **ret)
{
	char *path, *data;
	size_t len;
	int r;

	if (asprintf(&path, "%s/applied.json", state_dir) < 0)
		return -ENOMEM;
	r = lf_read_file(path, APPLIED_MAX, &data, &len);
	free(path);
	if (r < 0)
		return r;
	r = lf_json_parse(data, len, NULL, ret);
	free(data);
	return r;
}

int lf_applied_load(const char *state_dir, enum lf_kind kind, struct lf_applied *ret)
{
	struct lf_jv *all;
	const struct lf_jv *e;
	int r = load_all(state_dir, &all);

	memset(ret, 0, sizeof(*ret));
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	e = lf_jv_get(all, lf_kind_name(kind));
	r = e ? parse_entry(e, ret) : 0;
	lf_jv_free(all);
	return r;
}

static void write_entry(struct lf_json *j, const char *kind, const struct lf_applied *a)
{
	char when[21];

	lf_time_format(a->when, when);
	lf_json_key(j, kind);
	lf_json_object_begin(j);
	lf_json_kv_string(j, "applied", when);
	lf_json_kv_string(j, "id", a->id);
	lf_json_kv_int(j, "level", a->level);
	lf_json_kv_string(j, "sha256", a->sha256);
	if (a->boot_id[0])
		lf_json_kv_string(j, "boot_id", a->boot_id);
	if (a->patch[0])
		lf_json_kv_string(j, "patch", a->patch);
	if (a->nprev) {
		lf_json_key(j, "previous");
		lf_json_array_begin(j);
		for (size_t i = 0; i < a->nprev; i++) {
			lf_json_object_begin(j);
			lf_json_kv_string(j, "id", a->prev[i].id);
			lf_json_kv_int(j, "level", a->prev[i].level);
			lf_json_kv_string(j, "sha256", a->prev[i].sha256);
			lf_json_object_end(j);
		}
		lf_json_array_end(j);
	}
	lf_json_object_end(j);
}

int lf_applied_record(const char *state_dir, enum lf_kind kind, const struct lf_applied *a)
{
	struct lf_buf out = LF_BUF_INIT(APPLIED_MAX);
	struct lf_applied other;
	enum lf_kind okind = kind == LF_KIND_KERNEL ? LF_KIND_USER : LF_KIND_KERNEL;
	struct lf_json j;
	char *path = NULL;
	int r = lf_applied_load(state_dir, okind, &other);

	if (r < 0)
		return r;
	lf_json_init(&j, &out, true);
	lf_json_object_begin(&j);
	if (kind == LF_KIND_KERNEL && a)
		write_entry(&j, "kernel", a);
	if (other.have)
		write_entry(&j, lf_kind_name(okind), &other);
	if (kind == LF_KIND_USER && a)
		write_entry(&j, "user", a);
	lf_json_object_end(&j);
	r = lf_json_finish(&j);
	if (r == 0 && asprintf(&path, "%s/applied.json", state_dir) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = lf_write_file_atomic(path, out.data, out.len, 0644);
	free(path);
	lf_buf_release(&out);
	return r;
}

int lf_agent_lock_state(const char *state_dir)
{
	char *path;
	int fd, r = lf_mkdir_p(state_dir, 0755);

	if (r < 0)
		return r;
	if (asprintf(&path, "%s/lock", state_dir) < 0)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	free(path);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return r;
	}
	return fd; /* held until the process exits */
}
