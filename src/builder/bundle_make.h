/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_BUNDLE_MAKE_H
#define LIVEFIX_BUILDER_BUNDLE_MAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "livefix/bundle.h"

#include "builder.h"

/*
 * Making a signed .lfb, shared by `livefix-build bundle` and
 * `livefix-build kernel -o OUT.lfb`: what goes in (target identity,
 * level, CVEs, payloads, keys) and the writer.
 */
struct bundle_opts {
	/* payloads[i].data and payload_names[i] are owned (bundle_opts_release) */
	int kind;
	struct lf_identity id;
	int64_t level;
	int64_t created;
	const char *bundle_id;
	const char *description;
	const char *out;
	bool unsigned_ok;
	size_t ncves, nsupersedes, npayloads;
	char *cves[LF_BUNDLE_MAX_CVES];
	const char *supersedes[LF_BUNDLE_MAX_SUPERSEDES];
	struct lf_payload_in payloads[LF_BUNDLE_MAX_PAYLOADS];
	char *payload_names[LF_BUNDLE_MAX_PAYLOADS];
	struct lf_build_keys keys;
};

/*
 * The target identity of a shipped kernel image (vmlinuz or vmlinux): arch
 * from its ELF header, build-id from its notes, release and the sha1 of
 * /proc/version from its banner. Logs what fails.
 */
int bundle_read_image(struct bundle_opts *o, const char *path);
/* Checks the identity, writes and signs o->out; logs what fails; negative errno. */
int bundle_build(struct bundle_opts *o);
/* Frees the payloads and wipes the keys (not o itself). */
void bundle_opts_release(struct bundle_opts *o);

#endif
