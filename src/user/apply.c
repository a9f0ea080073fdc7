/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying a patch to one process, as a list of steps:
 *
 *   1. refuse early, touching nothing: seccomp, build-id, already applied,
 *      unknown or too short functions, no free address in branch reach;
 *   2. link the patch in our memory for the chosen address;
 *   3. with ONE thread stopped: mmap (rw-), write the image through
 *      /proc/PID/mem, write the header magic, mprotect to r--/r-x/rw-;
 *   4. with ALL threads stopped (the pause, bounded by the budget): unwind
 *      every stack, and if no frame is in a function being replaced, write
 *      one jump per function entry, each as one aligned 8- or 16-byte
 *      pwrite; otherwise release the threads and retry later;
 *   5. drop the previous level's mapping, if this patch replaced one.
 *
 * Any failure after 3 unmaps the new mapping again: the target is never
 * left stopped, half-linked or with a jump into a missing mapping.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"

#define INJECT_DEADLINE_NS 1000000000ull

/* Set only by the test build of the agent (livefix-test); NULL otherwise. */
void (*lf_user_step_hook)(const char *step);

void lf_user_test_point(const char *step)
{
	if (lf_user_step_hook)
		lf_user_step_hook(step);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Runs syscalls in one stopped thread; the others keep running. */
int lf_apply_inject(pid_t pid, const struct lf_maps *m, struct lf_inject_call *calls,
		    size_t ncalls, uint64_t *ret_ns, char *msg, size_t size)
{
	struct lf_stop s;
	uint64_t gadget, t0 = lf_now_ns();
	int r = lf_find_syscall_gadget(pid, m, &gadget);

	if (r < 0)
		return lf_user_fail(msg, size, -EOPNOTSUPP, "process %d: no syscall instruction found",
				    (int)pid);
	r = lf_stop_all(pid, false, lf_now_ns() + INJECT_DEADLINE_NS, &s, msg, size);
	if (r < 0)
		return r;
	struct lf_thread *t = NULL;
	for (size_t i = 0; i < s.n && !t; i++)
		if (s.t[i].stopped && !s.t[i].gone)
			t = &s.t[i];
	for (size_t i = 0; t && i < ncalls && r >= 0; i++) {
		long ret = 0;
		if (calls[i].before)
			r = calls[i].before(calls[i].ud);
		if (r < 0)
			break;
		r = lf_inject_syscall(&s, t, gadget, calls[i].nr, calls[i].args, 6, &ret);
		if (r >= 0 && ret < 0 && ret > -4096)
			r = lf_user_fail(msg, size, (int)ret, "process %d: injected syscall %ld failed: %s",
					 (int)pid, calls[i].nr, strerror((int)-ret));
		if (r >= 0) {
			calls[i].ret = ret;
			calls[i].done = true;
		}
		if (r >= 0 && calls[i].step)
			lf_user_test_point(calls[i].step);
	}
	lf_stop_release(&s);
	if (ret_ns)
		*ret_ns = lf_now_ns() - t0;
	return r < 0 ? r : 0;
}

int lf_apply_munmap(pid_t pid, uint64_t addr, uint64_t len, uint64_t *ret_ns, char *msg,
		    size_t size)
{
	struct lf_maps m;
	int r = lf_maps_read(pid, &m);

	if (r < 0)
		return r;
	struct lf_inject_call c = { .nr = SYS_munmap, .args = { addr, len } };
	r = lf_apply_inject(pid, &m, &c, 1, ret_ns, msg, size);
	lf_maps_release(&m);
	return r;
}

/* Writes jumps (or original bytes) while every thread is stopped. */
static int write_windows(int memfd, const struct lf_write *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t cur[LF_ENTRY_MAX];
		int r = lf_mem_read(memfd, w[i].win, cur, w[i].len);
		if (r == 0 && memcmp(cur, w[i].undo, w[i].len))
			r = -EAGAIN;	/* someone else changed the code meanwhile */
		/* One pwrite of one aligned window: never observable half-done. */
		if (r == 0)
			r = lf_mem_write(memfd, w[i].win, w[i].bytes, w[i].len);
		if (r < 0) {
			for (size_t k = i; k-- > 0;)	/* roll back what we wrote */
				lf_mem_write(memfd, w[k].win, w[k].undo, w[k].len);
			return r;
		}
		if (i == 0 && n > 1)
			lf_user_test_point("mid-redirect");
	}
	return 0;
}

/*
 * The stop-the-world part, retried: stop, check, write, release. Returns 0
 * with the pause in res, -EBUSY/-ETIMEDOUT with the last reason in msg.
 */
int lf_apply_switch(pid_t pid, int memfd, const struct lf_maps *m, const struct lf_found *found,
		    size_t nfound, const struct lf_range *ranges, size_t nranges,
		    const struct lf_write *w, size_t nw, const struct lf_user_opts *opts,
		    struct lf_user_result *res)
{
	struct lf_cfi_cache cfi;
	uint64_t budget = (uint64_t)(opts->budget_ms ? opts->budget_ms : 1) * 1000000ull;
	int r = lf_cfi_load(&cfi, pid, m, memfd, found, nfound);

	if (r < 0)
		return r;
	r = -EBUSY;
	for (unsigned a = 1; a <= (opts->retries ? opts->retries : 1); a++) {
		struct lf_stop s;
		res->attempts = a;
		if (a > 1)
			sleep_ms(opts->retry_delay_ms * (a < 5 ? a - 1 : 4));
		uint64_t t0 = lf_now_ns();
		r = lf_stop_all(pid, true, t0 + budget, &s, res->msg, sizeof(res->msg));
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			break;
		lf_user_test_point("stopped");
		r = lf_stack_check(&s, &cfi, memfd, ranges, nranges, res->msg, sizeof(res->msg));
		if (r == 0 && lf_now_ns() - s.t_start > budget)
			r = lf_user_fail(res->msg, sizeof(res->msg), -ETIMEDOUT,
					 "process %d: %zu threads not checked within %u ms", (int)pid, s.n,
					 opts->budget_ms);
		if (r == 0)
			r = write_windows(memfd, w, nw);
		if (r == 0)
			lf_user_test_point("redirected");
		res->threads = (unsigned)s.n;
		uint64_t start = s.t_start;
		lf_stop_release(&s);
		res->pause_ns = lf_now_ns() - start;
		if (r == 0)
			res->msg[0] = '\0';	/* earlier attempts' reasons are history */
		if (r == 0 || (r != -EBUSY && r != -ETIMEDOUT))
			break;
	}
	lf_cfi_release(&cfi);
	return r;
}
