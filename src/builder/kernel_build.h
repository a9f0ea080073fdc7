/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_KERNEL_BUILD_H
#define LIVEFIX_BUILDER_KERNEL_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#define KBUILD_MAX_CVES 32
#define KBUILD_MAX_KEYS 8
#define KBUILD_MAX_SUPERSEDES 16

struct kbuild_opts {
	const char *source, *source_pkg, *config, *kvars, *image, *system_map, *patch;
	const char *name, *out, *keep_work, *kcflags, *cache, *headers, *module_dir;
	const char *cross;           /* --cross aarch64, or NULL (inferred from the image) */
	const char *cves[KBUILD_MAX_CVES];
	size_t n_cves;
	int level, max_units, jobs;
	bool list_units;
	/* -o OUT.lfb: the bundle's trust options, as `livefix-build bundle` takes them */
	const char *keys[KBUILD_MAX_KEYS];
	size_t n_keys;
	bool unsigned_ok;
	const char *bundle_id, *description;
	const char *supersedes[KBUILD_MAX_SUPERSEDES];
	size_t n_supersedes;
	/* module signing for kernels that enforce signatures */
	const char *sign_key, *sign_cert;
};

/* -o names a bundle (.lfb) rather than a module. */
bool kbuild_out_is_bundle(const char *out);

/* Runs the pipeline; logs what fails and returns a negative errno. */
int kbuild_run(const struct kbuild_opts *o);

#endif
