/* SPDX-License-Identifier: Apache-2.0 */
/* livefix trust init ROOT.json | livefix trust status */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/log.h"

#include "agent.h"
#include "trust_agent.h"

static const char usage[] =
	"usage: livefix trust init [--force] [--state-dir DIR] ROOT.json\n"
	"       livefix trust status [--json] [--feed NAME] [--state-dir DIR]\n"
	"\n"
	"init pins the repository's first root: it must be signed by its own root\n"
	"threshold and not expired. Later roots are only accepted through a chain of\n"
	"roots each signed by the previous one (livefix apply --repo).\n"
	"status prints the trusted metadata versions and the applied patches.\n";

struct trust_opts {
	const char *state_dir;
	const char *feed;
	bool force, json;
};

static int trust_init(const struct trust_opts *o, const char *path)
{
	struct lf_why why = { "" };
	char *data;
	size_t len;
	int r = lf_read_file(path, LF_ROOT_MAX, &data, &len);

	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "trust init: %s", path));
	r = lf_agent_lock_state(lf_agent_state_dir(o->state_dir));
	if (r == -EBUSY)
		lf_why_set(&why, "another livefix command is changing the state");
	if (r >= 0)
		r = lf_tuf_pin_root(lf_agent_state_dir(o->state_dir), data, len, o->force, &why);
	free(data);
	if (r < 0) {
		lf_err("trust init: %s: %s", path, why.msg[0] ? why.msg : lf_strerror(r));
		return lf_exit_code(r);
	}
	printf("pinned root from %s in %s/trust\n", path, lf_agent_state_dir(o->state_dir));
	return LF_EXIT_OK;
}

static void kv_version(struct lf_json *j, const char *key, bool have, int64_t v)
{
	if (have)
		lf_json_kv_int(j, key, v);
	else {
		lf_json_key(j, key);
		lf_json_null(j);
	}
}

static int trust_status(const struct trust_opts *o)
{
	const char *dir = lf_agent_state_dir(o->state_dir);
	struct lf_buf out = LF_BUF_INIT(1 << 16);
	struct lf_why why = { "" };
	struct lf_applied a;
	struct lf_json j;
	struct lf_tuf t;
	int r = lf_tuf_open(&t, dir, o->feed, &why);

	if (r < 0) {
		lf_tuf_close(&t);
		lf_err("trust status: %s", why.msg[0] ? why.msg : lf_strerror(r));
		return lf_exit_code(r);
	}
	if (lf_applied_load(dir, LF_KIND_KERNEL, &a) < 0)
		a.have = false;
	lf_json_init(&j, &out, true);
	lf_json_object_begin(&j);
	kv_version(&j, "root", true, t.root.h.version);
	kv_version(&j, "timestamp", t.ts_doc.have, t.ts.h.version);
	kv_version(&j, "snapshot", t.snap_doc.have, t.snap.h.version);
	kv_version(&j, "targets", t.targets_doc.have, t.targets.h.version);
	lf_json_kv_string(&j, "feed", o->feed);
	lf_json_key(&j, "kernel");
	if (a.have) {
		lf_json_object_begin(&j);
		lf_json_kv_string(&j, "id", a.id);
		lf_json_kv_int(&j, "level", a.level);
		lf_json_kv_string(&j, "sha256", a.sha256);
		lf_json_object_end(&j);
	} else {
		lf_json_null(&j);
	}
	lf_json_object_end(&j);
	r = lf_json_finish(&j);
	if (o->json)
		fputs(out.data, stdout);
	else
		printf("root %lld, timestamp %lld, snapshot %lld, targets %lld (feed %s)\n"
		       "kernel patch: %s level %lld\n", (long long)t.root.h.version,
		       (long long)(t.ts_doc.have ? t.ts.h.version : 0),
		       (long long)(t.snap_doc.have ? t.snap.h.version : 0),
		       (long long)(t.targets_doc.have ? t.targets.h.version : 0), o->feed,
		       a.have ? a.id : "none", (long long)(a.have ? a.level : 0));
	lf_buf_release(&out);
	lf_tuf_close(&t);
	return lf_exit_code(r);
}

int cmd_trust(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "feed", required_argument, NULL, 'f' },
		{ "force", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trust_opts o = { .feed = "production" };
	const char *sub = argc > 1 ? argv[1] : NULL;
	int c;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? LF_EXIT_OK : LF_EXIT_USAGE;
	}
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.state_dir = optarg; break;
		case 'f': o.feed = optarg; break;
		case 'F': o.force = true; break;
		case 'j': o.json = true; break;
		case 'h': fputs(usage, stdout); return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix trust", "bad option");
		}
	}
	if (!strcmp(sub, "init") && optind + 1 == argc)
		return trust_init(&o, argv[optind]);
	if (!strcmp(sub, "status") && optind == argc)
		return trust_status(&o);
	return lf_cmd_usage_error("livefix trust", "unknown subcommand '%s' or wrong arguments",
				  sub);
}
