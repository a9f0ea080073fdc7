/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_BUNDLE_BUILD_H
#define LIVEFIX_BUILDER_BUNDLE_BUILD_H

#include <getopt.h>
#include <stdbool.h>

#include "livefix/bundle.h"
#include "livefix/identity.h"

#include "builder.h"

/* What `livefix-build bundle` is told about one bundle (bundle_build.c). */
struct bundle_opts {
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
 * The bundle options (TARGET, --level, --cve, --id, --key, --unsigned, ...)
 * as getopt_long entries, without -o and --help; terminated by a zero entry.
 * Their values are the `c` that bundle_parse_opt() takes.
 */
extern const struct option bundle_long_options[];

void bundle_opts_init(struct bundle_opts *o);
void bundle_opts_release(struct bundle_opts *o);
int bundle_parse_opt(struct bundle_opts *o, int c, const char *arg);
/* Reads FILE as a payload ([NAME=]FILE). */
int bundle_add_payload(struct bundle_opts *o, const char *arg);
/*
 * The target identity of a shipped kernel image (vmlinuz or vmlinux): arch
 * from its ELF header, build-id from its notes, release and the sha1 of
 * /proc/version from its banner. Logs what fails; negative errno.
 */
int bundle_read_image(struct bundle_opts *o, const char *path);
/* Checks the identity, writes and signs o->out; logs what fails; negative errno. */
int bundle_write(struct bundle_opts *o);
/* bundle_write() as an exit code (LF_EXIT_*). */
int bundle_build(struct bundle_opts *o);

#endif
