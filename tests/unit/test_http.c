/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded HTTP GET and JSON POST against a small server forked on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/http.h"

static pid_t server;
static int port;

static int say(int c, const char *s)
{
	return write(c, s, strlen(s)) < 0 ? -1 : 0; /* the client may hang up */
}

/* Answers 202 with the body when the credential and type are right, else 401. */
static void echo(int c, char *req, size_t n)
{
	char *body = strstr(req, "\r\n\r\n") + 4, *cl = strstr(req, "Content-Length: ");
	size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0, have = n - (size_t)(body - req);
	char head[128];
	ssize_t r;

	while (have < want && body + have < req + 4095) {
		r = read(c, body + have, (size_t)(req + 4095 - (body + have)));
		if (r <= 0)
			return;
		have += (size_t)r;
	}
	body[have] = '\0';
	/* Plain HTTP here, so no credential: it is only ever sent over https. */
	if (strstr(req, "\r\nAuthorization:") ||
	    !strstr(req, "\r\nContent-Type: application/json\r\n")) {
		say(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno");
		return;
	}
	snprintf(head, sizeof(head), "HTTP/1.1 202 Accepted\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", have);
	say(c, head);
	say(c, body);
}

static void handle(int c)
{
	char req[4096] = "";
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		r = read(c, req + n, sizeof(req) - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
	}
	if (!strncmp(req, "GET /ok ", 8)) {
		if (strstr(req, "If-None-Match: \"e1\""))
			say(c, "HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\nConnection: close\r\n\r\n");
		else
			say(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"e1\"\r\n"
			       "Connection: close\r\n\r\nhello");
	} else if (!strncmp(req, "POST /echo ", 11)) {
		echo(c, req, n);
	} else if (!strncmp(req, "GET /endless ", 13)) {
		say(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		for (int i = 0; i < 100000; i++)
			if (say(c, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") < 0)
				break;
	} else if (!strncmp(req, "GET /declared-big ", 18)) {
		say(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\nabc");
	} else if (!strncmp(req, "GET /slow ", 10)) {
		say(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n");
		for (int i = 0; i < 100; i++) {
			if (say(c, "s") < 0)
				break;
			sleep(1);
		}
	} else {
		say(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	}
}

static int setup(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	port = ntohs(a.sin_port);
	server = fork();
	if (server < 0)
		return -1;
	if (server == 0) {
		signal(SIGPIPE, SIG_IGN);
		alarm(60); /* never outlive a hung test run */
		for (;;) {
			int c = accept(s, NULL, NULL);

			if (c >= 0) {
				handle(c);
				close(c);
			}
		}
	}
	close(s);
	return 0;
}

static int teardown(void **state)
{
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	return 0;
}

static int get(const char *path, struct lf_http_opts *o, struct lf_buf *out,
	       struct lf_http_result *res)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	return lf_http_get(url, o, out, res);
}

static void test_ok_and_not_modified(void **state)
{
	struct lf_http_opts o = { .max = 100, .timeout = 10 };
	struct lf_buf out = LF_BUF_INIT(101);
	struct lf_http_result res;
	char etag[LF_HTTP_ETAG_MAX];

	assert_int_equal(get("/ok", &o, &out, &res), 0);
	assert_string_equal(out.data, "hello");
	assert_string_equal(res.etag, "\"e1\"");
	assert_true(res.bytes > 5);
	strcpy(etag, res.etag);
	o.etag = etag;
	assert_int_equal(get("/ok", &o, &out, &res), 1);
	assert_int_equal(get("/nothing", &o, &out, &res), -ENOENT);
	lf_buf_release(&out);
}

static void test_endless_stops_at_max(void **state)
{
	struct lf_http_opts o = { .max = 1000, .timeout = 10 };
	struct lf_buf out = LF_BUF_INIT(1001);
	struct lf_http_result res;

	assert_int_equal(get("/endless", &o, &out, &res), -EOVERFLOW);
	assert_true(out.len <= 1000);
	assert_int_equal(get("/declared-big", &o, &out, &res), -EOVERFLOW);
	lf_buf_release(&out);
}

static void test_slow_retrieval_aborts(void **state)
{
	struct lf_http_opts o = { .max = 100, .min_rate = 50, .min_rate_time = 1, .timeout = 30 };
	struct lf_buf out = LF_BUF_INIT(101);
	struct lf_http_result res;
	time_t t0 = time(NULL);

	assert_int_equal(get("/slow", &o, &out, &res), -ETIMEDOUT);
	assert_true(time(NULL) - t0 <= 10);
	lf_buf_release(&out);
}

static void test_other_protocols_refused(void **state)
{
	struct lf_http_opts o = { .max = 100, .timeout = 5 };
	struct lf_buf out = LF_BUF_INIT(101);
	struct lf_http_result res;

	assert_true(lf_http_get("file:///etc/hostname", &o, &out, &res) < 0);
	assert_int_equal(out.len, 0);
	lf_buf_release(&out);
}

/* A credential never leaves in clear text, nor with a header injection. */
static void test_bearer_only_over_https(void **state)
{
	struct lf_http_opts o = { .max = 100, .timeout = 5, .bearer = "lfd_secret" };
	struct lf_buf out = LF_BUF_INIT(101);
	struct lf_http_result res;

	assert_int_equal(get("/ok", &o, &out, &res), -EINVAL);
	assert_int_equal(out.len, 0);
	o.bearer = "lfd_x\r\nX-Evil: 1";
	assert_int_equal(lf_http_get("https://127.0.0.1:1/ok", &o, &out, &res), -EINVAL);
	o.bearer = "";
	assert_int_equal(get("/ok", &o, &out, &res), 0); /* empty: none sent */
	lf_buf_release(&out);
}

/* A POST carries a JSON body; its answer is bounded like a GET's. */
static void test_post_json(void **state)
{
	struct lf_http_opts o = { .max = 100, .timeout = 10 };
	struct lf_buf out = LF_BUF_INIT(101);
	struct lf_http_result res;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
	assert_int_equal(lf_http_request(url, "POST", "{\"a\":1}", 7, &o, &out, &res), 202);
	assert_int_equal(out.len, 7);
	assert_memory_equal(out.data, "{\"a\":1}", 7);
	/* No credential over plain HTTP, no unbounded body. */
	o.bearer = "lfd_tok";
	assert_int_equal(lf_http_request(url, "POST", "{}", 2, &o, &out, &res), -EINVAL);
	o.bearer = NULL;
	assert_int_equal(lf_http_request(url, "POST", "{}", LF_HTTP_BODY_MAX + 1, &o, &out, &res),
			 -EINVAL);
	o.max = 3;
	assert_int_equal(lf_http_request(url, "POST", "{\"a\":1}", 7, &o, &out, &res), -EOVERFLOW);
	lf_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_and_not_modified),
		cmocka_unit_test(test_endless_stops_at_max),
		cmocka_unit_test(test_slow_retrieval_aborts),
		cmocka_unit_test(test_other_protocols_refused),
		cmocka_unit_test(test_bearer_only_over_https),
		cmocka_unit_test(test_post_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
