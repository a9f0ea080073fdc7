// SPDX-License-Identifier: Apache-2.0
/*
 * The functions whose source lines a fix touches, from the hunks of the
 * unified diff and the original source files.
 *
 * The differ needs them to tell a function that changed because its own
 * lines changed from one that changed because a touched function was inlined
 * into it (and must therefore be patched too). For every line the diff
 * removes, or inserts before, we look upwards in the original file for the
 * enclosing function's header, the way `diff -p` finds a hunk's context: a
 * line that starts at column 0 with a letter or '_', holds a '(' and does
 * not end with ';'. Its name is the identifier just before the first '('.
 * A closing '}' at column 0 met on the way means the line lies between
 * functions. This is a heuristic, labelled so: a macro that defines a
 * function (SYSCALL_DEFINE) gives the macro's name, which matches no symbol
 * and only loses the "inlined" label, never a function.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"

#define MAX_SOURCE (16u << 20)
#define MAX_LINES (1u << 20)

struct src_lines {
	char *text;
	char **line;     /* 1-based */
	size_t n;
};

static int load_lines(const char *path, struct src_lines *s)
{
	size_t len, cap = 1024;
	char *p;
	int r = lf_read_file(path, MAX_SOURCE, &s->text, &len);

	if (r < 0)
		return r;
	s->line = malloc(cap * sizeof(*s->line));
	if (!s->line)
		return -ENOMEM;
	s->n = 0;
	for (p = s->text; p && *p && s->n + 2 < MAX_LINES; ) {
		char *nl = strchr(p, '\n');

		if (s->n + 2 >= cap) {
			char **nlines = realloc(s->line, cap * 2 * sizeof(*nlines));

			if (!nlines)
				return -ENOMEM;
			s->line = nlines;
			cap *= 2;
		}
		s->line[++s->n] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static bool is_header(const char *l)
{
	size_t n = strlen(l);

	while (n && isspace((unsigned char)l[n - 1]))
		n--;
	return (isalpha((unsigned char)l[0]) || l[0] == '_') && strchr(l, '(') &&
	       !(n && l[n - 1] == ';');
}

static int add_name(struct lf_kfix *fix, const char *l)
{
	const char *paren = strchr(l, '('), *b = paren;
	char *name;

	while (b > l && isspace((unsigned char)b[-1]))
		b--;
	paren = b;
	while (b > l && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
		b--;
	if (b == paren)
		return 0;
	for (size_t i = 0; i < fix->n_touched; i++)
		if (strlen(fix->touched[i]) == (size_t)(paren - b) &&
		    !strncmp(fix->touched[i], b, (size_t)(paren - b)))
			return 0;
	if (fix->n_touched == LF_KFIX_MAX_TOUCHED)
		return -E2BIG;
	name = strndup(b, (size_t)(paren - b));
	if (!name)
		return -ENOMEM;
	fix->touched[fix->n_touched++] = name;
	return 0;
}

/* The function around line ln (1-based) of the original, if any. */
static int touch_line(struct lf_kfix *fix, const struct src_lines *s, size_t ln)
{
	for (size_t i = ln < s->n ? ln : s->n; i >= 1; i--) {
		const char *l = s->line[i];

		if (is_header(l))
			return add_name(fix, l);
		if (l[0] == '}' && i != ln)
			return 0;
	}
	return 0;
}

/* One file's hunks, from the line after its "+++" to the next "--- " or end. */
static int scan_hunks(struct lf_kfix *fix, const struct src_lines *s, const char *p,
		      const char *end)
{
	size_t old_ln = 0;
	int r = 0;

	while (p < end && r >= 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (l > 4 && !strncmp(p, "--- ", 4))
			break;
		if (l > 4 && !strncmp(p, "@@ -", 4))
			old_ln = strtoul(p + 4, NULL, 10);
		else if (old_ln && l && p[0] == '-')
			r = touch_line(fix, s, old_ln++);
		else if (old_ln && l && p[0] == '+')
			r = touch_line(fix, s, old_ln);
		else if (old_ln && (!l || p[0] == ' '))
			old_ln++;
		p = nl ? nl + 1 : end;
	}
	return r;
}

int lf_kfix_touched(struct lf_kfix *fix, const char *text, size_t len, const char *srcdir)
{
	const char *p = text, *end = text + len;
	int r = 0;

	while (p < end && r >= 0) {
		const char *line = p, *nl = memchr(p, '\n', (size_t)(end - p)), *name;
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p), nlen;
		struct src_lines s = { 0 };
		char path[PATH_MAX];

		p = nl ? nl + 1 : end;
		if (l <= 4 || strncmp(line, "+++ ", 4))
			continue;
		name = memchr(line + 4, '/', l - 4);   /* -p1: drop the first component */
		if (!name)
			continue;
		name++;
		nlen = strcspn(name, "\t\n");
		if (nlen > (size_t)(line + l - name))
			nlen = (size_t)(line + l - name);
		if (snprintf(path, sizeof(path), "%s/%.*s", srcdir, (int)nlen, name) >=
		    (int)sizeof(path))
			continue;
		if (load_lines(path, &s) >= 0)  /* a new file has no original lines */
			r = scan_hunks(fix, &s, p, end);
		free(s.line);
		free(s.text);
	}
	return r;
}
