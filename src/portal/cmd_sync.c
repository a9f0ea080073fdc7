/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-portal export, import and mirror: signed repositories between portals. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/http.h"
#include "livefix/log.h"

#include "cli.h"
#include "portal.h"
#include "sync.h"

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "db", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct lf_cli_common c = { 0 };
	struct lf_store *s;
	size_t feeds = 0;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': c.data = optarg; break;
		case 'b': c.db = optarg; break;
		case 'h':
			printf("usage: livefix-portal export --data DIR [--db URL] OUTDIR\n\n"
			       "Writes every feed's signed repository (root chain, timestamp,\n"
			       "snapshot, targets, bundles) to OUTDIR/<feed>/ in the layout the\n"
			       "portal serves, for 'livefix-portal import' on the other side of an\n"
			       "air gap. OUTDIR must not exist; it appears complete or not at all.\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix-portal export", "bad option");
		}
	}
	if (!c.data || optind != argc - 1)
		return lf_cmd_usage_error("livefix-portal export", "--data and OUTDIR are required");
	r = lf_cli_open_store(&c, &s);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "database"));
	r = lf_sync_export(s, argv[optind], &feeds);
	if (r >= 0)
		lf_store_audit(s, 0, "local", "export", argv[optind], NULL);
	lf_store_close(s);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "export to %s", argv[optind]));
	printf("exported %zu feed%s (%d files) to %s\n", feeds, feeds == 1 ? "" : "s", r,
	       argv[optind]);
	return LF_EXIT_OK;
}

static void report(const struct lf_sync_feed *f, const char *verb, bool quiet)
{
	if (!f->changed && quiet)
		return;
	if (!f->changed)
		printf("feed %s: up to date\n", f->feed);
	else
		printf("feed %s: %s root v%lld, timestamp v%lld, targets v%lld, %zu new bundle%s\n",
		       f->feed, verb, (long long)f->root_version, (long long)f->timestamp_version,
		       (long long)f->targets_version, f->nbundles, f->nbundles == 1 ? "" : "s");
}

/* Verifies every feed of src, then stores all of them in one transaction. */
static int import_all(struct lf_store *s, struct lf_sync_source *src, json_t *names,
		      const char *root_file, const char *what, bool quiet)
{
	size_t n = json_array_size(names), i;
	struct lf_sync_feed *feeds = calloc(n ? n : 1, sizeof(*feeds));
	char work[] = "/tmp/livefix-import.XXXXXX";
	struct lf_why why = { "" };
	bool have_work = false;
	int r = feeds ? 0 : -ENOMEM;

	if (r == 0 && !(have_work = mkdtemp(work) != NULL))
		r = -errno;
	for (i = 0; r == 0 && i < n; i++) {
		const char *feed = json_string_value(json_array_get(names, i));

		r = lf_sync_verify_feed(s, src, feed, root_file, work, &feeds[i], &why);
		if (r < 0)
			lf_err("%s: feed %s refused, nothing imported: %s", what, feed,
			       why.msg[0] ? why.msg : strerror(-r));
	}
	if (r == 0) {
		r = lf_sync_store(s, feeds, n);
		if (r < 0)
			lf_log_errno(r, "%s: storing", what);
	}
	for (i = 0; feeds && i < n; i++) {
		if (r == 0)
			report(&feeds[i], src->url ? "mirrored" : "imported", quiet);
		lf_sync_feed_release(&feeds[i]);
	}
	free(feeds);
	if (have_work)
		(void)lf_sync_rmtree(work);
	return r;
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "db", required_argument, NULL, 'b' },
		{ "root", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lf_cli_common c = { 0 };
	struct lf_sync_source src = { 0 };
	const char *root = NULL;
	json_t *names = NULL;
	struct lf_store *s;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': c.data = optarg; break;
		case 'b': c.db = optarg; break;
		case 'r': root = optarg; break;
		case 'h':
			printf("usage: livefix-portal import --data DIR [--db URL] [--root ROOT.json] INDIR\n\n"
			       "Verifies every feed of an export with the TUF client, from the root\n"
			       "this portal already trusts for the feed (or ROOT.json, the root its\n"
			       "devices pin, for a feed it has none of), then stores all feeds in one\n"
			       "transaction. A foreign root, a rollback or tampered content refuses\n"
			       "the whole import (exit 3) and changes nothing.\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix-portal import", "bad option");
		}
	}
	if (!c.data || optind != argc - 1)
		return lf_cmd_usage_error("livefix-portal import", "--data and INDIR are required");
	src.dir = argv[optind];
	r = lf_sync_dir_feeds(src.dir, &names);
	if (r == 0 && json_array_size(names) == 0)
		r = -ENOENT;
	if (r < 0) {
		json_decref(names);
		return lf_exit_code(lf_log_errno(r, "%s: no feed directories", src.dir));
	}
	r = lf_cli_open_store(&c, &s);
	if (r == 0) {
		r = import_all(s, &src, names, root, src.dir, false);
		if (r == 0)
			lf_store_audit(s, 0, "local", "import", src.dir, NULL);
		lf_store_close(s);
	} else {
		lf_log_errno(r, "database");
	}
	json_decref(names);
	return r < 0 ? lf_exit_code(r) : LF_EXIT_OK;
}

/* ---- mirror: serve, and follow an upstream portal ---- */

struct mirror {
	struct lf_sync_source src;
	const char *root;
	json_t *feeds; /* names given with --feed; empty: every feed upstream lists */
	unsigned interval;
	int64_t next;
	char bearer[LF_HTTP_BEARER_MAX];
};

/* The feeds upstream lists (GET /api/v1/feeds needs a viewer token). */
static int upstream_feeds(struct mirror *m, json_t **ret)
{
	struct lf_http_opts o = { .max = 1 << 20, .timeout = 30, .ca_file = m->src.ca_file,
				  .bearer = m->src.bearer };
	struct lf_http_result res = { 0 };
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	json_t *list, *item, *names = json_array();
	char url[1200];
	size_t i;
	int r;

	snprintf(url, sizeof(url), "%s/api/v1/feeds", m->src.url);
	r = lf_http_get(url, &o, &out, &res);
	list = r == 0 ? json_loadb(out.data, out.len, 0, NULL) : NULL;
	lf_buf_release(&out);
	if (!json_is_array(list) || !names) {
		json_decref(list);
		json_decref(names);
		return r < 0 ? r : -EBADMSG;
	}
	json_array_foreach(list, i, item)
		if (lf_repo_valid_feed(json_string_value(json_object_get(item, "name"))))
			json_array_append(names, json_object_get(item, "name"));
	json_decref(list);
	*ret = names;
	return 0;
}

/* One pass: each feed verified and stored on its own (one failing does not stop the others). */
static void mirror_tick(struct lf_portal *p, void *ctx)
{
	struct mirror *m = ctx;
	json_t *names = NULL, *one;
	size_t i;
	int r;

	if (lf_now() < m->next)
		return;
	m->next = lf_now() + m->interval;
	if (json_array_size(m->feeds))
		names = json_incref(m->feeds);
	else if ((r = upstream_feeds(m, &names)) < 0) {
		lf_log_errno(r, "mirror %s: listing feeds", m->src.url);
		return;
	}
	json_array_foreach(names, i, one) {
		json_t *single = json_pack("[O]", one);

		pthread_mutex_lock(&p->slots[0].lock);
		r = import_all(p->slots[0].store, &m->src, single, m->root, m->src.url, true);
		pthread_mutex_unlock(&p->slots[0].lock);
		json_decref(single);
		fflush(stdout);
	}
	json_decref(names);
}

static int mirror_opt(struct mirror *m, const char *name, const char *val)
{
	if (!strcmp(name, "upstream")) {
		m->src.url = val;
	} else if (!strcmp(name, "ca")) {
		m->src.ca_file = val;
	} else if (!strcmp(name, "root")) {
		m->root = val;
	} else if (!strcmp(name, "feed")) {
		if (!lf_repo_valid_feed(val))
			return -EINVAL;
		json_array_append_new(m->feeds, json_string(val));
	} else if (!strcmp(name, "interval")) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);

		if (*end || v < 1 || v > 86400)
			return -EINVAL;
		m->interval = (unsigned)v;
	} else if (!strcmp(name, "token-file")) {
		if (lf_read_line(val, m->bearer, sizeof(m->bearer)) < 0)
			return -ENOENT;
		m->src.bearer = m->bearer;
	} else {
		return 1; /* serve's */
	}
	return 0;
}

/* Takes mirror's own options out of argv; the rest goes to serve. */
static int parse_mirror(int argc, char **argv, struct mirror *m, char **rest, int *nrest)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		char name[32];
		int r;

		if (strncmp(a, "--", 2) || (size_t)((eq ? eq - a : (long)strlen(a)) - 2) >= sizeof(name)) {
			rest[n++] = argv[i];
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)((eq ? eq - a : (long)strlen(a)) - 2), a + 2);
		if (!eq && i + 1 < argc)
			r = mirror_opt(m, name, argv[i + 1]);
		else
			r = eq ? mirror_opt(m, name, eq + 1) : 1;
		if (r < 0)
			return r;
		if (r == 0 && !eq)
			i++;
		if (r == 1)
			rest[n++] = argv[i];
	}
	rest[n] = NULL;
	*nrest = n;
	return m->src.url ? 0 : -EINVAL;
}

int cmd_mirror(int argc, char **argv)
{
	struct mirror m = { .interval = 300 };
	struct lf_serve_hook hook = { mirror_tick, &m };
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int n = 0, r;

	m.feeds = json_array();
	if (!rest || !m.feeds)
		return LF_EXIT_FAILURE;
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: livefix-portal mirror --data DIR --upstream URL [--ca FILE]\n"
		       "             [--token-file FILE] [--root ROOT.json] [--feed NAME]...\n"
		       "             [--interval SECONDS] [serve options]\n\n"
		       "Serves like 'serve' and follows an upstream portal: every --interval\n"
		       "(default 300 s) each feed (all feeds upstream lists when no --feed) is\n"
		       "fetched from URL/repo/<feed>/ with the TUF client, verified from the\n"
		       "root this portal trusts (or ROOT.json the first time) and stored as\n"
		       "upstream signed it. The token (upstream viewer token) is read from FILE.\n");
		free(rest);
		json_decref(m.feeds);
		return LF_EXIT_OK;
	}
	r = parse_mirror(argc, argv, &m, rest, &n);
	if (r < 0) {
		free(rest);
		json_decref(m.feeds);
		return lf_cmd_usage_error("livefix-portal mirror",
					  "--upstream URL is required; --interval 1..86400; "
					  "--token-file must be readable; --feed a valid name");
	}
	m.next = 0;
	r = lf_cli_serve(n, rest, &hook);
	explicit_bzero(m.bearer, sizeof(m.bearer));
	free(rest);
	json_decref(m.feeds);
	return r;
}
