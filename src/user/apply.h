/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_USER_APPLY_H
#define LF_USER_APPLY_H

#include "target.h"

struct lf_inject_call {
	long nr;
	uint64_t args[6];
	int (*before)(void *ud);	/* runs first, with the thread stopped */
	void *ud;
	const char *step;		/* test point after the call */
	long ret;			/* the syscall's return value */
	bool done;
};

int lf_apply_inject(pid_t pid, const struct lf_maps *m, struct lf_inject_call *calls,
		    size_t ncalls, uint64_t *ret_ns, char *msg, size_t size);
int lf_apply_munmap(pid_t pid, uint64_t addr, uint64_t len, uint64_t *ret_ns, char *msg,
		    size_t size);

/* One entry window to write in the pause, and what to put back on failure. */
struct lf_write {
	uint64_t win;
	uint32_t len;
	uint8_t bytes[LF_ENTRY_MAX];
	uint8_t undo[LF_ENTRY_MAX];	/* also what must be there before writing */
};

int lf_apply_switch(pid_t pid, int memfd, const struct lf_maps *m, const struct lf_found *found,
		    size_t nfound, const struct lf_range *ranges, size_t nranges,
		    const struct lf_write *w, size_t nw, const struct lf_user_opts *opts,
		    struct lf_user_result *res);

#endif
