// SPDX-License-Identifier: Apache-2.0
/*
 * The compile database: how each translation unit of the target was
 * compiled (compile_commands.json, as CMake, Meson and Bear write it), and
 * compiling a unit again from the private copy of the source.
 *
 * Each entry's flags are kept except what names the output or dependency
 * files and the source file itself. When a unit is compiled again, every
 * include path and the source file that lie under the source tree are
 * pointed at the private copy, so a patched header is found exactly where
 * the original was; paths outside it (a separate build directory with
 * generated headers, system headers) stay as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/json_parse.h"
#include "ub.h"

#define CCDB_MAX (256u << 20)

int ub_run(const char *cwd, char *const argv[], const char *log)
{
	int status, fd;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, 0);
		fd = log ? open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)
			 : open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int ub_abspath(const char *dir, const char *p, char *out, size_t size)
{
	char tmp[PATH_MAX * 2], *save = NULL, *tok;
	size_t len = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/%s", p[0] == '/' ? "" : dir, p) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (size < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		if (len + 1 + strlen(tok) + 1 > size)
			return -ENAMETOOLONG;
		out[len++] = '/';
		strcpy(out + len, tok);
		len += strlen(tok);
	}
	if (!len)
		strcpy(out, "/");
	return 0;
}

void ub_free_argv(char **argv, size_t argc)
{
	for (size_t i = 0; argv && i < argc; i++)
		free(argv[i]);
	free(argv);
}

static int push_arg(char ***argv, size_t *argc, const char *s, size_t len)
{
	char **nv;

	if (*argc + 2 > UB_MAX_ARGS)
		return -E2BIG;
	nv = realloc(*argv, (*argc + 2) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*argv = nv;
	nv[*argc] = strndup(s, len);
	if (!nv[*argc])
		return -ENOMEM;
	nv[++*argc] = NULL;
	return 0;
}

int ub_split_command(const char *cmd, char ***ret_argv, size_t *ret_argc)
{
	char **argv = NULL, *word = malloc(strlen(cmd) + 1);
	size_t argc = 0, n;
	const char *p = cmd;
	int r = 0;

	if (!word)
		return -ENOMEM;
	while (r == 0) {
		char q = 0;
		bool any = false;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		for (n = 0; *p && (q || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
			any = true;
			if (q == '\'' ? *p == '\'' : (q == '"' ? *p == '"' : (*p == '\'' || *p == '"'))) {
				q = q ? 0 : *p;
			} else if (*p == '\\' && q != '\'' && p[1]) {
				word[n++] = *++p;
			} else {
				word[n++] = *p;
			}
		}
		if (q)
			r = -EBADMSG;
		else if (any)
			r = push_arg(&argv, &argc, word, n);
	}
	free(word);
	if (r == 0 && !argc)
		r = -EBADMSG;
	if (r < 0) {
		ub_free_argv(argv, argc);
		return r;
	}
	*ret_argv = argv;
	*ret_argc = argc;
	return 0;
}

static bool in_list(const char *const *list, const char *a)
{
	for (size_t k = 0; list[k]; k++)
		if (!strcmp(list[k], a))
			return true;
	return false;
}

/* Drops what names outputs, dependency files and the source itself. */
static int keep_flags(struct ub_unit *u, char **in, size_t inc)
{
	static const char *const with_value[] = { "-o", "-MF", "-MT", "-MQ", NULL };
	static const char *const alone[] = { "-c", "-MD", "-MMD", "-MP", "-M", "-MM", NULL };
	char abs[PATH_MAX];
	int r = push_arg(&u->argv, &u->argc, in[0], strlen(in[0]));

	for (size_t i = 1; r == 0 && i < inc; i++) {
		if (in_list(with_value, in[i])) {
			i++;
			continue;
		}
		if (in_list(alone, in[i]) || !strncmp(in[i], "-o", 2))
			continue;
		if (in[i][0] != '-' && ub_abspath(u->dir, in[i], abs, sizeof(abs)) == 0 &&
		    !strcmp(abs, u->file))
			continue;
		r = push_arg(&u->argv, &u->argc, in[i], strlen(in[i]));
	}
	return r;
}

static int add_entry(struct ub_ccdb *db, const struct lf_jv *e)
{
	const char *dir, *file, *cmd;
	const struct lf_jv *args;
	char **in = NULL, abs[PATH_MAX];
	size_t inc = 0;
	struct ub_unit *u;
	int r;

	if (db->n == UB_MAX_UNITS)
		return -E2BIG;
	if (lf_jv_get_str(e, "directory", PATH_MAX, &dir) < 0 ||
	    lf_jv_get_str(e, "file", PATH_MAX, &file) < 0 || dir[0] != '/')
		return -EBADMSG;
	if (lf_jv_get_arr(e, "arguments", UB_MAX_ARGS, &args) == 0) {
		for (size_t i = 0; i < args->len; i++) {
			if (args->u.kids[i].type != LF_JSTR)
				r = -EBADMSG;
			else
				r = push_arg(&in, &inc, args->u.kids[i].u.s, args->u.kids[i].len);
			if (r < 0)
				goto out;
		}
		r = inc ? 0 : -EBADMSG;
	} else if (lf_jv_get_str(e, "command", 1 << 20, &cmd) == 0) {
		r = ub_split_command(cmd, &in, &inc);
	} else {
		r = -EBADMSG;
	}
	if (r < 0)
		goto out;
	u = &db->units[db->n];
	memset(u, 0, sizeof(*u));
	r = ub_abspath("/", dir, abs, sizeof(abs));
	if (r == 0 && !(u->dir = strdup(abs)))
		r = -ENOMEM;
	if (r == 0)
		r = ub_abspath(u->dir, file, abs, sizeof(abs));
	if (r == 0 && !(u->file = strdup(abs)))
		r = -ENOMEM;
	if (r == 0)
		r = keep_flags(u, in, inc);
	db->n++;   /* released with the database, also on failure */
out:
	ub_free_argv(in, inc);
	return r;
}

int ub_ccdb_load(const char *path, struct ub_ccdb *db)
{
	char *text;
	size_t len;
	int r;

	memset(db, 0, sizeof(*db));
	r = lf_read_file(path, CCDB_MAX, &text, &len);
	if (r < 0)
		return r;
	r = ub_ccdb_parse(text, len, db);
	free(text);
	return r;
}

int ub_ccdb_parse(const char *text, size_t len, struct ub_ccdb *db)
{
	static const struct lf_json_limits lim = { 8, 4u << 20, 1u << 20 };
	struct lf_jv *root = NULL;
	int r;

	memset(db, 0, sizeof(*db));
	r = lf_json_parse(text, len, &lim, &root);
	if (r < 0)
		return r;
	if (root->type != LF_JARR || root->len > UB_MAX_UNITS) {
		r = root->type != LF_JARR ? -EBADMSG : -E2BIG;
		goto out;
	}
	db->units = calloc(root->len ? root->len : 1, sizeof(*db->units));
	if (!db->units) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < root->len && r == 0; i++)
		r = root->u.kids[i].type == LF_JOBJ ? add_entry(db, &root->u.kids[i]) : -EBADMSG;
out:
	lf_jv_free(root);
	if (r < 0)
		ub_ccdb_release(db);
	return r;
}

int ub_ccdb_from_cflags(const char *srcdir, const char *cc, const char *cflags,
			const char *const *files, size_t nfiles, struct ub_ccdb *db)
{
	char **flags = NULL, abs[PATH_MAX];
	size_t nflags = 0;
	int r = 0;

	memset(db, 0, sizeof(*db));
	if (cflags && cflags[strspn(cflags, " \t")])
		r = ub_split_command(cflags, &flags, &nflags);
	if (r < 0)
		return r;
	db->units = calloc(nfiles ? nfiles : 1, sizeof(*db->units));
	if (!db->units)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < nfiles; i++) {
		struct ub_unit *u = &db->units[db->n++];

		r = ub_abspath(srcdir, files[i], abs, sizeof(abs));
		if (r == 0 && (!(u->dir = strdup(srcdir)) || !(u->file = strdup(abs))))
			r = -ENOMEM;
		if (r == 0)
			r = push_arg(&u->argv, &u->argc, cc, strlen(cc));
		for (size_t k = 0; r == 0 && k < nflags; k++)
			r = push_arg(&u->argv, &u->argc, flags[k], strlen(flags[k]));
	}
	ub_free_argv(flags, nflags);
	if (r < 0)
		ub_ccdb_release(db);
	return r;
}

void ub_ccdb_release(struct ub_ccdb *db)
{
	for (size_t i = 0; i < db->n; i++) {
		free(db->units[i].dir);
		free(db->units[i].file);
		ub_free_argv(db->units[i].argv, db->units[i].argc);
	}
	free(db->units);
	memset(db, 0, sizeof(*db));
}

/* p (relative to dir) under from: the same path under to; else p itself. */
static int map_path(const char *dir, const char *p, const char *from, const char *to,
		    char *out, size_t size)
{
	char abs[PATH_MAX];
	size_t fl = strlen(from);

	if (ub_abspath(dir, p, abs, sizeof(abs)) == 0 && !strncmp(abs, from, fl) &&
	    (abs[fl] == '/' || !abs[fl])) {
		if (snprintf(out, size, "%s%s", to, abs + fl) >= (int)size)
			return -ENAMETOOLONG;
		return 0;
	}
	return snprintf(out, size, "%s", p) >= (int)size ? -ENAMETOOLONG : 0;
}

static const char *path_flag(const char *a)
{
	static const char *const flags[] = { "-I", "-iquote", "-isystem", "-idirafter",
					     "-include", "-imacros", NULL };

	for (size_t k = 0; flags[k]; k++)
		if (!strncmp(a, flags[k], strlen(flags[k])))
			return flags[k];
	return NULL;
}

static int rewrite_args(const struct ub_unit *u, const char *from, const char *to,
			char ***argv, size_t *argc)
{
	char path[PATH_MAX * 2];
	int r = 0;

	for (size_t i = 0; r == 0 && i < u->argc; i++) {
		const char *a = u->argv[i], *f = path_flag(a);
		size_t fl = f ? strlen(f) : 0;

		if (f && !a[fl] && i + 1 < u->argc) {
			r = push_arg(argv, argc, a, fl);
			if (r == 0)
				r = map_path(u->dir, u->argv[++i], from, to, path, sizeof(path));
			if (r == 0)
				r = push_arg(argv, argc, path, strlen(path));
		} else if (f && a[fl]) {
			char joined[PATH_MAX * 2 + 16];

			r = map_path(u->dir, a + fl, from, to, path, sizeof(path));
			snprintf(joined, sizeof(joined), "%s%s", f, path);
			if (r == 0)
				r = push_arg(argv, argc, joined, strlen(joined));
		} else {
			r = push_arg(argv, argc, a, strlen(a));
		}
	}
	return r;
}

int ub_compile(const struct ub_unit *u, const char *from, const char *to, const char *out,
	       bool deps, const char *log)
{
	char **argv = NULL, path[PATH_MAX * 2], map[PATH_MAX * 3];
	size_t argc = 0;
	int r = rewrite_args(u, from, to, &argv, &argc);

	if (r == 0)
		r = map_path(u->dir, u->file, from, to, path, sizeof(path));
	snprintf(map, sizeof(map), "-ffile-prefix-map=%s=%s", to, from);
	const char *tail[] = { deps ? "-M" : "-c", deps ? "-MF" : "-ffunction-sections",
			       deps ? out : "-fdata-sections", map, path, "-o",
			       deps ? "/dev/null" : out };
	for (size_t i = 0; r == 0 && i < sizeof(tail) / sizeof(tail[0]); i++)
		r = push_arg(&argv, &argc, tail[i], strlen(tail[i]));
	if (r == 0)
		r = ub_run(u->dir, argv, log);
	ub_free_argv(argv, argc);
	return r;
}
