/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "livefix/identity.h"

static size_t note(uint8_t *out, uint32_t type, const char *name, const uint8_t *desc, uint32_t dsz)
{
	uint32_t nsz = (uint32_t)strlen(name) + 1, h[3] = { nsz, dsz, type };
	size_t off = 12;

	memcpy(out, h, 12);
	memcpy(out + off, name, nsz);
	off += (nsz + 3) & ~3u;
	memcpy(out + off, desc, dsz);
	return off + ((dsz + 3) & ~3u);
}

static void test_notes(void **state)
{
	static const uint8_t id[20] = { 0x3f, 0xa9, 1, 2, 3 };
	uint8_t buf[256] = { 0 };
	char hex[LF_BUILD_ID_MAX + 1];
	size_t n;

	/* Another note first (Xen), then the GNU build-id. */
	n = note(buf, 1, "Xen", (const uint8_t *)"abcd", 4);
	n += note(buf + n, 3, "GNU", id, sizeof(id));
	assert_int_equal(lf_identity_notes_build_id(buf, n, hex), 0);
	assert_string_equal(hex, "3fa9010203000000000000000000000000000000");
	assert_int_equal(lf_identity_notes_build_id(buf, 34, hex), -EBADMSG); /* cut in a name */
	n = note(buf, 1, "Xen", (const uint8_t *)"abcd", 4);
	assert_int_equal(lf_identity_notes_build_id(buf, n, hex), -ENOENT);
	/* A descsz pointing past the end. */
	((uint32_t *)buf)[1] = 0xfffffff0;
	assert_int_equal(lf_identity_notes_build_id(buf, n, hex), -EBADMSG);
}

static struct lf_identity kid(const char *arch, const char *rel, const char *bid, const char *pv)
{
	struct lf_identity id = { .kind = LF_KIND_KERNEL };

	strcpy(id.arch, arch);
	strcpy(id.release, rel);
	strcpy(id.build_id, bid);
	strcpy(id.proc_version_sha1, pv);
	return id;
}

#define PV1 "1111111111111111111111111111111111111111"
#define PV2 "2222222222222222222222222222222222222222"

static void test_match(void **state)
{
	struct lf_identity sys = kid("x86_64", "6.1", "aabbccdd", PV1);
	struct lf_identity want;
	struct lf_why why;

	want = kid("x86_64", "6.1", "aabbccdd", "");
	assert_int_equal(lf_identity_match(&want, &sys, &why), 0);
	want = kid("aarch64", "6.1", "aabbccdd", "");
	assert_int_equal(lf_identity_match(&want, &sys, &why), -EMEDIUMTYPE);
	assert_non_null(strstr(why.msg, "arch"));
	want = kid("x86_64", "6.2", "aabbccdd", "");
	assert_int_equal(lf_identity_match(&want, &sys, &why), -EMEDIUMTYPE);
	want = kid("x86_64", "6.1", "aabbccde", PV1);
	/* The build-id decides when both have one, even if /proc/version agrees. */
	assert_int_equal(lf_identity_match(&want, &sys, &why), -EMEDIUMTYPE);
	sys.build_id[0] = '\0';
	want = kid("x86_64", "6.1", "aabbccdd", PV1);
	assert_int_equal(lf_identity_match(&want, &sys, &why), 0);
	want = kid("x86_64", "6.1", "aabbccdd", PV2);
	assert_int_equal(lf_identity_match(&want, &sys, &why), -EMEDIUMTYPE);
	want = kid("x86_64", "6.1", "aabbccdd", "");
	assert_int_equal(lf_identity_match(&want, &sys, &why), -EMEDIUMTYPE);
	want.kind = LF_KIND_USER;
	assert_int_equal(lf_identity_match(&want, &sys, &why), -EMEDIUMTYPE);
}

static void test_match_user(void **state)
{
	struct lf_identity want = { .kind = LF_KIND_USER, .arch = "x86_64", .build_id = "aabbccdd" };
	struct lf_identity have = want;
	struct lf_why why;

	assert_int_equal(lf_identity_match(&want, &have, &why), 0);
	strcpy(have.build_id, "aabbccde");
	assert_int_equal(lf_identity_match(&want, &have, &why), -EMEDIUMTYPE);
	assert_non_null(strstr(why.msg, "bundle is for build-id aabbccdd"));
	strcpy(have.build_id, "aabbccdd");
	strcpy(have.arch, "aarch64");
	assert_int_equal(lf_identity_match(&want, &have, &why), -EMEDIUMTYPE);
}

static void test_check(void **state)
{
	struct lf_identity id = kid("x86_64", "6.1", "AABB", "");

	assert_int_equal(lf_identity_check(&id, NULL), -EBADMSG);
	id = kid("x86_64", "", "aabbccdd", "");
	assert_int_equal(lf_identity_check(&id, NULL), -EBADMSG);
	id = kid("x86_64", "6.1", "", "");
	assert_int_equal(lf_identity_check(&id, NULL), -EBADMSG);
	id = kid("x86 64", "6.1", "aabbccdd", "");
	assert_int_equal(lf_identity_check(&id, NULL), -EBADMSG);
	id = kid("x86_64", "6.1", "aabbccdd", "");
	id.kind = LF_KIND_USER;
	assert_int_equal(lf_identity_check(&id, NULL), -EBADMSG); /* release is kernel-only */
}

static void put(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", dir, rel);
	assert_int_equal(lf_write_file_atomic(path, data, len, 0644), 0);
}

static void test_kernel_from_sysroot(void **state)
{
	static const uint8_t id[4] = { 0xde, 0xad, 0xbe, 0xef };
	char dir[] = "/tmp/lf-test-id.XXXXXX", sub[512], pv[41], cmd[600];
	const char *version = "Linux version 6.1.0-56-amd64 (x) #1\n";
	uint8_t notes[64] = { 0 };
	struct lf_identity sys;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/proc/sys/kernel", dir);
	assert_int_equal(lf_mkdir_p(sub, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/sys/kernel", dir);
	assert_int_equal(lf_mkdir_p(sub, 0755), 0);
	put(dir, "/proc/sys/kernel/arch", "armv7l\n", 7);
	put(dir, "/proc/sys/kernel/osrelease", "6.1.0-56-amd64\n", 15);
	put(dir, "/proc/version", version, strlen(version));
	assert_int_equal(lf_identity_kernel(dir, &sys), 0);
	assert_string_equal(sys.arch, "arm");
	assert_string_equal(sys.release, "6.1.0-56-amd64");
	assert_string_equal(sys.build_id, "");
	lf_sha1_hex(version, strlen(version), pv);
	assert_string_equal(sys.proc_version_sha1, pv);
	n = note(notes, 3, "GNU", id, 4);
	put(dir, "/sys/kernel/notes", notes, n);
	assert_int_equal(lf_identity_kernel(dir, &sys), 0);
	assert_string_equal(sys.build_id, "deadbeef");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_elf(void **state)
{
	struct lf_identity id;

	/* The test program itself: built with a GNU build-id by default. */
	assert_int_equal(lf_identity_elf("/proc/self/exe", LF_KIND_USER, &id), 0);
	assert_string_equal(id.arch, "x86_64");
	assert_true(strlen(id.build_id) >= 16);
	assert_int_equal(lf_identity_elf("/proc/self/cmdline", LF_KIND_USER, &id), -ENOEXEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notes),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_user),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_kernel_from_sysroot),
		cmocka_unit_test(test_elf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
