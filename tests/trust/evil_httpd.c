/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evil_httpd: a small HTTP/1.1 server on 127.0.0.1 that serves a repository
 * directory honestly or maliciously, for the trust suite.
 *
 *   evil_httpd ROOT PORTFILE CTLFILE MAXSECONDS
 *
 * It binds an ephemeral port, writes it to PORTFILE, and serves one
 * connection at a time until MAXSECONDS have passed. Before each request it
 * reads CTLFILE (may be absent): lines "MODE SUBSTRING"; the first line whose
 * SUBSTRING occurs in the request path picks the mode:
 *
 *   normal   the file, with Content-Length and an ETag; 304 on If-None-Match
 *   trickle  headers, then one byte every 500 ms (slow retrieval)
 *   endless  the file, then more bytes without end, no Content-Length
 *   wrong    the file with its bytes changed (same length)
 *   missing  404
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE (64 << 20)
#define ENDLESS_CAP (256 << 20) /* the server stops somewhere, the client must stop first */

static time_t deadline;

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void pick_mode(const char *ctl, const char *path, char *mode, size_t size)
{
	char line[512], m[32], sub[400];
	FILE *f = fopen(ctl, "re");

	snprintf(mode, size, "normal");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %399s", m, sub) == 2 && strstr(path, sub)) {
			snprintf(mode, size, "%s", m);
			break;
		}
	}
	fclose(f);
}

static char *load(const char *root, const char *path, size_t *len, char *etag, size_t esize)
{
	char full[4096];
	struct stat st;
	char *data;
	int fd;

	if (strstr(path, ".."))
		return NULL;
	snprintf(full, sizeof(full), "%s%s", root, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE ||
	    !(data = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return NULL;
	}
	*len = (size_t)read(fd, data, (size_t)st.st_size);
	close(fd);
	snprintf(etag, esize, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
	return data;
}

static void reply(int c, const char *root, const char *ctl, const char *path, const char *inm)
{
	char hdr[512], etag[128], mode[32];
	size_t len = 0;
	char *data = load(root, path, &len, etag, sizeof(etag));

	pick_mode(ctl, path, mode, sizeof(mode));
	if (!data || !strcmp(mode, "missing")) {
		const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

		write_all(c, nf, strlen(nf));
		free(data);
		return;
	}
	if (!strcmp(mode, "normal") && inm && !strcmp(inm, etag)) {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 304 Not Modified\r\nETag: %s\r\n"
			 "Connection: close\r\n\r\n", etag);
		write_all(c, hdr, strlen(hdr));
	} else if (!strcmp(mode, "endless")) {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		if (write_all(c, hdr, strlen(hdr)) == 0 && write_all(c, data, len) == 0) {
			char junk[4096];

			memset(junk, ' ', sizeof(junk));
			for (size_t sent = 0; sent < ENDLESS_CAP && time(NULL) < deadline;
			     sent += sizeof(junk))
				if (write_all(c, junk, sizeof(junk)) < 0)
					break;
		}
	} else {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nETag: %s\r\n"
			 "Connection: close\r\n\r\n", len, etag);
		if (!strcmp(mode, "wrong"))
			for (size_t i = 0; i < len; i += 7)
				data[i] ^= 0x20;
		if (write_all(c, hdr, strlen(hdr)) == 0) {
			if (!strcmp(mode, "trickle")) {
				struct timespec ts = { 0, 500 * 1000 * 1000 };

				for (size_t i = 0; i < len && time(NULL) < deadline; i++) {
					if (write_all(c, data + i, 1) < 0)
						break;
					nanosleep(&ts, NULL);
				}
			} else {
				write_all(c, data, len);
			}
		}
	}
	free(data);
}

static void serve(int c, const char *root, const char *ctl)
{
	char req[8192], path[1024], *inm = NULL, *p;
	size_t n = 0;

	req[0] = '\0';
	while (n < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t r = read(c, req + n, sizeof(req) - 1 - n);

		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
	}
	if (sscanf(req, "GET %1023s HTTP/1.", path) != 1)
		return;
	p = strcasestr(req, "\r\nIf-None-Match:");
	if (p) {
		inm = p + 16;
		while (*inm == ' ')
			inm++;
		inm[strcspn(inm, "\r\n")] = '\0';
	}
	fprintf(stderr, "evil_httpd: GET %s\n", path);
	reply(c, root, ctl, path, inm);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	FILE *pf;
	int s, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: evil_httpd ROOT PORTFILE CTLFILE MAXSECONDS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	deadline = time(NULL) + atoi(argv[4]);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
		perror("evil_httpd");
		return 1;
	}
	pf = fopen(argv[2], "we");
	if (!pf)
		return 1;
	fprintf(pf, "%d\n", ntohs(a.sin_port));
	fclose(pf);
	alarm((unsigned)atoi(argv[4]) + 1);
	while (time(NULL) < deadline) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		serve(c, argv[1], argv[3]);
		close(c);
	}
	return 0;
}
