/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The signer process's seccomp filter. Once the online keys are loaded, the
 * signer only reads requests from its socket, sends answers on it, computes
 * (our own JSON parser, libsodium, malloc) and exits. The filter allows
 * exactly that and kills the process on anything else, so code that took
 * over the signer through a parser bug can neither open a file, nor connect
 * anywhere, nor exec, nor ptrace the server, nor map executable memory: it
 * can only do what the protocol already lets the server do (ask for
 * signatures), and die. docs/PORTAL.md ("The signer process") says why kill
 * and not EPERM.
 *
 * The program, in order:
 *
 *   1. the architecture of the call must be the one this file was built
 *      for; otherwise kill. (On x86_64 a process may also enter the kernel
 *      through the i386 gate, `int $0x80`, where the numbers mean other
 *      calls: i386 12 is chdir, x86_64 12 is brk.) x32 calls carry bit 30
 *      in their number, so they never equal an allowed number below.
 *   2. one block per allowed call: "nr equal? then allow (or check an
 *      argument first)", else on to the next block;
 *   3. kill.
 *
 * The list was found with strace on the signer while it signs (release and
 * ASan builds), plus what the C library may need on other machines: the
 * clocks without a vDSO, futex for its locks, restart_syscall after a
 * stop. tests/unit/test_portal_signer.c runs the filter itself in a child.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <sodium.h>

#include "signer.h"

#if defined(__x86_64__) && !defined(__ILP32__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && defined(__AARCH64EL__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARMEL__)
#define FILTER_ARCH AUDIT_ARCH_ARM
#endif

/* ASan's runtime needs a little more (gcc says so one way, clang another). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef FILTER_ARCH

/* The low 32 bits of argument i (int and unsigned int arguments live there). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(__u64))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(__u64) + sizeof(__u32))
#endif

#define PROG_MAX 128

struct prog {
	struct sock_filter insn[PROG_MAX];
	unsigned short len;
	bool full;
};

static void emit(struct prog *p, struct sock_filter f)
{
	if (p->len < PROG_MAX)
		p->insn[p->len++] = f;
	else
		p->full = true;
}

static void ret(struct prog *p, __u32 action)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

/* Skips the next n instructions unless the call's number is nr. */
static void unless_nr(struct prog *p, long nr, unsigned char n)
{
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, n));
}

static void allow(struct prog *p, long nr)
{
	unless_nr(p, nr, 1);
	ret(p, SECCOMP_RET_ALLOW);
}

/* nr only on these file descriptors (its first argument); on another: kill. */
static void allow_on_fds(struct prog *p, long nr, const int *fds, unsigned char n)
{
	unless_nr(p, nr, (unsigned char)(n + 3));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)));
	for (unsigned char i = 0; i < n; i++) /* equal: jump to the allow after the last test */
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)fds[i],
						     (unsigned char)(n - 1 - i + 1), 0));
	ret(p, SECCOMP_RET_KILL_PROCESS);
	ret(p, SECCOMP_RET_ALLOW);
}

/* nr only without PROT_EXEC in argument i (mmap, mprotect): no new code. */
static void allow_no_exec(struct prog *p, long nr, unsigned i)
{
	unless_nr(p, nr, 5);
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(i)));
	emit(p, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_EXEC));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
	ret(p, SECCOMP_RET_KILL_PROCESS);
	ret(p, SECCOMP_RET_ALLOW);
}

static void build(struct prog *p, int fd)
{
	const int sock[] = { fd }, out[] = { fd, STDERR_FILENO };

	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					     offsetof(struct seccomp_data, arch)));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0));
	ret(p, SECCOMP_RET_KILL_PROCESS);
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					     offsetof(struct seccomp_data, nr)));
	/* The protocol: requests in, answers out; stderr for a sanitizer's or libc's last words. */
	allow_on_fds(p, __NR_read, sock, 1);
	allow_on_fds(p, __NR_sendto, sock, 1);
#ifdef __NR_send
	allow_on_fds(p, __NR_send, sock, 1);
#endif
	allow_on_fds(p, __NR_write, out, 2);
	/* malloc: the heap, large blocks and their growth, returning memory. */
	allow(p, __NR_brk);
#ifdef __NR_mmap
	allow_no_exec(p, __NR_mmap, 2);
#endif
#ifdef __NR_mmap2
	allow_no_exec(p, __NR_mmap2, 2);
#endif
	allow_no_exec(p, __NR_mprotect, 2);
	allow(p, __NR_munmap);
	allow(p, __NR_mremap);
	allow(p, __NR_madvise);
	/* time(NULL) for the expiry dates, when the vDSO cannot answer. */
	allow(p, __NR_clock_gettime);
#ifdef __NR_clock_gettime64
	allow(p, __NR_clock_gettime64);
#endif
	allow(p, __NR_gettimeofday);
#ifdef __NR_time
	allow(p, __NR_time);
#endif
	allow(p, __NR_futex);
#ifdef __NR_futex_time64
	allow(p, __NR_futex_time64);
#endif
	allow(p, __NR_rt_sigreturn);
#ifdef __NR_sigreturn
	allow(p, __NR_sigreturn);
#endif
	allow(p, __NR_restart_syscall);
	allow(p, __NR_exit);
	allow(p, __NR_exit_group);
#ifdef UNDER_ASAN
	allow(p, __NR_sigaltstack); /* ASan's _exit looks at the signal stack */
#endif
	ret(p, SECCOMP_RET_KILL_PROCESS);
}

int lf_portal_signer_sandbox(int fd)
{
	struct prog p = { .len = 0 };
	struct sock_fprog fprog;

	if (fd < 0)
		return -EBADF;
	/*
	 * What would otherwise happen on the first signature, behind the
	 * filter: libsodium's one-time setup (reads the kernel's randomness)
	 * and the C library's time zone (opens /etc/localtime from strftime).
	 */
	if (sodium_init() < 0)
		return -EIO;
	tzset();
	build(&p, fd);
	if (p.full)
		return -E2BIG;
	fprog = (struct sock_fprog){ .len = p.len, .filter = p.insn };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	/* Before Linux 3.17: the same filter through prctl. */
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0 ? -errno : 0;
}

#else

int lf_portal_signer_sandbox(int fd)
{
	(void)fd;
	return -EOPNOTSUPP; /* no filter written for this architecture: docs/PORTAL.md */
}

#endif
