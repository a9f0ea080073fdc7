/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key-holding process. `serve`, `publish`, `import` and `mirror` fork it
 * before they open anything else; only the child ever reads DATA/keys, so
 * the process that parses HTTP never has the online keys in its memory. A
 * compromised server can at most ask for what this protocol offers: a
 * snapshot listing one feed's well-formed targets document, or a timestamp
 * naming a well-formed snapshot. It cannot have arbitrary bytes signed, nor
 * any other role, nor read a key.
 *
 * Protocol over a SOCK_STREAM socketpair, native byte order (both ends are
 * the same binary), one request and one answer at a time:
 *
 *   request  struct signer_req  then feed, doc, prev (lengths from the header)
 *   answer   struct signer_resp then len bytes of the signed document
 *
 * Every length is bounded by the role's limit before anything is read. An
 * oversized request is refused and its declared bytes skipped, so the
 * stream stays in step; a bad magic ends the connection (and the child).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livefix/json_parse.h"
#include "livefix/tuf.h"

#include "repo.h"
#include "signer.h"

struct signer_req {
	uint32_t magic, op, feed_len, doc_len, prev_len;
};

struct signer_resp {
	uint32_t magic;
	int32_t status;
	uint32_t len;
};

struct signer_client {
	int fd;
	pid_t pid;
	pthread_mutex_t lock; /* one exchange at a time (handler threads, refresh) */
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EPIPE;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int skip(int fd, uint64_t n)
{
	char junk[4096];
	int r = 0;

	while (n && r == 0) {
		size_t k = n > sizeof(junk) ? sizeof(junk) : (size_t)n;

		r = read_all(fd, junk, k);
		n -= k;
	}
	return r;
}

/* The limits of each operation: {doc, prev}. */
static int limits(uint32_t op, size_t *ret_doc, size_t *ret_prev)
{
	switch (op) {
	case LF_SIGNER_OP_SNAPSHOT: *ret_doc = LF_TARGETS_MAX; *ret_prev = LF_SNAPSHOT_MAX; return 0;
	case LF_SIGNER_OP_TIMESTAMP: *ret_doc = LF_SNAPSHOT_MAX; *ret_prev = LF_TIMESTAMP_MAX; return 0;
	}
	return -EPROTO;
}

/*
 * The document to be listed must be a well-formed signed document of the
 * right role (targets for a snapshot, snapshot for a timestamp) with a
 * version, and a targets document of this feed when it names one. The
 * signer does not verify signatures: devices do, against root.
 */
static int check_doc(uint32_t op, const char *feed, const void *doc, size_t len)
{
	const char *want = op == LF_SIGNER_OP_SNAPSHOT ? "targets" : "snapshot";
	const char *type = NULL, *named = NULL;
	struct lf_signed s;
	int64_t version;
	int r = lf_signed_parse(doc, len, &s, NULL);

	if (r < 0)
		return -EBADMSG;
	r = lf_jv_get_str(s.body, "_type", 16, &type);
	if (r == 0 && strcmp(type, want))
		r = -EBADMSG;
	if (r == 0)
		r = lf_jv_get_int(s.body, "version", 1, INT32_MAX, &version);
	if (r == 0 && op == LF_SIGNER_OP_SNAPSHOT &&
	    lf_jv_get_str(s.body, "feed", LF_SIGNER_FEED_MAX, &named) == 0 && strcmp(named, feed))
		r = -EBADMSG; /* another feed's targets */
	lf_signed_release(&s);
	return r < 0 ? -EBADMSG : 0;
}

static int answer(int fd, int status, const unsigned char *data, size_t len)
{
	struct signer_resp a = { LF_SIGNER_MAGIC, status, status == 0 ? (uint32_t)len : 0 };
	int r = write_all(fd, &a, sizeof(a));

	if (r == 0 && status == 0 && len)
		r = write_all(fd, data, len);
	return r;
}

/* Reads, checks and answers one request; < 0 ends the child. */
static int serve_one(int fd, const struct lf_portal_repo_ops *ops, char *buf)
{
	struct signer_req q;
	char feed[LF_SIGNER_FEED_MAX + 1];
	size_t max_doc, max_prev;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int r = read_all(fd, &q, sizeof(q));

	if (r < 0)
		return r;
	if (q.magic != LF_SIGNER_MAGIC)
		return answer(fd, -EPROTO, NULL, 0), -EPROTO;
	r = limits(q.op, &max_doc, &max_prev);
	if (r == 0 && (q.feed_len < 1 || q.feed_len > LF_SIGNER_FEED_MAX || q.doc_len < 1 ||
		       q.doc_len > max_doc || q.prev_len > max_prev))
		r = -E2BIG;
	if (r < 0) {
		r = skip(fd, (uint64_t)q.feed_len + q.doc_len + q.prev_len);
		return r < 0 ? r : answer(fd, -EPROTO, NULL, 0);
	}
	r = read_all(fd, feed, q.feed_len);
	if (r == 0)
		r = read_all(fd, buf, (size_t)q.doc_len + q.prev_len);
	if (r < 0)
		return r;
	feed[q.feed_len] = '\0';
	if (!lf_repo_valid_feed(feed) || memchr(feed, 0, q.feed_len))
		return answer(fd, -EINVAL, NULL, 0);
	r = check_doc(q.op, feed, buf, q.doc_len);
	if (r == 0) {
		struct lf_portal_blob doc = { (unsigned char *)buf, q.doc_len };
		struct lf_portal_blob prev = { q.prev_len ? (unsigned char *)buf + q.doc_len : NULL,
					       q.prev_len };

		r = q.op == LF_SIGNER_OP_SNAPSHOT
			    ? ops->sign_snapshot(ops->ctx, feed, &doc, &prev, &out, &out_len)
			    : ops->sign_timestamp(ops->ctx, feed, &doc, &prev, &out, &out_len);
	}
	r = answer(fd, r, out, out_len);
	free(out);
	return r;
}

/*
 * The child: loads the keys, locks itself into the seccomp filter
 * (signer_sandbox.c), says whether both worked, then serves until EOF. A
 * filter that cannot be installed stops the signer: better no online
 * signing (the server says so) than a key holder without its walls. Only
 * where no filter is written for the architecture does it serve without.
 */
static _Noreturn void signer_main(int fd, const char *data_dir,
				  const struct lf_portal_signer_config *cfg)
{
	struct lf_portal_repo_ops ops = { 0 };
	sigset_t none;
	char *buf;
	int r;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 0); /* the server (same user) cannot ptrace or read us */
	prctl(PR_SET_NAME, "livefix-signer");
	buf = malloc((size_t)LF_TARGETS_MAX + LF_SNAPSHOT_MAX);
	r = buf ? lf_portal_signer_open(data_dir, cfg, &ops) : -ENOMEM;
	if (r == 0) {
		r = lf_portal_signer_sandbox(fd);
		if (r == -EOPNOTSUPP)
			r = 0;
		if (r < 0) {
			/* The server only learns the errno: say which wall is missing. */
			dprintf(STDERR_FILENO, "livefix-signer: cannot install its seccomp filter: %s\n",
				strerror(-r));
			lf_portal_signer_close(&ops); /* wipes the keys */
		}
	}
	if (answer(fd, r, NULL, 0) < 0 || r < 0)
		_exit(1);
	while (serve_one(fd, &ops, buf) == 0)
		;
	lf_portal_signer_close(&ops);
	_exit(0);
}

static int exchange(struct signer_client *c, uint32_t op, const char *feed,
		    const struct lf_portal_blob *doc, const struct lf_portal_blob *prev,
		    unsigned char **ret, size_t *ret_len)
{
	struct signer_req q = { LF_SIGNER_MAGIC, op, (uint32_t)strlen(feed),
				(uint32_t)(doc->data ? doc->len : 0),
				(uint32_t)(prev && prev->data ? prev->len : 0) };
	struct signer_resp a;
	unsigned char *out = NULL;
	int r;

	if (!doc->data)
		return -EOPNOTSUPP; /* nothing to name yet */
	pthread_mutex_lock(&c->lock);
	r = write_all(c->fd, &q, sizeof(q));
	if (r == 0)
		r = write_all(c->fd, feed, q.feed_len);
	if (r == 0)
		r = write_all(c->fd, doc->data, q.doc_len);
	if (r == 0 && q.prev_len)
		r = write_all(c->fd, prev->data, q.prev_len);
	if (r == 0)
		r = read_all(c->fd, &a, sizeof(a));
	if (r == 0 && (a.magic != LF_SIGNER_MAGIC || a.len > LF_SNAPSHOT_MAX))
		r = -EPROTO;
	if (r == 0 && a.status == 0) {
		out = malloc(a.len ? a.len : 1);
		r = out ? read_all(c->fd, out, a.len) : -ENOMEM;
	}
	pthread_mutex_unlock(&c->lock);
	if (r == 0 && a.status < 0)
		r = a.status;
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = a.len;
	return 0;
}

static int proc_snapshot(void *ctx, const char *feed, const struct lf_portal_blob *targets,
			 const struct lf_portal_blob *prev, unsigned char **ret, size_t *ret_len)
{
	return exchange(ctx, LF_SIGNER_OP_SNAPSHOT, feed, targets, prev, ret, ret_len);
}

static int proc_timestamp(void *ctx, const char *feed, const struct lf_portal_blob *snapshot,
			  const struct lf_portal_blob *prev, unsigned char **ret, size_t *ret_len)
{
	return exchange(ctx, LF_SIGNER_OP_TIMESTAMP, feed, snapshot, prev, ret, ret_len);
}

static void reap(struct signer_client *c)
{
	int status;

	if (c->fd >= 0)
		close(c->fd);
	if (c->pid > 0)
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int lf_portal_signer_spawn(const char *data_dir, const struct lf_portal_signer_config *cfg,
			   struct lf_portal_repo_ops *ret_ops)
{
	struct signer_client *c = calloc(1, sizeof(*c));
	struct signer_resp hello;
	int sv[2], r;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		reap(c);
		return r;
	}
	c->pid = fork();
	if (c->pid == 0) {
		close(sv[0]);
		signer_main(sv[1], data_dir, cfg);
	}
	close(sv[1]);
	c->fd = sv[0];
	if (c->pid < 0) {
		r = -errno;
		reap(c);
		return r;
	}
	r = read_all(c->fd, &hello, sizeof(hello));
	if (r == 0)
		r = hello.magic != LF_SIGNER_MAGIC ? -EPROTO : hello.status;
	if (r < 0) {
		reap(c);
		return r;
	}
	*ret_ops = (struct lf_portal_repo_ops){
		.name = "trust (signer process)",
		.sign_snapshot = proc_snapshot,
		.sign_timestamp = proc_timestamp,
		.refresh_interval = cfg && cfg->refresh ? cfg->refresh : LF_SIGNER_REFRESH,
		.ctx = c,
	};
	return 0;
}

int lf_portal_signer_fd(const struct lf_portal_repo_ops *ops, pid_t *ret_pid)
{
	const struct signer_client *c = ops->ctx;

	if (!c || ops->sign_snapshot != proc_snapshot)
		return -EINVAL;
	if (ret_pid)
		*ret_pid = c->pid;
	return c->fd;
}

void lf_portal_signer_stop(struct lf_portal_repo_ops *ops)
{
	if (ops->sign_snapshot == proc_snapshot && ops->ctx)
		reap(ops->ctx);
	else
		lf_portal_signer_close(ops); /* in-process signer, or pass-through (no ctx) */
	ops->ctx = NULL;
}
