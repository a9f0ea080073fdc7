/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key-holding process (src/portal/signer_proc.c): it signs through the
 * repository seam like the in-process signer, and refuses every request
 * that is not "snapshot over this feed's well-formed targets" or "timestamp
 * over a well-formed snapshot", staying in service after a refusal. Once
 * its keys are loaded it runs under its seccomp filter (signer_sandbox.c):
 * the running signer shows it in /proc, and the filter itself, installed in
 * a child of the test, allows what serving needs and kills on anything
 * else (no request can make the signer try a forbidden call, so the filter
 * is tested directly rather than through a hook in the signer).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

/* The value of a "Name:\tvalue" line of /proc/PID/status, or "" */
static void proc_status(pid_t pid, const char *name, char *out, size_t size)
{
	char path[64], line[256];
	size_t n = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	out[0] = '\0';
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			snprintf(out, size, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	fclose(f);
}

static void test_running_signer_is_filtered(void **state)
{
	struct lf_portal_repo_ops ops;
	struct lf_buf doc = LF_BUF_INIT(1 << 16);
	char v[64];
	pid_t pid;
	int fd;

	(void)state;
	assert_int_equal(lf_portal_online_keys_init(dir, NULL), 0);
	assert_int_equal(lf_portal_signer_spawn(dir, NULL, &ops), 0);
	fd = lf_portal_signer_fd(&ops, &pid);
	assert_true(fd >= 0 && pid > 0);
	proc_status(pid, "Seccomp", v, sizeof(v));
	assert_string_equal(v, "2"); /* 2: filter mode */
	proc_status(pid, "Seccomp_filters", v, sizeof(v));
	assert_string_equal(v, "1");
	proc_status(pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	proc_status(getpid(), "Seccomp", v, sizeof(v));
	assert_string_equal(v, "0"); /* the server side is not confined by it */
	/* Behind the filter it signs, more than once (the first one sets up libsodium and time). */
	signed_doc("targets", TARGETS("prod"), &doc);
	for (int i = 0; i < 3; i++)
		assert_int_equal(raw(fd, LF_SIGNER_MAGIC, LF_SIGNER_OP_SNAPSHOT, "prod", doc.data,
				     doc.len), 0);
	assert_int_equal(kill(pid, 0), 0);
	lf_portal_signer_stop(&ops);
	lf_buf_release(&doc);
}

/*
 * Runs fn(fd) in a child under the signer's filter for the socket fd and
 * returns its wait status. The child exits 0 when fn returns, 99 when the
 * filter could not be installed.
 */
static int filtered(void (*fn)(int fd), int sv[2])
{
	int status = 0;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		if (lf_portal_signer_sandbox(sv[1]) < 0)
			_exit(99);
		fn(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(send(sv[0], "ping", 4, MSG_NOSIGNAL), 4);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static bool killed_by_sigsys(void (*fn)(int fd))
{
	int sv[2], status = filtered(fn, sv);

	close(sv[0]);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		print_error("wait status %#x: %s %d\n", (unsigned)status,
			    WIFSIGNALED(status) ? "signal" : "exit",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

/* What serving needs: the socket both ways, memory, time; exits 1..5 on a failure. */
static void serving_calls(int fd)
{
	char in[4], *big;
	struct timespec ts;

	if (read(fd, in, sizeof(in)) != 4 || memcmp(in, "ping", 4))
		_exit(1);
	big = malloc(8 << 20); /* mmap */
	if (!big)
		_exit(2);
	memset(big, 1, 8 << 20);
	big = realloc(big, 16 << 20); /* mremap */
	if (!big)
		_exit(3);
	free(big);
	free(malloc(100)); /* brk */
	if (time(NULL) < 1700000000 || syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) < 0)
		_exit(4);
	if (send(fd, "pong", 4, MSG_NOSIGNAL) != 4 || write(fd, "!", 1) != 1)
		_exit(5);
}

static void call_open(int fd)
{
	(void)fd;
	(void)open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	_exit(0);
}

static void call_openat(int fd)
{
	(void)fd;
	(void)syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC);
	_exit(0);
}

static void call_socket(int fd)
{
	(void)fd;
	(void)socket(AF_INET, SOCK_STREAM, 0);
	_exit(0);
}

static void call_getpid(int fd)
{
	(void)fd;
	(void)syscall(SYS_getpid);
	_exit(0);
}

static void call_execve(int fd)
{
	char *argv[] = { "/bin/true", NULL };

	(void)fd;
	(void)syscall(SYS_execve, "/bin/true", argv, NULL);
	_exit(0);
}

static int other_fd = -1;

static void write_other_fd(int fd)
{
	(void)fd;
	(void)write(other_fd, "x", 1);
	_exit(0);
}

static void read_other_fd(int fd)
{
	char c;

	(void)fd;
	(void)read(other_fd, &c, 1);
	_exit(0);
}

static void map_exec(int fd)
{
	(void)fd;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_exit(0);
}

static void protect_exec(int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)fd;
	if (p == MAP_FAILED)
		_exit(1);
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	_exit(0);
}

static void test_filter_allows_serving(void **state)
{
	char out[5];
	int sv[2], status;

	(void)state;
	status = filtered(serving_calls, sv);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(sv[0], out, 5), 5);
	assert_memory_equal(out, "pong!", 5);
	close(sv[0]);
}

static void test_filter_kills_anything_else(void **state)
{
	int pipefd[2];

	(void)state;
	assert_true(killed_by_sigsys(call_open));
	assert_true(killed_by_sigsys(call_openat));
	assert_true(killed_by_sigsys(call_socket));
	assert_true(killed_by_sigsys(call_getpid));
	assert_true(killed_by_sigsys(call_execve));
	assert_true(killed_by_sigsys(map_exec));
	assert_true(killed_by_sigsys(protect_exec));
	/* read and write are allowed on the socket only (write on stderr too). */
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	other_fd = pipefd[1];
	assert_true(killed_by_sigsys(write_other_fd));
	other_fd = pipefd[0];
	assert_true(killed_by_sigsys(read_other_fd));
	close(pipefd[0]);
	close(pipefd[1]);
}

#if defined(__x86_64__)
/*
 * The i386 gate: number 12 there is chdir, here brk, which the filter
 * allows. Only the architecture check tells them apart.
 */
static void i386_chdir(int fd)
{
	static char root[] = "/";
	long r;

	(void)fd;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(12L), "b"(root) : "memory");
	_exit(0);
}

static void i386_getpid(int fd)
{
	long r;

	(void)fd;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	_exit(r == getpid() ? 0 : 1);
}

static void test_filter_kills_other_architectures(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	/* Without the filter, is there an i386 gate at all (IA32_EMULATION)? */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		i386_getpid(-1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		skip(); /* no i386 system calls on this kernel: nothing to filter */
	assert_true(killed_by_sigsys(i386_chdir));
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_keys_no_signer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signs_through_the_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_signer_is_filtered, setup, teardown),
		cmocka_unit_test(test_filter_allows_serving),
		cmocka_unit_test(test_filter_kills_anything_else),
#if defined(__x86_64__)
		cmocka_unit_test(test_filter_kills_other_architectures),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
