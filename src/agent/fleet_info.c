/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a device tells its portal (the inventory) and what it takes from the
 * answer (the policy), in the forms of docs/api.yaml.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/identity.h"
#include "livefix/json.h"

#include "agent.h"
#include "fleet.h"
#include "trust_agent.h"
#include "user_store.h"

int lf_fleet_policy_load(const char *state_dir, struct lf_policy *ret)
{
	char path[4096], *data;
	struct lf_jv *v;
	size_t len;
	int r;

	lf_policy_init(ret);
	if (snprintf(path, sizeof(path), "%s/policy.json", state_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	r = lf_read_file(path, 64 << 10, &data, &len);
	if (r < 0)
		return r;
	r = lf_json_parse(data, len, &lf_json_default_limits, &v);
	free(data);
	if (r < 0)
		return r;
	r = lf_fleet_policy_parse(v, ret);
	lf_jv_free(v);
	return r;
}

/* PRETTY_NAME of os-release, unquoted; "" when unknown. */
static void read_distro(const char *sysroot, char *ret, size_t size)
{
	char path[4096], *data, *line, *save = NULL;
	size_t len, n;

	ret[0] = '\0';
	snprintf(path, sizeof(path), "%s/etc/os-release", sysroot);
	if (lf_read_file(path, 16 << 10, &data, &len) < 0) {
		snprintf(path, sizeof(path), "%s/usr/lib/os-release", sysroot);
		if (lf_read_file(path, 16 << 10, &data, &len) < 0)
			return;
	}
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		line += 12;
		n = strlen(line);
		if (n >= 2 && (line[0] == '"' || line[0] == '\'') && line[n - 1] == line[0]) {
			line++;
			n -= 2;
		}
		snprintf(ret, size, "%.*s", (int)n, line);
		break;
	}
	free(data);
}

static void read_sys_line(const char *sysroot, const char *file, char *ret, size_t size)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s%s", sysroot, file);
	if (lf_read_line(path, ret, size) < 0)
		ret[0] = '\0';
}

static void inventory_kernel(const char *state_dir, const char *sysroot, struct lf_json *j)
{
	struct lf_identity id;
	struct lf_applied a;

	lf_json_key(j, "kernel");
	lf_json_object_begin(j);
	if (lf_identity_kernel(sysroot, &id) == 0) {
		lf_json_kv_string(j, "release", id.release);
		lf_json_kv_string(j, "build_id", id.build_id);
	}
	/* The level counts only while the patch is loaded (a reboot drops it). */
	if (lf_applied_load(state_dir, LF_KIND_KERNEL, &a) == 0 && lf_applied_is_current(&a, sysroot))
		lf_json_kv_int(j, "level", a.level);
	else
		lf_json_kv_int(j, "level", 0);
	lf_json_object_end(j);
}

/* At most this many userspace entries (docs/api.yaml's maxItems). */
#define INVENTORY_USER_MAX 256

struct inv_user {
	struct lf_json *j;
	int n;
};

static int inventory_user_one(const struct lf_user_kept *k, void *ud)
{
	struct inv_user *u = ud;
	const char *name = strrchr(k->path, '/');
	char build_id[256];
	size_t len;

	name = name ? name + 1 : k->path;
	len = strlen(name);	/* <build-id>.lfb: lf_agent_user_store_each() checked the suffix */
	if (u->n >= INVENTORY_USER_MAX)
		return 1;
	snprintf(build_id, sizeof(build_id), "%.*s", (int)(len - 4), name);
	lf_json_object_begin(u->j);
	lf_json_kv_string(u->j, "build_id", build_id);
	lf_json_kv_string(u->j, "bundle", k->bundle_id);
	lf_json_kv_int(u->j, "level", k->level);
	lf_json_object_end(u->j);
	u->n++;
	return 0;
}

/*
 * The userspace bundles applied on this device: those kept for new
 * processes (<state>/user/<build-id>.lfb), one per target file at its
 * highest level; a revert everywhere or a withdrawal removes them.
 */
static void inventory_user(const char *state_dir, struct lf_json *j)
{
	struct inv_user u = { .j = j };

	lf_json_key(j, "userspace");
	lf_json_array_begin(j);
	(void)lf_agent_user_store_each(state_dir, inventory_user_one, &u);
	lf_json_array_end(j);
}

int lf_fleet_inventory(const char *state_dir, const char *sysroot,
		       const struct lf_fleet_state *fs, struct lf_buf *out)
{
	char host[256], distro[128], doctor[128], uptime[64], etag[160], path[4096];
	struct lf_identity id;
	struct lf_json j;

	read_sys_line(sysroot, "/proc/sys/kernel/hostname", host, sizeof(host));
	if (!host[0] && gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "unknown");
	read_distro(sysroot, distro, sizeof(distro));
	read_sys_line(sysroot, "/proc/uptime", uptime, sizeof(uptime));
	snprintf(path, sizeof(path), "%s/trust/timestamp.etag", state_dir);
	if (lf_read_line(path, etag, sizeof(etag)) < 0)
		etag[0] = '\0';
	lf_agent_doctor_summary(doctor, sizeof(doctor));
	lf_json_init(&j, out, false);
	lf_json_object_begin(&j);
	lf_json_kv_string(&j, "hostname", host);
	if (lf_identity_kernel(sysroot, &id) == 0)
		lf_json_kv_string(&j, "arch", id.arch);
	lf_json_kv_string(&j, "distro", distro);
	inventory_kernel(state_dir, sysroot, &j);
	inventory_user(state_dir, &j);
	lf_json_kv_string(&j, "agent_version", LIVEFIX_VERSION);
	lf_json_kv_string(&j, "doctor", doctor);
	lf_json_kv_string(&j, "policy_state", fs->ndeferred ? "deferred" : "idle");
	lf_json_kv_int(&j, "uptime", strtoll(uptime, NULL, 10));
	lf_json_kv_string(&j, "timestamp_etag", etag);
	lf_json_kv_string(&j, "policy_etag", fs->policy_etag);
	lf_json_object_end(&j);
	return lf_json_finish(&j);
}
