// SPDX-License-Identifier: Apache-2.0
/* Units reached by a changed header: .cmd dependency lists, or an #include scan. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"
#include "strset.h"
#include "units_priv.h"

#define MAX_SRC_FILE (4u << 20)
#define MAX_FILES 200000
#define MAX_DEPTH 32

struct src {
	char *path;         /* relative to the source tree */
	char **incs;        /* include strings, '"' or '<' first */
	size_t n_incs;
	bool is_unit;
	bool reached;
};

struct scan {
	const struct lf_ktree *tree;
	char arch[16];
	struct src *files;
	size_t n, cap;
	struct strset reached;   /* headers (paths) that carry the change */
	struct strset config_y;  /* CONFIG_ names set to y */
};

static bool skip_dir(const struct scan *s, const char *rel)
{
	static const char *const skip[] = { "Documentation", "tools", "samples", "scripts",
					    "usr", "LICENSES", "debian", NULL };
	size_t i;

	for (i = 0; skip[i]; i++)
		if (!strcmp(rel, skip[i]))
			return true;
	if (!strncmp(rel, "arch/", 5) && !strchr(rel + 5, '/'))
		return strcmp(rel + 5, s->arch) != 0;
	return rel[0] == '.' || strstr(rel, "/.") != NULL;
}

/* Collects the #include strings of one file. */
static int read_includes(const struct scan *s, struct src *f)
{
	char path[PATH_MAX * 2], *data, *p;
	size_t len, cap = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%s", s->tree->srcdir, f->path);
	r = lf_read_file(path, MAX_SRC_FILE, &data, &len);
	if (r < 0)
		return r == -EOVERFLOW ? 0 : r;
	for (p = data; (p = strchr(p, '#')); p++) {
		char *q = p + 1, *end, close;

		while (*q == ' ' || *q == '\t')
			q++;
		if (strncmp(q, "include", 7))
			continue;
		for (q += 7; *q == ' ' || *q == '\t'; q++)
			;
		if (*q != '<' && *q != '"')
			continue;
		close = *q == '<' ? '>' : '"';
		end = strchr(q + 1, close);
		if (!end || memchr(q, '\n', (size_t)(end - q)))
			continue;
		if (f->n_incs == cap) {
			char **ni = realloc(f->incs, (cap = cap ? cap * 2 : 8) * sizeof(*ni));

			if (!ni) {
				free(data);
				return -ENOMEM;
			}
			f->incs = ni;
		}
		f->incs[f->n_incs] = strndup(q, (size_t)(end - q));
		if (!f->incs[f->n_incs]) {
			free(data);
			return -ENOMEM;
		}
		f->n_incs++;
	}
	free(data);
	return 0;
}

static int add_src(struct scan *s, const char *rel, bool unit)
{
	struct src *f;

	if (s->n == MAX_FILES)
		return -E2BIG;
	if (s->n == s->cap) {
		struct src *nf = realloc(s->files, (s->cap = s->cap ? s->cap * 2 : 4096) * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		s->files = nf;
	}
	f = &s->files[s->n];
	*f = (struct src){ .path = strdup(rel), .is_unit = unit };
	if (!f->path)
		return -ENOMEM;
	s->n++;
	return read_includes(s, f);
}

static int walk(struct scan *s, const char *rel, int depth)
{
	char path[PATH_MAX * 2], sub[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (depth > MAX_DEPTH)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", s->tree->srcdir, rel[0] ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return -errno;
	while (r >= 0 && (e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		if (e->d_type == DT_DIR) {
			if (!skip_dir(s, sub))
				r = walk(s, sub, depth + 1);
		} else if (l > 2 && e->d_name[l - 2] == '.' && strchr("chS", e->d_name[l - 1])) {
			r = add_src(s, sub, e->d_name[l - 1] != 'h');
		}
	}
	closedir(d);
	return r;
}

/* Normalises "a/b/../c" in place; false if it climbs out of the tree. */
static bool normalise(char *p)
{
	char *out = p, *seg = p;

	while (*seg) {
		char *end = strchr(seg, '/');
		size_t l = end ? (size_t)(end - seg) : strlen(seg);

		if (l == 2 && !strncmp(seg, "..", 2)) {
			if (out == p)
				return false;
			out--;
			while (out > p && out[-1] != '/')
				out--;
		} else if (!(l == 1 && seg[0] == '.') && l) {
			memmove(out, seg, l);
			out += l;
			if (end)
				*out++ = '/';
		}
		seg = end ? end + 1 : seg + l;
	}
	if (out > p && out[-1] == '/')
		out--;
	*out = '\0';
	return true;
}

/* Does include string inc, seen in file f, resolve to a reached header? */
static bool include_reaches(const struct scan *s, const struct src *f, const char *inc)
{
	/* The -I directories of kbuild: prefix, arch?, suffix. */
	static const struct { const char *pre; const char *post; } forms[] = {
		{ "include/", NULL }, { "arch/", "/include/" }, { "include/uapi/", NULL },
		{ "arch/", "/include/uapi/" }, { "arch/", "/include/generated/" },
	};
	char cand[PATH_MAX];
	size_t i;

	if (inc[0] == '"') {
		const char *slash = strrchr(f->path, '/');

		snprintf(cand, sizeof(cand), "%.*s%s", slash ? (int)(slash - f->path + 1) : 0,
			 f->path, inc + 1);
		if (normalise(cand) && strset_has(&s->reached, cand))
			return true;
	}
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(cand, sizeof(cand), "%s%s%s%s", forms[i].pre, forms[i].post ? s->arch : "",
			 forms[i].post ? forms[i].post : "", inc + 1);
		if (strset_has(&s->reached, cand))
			return true;
	}
	return false;
}

static bool file_reaches(const struct scan *s, const struct src *f)
{
	size_t i;

	for (i = 0; i < f->n_incs; i++)
		if (include_reaches(s, f, f->incs[i]))
			return true;
	return false;
}

/* Headers including reached headers are reached, until nothing changes. */
static int close_headers(struct scan *s)
{
	bool changed = true;
	size_t i;
	int pass, r;

	for (pass = 0; changed && pass < MAX_DEPTH; pass++) {
		changed = false;
		for (i = 0; i < s->n; i++) {
			struct src *f = &s->files[i];

			if (f->is_unit || f->reached || !file_reaches(s, f))
				continue;
			f->reached = true;
			r = strset_add(&s->reached, f->path);
			if (r < 0)
				return r;
			changed = true;
		}
	}
	return 0;
}

static int read_config(struct scan *s)
{
	char path[PATH_MAX + 16], *data, *line, *next;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/.config", s->tree->objdir);
	r = lf_read_file(path, 4u << 20, &data, &len);
	if (r < 0)
		return r;
	snprintf(s->arch, sizeof(s->arch), "x86");
	for (line = data; line; line = next) {
		char *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (strncmp(line, "CONFIG_", 7) || !eq || strcmp(eq, "=y"))
			continue;
		*eq = '\0';
		if (!strcmp(line, "CONFIG_ARM64"))
			snprintf(s->arch, sizeof(s->arch), "arm64");
		else if (!strcmp(line, "CONFIG_ARM"))
			snprintf(s->arch, sizeof(s->arch), "arm");
		r = strset_add(&s->config_y, line);
		if (r < 0)
			break;
	}
	free(data);
	return r < 0 ? r : 0;
}

#define MAX_VARS 128

/* kbuild variables seen so far and whether each holds our object. */
struct mkvars {
	char name[MAX_VARS][64];
	bool has[MAX_VARS];
	size_t n;
};

static bool has_word(const char *text, const char *word)
{
	size_t wl = strlen(word);
	const char *hit;

	for (hit = strstr(text, word); hit; hit = strstr(hit + 1, word))
		if ((hit == text || strchr(" \t", hit[-1])) && strchr(" \t", hit[wl] ? hit[wl] : ' '))
			return true;
	return false;
}

/* "proc-$(CONFIG_MMU)" -> "proc-y" when CONFIG_MMU=y, else "proc-". */
static void expand_lhs(const struct scan *s, const char *lhs, size_t len, char *out, size_t size)
{
	size_t o = 0, i = 0;

	while (i < len && o + 2 < size) {
		if (!strncmp(lhs + i, "$(CONFIG_", 9)) {
			size_t l = strcspn(lhs + i + 2, ")");
			char name[128];

			snprintf(name, sizeof(name), "%.*s", (int)l, lhs + i + 2);
			if (strset_has(&s->config_y, name))
				out[o++] = 'y';
			i += l + 3;
		} else if (lhs[i] != ' ' && lhs[i] != '\t') {
			out[o++] = lhs[i++];
		} else {
			i++;
		}
	}
	out[o] = '\0';
}

/*
 * Evaluates one assignment the way make would for our object: ":=" and "="
 * replace a variable, "+=" appends. Conditionals are not evaluated.
 */
static void eval_statement(const struct scan *s, struct mkvars *v, const char *stmt, const char *obj)
{
	const char *eq = strchr(stmt, '=');
	size_t lhs_len, i;
	bool append, hit;
	char name[64];

	if (!eq || eq == stmt || (strchr(stmt, '#') && strchr(stmt, '#') < eq))
		return;
	append = eq[-1] == '+';
	lhs_len = (size_t)(eq - stmt) - (strchr("+:?", eq[-1]) ? 1 : 0);
	expand_lhs(s, stmt, lhs_len, name, sizeof(name));
	hit = has_word(eq + 1, obj);
	for (i = 0; i < v->n && strcmp(v->name[i], name); i++)
		;
	if (i == v->n) {
		if (v->n == MAX_VARS)
			return;
		snprintf(v->name[v->n++], sizeof(v->name[0]), "%s", name);
		v->has[i] = false;
	}
	v->has[i] = append ? (v->has[i] || hit) : hit;
}

static bool built_in_var(const char *name)
{
	size_t l = strlen(name);

	if (!strncmp(name, "hostprogs", 9) || !strncmp(name, "extra-", 6) ||
	    !strncmp(name, "always", 6) || !strncmp(name, "targets", 7))
		return false;
	return (l > 2 && !strcmp(name + l - 2, "-y")) || (l > 5 && !strcmp(name + l - 5, "-objs"));
}

/* Whether the unit's directory Makefile builds it into vmlinux (approximate). */
static bool unit_is_built(const struct scan *s, const char *unit)
{
	const char *slash = strrchr(unit, '/'), *names[] = { "Makefile", "Kbuild" };
	char path[PATH_MAX * 2], obj[256], *data, *p, *stmt;
	struct mkvars *v = calloc(1, sizeof(*v));
	size_t len, i;
	bool built = false;

	if (!v)
		return false;
	snprintf(obj, sizeof(obj), "%.*s.o", (int)strlen(slash ? slash + 1 : unit) - 2,
		 slash ? slash + 1 : unit);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%.*s%s", s->tree->srcdir,
			 slash ? (int)(slash - unit + 1) : 0, unit, names[i]);
		if (lf_read_file(path, 1u << 20, &data, &len) < 0)
			continue;
		for (p = data; (p = strstr(p, "\\\n")); )
			p[0] = p[1] = ' ';          /* join continuation lines */
		for (stmt = data; stmt; stmt = p) {
			p = strchr(stmt, '\n');
			if (p)
				*p++ = '\0';
			eval_statement(s, v, stmt, obj);
		}
		free(data);
	}
	for (i = 0; i < v->n && !built; i++)
		built = v->has[i] && built_in_var(v->name[i]);
	free(v);
	return built;
}

static void scan_release(struct scan *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->files[i].n_incs; j++)
			free(s->files[i].incs[j]);
		free(s->files[i].incs);
		free(s->files[i].path);
	}
	free(s->files);
	strset_release(&s->reached);
	strset_release(&s->config_y);
}

int kfix_units_from_scan(struct lf_kfix *fix, const struct lf_ktree *tree)
{
	struct scan s = { .tree = tree };
	size_t i, direct = fix->n_units;
	int r;

	r = read_config(&s);
	if (r < 0)
		goto out;
	for (i = 0; i < fix->n_files; i++) {
		size_t l = strlen(fix->files[i]);

		if (l > 2 && !strcmp(fix->files[i] + l - 2, ".h") &&
		    (r = strset_add(&s.reached, fix->files[i])) < 0)
			goto out;
	}
	r = walk(&s, "", 0);
	if (r < 0)
		goto out;
	r = close_headers(&s);
	if (r < 0)
		goto out;
	for (i = 0; i < s.n; i++) {
		const struct src *f = &s.files[i];

		if (!f->is_unit || !file_reaches(&s, f) || !unit_is_built(&s, f->path))
			continue;
		r = kfix_add_unit(fix, f->path, direct);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	scan_release(&s);
	return r;
}

/* ".name.o.cmd" in dir -> dir/name.c or dir/name.S when it exists. */
static int cmd_unit(struct lf_kfix *fix, const struct lf_ktree *tree, const char *rel,
		    const char *fname, size_t direct)
{
	char src[PATH_MAX * 2], unit[PATH_MAX];
	size_t l = strlen(fname);
	const char *ext[] = { "c", "S" };
	int i;

	if (l < 8 || strcmp(fname + l - 6, ".o.cmd") || strstr(fname, ".mod.o"))
		return 0;
	for (i = 0; i < 2; i++) {
		snprintf(unit, sizeof(unit), "%s%s%.*s.%s", rel, rel[0] ? "/" : "",
			 (int)(l - 7), fname + 1, ext[i]);
		snprintf(src, sizeof(src), "%s/%s", tree->srcdir, unit);
		if (access(src, F_OK) == 0)
			return kfix_add_unit(fix, unit, direct);
	}
	return 0;
}

static bool cmd_mentions(const char *path, char *const *files, size_t n)
{
	char *data;
	size_t len, i;
	bool hit = false;

	if (lf_read_file(path, 8u << 20, &data, &len) < 0)
		return false;
	for (i = 0; i < n && !hit; i++) {
		size_t fl = strlen(files[i]);
		const char *p;

		if (fl < 3 || strcmp(files[i] + fl - 2, ".h"))
			continue;
		for (p = strstr(data, files[i]); p && !hit; p = strstr(p + 1, files[i]))
			hit = (p == data || p[-1] == '/' || p[-1] == ' ') &&
			      strchr(" \\\n\t", p[fl] ? p[fl] : ' ');
	}
	free(data);
	return hit;
}

static int walk_cmd(struct lf_kfix *fix, const struct lf_ktree *tree, const char *rel,
		    int depth, size_t direct)
{
	char path[PATH_MAX * 2], sub[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (depth > MAX_DEPTH)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", tree->objdir, rel[0] ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return -errno;
	while (r >= 0 && (e = readdir(d))) {
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
		    strcmp(sub, "scripts") && strcmp(sub, "tools"))
			r = walk_cmd(fix, tree, sub, depth + 1, direct);
		else if (e->d_type == DT_REG && e->d_name[0] == '.') {
			snprintf(path, sizeof(path), "%s/%s", tree->objdir, sub);
			if (cmd_mentions(path, fix->files, fix->n_files))
				r = cmd_unit(fix, tree, rel, e->d_name, direct);
		}
	}
	closedir(d);
	return r;
}

int kfix_units_from_cmd(struct lf_kfix *fix, const struct lf_ktree *tree)
{
	return walk_cmd(fix, tree, "", 0, fix->n_units);
}
