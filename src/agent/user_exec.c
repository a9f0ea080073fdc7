/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec-time patching (user_exec.h). The flow for one new process:
 *
 *   PROC_EVENT_EXEC (netlink, timestamped by the kernel)
 *     -> pending: polled every millisecond until lf_user_process_ready()
 *        says its loader is done (glibc), or its maps stop changing
 *        (other libcs), or 5 s passed
 *     -> every stored bundle whose build-id it maps is applied
 *        (lf_user_apply: the same checks and pause as livefix apply)
 *
 * The process runs unpatched from its exec until the switch; the daemon
 * logs that window for each process ("... ms after exec").
 */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "livefix/error.h"
#include "livefix/log.h"
#include "livefix/user.h"

#include "trim.h"
#include "trust_agent.h"
#include "user_exec.h"
#include "user_store.h"

#define PENDING_MAX 256
/*
 * Past this age a process counts as loaded whatever lf_user_process_ready()
 * says: glibc never sets its single-threaded flag back after the threads a
 * program started have exited, which looks the same as a loader at work.
 */
#define READY_WAIT_NS (5ull * 1000000000)
#define STABLE_NS (20ull * 1000000)	/* maps unchanged this long: loaded */
#define FAILED_MAX 256
#define PIDS_MAX 4096
#define EXEC_SERVED_MS 2000	/* younger processes are left to their exec event */

struct pending {
	pid_t pid;
	uint64_t t_exec;	/* the kernel's timestamp of the exec */
	uint64_t t_seen;
	uint64_t t_stable;	/* since when the maps size has not changed */
	size_t maps_len;
};

/*
 * A process a patch could not be applied to. Most refusals pass (a thread
 * in code without unwind information, in the patched function, or the
 * pause over budget at that moment): retried after RETRY_FIRST_NS,
 * doubling, RETRY_MAX times in all; then left alone until the store changes.
 */
#define RETRY_FIRST_NS (100ull * 1000000)
#define RETRY_MAX 6

struct failed {
	pid_t pid;
	char id[LF_ID_MAX + 1];
	unsigned tries;
	uint64_t retry_at;	/* UINT64_MAX: given up */
};

struct lf_user_watch {
	const char *state;
	int nl;			/* the proc connector, -1: scans only */
	struct lf_user_stored *v;
	size_t n;
	int64_t stamp;		/* of the store when loaded */
	unsigned budget_ms;	/* 0: the applier's default */
	bool rescan;
	bool trim;		/* a store load or an apply mapped more: trim when idle */
	uint64_t scan_ns, next_scan;
	struct pending pend[PENDING_MAX];
	size_t npend;
	struct failed failed[FAILED_MAX];	/* not retried by scans */
	size_t nfailed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Subscribes to the kernel's process events; needs CAP_NET_ADMIN. */
static int connector_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	struct __attribute__((packed)) {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} msg = { 0 };
	int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);

	if (fd < 0)
		return -errno;
	msg.nl.nlmsg_len = sizeof(msg);
	msg.nl.nlmsg_type = NLMSG_DONE;
	msg.cn.id.idx = CN_IDX_PROC;
	msg.cn.id.val = CN_VAL_PROC;
	msg.cn.len = sizeof(msg.op);
	msg.op = PROC_CN_MCAST_LISTEN;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, &msg, sizeof(msg), 0) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int lf_user_watch_open(const char *state_dir, unsigned scan_s, unsigned budget_ms,
		       struct lf_user_watch **ret)
{
	struct lf_user_watch *w = calloc(1, sizeof(*w));
	const char *off = getenv("LIVEFIX_TEST_NO_PROC_CONNECTOR");

	if (!w)
		return -ENOMEM;
	w->state = state_dir;
	w->stamp = -1;	/* load at the first wait, even an empty store */
	w->budget_ms = budget_ms;
	w->nl = off && *off ? -EPERM : connector_open();
	if (w->nl < 0)
		lf_notice("exec events unavailable (%s): new processes are found by scanning /proc",
			  strerror(-w->nl));
	w->scan_ns = (uint64_t)(scan_s ? scan_s : w->nl >= 0 ? 30 : 1) * 1000000000;
	lf_notice("userspace patches: new processes are patched at exec%s, /proc is scanned every %llu s",
		  w->nl >= 0 ? "" : " (by the scan)", (unsigned long long)(w->scan_ns / 1000000000));
	*ret = w;
	return 0;
}

void lf_user_watch_free(struct lf_user_watch *w)
{
	if (!w)
		return;
	if (w->nl >= 0)
		close(w->nl);
	lf_agent_user_store_free(w->v, w->n);
	free(w);
}

static void scan(struct lf_user_watch *w);

static void reload(struct lf_user_watch *w)
{
	int64_t stamp = lf_agent_user_store_stamp(w->state);
	size_t bad;

	if (stamp == w->stamp)
		return;
	lf_agent_user_store_free(w->v, w->n);
	w->v = NULL;
	w->n = 0;
	if (lf_agent_user_store_load(w->state, &w->v, &w->n, &bad) < 0)
		return;
	if (bad)
		lf_warn("%zu stored userspace bundle(s) in %s/user are damaged or unverified: skipped",
			bad, w->state);
	w->stamp = stamp;
	w->nfailed = 0;
	w->trim = true;
	scan(w);	/* also catches processes started while the bundle was applied */
	w->next_scan = now_ns() + w->scan_ns;
	lf_notice("%zu userspace patch(es) kept for new processes", w->n);
}

static struct failed *find_failed(struct lf_user_watch *w, pid_t pid, const char *id)
{
	for (size_t i = 0; i < w->nfailed; i++)
		if (w->failed[i].pid == pid && !strcmp(w->failed[i].id, id))
			return &w->failed[i];
	return NULL;
}

/* Counts a failure and says when to try again (the scan after retry_at). */
static void note_failure(struct lf_user_watch *w, pid_t pid, const char *id, const char *msg)
{
	struct failed *f = find_failed(w, pid, id);

	if (!f && w->nfailed < FAILED_MAX) {
		f = &w->failed[w->nfailed++];
		*f = (struct failed){ .pid = pid };
		snprintf(f->id, sizeof(f->id), "%s", id);
	}
	if (!f)
		return;
	if (++f->tries >= RETRY_MAX) {
		f->retry_at = UINT64_MAX;
		lf_warn("pid %d: %s not applied: %s (%u attempts; not tried again)", (int)pid, id, msg,
			f->tries);
		return;
	}
	f->retry_at = now_ns() + (RETRY_FIRST_NS << (f->tries - 1));
	if (f->retry_at < w->next_scan)
		w->next_scan = f->retry_at;
	lf_info("pid %d: %s not applied yet: %s (attempt %u, again in %llu ms)", (int)pid, id, msg,
		f->tries, (unsigned long long)((RETRY_FIRST_NS << (f->tries - 1)) / 1000000));
}

/* Applies stored patch s to pid; t_exec > 0 for a process seen at its exec. */
static void apply_one(struct lf_user_watch *w, const struct lf_user_stored *s, pid_t pid,
		      uint64_t t_exec, uint64_t t_ready)
{
	struct lf_user_opts o = LF_USER_OPTS_DEFAULT;
	struct lf_user_result res;
	int lock = lf_agent_lock_user(), r;

	if (w->budget_ms)
		o.budget_ms = w->budget_ms;
	if (lock < 0) {
		lf_warn("pid %d: %s not applied: another livefix user command holds the lock", (int)pid,
			s->id);
		return;
	}
	r = lf_user_apply(s->p, pid, &o, &res);
	close(lock);
	w->trim = true;
	if (r == -EEXIST || r == -EALREADY || r == -EMEDIUMTYPE || r == -ESRCH)
		return;	/* has it (or a higher level), or is gone */
	if (r < 0) {
		note_failure(w, pid, s->id, res.msg[0] ? res.msg : lf_strerror(r));
		return;
	}
	if (t_exec)
		lf_notice("pid %d: applied %s level %lld (patch %s) at exec, %.3f ms after exec "
			  "(loader done at %.3f ms, pause %.3f ms)", (int)pid, s->id, (long long)s->level,
			  lf_user_patch_id(s->p), (double)(now_ns() - t_exec) / 1e6,
			  (double)(t_ready - t_exec) / 1e6, (double)res.pause_ns / 1e6);
	else
		lf_notice("pid %d: applied %s level %lld (patch %s) (found by scan, pause %.3f ms)",
			  (int)pid, s->id, (long long)s->level, lf_user_patch_id(s->p),
			  (double)res.pause_ns / 1e6);
}

struct has_id {
	const char *id;
	bool found;
};

static int find_applied(const struct lf_user_applied *a, void *ud)
{
	struct has_id *h = ud;

	h->found |= !strcmp(a->id, h->id) && a->redirected == a->nfuncs;
	return 0;
}

/* Milliseconds since pid started, or UINT64_MAX when unknown. */
static uint64_t age_ms(pid_t pid)
{
	char path[64], stat[1024], *p;
	unsigned long long start;
	struct timespec now;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	p = fgets(stat, sizeof(stat), f) ? strrchr(stat, ')') : NULL;
	fclose(f);
	/* after "comm)": state is field 3, starttime field 22 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			 "%*d %*d %llu", &start) != 1)
		return UINT64_MAX;
	clock_gettime(CLOCK_BOOTTIME, &now);
	uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK), start_ms = start * 1000 / (hz ? hz : 100);
	uint64_t now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	return now_ms > start_ms ? now_ms - start_ms : 0;
}

static bool is_pending(const struct lf_user_watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->npend; i++)
		if (w->pend[i].pid == pid)
			return true;
	return false;
}

/* Every process that maps a stored patch's file and does not run it yet. */
static void scan(struct lf_user_watch *w)
{
	pid_t *pids = calloc(PIDS_MAX, sizeof(*pids));

	for (size_t i = 0; pids && i < w->n; i++) {
		int n = lf_user_find_targets(w->v[i].p, pids, PIDS_MAX);
		for (int k = 0; k < n; k++) {
			struct has_id h = { lf_user_patch_id(w->v[i].p), false };
			const struct failed *f = find_failed(w, pids[k], w->v[i].id);
			uint64_t age = age_ms(pids[k]);
			if ((f && now_ns() < f->retry_at) || is_pending(w, pids[k]) ||
			    (!f && w->nl >= 0 && age < EXEC_SERVED_MS) ||
			    (age < READY_WAIT_NS / 1000000 && lf_user_process_ready(pids[k]) == 0))
				continue;	/* retry not due, its exec event serves it, or loading */
			lf_user_for_each_applied(pids[k], find_applied, &h);
			if (!h.found)
				apply_one(w, &w->v[i], pids[k], 0, 0);
		}
	}
	free(pids);
}

static void take_events(struct lf_user_watch *w)
{
	char buf[8192] __attribute__((aligned(8)));
	ssize_t len;

	while ((len = recv(w->nl, buf, sizeof(buf), 0)) > 0) {
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			struct cn_msg *cn = NLMSG_DATA(h);
			struct proc_event ev;	/* cn->data is only 4-byte aligned */
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*cn) + sizeof(ev)))
				continue;
			memcpy(&ev, cn->data, sizeof(ev));
			if (ev.what != PROC_EVENT_EXEC || !w->n)
				continue;
			if (w->npend == PENDING_MAX) {
				w->rescan = true;	/* a burst: the scan finds them */
				continue;
			}
			w->pend[w->npend++] = (struct pending){
				.pid = ev.event_data.exec.process_tgid, .t_exec = ev.timestamp_ns,
				.t_seen = now_ns(),
			};
		}
	}
	if (len < 0 && errno == ENOBUFS)
		w->rescan = true;	/* events were lost */
}

static size_t maps_len(pid_t pid)
{
	char path[64], *text;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	text = malloc(4096);
	for (size_t got; text && (got = fread(text, 1, 4096, f)) > 0 && len < (64u << 20);)
		len += got;
	free(text);
	fclose(f);
	return len;
}

/* 1: patch it now, 0: not yet, -1: forget it. */
static int pending_state(struct pending *p, uint64_t now)
{
	int r = lf_user_process_ready(p->pid);

	if (r < 0)
		return -1;
	if (r == 1 || now - p->t_seen > READY_WAIT_NS)
		return 1;
	if (r == 0)
		return 0;
	size_t len = maps_len(p->pid);	/* no glibc: wait until the maps settle */
	if (len != p->maps_len) {
		p->maps_len = len;
		p->t_stable = now;
		return 0;
	}
	return now - p->t_stable >= STABLE_NS ? 1 : 0;
}

static void serve_pending(struct lf_user_watch *w)
{
	size_t keep = 0;

	for (size_t i = 0; i < w->npend; i++) {
		struct pending *p = &w->pend[i];
		int st = pending_state(p, now_ns());
		if (st == 0) {
			w->pend[keep++] = *p;
			continue;
		}
		uint64_t t_ready = now_ns();
		for (size_t k = 0; st == 1 && k < w->n; k++)
			if (lf_user_maps_target(w->v[k].p, p->pid))
				apply_one(w, &w->v[k], p->pid, p->t_exec, t_ready);
	}
	w->npend = keep;
}

void lf_user_watch_wait(struct lf_user_watch *w, int64_t seconds, volatile sig_atomic_t *stop)
{
	uint64_t end = now_ns() + (uint64_t)(seconds > 0 ? seconds : 0) * 1000000000;

	for (uint64_t now = now_ns(); !*stop && now < end; now = now_ns()) {
		reload(w);
		if (w->nl >= 0)
			take_events(w);	/* before a scan: new processes are served as such */
		if (w->n && (w->rescan || now >= w->next_scan)) {
			w->next_scan = now_ns() + w->scan_ns;
			scan(w);	/* a failure in it may bring next_scan closer */
			w->rescan = false;
		}
		/* 1 ms while a process is loading, else until the next scan, store check or end. */
		uint64_t next = w->npend ? now + 1000000 : now + 1000000000;
		if (w->n && w->next_scan < next)
			next = w->next_scan;
		if (end < next)
			next = end;
		struct pollfd pfd = { .fd = w->nl, .events = POLLIN };
		int ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		if (poll(&pfd, w->nl >= 0 ? 1 : 0, ms) > 0)
			take_events(w);
		serve_pending(w);
		if (w->trim && !w->npend) {
			lf_agent_trim_idle();
			w->trim = false;
		}
	}
}
