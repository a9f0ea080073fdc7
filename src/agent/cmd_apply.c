/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix apply BUNDLE.lfb | livefix apply --repo URL|DIR
 *
 * Verify first, then apply. Nothing from a bundle reaches the kernel
 * unless the targets keys of the pinned root (or a --key) signed it, its
 * payloads match the manifest, and it names this exact kernel build. From a
 * repository, the TUF metadata must also be fresh and consistent.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/http.h"
#include "livefix/json.h"
#include "livefix/log.h"

#include "agent.h"
#include "apply.h"
#include "trust_agent.h"

static const char usage[] =
	"usage: livefix apply [OPTIONS] BUNDLE.lfb\n"
	"       livefix apply [OPTIONS] --repo URL|DIR [--feed NAME]\n"
	"\n"
	"  --dry-run            verify everything and report what would be applied; keeps\n"
	"                       the verified metadata, applies and records nothing\n"
	"  --key PUBKEY         trust this targets key (only when no root is pinned)\n"
	"  --state-dir DIR      state directory (default $LIVEFIX_STATE_DIR or /var/lib/livefix)\n"
	"  --sysroot DIR        read the kernel identity below DIR (default $LIVEFIX_SYSROOT)\n"
	"  --min-rate BYTES     slowest acceptable download rate (default 1024 bytes/s) ...\n"
	"  --slow-timeout SECS  ... sustained for this long before giving up (default 30)\n"
	"  --timeout SECS       longest time for one file (default 600)\n"
	"  --ca FILE            https: trust the certificates in this PEM file, e.g. the\n"
	"                       portal's self-signed one (default $LIVEFIX_CA, else the\n"
	"                       system's store)\n"
	"  --token-file FILE    https: send the device credential in FILE (lfd_...) as a\n"
	"                       bearer token (default $LIVEFIX_TOKEN_FILE)\n"
	"  --allow-downgrade    apply a level below the one applied\n"
	"  --budget-ms N        userspace: longest pause of a process's threads (default 10)\n"
	"  --retries N          userspace: attempts before giving up as busy (default 20)\n"
	"  --json               print the result as JSON\n"
	"\n"
	"Exit codes: 0 applied or nothing to do, 1 other failure, 2 usage, 3 refused\n"
	"(signature, key, threshold, expiry, rollback, hash, length), 4 not for this\n"
	"kernel or no process maps the file, 5 timed out or busy, 6 not supported here.\n"
	"A userspace bundle is applied to every process that maps its file, or none;\n"
	"from a repository each bundle on its own (the exit code is the first failure's).\n";

static void print_report(const struct lf_apply_opts *o, const struct lf_apply_report *rep)
{
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	struct lf_json j;

	if (!o->json) {
		for (size_t i = 0; i < rep->nrev; i++)
			printf("reverted: withdrawn %s (level %lld, now %lld)\n", rep->rev[i].id,
			       (long long)rep->rev[i].from_level, (long long)rep->rev[i].level);
		if (rep->m)
			printf("%s: %s patch %s level %lld (%zu CVE(s))\n", rep->status,
			       rep->m->target.kind == LF_KIND_USER ? "userspace" : "kernel",
			       rep->m->id, (long long)rep->m->level, rep->m->ncves);
		else
			printf("%s\n", rep->status);
		for (size_t i = 0; i < rep->nuser; i++)
			printf("%s: userspace patch %s level %lld%s%s\n", rep->user[i].status,
			       rep->user[i].id, (long long)rep->user[i].level,
			       rep->user[i].error[0] ? ": " : "", rep->user[i].error);
		if (o->repo)
			printf("transferred %llu bytes in %u request(s)\n",
			       (unsigned long long)rep->bytes, rep->requests);
		return;
	}
	lf_json_init(&j, &out, true);
	lf_json_object_begin(&j);
	lf_json_kv_string(&j, "status", rep->status);
	if (rep->nrev) {
		lf_json_key(&j, "reverted");
		lf_json_array_begin(&j);
		for (size_t i = 0; i < rep->nrev; i++) {
			lf_json_object_begin(&j);
			lf_json_kv_string(&j, "id", rep->rev[i].id);
			lf_json_kv_int(&j, "from_level", rep->rev[i].from_level);
			lf_json_kv_int(&j, "level", rep->rev[i].level);
			lf_json_object_end(&j);
		}
		lf_json_array_end(&j);
	}
	if (rep->m) {
		lf_json_kv_string(&j, "id", rep->m->id);
		lf_json_kv_string(&j, "kind", lf_kind_name(rep->m->target.kind));
		lf_json_kv_int(&j, "level", rep->m->level);
		lf_json_kv_string(&j, "sha256", rep->sha256);
		lf_json_key(&j, "cves");
		lf_json_array_begin(&j);
		for (size_t i = 0; i < rep->m->ncves; i++)
			lf_json_string(&j, rep->m->cves[i].id);
		lf_json_array_end(&j);
	}
	if (o->repo) {
		lf_json_key(&j, "user");
		lf_json_array_begin(&j);
		for (size_t i = 0; i < rep->nuser; i++) {
			lf_json_object_begin(&j);
			lf_json_kv_string(&j, "status", rep->user[i].status);
			lf_json_kv_string(&j, "id", rep->user[i].id);
			lf_json_kv_int(&j, "level", rep->user[i].level);
			if (!strcmp(rep->user[i].status, "applied"))
				lf_json_kv_int(&j, "processes", rep->user[i].processes);
			if (rep->user[i].error[0])
				lf_json_kv_string(&j, "error", rep->user[i].error);
			lf_json_object_end(&j);
		}
		lf_json_array_end(&j);
		lf_json_kv_int(&j, "bytes_transferred", (int64_t)rep->bytes);
		lf_json_kv_int(&j, "requests", rep->requests);
	}
	lf_json_object_end(&j);
	lf_json_flush(&j, stdout);
}

/*
 * A userspace bundle names an ELF file by build-id; which processes map it
 * is the applier's business. Here only the architecture is checked, and
 * levels are compared per process by the applier (a device runs many
 * patched files, each with its own levels).
 */
static int check_user(const struct lf_bundle *b, struct lf_why *why)
{
	struct utsname u;

	uname(&u);
	if (strcmp(b->m.target.arch, u.machine) != 0)
		return lf_why_set(why, "bundle %s is for arch %s, this machine is %s", b->m.id,
				  b->m.target.arch, u.machine), -EMEDIUMTYPE;
	return 0;
}

/* Kernel identity, kind and level checks shared by both modes. */
static int check_for_us(const struct lf_apply_opts *o, const struct lf_bundle *b,
			struct lf_applied *applied, struct lf_why *why)
{
	struct lf_identity sys;
	int r;

	memset(applied, 0, sizeof(*applied));
	if (b->m.target.kind == LF_KIND_USER)
		return check_user(b, why);
	r = lf_identity_kernel(lf_agent_sysroot(o->sysroot), &sys);
	if (r < 0)
		return lf_why_set(why, "cannot read the running kernel's identity: %s",
				  strerror(-r)), r;
	r = lf_identity_match(&b->m.target, &sys, why);
	if (r < 0)
		return r;
	r = lf_applied_load(lf_agent_state_dir(o->state_dir), LF_KIND_KERNEL, applied);
	if (r < 0)
		return lf_why_set(why, "applied.json unreadable: %s", strerror(-r)), r;
	if (applied->have && b->m.level < applied->level && !o->allow_downgrade)
		return lf_why_set(why, "bundle %s: level %lld is below the applied level %lld "
				  "(downgrade; --allow-downgrade)", b->m.id, (long long)b->m.level,
				  (long long)applied->level), -ESTALE;
	return 0;
}

static int apply_user(const struct lf_apply_opts *o, const struct lf_bundle *b, struct lf_tuf *t,
		      struct lf_apply_report *rep, struct lf_why *why)
{
	bool up_to_date;
	int r;

	if (o->dry_run) {
		rep->status = "would-apply";
		return t ? lf_tuf_commit(t) : 0;
	}
	if (t && (r = lf_tuf_commit(t)) < 0)
		return lf_why_set(why, "cannot save trusted metadata: %s", strerror(-r)), r;
	r = lf_agent_apply_user(lf_agent_state_dir(o->state_dir), lf_agent_sysroot(o->sysroot), b,
				rep->sha256, &o->user, &up_to_date, why);
	if (r < 0)
		return r;
	rep->status = up_to_date ? "up-to-date" : "applied";
	return 0;
}

/*
 * Applies a verified bundle. The metadata that vouched for it (t, may be
 * NULL) is committed before the load; the patch is recorded after it.
 */
static int apply_verified(const struct lf_apply_opts *o, const struct lf_bundle *b,
			  struct lf_tuf *t, struct lf_apply_report *rep, struct lf_why *why)
{
	const char *state = lf_agent_state_dir(o->state_dir);
	struct lf_applied applied;
	int r = check_for_us(o, b, &applied, why);

	free(rep->m);
	rep->m = malloc(sizeof(*rep->m));
	if (!rep->m)
		return -ENOMEM;
	*rep->m = b->m;
	lf_sha256_hex(b->data, b->len, rep->sha256);
	if (r < 0)
		return r;
	if (b->m.target.kind == LF_KIND_USER)
		return apply_user(o, b, t, rep, why);
	/* The same bundle is applied only if it is loaded in this boot. */
	if (applied.have && strcmp(applied.sha256, rep->sha256) == 0 &&
	    lf_applied_is_current(&applied, lf_agent_sysroot(o->sysroot))) {
		rep->status = "up-to-date";
		return t ? lf_tuf_commit(t) : 0;
	}
	if (o->dry_run) {
		/* Verified metadata is kept (rollback protection); nothing applied. */
		rep->status = "would-apply";
		return t ? lf_tuf_commit(t) : 0;
	}
	if (o->gate && (r = o->gate(o->gate_ctx, b, why)) != 0) {
		if (r < 0)
			return r;
		rep->status = "deferred";
		return t ? lf_tuf_commit(t) : 0;
	}
	if (t && (r = lf_tuf_commit(t)) < 0)
		return lf_why_set(why, "cannot save trusted metadata: %s", strerror(-r)), r;
	r = lf_agent_apply_kernel(state, lf_agent_sysroot(o->sysroot), b, rep->sha256, why);
	if (r < 0)
		return r;
	rep->status = "applied";
	return 0;
}

int lf_agent_trust_keys(const char *const *paths, size_t n, struct lf_root *ret,
			struct lf_why *why)
{
	struct lf_role_keys *rk = &ret->roles[LF_ROLE_TARGETS];

	memset(ret, 0, sizeof(*ret));
	rk->threshold = 1;
	for (size_t i = 0; i < n; i++) {
		struct lf_pubkey *k = &ret->ring.keys[ret->ring.n];
		int r = lf_key_load_public(paths[i], k);

		if (r < 0)
			return lf_why_set(why, "key %s: %s", paths[i], strerror(-r)), r;
		ret->ring.n++;
		strcpy(rk->keyids[rk->nkeys++], k->keyid);
	}
	return 0;
}

static int apply_file(const struct lf_apply_opts *o, const char *path, struct lf_apply_report *rep,
		      struct lf_why *why)
{
	struct lf_root *keys = calloc(1, sizeof(*keys));
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_tuf t = { 0 };
	char *data = NULL;
	size_t len;
	int r = keys && b ? 0 : -ENOMEM;

	/* A pinned repository is the trust anchor; --key only without one. */
	if (r == 0)
		r = lf_tuf_open(&t, lf_agent_state_dir(o->state_dir), o->feed, why);
	if (r == 0) {
		*keys = t.root;
		r = t.root.h.expires > lf_time_now() ? 0 : -ESTALE;
		if (r < 0)
			lf_why_set(why, "the pinned root expired: update it from the repository");
	} else if (r == -ENOENT && o->nkeys) {
		r = lf_agent_trust_keys(o->keys, o->nkeys, keys, why);
	} else if (r == -ENOENT) {
		lf_why_set(why, "no trusted root pinned and no --key given: nothing to verify with");
		r = -EKEYREJECTED;
	}
	lf_tuf_close(&t);
	if (r == 0 && (r = lf_read_file(path, LF_BUNDLE_MAX, &data, &len)) < 0)
		lf_why_set(why, "%s: %s", path, r == -EOVERFLOW ? "larger than any bundle may be"
								 : strerror(-r));
	if (r == 0)
		r = lf_bundle_parse(data, len, b, why);
	if (r == 0) {
		r = lf_tuf_verify_bundle(keys, b, why);
		if (r == 0)
			r = apply_verified(o, b, NULL, rep, why);
		lf_bundle_release(b);
	}
	free(data);
	free(b);
	free(keys);
	return r;
}

bool lf_agent_target_allowed(const struct lf_apply_opts *o, const struct lf_target *tg)
{
	if (o->pinned && tg->level > o->pin_level)
		return false;
	if (!o->restrict_to_allowed)
		return true;
	for (size_t i = 0; i < o->nallowed; i++)
		if (!strcmp(o->allowed[i], tg->sha256))
			return true;
	return false;
}

/* Highest-level target for this kernel that is not withdrawn and is allowed. */
static const struct lf_target *select_target(const struct lf_apply_opts *o,
					     const struct lf_tuf *t, const struct lf_identity *sys)
{
	const struct lf_target *best = NULL;

	for (size_t i = 0; i < t->targets.n; i++) {
		const struct lf_target *tg = &t->targets.t[i];

		if (!tg->withdrawn && lf_agent_target_allowed(o, tg) &&
		    lf_identity_match(&tg->ident, sys, NULL) == 0 && (!best || tg->level > best->level))
			best = tg;
	}
	return best;
}

/* Nothing to fetch: say why (up-to-date, held back by rollout or pin, no patch). */
static const char *idle_status(const struct lf_tuf *t, const struct lf_identity *sys,
			       const struct lf_target *tg, const struct lf_applied *a, bool current)
{
	const struct lf_target *any = lf_tuf_select(t, sys);

	if (tg)
		return "up-to-date";
	if (!any)
		return "no-patch";
	return current && a->level >= any->level ? "up-to-date" : "held";
}

static int revert_step(const struct lf_apply_opts *o, struct lf_tuf *t,
		       struct lf_apply_report *rep, struct lf_why *why)
{
	const char *state = lf_agent_state_dir(o->state_dir);
	int r;

	if (o->dry_run || !lf_agent_has_withdrawn(state, t))
		return 0;
	/* The metadata that withdrew a bundle is kept before acting on it. */
	r = lf_tuf_commit(t);
	if (r < 0)
		return lf_why_set(why, "cannot save trusted metadata: %s", strerror(-r)), r;
	return lf_agent_revert_withdrawn(state, lf_agent_sysroot(o->sysroot), t, rep, why);
}

static int read_token(const struct lf_apply_opts *o, char *token, size_t size,
		      struct lf_agent_fetch *fctx, struct lf_why *why)
{
	int r;

	if (!o->token_file)
		return 0;
	r = lf_read_line(o->token_file, token, size);
	if (r < 0)
		return lf_why_set(why, "device credential %s: %s", o->token_file, strerror(-r)), r;
	fctx->bearer = token;
	return 0;
}

int lf_agent_apply_repo(const struct lf_apply_opts *o, struct lf_apply_report *rep,
			struct lf_why *why)
{
	size_t n = strlen(o->repo);
	/* One trailing slash is dropped so that names join with exactly one. */
	char *base = strndup(o->repo, n > 1 && o->repo[n - 1] == '/' ? n - 1 : n);
	struct lf_agent_fetch fctx = { .base = base, .min_rate = o->min_rate,
				       .min_rate_time = o->min_rate_time, .timeout = o->timeout,
				       .bearer = o->bearer, .ca_file = o->ca_file };
	char token[LF_HTTP_BEARER_MAX + 2] = "";
	struct lf_buf data = LF_BUF_INIT(0);
	struct lf_bundle *b = calloc(1, sizeof(*b));
	const struct lf_target *tg;
	struct lf_identity sys;
	struct lf_applied applied;
	struct lf_fetcher f;
	struct lf_tuf t = { 0 };
	bool current;
	int r = b && base ? lf_tuf_open(&t, lf_agent_state_dir(o->state_dir), o->feed, why)
			  : -ENOMEM;

	t.step_hook = lf_agent_crash_point;
	if (r == 0)
		r = read_token(o, token, sizeof(token), &fctx, why);
	if (r == 0) {
		lf_agent_fetcher(&fctx, &f);
		r = lf_tuf_update(&t, &f, why);
	}
	lf_agent_crash_point("verified-metadata");
	if (r == 0 && (r = lf_identity_kernel(lf_agent_sysroot(o->sysroot), &sys)) < 0)
		lf_why_set(why, "cannot read the running kernel's identity: %s", strerror(-r));
	if (r == 0)
		r = revert_step(o, &t, rep, why);
	if (r < 0)
		goto out;
	tg = select_target(o, &t, &sys);
	r = lf_applied_load(lf_agent_state_dir(o->state_dir), LF_KIND_KERNEL, &applied);
	current = r == 0 && lf_applied_is_current(&applied, lf_agent_sysroot(o->sysroot));
	/* Up to date only if that bundle is loaded in this boot (livefix boot). */
	if (r == 0 && (!tg || (current && !strcmp(applied.sha256, tg->sha256)))) {
		rep->status = idle_status(&t, &sys, tg, &applied, current);
		r = lf_tuf_commit(&t);
		goto user;
	}
	if (r == 0)
		r = lf_tuf_fetch_bundle(&t, &f, tg, &data, b, why);
	if (r == 0) {
		rep->fetched = true;
		r = apply_verified(o, b, &t, rep, why);
		lf_bundle_release(b);
	}
user:
	if (r == 0)
		r = lf_agent_apply_repo_user(o, &t, &f, rep, why);
out:
	rep->bytes = fctx.bytes;
	rep->requests = fctx.requests;
	lf_buf_release(&data);
	lf_tuf_close(&t);
	explicit_bzero(token, sizeof(token));
	free(base);
	free(b);
	return r;
}

static int parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_uint(const char *s, long min, long max, unsigned *ret)
{
	long v;
	int r = parse_long(s, min, max, &v);

	if (r == 0)
		*ret = (unsigned)v;
	return r;
}

static int parse_opt(struct lf_apply_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'n': o->dry_run = true; return 0;
	case 'j': o->json = true; return 0;
	case 'D': o->allow_downgrade = true; return 0;
	case 's': o->state_dir = arg; return 0;
	case 'S': o->sysroot = arg; return 0;
	case 'r': o->repo = arg; return 0;
	case 'f': o->feed = arg; return lf_is_id(arg) ? 0 : -EINVAL;
	case 'k':
		if (o->nkeys == LF_MAX_ROLE_KEYS)
			return -E2BIG;
		o->keys[o->nkeys++] = arg;
		return 0;
	case 'm': return parse_long(arg, 1, 1L << 30, &o->min_rate);
	case 'M': return parse_long(arg, 1, 3600, &o->min_rate_time);
	case 'T': return parse_long(arg, 1, 86400, &o->timeout);
	case 'c': o->ca_file = arg; return 0;
	case 't': o->token_file = arg; return 0;
	case 'b': return parse_uint(arg, 1, 10000, &o->user.budget_ms);
	case 'R': return parse_uint(arg, 1, 1000, &o->user.retries);
	}
	return -EINVAL;
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "allow-downgrade", no_argument, NULL, 'D' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "sysroot", required_argument, NULL, 'S' },
		{ "repo", required_argument, NULL, 'r' },
		{ "feed", required_argument, NULL, 'f' },
		{ "key", required_argument, NULL, 'k' },
		{ "min-rate", required_argument, NULL, 'm' },
		{ "slow-timeout", required_argument, NULL, 'M' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "ca", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "budget-ms", required_argument, NULL, 'b' },
		{ "retries", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lf_apply_opts o = { .feed = "production", .min_rate = 1024, .min_rate_time = 30,
				   .timeout = 600, .ca_file = getenv("LIVEFIX_CA"),
				   .token_file = getenv("LIVEFIX_TOKEN_FILE") };
	struct lf_apply_report rep = { .status = "refused" };
	struct lf_why why = { "" };
	int c, r;

	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return LF_EXIT_OK;
		}
		if (c == '?' || parse_opt(&o, c, optarg) < 0)
			return lf_cmd_usage_error("livefix apply", "bad value for option %s",
						  argv[optind - 1]);
	}
	if ((o.repo != NULL) == (optind < argc) || argc - optind > 1)
		return lf_cmd_usage_error("livefix apply", "give one BUNDLE.lfb or --repo");
	r = lf_agent_lock_state(lf_agent_state_dir(o.state_dir));
	if (r == -EBUSY)
		lf_why_set(&why, "another livefix command is changing %s",
			   lf_agent_state_dir(o.state_dir));
	else if (r < 0)
		lf_why_set(&why, "cannot lock %s: %s", lf_agent_state_dir(o.state_dir), strerror(-r));
	if (r >= 0)
		r = o.repo ? lf_agent_apply_repo(&o, &rep, &why) : apply_file(&o, argv[optind], &rep, &why);
	if (r < 0 && rep.nuser_failed) {
		/* The other bundles' outcomes stand: say what was done, then what failed. */
		print_report(&o, &rep);
		lf_err("apply: %s: %zu userspace bundle(s) failed: %s", o.repo, rep.nuser_failed,
		       why.msg);
	} else if (r < 0) {
		lf_err("apply: %s: refused, nothing applied: %s", o.repo ? o.repo : argv[optind],
		       why.msg[0] ? why.msg : lf_strerror(r));
	}
	if (r < 0) {
		free(rep.m);
		return lf_exit_code(r);
	}
	print_report(&o, &rep);
	free(rep.m);
	return LF_EXIT_OK;
}
