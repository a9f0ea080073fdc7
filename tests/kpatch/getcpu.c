/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the kpatch VM: calls getcpu(2) directly (the vDSO never enters the
 * kernel) with a third argument, the cache the kernel has ignored since
 * 2.6.24, which the getcpu-uaccess test fix writes a marker into.
 *
 *   getcpu ok     print "rc=<rc> marker=0x<word>" for a valid cache
 *   getcpu fault  print "rc=<rc> errno=<name>" for a cache at an unmapped
 *                 address (the patched kernel must fail with EFAULT through
 *                 its exception table, not oops)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned cpu = 0, node = 0;
	unsigned cache[32] = { 0 };
	void *hole;
	long rc;

	if (argc != 2)
		return 2;
	if (!strcmp(argv[1], "ok")) {
		rc = syscall(SYS_getcpu, &cpu, &node, cache);
		printf("rc=%ld marker=0x%x\n", rc, cache[0]);
		return 0;
	}
	if (strcmp(argv[1], "fault"))
		return 2;
	/* A page that is mapped, then unmapped: a user address that faults. */
	hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED || munmap(hole, 4096) < 0)
		return 1;
	rc = syscall(SYS_getcpu, &cpu, &node, hole);
	printf("rc=%ld errno=%s\n", rc, rc < 0 && errno == EFAULT ? "EFAULT" : rc < 0 ? strerror(errno) : "none");
	return 0;
}
