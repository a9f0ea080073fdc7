/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository seam: what the portal asks of a signer (struct
 * lf_portal_repo_ops) and what it does with the answers. The test signer
 * "signs" by wrapping its input, so every output names what it was made of.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "livefix/file.h"
#include "livefix/repo_sign.h"

#include "portal_fixture.h"
#include "repo.h"
#include "signer.h"

struct signer {
	int snapshots, timestamps;
	int fail_snapshot; /* an errno to return, or 0 */
	bool keep_snapshot;
};

static int wrap(const char *tag, const struct lf_portal_blob *in, unsigned char **ret, size_t *ret_len)
{
	size_t len = strlen(tag) + 2 + (in->data ? in->len : 0);
	char *out = malloc(len + 1);

	if (!out)
		return -ENOMEM;
	snprintf(out, len + 1, "%s(%.*s)", tag, (int)(in->data ? in->len : 0),
		 in->data ? (const char *)in->data : "");
	*ret = (unsigned char *)out;
	*ret_len = len;
	return 0;
}

static int sign_snapshot(void *ctx, const char *feed, const struct lf_portal_blob *targets,
			 const struct lf_portal_blob *prev, unsigned char **ret, size_t *ret_len)
{
	struct signer *sg = ctx;

	sg->snapshots++;
	if (sg->fail_snapshot)
		return -sg->fail_snapshot;
	if (sg->keep_snapshot)
		return -EOPNOTSUPP;
	return wrap("snap", targets, ret, ret_len);
}

static int sign_timestamp(void *ctx, const char *feed, const struct lf_portal_blob *snapshot,
			  const struct lf_portal_blob *prev, unsigned char **ret, size_t *ret_len)
{
	struct signer *sg = ctx;

	sg->timestamps++;
	return wrap("ts", snapshot, ret, ret_len);
}

static char *content(struct lf_store *s, const char *name)
{
	struct lf_repo_file f;

	if (lf_repo_get(s, "prod", name, true, &f) < 0)
		return NULL;
	f.content[f.length] = '\0';
	return (char *)f.content;
}

static void expect(struct lf_store *s, const char *name, const char *want)
{
	char *got = content(s, name);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static struct fixture fx;
static struct lf_store *store;

static int setup(void **state)
{
	if (fixture_sqlite(&fx) < 0 || lf_store_open(fx.target, &store) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	lf_store_close(store);
	fixture_release(&fx);
	return 0;
}

static void test_targets_change_resigns_snapshot_then_timestamp(void **state)
{
	struct signer sg = { 0 };
	struct lf_portal_repo_ops ops = { "test", sign_snapshot, sign_timestamp, 60, &sg };

	assert_int_equal(lf_repo_put(store, &ops, "prod", "targets.json", "T1", 2), 0);
	expect(store, "snapshot.json", "snap(T1)");
	expect(store, "timestamp.json", "ts(snap(T1))");
	assert_int_equal(lf_repo_put(store, &ops, "prod", "targets.json", "T2", 2), 0);
	expect(store, "timestamp.json", "ts(snap(T2))");
	/* Other files do not involve the signer. */
	assert_int_equal(lf_repo_put(store, &ops, "prod", "root.json", "R", 1), 0);
	assert_int_equal(sg.snapshots, 2);
	assert_int_equal(sg.timestamps, 2);
	/* The periodic refresh re-signs the timestamp over the current snapshot. */
	assert_int_equal(lf_repo_refresh_timestamps(store, &ops), 0);
	assert_int_equal(sg.timestamps, 3);
	expect(store, "timestamp.json", "ts(snap(T2))");
}

static void test_signer_failure_publishes_nothing(void **state)
{
	struct signer sg = { .fail_snapshot = EIO };
	struct lf_portal_repo_ops ops = { "test", sign_snapshot, sign_timestamp, 0, &sg };
	struct lf_repo_file f;

	assert_int_equal(lf_repo_put(store, NULL, "prod", "targets.json", "OLD", 3), 0);
	assert_int_equal(lf_repo_put(store, &ops, "prod", "targets.json", "NEW", 3), -EIO);
	/* Targets without their snapshot would be mix-and-match: rolled back. */
	expect(store, "targets.json", "OLD");
	assert_int_equal(lf_repo_get(store, "prod", "snapshot.json", false, &f), -ENOENT);
}

static void test_passthrough_keeps_published_files(void **state)
{
	struct signer sg = { .keep_snapshot = true };
	struct lf_portal_repo_ops keep_snap = { "test", sign_snapshot, sign_timestamp, 0, &sg };

	assert_int_equal(lf_repo_put(store, NULL, "prod", "snapshot.json", "S0", 2), 0);
	assert_int_equal(lf_repo_put(store, NULL, "prod", "timestamp.json", "TS0", 3), 0);
	assert_int_equal(lf_repo_put(store, &lf_portal_repo_passthrough, "prod", "targets.json", "T", 1), 0);
	expect(store, "snapshot.json", "S0");
	expect(store, "timestamp.json", "TS0");
	assert_int_equal(lf_repo_refresh_timestamps(store, &lf_portal_repo_passthrough), 0);
	expect(store, "timestamp.json", "TS0");
	/* A signer holding only the timestamp key keeps the offline snapshot. */
	assert_int_equal(lf_repo_put(store, &keep_snap, "prod", "targets.json", "T2", 2), 0);
	expect(store, "snapshot.json", "S0");
	expect(store, "timestamp.json", "ts(S0)");
}

static void test_publish_dir(void **state)
{
	char dir[] = "/tmp/lfrepo.XXXXXX", path[128], cmd[160], hex[65];
	const char *bundle = "LFB\x01payload";
	unsigned char h[crypto_hash_sha256_BYTES];
	json_t *rows, *meta;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bundles", dir);
	assert_int_equal(lf_mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bundles/x.lfb", dir);
	assert_int_equal(lf_write_file_atomic(path, bundle, strlen(bundle), 0644), 0);
	snprintf(path, sizeof(path), "%s/root.json", dir);
	assert_int_equal(lf_write_file_atomic(path, "{}", 2, 0644), 0);
	snprintf(path, sizeof(path), "%s/targets.json", dir);
	assert_int_equal(lf_write_file_atomic(path, "{\"t\":1}", 7, 0644), 0);
	meta = json_pack("{s:s,s:s,s:i,s:s,s:{s:s},s:[{s:s,s:s}]}", "id", "kp-9", "kind", "user",
			 "level", 3, "sha256", "0000000000000000000000000000000000000000000000000000000000000000",
			 "target", "build_id", "ab12", "cves", "id", "CVE-2023-4911", "severity", "high");
	/* Facts naming a file that is not in the directory are refused. */
	assert_int_equal(lf_repo_publish_dir(store, NULL, "prod", dir, meta), -ENOENT);
	crypto_hash_sha256(h, (const unsigned char *)bundle, strlen(bundle));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	json_object_set_new(meta, "sha256", json_string(hex));
	assert_int_equal(lf_repo_publish_dir(store, NULL, "prod", dir, meta), 1);
	expect(store, "targets.json", "{\"t\":1}");
	snprintf(path, sizeof(path), "bundles/%s.lfb", hex);
	expect(store, path, bundle); /* stored under its hash, whatever its file name */
	assert_int_equal(lf_store_json(store, "SELECT b.bundle_id, b.kind, b.level, c.cve FROM bundles b"
				       " JOIN bundle_cves c ON c.bundle_ref = b.id", &rows, ""), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "cve")),
			    "CVE-2023-4911");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "level")), 3);
	json_decref(rows);
	json_decref(meta);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_served_names(void **state)
{
	char out[LF_REPO_NAME_MAX];

	assert_int_equal(lf_repo_served_name("prod", "targets/prod.json", out, sizeof(out)), 0);
	assert_string_equal(out, "targets.json");
	assert_int_equal(lf_repo_served_name("prod", "targets/prod/12.json", out, sizeof(out)), 0);
	assert_string_equal(out, "targets/prod/12.json");
	assert_int_equal(lf_repo_served_name("prod", "3.snapshot.json", out, sizeof(out)), 0);
	assert_int_equal(lf_repo_served_name("prod", "2.root.json", out, sizeof(out)), 0);
	assert_int_equal(lf_repo_served_name("prod", "timestamp.json", out, sizeof(out)), 0);
	/* Another feed's targets, leading zeros, other names: not here. */
	assert_int_equal(lf_repo_served_name("prod", "targets/lab.json", out, sizeof(out)), -ENOENT);
	assert_int_equal(lf_repo_served_name("prod", "targets/prodx.json", out, sizeof(out)), -ENOENT);
	assert_int_equal(lf_repo_served_name("prod", "targets/prod/01.json", out, sizeof(out)), -ENOENT);
	assert_int_equal(lf_repo_served_name("prod", "targets/prod/1.jsonx", out, sizeof(out)), -ENOENT);
	assert_int_equal(lf_repo_served_name("prod", "0.root.json", out, sizeof(out)), -ENOENT);
	assert_int_equal(lf_repo_served_name("prod", "portal.db", out, sizeof(out)), -ENOENT);
}

static int64_t stored_version(struct lf_store *s, const char *name)
{
	struct lf_repo_file f;
	int64_t v = -1;

	if (lf_repo_get(s, "prod", name, true, &f) < 0)
		return -1;
	if (lf_meta_peek(f.content, (size_t)f.length, &v, NULL) < 0)
		v = -1;
	lf_repo_file_release(&f);
	return v;
}

/* The portal's own signer: real keys in DATA/keys, real documents. */
static void test_trust_signer(void **state)
{
	char dir[] = "/tmp/lfsigner.XXXXXX", path[128], cmd[160];
	struct lf_portal_signer_config sc = { .snapshot_expiry = 60, .refresh = 3600 };
	struct lf_portal_repo_ops ops;
	struct lf_privkey tk;
	const struct lf_privkey *keys[1] = { &tk };
	struct lf_buf doc = LF_BUF_INIT(1 << 16);
	struct lf_jv *body;
	const char *tbody = "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":4,"
			    "\"expires\":\"2099-01-01T00:00:00Z\",\"feed\":\"prod\",\"targets\":{}}";

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);
	assert_int_equal(lf_mkdir_p(path, 0700), 0);
	/* An old placeholder (hex) is replaced by a key of the trust format. */
	snprintf(path, sizeof(path), "%s/keys/snapshot.key", dir);
	assert_int_equal(lf_write_file_atomic(path, "00ff\n", 5, 0600), 0);
	assert_int_equal(lf_portal_signer_open(dir, &sc, &ops), -EBADMSG);
	assert_int_equal(lf_portal_online_keys_init(dir, NULL), 0);
	assert_int_equal(lf_portal_signer_open(dir, &sc, &ops), 0);
	assert_int_equal(ops.refresh_interval, 3600);

	assert_int_equal(lf_key_generate("targets", &tk), 0);
	assert_int_equal(lf_json_parse(tbody, strlen(tbody), NULL, &body), 0);
	assert_int_equal(lf_signed_sign(body, keys, 1, &doc), 0);
	lf_jv_free(body);
	assert_int_equal(lf_repo_put(store, &ops, "prod", "targets.json", doc.data, doc.len), 0);
	/* Stored also under the names of consistent snapshots. */
	assert_int_equal(stored_version(store, "targets/prod/4.json"), 4);
	assert_int_equal(stored_version(store, "snapshot.json"), 1);
	assert_int_equal(stored_version(store, "1.snapshot.json"), 1);
	assert_int_equal(stored_version(store, "timestamp.json"), 1);
	/* The snapshot expires within two refreshes: re-signed with the timestamp. */
	assert_int_equal(lf_repo_refresh_timestamps(store, &ops), 0);
	assert_int_equal(stored_version(store, "timestamp.json"), 2);
	assert_int_equal(stored_version(store, "2.snapshot.json"), 2);
	lf_portal_signer_close(&ops);
	/* With a long-lived snapshot only the timestamp moves. */
	sc.snapshot_expiry = 86400;
	assert_int_equal(lf_portal_signer_open(dir, &sc, &ops), 0);
	assert_int_equal(lf_repo_resign(store, &ops, "prod", true), 0);
	assert_int_equal(lf_repo_refresh_timestamps(store, &ops), 0);
	assert_int_equal(stored_version(store, "snapshot.json"), 3);
	assert_int_equal(stored_version(store, "timestamp.json"), 4);
	lf_portal_signer_close(&ops);
	lf_privkey_wipe(&tk);
	lf_buf_release(&doc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_targets_change_resigns_snapshot_then_timestamp,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_failure_publishes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passthrough_keeps_published_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_dir, setup, teardown),
		cmocka_unit_test(test_served_names),
		cmocka_unit_test_setup_teardown(test_trust_signer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
