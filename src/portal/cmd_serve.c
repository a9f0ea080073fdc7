/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-portal serve and publish. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/log.h"

#include "cli.h"
#include "portal.h"
#include "repo.h"
#include "signer.h"

static void serve_usage(void)
{
	printf("usage: livefix-portal serve --data DIR [--listen ADDR:PORT] [--db postgresql://...]\n"
	       "                            [--threads N] [--checkin-interval SECONDS]\n"
	       "                            [--refresh-interval SECONDS] [--timestamp-expiry SECONDS]\n"
	       "                            [--snapshot-expiry SECONDS] [--checkin-cache N]\n"
	       "                            [-n|--check-config]\n\n"
	       "Serves HTTPS (TLS 1.3) until SIGTERM or SIGINT. Port 0 picks a free port;\n"
	       "the port in use is written to DIR/portal.port. --check-config checks the\n"
	       "address, the TLS files and the database, then exits.\n"
	       "With the online keys in DIR/keys, snapshot and timestamp of every feed are\n"
	       "re-signed after each publish and the timestamp every --refresh-interval\n"
	       "(default 3600 s; expiries: timestamp 86400 s, snapshot 604800 s).\n"
	       "Up to --checkin-cache device credentials (default 262144, about 60 MB)\n"
	       "are kept in memory with what an idle check-in reads; 0 reads the\n"
	       "database for every check-in.\n");
}

/* Seconds, 1 .. 10 years. */
static int parse_seconds(const char *s, int64_t *ret)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || *end || v < 1 || v > 10LL * 366 * 86400)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A count, 0 .. 2^26. */
static int parse_count(const char *s, size_t *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > (1LL << 26))
		return -EINVAL;
	*ret = (size_t)v;
	return 0;
}

/* Options shared by serve and publish: how the online roles are signed. */
static int parse_signer_opt(int o, const char *arg, struct lf_portal_signer_config *sc)
{
	int64_t v;

	if (parse_seconds(arg, &v) < 0)
		return -EINVAL;
	switch (o) {
	case 'R': sc->refresh = (unsigned)(v > 86400 * 30 ? 86400 * 30 : v); return 0;
	case 'T': sc->timestamp_expiry = v; return 0;
	case 'S': sc->snapshot_expiry = v; return 0;
	}
	return -EINVAL;
}

#define SIGNER_OPTIONS \
	{ "refresh-interval", required_argument, NULL, 'R' }, \
	{ "timestamp-expiry", required_argument, NULL, 'T' }, \
	{ "snapshot-expiry", required_argument, NULL, 'S' }

/*
 * The trust library's signer with the keys in DATA/keys, in its own process
 * (signer_proc.c): this process never reads the keys. Without usable keys (a
 * data directory from before they existed), what the build host published
 * is served as it is. Call before any thread or database connection exists.
 */
void lf_cli_open_signer(const char *data, const struct lf_portal_signer_config *sc,
			struct lf_portal_repo_ops *ops)
{
	int r = lf_portal_signer_spawn(data, sc, ops);

	if (r < 0) {
		lf_warn("%s/keys: the online signer did not start (%s); snapshot and timestamp are "
			"served as published ('livefix-portal init' creates the keys)", data,
			strerror(-r));
		*ops = lf_portal_repo_passthrough;
	}
}

static int parse_serve(int argc, char **argv, struct lf_portal_config *cfg, char *dbbuf, size_t dbsz,
		       bool *check_only, struct lf_portal_signer_config *sc)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "db", required_argument, NULL, 'b' },
		{ "listen", required_argument, NULL, 'l' }, { "threads", required_argument, NULL, 't' },
		{ "checkin-interval", required_argument, NULL, 'i' },
		{ "checkin-cache", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' }, SIGNER_OPTIONS,
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int o;

	cfg->threads = 2; /* the target server: 2 cores */
	cfg->checkin_interval = 3600;
	while ((o = getopt_long(argc, argv, "hn", opts, NULL)) != -1) {
		switch (o) {
		case 'd': cfg->data_dir = optarg; break;
		case 'b': cfg->db = optarg; break;
		case 'n': *check_only = true; break;
		case 'l': cfg->listen = optarg; break;
		case 't': cfg->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'i': cfg->checkin_interval = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c':
			if (parse_count(optarg, &cfg->checkin_cache) < 0)
				return -EINVAL;
			cfg->no_checkin_cache = cfg->checkin_cache == 0;
			break;
		case 'h': serve_usage(); return 1;
		case 'R': case 'T': case 'S':
			if (parse_signer_opt(o, optarg, sc) < 0)
				return -EINVAL;
			break;
		default: return -EINVAL;
		}
	}
	if (!cfg->data_dir || cfg->threads < 1 || cfg->threads > 64 || cfg->checkin_interval < 10)
		return -EINVAL;
	if (!cfg->db && lf_cli_conf_db(cfg->data_dir, dbbuf, dbsz) > 0)
		cfg->db = dbbuf;
	return 0;
}

static int write_port(const char *data, unsigned port)
{
	char path[4096], text[16];

	snprintf(path, sizeof(path), "%s/portal.port", data);
	snprintf(text, sizeof(text), "%u\n", port);
	return lf_write_file_atomic(path, text, strlen(text), 0644);
}

/*
 * Waits for SIGTERM/SIGINT; every second prunes the change log (once a minute),
 * and re-signs timestamps when the signer asks for it.
 */
static void wait_for_stop(struct lf_portal *p, const sigset_t *set,
			  const struct lf_serve_hook *hook)
{
	unsigned every = p->repo_ops->refresh_interval;
	int64_t next_refresh = lf_now() + every;

	for (;;) {
		struct timespec ts = { 1, 0 };
		int sig = sigtimedwait(set, NULL, &ts);

		if (sig == SIGTERM || sig == SIGINT)
			return;
		lf_portal_tick(p);
		if (hook)
			hook->tick(p, hook->ctx);
		if (every && lf_now() >= next_refresh) {
			int r;

			next_refresh = lf_now() + every;
			pthread_mutex_lock(&p->slots[0].lock);
			r = lf_repo_refresh_timestamps(p->slots[0].store, p->repo_ops);
			pthread_mutex_unlock(&p->slots[0].lock);
			if (r < 0)
				lf_log_errno(r, "re-signing timestamps");
		}
	}
}

int lf_cli_serve(int argc, char **argv, const struct lf_serve_hook *hook)
{
	struct lf_portal_config cfg = { 0 };
	struct lf_portal_signer_config sc = { 0 };
	struct lf_portal_repo_ops ops;
	bool check_only = false;
	struct lf_portal p;
	char dbbuf[4096];
	sigset_t set;
	int r;

	r = parse_serve(argc, argv, &cfg, dbbuf, sizeof(dbbuf), &check_only, &sc);
	if (r > 0)
		return LF_EXIT_OK;
	if (r < 0)
		return lf_cmd_usage_error("livefix-portal serve",
					  "--data is required; threads 1..64; interval >= 10");
	if (check_only) {
		r = lf_portal_check(&cfg);
		if (r < 0)
			return lf_exit_code(lf_log_errno(r, "%s: configuration", cfg.data_dir));
		lf_cli_open_signer(cfg.data_dir, &sc, &ops);
		printf("configuration of %s is valid (%s signer for snapshot and timestamp)\n",
		       cfg.data_dir, ops.name);
		lf_portal_signer_stop(&ops);
		return LF_EXIT_OK;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before MHD starts its threads */
	signal(SIGPIPE, SIG_IGN);
	lf_cli_open_signer(cfg.data_dir, &sc, &ops);
	cfg.repo_ops = &ops;
	r = lf_portal_start(&p, &cfg);
	if (r < 0)
		lf_portal_signer_stop(&ops);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "cannot serve %s on %s", cfg.data_dir,
						 cfg.listen ? cfg.listen : "0.0.0.0:8443"));
	write_port(cfg.data_dir, p.port);
	lf_notice("serving %s (%s, %u threads, %s signer) on port %u", cfg.data_dir,
		  cfg.db ? "postgresql" : "sqlite", cfg.threads, ops.name, p.port);
	if (hook)
		hook->tick(&p, hook->ctx); /* at once, then every second */
	wait_for_stop(&p, &set, hook);
	lf_notice("stopping");
	lf_portal_stop(&p);
	lf_portal_signer_stop(&ops);
	explicit_bzero(dbbuf, sizeof(dbbuf));
	return LF_EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
	return lf_cli_serve(argc, argv, NULL);
}

static void publish_usage(void)
{
	printf("usage: livefix-portal publish --data DIR [--db URL] --repo REPODIR --feed NAME\n"
	       "                              [--meta FACTS.json] [--timestamp-expiry SECONDS]\n"
	       "                              [--snapshot-expiry SECONDS]\n\n"
	       "Copies a repository signed on the build host (root.json and N.root.json,\n"
	       "targets/NAME.json or targets.json, snapshot.json and timestamp.json when\n"
	       "present, bundles/ *.lfb) into the feed, re-signs snapshot and timestamp\n"
	       "with the online keys in DIR/keys (when they exist),\n"
	       "then records the bundle facts (default REPODIR/bundles.json when it exists):\n"
	       "one object or an array of {id, kind, level, sha256, target {build_id, arch,\n"
	       "release}, cves [{id, severity}]}.\n");
}

int cmd_publish(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "db", required_argument, NULL, 'b' },
		{ "repo", required_argument, NULL, 'r' }, { "feed", required_argument, NULL, 'f' },
		{ "meta", required_argument, NULL, 'm' }, SIGNER_OPTIONS,
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct lf_portal_signer_config sc = { 0 };
	struct lf_portal_repo_ops ops;
	struct lf_cli_common c = { 0 };
	const char *repo = NULL, *feed = NULL, *meta_path = NULL;
	char def_meta[4096];
	json_t *meta = NULL;
	json_error_t jerr;
	struct lf_store *s;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': c.data = optarg; break;
		case 'b': c.db = optarg; break;
		case 'r': repo = optarg; break;
		case 'f': feed = optarg; break;
		case 'm': meta_path = optarg; break;
		case 'h': publish_usage(); return LF_EXIT_OK;
		case 'R': case 'T': case 'S':
			if (parse_signer_opt(o, optarg, &sc) < 0)
				return lf_cmd_usage_error("livefix-portal publish", "bad seconds");
			break;
		default: return lf_cmd_usage_error("livefix-portal publish", "bad option");
		}
	}
	if (!c.data || !repo || !lf_repo_valid_feed(feed))
		return lf_cmd_usage_error("livefix-portal publish",
					  "--data, --repo and a valid --feed are required");
	if (!meta_path) {
		snprintf(def_meta, sizeof(def_meta), "%s/bundles.json", repo);
		if (access(def_meta, F_OK) == 0)
			meta_path = def_meta;
	}
	if (meta_path) {
		meta = json_load_file(meta_path, JSON_REJECT_DUPLICATES, &jerr);
		if (!meta) {
			lf_err("%s:%d: %s", meta_path, jerr.line, jerr.text);
			return LF_EXIT_FAILURE;
		}
	}
	lf_cli_open_signer(c.data, &sc, &ops); /* forks: before the database is opened */
	r = lf_cli_open_store(&c, &s);
	if (r < 0) {
		lf_portal_signer_stop(&ops);
		json_decref(meta);
		return lf_exit_code(lf_log_errno(r, "database"));
	}
	r = lf_repo_publish_dir(s, &ops, feed, repo, meta);
	lf_portal_signer_stop(&ops);
	if (r >= 0)
		lf_store_audit(s, 0, "local", "publish", feed, repo);
	lf_store_close(s);
	json_decref(meta);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "publish %s to feed %s", repo, feed));
	printf("published %s to feed %s: %d bundle%s recorded\n", repo, feed, r, r == 1 ? "" : "s");
	return LF_EXIT_OK;
}
