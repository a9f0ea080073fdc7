/* SPDX-License-Identifier: Apache-2.0 */
/*
 * klp_convert_module() on a relocatable object: the non-exported references
 * become livepatch symbols and klp relocation sections, the rest stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/file.h"
#include "klp_convert.h"

static const char *sample;

struct seen {
	int klp_secs, klp_relas, rela_relas, helper_relas;
	uint64_t klp_flags;
	char klp_name[128];
	char klp_names[256];             /* every .klp.rela section, space-separated */
	int isofs_helper_relas;
	unsigned helper_shndx, var_shndx, exported_shndx;
	bool plain_helper;
};

static void count_relas(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, const char *name,
			Elf_Data *sym, Elf_Data *str, struct seen *s)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_size / sizeof(Elf64_Rela);
	GElf_Rela r;
	GElf_Sym y;

	(void)e;
	for (size_t i = 0; i < n; i++) {
		assert_non_null(gelf_getrela(d, (int)i, &r));
		assert_non_null(gelf_getsym(sym, (int)GELF_R_SYM(r.r_info), &y));
		const char *yn = (const char *)str->d_buf + y.st_name;
		if (!strncmp(name, ".klp.rela.", 10)) {
			s->klp_relas++;
			assert_int_equal(y.st_shndx, 0xff20); /* every klp rela: a livepatch symbol */
			if (!strcmp(yn, ".klp.sym.vmlinux.hidden_helper,2"))
				s->helper_relas++;
			if (!strcmp(yn, ".klp.sym.isofs.hidden_helper,2") &&
			    !strncmp(name, ".klp.rela.isofs.", 16))
				s->isofs_helper_relas++;
		} else {
			s->rela_relas++;
			assert_int_not_equal(y.st_shndx, 0xff20);
		}
	}
}

static void inspect(const char *path, struct seen *s)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;
	Elf_Scn *scn = NULL, *symscn = NULL;
	Elf_Data *sym, *str;
	GElf_Shdr sh;
	size_t shstr, nsyms;
	GElf_Sym y;

	assert_true(fd >= 0);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	assert_int_equal(elf_getshdrstrndx(e, &shstr), 0);
	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			symscn = scn;
	assert_non_null(symscn);
	gelf_getshdr(symscn, &sh);
	sym = elf_getdata(symscn, NULL);
	str = elf_getdata(elf_getscn(e, sh.sh_link), NULL);
	nsyms = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < nsyms; i++) {
		assert_non_null(gelf_getsym(sym, (int)i, &y));
		const char *n = (const char *)str->d_buf + y.st_name;
		if (!strcmp(n, ".klp.sym.vmlinux.hidden_helper,2") ||
		    !strcmp(n, ".klp.sym.isofs.hidden_helper,2"))
			s->helper_shndx = y.st_shndx;
		else if (!strcmp(n, ".klp.sym.vmlinux.hidden_var,0"))
			s->var_shndx = y.st_shndx;
		else if (!strcmp(n, "exported_fn"))
			s->exported_shndx = y.st_shndx + 1; /* SHN_UNDEF -> 1 */
		if (!strcmp(n, "hidden_helper"))
			s->plain_helper = true;
	}
	scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;

		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_RELA)
			continue;
		name = elf_strptr(e, shstr, sh.sh_name);
		assert_non_null(name);
		if (!strncmp(name, ".klp.rela.", 10)) {
			s->klp_secs++;
			s->klp_flags = sh.sh_flags;
			snprintf(s->klp_name, sizeof(s->klp_name), "%s", name);
			snprintf(s->klp_names + strlen(s->klp_names),
				 sizeof(s->klp_names) - strlen(s->klp_names), "%s ", name);
			GElf_Shdr t;
			gelf_getshdr(elf_getscn(e, sh.sh_info), &t);
			/* .klp.rela.<object>.<the section it relocates> */
			assert_string_equal(strchr(name + strlen(".klp.rela."), '.') + 1,
					    elf_strptr(e, shstr, t.sh_name));
		}
		count_relas(e, scn, &sh, name, sym, str, s);
	}
	elf_end(e);
	close(fd);
}

static void test_convert(void **state)
{
	char path[] = "/tmp/lf-klp-convert.XXXXXX";
	struct klp_target t[] = { { "hidden_helper", 2, "" }, { "hidden_var", 0, "vmlinux" },
				  { "not_used", 0, "" } };
	struct seen before = { 0 }, after = { 0 };
	char *data;
	size_t len, moved;
	int fd;

	(void)state;
	assert_int_equal(elf_version(EV_CURRENT) != EV_NONE, 1);
	assert_int_equal(lf_read_file(sample, 1u << 20, &data, &len), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lf_write_file_atomic(path, data, len, 0644), 0);
	free(data);
	inspect(path, &before);
	assert_int_equal(before.klp_secs, 0);
	assert_true(before.plain_helper);

	assert_int_equal(klp_convert_module(path, t, 3, &moved), 0);
	inspect(path, &after);
	unlink(path);
	/* two calls of hidden_helper, one load of hidden_var */
	assert_int_equal(moved, 3);
	assert_int_equal(after.klp_secs, 1);
	assert_int_equal(after.klp_relas, 3);
	assert_int_equal(after.helper_relas, 2);
	assert_string_equal(after.klp_name, ".klp.rela.vmlinux..text.livefix_patched");
	assert_int_equal(after.klp_flags, SHF_ALLOC | SHF_INFO_LINK | 0x00100000);
	assert_int_equal(after.helper_shndx, 0xff20);
	assert_int_equal(after.var_shndx, 0xff20);
	assert_false(after.plain_helper);
	assert_int_equal(after.exported_shndx, 1);  /* still undefined, for the loader */
	assert_int_equal(after.rela_relas + after.klp_relas, before.rela_relas);
}

/*
 * A patch to a module also reaching vmlinux: one klp relocation section per
 * object for the same code section, each against its object's symbols.
 */
static void test_two_objects(void **state)
{
	char path[] = "/tmp/lf-klp-convert.XXXXXX";
	struct klp_target t[] = { { "hidden_helper", 2, "isofs" }, { "hidden_var", 0, "vmlinux" } };
	struct seen after = { 0 };
	char *data;
	size_t len, moved;
	int fd;

	(void)state;
	assert_int_equal(lf_read_file(sample, 1u << 20, &data, &len), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lf_write_file_atomic(path, data, len, 0644), 0);
	free(data);
	assert_int_equal(klp_convert_module(path, t, 2, &moved), 0);
	inspect(path, &after);
	unlink(path);
	assert_int_equal(moved, 3);
	assert_int_equal(after.klp_secs, 2);
	assert_int_equal(after.isofs_helper_relas, 2);
	assert_int_equal(after.helper_relas, 0);
	assert_non_null(strstr(after.klp_names, ".klp.rela.isofs..text.livefix_patched "));
	assert_non_null(strstr(after.klp_names, ".klp.rela.vmlinux..text.livefix_patched "));
	assert_int_equal(after.helper_shndx, 0xff20);
	assert_int_equal(after.var_shndx, 0xff20);
	assert_false(after.plain_helper);
}

static void test_not_elf(void **state)
{
	char path[] = "/tmp/lf-klp-convert.XXXXXX";
	struct klp_target t[] = { { "x", 0, "" } };
	size_t moved;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
	close(fd);
	assert_int_equal(klp_convert_module(path, t, 1, &moved), -ENOEXEC);
	unlink(path);
	assert_int_equal(klp_convert_module("/nonexistent/x.ko", t, 1, &moved), -ENOENT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_two_objects),
		cmocka_unit_test(test_not_elf),
	};

	if (argc != 2)
		return 2;
	sample = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
