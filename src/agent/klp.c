/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "livefix/file.h"
#include "klp.h"

long lf_klp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int attr_path(char *buf, size_t size, const char *klp_dir, const char *patch,
		     const char *attr)
{
	int n = attr ? snprintf(buf, size, "%s/%s/%s", klp_dir, patch, attr)
		     : snprintf(buf, size, "%s/%s", klp_dir, patch);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool lf_klp_exists(const char *klp_dir, const char *patch)
{
	char path[PATH_MAX];
	struct stat st;

	return attr_path(path, sizeof(path), klp_dir, patch, NULL) == 0 &&
	       stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int lf_klp_read_flag(const char *klp_dir, const char *patch, const char *attr, bool *ret)
{
	char path[PATH_MAX], line[16];
	int r = attr_path(path, sizeof(path), klp_dir, patch, attr);

	if (r < 0)
		return r;
	r = lf_read_line(path, line, sizeof(line));
	if (r < 0)
		return r;
	if (strcmp(line, "0") && strcmp(line, "1"))
		return -EBADMSG;
	*ret = line[0] == '1';
	return 0;
}

int lf_klp_write_attr(const char *klp_dir, const char *patch, const char *attr, const char *value)
{
	char path[PATH_MAX];
	int r = attr_path(path, sizeof(path), klp_dir, patch, attr);

	return r < 0 ? r : lf_write_string(path, value);
}

static bool is_settled(const char *klp_dir, const char *patch, enum lf_klp_wait_for what)
{
	bool transition;

	if (what == LF_KLP_GONE)
		return !lf_klp_exists(klp_dir, patch);
	/* A patch that vanished (replaced, or freed after disabling) is settled. */
	if (lf_klp_read_flag(klp_dir, patch, "transition", &transition) < 0)
		return true;
	return !transition;
}

int lf_klp_wait(const char *klp_dir, const char *patch, enum lf_klp_wait_for what,
		long timeout_ms, long *ret_waited_us)
{
	long start = lf_klp_now_us(), deadline = start + timeout_ms * 1000L;
	long interval = 50, now;
	int r = 0;

	for (;;) {
		if (is_settled(klp_dir, patch, what))
			break;
		now = lf_klp_now_us();
		if (now >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		if (interval > deadline - now)
			interval = deadline - now;
		nanosleep(&(struct timespec){ interval / 1000000L, (interval % 1000000L) * 1000L }, NULL);
		if (interval < 20000)
			interval *= 2;
	}
	if (ret_waited_us)
		*ret_waited_us = lf_klp_now_us() - start;
	return r;
}

static int cmp_func(const void *a, const void *b)
{
	return strcmp(((const struct lf_klp_func *)a)->name, ((const struct lf_klp_func *)b)->name);
}

/* Function directories are named "<function>,<sympos>". */
static int read_object(const char *dir, const char *name, struct lf_klp_object *obj)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(obj->name, sizeof(obj->name), "%s", name);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *comma = strrchr(de->d_name, ',');
		struct lf_klp_func *f;

		if (de->d_type != DT_DIR || !comma || de->d_name[0] == '.')
			continue;
		if (obj->n_funcs >= LF_KLP_MAX_FUNCS) {
			r = -E2BIG;
			break;
		}
		f = realloc(obj->funcs, (obj->n_funcs + 1) * sizeof(*f));
		if (!f) {
			r = -ENOMEM;
			break;
		}
		obj->funcs = f;
		f = &obj->funcs[obj->n_funcs++];
		snprintf(f->name, sizeof(f->name), "%.*s", (int)(comma - de->d_name), de->d_name);
		f->sympos = strtoul(comma + 1, NULL, 10);
	}
	closedir(d);
	if (obj->n_funcs > 1)
		qsort(obj->funcs, obj->n_funcs, sizeof(*obj->funcs), cmp_func);
	return r;
}

static int read_patch(const char *klp_dir, const char *name, struct lf_klp_patch *p)
{
	char dir[PATH_MAX];
	struct dirent *de;
	bool flag;
	DIR *d;
	int r = 0;

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->replace = -1;
	if ((r = lf_klp_read_flag(klp_dir, name, "enabled", &p->enabled)) < 0 ||
	    (r = lf_klp_read_flag(klp_dir, name, "transition", &p->transition)) < 0)
		return r;
	if (lf_klp_read_flag(klp_dir, name, "replace", &flag) == 0)
		p->replace = flag;
	if ((r = attr_path(dir, sizeof(dir), klp_dir, name, NULL)) < 0)
		return r;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct lf_klp_object *o;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (p->n_objects >= LF_KLP_MAX_OBJECTS) {
			r = -E2BIG;
			break;
		}
		o = realloc(p->objects, (p->n_objects + 1) * sizeof(*o));
		if (!o) {
			r = -ENOMEM;
			break;
		}
		p->objects = o;
		o = &p->objects[p->n_objects++];
		memset(o, 0, sizeof(*o));
		r = read_object(dir, de->d_name, o);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

static int cmp_patch(const void *a, const void *b)
{
	return strcmp(((const struct lf_klp_patch *)a)->name, ((const struct lf_klp_patch *)b)->name);
}

int lf_klp_list_read(const char *klp_dir, struct lf_klp_list *ret)
{
	struct lf_klp_list l = { 0 };
	struct dirent *de;
	DIR *d = opendir(klp_dir);
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct lf_klp_patch *p;

		if (de->d_name[0] == '.')
			continue;
		if (l.n >= LF_KLP_MAX_PATCHES) {
			r = -E2BIG;
			break;
		}
		p = realloc(l.patches, (l.n + 1) * sizeof(*p));
		if (!p) {
			r = -ENOMEM;
			break;
		}
		l.patches = p;
		p = &l.patches[l.n];
		memset(p, 0, sizeof(*p));
		r = read_patch(klp_dir, de->d_name, p);
		l.n++;
		/* A patch removed while we read it is not an error. */
		if (r == -ENOENT) {
			l.n--;
			free(p->objects);
			r = 0;
		}
		if (r < 0)
			break;
	}
	closedir(d);
	if (r < 0) {
		lf_klp_list_release(&l);
		return r;
	}
	if (l.n > 1)
		qsort(l.patches, l.n, sizeof(*l.patches), cmp_patch);
	*ret = l;
	return 0;
}

void lf_klp_list_release(struct lf_klp_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t j = 0; j < l->patches[i].n_objects; j++)
			free(l->patches[i].objects[j].funcs);
		free(l->patches[i].objects);
	}
	free(l->patches);
	l->patches = NULL;
	l->n = 0;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void read_task(const char *task_dir, struct lf_klp_task *t)
{
	char path[PATH_MAX], *stack;
	size_t len;

	snprintf(path, sizeof(path), "%s/comm", task_dir);
	if (lf_read_line(path, t->comm, sizeof(t->comm)) < 0)
		snprintf(t->comm, sizeof(t->comm), "?");
	snprintf(path, sizeof(path), "%s/stack", task_dir);
	t->stack[0] = '\0';
	if (lf_read_file(path, 64 << 10, &stack, &len) == 0) {
		snprintf(t->stack, sizeof(t->stack), "%s", stack);
		free(stack);
	}
}

static int scan_tasks(const char *pid_dir, pid_t pid, int target, struct lf_klp_task *ret,
		      size_t max, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/task", pid_dir);
	d = opendir(path);
	if (!d)
		return 0; /* the process exited */
	while (*n < max && (de = readdir(d))) {
		char task_dir[PATH_MAX], state_path[PATH_MAX + 16], line[16];

		if (!is_number(de->d_name))
			continue;
		snprintf(task_dir, sizeof(task_dir), "%s/%s", path, de->d_name);
		snprintf(state_path, sizeof(state_path), "%s/patch_state", task_dir);
		if (lf_read_line(state_path, line, sizeof(line)) < 0)
			continue;
		if (atoi(line) == -1 || atoi(line) == target)
			continue;
		ret[*n].pid = pid;
		ret[*n].tid = (pid_t)atoi(de->d_name);
		read_task(task_dir, &ret[*n]);
		(*n)++;
	}
	closedir(d);
	return 0;
}

int lf_klp_stuck_tasks(const char *proc_dir, int target, struct lf_klp_task *ret, size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(proc_dir);

	if (!d)
		return -errno;
	while (n < max && (de = readdir(d))) {
		char pid_dir[PATH_MAX];

		if (!is_number(de->d_name))
			continue;
		snprintf(pid_dir, sizeof(pid_dir), "%s/%s", proc_dir, de->d_name);
		scan_tasks(pid_dir, (pid_t)atoi(de->d_name), target, ret, max, &n);
	}
	closedir(d);
	return (int)n;
}
