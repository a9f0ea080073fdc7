// SPDX-License-Identifier: Apache-2.0
/* Relocation arithmetic, branch and stub encodings, .livefix.patch parsing. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "user-int.h"

static int32_t get32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_reloc_pc32(void **state)
{
	uint8_t buf[8] = { 0 };
	char msg[128];

	/* call from place 0x1000 to 0x2000 with the usual -4 addend */
	assert_int_equal(lf_arch_reloc(R_X86_64_PLT32, buf, 8, 0x1000, 0x2000, -4, 0, msg, sizeof(msg)), 0);
	assert_int_equal(get32(buf), 0x2000 - 4 - 0x1000);
	/* backwards */
	assert_int_equal(lf_arch_reloc(R_X86_64_PC32, buf, 8, 0x7f0000002000ull, 0x7f0000001000ull, -4, 0,
				       msg, sizeof(msg)), 0);
	assert_int_equal(get32(buf), -0x1004);
	/* out of +-2 GiB: refused, nothing written */
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(lf_arch_reloc(R_X86_64_PC32, buf, 8, 0x1000, 0x1000 + (1ull << 31) + 4, -4, 0,
				       msg, sizeof(msg)), -ERANGE);
	assert_int_equal(buf[0], 0xaa);
	/* the exact limits */
	assert_int_equal(lf_arch_reloc(R_X86_64_PC32, buf, 8, 0, INT32_MAX, 0, 0, msg, sizeof(msg)), 0);
	assert_int_equal(lf_arch_reloc(R_X86_64_PC32, buf, 8, 0x100000000ull, 0x100000000ull + INT32_MIN,
				       0, 0, msg, sizeof(msg)), 0);
	assert_int_equal(get32(buf), INT32_MIN);
}

static void test_reloc_abs(void **state)
{
	uint8_t buf[8];
	uint64_t v;
	char msg[128];

	assert_int_equal(lf_arch_reloc(R_X86_64_64, buf, 8, 0, 0x7f0012345678ull, 8, 0, msg, sizeof(msg)), 0);
	memcpy(&v, buf, 8);
	assert_true(v == 0x7f0012345680ull);
	assert_int_equal(lf_arch_reloc(R_X86_64_64, buf, 4, 0, 1, 0, 0, msg, sizeof(msg)), -ENOEXEC);
	assert_int_equal(lf_arch_reloc(R_X86_64_32, buf, 8, 0, 0xfffffff0ull, 0, 0, msg, sizeof(msg)), 0);
	assert_int_equal(lf_arch_reloc(R_X86_64_32, buf, 8, 0, 0x100000000ull, 0, 0, msg, sizeof(msg)), -ERANGE);
	assert_int_equal(lf_arch_reloc(R_X86_64_32S, buf, 8, 0, 0xfffffff0ull, 0, 0, msg, sizeof(msg)), -ERANGE);
	assert_int_equal(lf_arch_reloc(R_X86_64_32S, buf, 8, 0, (uint64_t)-16, 0, 0, msg, sizeof(msg)), 0);
	assert_int_equal(get32(buf), -16);
	assert_int_equal(lf_arch_reloc(R_X86_64_PC64, buf, 8, 0x1000, 0x800, 0, 0, msg, sizeof(msg)), 0);
	memcpy(&v, buf, 8);
	assert_true((int64_t)v == -0x800);
}

static void test_reloc_got(void **state)
{
	uint8_t buf[4];
	char msg[128];

	assert_true(lf_arch_reloc_needs_got(R_X86_64_REX_GOTPCRELX));
	assert_true(lf_arch_reloc_needs_got(R_X86_64_GOTPCREL));
	assert_false(lf_arch_reloc_needs_got(R_X86_64_PC32));
	/* G + A - P: the slot, not the symbol */
	assert_int_equal(lf_arch_reloc(R_X86_64_REX_GOTPCRELX, buf, 4, 0x10000, 0x7fff00000000ull, -4,
				       0x12000, msg, sizeof(msg)), 0);
	assert_int_equal(get32(buf), 0x12000 - 4 - 0x10000);
	assert_int_equal(lf_arch_reloc(R_X86_64_GOTPCREL, buf, 4, 0x10000, 0, -4, 0, msg, sizeof(msg)), -ERANGE);
}

static void test_reloc_unsupported(void **state)
{
	uint8_t buf[8];
	char msg[128] = "";

	assert_int_equal(lf_arch_reloc(R_X86_64_TPOFF32, buf, 8, 0, 0, 0, 0, msg, sizeof(msg)), -ENOEXEC);
	assert_non_null(strstr(msg, "relocation type 23"));
}

static void test_branch_and_stub(void **state)
{
	uint8_t b[16];

	assert_int_equal(lf_arch_branch(b, sizeof(b), 0x401000, 0x7ff000), 5);
	assert_int_equal(b[0], 0xe9);
	assert_int_equal(get32(b + 1), 0x7ff000 - 0x401005);
	assert_int_equal(lf_arch_branch(b, sizeof(b), 0x1000, 0x1000 + (3ull << 30)), -ERANGE);
	assert_int_equal(lf_arch_branch(b, 4, 0x1000, 0x2000), -ENOBUFS);
	assert_int_equal(lf_arch_stub(b, sizeof(b), 0x5000, 0x4000), LF_ARCH_STUB_SIZE);
	assert_int_equal(b[0], 0xff);
	assert_int_equal(b[1], 0x25);
	assert_int_equal(get32(b + 2), 0x4000 - 0x5006);
}

static void test_symref(void **state)
{
	char name[32];
	unsigned pos;
	uint64_t addr;

	assert_int_equal(lf_patch_parse_symref("parse_header", name, sizeof(name), &pos, &addr), 0);
	assert_string_equal(name, "parse_header");
	assert_int_equal(pos, 0);
	assert_int_equal(lf_patch_parse_symref("helper,2", name, sizeof(name), &pos, &addr), 0);
	assert_string_equal(name, "helper");
	assert_int_equal(pos, 2);
	assert_int_equal(lf_patch_parse_symref("helper@0x1a40", name, sizeof(name), &pos, &addr), 0);
	assert_true(addr == 0x1a40 && pos == 0);
	assert_int_equal(lf_patch_parse_symref("helper,0", name, sizeof(name), &pos, &addr), -EINVAL);
	assert_int_equal(lf_patch_parse_symref("helper,", name, sizeof(name), &pos, &addr), -EINVAL);
	assert_int_equal(lf_patch_parse_symref("helper@12", name, sizeof(name), &pos, &addr), -EINVAL);
	assert_int_equal(lf_patch_parse_symref("a b", name, sizeof(name), &pos, &addr), -EINVAL);
	assert_int_equal(lf_patch_parse_symref("", name, sizeof(name), &pos, &addr), -EINVAL);
	assert_int_equal(lf_patch_parse_symref("a_name_longer_than_thirty_two_bytes", name, sizeof(name),
						&pos, &addr), -EINVAL);
}

static const char meta_ok[] =
	"livefix-patch 1\n"
	"# a comment\n"
	"id cve-2026-0001.l2\n"
	"level 2\n"
	"target-build-id 00112233445566778899aabbccddeeff01234567\n"
	"func parse_header parse_header_v2\n"
	"func helper,2 helper_v2\n"
	"bind table table,1\n";

static void test_meta_ok(void **state)
{
	struct lf_user_patch *p = calloc(1, sizeof(*p));
	char msg[256] = "";

	assert_int_equal(lf_patch_parse_meta(p, meta_ok, sizeof(meta_ok), msg, sizeof(msg)), 0);
	assert_string_equal(p->id, "cve-2026-0001.l2");
	assert_int_equal(p->level, 2);
	assert_int_equal(p->build_id_len, 20);
	assert_string_equal(p->build_id_hex, "00112233445566778899aabbccddeeff01234567");
	assert_int_equal(p->nfuncs, 2);
	assert_string_equal(p->funcs[1].old_name, "helper");
	assert_int_equal(p->funcs[1].old_pos, 2);
	assert_string_equal(p->funcs[1].new_name, "helper_v2");
	assert_int_equal(p->nbinds, 1);
	assert_int_equal(p->binds[0].pos, 1);
	free(p);
}

static void test_meta_refused(void **state)
{
	static const char *bad[] = {
		"id x\nlevel 1\ntarget-build-id 00\nfunc a b\n",			/* no magic line */
		"livefix-patch 2\nid x\nlevel 1\ntarget-build-id 00\nfunc a b\n",	/* version */
		"livefix-patch 1\nlevel 1\ntarget-build-id 00\nfunc a b\n",		/* no id */
		"livefix-patch 1\nid x\nlevel 0\ntarget-build-id 00\nfunc a b\n",
		"livefix-patch 1\nid x\nlevel 1\ntarget-build-id 0\nfunc a b\n",	/* odd hex */
		"livefix-patch 1\nid x\nlevel 1\ntarget-build-id 0G\nfunc a b\n",
		"livefix-patch 1\nid x\nlevel 1\ntarget-build-id 00\n",		/* no func */
		"livefix-patch 1\nid x\nlevel 1\ntarget-build-id 00\nfunc a b c\n",
		"livefix-patch 1\nid x\nlevel 1\ntarget-build-id 00\nfunc a b,2\n",	/* new is plain */
		"livefix-patch 1\nid x y\nlevel 1\ntarget-build-id 00\nfunc a b\n",
		"livefix-patch 1\nid x\nlevel 1\ntarget-build-id 00\nfunc a b\nfrobnicate 1\n",
	};
	char msg[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lf_user_patch *p = calloc(1, sizeof(*p));
		msg[0] = 0;
		assert_int_equal(lf_patch_parse_meta(p, bad[i], strlen(bad[i]), msg, sizeof(msg)), -ENOEXEC);
		assert_true(msg[0] != 0);
		free(p);
	}
}

static void test_meta_bounds(void **state)
{
	struct lf_user_patch *p = calloc(1, sizeof(*p));
	size_t size = 64 << 10;
	char *big = malloc(size + 64), msg[256];
	size_t len = (size_t)snprintf(big, size, "livefix-patch 1\nid x\nlevel 1\ntarget-build-id 00\n");

	/* one entry more than allowed */
	for (unsigned i = 0; i <= LF_PATCH_FUNCS_MAX; i++)
		len += (size_t)snprintf(big + len, size - len, "func f%u g%u\n", i, i);
	assert_int_equal(lf_patch_parse_meta(p, big, len, msg, sizeof(msg)), -ENOEXEC);
	assert_non_null(strstr(msg, "too many"));
	/* longer than the section may be */
	memset(big, 'a', size + 1);
	assert_int_equal(lf_patch_parse_meta(p, big, size + 1, msg, sizeof(msg)), -ENOEXEC);
	/* an embedded NUL */
	assert_int_equal(lf_patch_parse_meta(p, "livefix-patch 1\0id x\n", 21, msg, sizeof(msg)), -ENOEXEC);
	free(big);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reloc_pc32),
		cmocka_unit_test(test_reloc_abs),
		cmocka_unit_test(test_reloc_got),
		cmocka_unit_test(test_reloc_unsupported),
		cmocka_unit_test(test_branch_and_stub),
		cmocka_unit_test(test_symref),
		cmocka_unit_test(test_meta_ok),
		cmocka_unit_test(test_meta_refused),
		cmocka_unit_test(test_meta_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
