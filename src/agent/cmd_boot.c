/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix boot: live patches do not survive a reboot. Early at boot, before
 * the network, this re-applies the kernel patch level recorded in the state
 * from the local cache, after verifying it again: the cached bundle must be
 * the recorded one (sha256), signed by the pinned root's targets keys, and
 * for this exact kernel build. Expiry is not checked here: the bundle was
 * fresh when it was applied, and many devices boot without a correct clock.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/log.h"

#include "agent.h"
#include "apply.h"
#include "fleet.h"
#include "trust_agent.h"

struct boot_opts {
	const char *state_dir, *sysroot;
	const char *keys[LF_MAX_ROLE_KEYS];
	size_t nkeys;
};

static const char boot_usage[] =
	"usage: livefix boot [--state-dir DIR] [--sysroot DIR] [--key PUB]...\n"
	"\n"
	"Re-applies, after a reboot, the kernel patch level that was applied\n"
	"before it, from the local cache and without the network. The cached\n"
	"bundle is verified again against the pinned root (or --key when none\n"
	"is pinned) and must be for the running kernel build; a kernel that was\n"
	"upgraded since is reported and left alone. A patch whose bundle the\n"
	"trusted targets (as last verified online) mark withdrawn is not re-applied:\n"
	"the level it replaced is, when cached, as after a withdrawal online.\n";

static int load_anchor(const struct boot_opts *o, const char *state, struct lf_root *ret,
		       struct lf_why *why)
{
	struct lf_tuf t;
	/* Only the root is used; the feed name just has to be valid. */
	int r = lf_tuf_open(&t, state, "production", why);

	if (r == 0)
		*ret = t.root;
	lf_tuf_close(&t);
	if (r == -ENOENT && o->nkeys)
		return lf_agent_trust_keys(o->keys, o->nkeys, ret, why);
	if (r == -ENOENT)
		return lf_why_set(why, "no trusted root pinned and no --key given: "
				  "nothing to verify the cache with"), -EKEYREJECTED;
	return r;
}

static int read_cached(const char *state, const struct lf_applied *a, char **ret_data,
		       size_t *ret_len, struct lf_why *why)
{
	char path[4096], sha[LF_SHA256_HEX + 1];
	int r;

	snprintf(path, sizeof(path), "%s/bundles/%s.lfb", state, a->sha256);
	r = lf_read_file(path, LF_BUNDLE_MAX, ret_data, ret_len);
	if (r < 0)
		return lf_why_set(why, "cached bundle %s: %s", path, strerror(-r)), r;
	lf_sha256_hex(*ret_data, *ret_len, sha);
	if (strcmp(sha, a->sha256) != 0) {
		free(*ret_data);
		*ret_data = NULL;
		return lf_why_set(why, "cached bundle %s is damaged: sha256 %s, recorded %s", path,
				  sha, a->sha256), -EBADMSG;
	}
	return 0;
}

/*
 * The targets last verified online may have withdrawn the recorded patch
 * after it was applied (a power cut between the two, a dry run): then do
 * what the daemon would have done. Returns 2 when reverted, 0 when not
 * withdrawn. Signatures are checked on loading; expiry is not, since a
 * device may boot without a correct clock.
 */
static int revert_if_withdrawn(const char *state, const char *sysroot, struct lf_applied *a,
			       struct lf_why *why)
{
	struct lf_fleet_state fs;
	struct lf_fleet_conf conf;
	struct lf_apply_report rep = { 0 };
	struct lf_tuf t;
	const char *feed = lf_fleet_state_load(state, &fs) == 0 && fs.feed[0] ? fs.feed : "production";
	int r = lf_tuf_open(&t, state, feed, why);

	if (r == 0 && lf_agent_has_withdrawn(state, &t))
		r = lf_agent_revert_withdrawn(state, sysroot, &t, &rep, why);
	lf_tuf_close(&t); /* also after a failed open */
	if (r == -ENOENT)
		return 0; /* no root pinned: the cache is checked against --key below */
	if (r <= 0)
		return r;
	/* Reported at the next check-in, when this device has a portal. */
	for (size_t i = 0; i < rep.nrev && lf_fleet_conf_load(state, &conf) == 0; i++)
		lf_fleet_event_queue_id(state, "reverted", rep.rev[i].id, rep.rev[i].level, "reason",
					"withdrawn; reverted at boot");
	explicit_bzero(&conf, sizeof(conf));
	lf_applied_load(state, LF_KIND_KERNEL, a);
	printf("kernel patch %s level %lld was withdrawn: %s\n", rep.rev[0].id,
	       (long long)rep.rev[0].from_level, rep.rev[0].to_id[0] ? "back to the level before" :
	       "not re-applied");
	return 2;
}

/* Returns 1 when there was nothing to do, 0 when re-applied, 2 when withdrawn. */
static int reapply(const struct boot_opts *o, struct lf_applied *a, struct lf_why *why)
{
	const char *state = lf_agent_state_dir(o->state_dir), *sysroot = lf_agent_sysroot(o->sysroot);
	struct lf_root *root = calloc(1, sizeof(*root));
	struct lf_bundle *b = calloc(1, sizeof(*b));
	struct lf_identity sys;
	char *data = NULL;
	size_t len;
	int r = root && b ? lf_applied_load(state, LF_KIND_KERNEL, a) : -ENOMEM;

	if (r < 0 || !a->have || lf_applied_is_current(a, sysroot)) {
		r = r < 0 ? r : 1;
		goto out;
	}
	r = revert_if_withdrawn(state, sysroot, a, why);
	if (r != 0)
		goto out;
	if ((r = read_cached(state, a, &data, &len, why)) < 0 ||
	    (r = load_anchor(o, state, root, why)) < 0 ||
	    (r = lf_bundle_parse(data, len, b, why)) < 0)
		goto out;
	r = lf_tuf_verify_bundle(root, b, why);
	if (r == 0 && (r = lf_identity_kernel(sysroot, &sys)) < 0)
		lf_why_set(why, "cannot read the running kernel's identity: %s", strerror(-r));
	if (r == 0 && lf_identity_match(&b->m.target, &sys, why) < 0) {
		/* An upgraded kernel: the patch was for the old one. */
		r = -EMEDIUMTYPE;
	}
	if (r == 0)
		r = lf_agent_apply_kernel(state, sysroot, b, a->sha256, why);
	lf_bundle_release(b);
out:
	free(data);
	free(b);
	free(root);
	return r;
}

int cmd_boot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "sysroot", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct boot_opts o = { 0 };
	struct lf_why why = { 0 };
	struct lf_applied a;
	int c, r, lock;

	while ((c = getopt_long(argc, argv, "s:r:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.state_dir = optarg; break;
		case 'r': o.sysroot = optarg; break;
		case 'k':
			if (o.nkeys == LF_MAX_ROLE_KEYS)
				return lf_cmd_usage_error("livefix boot", "too many --key");
			o.keys[o.nkeys++] = optarg;
			break;
		case 'h': fputs(boot_usage, stdout); return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix boot", "invalid option");
		}
	}
	if (optind != argc)
		return lf_cmd_usage_error("livefix boot", "unexpected argument '%s'", argv[optind]);
	lock = lf_agent_lock_state(lf_agent_state_dir(o.state_dir));
	if (lock < 0)
		return lf_exit_code(lf_log_errno(lock, "%s: cannot lock the state",
						 lf_agent_state_dir(o.state_dir)));
	r = reapply(&o, &a, &why);
	if (r == 2)
		return LF_EXIT_OK;
	if (r == 1) {
		if (a.have)
			printf("kernel patch %s level %lld: already applied in this boot\n", a.id,
			       (long long)a.level);
		else
			printf("no kernel patch to re-apply\n");
		return LF_EXIT_OK;
	}
	if (r == -EMEDIUMTYPE) {
		printf("kernel patch %s level %lld not re-applied: %s (the kernel changed since)\n",
		       a.id, (long long)a.level, why.msg);
		return LF_EXIT_OK;
	}
	if (r < 0) {
		lf_err("boot: %s", why.msg[0] ? why.msg : lf_strerror(r));
		return lf_exit_code(r);
	}
	printf("re-applied kernel patch %s level %lld\n", a.id, (long long)a.level);
	return LF_EXIT_OK;
}
