/* SPDX-License-Identifier: Apache-2.0 */
/* The TUF client workflow against an in-memory repository. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "livefix/tuf.h"
#include "trust_helpers.h"

#define MAX_FILES 8

struct repo {
	const char *name[MAX_FILES];
	char *data[MAX_FILES];
	bool not_modified;
};

static struct lf_privkey kr, kt, ks, kts;
static struct repo repo;
static char dir[] = "/tmp/lf-test-tuf.XXXXXX";

static void put(const char *name, char *data)
{
	for (int i = 0; i < MAX_FILES; i++) {
		if (repo.name[i] && strcmp(repo.name[i], name) != 0)
			continue;
		free(repo.data[i]);
		repo.name[i] = name;
		repo.data[i] = data;
		return;
	}
	fail();
}

static int get(void *ctx, const char *name, size_t max, unsigned flags, char *etag,
	       size_t etag_size, struct lf_buf *out, struct lf_why *why)
{
	struct repo *r = ctx;

	if (etag && etag[0] && r->not_modified)
		return 1;
	for (int i = 0; i < MAX_FILES; i++) {
		if (!r->name[i] || strcmp(r->name[i], name) != 0)
			continue;
		if (strlen(r->data[i]) > max)
			return -EOVERFLOW;
		lf_buf_reset(out);
		if (etag && etag_size)
			snprintf(etag, etag_size, "\"e\"");
		return lf_buf_puts(out, r->data[i]);
	}
	return -ENOENT;
}

static const struct lf_fetcher fetcher = { get, &repo };

static char *meta_entry(const char *name, const char *doc, int version)
{
	char hex[65], *s;

	lf_sha256_hex(doc, strlen(doc), hex);
	assert_true(asprintf(&s, "\"%s\":{\"version\":%d,\"length\":%zu,\"hashes\":{\"sha256\":"
			     "\"%s\"}}", name, version, strlen(doc), hex) > 0);
	return s;
}

/* Publishes targets version tv, snapshot sv and timestamp tsv. */
static void publish(int tv, int sv, int tsv, const char *ts_expires)
{
	char body[4096], *entry;

	snprintf(body, sizeof(body), "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":%d,"
		 "\"expires\":\"" FAR_FUTURE "\",\"feed\":\"production\",\"targets\":{"
		 "\"bundles/b%d.lfb\":{\"length\":100,\"hashes\":{\"sha256\":\"%064d\"},\"custom\":"
		 "{\"id\":\"k%d\",\"kind\":\"kernel\",\"level\":%d,\"target\":{\"arch\":\"x86_64\","
		 "\"release\":\"6.1\",\"build_id\":\"aabbccdd\"}}}}}", tv, tv, tv, tv, tv);
	put("targets/production.json", sign1(body, &kt));
	entry = meta_entry("targets/production.json", repo.data[1] ? repo.data[1] : "", tv);
	for (int i = 0; i < MAX_FILES; i++)
		if (repo.name[i] && !strcmp(repo.name[i], "targets/production.json")) {
			free(entry);
			entry = meta_entry("targets/production.json", repo.data[i], tv);
		}
	snprintf(body, sizeof(body), "{\"_type\":\"snapshot\",\"spec_version\":\"1.0\",\"version\":%d,"
		 "\"expires\":\"" FAR_FUTURE "\",\"meta\":{%s}}", sv, entry);
	free(entry);
	put("snapshot.json", sign1(body, &ks));
	for (int i = 0; i < MAX_FILES; i++)
		if (repo.name[i] && !strcmp(repo.name[i], "snapshot.json"))
			entry = meta_entry("snapshot.json", repo.data[i], sv);
	snprintf(body, sizeof(body), "{\"_type\":\"timestamp\",\"spec_version\":\"1.0\",\"version\":%d,"
		 "\"expires\":\"%s\",\"meta\":{%s}}", tsv, ts_expires, entry);
	free(entry);
	put("timestamp.json", sign1(body, &kts));
}

static int setup(void **state)
{
	const struct lf_privkey *k[4] = { &kr, &kt, &ks, &kts };
	char *body, *root;
	int r;

	if (lf_key_generate("root", &kr) || lf_key_generate("targets", &kt) ||
	    lf_key_generate("snapshot", &ks) || lf_key_generate("timestamp", &kts) || !mkdtemp(dir))
		return -1;
	body = root_body(1, FAR_FUTURE, k, 1);
	root = sign1(body, &kr);
	r = lf_tuf_pin_root(dir, root, strlen(root), false, NULL);
	free(body);
	free(root);
	return r;
}

static int teardown(void **state)
{
	char cmd[128];

	for (int i = 0; i < MAX_FILES; i++)
		free(repo.data[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static int update(bool commit, struct lf_why *why, int *level)
{
	struct lf_identity sys = { .kind = LF_KIND_KERNEL, .arch = "x86_64", .release = "6.1",
				   .build_id = "aabbccdd" };
	const struct lf_target *tg;
	struct lf_tuf t;
	int r = lf_tuf_open(&t, dir, "production", why);

	if (r == 0)
		r = lf_tuf_update(&t, &fetcher, why);
	if (r == 0 && level) {
		tg = lf_tuf_select(&t, &sys);
		*level = tg ? (int)tg->level : 0;
	}
	if (r == 0 && commit)
		r = lf_tuf_commit(&t);
	lf_tuf_close(&t);
	return r;
}

static void test_update_and_persist(void **state)
{
	struct lf_why why = { "" };
	int level = 0;
	struct lf_tuf t;

	publish(1, 1, 1, FAR_FUTURE);
	assert_int_equal(update(true, &why, &level), 0);
	assert_int_equal(level, 1);
	assert_int_equal(lf_tuf_open(&t, dir, "production", &why), 0);
	assert_true(t.ts_doc.have && t.snap_doc.have && t.targets_doc.have);
	assert_int_equal(t.targets.h.version, 1);
	lf_tuf_close(&t);
	publish(2, 2, 2, FAR_FUTURE);
	assert_int_equal(update(true, &why, &level), 0);
	assert_int_equal(level, 2);
}

static void test_not_modified(void **state)
{
	struct lf_why why = { "" };

	repo.not_modified = true;
	assert_int_equal(update(false, &why, NULL), 0);
	repo.not_modified = false;
}

static void test_rollback_refused(void **state)
{
	struct lf_why why = { "" };

	publish(1, 1, 1, FAR_FUTURE);
	assert_int_equal(update(false, &why, NULL), -ESTALE);
	assert_non_null(strstr(why.msg, "rollback"));
	publish(1, 3, 3, FAR_FUTURE);
	assert_int_equal(update(false, &why, NULL), -ESTALE);
	assert_non_null(strstr(why.msg, "targets/production.json version 1 is older"));
}

static void test_freeze_refused(void **state)
{
	struct lf_why why = { "" };

	publish(3, 3, 3, PAST);
	assert_int_equal(update(false, &why, NULL), -ESTALE);
	assert_non_null(strstr(why.msg, "timestamp version 3 expired"));
}

static void test_mix_and_match_refused(void **state)
{
	struct lf_why why = { "" };
	char *old;

	publish(3, 3, 3, FAR_FUTURE);
	old = strdup(repo.data[0]); /* targets version 3 */
	publish(4, 4, 4, FAR_FUTURE);
	put("targets/production.json", old);
	assert_int_equal(update(false, &why, NULL), -EBADMSG);
	assert_non_null(strstr(why.msg, "mix-and-match"));
}

static void test_missing_feed(void **state)
{
	struct lf_why why = { "" };
	struct lf_tuf t;

	publish(5, 5, 5, FAR_FUTURE);
	assert_int_equal(lf_tuf_open(&t, dir, "testing", &why), 0);
	assert_int_equal(lf_tuf_update(&t, &fetcher, &why), -ENOENT);
	assert_non_null(strstr(why.msg, "feed 'testing'"));
	lf_tuf_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_and_persist),
		cmocka_unit_test(test_not_modified),
		cmocka_unit_test(test_rollback_refused),
		cmocka_unit_test(test_freeze_refused),
		cmocka_unit_test(test_mix_and_match_refused),
		cmocka_unit_test(test_missing_feed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
