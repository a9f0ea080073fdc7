/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmod.h"

/* .modinfo of real modules is a few KiB; anything larger is not a module. */
#define MODINFO_MAX (64u << 10)

uint16_t lf_kmod_host_machine(void)
{
#if defined(__x86_64__)
	return EM_X86_64;
#elif defined(__aarch64__)
	return EM_AARCH64;
#elif defined(__arm__)
	return EM_ARM;
#else
#error "unsupported architecture"
#endif
}

const char *lf_kmod_machine_name(uint16_t machine)
{
	switch (machine) {
	case EM_X86_64: return "x86_64";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "arm";
	case EM_386: return "i386";
	case EM_RISCV: return "riscv";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390";
	default: return "unknown";
	}
}

static void copy_value(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* .modinfo is a sequence of NUL-terminated "key=value" strings. */
static void parse_modinfo(const char *p, size_t size, struct lf_kmod_info *info)
{
	const char *end = p + size;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
		const char *eq = memchr(p, '=', len);

		if (eq) {
			size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
			const char *v = eq + 1;

			if (klen == 4 && !memcmp(p, "name", 4))
				copy_value(info->name, sizeof(info->name), v, vlen);
			else if (klen == 8 && !memcmp(p, "vermagic", 8))
				copy_value(info->vermagic, sizeof(info->vermagic), v, vlen);
			else if (klen == 9 && !memcmp(p, "livepatch", 9))
				info->livepatch = vlen == 1 && v[0] == 'Y';
			else if (klen == 13 && !memcmp(p, "livefix_level", 13) && vlen > 0 && vlen < 8) {
				char num[8];
				char *e;
				long level;

				copy_value(num, sizeof(num), v, vlen);
				level = strtol(num, &e, 10);
				if (*e == '\0' && level >= 0)
					info->level = (int)level;
			}
		}
		p += len + 1;
	}
	copy_value(info->release, sizeof(info->release), info->vermagic,
		   strcspn(info->vermagic, " "));
}

static int read_modinfo(Elf *elf, off_t file_size, struct lf_kmod_info *info,
			char *reason, size_t rsize)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0) {
		snprintf(reason, rsize, "malformed ELF: %s", elf_errmsg(-1));
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh))
			break;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".modinfo") != 0)
			continue;
		if (sh.sh_type != SHT_PROGBITS || sh.sh_size > MODINFO_MAX ||
		    sh.sh_offset > (uint64_t)file_size || sh.sh_size > (uint64_t)file_size - sh.sh_offset) {
			snprintf(reason, rsize, "truncated or malformed .modinfo section");
			return -ENOEXEC;
		}
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf) {
			snprintf(reason, rsize, "unreadable .modinfo: %s", elf_errmsg(-1));
			return -ENOEXEC;
		}
		parse_modinfo(data->d_buf, data->d_size, info);
		return 0;
	}
	snprintf(reason, rsize, "no .modinfo section: not a kernel module");
	return -ENOEXEC;
}

/* Every section must lie inside the file: a truncated module fails here. */
static int check_sections_in_file(Elf *elf, off_t file_size, char *reason, size_t rsize)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh)) {
			snprintf(reason, rsize, "malformed section header: %s", elf_errmsg(-1));
			return -ENOEXEC;
		}
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_offset > (uint64_t)file_size || sh.sh_size > (uint64_t)file_size - sh.sh_offset) {
			snprintf(reason, rsize, "truncated: section data ends past the end of the file");
			return -ENOEXEC;
		}
	}
	return 0;
}

int lf_kmod_inspect(const char *path, struct lf_kmod_info *ret, char *reason, size_t rsize)
{
	struct lf_kmod_info info = { .level = -1 };
	struct stat st;
	GElf_Ehdr eh;
	Elf *elf = NULL;
	int fd, r;

	snprintf(reason, rsize, "unknown error");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(reason, rsize, "%s", strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(reason, rsize, "not a regular file");
		r = -ENOEXEC;
		goto out;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		snprintf(reason, rsize, "not an ELF file");
		r = -ENOEXEC;
		goto out;
	}
	if (eh.e_type != ET_REL) {
		snprintf(reason, rsize, "not a kernel module: ELF type %u, expected relocatable",
			 (unsigned)eh.e_type);
		r = -ENOEXEC;
		goto out;
	}
	info.machine = eh.e_machine;
	r = check_sections_in_file(elf, st.st_size, reason, rsize);
	if (r == 0)
		r = read_modinfo(elf, st.st_size, &info, reason, rsize);
	if (r == 0 && info.name[0] == '\0') {
		snprintf(reason, rsize, "no module name in .modinfo");
		r = -ENOEXEC;
	}
	if (r == 0)
		*ret = info;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return r;
}

int lf_kmod_check(const struct lf_kmod_info *info, const char *release, char *reason, size_t rsize)
{
	uint16_t host = lf_kmod_host_machine();

	if (info->machine != host) {
		snprintf(reason, rsize, "built for %s, this machine is %s",
			 lf_kmod_machine_name(info->machine), lf_kmod_machine_name(host));
		return -ENOEXEC;
	}
	if (!info->livepatch) {
		snprintf(reason, rsize, "not a livepatch module (modinfo has no livepatch=Y)");
		return -ENOEXEC;
	}
	if (strcmp(info->release, release) != 0) {
		snprintf(reason, rsize, "built for kernel %s, running kernel is %s",
			 info->release[0] ? info->release : "(no vermagic)", release);
		return -EMEDIUMTYPE;
	}
	return 0;
}
