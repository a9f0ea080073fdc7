/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-portal init, token, routes, and the helpers the commands share. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/log.h"

#include "auth.h"
#include "cli.h"
#include "portal.h"
#include "repo.h"
#include "signer.h"
#include "tls.h"

int lf_cli_conf_db(const char *data, char *buf, size_t size)
{
	char path[4096], *text = NULL, *line, *save = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/portal.conf", data);
	r = lf_read_file(path, 1 << 16, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "db=", 3) && strlen(line + 3) < size) {
			snprintf(buf, size, "%s", line + 3);
			r = 1;
		}
	explicit_bzero(text, strlen(text));
	free(text);
	return r;
}

int lf_cli_open_store(const struct lf_cli_common *c, struct lf_store **ret)
{
	char target[4096];
	int r;

	if (c->db)
		return lf_store_open(c->db, ret);
	r = lf_cli_conf_db(c->data, target, sizeof(target));
	if (r < 0)
		return r;
	if (r == 0)
		snprintf(target, sizeof(target), "%s/portal.db", c->data);
	r = lf_store_open(target, ret);
	explicit_bzero(target, sizeof(target));
	return r;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char *data;
	size_t len;
	int r = lf_read_file(from, 1 << 20, &data, &len);

	if (r < 0)
		return r;
	r = lf_write_file_atomic(to, data, len, mode);
	explicit_bzero(data, len);
	free(data);
	return r;
}

static int setup_tls(const char *data, const char *cert, const char *key)
{
	char cpath[4096], kpath[4096];

	snprintf(cpath, sizeof(cpath), "%s/tls/cert.pem", data);
	snprintf(kpath, sizeof(kpath), "%s/tls/key.pem", data);
	if (cert && key) {
		int r = copy_file(key, kpath, 0600);

		return r < 0 ? r : copy_file(cert, cpath, 0644);
	}
	if (access(cpath, F_OK) == 0)
		return 0;
	return lf_tls_self_signed(cpath, kpath);
}

static int setup_dirs(const char *data, const char *db)
{
	char path[4096], conf[4200];
	int r;

	r = lf_mkdir_p(data, 0750);
	snprintf(path, sizeof(path), "%s/tls", data);
	if (r >= 0)
		r = lf_mkdir_p(path, 0750);
	snprintf(path, sizeof(path), "%s/keys", data);
	if (r >= 0)
		r = lf_mkdir_p(path, 0700);
	if (r >= 0 && db) {
		snprintf(path, sizeof(path), "%s/portal.conf", data);
		snprintf(conf, sizeof(conf), "db=%s\n", db);
		r = lf_write_file_atomic(path, conf, strlen(conf), 0600);
		explicit_bzero(conf, sizeof(conf));
	}
	return r;
}

static int first_objects(struct lf_store *s, char token[LF_TOKEN_MAX])
{
	int64_t n = 0, feed_id;
	int r;

	r = lf_store_int(s, "SELECT COUNT(*) FROM tokens WHERE role = 'admin'", &n, "");
	if (r < 0)
		return r;
	if (n > 0)
		return -EEXIST;
	r = lf_repo_feed_ensure(s, "production", &feed_id);
	if (r >= 0)
		r = lf_store_q(s, "INSERT INTO device_groups (name, feed_id, created) VALUES"
			       " ('default', $1, $2) ON CONFLICT (name) DO NOTHING", NULL, NULL, "ii",
			       feed_id, lf_now());
	if (r >= 0)
		r = lf_auth_admin_token_create(s, LF_ACCESS_ADMIN, "init", token, NULL);
	if (r >= 0)
		r = lf_store_audit(s, 0, "local", "init", NULL, "first admin token created");
	return r;
}

static void init_usage(void)
{
	printf("usage: livefix-portal init --data DIR [--db postgresql://...]\n"
	       "                           [--tls-cert PEM --tls-key PEM]\n\n"
	       "Creates DIR (database, TLS certificate and key, the online snapshot and\n"
	       "timestamp keys in DIR/keys), the feed 'production' with the group 'default',\n"
	       "and prints the first admin token. It is shown once and stored only as a hash.\n"
	       "The online keys' public halves (DIR/keys/ROLE.key.pub, listed on stderr) go\n"
	       "into root.json: livefix-build repo init --snapshot-key DIR/keys/snapshot.key.pub\n"
	       "--timestamp-key DIR/keys/timestamp.key.pub ...\n");
}

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "db", required_argument, NULL, 'b' },
		{ "tls-cert", required_argument, NULL, 'c' }, { "tls-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct lf_cli_common c = { 0 };
	const char *cert = NULL, *key = NULL;
	char token[LF_TOKEN_MAX];
	struct lf_store *s = NULL;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': c.data = optarg; break;
		case 'b': c.db = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'h': init_usage(); return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix-portal init", "bad option");
		}
	}
	if (!c.data || !!cert != !!key)
		return lf_cmd_usage_error("livefix-portal init",
					  "--data is required; --tls-cert and --tls-key go together");
	if (sodium_init() < 0)
		return LF_EXIT_FAILURE;
	r = setup_dirs(c.data, c.db);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "%s", c.data));
	r = setup_tls(c.data, cert, key);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "%s: TLS certificate", c.data));
	/* stdout carries only the admin token; the public keys go to stderr. */
	fprintf(stderr, "livefix-portal: online keys (ROLE PUBLIC-KEY-FILE KEYID) for root.json, "
		"via 'livefix-build repo init --snapshot-key/--timestamp-key':\n");
	r = lf_portal_online_keys_init(c.data, stderr);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "%s/keys", c.data));
	r = lf_cli_open_store(&c, &s);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "database"));
	r = first_objects(s, token);
	lf_store_close(s);
	if (r == -EEXIST) {
		lf_err("%s: already initialised (an admin token exists); use 'token create'", c.data);
		return LF_EXIT_FAILURE;
	}
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "database"));
	fprintf(stderr, "livefix-portal: initialised %s; the admin token below is shown once\n",
		c.data);
	printf("%s\n", token);
	sodium_memzero(token, sizeof(token));
	return LF_EXIT_OK;
}

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "db", required_argument, NULL, 'b' },
		{ "role", required_argument, NULL, 'r' }, { "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct lf_cli_common c = { 0 };
	const char *role = NULL, *label = NULL;
	char token[LF_TOKEN_MAX];
	struct lf_store *s;
	int64_t id;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': c.data = optarg; break;
		case 'b': c.db = optarg; break;
		case 'r': role = optarg; break;
		case 'l': label = optarg; break;
		case 'h':
			printf("usage: livefix-portal token create --data DIR [--db URL]"
			       " --role admin|operator|viewer [--label TEXT]\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix-portal token", "bad option");
		}
	}
	if (optind >= argc || strcmp(argv[optind], "create"))
		return lf_cmd_usage_error("livefix-portal token", "only 'token create' exists");
	if (!c.data || lf_access_parse(role) == LF_ACCESS_NONE)
		return lf_cmd_usage_error("livefix-portal token",
					  "--data and --role admin|operator|viewer are required");
	r = lf_cli_open_store(&c, &s);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "database"));
	r = lf_auth_admin_token_create(s, lf_access_parse(role), label, token, &id);
	if (r >= 0)
		r = lf_store_audit(s, 0, "local", "token create", role, label);
	lf_store_close(s);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "token"));
	printf("%s\n", token);
	sodium_memzero(token, sizeof(token));
	return LF_EXIT_OK;
}

int cmd_routes(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");

	if (argc > 1 && !json) {
		printf("usage: livefix-portal routes [--json]\n");
		return strcmp(argv[1], "--help") ? LF_EXIT_USAGE : LF_EXIT_OK;
	}
	for (const struct lf_route *r = lf_portal_routes; r->method; r++)
		if (json)
			printf("{\"method\":\"%s\",\"path\":\"%s\",\"summary\":\"%s\"}\n", r->method,
			       r->pattern, r->summary);
		else
			printf("%s %s\n", r->method, r->pattern);
	return LF_EXIT_OK;
}
