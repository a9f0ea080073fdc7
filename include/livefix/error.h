/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_ERROR_H
#define LIVEFIX_ERROR_H

/*
 * Errors are negative errno values everywhere. Domain outcomes use fixed codes
 * so that one table (error.c) maps them to exit codes, and one (later, the
 * portal) to HTTP statuses:
 *
 *   -EBADMSG      bad signature, malformed signed data
 *   -EKEYREJECTED key of the wrong role, below threshold
 *   -ESTALE       expired metadata (freeze attack)
 *   -EOVERFLOW    input longer than declared or allowed (endless data)
 *   -ETIMEDOUT    transition or transfer did not finish in time
 *   -EBUSY        a task or thread is inside a function being patched
 *   -ENOEXEC      not a valid object for this machine (format, arch)
 *   -EMEDIUMTYPE  valid object, but built for another kernel or binary
 *   -EOPNOTSUPP   this system cannot do it (no livepatch support, ...)
 *   -EPERM        not privileged enough
 */

/* Exit codes of every livefix program, documented in docs/livefix.1. */
enum lf_exit {
	LF_EXIT_OK = 0,
	LF_EXIT_FAILURE = 1,   /* anything not listed below */
	LF_EXIT_USAGE = 2,     /* bad command line */
	LF_EXIT_REFUSED = 3,   /* trust: signature, key, expiry, rollback */
	LF_EXIT_MISMATCH = 4,  /* input not for this machine, kernel or binary */
	LF_EXIT_BUSY = 5,      /* could not be applied in time; rolled back */
	LF_EXIT_UNSUPPORTED = 6, /* this system cannot do it, or no privilege */
};

/* Exit code for a negative errno; 0 maps to LF_EXIT_OK. */
int lf_exit_code(int err);

/* Human text for a negative errno, domain codes worded for livefix. */
const char *lf_strerror(int err);

#endif
