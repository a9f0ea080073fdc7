/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stopping a process's threads with PTRACE_SEIZE + PTRACE_INTERRUPT, and
 * running single syscalls (mmap, mprotect, munmap) in one of them.
 *
 * Threads created while we stop the others are caught twice over: seized
 * threads carry PTRACE_O_TRACECLONE, so their children start traced and
 * stopped, and /proc/PID/task is listed again until a round finds no new
 * thread. We never waitpid(-1): only the tids we seized, so a daemon's own
 * children are never reaped here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "livefix/file.h"

#include "user-int.h"

#define ROUNDS_MAX 64
#define THREADS_MAX 65536
#define GADGET_SCAN_MAX (256u << 10)
#define RELEASE_WAIT_NS 500000000ull

uint64_t lf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct lf_thread *find_thread(struct lf_stop *s, pid_t tid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].tid == tid)
			return &s->t[i];
	return NULL;
}

static struct lf_thread *add_thread(struct lf_stop *s, pid_t tid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		if (cap > THREADS_MAX)
			return NULL;
		struct lf_thread *t = realloc(s->t, cap * sizeof(*t));
		if (!t)
			return NULL;
		s->t = t;
		s->cap = cap;
	}
	struct lf_thread *t = &s->t[s->n++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

/* Handles one wait status of a thread we hold. */
static void on_status(struct lf_stop *s, struct lf_thread *t, int st)
{
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		t->gone = true;
		t->stopped = false;
		return;
	}
	if (!WIFSTOPPED(st))
		return;
	int event = st >> 16, sig = WSTOPSIG(st);
	if (event == PTRACE_EVENT_STOP) {
		t->stopped = true;
	} else if (event == PTRACE_EVENT_CLONE) {
		unsigned long child = 0;
		t->stopped = true;
		/* The child starts traced; it reports its own stop. */
		if (!ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &child) && child && !find_thread(s, child)) {
			struct lf_thread *c = add_thread(s, (pid_t)child);
			if (c)
				c->seized = true;
		}
	} else if (event == 0) {
		/* A signal arrived first: let it through, the interrupt stays pending. */
		ptrace(PTRACE_CONT, t->tid, 0, (void *)(long)sig);
	}
}

/*
 * Waits for the threads in order: every interrupt is already sent, so the
 * threads stop in parallel and, by the time we look at the next one, it
 * has usually stopped: about one waitpid per thread instead of one per
 * thread per round.
 */
static int wait_all(struct lf_stop *s, uint64_t deadline)
{
	for (size_t i = 0; i < s->n; i++) {	/* s->n grows when a clone is reported */
		struct lf_thread *t = &s->t[i];
		while (t->seized && !t->stopped && !t->gone) {
			int st;
			pid_t r = waitpid(t->tid, &st, __WALL | WNOHANG);
			if (r == t->tid) {
				on_status(s, t, st);
				t = &s->t[i];	/* on_status may have grown the array */
				continue;
			}
			if (r < 0 && errno == ECHILD) {
				t->gone = true;
				break;
			}
			if (lf_now_ns() > deadline)
				return -ETIMEDOUT;
			sched_yield();
		}
	}
	return 0;
}

/*
 * Each detach wakes a thread which, on a small machine, preempts us at once:
 * releasing 100 threads then costs 100 context switches (1 ms here). As
 * SCHED_FIFO for the microseconds of the detach loop, the woken threads wait
 * for a CPU instead of taking ours (0.2 ms). Without the privilege to do
 * so, nothing changes. (Boosting the seize loop gained nothing measurable.)
 */
static bool boost(int *policy, struct sched_param *saved)
{
	struct sched_param fifo = { .sched_priority = 1 };

	*policy = sched_getscheduler(0);
	if (*policy < 0 || sched_getparam(0, saved) < 0)
		return false;
	return sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &fifo) == 0;
}

static int list_tasks(pid_t pid, pid_t **ret, size_t *ret_n)
{
	char path[64];
	size_t n = 0, cap = 0;
	pid_t *v = NULL;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);
		if (tid <= 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			pid_t *nv = cap > THREADS_MAX ? NULL : realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (pid_t)tid;
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * A thread just created by a thread we hold is already ours (TRACECLONE)
 * before its creator reports the clone; seizing it again fails with EPERM.
 */
static bool traced_by_us(pid_t pid, pid_t tid)
{
	char path[96], *text;
	size_t len;
	bool ours = false;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (lf_read_file(path, 1 << 16, &text, &len) < 0)
		return false;
	const char *line = strstr(text, "\nTracerPid:");
	ours = line && strtol(line + strlen("\nTracerPid:"), NULL, 10) == getpid();
	free(text);
	return ours;
}

static int seize(struct lf_stop *s, pid_t tid, bool all, char *msg, size_t size)
{
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)(all ? PTRACE_O_TRACECLONE : 0)) < 0) {
		if (errno == ESRCH)
			return 0;	/* exited meanwhile */
		if (errno == EPERM && traced_by_us(s->pid, tid))
			errno = 0;	/* auto-attached: it reports its own stop */
		if (errno)
			return lf_user_fail(msg, size, errno == EPERM ? -EPERM : -errno,
					    "thread %d: cannot ptrace (%s; already traced, or no CAP_SYS_PTRACE?)",
					    (int)tid, strerror(errno));
	}
	struct lf_thread *t = add_thread(s, tid);
	if (!t) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return -ENOMEM;
	}
	t->seized = true;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 && errno != ESRCH)
		return -errno;
	return 1;
}

static int seize_round(struct lf_stop *s, bool all, unsigned *ret_new, char *msg, size_t size)
{
	pid_t *tids = NULL;
	size_t n = 0;
	int r = list_tasks(s->pid, &tids, &n);

	*ret_new = 0;
	if (r < 0)
		return r;
	/*
	 * One thread only: the leader first, then any other; a thread in
	 * uninterruptible sleep (D) would not stop in time, so it goes last.
	 */
	for (size_t i = 0; !all && i < n; i++)
		if (tids[i] == s->pid) {
			tids[i] = tids[0];
			tids[0] = s->pid;
		}
	for (size_t i = 0, moved = 0; !all && i + moved < n;) {
		if (lf_proc_task_state(s->pid, tids[i]) != 'D') {
			i++;
			continue;
		}
		pid_t d = tids[i];
		memmove(&tids[i], &tids[i + 1], (n - i - 1) * sizeof(*tids));
		tids[n - 1] = d;
		moved++;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (!all && s->n)
			break;
		if (find_thread(s, tids[i]) || (tids[i] == s->pid && lf_proc_is_zombie(s->pid)))
			continue;
		r = seize(s, tids[i], all, msg, size);
		if (r > 0)
			(*ret_new)++;
	}
	free(tids);
	return r < 0 ? r : 0;
}

int lf_stop_all(pid_t pid, bool all, uint64_t deadline, struct lf_stop *ret, char *msg,
		size_t size)
{
	struct lf_stop s = { .pid = pid, .t_start = lf_now_ns() };
	int r = 0;

	for (unsigned round = 0; round < ROUNDS_MAX; round++) {
		unsigned fresh;
		r = seize_round(&s, all, &fresh, msg, size);
		if (r < 0)
			goto err;
		r = wait_all(&s, deadline);
		if (r < 0) {
			lf_user_fail(msg, size, r, "process %d: threads did not stop in time", (int)pid);
			goto err;
		}
		if (!fresh && s.n)
			break;
		if (!all && s.n)
			break;
	}
	size_t live = 0;
	for (size_t i = 0; i < s.n; i++) {
		struct lf_thread *t = &s.t[i];
		if (t->gone || !t->stopped)
			continue;
		live++;
		if ((r = lf_arch_get_regs(t->tid, &t->regs)) < 0)
			goto err;
	}
	if (!live) {
		r = lf_user_fail(msg, size, -ESRCH, "process %d: no thread could be stopped", (int)pid);
		goto err;
	}
	*ret = s;
	return 0;
err:
	lf_stop_release(&s);
	return r;
}

static void detach_stopped(struct lf_stop *s)
{
	struct sched_param saved;
	int policy;
	bool boosted = s->n > 1 && boost(&policy, &saved);

	for (size_t i = 0; i < s->n; i++) {
		struct lf_thread *t = &s->t[i];
		if (!t->seized || t->gone || !t->stopped)
			continue;
		if (ptrace(PTRACE_DETACH, t->tid, 0, 0) == 0 || errno == ESRCH)
			t->seized = false;
		if (t->pending_sig)
			syscall(SYS_tgkill, s->pid, t->tid, t->pending_sig);
	}
	if (boosted)
		sched_setscheduler(0, policy, &saved);
}

/*
 * The stopped threads go first, so that a thread slow to stop (after a
 * timeout) does not keep the others waiting. A thread can only be detached
 * once stopped: the slow ones are waited for, bounded, and detached as they
 * stop. One still running after that stays traced until it stops and this
 * process exits, which detaches it (the CLI exits right away).
 */
void lf_stop_release(struct lf_stop *s)
{
	detach_stopped(s);
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].seized && !s->t[i].gone) {
			(void)wait_all(s, lf_now_ns() + RELEASE_WAIT_NS);
			detach_stopped(s);
			break;
		}
	free(s->t);
	*s = (struct lf_stop){ 0 };
}

/* Waits for the single-step trap of an injected syscall. */
static int wait_step(struct lf_thread *t, uint64_t deadline)
{
	for (;;) {
		int st;
		pid_t r = waitpid(t->tid, &st, __WALL | WNOHANG);
		if (r < 0)
			return -errno;
		if (r == t->tid) {
			if (!WIFSTOPPED(st)) {
				t->gone = true;
				return -ESRCH;
			}
			int sig = WSTOPSIG(st);
			if ((st >> 16) == 0 && sig == SIGTRAP)
				return 0;
			if ((st >> 16) == 0 && sig != SIGTRAP) {
				t->pending_sig = sig;	/* held back, re-sent on release */
			}
			if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, 0) < 0)
				return -errno;
		}
		if (lf_now_ns() > deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
}

/*
 * The single-step trap leaves the thread in a SIGTRAP signal-delivery-stop.
 * Were the agent killed now, the kernel would detach and deliver that
 * SIGTRAP, killing the target. So the thread is moved on at once into a
 * PTRACE_INTERRUPT stop, which resumes cleanly whatever happens to us.
 */
static int park(struct lf_thread *t)
{
	t->stopped = false;
	if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0 || ptrace(PTRACE_CONT, t->tid, 0, 0) < 0)
		return -errno;
	uint64_t deadline = lf_now_ns() + 2000000000ull;
	while (!t->stopped && !t->gone) {
		int st;
		pid_t r = waitpid(t->tid, &st, __WALL | WNOHANG);
		if (r < 0)
			return -errno;
		if (r == t->tid) {
			if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_STOP)
				t->stopped = true;
			else if (WIFSTOPPED(st) && (st >> 16) == 0)	/* a signal: hold it */
				t->pending_sig = WSTOPSIG(st), ptrace(PTRACE_CONT, t->tid, 0, 0);
			else if (!WIFSTOPPED(st))
				t->gone = true;
			continue;
		}
		if (lf_now_ns() > deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
	return t->gone ? -ESRCH : 0;
}

int lf_inject_syscall(struct lf_stop *s, struct lf_thread *t, uint64_t gadget, long nr,
		      const uint64_t *args, unsigned nargs, long *ret_val)
{
	struct lf_regs saved = t->regs, r = saved;
	int err;

	lf_arch_set_syscall(&r, gadget, nr, args, nargs);
	if ((err = lf_arch_set_regs(t->tid, &r)) < 0)
		return err;
	if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, 0) < 0) {
		err = -errno;
		goto restore;
	}
	err = wait_step(t, lf_now_ns() + 2000000000ull);
	if (err < 0)
		goto restore;
	if ((err = lf_arch_get_regs(t->tid, &r)) < 0)
		goto restore;
	if (lf_arch_pc(&r) != gadget + sizeof(lf_arch_syscall_insn)) {
		err = -EFAULT;
		goto restore;
	}
	*ret_val = lf_arch_syscall_result(&r);
	err = 0;
restore:
	if (!t->gone && lf_arch_set_regs(t->tid, &saved) < 0 && !err)
		err = -EIO;
	if (!t->gone && park(t) < 0 && !err)
		err = -ESRCH;
	return err;
}

int lf_mem_open(pid_t pid, bool write)
{
	char path[96];

	lf_proc_dir(pid, path, sizeof(path));
	strcat(path, "/mem");
	int fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int lf_mem_read(int fd, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, (off_t)addr);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int lf_mem_write(int fd, uint64_t addr, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(addr + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

/*
 * Any two bytes "syscall" in executable memory do on x86_64, instruction
 * boundary or not: the thread executes just those two bytes. On aarch64 it
 * is an aligned "svc #0" word. The vDSO has one on both.
 */
int lf_find_syscall_gadget(pid_t pid, const struct lf_maps *m, uint64_t *ret_addr)
{
	int fd = lf_mem_open(pid, false), r = -ENOENT;

	if (fd < 0)
		return fd;
	uint8_t *buf = malloc(GADGET_SCAN_MAX);
	for (int pass = 0; pass < 2 && buf && r == -ENOENT; pass++) {
		for (size_t i = 0; i < m->n && r == -ENOENT; i++) {
			const struct lf_map *v = &m->v[i];
			bool vdso = v->path && !strcmp(v->path, "[vdso]");
			/* Code that cannot change under us: the vDSO, else read-only file mappings. */
			if (!v->x || !v->r || v->w || vdso != (pass == 0) ||
			    (!vdso && (!v->path || v->path[0] != '/')))
				continue;
			size_t len = v->end - v->start > GADGET_SCAN_MAX ? GADGET_SCAN_MAX : v->end - v->start;
			if (lf_mem_read(fd, v->start, buf, len) < 0)
				continue;
			uint8_t *hit = buf;
			/* x86_64 takes any two bytes; aarch64 an aligned instruction word. */
			while ((hit = memmem(hit, len - (size_t)(hit - buf), lf_arch_syscall_insn,
					     sizeof(lf_arch_syscall_insn))) &&
			       (v->start + (uint64_t)(hit - buf)) % LF_ARCH_INSN_ALIGN)
				hit++;
			if (hit) {
				*ret_addr = v->start + (uint64_t)(hit - buf);
				r = 0;
			}
		}
	}
	free(buf);
	close(fd);
	return buf ? r : -ENOMEM;
}
