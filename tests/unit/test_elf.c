/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ELF reader and writer, on objects gcc compiled for the differ's tests
 * (tests/diff/cases) and on objects the writer produced.
 */
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

#include "diff_objs.h"
#include "livefix/elf.h"
#include "livefix/file.h"

static const struct lf_elf_symbol *sym_named(const struct lf_elf *e, const char *name)
{
	for (size_t i = 1; i < e->nsyms; i++)
		if (!strcmp(e->syms[i].name, name))
			return &e->syms[i];
	return NULL;
}

/* The first relocation of section `sec` whose symbol (or its section) is named `to`. */
static const struct lf_elf_rela *rela_to(const struct lf_elf *e, const char *sec, const char *to)
{
	const struct lf_elf_section *s = lf_elf_section_by_name(e, sec);
	const struct lf_elf_rela *r;
	size_t n;

	assert_non_null(s);
	lf_elf_section_relas(e, s, &r, &n);
	for (size_t i = 0; i < n; i++) {
		const struct lf_elf_symbol *t = &e->syms[r[i].sym];

		if (!strcmp(t->name, to))
			return &r[i];
	}
	return NULL;
}

static struct lf_elf *open_case(const char *arch, const char *name, const char *side)
{
	char path[4096];
	struct lf_elf *e = NULL;

	case_path(path, sizeof(path), arch, "user", name, side);
	assert_int_equal(lf_elf_open(path, &e), 0);
	return e;
}

static void test_read_x86_64_object(void **state)
{
	struct lf_elf *e = open_case("x86_64", "oneline", "orig");
	const struct lf_elf_symbol *f = sym_named(e, "add_tax");
	const struct lf_elf_rela *call;
	struct lf_elf_reloc_info info;

	assert_int_equal(e->machine, EM_X86_64);
	assert_int_equal(e->type, ET_REL);
	assert_non_null(f);
	assert_int_equal(f->type, STT_FUNC);
	assert_int_equal(f->bind, STB_GLOBAL);
	assert_string_equal(e->secs[f->shndx].name, ".text.add_tax");
	assert_true(e->secs[f->shndx].flags & SHF_EXECINSTR);
	assert_non_null(e->secs[f->shndx].data);
	/* total() calls add_tax(): a PLT32 relocation 4 bytes before the next instruction. */
	call = rela_to(e, ".text.total", "add_tax");
	assert_non_null(call);
	assert_int_equal(call->type, R_X86_64_PLT32);
	assert_int_equal(call->addend, -4);
	assert_int_equal(lf_elf_reloc_info(e->machine, call->type, &info), 0);
	assert_int_equal(info.size, 4);
	assert_int_equal(info.bias, 4);
	assert_null(lf_elf_section_by_name(e, ".text.nonexistent"));
	lf_elf_free(e);
}

static void test_read_aarch64_object(void **state)
{
	struct lf_elf *e;
	const struct lf_elf_rela *call;
	struct lf_elf_reloc_info info;

	if (!arch_built("aarch64"))
		skip();
	e = open_case("aarch64", "oneline", "orig");
	assert_int_equal(e->machine, EM_AARCH64);
	call = rela_to(e, ".text.total", "add_tax");
	assert_non_null(call);
	assert_true(call->type == R_AARCH64_CALL26 || call->type == R_AARCH64_JUMP26);
	assert_int_equal(lf_elf_reloc_info(e->machine, call->type, &info), 0);
	assert_int_equal(info.size, 4);
	assert_int_equal(info.mask, 0x03ffffff);
	/* The encoded BL opcode sits outside the relocated field. */
	assert_int_equal(e->secs[lf_elf_section_by_name(e, ".text.total")->index].data[call->offset + 3] & 0xfc,
			 call->type == R_AARCH64_CALL26 ? 0x94 : 0x14);
	lf_elf_free(e);
}

static void test_unknown_reloc_type(void **state)
{
	struct lf_elf_reloc_info info;

	assert_int_equal(lf_elf_reloc_info(EM_X86_64, 9999, &info), -EOPNOTSUPP);
	assert_int_equal(lf_elf_reloc_info(EM_RISCV, 1, &info), -EOPNOTSUPP);
}

static void test_reject_garbage(void **state)
{
	static const char junk[] = "\x7f" "ELF this is not an object at all";
	struct lf_elf *e = NULL;

	assert_int_equal(lf_elf_open_mem(junk, sizeof(junk), &e), -ENOEXEC);
	assert_int_equal(lf_elf_open_mem("", 0, &e), -ENOEXEC);
	assert_null(e);
	assert_int_equal(lf_elf_open("/nonexistent/livefix.o", &e), -ENOENT);
}

static char *read_case(const char *name, size_t *len)
{
	char path[4096], *data = NULL;

	case_path(path, sizeof(path), "x86_64", "user", name, "orig");
	assert_int_equal(lf_read_file(path, 1 << 20, &data, len), 0);
	return data;
}

static void test_reject_truncated(void **state)
{
	size_t len;
	char *data = read_case("strings", &len);
	struct lf_elf *e = NULL;

	/* Every prefix cut inside the section headers must fail, not crash. */
	for (size_t cut = 1; cut < len; cut += 7)
		if (lf_elf_open_mem(data, cut, &e) == 0)
			lf_elf_free(e);
	assert_int_equal(lf_elf_open_mem(data, len / 2, &e), -ENOEXEC);
	free(data);
}

/* File offset of the first SHT_RELA section, read from the raw headers. */
static size_t first_rela_offset(const char *data, size_t len)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh;

	memcpy(&eh, data, sizeof(eh));
	for (size_t i = 1; i < eh.e_shnum; i++) {
		assert_true(eh.e_shoff + (i + 1) * sizeof(sh) <= len);
		memcpy(&sh, data + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type == SHT_RELA)
			return sh.sh_offset;
	}
	fail();
	return 0;
}

static void test_reject_bad_symbol_index(void **state)
{
	size_t len;
	char *data = read_case("oneline", &len);
	size_t off = first_rela_offset(data, len);
	uint64_t info = ((uint64_t)0xfffff << 32) | R_X86_64_PC32;
	struct lf_elf *e = NULL;

	assert_int_equal(lf_elf_open_mem(data, len, &e), 0);
	lf_elf_free(e);
	/* r_info of the first entry: a symbol index far past the symbol table. */
	memcpy(data + off + 8, &info, 8);
	assert_int_equal(lf_elf_open_mem(data, len, &e), -ENOEXEC);
	free(data);
}

static void test_write_and_read_back(void **state)
{
	static const uint8_t id[20] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t code[] = { 0xe8, 0, 0, 0, 0, 0xc3 }; /* call helper; ret */
	uint8_t note[12 + 4 + 20], got[32];
	char path[] = "/tmp/livefix-test-elf-XXXXXX", hex[41], cmd[4200], line[256];
	struct lf_elf_out *o;
	struct lf_elf *e;
	int fd, text, fn, helper, local;
	bool seen = false;
	FILE *p;

	memcpy(note, &(uint32_t){ 4 }, 4);
	memcpy(note + 4, &(uint32_t){ 20 }, 4);
	memcpy(note + 8, &(uint32_t){ NT_GNU_BUILD_ID }, 4);
	memcpy(note + 12, "GNU", 4);
	memcpy(note + 16, id, 20);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lf_elf_out_new(EM_X86_64, ELFCLASS64, &o), 0);
	text = lf_elf_out_add_section(o, ".text.fn", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, 0, code, sizeof(code));
	assert_true(text > 0);
	assert_true(lf_elf_out_add_section(o, ".note.gnu.build-id", SHT_NOTE, SHF_ALLOC, 4, 0, note, sizeof(note)) > 0);
	/* A global added before a local: the writer must put the local first. */
	fn = lf_elf_out_add_symbol(o, "fn", STT_FUNC, STB_GLOBAL, STV_DEFAULT, (uint32_t)text, 0, sizeof(code));
	helper = lf_elf_out_add_symbol(o, "helper", STT_FUNC, STB_GLOBAL, STV_DEFAULT, 0, 0, 0);
	local = lf_elf_out_add_symbol(o, "fn_local", STT_FUNC, STB_LOCAL, STV_DEFAULT, (uint32_t)text, 0, 1);
	assert_true(fn >= 0 && helper >= 0 && local >= 0);
	assert_int_equal(lf_elf_out_add_rela(o, (uint32_t)text, 1, R_X86_64_PLT32, helper, -4), 0);
	assert_int_equal(lf_elf_out_add_rela(o, (uint32_t)text, 99, R_X86_64_PLT32, helper, -4), -EINVAL);
	assert_int_equal(lf_elf_out_write(o, path), 0);
	lf_elf_out_free(o);

	assert_int_equal(lf_elf_open(path, &e), 0);
	assert_int_equal(e->type, ET_REL);
	assert_int_equal(lf_elf_build_id(e, got, sizeof(got)), 20);
	assert_memory_equal(got, id, 20);
	assert_int_equal(lf_elf_build_id(e, got, 8), -EOVERFLOW);
	assert_int_equal(e->syms[1].bind, STB_LOCAL);
	assert_non_null(rela_to(e, ".text.fn", "helper"));
	assert_false(lf_elf_symbol_is_defined(&e->syms[rela_to(e, ".text.fn", "helper")->sym]));
	lf_elf_free(e);

	/* binutils agree: readelf finds the build-id and no problem. */
	lf_elf_build_id_hex(id, 20, hex);
	snprintf(cmd, sizeof(cmd), "readelf -aW -n %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		assert_null(strstr(line, "Warning"));
		assert_null(strstr(line, "Error"));
		seen |= strstr(line, hex) != NULL;
	}
	assert_int_equal(pclose(p), 0);
	assert_true(seen);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_x86_64_object),
		cmocka_unit_test(test_read_aarch64_object),
		cmocka_unit_test(test_unknown_reloc_type),
		cmocka_unit_test(test_reject_garbage),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_bad_symbol_index),
		cmocka_unit_test(test_write_and_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
