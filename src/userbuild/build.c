// SPDX-License-Identifier: Apache-2.0
/*
 * `livefix-build user`, as a list of steps:
 *
 *   1. read the target: build-id, PT_LOAD bytes, symbols (own or debug file)
 *   2. read the fix: the files it changes (src/kbuild's unified-diff parser)
 *   3. the units to rebuild: each changed .c file of the compile database;
 *      for a changed header, every unit whose dependency list (-M) has it
 *   4. a private copy of the source; compile each unit original, apply the
 *      fix to the copy, compile each unit patched
 *   5. per unit: the differ (src/diff); its refusals stop the build
 *   6. fidelity: every original function the patch replaces or calls must
 *      be byte for byte the target's (ub_fid_check); mismatches stop it
 *   7. bindings of the references, and the patch object (emit.c)
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"
#include "ub.h"

#define PATCH_MAX (16u << 20)
#define DEPS_MAX (16u << 20)
#define MIRROR_MAX_FILES 500000


void ub_say(struct ub_job *j, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lf_buf_printf(&j->rep->text, "%s\n", line);
}

static const char *rel(const struct ub_job *j, const char *abs)
{
	size_t n = strlen(j->from);

	return !strncmp(abs, j->from, n) && abs[n] == '/' ? abs + n + 1 : abs;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static int add_unit(struct ub_job *j, size_t u)
{
	size_t *nu;

	for (size_t i = 0; i < j->nunits; i++)
		if (j->units[i] == u)
			return 0;
	nu = realloc(j->units, (j->nunits + 1) * sizeof(*nu));
	if (!nu)
		return -ENOMEM;
	j->units = nu;
	j->units[j->nunits++] = u;
	return 0;
}

/* Is the mirror's copy of header `h` in unit u's dependency list? */
static int unit_includes(struct ub_job *j, size_t u, const char *const *hdrs, size_t nh)
{
	char dep[PATH_MAX + 32], *text, want[PATH_MAX * 2];
	size_t len;
	int r, hit = 0;

	snprintf(dep, sizeof(dep), "%s/deps.d", j->work);
	r = ub_compile(&j->db.units[u], j->from, j->mirror, dep, true, j->log);
	if (r < 0)
		return r;
	r = lf_read_file(dep, DEPS_MAX, &text, &len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nh && !hit; i++) {
		snprintf(want, sizeof(want), "%s/%s", j->mirror, hdrs[i]);
		for (const char *p = text; (p = strstr(p, want)); p += strlen(want))
			if (strchr(" \\\n", p[strlen(want)]) && (p == text || p[-1] == ' ')) {
				hit = 1;
				break;
			}
	}
	free(text);
	return hit;
}

static int find_units(struct ub_job *j)
{
	const char *hdrs[LF_KPATCH_MAX_FILES];
	size_t nh = 0;
	int r;

	for (size_t i = 0; i < j->fix.n_files; i++) {
		const char *f = j->fix.files[i];
		bool found = false;

		if (ends_with(f, ".h")) {
			hdrs[nh++] = f;
			continue;
		}
		for (size_t u = 0; u < j->db.n && !found; u++)
			if (!strcmp(rel(j, j->db.units[u].file), f)) {
				found = true;
				if ((r = add_unit(j, u)) < 0)
					return r;
			}
		if (!found)
			ub_say(j, "note: %s is not a unit of the target's build: not rebuilt", f);
	}
	for (size_t u = 0; nh && u < j->db.n; u++) {
		if (!strcmp(rel(j, j->db.units[u].file), j->db.units[u].file))
			continue;   /* not under --source */
		r = unit_includes(j, u, hdrs, nh);
		if (r < 0) {
			ub_say(j, "%s: the dependency scan failed (see %s)", rel(j, j->db.units[u].file), j->log);
			return -ENOEXEC;
		}
		if (r && (r = add_unit(j, u)) < 0)
			return r;
	}
	if (!j->nunits) {
		ub_say(j, "the fix changes no translation unit of the target's build");
		return -ENOEXEC;
	}
	return 0;
}

static int compile_all(struct ub_job *j, const char *kind)
{
	char out[PATH_MAX + 64];

	for (size_t i = 0; i < j->nunits; i++) {
		const struct ub_unit *u = &j->db.units[j->units[i]];

		snprintf(out, sizeof(out), "%s/%s-%zu.o", j->work, kind, i);
		if (ub_compile(u, j->from, j->mirror, out, false, j->log) < 0) {
			ub_say(j, "%s (%s): does not compile, see %s", rel(j, u->file), kind, j->log);
			return -ENOEXEC;
		}
	}
	return 0;
}

static int prepare(struct ub_job *j)
{
	const struct lf_ubuild_opts *o = j->o;
	char *text;
	size_t len;
	int r;

	r = lf_read_file(o->patch, PATCH_MAX, &text, &len);
	if (r < 0)
		return ub_say(j, "%s: cannot read", o->patch), r;
	r = lf_kfix_parse(text, len, &j->fix);
	free(text);
	if (r < 0)
		return ub_say(j, "%s: not a unified diff", o->patch), -ENOEXEC;
	if (!realpath(o->patch, j->patch))
		return ub_say(j, "%s: %s", o->patch, strerror(errno)), -ENOENT;
	if (!realpath(o->source, j->from))
		return ub_say(j, "%s: %s", o->source, strerror(errno)), -ENOENT;
	r = o->ccdb ? ub_ccdb_load(o->ccdb, &j->db)
		    : 0;
	if (r < 0)
		return ub_say(j, "%s: not a compile database (%s)", o->ccdb, strerror(-r)), r;
	if (!o->ccdb) {
		const char *files[LF_KPATCH_MAX_FILES];
		size_t n = 0;

		for (size_t i = 0; i < j->fix.n_files; i++)
			if (ends_with(j->fix.files[i], ".c"))
				files[n++] = j->fix.files[i];
		r = ub_ccdb_from_cflags(j->from, o->cc ? o->cc : "gcc", o->cflags, files, n, &j->db);
		if (r < 0)
			return ub_say(j, "--cflags: %s", strerror(-r)), r;
	}
	r = ub_mirror(j->from, j->mirror, MIRROR_MAX_FILES);
	for (size_t i = 0; r == 0 && i < j->fix.n_files; i++)
		r = ub_mirror_own(j->mirror, j->fix.files[i]);
	if (r < 0)
		return ub_say(j, "private copy of %s in %s: %s", j->from, j->mirror, strerror(-r)), r;
	return 0;
}

static int open_work(struct ub_job *j)
{
	if (j->o->workdir) {
		snprintf(j->work, sizeof(j->work), "%s", j->o->workdir);
		if (lf_mkdir_p(j->work, 0755) < 0)
			return -errno;
	} else {
		snprintf(j->work, sizeof(j->work), "/tmp/livefix-user-build.XXXXXX");
		if (!mkdtemp(j->work))
			return -errno;
		j->own_work = true;
	}
	snprintf(j->mirror, sizeof(j->mirror), "%s/src", j->work);
	snprintf(j->log, sizeof(j->log), "%s/build.log", j->work);
	return access(j->mirror, F_OK) == 0 ? -EEXIST : 0;
}

int lf_ubuild_run(const struct lf_ubuild_opts *o, struct lf_ubuild_report *rep)
{
	struct ub_job j = { .o = o, .rep = rep };
	int r;

	memset(rep, 0, sizeof(*rep));
	lf_buf_init(&rep->text, 1u << 20);
	r = ub_image_open(o->target, &j.img);
	if (r < 0) {
		ub_say(&j, "%s: %s", o->target,
		    r == -EMEDIUMTYPE ? "no GNU build-id, or no symbols (.symtab or debug file)"
				      : strerror(-r));
		return r == -ENOEXEC ? -EMEDIUMTYPE : r;
	}
	if (!j.img.own_symtab)
		ub_say(&j, "symbols: %s (the target is stripped: the applier resolves names "
			"through its .dynsym only)", j.img.symsrc);
	r = open_work(&j);
	if (r < 0)
		ub_say(&j, "work directory %s: %s", j.work, strerror(-r));
	if (r == 0)
		r = prepare(&j);
	if (r == 0)
		r = find_units(&j);
	if (r == 0)
		r = compile_all(&j, "orig");
	if (r == 0 && ub_apply_patch(j.mirror, j.patch, j.log) < 0) {
		ub_say(&j, "%s does not apply to %s (see %s)", o->patch, j.from, j.log);
		r = -ENOEXEC;
	}
	if (r == 0)
		r = compile_all(&j, "patched");
	if (r == 0)
		r = ub_diff_units(&j);
	rep->units = j.nunits;
	if (j.own_work && r == 0) {
		char *const rm[] = { "rm", "-rf", j.work, NULL };

		ub_run(NULL, rm, NULL);
	} else if (j.own_work) {
		ub_say(&j, "work directory kept for inspection: %s", j.work);
	}
	free(j.units);
	lf_kfix_release(&j.fix);
	ub_ccdb_release(&j.db);
	ub_image_release(&j.img);
	return r;
}

void lf_ubuild_report_release(struct lf_ubuild_report *rep)
{
	lf_buf_release(&rep->text);
}
