/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lifecycle of a kernel live patch on the device:
 *
 *   inspect file -> check arch/livepatch/vermagic -> finit_module
 *     -> wait for transition -> record level -> remove replaced modules
 *
 * and when the transition stalls (a task sleeps in a patched function):
 *
 *   enabled=0 (reverse) -> wait for the reversal -> wait for the patch to be
 *   freed -> delete_module
 *
 * We never write force on our own: a forced patch's module can never be
 * removed, so it is only done when the operator asked for it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "livefix/file.h"
#include "kernel.h"

/* Upper bounds for the steps after a failed transition. */
#define REVERSE_TIMEOUT_MS 30000L
#define FREE_TIMEOUT_MS 10000L
#define REMOVE_TIMEOUT_MS 10000L

void lf_kernel_env_default(struct lf_kernel_env *env)
{
	const char *run = getenv("LIVEFIX_RUNTIME_DIR");

	env->klp_dir = LF_KLP_DIR;
	env->proc_dir = "/proc";
	env->run_dir = run && *run ? run : "/run/livefix";
}

bool lf_kernel_can_load_modules(void)
{
	unsigned long long caps = 0;
	char *status, *line;
	size_t len;

	if (geteuid() == 0)
		return true;
	if (lf_read_file("/proc/self/status", 64 << 10, &status, &len) < 0)
		return false;
	line = strstr(status, "\nCapEff:");
	if (line)
		caps = strtoull(line + 8, NULL, 16);
	free(status);
	return caps & (1ULL << 16); /* CAP_SYS_MODULE */
}

static int level_path(const struct lf_kernel_env *env, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/kernel/%s.level", env->run_dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int record_level(const struct lf_kernel_env *env, const char *name, int level)
{
	char path[PATH_MAX], dir[PATH_MAX], num[16];
	int r;

	snprintf(dir, sizeof(dir), "%s/kernel", env->run_dir);
	r = lf_mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	r = level_path(env, name, path, sizeof(path));
	if (r < 0)
		return r;
	snprintf(num, sizeof(num), "%d\n", level);
	return lf_write_file_atomic(path, num, strlen(num), 0644);
}

static void forget_level(const struct lf_kernel_env *env, const char *name)
{
	char path[PATH_MAX];

	if (level_path(env, name, path, sizeof(path)) == 0)
		unlink(path);
	snprintf(path, sizeof(path), "%s/kernel/%s.forced", env->run_dir, name);
	unlink(path);
}

/*
 * The kernel never releases the module of a patch whose transition was
 * forced, and does not say which patches those are: the agent remembers.
 */
static int mark_forced(const struct lf_kernel_env *env, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/kernel/%s.forced", env->run_dir, name);
	return lf_write_file_atomic(path, "", 0, 0644);
}

static bool was_forced(const struct lf_kernel_env *env, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/kernel/%s.forced", env->run_dir, name);
	return access(path, F_OK) == 0;
}

int lf_kernel_level(const struct lf_kernel_env *env, const char *name)
{
	char path[PATH_MAX], line[16], *end;
	long level;

	if (level_path(env, name, path, sizeof(path)) < 0 ||
	    lf_read_line(path, line, sizeof(line)) <= 0)
		return -1;
	level = strtol(line, &end, 10);
	return *end == '\0' && level >= 0 && level < 1000000 ? (int)level : -1;
}

int lf_kernel_effective_level(const struct lf_kernel_env *env, const struct lf_klp_list *l)
{
	int best = -1;

	for (size_t i = 0; i < l->n; i++) {
		int level = l->patches[i].enabled ? lf_kernel_level(env, l->patches[i].name) : -1;

		if (level > best)
			best = level;
	}
	return best;
}

static bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/*
 * delete_module fails with EBUSY/EAGAIN while livepatch still holds the
 * module (the patch is freed from a workqueue after it is disabled).
 */
static int remove_module(const char *name)
{
	long deadline = lf_klp_now_us() + REMOVE_TIMEOUT_MS * 1000L, interval = 100;

	for (;;) {
		if (syscall(SYS_delete_module, name, O_NONBLOCK) == 0 || errno == ENOENT)
			return 0;
		if ((errno != EBUSY && errno != EAGAIN) || lf_klp_now_us() >= deadline)
			return -errno;
		nanosleep(&(struct timespec){ 0, interval * 1000L }, NULL);
		if (interval < 50000)
			interval *= 2;
	}
}

/* Disable, wait for the transition, wait for the patch to be freed, rmmod. */
static int disable_and_remove(const struct lf_kernel_env *env, const char *name, long timeout_ms,
			      struct lf_kernel_result *ret)
{
	bool enabled = false;
	int r;

	if (lf_klp_read_flag(env->klp_dir, name, "enabled", &enabled) == 0 && enabled) {
		r = lf_klp_write_attr(env->klp_dir, name, "enabled", "0");
		if (r < 0 && r != -ENOENT) {
			snprintf(ret->reason, sizeof(ret->reason), "cannot disable: %s", strerror(-r));
			return r;
		}
	}
	r = lf_klp_wait(env->klp_dir, name, LF_KLP_SETTLED, timeout_ms, NULL);
	if (r < 0) {
		ret->n_stuck = lf_klp_stuck_tasks(env->proc_dir, 0, ret->stuck, LF_KERNEL_MAX_STUCK);
		snprintf(ret->reason, sizeof(ret->reason),
			 "removal did not finish within %ld ms", timeout_ms);
		return r;
	}
	r = lf_klp_wait(env->klp_dir, name, LF_KLP_GONE, FREE_TIMEOUT_MS, NULL);
	if (r < 0) {
		snprintf(ret->reason, sizeof(ret->reason), "patch was not freed by the kernel");
		return r;
	}
	if (was_forced(env, name)) {
		/* Disabled, which is what matters; the module cannot go. */
		ret->module_kept = true;
		forget_level(env, name);
		return 0;
	}
	r = remove_module(name);
	if (r < 0) {
		snprintf(ret->reason, sizeof(ret->reason), "cannot remove module: %s", strerror(-r));
		return r;
	}
	forget_level(env, name);
	return 0;
}

/*
 * After an atomic replace, the patches it replaced are gone from sysfs but
 * their modules stay loaded. Remove those this agent loaded.
 */
static int remove_replaced(const struct lf_kernel_env *env, const char *except)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/kernel", env->run_dir);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char name[64];
		size_t len = strlen(de->d_name);

		if (len <= 6 || len - 6 >= sizeof(name) || strcmp(de->d_name + len - 6, ".level"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 6), de->d_name);
		if (!strcmp(name, except) || lf_klp_exists(env->klp_dir, name))
			continue;
		if (!module_loaded(name) || remove_module(name) == 0) {
			forget_level(env, name);
			n++;
		}
	}
	closedir(d);
	return n;
}

static int check_module(const struct lf_kernel_env *env, const char *path,
			struct lf_kernel_result *ret)
{
	struct utsname u;
	int r;

	r = lf_kmod_inspect(path, &ret->mod, ret->reason, sizeof(ret->reason));
	if (r < 0)
		return r;
	uname(&u);
	r = lf_kmod_check(&ret->mod, u.release, ret->reason, sizeof(ret->reason));
	if (r < 0)
		return r;
	if (access(env->klp_dir, F_OK) < 0) {
		snprintf(ret->reason, sizeof(ret->reason),
			 "%s not found: this kernel has no live patching (CONFIG_LIVEPATCH)", env->klp_dir);
		return -EOPNOTSUPP;
	}
	if (!lf_kernel_can_load_modules()) {
		snprintf(ret->reason, sizeof(ret->reason), "loading modules needs root or CAP_SYS_MODULE");
		return -EPERM;
	}
	if (lf_klp_exists(env->klp_dir, ret->mod.name) || module_loaded(ret->mod.name)) {
		snprintf(ret->reason, sizeof(ret->reason), "module %s is already loaded", ret->mod.name);
		return -EEXIST;
	}
	return 0;
}

static int insert_module(const char *path, struct lf_kernel_result *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0) {
		r = -errno;
		snprintf(ret->reason, sizeof(ret->reason), "%s", strerror(errno));
		return r;
	}
	if (syscall(SYS_finit_module, fd, "", 0) < 0) {
		r = -errno;
		if (errno == EKEYREJECTED || errno == ENOKEY || errno == EBADMSG)
			snprintf(ret->reason, sizeof(ret->reason),
				 "kernel refused the module signature (%s): sign it with a trusted key",
				 strerror(errno));
		else
			snprintf(ret->reason, sizeof(ret->reason),
				 "kernel refused the module: %s (see dmesg)", strerror(errno));
		if (r == -ENOKEY)
			r = -EKEYREJECTED;
	}
	close(fd);
	return r;
}

/* The transition stalled: force it if asked to, else reverse and remove. */
static int handle_stall(const struct lf_kernel_env *env, const struct lf_kernel_opts *opts,
			struct lf_kernel_result *ret)
{
	const char *name = ret->mod.name;
	int r;

	ret->n_stuck = lf_klp_stuck_tasks(env->proc_dir, 1, ret->stuck, LF_KERNEL_MAX_STUCK);
	if (opts->force) {
		r = lf_klp_write_attr(env->klp_dir, name, "force", "1");
		if (r == 0)
			r = lf_klp_wait(env->klp_dir, name, LF_KLP_SETTLED, REVERSE_TIMEOUT_MS, NULL);
		if (r == 0) {
			ret->forced = true;
			record_level(env, name, ret->mod.level);
			mark_forced(env, name);
			return 0;
		}
		snprintf(ret->reason, sizeof(ret->reason), "forcing the transition failed: %s",
			 strerror(-r));
		return r;
	}
	r = disable_and_remove(env, name, REVERSE_TIMEOUT_MS, ret);
	if (r < 0)
		return r;
	ret->reverted = ret->removed = true;
	snprintf(ret->reason, sizeof(ret->reason),
		 "transition did not finish within %ld ms; reverted and removed", opts->timeout_ms);
	return -ETIMEDOUT;
}

int lf_kernel_load(const struct lf_kernel_env *env, const char *path,
		   const struct lf_kernel_opts *opts, struct lf_kernel_result *ret)
{
	long start = lf_klp_now_us(), loaded;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->mod.level = -1;
	r = check_module(env, path, ret);
	if (r < 0)
		return r;
	r = insert_module(path, ret);
	if (r < 0)
		return r;
	loaded = lf_klp_now_us();
	if (!lf_klp_exists(env->klp_dir, ret->mod.name)) {
		/* Loaded, but it registered no patch under its own name. */
		remove_module(ret->mod.name);
		snprintf(ret->reason, sizeof(ret->reason),
			 "module registered no live patch named %s; removed", ret->mod.name);
		return -ENOEXEC;
	}
	r = lf_klp_wait(env->klp_dir, ret->mod.name, LF_KLP_SETTLED, opts->timeout_ms, NULL);
	if (r == -ETIMEDOUT)
		r = handle_stall(env, opts, ret);
	if (r < 0)
		return r;
	ret->total_us = lf_klp_now_us() - start;
	ret->transition_us = lf_klp_now_us() - loaded;
	/* Recorded even without a level: it marks a module this agent loaded. */
	record_level(env, ret->mod.name, ret->mod.level);
	ret->n_cleaned = remove_replaced(env, ret->mod.name);
	return 0;
}

int lf_kernel_unload(const struct lf_kernel_env *env, const char *name,
		     const struct lf_kernel_opts *opts, struct lf_kernel_result *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->mod.name, sizeof(ret->mod.name), "%s", name);
	if (!lf_kernel_can_load_modules()) {
		snprintf(ret->reason, sizeof(ret->reason), "removing modules needs root or CAP_SYS_MODULE");
		return -EPERM;
	}
	if (!lf_klp_exists(env->klp_dir, name)) {
		/* A patch replaced by a later one leaves only its module. */
		if (!module_loaded(name)) {
			snprintf(ret->reason, sizeof(ret->reason), "no live patch named %s", name);
			return -ENOENT;
		}
		r = remove_module(name);
		if (r < 0)
			snprintf(ret->reason, sizeof(ret->reason), "cannot remove module: %s", strerror(-r));
		else
			forget_level(env, name);
		return r;
	}
	r = disable_and_remove(env, name, opts->timeout_ms, ret);
	if (r == -ETIMEDOUT && lf_klp_exists(env->klp_dir, name)) {
		/* Re-enabling reverses the stalled removal: the patch stays applied. */
		lf_klp_write_attr(env->klp_dir, name, "enabled", "1");
		lf_klp_wait(env->klp_dir, name, LF_KLP_SETTLED, REVERSE_TIMEOUT_MS, NULL);
		ret->reverted = true;
		snprintf(ret->reason, sizeof(ret->reason),
			 "removal did not finish within %ld ms; the patch stays applied", opts->timeout_ms);
	}
	return r;
}
