/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build repo init|add|withdraw|sign|rotate-root DIR */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/log.h"

#include "repo.h"

static const char usage[] =
	"usage: livefix-build repo init DIR --root-key KEY... --targets-key KEY...\n"
	"                              --snapshot-key KEY... --timestamp-key KEY...\n"
	"                              [--ROLE-threshold N]... [--expires T]\n"
	"                              [--no-consistent-snapshot]\n"
	"       livefix-build repo add DIR [--feed NAME] --key TARGETS_KEY... [--expires T]\n"
	"                              BUNDLE.lfb...\n"
	"       livefix-build repo withdraw DIR [--feed NAME] --key TARGETS_KEY... [--expires T]\n"
	"                              BUNDLE_ID...\n"
	"       livefix-build repo sign DIR --snapshot-key KEY... --timestamp-key KEY...\n"
	"                              [--snapshot-expires T] [--timestamp-expires T]\n"
	"                              [--timestamp-only]\n"
	"       livefix-build repo rotate-root DIR --root-key OLD... [--new-root-key NEW...]\n"
	"                              [--ROLE-key KEY...] [--ROLE-threshold N]... [--expires T]\n"
	"\n"
	"init and rotate-root sign with the root keys (offline), add and withdraw with\n"
	"the targets keys (offline; withdraw marks a bundle \"withdrawn\" in the feed's\n"
	"targets: devices never apply it, and revert it where applied), sign with the snapshot and timestamp keys (online: a portal may\n"
	"hold them). T is a UTC time (2030-01-01T00:00:00Z) or +Nd/+Nh/+Nm/+Ns from now.\n"
	"Defaults: root +365d, targets +90d, snapshot +7d, timestamp +1d, feed production.\n"
	"--unchecked skips checking keys and bundles against root (test fixtures only).\n";

#define MAX_PATHS 8

struct repo_opts {
	const char *keys[LF_ROLE_COUNT][MAX_PATHS];
	size_t nkeys[LF_ROLE_COUNT];
	int64_t threshold[LF_ROLE_COUNT];
	const char *new_root[MAX_PATHS];
	size_t nnew_root;
	const char *sign_keys[MAX_PATHS];
	size_t nsign_keys;
	const char *expires, *snapshot_expires, *timestamp_expires;
	const char *feed;
	bool timestamp_only, unchecked, no_consistent;
};

static int add_path(const char **list, size_t *n, const char *p)
{
	if (*n == MAX_PATHS)
		return -E2BIG;
	list[(*n)++] = p;
	return 0;
}

static int expires_or(const char *s, const char *dflt, int64_t *ret)
{
	int r = lf_build_parse_expires(s ? s : dflt, ret);

	if (r < 0)
		lf_err("bad expiry time '%s'", s ? s : dflt);
	return r;
}

static int load_signers(const char *const *paths, size_t n, struct lf_build_keys *keys)
{
	for (size_t i = 0; i < n; i++) {
		int r = lf_build_keys_add(keys, paths[i]);

		if (r < 0)
			return lf_log_errno(r, "private key %s", paths[i]);
	}
	return 0;
}

/* Signs body and writes it as name and, when given, also as alt. */
static int sign_and_write(const char *dir, const char *name, const char *alt,
			  const struct lf_buf *body, const struct lf_build_keys *keys)
{
	struct lf_buf out = LF_BUF_INIT(LF_TARGETS_MAX + 65536);
	int r = lf_meta_sign_body(body, keys->ptrs, keys->n, &out);

	if (r == 0 && alt)
		r = repo_write(dir, alt, &out);
	if (r == 0)
		r = repo_write(dir, name, &out);
	if (r == 0)
		printf("%s/%s: %zu bytes, %zu signature(s)%s%s\n", dir, name, out.len, keys->n,
		       alt ? ", also as " : "", alt ? alt : "");
	else
		lf_log_errno(r, "%s/%s", dir, name);
	lf_buf_release(&out);
	return r;
}

/* Sets a role's keys from files (public or private), adding them to the ring. */
static int set_role(struct lf_root *root, enum lf_role role, const char *const *paths, size_t n,
		    int64_t threshold)
{
	struct lf_role_keys rk = { .threshold = threshold ? threshold : 1 };

	for (size_t i = 0; i < n; i++) {
		struct lf_pubkey k;
		int r = lf_key_load_public(paths[i], &k);

		if (r < 0)
			return lf_log_errno(r, "public key %s", paths[i]);
		if (!lf_keyring_find(&root->ring, k.keyid)) {
			if (root->ring.n == LF_MAX_KEYS)
				return -E2BIG;
			root->ring.keys[root->ring.n++] = k;
		}
		strcpy(rk.keyids[rk.nkeys++], k.keyid);
	}
	if (rk.nkeys == 0 || rk.threshold > (int64_t)rk.nkeys) {
		lf_err("role %s: %zu key(s), threshold %lld", lf_role_name(role), rk.nkeys,
		       (long long)rk.threshold);
		return -EINVAL;
	}
	root->roles[role] = rk;
	return 0;
}

/* Drops keys no role uses any more. */
static void prune_ring(struct lf_root *root)
{
	struct lf_keyring ring = { 0 };

	for (size_t i = 0; i < root->ring.n; i++) {
		bool used = false;

		for (int r = 0; r < LF_ROLE_COUNT; r++)
			for (size_t k = 0; k < root->roles[r].nkeys; k++)
				used |= !strcmp(root->roles[r].keyids[k], root->ring.keys[i].keyid);
		if (used)
			ring.keys[ring.n++] = root->ring.keys[i];
	}
	root->ring = ring;
}

static int write_root(const char *dir, const struct lf_root *root, const struct lf_build_keys *k)
{
	struct lf_buf body = LF_BUF_INIT(LF_ROOT_MAX);
	struct lf_json j;
	char name[32];
	int r;

	lf_json_init(&j, &body, false);
	repo_write_root(&j, root);
	r = lf_json_finish(&j);
	snprintf(name, sizeof(name), "%lld.root.json", (long long)root->h.version);
	if (r == 0)
		r = sign_and_write(dir, "root.json", name, &body, k);
	lf_buf_release(&body);
	return r;
}

static int repo_init(const char *dir, const struct repo_opts *o)
{
	struct lf_root *root = calloc(1, sizeof(*root));
	struct lf_build_keys keys = { 0 };
	char *p = NULL;
	struct stat st;
	int r = -ENOMEM;

	if (!root || repo_path(dir, "root.json", &p) < 0)
		goto out;
	r = -EEXIST;
	if (stat(p, &st) == 0) {
		lf_err("%s: a repository exists already (use rotate-root)", dir);
		goto out;
	}
	root->h.version = 1;
	root->consistent_snapshot = !o->no_consistent;
	r = expires_or(o->expires, "+365d", &root->h.expires);
	for (int i = 0; r == 0 && i < LF_ROLE_COUNT; i++)
		r = set_role(root, (enum lf_role)i, o->keys[i], o->nkeys[i], o->threshold[i]);
	if (r == 0)
		r = load_signers(o->keys[LF_ROLE_ROOT], o->nkeys[LF_ROLE_ROOT], &keys);
	if (r == 0)
		r = lf_mkdir_p(dir, 0755);
	free(p);
	p = NULL;
	if (r == 0 && (r = repo_path(dir, "targets", &p)) == 0)
		r = lf_mkdir_p(p, 0755);
	free(p);
	p = NULL;
	if (r == 0 && (r = repo_path(dir, "bundles", &p)) == 0)
		r = lf_mkdir_p(p, 0755);
	if (r == 0)
		r = write_root(dir, root, &keys);
out:
	lf_build_keys_wipe(&keys);
	free(root);
	free(p);
	return r;
}

static int repo_rotate(const char *dir, const struct repo_opts *o)
{
	struct lf_root *root = calloc(1, sizeof(*root));
	struct lf_build_keys keys = { 0 };
	struct lf_why why = { "" };
	int r = root ? repo_load_root(dir, root, &why) : -ENOMEM;

	if (r < 0) {
		free(root);
		return lf_log_errno(r, "%s/root.json %s", dir, why.msg);
	}
	root->h.version++;
	r = expires_or(o->expires, "+365d", &root->h.expires);
	if (r == 0 && o->nnew_root)
		r = set_role(root, LF_ROLE_ROOT, o->new_root, o->nnew_root,
			     o->threshold[LF_ROLE_ROOT]);
	for (int i = LF_ROLE_TARGETS; r == 0 && i < LF_ROLE_COUNT; i++)
		if (o->nkeys[i])
			r = set_role(root, (enum lf_role)i, o->keys[i], o->nkeys[i], o->threshold[i]);
	prune_ring(root);
	/* Old root keys vouch for the new root, new root keys accept it. */
	if (r == 0)
		r = load_signers(o->keys[LF_ROLE_ROOT], o->nkeys[LF_ROLE_ROOT], &keys);
	for (size_t i = 0; r == 0 && i < o->nnew_root; i++) {
		struct lf_privkey k;

		bool have = false;

		r = lf_key_load_private(o->new_root[i], &k);
		for (size_t j = 0; r == 0 && j < keys.n; j++)
			have |= strcmp(k.pub.keyid, keys.keys[j].pub.keyid) == 0;
		if (r == 0 && !have)
			r = lf_build_keys_add(&keys, o->new_root[i]);
		lf_privkey_wipe(&k);
	}
	if (r == 0)
		r = write_root(dir, root, &keys);
	lf_build_keys_wipe(&keys);
	free(root);
	return r;
}

/*
 * The existing targets of a feed, verified under the current root or, just
 * after a rotation of the targets keys, under one of the previous roots.
 */
static int load_targets(const char *dir, const char *name, const struct lf_root *root,
			bool unchecked, struct lf_targets *ret)
{
	struct lf_root *old = calloc(1, sizeof(*old));
	struct lf_why why = { "" };
	struct lf_signed s;
	char *data = NULL, *rdata;
	size_t len, rlen;
	int r = old ? repo_read(dir, name, LF_TARGETS_MAX, &data, &len) : -ENOMEM;

	if (r == 0 && unchecked) {
		r = lf_signed_parse(data, len, &s, &why);
		if (r == 0) {
			r = lf_targets_parse(&s, ret, &why);
			lf_signed_release(&s);
		}
	} else if (r == 0) {
		r = lf_meta_verify(data, len, root, LF_ROLE_TARGETS, ret, &why);
		for (int64_t v = root->h.version - 1; r < 0 && r != -ENOMEM && v >= 1 &&
		     v > root->h.version - LF_MAX_ROOT_ROTATIONS; v--) {
			char rname[32];

			snprintf(rname, sizeof(rname), "%lld.root.json", (long long)v);
			if (repo_read(dir, rname, LF_ROOT_MAX, &rdata, &rlen) < 0)
				break;
			if (lf_root_verify_next(rdata, rlen, NULL, old, NULL) == 0)
				r = lf_meta_verify(data, len, old, LF_ROLE_TARGETS, ret, NULL);
			free(rdata);
		}
	}
	free(data);
	free(old);
	if (r < 0 && r != -ENOENT)
		lf_log_errno(r, "%s/%s: %s", dir, name, why.msg);
	return r;
}

/* Copies a verified bundle to bundles/<sha256>.lfb and lists it in t. */
static int add_bundle(const char *dir, const char *path, const struct lf_root *root,
		      bool unchecked, struct lf_targets *t)
{
	struct lf_buf copy = LF_BUF_INIT(LF_BUNDLE_MAX);
	struct lf_why why = { "" };
	struct lf_bundle b;
	struct lf_target tg = { 0 };
	char *data, hex[LF_SHA256_HEX + 1];
	size_t len, i;
	int r = lf_read_file(path, LF_BUNDLE_MAX, &data, &len);

	if (r < 0)
		return lf_log_errno(r, "%s", path);
	r = lf_bundle_parse(data, len, &b, &why);
	if (r == 0 && !unchecked && (r = lf_tuf_verify_bundle(root, &b, &why)) < 0)
		lf_bundle_release(&b);
	if (r < 0) {
		lf_log_errno(r, "%s: %s", path, why.msg);
		goto out;
	}
	lf_sha256_hex(data, len, hex);
	snprintf(tg.name, sizeof(tg.name), "bundles/%s.lfb", hex);
	strcpy(tg.sha256, hex);
	strcpy(tg.id, b.m.id);
	tg.length = (int64_t)len;
	tg.level = b.m.level;
	tg.ident = b.m.target;
	lf_bundle_release(&b);
	r = lf_buf_append(&copy, data, len);
	if (r == 0)
		r = repo_write(dir, tg.name, &copy);
	for (i = 0; r == 0 && i < t->n && strcmp(t->t[i].name, tg.name); i++)
		;
	if (r == 0 && i == t->n) {
		struct lf_target *n = NULL;

		if (t->n == LF_MAX_TARGETS)
			r = -E2BIG;
		else if (!(n = realloc(t->t, (t->n + 1) * sizeof(*n))))
			r = -ENOMEM;
		else
			t->t = n, t->n++;
	}
	if (r == 0) {
		t->t[i] = tg;
		printf("%s: level %lld as %s\n", path, (long long)tg.level, tg.name);
	}
out:
	lf_buf_release(&copy);
	free(data);
	return r;
}

/* Marks every target of this bundle id withdrawn; -ENOENT when there is none. */
static int withdraw_bundle(const char *id, struct lf_targets *t)
{
	int n = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->t[i].id, id))
			continue;
		t->t[i].withdrawn = true;
		printf("%s: withdrawn (%s)\n", id, t->t[i].name);
		n++;
	}
	if (!n)
		return lf_log_errno(-ENOENT, "%s: no such bundle in feed %s", id, t->feed);
	return 0;
}

/* add: bundles are files; withdraw: bundles are ids already listed. */
static int repo_add(const char *dir, const struct repo_opts *o, int nb, char **bundles,
		    bool withdraw)
{
	struct lf_root *root = calloc(1, sizeof(*root));
	struct lf_targets t = { 0 };
	struct lf_build_keys keys = { 0 };
	struct lf_buf body = LF_BUF_INIT(LF_TARGETS_MAX);
	struct lf_why why = { "" };
	char name[LF_NAME_MAX + 16], alt[LF_NAME_MAX + 32], *sub;
	struct lf_json j;
	int r = root ? repo_load_root(dir, root, &why) : -ENOMEM;

	if (r < 0) {
		lf_log_errno(r, "%s/root.json %s", dir, why.msg);
		goto out;
	}
	snprintf(name, sizeof(name), "targets/%s.json", o->feed);
	r = load_targets(dir, name, root, o->unchecked, &t);
	if (r == -ENOENT && !withdraw) {
		memset(&t, 0, sizeof(t));
		strcpy(t.feed, o->feed);
		r = 0;
	}
	if (r == 0)
		r = load_signers(o->sign_keys, o->nsign_keys, &keys);
	if (r == 0)
		r = repo_check_keys(root, LF_ROLE_TARGETS, &keys, o->unchecked);
	for (int i = 0; r == 0 && i < nb; i++)
		r = withdraw ? withdraw_bundle(bundles[i], &t)
			     : add_bundle(dir, bundles[i], root, o->unchecked, &t);
	t.h.version++;
	if (r == 0)
		r = expires_or(o->expires, "+90d", &t.h.expires);
	lf_json_init(&j, &body, false);
	repo_write_targets(&j, &t);
	if (r == 0)
		r = lf_json_finish(&j);
	snprintf(alt, sizeof(alt), "targets/%s", o->feed);
	if (r == 0 && root->consistent_snapshot && (r = repo_path(dir, alt, &sub)) == 0) {
		r = lf_mkdir_p(sub, 0755);
		free(sub);
	}
	snprintf(alt, sizeof(alt), "targets/%s/%lld.json", o->feed, (long long)t.h.version);
	if (r == 0)
		r = sign_and_write(dir, name, root->consistent_snapshot ? alt : NULL, &body, &keys);
out:
	lf_buf_release(&body);
	lf_build_keys_wipe(&keys);
	lf_targets_release(&t);
	free(root);
	return r;
}

/* Writes a signed document as name and, when given, also as alt. */
static int write_signed(const char *dir, const char *name, const char *alt,
			const struct lf_buf *out, size_t nsig)
{
	int r = alt ? repo_write(dir, alt, out) : 0;

	if (r == 0)
		r = repo_write(dir, name, out);
	if (r < 0)
		return lf_log_errno(r, "%s/%s", dir, name);
	printf("%s/%s: %zu bytes, %zu signature(s)%s%s\n", dir, name, out->len, nsig,
	       alt ? ", also as " : "", alt ? alt : "");
	return 0;
}

/* Reads an optional document into d (d->data stays NULL when absent). */
static int read_doc(const char *dir, const char *name, size_t max, struct lf_meta_doc *d)
{
	char *data = NULL;
	size_t len = 0;
	int r = repo_read(dir, name, max, &data, &len);

	d->data = data;
	d->len = len;
	return r == -ENOENT ? 0 : r;
}

/* Every feed's targets/<feed>.json, for the snapshot. */
static int read_targets(const char *dir, struct lf_meta_doc *docs, char names[][LF_NAME_MAX + 1],
			size_t *ret_n)
{
	struct dirent *de;
	char *tdir = NULL;
	size_t n = 0;
	DIR *d = NULL;
	int r = repo_path(dir, "targets", &tdir);

	if (r == 0 && !(d = opendir(tdir)))
		r = lf_log_errno(-errno, "%s", tdir);
	while (r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n == LF_MAX_FEEDS || len > LF_NAME_MAX - 8) {
			r = -E2BIG;
			break;
		}
		snprintf(names[n], LF_NAME_MAX + 1, "targets/%s", de->d_name);
		docs[n].name = names[n];
		r = read_doc(dir, names[n], LF_TARGETS_MAX, &docs[n]);
		n++;
	}
	if (d)
		closedir(d);
	free(tdir);
	*ret_n = n;
	return r;
}

static int make_snapshot(const char *dir, const struct repo_opts *o, bool consistent,
			 const struct lf_build_keys *keys)
{
	struct lf_meta_doc docs[LF_MAX_FEEDS] = { 0 }, prev = { "snapshot.json", NULL, 0 };
	char (*names)[LF_NAME_MAX + 1] = calloc(LF_MAX_FEEDS, LF_NAME_MAX + 1);
	struct lf_buf out = LF_BUF_INIT(LF_SNAPSHOT_MAX + 65536);
	size_t n = 0;
	int64_t expires, version = 0;
	char alt[32];
	int r = names ? read_targets(dir, docs, names, &n) : -ENOMEM;

	if (r == 0)
		r = read_doc(dir, "snapshot.json", LF_SNAPSHOT_MAX, &prev);
	if (r == 0)
		r = expires_or(o->snapshot_expires, "+7d", &expires);
	if (r == 0)
		r = lf_repo_sign_snapshot(docs, n, &prev, expires, keys->ptrs, keys->n, &out, &version);
	snprintf(alt, sizeof(alt), "%lld.snapshot.json", (long long)version);
	if (r == 0)
		r = write_signed(dir, "snapshot.json", consistent ? alt : NULL, &out, keys->n);
	else
		lf_log_errno(r, "%s/snapshot.json", dir);
	for (size_t i = 0; i < n; i++)
		free((void *)docs[i].data);
	free((void *)prev.data);
	free(names);
	lf_buf_release(&out);
	return r;
}

static int make_timestamp(const char *dir, const struct repo_opts *o,
			  const struct lf_build_keys *keys)
{
	struct lf_meta_doc snap = { "snapshot.json", NULL, 0 }, prev = { "timestamp.json", NULL, 0 };
	struct lf_buf out = LF_BUF_INIT(LF_TIMESTAMP_MAX + 65536);
	int64_t expires;
	int r = read_doc(dir, "snapshot.json", LF_SNAPSHOT_MAX, &snap);

	if (r == 0 && !snap.data)
		r = -ENOENT;
	if (r == 0)
		r = read_doc(dir, "timestamp.json", LF_TIMESTAMP_MAX, &prev);
	if (r == 0)
		r = expires_or(o->timestamp_expires, "+1d", &expires);
	if (r == 0)
		r = lf_repo_sign_timestamp(&snap, &prev, expires, keys->ptrs, keys->n, &out);
	if (r == 0)
		r = write_signed(dir, "timestamp.json", NULL, &out, keys->n);
	else
		lf_log_errno(r, "%s/timestamp.json", dir);
	free((void *)snap.data);
	free((void *)prev.data);
	lf_buf_release(&out);
	return r;
}

static int repo_sign(const char *dir, const struct repo_opts *o)
{
	struct lf_root *root = calloc(1, sizeof(*root));
	struct lf_build_keys sk = { 0 }, tk = { 0 };
	struct lf_why why = { "" };
	int r = root ? repo_load_root(dir, root, &why) : -ENOMEM;

	if (r < 0)
		lf_log_errno(r, "%s/root.json %s", dir, why.msg);
	if (r == 0 && !o->timestamp_only) {
		r = load_signers(o->keys[LF_ROLE_SNAPSHOT], o->nkeys[LF_ROLE_SNAPSHOT], &sk);
		if (r == 0)
			r = repo_check_keys(root, LF_ROLE_SNAPSHOT, &sk, o->unchecked);
		if (r == 0)
			r = make_snapshot(dir, o, root->consistent_snapshot, &sk);
	}
	if (r == 0)
		r = load_signers(o->keys[LF_ROLE_TIMESTAMP], o->nkeys[LF_ROLE_TIMESTAMP], &tk);
	if (r == 0)
		r = repo_check_keys(root, LF_ROLE_TIMESTAMP, &tk, o->unchecked);
	if (r == 0)
		r = make_timestamp(dir, o, &tk);
	lf_build_keys_wipe(&sk);
	lf_build_keys_wipe(&tk);
	free(root);
	return r;
}

static int parse_opt(struct repo_opts *o, int c, const char *arg)
{
	char *end;
	long v;

	switch (c) {
	case 'R': return add_path(o->keys[LF_ROLE_ROOT], &o->nkeys[LF_ROLE_ROOT], arg);
	case 'T': return add_path(o->keys[LF_ROLE_TARGETS], &o->nkeys[LF_ROLE_TARGETS], arg);
	case 'S': return add_path(o->keys[LF_ROLE_SNAPSHOT], &o->nkeys[LF_ROLE_SNAPSHOT], arg);
	case 'M': return add_path(o->keys[LF_ROLE_TIMESTAMP], &o->nkeys[LF_ROLE_TIMESTAMP], arg);
	case 'N': return add_path(o->new_root, &o->nnew_root, arg);
	case 'k': return add_path(o->sign_keys, &o->nsign_keys, arg);
	case 'e': o->expires = arg; return 0;
	case 'E': o->snapshot_expires = arg; return 0;
	case 'X': o->timestamp_expires = arg; return 0;
	case 'f': o->feed = arg; return lf_is_id(arg) ? 0 : -EINVAL;
	case 'o': o->timestamp_only = true; return 0;
	case 'u': o->unchecked = true; return 0;
	case 'C': o->no_consistent = true; return 0;
	case '0': case '1': case '2': case '3':
		v = strtol(arg, &end, 10);
		if (*end || v < 1 || v > LF_MAX_ROLE_KEYS)
			return -EINVAL;
		o->threshold[c - '0'] = v;
		return 0;
	}
	return -EINVAL;
}

int cmd_repo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root-key", required_argument, NULL, 'R' },
		{ "targets-key", required_argument, NULL, 'T' },
		{ "snapshot-key", required_argument, NULL, 'S' },
		{ "timestamp-key", required_argument, NULL, 'M' },
		{ "new-root-key", required_argument, NULL, 'N' },
		{ "key", required_argument, NULL, 'k' },
		{ "root-threshold", required_argument, NULL, '0' },
		{ "targets-threshold", required_argument, NULL, '1' },
		{ "snapshot-threshold", required_argument, NULL, '2' },
		{ "timestamp-threshold", required_argument, NULL, '3' },
		{ "expires", required_argument, NULL, 'e' },
		{ "snapshot-expires", required_argument, NULL, 'E' },
		{ "timestamp-expires", required_argument, NULL, 'X' },
		{ "feed", required_argument, NULL, 'f' },
		{ "timestamp-only", no_argument, NULL, 'o' },
		{ "unchecked", no_argument, NULL, 'u' },
		{ "no-consistent-snapshot", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct repo_opts o = { .feed = "production" };
	const char *sub = argc > 1 ? argv[1] : NULL, *dir;
	int c, r;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? LF_EXIT_OK : LF_EXIT_USAGE;
	}
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return LF_EXIT_OK;
		}
		if (c == '?' || parse_opt(&o, c, optarg) < 0)
			return lf_cmd_usage_error("livefix-build repo", "bad value for option %s",
						  argv[optind - 1]);
	}
	if (optind >= argc)
		return lf_cmd_usage_error("livefix-build repo", "%s: DIR is required", sub);
	dir = argv[optind++];
	if (!strcmp(sub, "init") && optind == argc)
		r = repo_init(dir, &o);
	else if (!strcmp(sub, "add") && optind < argc)
		r = repo_add(dir, &o, argc - optind, argv + optind, false);
	else if (!strcmp(sub, "withdraw") && optind < argc)
		r = repo_add(dir, &o, argc - optind, argv + optind, true);
	else if (!strcmp(sub, "sign") && optind == argc)
		r = repo_sign(dir, &o);
	else if (!strcmp(sub, "rotate-root") && optind == argc)
		r = repo_rotate(dir, &o);
	else
		return lf_cmd_usage_error("livefix-build repo", "unknown subcommand '%s' or wrong "
					  "arguments", sub);
	return lf_exit_code(r);
}
