/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's check-in cache (checkin_cache.c): created at start, and on
 * PostgreSQL a listener thread with its own connection that marks the cache
 * stale when the change log's notification arrives, so that a change made
 * by another portal instance or a command-line process is read before the
 * next check-in is answered. Without the listener (SQLite, or PostgreSQL
 * while its connection is being re-made) the cache reads the log before
 * every check-in instead.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "livefix/log.h"

#include "portal.h"

#define PRUNE_EVERY 60 /* ticks (seconds) */
#define RELISTEN_MS 1000

/* Waits up to ms for the wake descriptor; true when the server stops. */
static bool wait_wake(int wake_fd, int fd, int ms, bool *ret_readable)
{
	struct pollfd pfd[2] = { { .fd = wake_fd, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	int n = poll(pfd, fd >= 0 ? 2 : 1, ms);

	if (ret_readable)
		*ret_readable = n > 0 && fd >= 0 && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP));
	return n > 0 && (pfd[0].revents & POLLIN);
}

static void *listen_main(void *arg)
{
	struct lf_portal *p = arg;

	for (;;) {
		struct lf_store *s = NULL;
		bool readable;
		int fd = -1, r;

		r = lf_store_open(p->db_target, &s);
		if (r >= 0)
			r = fd = lf_store_listen(s, "livefix_changes");
		if (r >= 0) {
			/* Listening: from here on a notification follows every change. */
			lf_checkin_cache_set_notified(p->cache, true);
			lf_debug("check-in cache: listening for changes");
		} else {
			lf_debug("check-in cache: cannot listen (%s): reading the log every time",
				 strerror(-r));
		}
		while (fd >= 0) {
			if (wait_wake(p->wake_fd, fd, -1, &readable)) {
				lf_store_close(s);
				return NULL;
			}
			r = readable ? lf_store_notified(s) : 0;
			if (r > 0)
				lf_checkin_cache_stale(p->cache);
			if (r < 0)
				break;
		}
		/* Lost: exact but slower until listening again. */
		lf_checkin_cache_set_notified(p->cache, false);
		if (s)
			lf_store_close(s);
		s = NULL;
		if (wait_wake(p->wake_fd, -1, RELISTEN_MS, NULL))
			return NULL;
	}
}

int lf_portal_cache_start(struct lf_portal *p, const char *target)
{
	struct lf_store *probe = p->slots[0].store;
	int r;

	p->wake_fd = -1;
	if (p->cfg.no_checkin_cache)
		return 0;
	r = lf_checkin_cache_new(p->cfg.checkin_cache ? p->cfg.checkin_cache
						      : LF_CHECKIN_CACHE_DEFAULT, &p->cache);
	if (r < 0)
		return r;
	if (strcmp(lf_store_backend_name(probe), "postgresql"))
		return 0; /* no notifications: the log is read before every check-in */
	snprintf(p->db_target, sizeof(p->db_target), "%s", target);
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0)
		return -errno;
	r = -pthread_create(&p->listener, NULL, listen_main, p);
	p->listening = r == 0;
	return r;
}

void lf_portal_cache_stop(struct lf_portal *p)
{
	uint64_t one = 1;

	if (p->listening) {
		if (write(p->wake_fd, &one, sizeof(one)) < 0)
			lf_debug("check-in cache: wake: %s", strerror(errno));
		pthread_join(p->listener, NULL);
		p->listening = false;
	}
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	p->wake_fd = -1;
	lf_checkin_cache_free(p->cache);
	p->cache = NULL;
	explicit_bzero(p->db_target, sizeof(p->db_target)); /* may hold a password */
}

/* Once a minute, the log loses what is older than an hour. */
void lf_portal_cache_tick(struct lf_portal *p, struct lf_store *s)
{
	int r;

	if (++p->ticks % PRUNE_EVERY)
		return;
	r = lf_checkin_cache_prune(s);
	if (r < 0)
		lf_debug("check-in cache: pruning the change log: %s", strerror(-r));
}
