// SPDX-License-Identifier: Apache-2.0
/*
 * Patching the cached source tree in place, with a journal.
 *
 * Copying a 1.3 GB tree per run would cost more than the whole rebuild, and
 * an overlay of only the touched files does not work with kbuild's O= mode,
 * which reads the one srctree. So the touched files are patched in place,
 * under the source tree's lock, after their originals were saved in the
 * journal (kbuild/journal/<src-hash>/: one backup per file and a list written
 * last). Unpatching writes the originals back with a fresh mtime, so make
 * sees every object built from the patched text as out of date; it then
 * removes the journal. lf_ktree_open() runs the same restore first, so a
 * run killed half-way never leaves the cached tree patched for the next one.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/buf.h"
#include "livefix/file.h"
#include "livefix/kbuild.h"
#include "run.h"

#define MAX_LIST (1u << 20)
#define MAX_PATCH (16u << 20)

static int restore_line(struct lf_ktree *t, char *line)
{
	char src[PATH_MAX * 2], backup[PATH_MAX * 2];
	char *path;
	long idx;

	if (line[0] == 'C' && line[1] == ' ') {
		snprintf(src, sizeof(src), "%s/%s", t->srcdir, line + 2);
		if (unlink(src) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (line[0] != 'M' || line[1] != ' ')
		return line[0] ? -EBADMSG : 0;
	idx = strtol(line + 2, &path, 10);
	if (*path != ' ' || idx < 0)
		return -EBADMSG;
	snprintf(src, sizeof(src), "%s/%s", t->srcdir, path + 1);
	snprintf(backup, sizeof(backup), "%s/%ld", t->journal, idx);
	return kb_copy_file(backup, src);
}

int lf_ktree_unpatch(struct lf_ktree *tree)
{
	char list[PATH_MAX + 16], *data, *line, *next;
	size_t len;
	int r;

	snprintf(list, sizeof(list), "%s/list", tree->journal);
	r = lf_read_file(list, MAX_LIST, &data, &len);
	if (r == -ENOENT)
		return access(tree->journal, F_OK) == 0 ? kb_remove_tree(tree->journal) : 0;
	if (r < 0)
		return r;
	for (line = data; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		r = restore_line(tree, line);
		if (r < 0)
			goto out;
	}
	r = kb_remove_tree(tree->journal);
out:
	free(data);
	return r;
}

/* Saves every file the patch touches, then writes the list. */
static int write_journal(struct lf_ktree *t, const struct lf_kfix *fix)
{
	struct lf_buf list = LF_BUF_INIT(MAX_LIST);
	char src[PATH_MAX * 2], backup[PATH_MAX * 2], path[PATH_MAX + 16];
	size_t i;
	int r;

	kb_remove_tree(t->journal);
	r = lf_mkdir_p(t->journal, 0755);
	if (r < 0)
		return r;
	for (i = 0; i < fix->n_files; i++) {
		snprintf(src, sizeof(src), "%s/%s", t->srcdir, fix->files[i]);
		if (access(src, F_OK) < 0) {
			r = lf_buf_printf(&list, "C %s\n", fix->files[i]);
		} else {
			snprintf(backup, sizeof(backup), "%s/%zu", t->journal, i);
			r = kb_copy_file(src, backup);
			if (r >= 0)
				r = lf_buf_printf(&list, "M %zu %s\n", i, fix->files[i]);
		}
		if (r < 0)
			goto out;
	}
	snprintf(path, sizeof(path), "%s/list", t->journal);
	r = lf_write_file_atomic(path, list.data ? list.data : "", list.len, 0644);
out:
	lf_buf_release(&list);
	return r;
}

static int run_patch(struct lf_ktree *t, const char *patch_path, bool dry)
{
	const char *argv[] = { "patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch",
			       "-r", "-", "-s", "-d", t->srcdir, "-i", patch_path,
			       dry ? "--dry-run" : NULL, NULL };

	return kb_run(argv, t->log_path);
}

int lf_ktree_patch(struct lf_ktree *tree, const char *patch_path)
{
	struct lf_kfix fix = { 0 };
	char *text = NULL, abs[PATH_MAX];
	size_t len;
	int r;

	/* patch -d changes directory before it opens -i. */
	if (!realpath(patch_path, abs))
		return -errno;
	patch_path = abs;
	r = lf_read_file(patch_path, MAX_PATCH, &text, &len);
	if (r < 0)
		return r;
	r = lf_kfix_parse(text, len, &fix);
	free(text);
	if (r < 0)
		return r;
	r = run_patch(tree, patch_path, true);
	if (r < 0) {
		r = -ENOEXEC; /* does not apply to this source */
		goto out;
	}
	r = write_journal(tree, &fix);
	if (r < 0)
		goto out;
	r = run_patch(tree, patch_path, false);
	if (r < 0) {
		lf_ktree_unpatch(tree);
		r = -ENOEXEC;
	}
out:
	lf_kfix_release(&fix);
	return r;
}
