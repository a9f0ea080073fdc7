/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two functions with entries in the kernel's special tables, laid out as
 * x86_64 Linux 6.1 lays them out (__ex_table, __jump_table, __bug_table,
 * .altinstructions with .altinstr_replacement, a static_cpu_has() slow path
 * in .altinstr_aux, .orc_unwind_ip with .orc_unwind). The fix changes
 * get_one() only: the patch must carry
 * get_one()'s entries, compacted, and none of get_two()'s. get_two() comes
 * first so that get_one()'s entries are not at offset 0 in the object.
 */
#define CHANGE 1

#if defined(__x86_64__)
#define TABLES(key, alt, flag)                                                  \
	"1: movl (%1), %0\n"                                                    \
	"2:\n"                                                                  \
	".pushsection __ex_table,\"a\"\n .balign 4\n"                          \
	" .long 1b - .\n .long 2b - .\n .long 3\n .popsection\n"                \
	"3: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"                               \
	".pushsection __jump_table,\"aw\"\n .balign 8\n"                       \
	" .long 3b - .\n .long 2b - .\n .quad " key " + 1 - .\n .popsection\n" \
	"4: .byte 0x90, 0x90, 0x90, 0x90, 0x90\n5:\n"                           \
	".pushsection .altinstructions,\"a\"\n"                                 \
	" .long 4b - .\n .long 6f - .\n .word 9\n .byte 5b - 4b\n"              \
	" .byte 7f - 6f\n .popsection\n"                                        \
	".pushsection .altinstr_replacement,\"ax\"\n"                           \
	"6: call " alt "\n7:\n .popsection\n"                                   \
	"8: ud2\n"                                                              \
	".pushsection .rodata.str1.1,\"aMS\",@progbits,1\n"                    \
	"9: .asciz \"special_tables.c\"\n .popsection\n"                        \
	".pushsection __bug_table,\"aw\"\n"                                     \
	"10: .long 8b - .\n .long 9b - .\n .word 42\n .word 0\n"                \
	" .org 10b + 12\n .popsection\n"                                        \
	".pushsection .orc_unwind_ip,\"a\"\n .long 1b - .\n .long 3b - .\n"     \
	" .popsection\n"                                                        \
	".pushsection .orc_unwind,\"a\"\n .word 8, 0, 0x15\n .word 16, 0, 0x25\n" \
	" .popsection\n"                                                        \
	"jmp 11f\n12:\n"                                                         \
	".pushsection .altinstr_aux,\"ax\"\n"                                   \
	"11: testb $1, " flag "(%%rip)\n jnz 12b\n jmp 12b\n .popsection\n"

int get_two(const int *p)
{
	int v;

	asm volatile(TABLES("cold_key", "alt_target_two", "flag_two") : "=r"(v) : "r"(p));
	return v + 7;
}

int get_one(const int *p)
{
	int v;

	asm volatile(TABLES("hot_key", "alt_target_one", "flag_one") : "=r"(v) : "r"(p));
	return v + CHANGE;
}
#else
int get_two(const int *p)
{
	return *p + 7;
}

int get_one(const int *p)
{
	return *p + CHANGE;
}
#endif
