/* SPDX-License-Identifier: Apache-2.0 */
/* Target identities: what a bundle is for, and what this system is. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/identity.h"

#define NOTES_MAX (64u << 10)
#define PROC_VERSION_MAX 4096

const char *lf_kind_name(enum lf_kind kind)
{
	return kind == LF_KIND_KERNEL ? "kernel" : kind == LF_KIND_USER ? "user" : "?";
}

int lf_kind_from_name(const char *name)
{
	if (strcmp(name, "kernel") == 0)
		return LF_KIND_KERNEL;
	if (strcmp(name, "user") == 0)
		return LF_KIND_USER;
	return -EINVAL;
}

void lf_arch_normalize(char *arch)
{
	if (strncmp(arch, "armv", 4) == 0)
		strcpy(arch, "arm");
	else if (strcmp(arch, "arm64") == 0)
		strcpy(arch, "aarch64");
	else if (strcmp(arch, "amd64") == 0)
		strcpy(arch, "x86_64");
}

static bool is_token(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max || n % 2)
		return false;
	return strspn(s, "0123456789abcdef") == n;
}

static int copy_opt(const struct lf_jv *v, const char *key, char *dst, size_t max)
{
	const char *s;
	int r;

	if (!lf_jv_get(v, key)) {
		dst[0] = '\0';
		return 0;
	}
	r = lf_jv_get_str(v, key, max, &s);
	if (r < 0)
		return r;
	strcpy(dst, s);
	return 0;
}

int lf_identity_check(const struct lf_identity *id, struct lf_why *why)
{
	if (!id->arch[0] || !is_token(id->arch))
		return lf_why_set(why, "target: arch missing or invalid"), -EBADMSG;
	if (id->build_id[0] && !is_hex(id->build_id, 8, LF_BUILD_ID_MAX))
		return lf_why_set(why, "target: build_id is not lower-case hex"), -EBADMSG;
	if (id->proc_version_sha1[0] && !is_hex(id->proc_version_sha1, 40, 40))
		return lf_why_set(why, "target: proc_version_sha1 is not 40 hex digits"), -EBADMSG;
	if (id->kind == LF_KIND_USER) {
		if (!id->build_id[0] || id->release[0] || id->proc_version_sha1[0])
			return lf_why_set(why, "target: a user bundle names arch and build_id only"),
			       -EBADMSG;
		return 0;
	}
	if (!id->release[0] || !is_token(id->release))
		return lf_why_set(why, "target: kernel release missing or invalid"), -EBADMSG;
	if (!id->build_id[0] && !id->proc_version_sha1[0])
		return lf_why_set(why, "target: kernel bundle names neither build_id nor "
				  "proc_version_sha1"), -EBADMSG;
	return 0;
}

int lf_identity_from_json(const struct lf_jv *v, enum lf_kind kind, struct lf_identity *ret)
{
	static const char *const keys[] = { "arch", "build_id", "proc_version_sha1", "release",
					    NULL };
	struct lf_identity id = { .kind = kind };

	if (lf_jv_check_keys(v, keys) < 0 ||
	    copy_opt(v, "arch", id.arch, LF_ARCH_MAX) < 0 ||
	    copy_opt(v, "release", id.release, LF_RELEASE_MAX) < 0 ||
	    copy_opt(v, "build_id", id.build_id, LF_BUILD_ID_MAX) < 0 ||
	    copy_opt(v, "proc_version_sha1", id.proc_version_sha1, 40) < 0)
		return -EBADMSG;
	if (lf_identity_check(&id, NULL) < 0)
		return -EBADMSG;
	*ret = id;
	return 0;
}

void lf_identity_to_json(const struct lf_identity *id, struct lf_json *j)
{
	lf_json_object_begin(j);
	lf_json_kv_string(j, "arch", id->arch);
	if (id->build_id[0])
		lf_json_kv_string(j, "build_id", id->build_id);
	if (id->proc_version_sha1[0])
		lf_json_kv_string(j, "proc_version_sha1", id->proc_version_sha1);
	if (id->release[0])
		lf_json_kv_string(j, "release", id->release);
	lf_json_object_end(j);
}

int lf_identity_match(const struct lf_identity *want, const struct lf_identity *have,
		      struct lf_why *why)
{
	if (want->kind != have->kind)
		return lf_why_set(why, "bundle is a %s patch, this is a %s target",
				  lf_kind_name(want->kind), lf_kind_name(have->kind)), -EMEDIUMTYPE;
	if (strcmp(want->arch, have->arch) != 0)
		return lf_why_set(why, "arch %s: bundle is for arch %s", have->arch, want->arch),
		       -EMEDIUMTYPE;
	if (want->kind == LF_KIND_KERNEL && strcmp(want->release, have->release) != 0)
		return lf_why_set(why, "kernel release %s: bundle is for release %s",
				  have->release, want->release), -EMEDIUMTYPE;
	/* The build-id is the strong identity; /proc/version the fallback
	 * for kernels without notes. Some identity must be compared. */
	if (want->build_id[0] && have->build_id[0]) {
		if (strcmp(want->build_id, have->build_id) != 0)
			return lf_why_set(why, "build-id %.16s…: bundle is for build-id %.16s…",
					  have->build_id, want->build_id), -EMEDIUMTYPE;
		return 0;
	}
	if (want->proc_version_sha1[0] && have->proc_version_sha1[0]) {
		if (strcmp(want->proc_version_sha1, have->proc_version_sha1) != 0)
			return lf_why_set(why, "/proc/version sha1 %.16s…: bundle is for %.16s…",
					  have->proc_version_sha1, want->proc_version_sha1),
			       -EMEDIUMTYPE;
		return 0;
	}
	return lf_why_set(why, "no build-id or /proc/version hash to compare with the bundle's"),
	       -EMEDIUMTYPE;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

int lf_identity_notes_build_id(const void *notes, size_t len, char out[LF_BUILD_ID_MAX + 1])
{
	const uint8_t *p = notes;
	size_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		size_t name_off = off + 12, desc_off;

		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		if (namesz > len - name_off)
			return -EBADMSG;
		desc_off = name_off + align4(namesz);
		if (desc_off > len || descsz > len - desc_off)
			return -EBADMSG;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + name_off, "GNU", 4) == 0) {
			if (descsz < 4 || descsz * 2 > LF_BUILD_ID_MAX)
				return -EBADMSG;
			lf_hex(p + desc_off, descsz, out);
			return 0;
		}
		off = desc_off + align4(descsz);
		if (off > len)
			break;
	}
	return -ENOENT;
}

static int read_below(const char *sysroot, const char *path, size_t max, char **ret, size_t *len)
{
	char *full;
	int r;

	if (asprintf(&full, "%s%s", sysroot ? sysroot : "", path) < 0)
		return -ENOMEM;
	r = lf_read_file(full, max, ret, len);
	free(full);
	return r;
}

static int read_token(const char *sysroot, const char *path, char *dst, size_t max)
{
	char *data;
	size_t len;
	int r = read_below(sysroot, path, 256, &data, &len);

	if (r < 0)
		return r;
	data[strcspn(data, "\n")] = '\0';
	if (strlen(data) > max || !data[0] || !is_token(data))
		r = -EBADMSG;
	else
		strcpy(dst, data);
	free(data);
	return r;
}

int lf_identity_kernel(const char *sysroot, struct lf_identity *ret)
{
	struct lf_identity id = { .kind = LF_KIND_KERNEL };
	char *data;
	size_t len;
	int r;

	r = read_token(sysroot, "/proc/sys/kernel/arch", id.arch, LF_ARCH_MAX);
	if (r < 0)
		return r;
	lf_arch_normalize(id.arch);
	r = read_token(sysroot, "/proc/sys/kernel/osrelease", id.release, LF_RELEASE_MAX);
	if (r < 0)
		return r;
	if (read_below(sysroot, "/sys/kernel/notes", NOTES_MAX, &data, &len) == 0) {
		if (lf_identity_notes_build_id(data, len, id.build_id) < 0)
			id.build_id[0] = '\0';
		free(data);
	}
	if (read_below(sysroot, "/proc/version", PROC_VERSION_MAX, &data, &len) == 0) {
		lf_sha1_hex(data, len, id.proc_version_sha1);
		free(data);
	}
	if (!id.build_id[0] && !id.proc_version_sha1[0])
		return -ENOENT;
	*ret = id;
	return 0;
}

static const struct {
	unsigned machine;
	const char *arch;
} elf_arches[] = {
	{ EM_X86_64, "x86_64" },
	{ EM_AARCH64, "aarch64" },
	{ EM_ARM, "arm" },
	{ EM_386, "i386" },
	{ EM_PPC64, "ppc64le" },
	{ EM_S390, "s390x" },
	{ EM_RISCV, "riscv64" },
};

static int elf_build_id(Elf *elf, char *out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_buf && lf_identity_notes_build_id(d->d_buf, d->d_size, out) == 0)
			return 0;
	}
	return -ENOENT;
}

int lf_identity_elf(const char *path, enum lf_kind kind, struct lf_identity *ret)
{
	struct lf_identity id = { .kind = kind };
	GElf_Ehdr eh;
	Elf *elf = NULL;
	int fd, r = -ENOEXEC;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EIO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		goto out;
	for (size_t i = 0; i < sizeof(elf_arches) / sizeof(elf_arches[0]); i++)
		if (elf_arches[i].machine == eh.e_machine)
			strcpy(id.arch, elf_arches[i].arch);
	if (!id.arch[0])
		goto out;
	r = elf_build_id(elf, id.build_id);
	if (r == 0)
		*ret = id;
out:
	elf_end(elf);
	close(fd);
	return r;
}

bool lf_identity_equal(const struct lf_identity *a, const struct lf_identity *b)
{
	return a->kind == b->kind && !strcmp(a->arch, b->arch) && !strcmp(a->release, b->release) &&
	       !strcmp(a->build_id, b->build_id) &&
	       !strcmp(a->proc_version_sha1, b->proc_version_sha1);
}
