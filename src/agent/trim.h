/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_TRIM_H
#define LIVEFIX_AGENT_TRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The idle daemon's resident memory (docs/PORTAL.md, "The agent's
 * footprint"): most of it is clean pages of the program and its libraries,
 * mapped at start-up and by the kernel's fault-around, which the daemon does
 * not touch while it waits. A trim unmaps those pages from this process (the
 * page cache keeps them; a later access maps them again with a minor fault)
 * and never touches a page this process wrote: copied-on-write pages
 * (relocations, RELRO, a live patch written into a library's code) stay.
 */
struct lf_trim_stats {
	size_t mappings;	/* read-only private file mappings looked at */
	size_t resident;	/* their resident pages before the trim */
	size_t dropped;		/* of those, unmapped */
	size_t kept;		/* pages written by this process (resident or swapped): kept */
};

/*
 * Whether one line of /proc/self/maps (without its newline) is a mapping a
 * trim looks at: readable, not writable, private, of a file (an inode and
 * an absolute path), page-aligned. Its range in *ret_start and *ret_end.
 */
bool lf_agent_trim_candidate(const char *line, uintptr_t page, uintptr_t *ret_start,
			     uintptr_t *ret_end);

/*
 * Trims this process. Reads /proc/self/maps (up to 1 MiB, 256 mappings) and
 * /proc/self/pagemap; 0 or negative errno, with *ret filled either way (what
 * was done before a failure stays done, and is safe).
 */
int lf_agent_trim(struct lf_trim_stats *ret);

/*
 * The daemon's trim before it waits: none when LIVEFIX_NO_TRIM is set, none
 * while another process holds the userspace applier's lock (it may be
 * writing a live patch into this process); failures are logged at debug.
 */
void lf_agent_trim_idle(void);

#endif
