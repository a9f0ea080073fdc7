// SPDX-License-Identifier: Apache-2.0
/*
 * The O= build tree of one kernel identity, kept in the cache:
 *
 *   kbuild/src/<source-id>/<top>/          unpacked linux-source tarball (once)
 *   kbuild/tree/<key>/                      O= directory: .config, .kernelvariables,
 *                                           prepared headers, objtool, fixdep
 *   kbuild/journal/<src-hash>/              files a running patch touched (crash safety)
 *   kbuild/locks/<src-hash>.lock            one build per source tree at a time
 *
 * <key> hashes everything that changes generated code: the .config, the
 * kernel variables (compiler name, release), the compiler's --version, the
 * target architecture and cross prefix, and the source identity. A different toolchain or config gets a new tree; the
 * same kernel reuses the prepared one, which is what makes a second fix fast.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"
#include "run.h"

#define MAX_CONFIG (4u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int touch(const char *path)
{
	return lf_write_file_atomic(path, "", 0, 0644);
}

/* The single top-level directory of an unpacked tarball. */
static int find_top(const char *dir, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char mk[PATH_MAX];
	int r = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(mk, sizeof(mk), "%s/%s/Makefile", dir, e->d_name);
		if (exists(mk)) {
			snprintf(out, size, "%s/%s", dir, e->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

/* Unpacks the tarball once into kbuild/src/<id>; a partial unpack is redone. */
static int unpack_source(const struct lf_ktree_config *cfg, char *out, size_t size)
{
	char dir[PATH_MAX], tmp[PATH_MAX], stamp[PATH_MAX];
	int r;

	if (!cfg->source_id || strchr(cfg->source_id, '/') || cfg->source_id[0] == '.')
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s/kbuild/src/%s", cfg->cache_dir, cfg->source_id);
	snprintf(stamp, sizeof(stamp), "%s/.livefix-unpacked", dir);
	if (!exists(stamp)) {
		const char *tar[] = { "tar", "-xf", cfg->source_tar, "-C", tmp, NULL };

		snprintf(tmp, sizeof(tmp), "%s.tmp", dir);
		kb_remove_tree(tmp);
		kb_remove_tree(dir);
		r = lf_mkdir_p(tmp, 0755);
		if (r < 0)
			return r;
		r = kb_run(tar, cfg->log_path);
		if (r < 0)
			return r;
		if (rename(tmp, dir) < 0)
			return -errno;
		r = touch(stamp);
		if (r < 0)
			return r;
	}
	return find_top(dir, out, size);
}

/* "CC = $(...) $(CROSS_COMPILE)gcc-12" -> "gcc-12"; "gcc" without the file. */
static void compiler_name(const char *kvars, char *out, size_t size)
{
	const char *p = kvars, *line, *w;

	snprintf(out, size, "gcc");
	for (line = p; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len < 4 || strncmp(line, "CC", 2) || !strchr(" =", line[2]))
			continue;
		for (w = line + len; w > line && w[-1] != ' ' && w[-1] != ')' && w[-1] != '='; w--)
			;
		if (line + len > w && (size_t)(line + len - w) < size)
			snprintf(out, size, "%.*s", (int)(line + len - w), w);
	}
}

static int hash_file(crypto_generichash_state *h, const char *path, char **ret_data)
{
	char *data;
	size_t len;
	int r;

	r = lf_read_file(path, MAX_CONFIG, &data, &len);
	if (r < 0)
		return r;
	crypto_generichash_update(h, (const unsigned char *)path, 0);
	crypto_generichash_update(h, (const unsigned char *)&len, sizeof(len));
	crypto_generichash_update(h, (const unsigned char *)data, len);
	if (ret_data)
		*ret_data = data;
	else
		free(data);
	return 0;
}

/* key = H(config, kernelvariables, compiler --version, source identity) */
static int tree_key(const struct lf_ktree_config *cfg, struct lf_ktree *t)
{
	crypto_generichash_state h;
	unsigned char out[16];
	char *kvars = NULL, version[512];
	const char *argv[] = { t->cc, "--version", NULL };
	size_t i;
	int r;

	crypto_generichash_init(&h, NULL, 0, sizeof(out));
	r = hash_file(&h, cfg->config, NULL);
	if (r < 0)
		return r;
	if (cfg->kernelvariables) {
		r = hash_file(&h, cfg->kernelvariables, &kvars);
		if (r < 0)
			return r;
		compiler_name(kvars, t->cc, sizeof(t->cc));
		free(kvars);
	} else {
		snprintf(t->cc, sizeof(t->cc), "gcc");
	}
	/*
	 * Debian's CC is "$(CROSS_COMPILE)gcc-12" and compiler_name() dropped the
	 * prefix: a cross build runs, and hashes, aarch64-linux-gnu-gcc-12.
	 */
	if (cfg->cross_compile) {
		char base[sizeof(t->cc)];

		snprintf(base, sizeof(base), "%s", t->cc);
		snprintf(t->cc, sizeof(t->cc), "%.64s%.150s", cfg->cross_compile, base);
	}
	/* Native builds hash nothing more, so their existing trees keep their keys. */
	if (t->arch_arg[0] || t->cross_arg[0]) {
		crypto_generichash_update(&h, (const unsigned char *)t->arch_arg,
					  strlen(t->arch_arg) + 1);
		crypto_generichash_update(&h, (const unsigned char *)t->cross_arg,
					  strlen(t->cross_arg) + 1);
	}
	r = kb_run_capture(argv, version, sizeof(version));
	if (r < 0)
		return -ENOENT; /* the kernel's compiler is not installed */
	crypto_generichash_update(&h, (const unsigned char *)version, strlen(version));
	snprintf(t->cc_version, sizeof(t->cc_version), "%.*s", (int)strcspn(version, "\n"), version);
	crypto_generichash_update(&h, (const unsigned char *)t->srcdir, strlen(t->srcdir) + 1);
	crypto_generichash_final(&h, out, sizeof(out));
	for (i = 0; i < sizeof(out); i++)
		snprintf(t->key + 2 * i, 3, "%02x", out[i]);
	return 0;
}

static int make_in_tree(struct lf_ktree *t, const char *const *targets, size_t n,
			const char *kcflags)
{
	const char *argv[32 + LF_KPATCH_MAX_UNITS];
	char odir[PATH_MAX + 8], jobs[32], kc[512];
	size_t a = 0, i;

	snprintf(odir, sizeof(odir), "O=%s", t->objdir);
	snprintf(jobs, sizeof(jobs), "-j%d", t->jobs > 0 ? t->jobs : 2);
	argv[a++] = "make";
	argv[a++] = "-s";
	argv[a++] = "-C";
	argv[a++] = t->srcdir;
	argv[a++] = odir;
	argv[a++] = jobs;
	if (t->arch_arg[0])
		argv[a++] = t->arch_arg;
	if (t->cross_arg[0])
		argv[a++] = t->cross_arg;
	if (kcflags) {
		snprintf(kc, sizeof(kc), "KCFLAGS=%s", kcflags);
		argv[a++] = kc;
	}
	for (i = 0; i < n && i < LF_KPATCH_MAX_UNITS; i++)
		argv[a++] = targets[i];
	argv[a] = NULL;
	return kb_run(argv, t->log_path);
}

static int prepare_tree(const struct lf_ktree_config *cfg, struct lf_ktree *t)
{
	static const char *const olddef[] = { "olddefconfig" };
	static const char *const prep[] = { "prepare", "modules_prepare" };
	char path[PATH_MAX + 32];
	double t0 = now();
	int r;

	kb_remove_tree(t->objdir);
	r = lf_mkdir_p(t->objdir, 0755);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/.config", t->objdir);
	r = kb_copy_file(cfg->config, path);
	if (r < 0)
		return r;
	if (cfg->kernelvariables) {
		snprintf(path, sizeof(path), "%s/.kernelvariables", t->objdir);
		r = kb_copy_file(cfg->kernelvariables, path);
		if (r < 0)
			return r;
	}
	r = make_in_tree(t, olddef, 1, NULL);
	if (r < 0)
		return r;
	r = make_in_tree(t, prep, 2, NULL);
	if (r < 0)
		return r;
	t->prepare_seconds = now() - t0;
	snprintf(path, sizeof(path), "%s/.livefix-prepared", t->objdir);
	return touch(path);
}

/* Per-source-tree name for locks and journals (the path may be anywhere). */
static void src_hash(const struct lf_ktree *t, char *out, size_t size)
{
	unsigned char h[8];
	size_t i;

	crypto_generichash(h, sizeof(h), (const unsigned char *)t->srcdir, strlen(t->srcdir),
			   NULL, 0);
	for (i = 0; i < sizeof(h) && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int lock_source(const struct lf_ktree_config *cfg, struct lf_ktree *t)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], id[17];
	int r;

	src_hash(t, id, sizeof(id));
	snprintf(dir, sizeof(dir), "%s/kbuild/locks", cfg->cache_dir);
	r = lf_mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, id);
	t->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (t->lock_fd < 0)
		return -errno;
	if (flock(t->lock_fd, LOCK_EX) < 0)
		return -errno;
	snprintf(t->journal, sizeof(t->journal), "%s/kbuild/journal/%s", cfg->cache_dir, id);
	return 0;
}

static int open_source(const struct lf_ktree_config *cfg, struct lf_ktree *t)
{
	char top[PATH_MAX];
	int r;

	if (cfg->source_dir) {
		if (!realpath(cfg->source_dir, top))
			return -errno;
	} else if (cfg->source_tar) {
		r = unpack_source(cfg, top, sizeof(top));
		if (r < 0)
			return r;
	} else {
		return -EINVAL;
	}
	snprintf(t->srcdir, sizeof(t->srcdir), "%s", top);
	return 0;
}

int lf_ktree_open(const struct lf_ktree_config *cfg, struct lf_ktree *ret_tree)
{
	struct lf_ktree t = { .lock_fd = -1, .kcflags = cfg->kcflags, .log_path = cfg->log_path,
			      .jobs = cfg->jobs };
	char stamp[PATH_MAX + 32];
	int r;

	if (sodium_init() < 0)
		return -ENOMEM;
	if (cfg->arch)
		snprintf(t.arch_arg, sizeof(t.arch_arg), "ARCH=%.20s", cfg->arch);
	if (cfg->cross_compile)
		snprintf(t.cross_arg, sizeof(t.cross_arg), "CROSS_COMPILE=%.64s", cfg->cross_compile);
	r = open_source(cfg, &t);
	if (r < 0)
		return r;
	r = lock_source(cfg, &t);
	if (r < 0)
		goto err;
	r = lf_ktree_unpatch(&t);   /* a crashed run may have left files patched */
	if (r < 0)
		goto err;
	r = tree_key(cfg, &t);
	if (r < 0)
		goto err;
	snprintf(t.objdir, sizeof(t.objdir), "%s/kbuild/tree/%s", cfg->cache_dir, t.key);
	snprintf(stamp, sizeof(stamp), "%s/.livefix-prepared", t.objdir);
	t.reused = exists(stamp);
	if (!t.reused) {
		r = prepare_tree(cfg, &t);
		if (r < 0)
			goto err;
	}
	*ret_tree = t;
	return 0;
err:
	lf_ktree_close(&t);
	return r;
}

void lf_ktree_close(struct lf_ktree *tree)
{
	if (tree->lock_fd >= 0)
		close(tree->lock_fd);
	tree->lock_fd = -1;
}

/*
 * Builds objects from scratch: the old object and its .cmd are removed
 * first, so what we read is what this run compiled, never an object left by
 * an earlier (perhaps patched) build.
 */
int lf_ktree_build(struct lf_ktree *tree, const char *const *objs, size_t n)
{
	char path[PATH_MAX * 2], flags[512];
	size_t i;

	if (n > LF_KPATCH_MAX_UNITS)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		const char *slash = strrchr(objs[i], '/');

		if (strstr(objs[i], "..") || objs[i][0] == '/')
			return -EINVAL;
		snprintf(path, sizeof(path), "%s/%s", tree->objdir, objs[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%.*s.%s.cmd", tree->objdir,
			 slash ? (int)(slash - objs[i] + 1) : 0, objs[i], slash ? slash + 1 : objs[i]);
		unlink(path);
	}
	snprintf(flags, sizeof(flags), "-ffunction-sections -fdata-sections%s%s",
		 tree->kcflags ? " " : "", tree->kcflags ? tree->kcflags : "");
	return make_in_tree(tree, objs, n, flags);
}
