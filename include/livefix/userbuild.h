/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_USERBUILD_H
#define LIVEFIX_USERBUILD_H

#include <stddef.h>

#include "livefix/buf.h"

/*
 * The userspace builder (`livefix-build user`, docs/USERSPACE.md): from a
 * source fix to a patch object for a running executable or library.
 *
 * Errors: -ENOEXEC the fix does not apply, a unit does not compile, or the
 * rebuilt original does not match the target (the report lists the
 * functions); -EOPNOTSUPP the differ refused the change (the report gives
 * the reasons); -ENOENT a file is missing; -EMEDIUMTYPE the target has no
 * build-id or no symbols.
 */
struct lf_ubuild_opts {
	const char *target;     /* the ELF to patch (executable or .so) */
	const char *source;     /* the source tree it was built from (read only) */
	const char *patch;      /* unified diff, -p1 */
	const char *ccdb;       /* compile_commands.json, or NULL */
	const char *cflags;     /* flags when there is no ccdb */
	const char *cc;         /* compiler with cflags (default gcc) */
	const char *id;         /* patch id */
	unsigned level;
	const char *out;        /* patch object to write */
	const char *workdir;    /* scratch directory (created, left for inspection) */
};

struct lf_ubuild_report {
	size_t units, changed, added, data, refs, checked, redirected;
	struct lf_buf text;     /* what was done and why it stopped, one item a line */
};

int lf_ubuild_run(const struct lf_ubuild_opts *o, struct lf_ubuild_report *rep);
void lf_ubuild_report_release(struct lf_ubuild_report *rep);

#endif
