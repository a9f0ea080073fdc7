// SPDX-License-Identifier: Apache-2.0
/*
 * From a fix to the translation units to rebuild.
 *
 * A changed .c or .S file is its own unit. A changed header is compiled into
 * every unit that includes it, directly or through other headers. When the
 * tree holds a full build, the .cmd files kbuild wrote (fixdep's complete
 * dependency lists) answer exactly. A tree prepared for livefix holds only
 * the units livefix built, so we then scan #include lines of the source:
 * a closure over headers, then the .c files reached, kept only when their
 * Makefile line is enabled as built-in (=y) by the .config. That is an
 * approximation (a Makefile line may be conditional in ways we do not
 * evaluate) and is reported as such.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"
#include "units_priv.h"

static int add_file(struct lf_kfix *fix, const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len >= PATH_MAX || strstr(p, "..") == p)
		return -EBADMSG;
	for (i = 0; i < fix->n_files; i++)
		if (strlen(fix->files[i]) == len && !strncmp(fix->files[i], p, len))
			return 0;
	if (fix->n_files == LF_KPATCH_MAX_FILES)
		return -E2BIG;
	fix->files[fix->n_files] = strndup(p, len);
	if (!fix->files[fix->n_files])
		return -ENOMEM;
	fix->n_files++;
	return 0;
}

/* "--- a/x\t2024..." -> "x" (strip one leading component, like -p1). */
static int header_path(const char *line, size_t len, const char **ret, size_t *ret_len)
{
	const char *p = line + 4, *end = line + len, *slash;
	const char *tab = memchr(p, '\t', (size_t)(end - p));

	if (tab)
		end = tab;
	while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
		end--;
	if ((size_t)(end - p) == 9 && !strncmp(p, "/dev/null", 9))
		return 0;
	slash = memchr(p, '/', (size_t)(end - p));
	if (!slash)
		return -EBADMSG;
	*ret = slash + 1;
	*ret_len = (size_t)(end - slash - 1);
	return 1;
}

int lf_kfix_parse(const char *text, size_t len, struct lf_kfix *fix)
{
	const char *line = text, *end = text + len, *old = NULL, *p;
	size_t old_len = 0, plen;
	int r;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);

		if (l > 4 && !strncmp(line, "--- ", 4)) {
			r = header_path(line, l, &old, &old_len);
			if (r <= 0)
				old = NULL;
			if (r < 0)
				goto err;
		} else if (l > 4 && !strncmp(line, "+++ ", 4)) {
			r = header_path(line, l, &p, &plen);
			if (r == 0 && old)          /* deleted file */
				r = add_file(fix, old, old_len);
			else if (r > 0)
				r = add_file(fix, p, plen);
			if (r < 0)
				goto err;
			old = NULL;
		}
		line = nl ? nl + 1 : end;
	}
	return fix->n_files ? 0 : -EBADMSG;
err:
	lf_kfix_release(fix);
	return r;
}

void lf_kfix_release(struct lf_kfix *fix)
{
	size_t i;

	for (i = 0; i < fix->n_files; i++)
		free(fix->files[i]);
	for (i = 0; i < fix->n_units; i++)
		free(fix->units[i]);
	free(fix->units);
	for (i = 0; i < fix->n_touched; i++)
		free(fix->touched[i]);
	memset(fix, 0, sizeof(*fix));
}

int kfix_add_unit(struct lf_kfix *fix, const char *src, size_t check_first)
{
	size_t len = strlen(src), i;
	char *obj, **nu;

	if (len < 3 || src[len - 2] != '.')
		return -EINVAL;
	obj = strdup(src);
	if (!obj)
		return -ENOMEM;
	obj[len - 1] = 'o';   /* x.c / x.S -> x.o */
	for (i = 0; i < fix->n_units && i < check_first; i++)
		if (!strcmp(fix->units[i], obj))
			goto dup;
	if (fix->n_units >= LF_KFIX_MAX_SCAN_UNITS)
		goto big;
	if (fix->n_units % 64 == 0) {
		nu = realloc(fix->units, (fix->n_units + 64) * sizeof(*nu));
		if (!nu) {
			free(obj);
			return -ENOMEM;
		}
		fix->units = nu;
	}
	fix->units[fix->n_units++] = obj;
	return 0;
dup:
	free(obj);
	return 0;
big:
	free(obj);
	return -E2BIG;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

int lf_kfix_units(struct lf_kfix *fix, const struct lf_ktree *tree)
{
	char vmlinux[PATH_MAX + 16];
	size_t i;
	int r;

	for (i = 0; i < fix->n_files; i++) {
		const char *f = fix->files[i];

		if (ends_with(f, ".c") || ends_with(f, ".S"))
			r = kfix_add_unit(fix, f, SIZE_MAX);
		else if (ends_with(f, ".h"))
			r = 0, fix->n_headers++;
		else
			r = -EOPNOTSUPP;  /* Makefile, Kconfig, scripts: not a code change we rebuild */
		if (r < 0)
			return r;
	}
	if (!fix->n_headers)
		return 0;
	snprintf(vmlinux, sizeof(vmlinux), "%s/vmlinux.o", tree->objdir);
	if (access(vmlinux, F_OK) == 0) {
		fix->unit_method = ".cmd dependencies";
		return kfix_units_from_cmd(fix, tree);
	}
	fix->unit_method = "include scan";
	return kfix_units_from_scan(fix, tree);
}
