/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_KERNEL_MODULE_H
#define LIVEFIX_BUILDER_KERNEL_MODULE_H

#include <stddef.h>

#include "livefix/kbuild.h"

/* An object the patch changes: vmlinux or a loadable module (klp_object). */
struct kmod_target {
	const char *name;            /* "vmlinux" or the module's name */
	const struct lf_ksyms *syms; /* its symbols, positions as livepatch counts them */
};

/* What the back half of `livefix-build kernel` needs from the front half. */
struct kmod_in {
	const char *work;            /* holds orig/ and patched/ */
	const char *const *units;    /* dir/file.o */
	size_t n_units;
	const struct kmod_target *targets; /* [0] is vmlinux */
	size_t n_targets;
	const size_t *unit_target;   /* per unit: index into targets */
	const struct lf_fid_report *fid;
	const char *headers;         /* prepared headers tree with Module.symvers */
	const char *name;            /* module name */
	const char *out;             /* .ko to write */
	const char *log;
	const char *const *touched;  /* functions whose lines the fix touches */
	size_t n_touched;
	int level;
	/*
	 * Set when no module can be built for this kernel (e.g. it has no
	 * CONFIG_LIVEPATCH): every unit is still diffed and printed (what would
	 * be patched), then this reason is logged and -EOPNOTSUPP returned.
	 */
	const char *refuse_module;
};

/*
 * Diffs every unit, writes the patch objects, generates and builds the
 * livepatch module through kbuild and adds its klp relocations. Refusals
 * return -ENOEXEC, what is not supported yet -EOPNOTSUPP (both logged).
 */
int kmod_build(const struct kmod_in *in);

#endif
