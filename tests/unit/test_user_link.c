/* SPDX-License-Identifier: Apache-2.0 */
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
#include <unistd.h>

#include <cmocka.h>

#include "dynrel.h"
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

/* ---- a real patch object (fuzz seed built by tests/user/mkpatch.sh) ---- */

struct seen_names {
	char names[8][32];
	unsigned n;
};

static int resolve_far(void *ud, const char *name, uint64_t *ret_addr, char *msg, size_t size)
{
	struct seen_names *s = ud;

	if (s->n < 8)
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name);
	/* libc-like addresses: far beyond rel32 reach of the patch */
	*ret_addr = 0x7f1234560000ull + 0x100 * (uint64_t)strlen(name);
	return 0;
}

static char *seed_path(const char *name)
{
	/* __FILE__ is relative to the build directory the tests run in. */
	char *p = NULL;
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 0;

	if (asprintf(&p, "%.*s/../../fuzz/corpus/user_patch/%s", dir, __FILE__, name) < 0)
		return NULL;
	return p;
}

static void test_link_real_object(void **state)
{
	char *path = seed_path("libc.o"), msg[256];
	struct lf_user_patch *p;
	struct lf_image img;
	struct seen_names seen = { .n = 0 };
	struct lf_link_sym res = { .resolve = resolve_far, .ud = &seen };
	const uint64_t base = 0x555500000000ull;
	uint64_t fn;

	/* The seed object is part of the tree: its absence is a failure. */
	assert_non_null(path);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(lf_user_patch_load(path, &p, msg, sizeof(msg)), 0);
	free(path);
	assert_string_equal(p->funcs[0].new_name, "message_v2");
	assert_int_equal(lf_link_layout(p, &img, msg, sizeof(msg)), 0);
	assert_true(img.ro_end % 4096 == 0 && img.text_end % 4096 == 0 && img.map_size % 4096 == 0);
	assert_true(img.hdr_size <= img.got_off && img.got_off + 8ull * img.ngot <= img.ro_end);
	assert_true(img.ngot >= 2);	/* snprintf (far call) and stdout (GOTPCREL) at least */
	assert_int_equal(lf_link_apply(p, &img, base, &res, msg, sizeof(msg)), 0);
	assert_int_equal(lf_link_symbol(p, &img, "message_v2", &fn), 0);
	assert_true(fn >= base + img.ro_end && fn < base + img.text_end);
	assert_true(img.eh_frame_size > 0 && img.eh_frame_off < img.ro_end);

	/* Every stub jumps through its own GOT slot, which holds a resolved address. */
	for (unsigned i = 0; i < img.ngot; i++) {
		const uint8_t *stub = img.data + img.stub_off + LF_ARCH_STUB_SIZE * i;
		uint64_t at = base + img.stub_off + LF_ARCH_STUB_SIZE * i, slot, value;
		assert_true(stub[0] == 0xff && stub[1] == 0x25);
		slot = at + 6 + (int64_t)get32(stub + 2);
		assert_true(slot == base + img.got_off + 8ull * i);
		memcpy(&value, img.data + img.got_off + 8ull * i, 8);
		assert_true(value >= 0x7f1234560000ull && value < 0x7f1234570000ull);
	}
	/* The far call to snprintf lands on a stub, not on the unreachable address. */
	bool call_to_stub = false;
	for (uint64_t o = fn - base; o + 5 <= img.stub_off; o++) {
		if (img.data[o] != 0xe8)
			continue;
		uint64_t dst = base + o + 5 + (int64_t)get32(img.data + o + 1);
		call_to_stub |= dst >= base + img.stub_off && dst < base + img.stub_off + LF_ARCH_STUB_SIZE * img.ngot &&
				(dst - base - img.stub_off) % LF_ARCH_STUB_SIZE == 0;
	}
	assert_true(call_to_stub);
	bool saw_snprintf = false, saw_stdout = false;
	for (unsigned i = 0; i < seen.n; i++) {
		saw_snprintf |= !strcmp(seen.names[i], "snprintf");
		saw_stdout |= !strcmp(seen.names[i], "stdout");
	}
	assert_true(saw_snprintf && saw_stdout);
	lf_image_release(&img);
	lf_user_patch_free(p);
}

static int refuse_all(void *ud, const char *name, uint64_t *ret_addr, char *msg, size_t size)
{
	return lf_user_fail(msg, size, -ENOENT, "no %s here", name);
}

static void test_link_unresolved(void **state)
{
	char *path = seed_path("libc.o"), msg[256] = "";
	struct lf_user_patch *p;
	struct lf_image img;
	struct lf_link_sym res = { .resolve = refuse_all };

	assert_non_null(path);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(lf_user_patch_load(path, &p, msg, sizeof(msg)), 0);
	free(path);
	assert_int_equal(lf_link_layout(p, &img, msg, sizeof(msg)), 0);
	assert_int_equal(lf_link_apply(p, &img, 0x555500000000ull, &res, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "no "));
	lf_image_release(&img);
	lf_user_patch_free(p);
}

/* ---- thread-local references (seeds built from tests/user/patches/tls-*.c) ---- */

static unsigned tls_calls, tls_need;

static int resolve_tls_fixed(void *ud, const char *name, unsigned need, struct lf_tls_ref *ret,
			     char *msg, size_t size)
{
	tls_calls++;
	tls_need |= need;
	*ret = (struct lf_tls_ref){ .modid = 3, .dtpoff = !strcmp(name, "tls_writes") ? 8 : 0,
				    .tpoff = !strcmp(name, "tls_writes") ? -0x38 : -0x40 };
	return 0;
}

static int link_seed(const char *name, struct lf_user_patch **p, struct lf_image *img,
		     bool with_tls, char *msg, size_t size)
{
	char *path = seed_path(name);
	struct lf_link_sym res = { .resolve = resolve_far, .ud = &(struct seen_names){ .n = 0 } };

	if (with_tls)
		res.resolve_tls = resolve_tls_fixed;
	assert_non_null(path);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(lf_user_patch_load(path, p, msg, size), 0);
	free(path);
	assert_int_equal(lf_link_layout(*p, img, msg, size), 0);
	tls_calls = tls_need = 0;
	return lf_link_apply(*p, img, 0x555500000000ull, &res, msg, size);
}

static uint64_t tls_word(const struct lf_image *img, unsigned i)
{
	uint64_t v;

	memcpy(&v, img->data + img->tls_off + 8ull * i, 8);
	return v;
}

static void test_link_tls(void **state)
{
	struct lf_user_patch *p;
	struct lf_image img;
	char msg[256] = "";

	/* global-dynamic: one {module, offset} pair per variable, in the read-only part */
	assert_int_equal(link_seed("tls-gd.o", &p, &img, true, msg, sizeof(msg)), 0);
	assert_int_equal(img.ntls, 4);
	assert_true(img.tls_off + 32 <= img.ro_end && tls_need == LF_TLS_NEED_MODID);
	assert_true(tls_word(&img, 0) == 3 && tls_word(&img, 2) == 3);
	assert_true(tls_word(&img, 1) + tls_word(&img, 3) == 8);	/* offsets 0 and 8 */
	lf_image_release(&img);
	lf_user_patch_free(p);
	/* initial-exec: one slot per variable with its thread pointer offset */
	assert_int_equal(link_seed("tls-ie.o", &p, &img, true, msg, sizeof(msg)), 0);
	assert_int_equal(img.ntls, 2);
	assert_true(tls_need == LF_TLS_NEED_TPOFF);
	assert_true((int64_t)(tls_word(&img, 0) + tls_word(&img, 1)) == -0x78);
	lf_image_release(&img);
	lf_user_patch_free(p);
	/* local-exec: the offsets are in the code itself, no slot */
	assert_int_equal(link_seed("tls-le.o", &p, &img, true, msg, sizeof(msg)), 0);
	assert_int_equal(img.ntls, 0);
	bool found = false;
	for (uint64_t o = img.ro_end; o + 4 <= img.stub_off; o++)
		found |= (int32_t)get32(img.data + o) == -0x40;
	assert_true(found && tls_calls >= 2);
	lf_image_release(&img);
	lf_user_patch_free(p);
	/* local-dynamic: one {module, 0} pair for the whole object */
	assert_int_equal(link_seed("tls-ld.o", &p, &img, true, msg, sizeof(msg)), 0);
	assert_int_equal(img.ntls, 2);
	assert_true(tls_word(&img, 0) == 3 && tls_word(&img, 1) == 0);
	lf_image_release(&img);
	lf_user_patch_free(p);
	/* TLS descriptors: refused with the type; no resolver: refused */
	assert_int_equal(link_seed("tls-desc.o", &p, &img, true, msg, sizeof(msg)), -ENOEXEC);
	assert_non_null(strstr(msg, "TLS relocation type"));
	lf_image_release(&img);
	lf_user_patch_free(p);
	assert_int_equal(link_seed("tls-gd.o", &p, &img, false, msg, sizeof(msg)), -ENOEXEC);
	assert_non_null(strstr(msg, "cannot be bound"));
	lf_image_release(&img);
	lf_user_patch_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reloc_pc32),
		cmocka_unit_test(test_link_tls),
		cmocka_unit_test(test_reloc_abs),
		cmocka_unit_test(test_reloc_got),
		cmocka_unit_test(test_reloc_unsupported),
		cmocka_unit_test(test_branch_and_stub),
		cmocka_unit_test(test_symref),
		cmocka_unit_test(test_meta_ok),
		cmocka_unit_test(test_meta_refused),
		cmocka_unit_test(test_meta_bounds),
		cmocka_unit_test(test_link_real_object),
		cmocka_unit_test(test_link_unresolved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
