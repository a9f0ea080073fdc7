/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key-holding process (src/portal/signer_proc.c): it signs through the
 * repository seam like the in-process signer, and refuses every request
 * that is not "snapshot over this feed's well-formed targets" or "timestamp
 * over a well-formed snapshot", staying in service after a refusal.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "livefix/repo_sign.h"

#include "portal_fixture.h"
#include "repo.h"
#include "signer.h"

struct resp {
	uint32_t magic;
	int32_t status;
	uint32_t len;
};

static struct fixture fx;
static struct lf_store *store;
static char dir[32];

static int setup(void **state)
{
	char path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lfsignp.XXXXXX");
	if (!mkdtemp(dir) || fixture_sqlite(&fx) < 0 || lf_store_open(fx.target, &store) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/keys", dir);
	return lf_mkdir_p(path, 0700);
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	lf_store_close(store);
	fixture_release(&fx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A signed document with this body, signed by a fresh key of role. */
static void signed_doc(const char *role, const char *body, struct lf_buf *out)
{
	struct lf_privkey k;
	const struct lf_privkey *keys[1] = { &k };
	struct lf_jv *jv;

	assert_int_equal(lf_key_generate(role, &k), 0);
	assert_int_equal(lf_json_parse(body, strlen(body), NULL, &jv), 0);
	lf_buf_reset(out);
	assert_int_equal(lf_signed_sign(jv, keys, 1, out), 0);
	lf_jv_free(jv);
	lf_privkey_wipe(&k);
}

/* Sends one raw request and returns the status of the answer. */
static int raw(int fd, uint32_t magic, uint32_t op, const char *feed, const void *doc,
	       size_t doc_len)
{
	uint32_t q[5] = { magic, op, (uint32_t)strlen(feed), (uint32_t)doc_len, 0 };
	struct resp a;
	char *body;

	assert_int_equal(send(fd, q, sizeof(q), MSG_NOSIGNAL), (ssize_t)sizeof(q));
	/*
	 * A request out of step is answered and the signer ends after the
	 * header alone: the rest may then meet a closed socket.
	 */
	if (send(fd, feed, strlen(feed), MSG_NOSIGNAL) == (ssize_t)strlen(feed) && doc_len)
		(void)send(fd, doc, doc_len, MSG_NOSIGNAL);
	if (read(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
		return -EPIPE;
	assert_int_equal(a.magic, LF_SIGNER_MAGIC);
	if (a.status == 0 && a.len) {
		body = malloc(a.len);
		assert_non_null(body);
		assert_int_equal(read(fd, body, a.len), (ssize_t)a.len);
		free(body);
	}
	return a.status;
}

#define TARGETS(feed) \
	"{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":2," \
	"\"expires\":\"2099-01-01T00:00:00Z\",\"feed\":\"" feed "\",\"targets\":{}}"

static void test_no_keys_no_signer(void **state)
{
	struct lf_portal_repo_ops ops;

	(void)state;
	assert_int_equal(lf_portal_signer_spawn(dir, NULL, &ops), -ENOENT);
}

static void test_signs_through_the_process(void **state)
{
	struct lf_portal_repo_ops ops;
	struct lf_buf doc = LF_BUF_INIT(1 << 16);
	struct lf_repo_file f;
	int64_t v;

	(void)state;
	assert_int_equal(lf_portal_online_keys_init(dir, NULL), 0);
	assert_int_equal(lf_portal_signer_spawn(dir, NULL, &ops), 0);
	signed_doc("targets", TARGETS("prod"), &doc);
	assert_int_equal(lf_repo_put(store, &ops, "prod", "targets.json", doc.data, doc.len), 0);
	assert_int_equal(lf_repo_get(store, "prod", "timestamp.json", true, &f), 0);
	assert_int_equal(lf_meta_peek(f.content, (size_t)f.length, &v, NULL), 0);
	assert_int_equal(v, 1);
	lf_repo_file_release(&f);
	assert_int_equal(lf_repo_refresh_timestamps(store, &ops), 0);
	assert_int_equal(lf_repo_get(store, "prod", "timestamp.json", true, &f), 0);
	assert_int_equal(lf_meta_peek(f.content, (size_t)f.length, &v, NULL), 0);
	assert_int_equal(v, 2);
	lf_repo_file_release(&f);
	lf_portal_signer_stop(&ops);
	lf_buf_release(&doc);
}

static void test_malformed_requests_refused(void **state)
{
	struct lf_portal_repo_ops ops;
	struct lf_buf doc = LF_BUF_INIT(1 << 16);
	static const char junk[] = "{\"signed\": 12";
	char longfeed[80];
	pid_t pid;
	int fd;

	(void)state;
	assert_int_equal(lf_portal_online_keys_init(dir, NULL), 0);
	assert_int_equal(lf_portal_signer_spawn(dir, NULL, &ops), 0);
	fd = lf_portal_signer_fd(&ops, &pid);
	assert_true(fd >= 0 && pid > 0);
	signed_doc("targets", TARGETS("prod"), &doc);
	/* Only the two online roles exist: no root, no targets, no raw bytes. */
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, 0, "prod", doc.data, doc.len), -EPROTO);
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, 3, "prod", doc.data, doc.len), -EPROTO);
	/* Oversized fields are refused before being read. */
	memset(longfeed, 'a', sizeof(longfeed) - 1);
	longfeed[sizeof(longfeed) - 1] = '\0';
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_SNAPSHOT, longfeed, doc.data, doc.len),
			 -EPROTO);
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_SNAPSHOT, "../x", doc.data, doc.len),
			 -EINVAL);
	/* Not metadata, metadata of another role, or another feed's targets. */
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_SNAPSHOT, "prod", junk, strlen(junk)),
			 -EBADMSG);
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_TIMESTAMP, "prod", doc.data, doc.len),
			 -EBADMSG);
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_SNAPSHOT, "test", doc.data, doc.len),
			 -EBADMSG);
	signed_doc("timestamp", "{\"_type\":\"timestamp\",\"spec_version\":\"1.0\",\"version\":1,"
				"\"expires\":\"2099-01-01T00:00:00Z\",\"meta\":{}}", &doc);
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_SNAPSHOT, "prod", doc.data, doc.len),
			 -EBADMSG);
	/* Still in service after the refusals. */
	signed_doc("targets", TARGETS("prod"), &doc);
	assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_SNAPSHOT, "prod", doc.data, doc.len), 0);
	assert_int_equal(lf_repo_put(store, &ops, "prod", "targets.json", doc.data, doc.len), 0);
	/* A stream out of step ends the signer: nothing is signed afterwards. */
	assert_int_equal(raw(fd, 0xdeadbeef, LF_SIGNER_OP_SNAPSHOT, "prod", doc.data, doc.len),
			 -EPROTO);
	assert_int_not_equal(lf_repo_put(store, &ops, "prod", "targets.json", doc.data, doc.len), 0);
	lf_portal_signer_stop(&ops);
	lf_buf_release(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_keys_no_signer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signs_through_the_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
