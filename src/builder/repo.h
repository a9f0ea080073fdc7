/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_REPO_H
#define LIVEFIX_BUILDER_REPO_H

#include <stdbool.h>

#include "livefix/json.h"
#include "livefix/repo_sign.h"
#include "livefix/tuf.h"

#include "builder.h"

/*
 * An offline repository on disk (docs/FORMATS.md "Repository layout"):
 *   root.json  N.root.json  timestamp.json  snapshot.json
 *   targets/<feed>.json  bundles/<sha256>.lfb
 */
void repo_write_root(struct lf_json *j, const struct lf_root *root);
void repo_write_targets(struct lf_json *j, const struct lf_targets *t);

int repo_path(const char *dir, const char *name, char **ret);
int repo_read(const char *dir, const char *name, size_t max, char **data, size_t *len);
int repo_write(const char *dir, const char *name, const struct lf_buf *b);
int repo_load_root(const char *dir, struct lf_root *ret, struct lf_why *why);
int repo_check_keys(const struct lf_root *root, enum lf_role role,
		    const struct lf_build_keys *keys, bool unchecked);

#endif
