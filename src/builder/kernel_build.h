/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_KERNEL_BUILD_H
#define LIVEFIX_BUILDER_KERNEL_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#define KBUILD_MAX_CVES 32

struct kbuild_opts {
	const char *source, *source_pkg, *config, *kvars, *image, *system_map, *patch;
	const char *name, *out, *keep_work, *kcflags, *cache, *headers, *module_dir;
	const char *cves[KBUILD_MAX_CVES];
	size_t n_cves;
	int level, max_units, jobs;
	bool list_units;
};

/* Runs the pipeline; logs what fails and returns a negative errno. */
int kbuild_run(const struct kbuild_opts *o);

#endif
