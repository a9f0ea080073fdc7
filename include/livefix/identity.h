/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_IDENTITY_H
#define LIVEFIX_IDENTITY_H

#include <stddef.h>

#include "livefix/json.h"
#include "livefix/json_parse.h"
#include "livefix/trust.h"

/*
 * What a bundle is for. A kernel bundle names one kernel build: arch,
 * release, and the GNU build-id of vmlinux (/sys/kernel/notes), or, for
 * kernels built without one, the sha1 of /proc/version. A user bundle names
 * one ELF file by arch and GNU build-id.
 */
enum lf_kind {
	LF_KIND_KERNEL = 1,
	LF_KIND_USER = 2,
};

#define LF_ARCH_MAX 32
#define LF_RELEASE_MAX 128
#define LF_BUILD_ID_MAX 128 /* hex digits: 20-byte sha1 ids, up to 64 bytes */

struct lf_identity {
	enum lf_kind kind;
	char arch[LF_ARCH_MAX + 1];
	char release[LF_RELEASE_MAX + 1];        /* kernel only */
	char build_id[LF_BUILD_ID_MAX + 1];      /* hex, "" if unknown */
	char proc_version_sha1[40 + 1];          /* kernel only, "" if unknown */
};

const char *lf_kind_name(enum lf_kind kind);
int lf_kind_from_name(const char *name); /* enum value or -EINVAL */

/* Fills *ret from a "target" object; checks every field's form and size. */
int lf_identity_from_json(const struct lf_jv *v, enum lf_kind kind, struct lf_identity *ret);
void lf_identity_to_json(const struct lf_identity *id, struct lf_json *j);
bool lf_identity_equal(const struct lf_identity *a, const struct lf_identity *b);
/* Checks the fields a bundle must carry for its kind. */
int lf_identity_check(const struct lf_identity *id, struct lf_why *why);

/*
 * 0 when the bundle's identity (want) names this system (have);
 * -EMEDIUMTYPE with why naming the first difference otherwise.
 */
int lf_identity_match(const struct lf_identity *want, const struct lf_identity *have,
		      struct lf_why *why);

/*
 * The running kernel, read below sysroot ("" or NULL for /):
 * proc/sys/kernel/arch, proc/sys/kernel/osrelease, sys/kernel/notes,
 * proc/version.
 */
int lf_identity_kernel(const char *sysroot, struct lf_identity *ret);
/* An ELF file: arch from e_machine, GNU build-id from its notes. */
int lf_identity_elf(const char *path, enum lf_kind kind, struct lf_identity *ret);
/* The GNU build-id in a raw ELF notes blob (as /sys/kernel/notes), in hex. */
int lf_identity_notes_build_id(const void *notes, size_t len, char out[LF_BUILD_ID_MAX + 1]);
/* uname-style machine name, normalised (armv7l -> arm). */
void lf_arch_normalize(char *arch);

#endif
