/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A __bug_table whose entries are 10 bytes, not the 12 of x86_64 Linux 6.1
 * (another config or kernel): the differ cannot tell which bytes belong to
 * the changed function, so it refuses rather than carry a wrong entry.
 * The fix changes warn_if() (adds 1 instead of 1 in orig.c).
 */
int warn_if(int v)
{
#if defined(__x86_64__)
	asm volatile("1: ud2\n"
		     ".pushsection __bug_table,\"aw\"\n"
		     " .long 1b - .\n .long 0\n .word 0\n .popsection\n");
#endif
	return v + 1;
}
