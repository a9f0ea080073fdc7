/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_KERNEL_MODULE_H
#define LIVEFIX_BUILDER_KERNEL_MODULE_H

#include <stddef.h>

#include "livefix/kbuild.h"

/* What the back half of `livefix-build kernel` needs from the front half. */
struct kmod_in {
	const char *work;            /* holds orig/ and patched/ */
	const char *const *units;    /* dir/file.o */
	size_t n_units;
	const struct lf_ksyms *syms;
	const struct lf_fid_report *fid;
	const char *headers;         /* prepared headers tree with Module.symvers */
	const char *name;            /* module name */
	const char *out;             /* .ko to write */
	const char *log;
	int level;
};

/*
 * Diffs every unit, writes the patch objects, generates and builds the
 * livepatch module through kbuild and adds its klp relocations. Refusals
 * return -ENOEXEC, what is not supported yet -EOPNOTSUPP (both logged).
 */
int kmod_build(const struct kmod_in *in);

#endif
