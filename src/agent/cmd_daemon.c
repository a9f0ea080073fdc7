/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix daemon [--once] [--syslog] | livefix update
 *
 * The fleet loop: check in with the portal, take its policy, and when there
 * is something new run the same repository update as `livefix apply --repo`
 * with the policy deciding whether the verified bundle is applied now or
 * deferred. Every outcome becomes an event; events the portal cannot take
 * now are queued in the state directory and sent at the next chance.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/hex.h"
#include "livefix/log.h"

#include "agent.h"
#include "apply.h"
#include "fleet.h"
#include "trim.h"
#include "trust_agent.h"
#include "user_exec.h"

#define NEXT_MIN 5              /* seconds: never check in faster than this */
#define NEXT_MAX 86400
#define BACKOFF_BASE 15
#define BACKOFF_CAP 3600
#define UNREGISTERED_RECHECK 60 /* seconds: exec-time patching runs without a portal */

/* The policy's decision on one bundle during this update. */
struct gated {
	char id[LF_ID_MAX + 1];
	struct lf_decision dec;
};

struct daemon {
	const char *state, *sysroot;
	struct lf_fleet_conf conf;
	struct lf_fleet_state fs;
	struct lf_policy policy;
	/* The gate's decisions of this update: the kernel's bundle, then userspace ones. */
	struct gated gated[LF_FLEET_DEFER_MAX];
	size_t ngated;
	/* What the device measured for this update's first decision, kept for the others. */
	struct lf_sysstate sys;
	bool probed;
	bool update;              /* the portal has something new */
	bool registered;          /* portal.json was read at the last cycle */
	int64_t next;             /* seconds until the next check-in */
	/* What the portal lets this device apply now (its rollout stage), by sha256. */
	char allowed[LF_FLEET_ALLOW_MAX][LF_SHA256_HEX + 1];
	size_t nallowed;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

/* BACKOFF_BASE * 2^(failures-1), capped, +-20% so a fleet does not return at once. */
static int64_t backoff(int64_t failures)
{
	int64_t s = BACKOFF_BASE;

	for (int64_t i = 1; i < failures && s < BACKOFF_CAP; i++)
		s *= 2;
	if (s > BACKOFF_CAP)
		s = BACKOFF_CAP;
	return s - s / 5 + (int64_t)(random() % (2 * (s / 5) + 1));
}

static int take_policy(struct daemon *d, const struct lf_jv *pol)
{
	struct lf_buf out = LF_BUF_INIT(64 << 10);
	char path[4096];
	int r = lf_fleet_policy_parse(pol, &d->policy);

	if (r < 0)
		return r;
	r = lf_json_canonical(pol, &out);
	snprintf(path, sizeof(path), "%s/policy.json", d->state);
	if (r == 0)
		r = lf_write_file_atomic(path, out.data, out.len, 0644);
	lf_buf_release(&out);
	return r;
}

/*
 * The check-in's "install": the bundles this device may apply now. Only
 * their sha256 is taken; what they are comes from verified targets.
 */
static void take_install(struct daemon *d, const struct lf_jv *inst)
{
	uint8_t bin[32];
	const char *sha;

	d->nallowed = 0;
	for (size_t i = 0; inst && inst->type == LF_JARR && i < inst->len; i++) {
		if (d->nallowed == LF_FLEET_ALLOW_MAX ||
		    lf_jv_get_str(&inst->u.kids[i], "sha256", LF_SHA256_HEX, &sha) < 0 ||
		    strlen(sha) != LF_SHA256_HEX || lf_unhex(sha, bin, sizeof(bin)) < 0)
			continue;
		snprintf(d->allowed[d->nallowed++], LF_SHA256_HEX + 1, "%s", sha);
	}
}

static int take_answer(struct daemon *d, const struct lf_buf *ans, struct lf_why *why)
{
	const struct lf_jv *pol, *inst;
	const char *feed, *etag;
	struct lf_jv *v;
	int64_t next;
	int r = lf_json_parse(ans->data, ans->len, &lf_json_default_limits, &v);

	if (r == 0 && ((r = lf_jv_get_int(v, "next_checkin", 0, INT32_MAX, &next)) < 0 ||
		       (r = lf_jv_get_str(v, "feed", LF_ID_MAX, &feed)) < 0 ||
		       (r = lf_jv_get_str(v, "policy_etag", 63, &etag)) < 0))
		lf_jv_free(v);
	if (r < 0)
		return lf_why_set(why, "the portal's check-in answer is malformed"), r;
	snprintf(d->fs.feed, sizeof(d->fs.feed), "%s", feed);
	d->next = next < NEXT_MIN ? NEXT_MIN : next > NEXT_MAX ? NEXT_MAX : next;
	d->update = lf_jv_get(v, "update") && lf_jv_get(v, "update")->type == LF_JBOOL &&
		    lf_jv_get(v, "update")->u.b;
	inst = lf_jv_get(v, "install");
	take_install(d, inst);
	d->update |= d->nallowed > 0;
	pol = lf_jv_get(v, "policy");
	/* A policy we cannot use: keep the last one, and ask again next time. */
	if (pol && pol->type == LF_JOBJ && (r = take_policy(d, pol)) < 0) {
		lf_warn("the portal's policy is not usable (%s): keeping the last one", strerror(-r));
		lf_fleet_policy_load(d->state, &d->policy);
	} else {
		snprintf(d->fs.policy_etag, sizeof(d->fs.policy_etag), "%s", etag);
	}
	lf_jv_free(v);
	return 0;
}

static int checkin(struct daemon *d, struct lf_why *why)
{
	struct lf_buf inv = LF_BUF_INIT(LF_FLEET_BODY_MAX), ans = LF_BUF_INIT(0);
	char err[256] = "";
	int r = lf_fleet_inventory(d->state, d->sysroot, &d->fs, &inv);

	if (r == 0)
		r = lf_fleet_post(&d->conf, "/api/v1/devices/self/checkin", inv.data, inv.len,
				  &ans, err, sizeof(err));
	if (r < 0 || r != 200) {
		lf_why_set(why, "check-in failed: %s", err[0] ? err : strerror(-r));
		r = r < 0 ? r : r == 401 ? -EKEYREJECTED : -EPROTO;
	} else {
		r = take_answer(d, &ans, why);
	}
	lf_buf_release(&inv);
	lf_buf_release(&ans);
	return r;
}

static bool critical(const struct lf_manifest *m)
{
	for (size_t i = 0; i < m->ncves; i++)
		if (!strcmp(m->cves[i].severity, "critical"))
			return true;
	return false;
}

static struct gated *find_gated(struct daemon *d, const char *id)
{
	for (size_t i = 0; i < d->ngated; i++)
		if (!strcmp(d->gated[i].id, id))
			return &d->gated[i];
	return NULL;
}

/*
 * The policy decides on the device, from what it measures now, for each
 * bundle on its own: the maximum deferral counts from that bundle's first
 * deferral, so a kernel bundle deferred for a week and a userspace one
 * deferred since this morning are not confused.
 */
static int gate(void *ctx, const struct lf_bundle *b, struct lf_why *why)
{
	struct daemon *d = ctx;
	const struct lf_fleet_deferral *old = lf_fleet_deferral_find(&d->fs, b->m.id);
	struct gated *g = find_gated(d, b->m.id);
	int r;

	if (!g && d->ngated == LF_FLEET_DEFER_MAX)
		return lf_why_set(why, "more bundles than the agent can schedule at once"), -E2BIG;
	if (!g) {
		g = &d->gated[d->ngated++];
		snprintf(g->id, sizeof(g->id), "%s", b->m.id);
	}
	/* Measured once per update (a CPU sample takes 200 ms, the busy check runs a command). */
	r = d->probed ? 0 : lf_policy_probe(&d->policy, "/proc", "/sys/class/power_supply", 200,
					     &d->sys);
	d->probed = r == 0;
	if (r == 0)
		r = lf_policy_decide(&d->policy, &d->sys, time(NULL), old ? (time_t)old->since : 0,
				     critical(&b->m), &g->dec);
	if (r < 0)
		return lf_why_set(why, "cannot evaluate the policy: %s", strerror(-r)), r;
	if (g->dec.overridden)
		lf_notice("%s: %s", b->m.id, g->dec.reason);
	return g->dec.kind == LF_DEFER ? 1 : 0;
}

/*
 * Whether two reasons name the same rule: the figures in them (a load
 * average, a battery level) move from one check-in to the next, and a
 * deferral that goes on for the same cause is one event, not one per
 * check-in.
 */
static bool same_reason(const char *a, const char *b)
{
	for (;;) {
		while (*a >= '0' && *a <= '9')
			a++;
		while (*b >= '0' && *b <= '9')
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

/*
 * A bundle deferred by this update goes into next (the deferrals after
 * it), keeping the time of its first deferral. One event per deferral: for
 * a bundle not deferred before, or deferred now for another rule.
 */
static void record_deferral(struct daemon *d, struct lf_fleet_state *next, const char *id,
			    int64_t level, const char *kind)
{
	const struct lf_fleet_deferral *old = lf_fleet_deferral_find(&d->fs, id);
	const struct gated *g = find_gated(d, id);
	const char *reason = g ? g->dec.reason : "deferred by the policy";
	struct lf_fleet_event ev = { .type = "deferred", .id = id, .level = level, .kind = kind,
				     .key = "reason", .text = reason, .processes = -1 };
	int64_t now = time(NULL);
	struct lf_fleet_deferral *n;

	if (!old || !same_reason(old->reason, reason))
		lf_fleet_event_add(d->state, &ev);
	if (g && g->dec.retry_at > now && g->dec.retry_at - now < d->next)
		d->next = g->dec.retry_at - now;
	lf_info("%s level %lld deferred: %s", id, (long long)level, reason);
	if (next->ndeferred == LF_FLEET_DEFER_MAX || lf_fleet_deferral_find(next, id))
		return;
	n = &next->deferred[next->ndeferred++];
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->since = old ? old->since : now;
	snprintf(n->reason, sizeof(n->reason), "%s", reason);
}

/* Patches taken back because their bundles were withdrawn (withdraw.c). */
static void record_reverts(struct daemon *d, const struct lf_apply_report *rep)
{
	char detail[LF_ID_MAX + 64];

	for (size_t i = 0; i < rep->nrev; i++) {
		const struct lf_revert *v = &rep->rev[i];
		struct lf_fleet_event ev = { .type = "reverted", .id = v->id, .level = v->level,
					     .kind = lf_kind_name(v->kind), .key = "reason",
					     .text = detail, .processes = -1 };

		if (v->to_id[0])
			snprintf(detail, sizeof(detail), "withdrawn; back to %s", v->to_id);
		else
			snprintf(detail, sizeof(detail), "withdrawn; patch removed");
		lf_fleet_event_add(d->state, &ev);
		lf_notice("reverted withdrawn %s (level %lld, now %lld)", v->id,
			  (long long)v->from_level, (long long)v->level);
	}
}

/*
 * One userspace bundle's outcome. Applied, or kept for the processes that
 * start later when none runs the file now (the device is covered: the
 * daemon patches them at exec), is "applied" for the portal; up-to-date
 * says nothing new.
 */
static void record_user(struct daemon *d, struct lf_fleet_state *next,
			const struct lf_apply_user_item *it)
{
	struct lf_fleet_event ev = { .id = it->id, .level = it->level, .kind = "user",
				     .processes = -1 };

	if (!strcmp(it->status, "deferred")) {
		record_deferral(d, next, it->id, it->level, "user");
		return;
	}
	if (!strcmp(it->status, "applied") || !strcmp(it->status, "kept")) {
		ev.type = "applied";
		ev.processes = !strcmp(it->status, "applied") ? it->processes : 0;
		if (!strcmp(it->status, "kept")) {
			ev.key = "note";
			ev.text = "no process runs the file: kept for new processes";
		}
		lf_notice("applied %s level %lld (%d process(es))", it->id, (long long)it->level,
			  (int)ev.processes);
	} else if (!strcmp(it->status, "failed")) {
		ev.type = "failed";
		ev.key = "error";
		ev.text = it->error;
		lf_err("update: %s level %lld: %s", it->id, (long long)it->level, it->error);
	} else {
		return;
	}
	lf_fleet_event_add(d->state, &ev);
}

/* What fleet.json says of the cycle: the first failure, else the most telling outcome. */
static void set_last_result(struct daemon *d, int r, const struct lf_apply_report *rep,
			    const char *msg)
{
	const char *res = rep->status;

	for (size_t i = 0; i < rep->nuser; i++)
		if (!strcmp(rep->user[i].status, "applied") || !strcmp(rep->user[i].status, "kept"))
			res = strcmp(res, "deferred") ? "applied" : res;
		else if (!strcmp(rep->user[i].status, "deferred"))
			res = "deferred";
	if (r < 0)
		snprintf(d->fs.last_result, sizeof(d->fs.last_result), "failed: %s", msg);
	else
		snprintf(d->fs.last_result, sizeof(d->fs.last_result), "%s", res);
}

/*
 * Every outcome of an update becomes an event: the reverts, the kernel
 * bundle's, then each userspace bundle's. An update that failed before it
 * reached the bundles (network, metadata, the kernel step) leaves the
 * deferrals as they were; otherwise they become the ones of this update.
 */
static void record(struct daemon *d, int r, const struct lf_apply_report *rep,
		   const struct lf_why *why)
{
	const char *msg = why->msg[0] ? why->msg : lf_strerror(r);
	struct lf_fleet_state next = { .ndeferred = 0 };

	record_reverts(d, rep);
	set_last_result(d, r, rep, msg);
	if (r < 0 && rep->rev_failed) {
		lf_fleet_event_queue_id(d->state, "failed", rep->rev_failed, 0, "error", msg);
		lf_err("revert: %s", msg);
		return;
	}
	if (r < 0 && !rep->nuser_failed) {
		lf_fleet_event_queue(d->state, "failed", rep->m, "error", msg);
		lf_err("update: %s", msg);
		return;
	}
	if (!strcmp(rep->status, "deferred") && rep->m) {
		record_deferral(d, &next, rep->m->id, rep->m->level, lf_kind_name(rep->m->target.kind));
	} else if (!strcmp(rep->status, "applied") && rep->m) {
		lf_fleet_event_queue(d->state, "applied", rep->m, NULL, NULL);
		lf_notice("applied %s level %lld", rep->m->id, (long long)rep->m->level);
	}
	for (size_t i = 0; i < rep->nuser; i++)
		record_user(d, &next, &rep->user[i]);
	memcpy(d->fs.deferred, next.deferred, sizeof(d->fs.deferred));
	d->fs.ndeferred = next.ndeferred;
}

static int update(struct daemon *d)
{
	char repo[LF_FLEET_URL_MAX + LF_ID_MAX + 16];
	struct lf_apply_opts o = {
		.state_dir = d->state, .sysroot = d->sysroot, .repo = repo, .feed = d->fs.feed,
		.min_rate = 1024, .min_rate_time = 30, .timeout = 600,
		.bearer = d->conf.credential, .ca_file = d->conf.ca,
		.gate = gate, .gate_ctx = d,
		.restrict_to_allowed = true, .allowed = d->allowed, .nallowed = d->nallowed,
		.pinned = d->policy.pin_level >= 0, .pin_level = d->policy.pin_level,
	};
	struct lf_apply_report rep = { .status = "refused" };
	struct lf_why why = { "" };
	int lock, r;

	d->ngated = 0;
	d->probed = false;
	snprintf(repo, sizeof(repo), "%s/repo/%s", d->conf.url, d->fs.feed);
	lock = r = lf_agent_lock_state(d->state);
	if (r == -EBUSY)
		lf_why_set(&why, "another livefix command is changing %s", d->state);
	if (r >= 0)
		r = lf_agent_apply_repo(&o, &rep, &why);
	if (lock >= 0)
		close(lock);
	record(d, r, &rep, &why);
	free(rep.m);
	return r;
}

static int daemon_load(struct daemon *d, struct lf_why *why)
{
	int r = lf_fleet_conf_load(d->state, &d->conf);

	d->registered = r == 0;
	if (r == -ENOENT)
		return lf_why_set(why, "not registered (livefix register URL ...)"), r;
	if (r < 0)
		return lf_why_set(why, "%s/portal.json: %s", d->state, strerror(-r)), r;
	r = lf_fleet_state_load(d->state, &d->fs);
	if (r < 0)
		return lf_why_set(why, "%s/fleet.json: %s", d->state, strerror(-r)), r;
	r = lf_fleet_policy_load(d->state, &d->policy);
	return r == -ENOENT ? 0 : r;
}

/* One cycle: deliver queued events, check in, update when told. */
static int cycle(struct daemon *d, struct lf_why *why)
{
	char err[256];
	int64_t now;
	int r = daemon_load(d, why);

	if (r < 0)
		return r;
	lf_fleet_events_flush(d->state, &d->conf, err, sizeof(err));
	r = checkin(d, why);
	now = time(NULL);
	if (r < 0) {
		d->fs.failures++;
		d->next = backoff(d->fs.failures);
		snprintf(d->fs.last_result, sizeof(d->fs.last_result), "%s", why->msg);
		lf_warn("%s; retrying in %lld s", why->msg, (long long)d->next);
	} else {
		d->fs.failures = 0;
		d->fs.last_checkin = now;
		if (d->update || d->fs.ndeferred)
			r = update(d);
		else if (strcmp(d->fs.last_result, "held"))
			snprintf(d->fs.last_result, sizeof(d->fs.last_result), "up-to-date");
		if (lf_fleet_events_flush(d->state, &d->conf, err, sizeof(err)) < 0)
			lf_warn("events queued, not delivered: %s", err);
	}
	d->fs.next_checkin = now + d->next;
	if (lf_fleet_state_save(d->state, &d->fs) < 0)
		lf_warn("cannot save %s/fleet.json", d->state);
	return r;
}

/* What a cycle run in a child process hands back to the daemon. */
struct cycle_out {
	int r;
	int64_t next;
	bool registered;
	char msg[sizeof(((struct lf_why *)0)->msg)];
};

static void cycle_into(struct daemon *d, struct cycle_out *out)
{
	struct lf_why why = { "" };

	out->r = cycle(d, &why);
	out->next = d->next;
	out->registered = d->registered;
	snprintf(out->msg, sizeof(out->msg), "%s", why.msg);
}

/*
 * A cycle of the long-running daemon runs in a child process: the HTTP and
 * TLS libraries (libcurl and its ~10 MB of libraries, loaded on first use)
 * and all the memory of a check-in and an update go with it, so the daemon
 * that waits between check-ins stays at its start-up size; a crash while
 * parsing what the network sent ends that cycle, not the daemon.
 */
static int cycle_isolated(struct daemon *d, struct lf_why *why)
{
	struct cycle_out out = { 0 };
	size_t got = 0;
	int fds[2], status = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return cycle(d, why);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		cycle_into(d, &out);
		if (write(fds[1], &out, sizeof(out)) != (ssize_t)sizeof(out))
			lf_warn("cannot report the cycle to the daemon");
		fflush(NULL);
		_exit(0);
	}
	close(fds[1]);
	while (pid > 0 && got < sizeof(out)) {
		ssize_t n = read(fds[0], (char *)&out + got, sizeof(out) - got);

		if (n < 0 && errno == EINTR)
			continue;	/* SIGTERM: the cycle finishes first */
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	if (pid < 0)
		return cycle(d, why);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(out)) {
		d->fs.failures++;
		d->next = backoff(d->fs.failures);
		return lf_why_set(why, "the update cycle ended abnormally (%s %d)",
				  WIFSIGNALED(status) ? "signal" : "exit status",
				  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)),
		       -EIO;
	}
	d->next = out.next;
	d->registered = out.registered;
	snprintf(why->msg, sizeof(why->msg), "%s", out.msg);
	return out.r;
}

static void wait_for(int64_t seconds)
{
	/* In steps of a second: a signal between the test and the sleep costs one. */
	for (int64_t i = 0; i < seconds && !stop; i++)
		sleep(1);
}

struct run_opts {
	const char *state_dir, *sysroot;
	bool once, syslog;
	unsigned user_scan; /* seconds between /proc scans for userspace patches, 0: default */
	unsigned user_budget_ms; /* pause budget of exec-time patching, 0: default */
};

static int run(const struct run_opts *o)
{
	struct daemon d = { .state = lf_agent_state_dir(o->state_dir),
			    .sysroot = lf_agent_sysroot(o->sysroot) };
	struct sigaction sa = { .sa_handler = on_signal };
	struct lf_why why = { "" };
	struct lf_user_watch *uw = NULL;
	int r;

	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!o->once)
		lf_user_watch_open(d.state, o->user_scan, o->user_budget_ms, &uw);
	do {
		why.msg[0] = '\0';
		r = o->once ? cycle(&d, &why) : cycle_isolated(&d, &why);
		if (r == -ENOENT && !d.registered && !uw)
			break; /* not registered: nothing to loop for */
		if (r == -ENOENT && !d.registered)
			d.next = UNREGISTERED_RECHECK;
		if (!o->once)
			lf_agent_trim_idle(); /* what start-up mapped, before waiting */
		if (uw)
			lf_user_watch_wait(uw, d.next, &stop); /* new processes, between check-ins */
		else if (!o->once)
			wait_for(d.next);
	} while (!o->once && !stop);
	lf_user_watch_free(uw);
	if (r < 0 && (o->once || !stop))
		lf_err("%s", why.msg[0] ? why.msg : lf_strerror(r));
	if (stop)
		lf_info("stopped by signal %d", (int)stop);
	return o->once || !stop ? lf_exit_code(r) : LF_EXIT_OK;
}

static int parse_run(const char *name, bool daemon, int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "syslog", no_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "sysroot", required_argument, NULL, 'S' },
		{ "user-scan", required_argument, NULL, 'u' },
		{ "user-budget-ms", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o->once = true; break;
		case 'l': o->syslog = true; break;
		case 's': o->state_dir = optarg; break;
		case 'S': o->sysroot = optarg; break;
		case 'u':
			o->user_scan = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !o->user_scan || o->user_scan > 86400 || !daemon)
				return lf_cmd_usage_error(name, "bad value for --user-scan");
			break;
		case 'b':
			o->user_budget_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !o->user_budget_ms || o->user_budget_ms > 10000 || !daemon)
				return lf_cmd_usage_error(name, "bad value for --user-budget-ms");
			break;
		case 'h':
			printf("usage: livefix %s%s [--state-dir DIR] [--sysroot DIR]\n", name,
			       daemon ? " [--once] [--syslog] [--user-scan SECS] [--user-budget-ms N]" : "");
			return -1; /* help shown */
		default: return lf_cmd_usage_error(name, "invalid option");
		}
	}
	if (optind != argc || (!daemon && (o->once || o->syslog)))
		return lf_cmd_usage_error(name, "unexpected argument");
	return 0;
}

int cmd_daemon(int argc, char **argv)
{
	struct run_opts o = { 0 };
	int r = parse_run("daemon", true, argc, argv, &o);

	if (r != 0)
		return r < 0 ? LF_EXIT_OK : r; /* help, or the usage error's exit code */
	if (o.syslog)
		lf_log_use_syslog();
	return run(&o);
}

int cmd_update(int argc, char **argv)
{
	struct run_opts o = { 0 };
	int r = parse_run("update", false, argc, argv, &o);

	if (r != 0)
		return r < 0 ? LF_EXIT_OK : r; /* help, or the usage error's exit code */
	o.once = true;
	return run(&o);
}
