/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_CLI_H
#define LF_PORTAL_CLI_H

#include "store.h"

/* The options every command that touches the data directory shares. */
struct lf_cli_common {
	const char *data;
	const char *db;
};

/* Opens the store named by --db, <data>/portal.conf, or <data>/portal.db. */
int lf_cli_open_store(const struct lf_cli_common *c, struct lf_store **ret);
/* Reads "db=" from <data>/portal.conf into buf; 0 when absent. */
int lf_cli_conf_db(const char *data, char *buf, size_t size);

struct lf_portal_signer_config;
struct lf_portal_repo_ops;
/* The signer process for DATA/keys, or pass-through with a warning. */
void lf_cli_open_signer(const char *data, const struct lf_portal_signer_config *sc,
			struct lf_portal_repo_ops *ops);

/*
 * serve's whole life; hook (may be NULL) runs on the main thread at start
 * and then about once a second, between the batched writes (mirror).
 */
struct lf_portal;
struct lf_serve_hook {
	void (*tick)(struct lf_portal *p, void *ctx);
	void *ctx;
};
int lf_cli_serve(int argc, char **argv, const struct lf_serve_hook *hook);

int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_mirror(int argc, char **argv);

#endif
