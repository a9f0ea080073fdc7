/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fidelity check against an image this test links itself: the object's
 * functions are placed at kernel addresses with every relocated field filled
 * (as a linker would) and the __fentry__ call turned into a 5-byte NOP (as
 * the kernel build does). That must match; any other changed byte must be
 * reported at its offset.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "livefix/kbuild.h"

#define BASE 0xffffffff81000000ull
#define IMG_OFF 0x1000
#define IMG_SIZE 0x1000
#define NFUNC 3

static const char *obj_path;
static const char *const names[NFUNC] = { "helper", "sample_add", "sample_mul" };

struct func {
	uint8_t bytes[256];
	uint8_t fixed[256];   /* 1 where the test changed the byte (relocation, fentry) */
	size_t size;
};

static struct func funcs[NFUNC];
static uint8_t image[IMG_OFF + IMG_SIZE];

static uint64_t addr_of(int k)
{
	return BASE + 0x100 * (uint64_t)(k + 1);
}

static void relocate(Elf *e, size_t sec, GElf_Sym *sym, int k, Elf_Data *syms, size_t strndx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_info != sec)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym target;
			size_t at, w, j;

			gelf_getrela(d, (int)i, &r);
			gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &target);
			if (r.r_offset < sym->st_value || r.r_offset >= sym->st_value + sym->st_size)
				continue;
			at = r.r_offset - sym->st_value;
			if (!strcmp(elf_strptr(e, strndx, target.st_name), "__fentry__")) {
				memcpy(funcs[k].bytes + at - 1, "\x0f\x1f\x44\x00\x00", 5);
				memset(funcs[k].fixed + at - 1, 1, 5);
				continue;
			}
			w = GELF_R_TYPE(r.r_info) == R_X86_64_64 ? 8 : 4;
			for (j = 0; j < w; j++) {
				funcs[k].bytes[at + j] = (uint8_t)(0x5a + j);
				funcs[k].fixed[at + j] = 1;
			}
		}
	}
}

/* Reads the object's functions and "links" them into image[]. */
static int setup(void **state)
{
	int fd = open(obj_path, O_RDONLY | O_CLOEXEC), k;
	Elf_Scn *scn = NULL;
	Elf *e;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i;

		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 1; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;

			gelf_getsym(d, (int)i, &s);
			for (k = 0; k < NFUNC; k++) {
				Elf_Data *code;

				if (strcmp(elf_strptr(e, sh.sh_link, s.st_name), names[k]))
					continue;
				code = elf_getdata(elf_getscn(e, s.st_shndx), NULL);
				assert_true(s.st_size <= sizeof(funcs[k].bytes));
				funcs[k].size = s.st_size;
				memcpy(funcs[k].bytes, (uint8_t *)code->d_buf + s.st_value, s.st_size);
				relocate(e, s.st_shndx, &s, k, d, sh.sh_link);
			}
		}
	}
	elf_end(e);
	close(fd);
	for (k = 0; k < NFUNC; k++)
		assert_true(funcs[k].size > 0);
	return 0;
}

static void write_image(const char *path)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)image;
	Elf64_Phdr *ph = (Elf64_Phdr *)(image + sizeof(*eh));
	int k, fd;

	memset(image, 0xcc, sizeof(image));
	memset(image, 0, sizeof(*eh) + sizeof(*ph));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = IMG_OFF, .p_vaddr = BASE,
			    .p_filesz = IMG_SIZE, .p_memsz = IMG_SIZE };
	for (k = 0; k < NFUNC; k++)
		memcpy(image + IMG_OFF + (addr_of(k) - BASE), funcs[k].bytes, funcs[k].size);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, image, sizeof(image)), (ssize_t)sizeof(image));
	close(fd);
}

/* _text, then the functions; extra names (a duplicate) can be added. */
static struct lf_ksyms *symbols(bool with_helper, uint64_t dup_addr)
{
	struct lf_ksym *s = calloc(8, sizeof(*s));

	assert_non_null(s);
	struct lf_ksyms *t;
	size_t n = 0;
	int k;

	s[n++] = (struct lf_ksym){ .addr = BASE, .name = "_text", .type = 'T' };
	if (dup_addr)
		s[n++] = (struct lf_ksym){ .addr = dup_addr, .name = "sample_mul", .type = 't' };
	for (k = 0; k < NFUNC; k++)
		if (k || with_helper)
			s[n++] = (struct lf_ksym){ .addr = addr_of(k), .name = names[k], .type = 'T' };
	/* The strong sample_weak of the "image" is other code (helper's bytes). */
	s[n++] = (struct lf_ksym){ .addr = addr_of(0), .name = "sample_weak", .type = 'T' };
	assert_int_equal(lf_ksyms_new(s, n, NULL, "test", &t), 0);
	return t;
}

static const struct lf_fid_func *find(const struct lf_fid_report *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->funcs[i].name, name))
			return &r->funcs[i];
	fail_msg("%s not in the report", name);
	return NULL;
}

static void check(bool with_helper, uint64_t dup, struct lf_fid_report *rep)
{
	char path[] = "/tmp/test_fidelity.XXXXXX";
	struct lf_kimage *img;
	struct lf_ksyms *syms = symbols(with_helper, dup);
	int fd = mkstemp(path);

	close(fd);
	write_image(path);
	assert_int_equal(lf_kimage_open(path, &img), 0);
	assert_int_equal(lf_fid_check_object(obj_path, "fid_sample.o", img, syms, rep), 0);
	lf_kimage_free(img);
	lf_ksyms_free(syms);
	unlink(path);
}

static void test_match(void **state)
{
	struct lf_fid_report rep = { 0 };
	const struct lf_fid_func *f;

	check(true, 0, &rep);
	assert_int_equal(rep.n_match, 3);
	assert_int_equal(rep.n_differ, 0);
	/* The weak default is overridden in the image: absent, not a difference. */
	assert_int_equal(rep.n_absent, 1);
	assert_int_equal(find(&rep, "sample_weak")->verdict, LF_FID_ABSENT);
	assert_true(find(&rep, "sample_weak")->weak);
	f = find(&rep, "sample_add");
	assert_int_equal(f->addr, addr_of(1));
	assert_true(f->masked >= 5 + 4 + 4);   /* fentry call, ext_fn call, helper call */
	lf_fid_report_release(&rep);
}

static void test_changed_byte_reported(void **state)
{
	struct lf_fid_report rep = { 0 };
	const struct lf_fid_func *f;
	size_t at;

	/* The last byte that no relocation covers (the ret). */
	for (at = funcs[2].size - 1; funcs[2].fixed[at]; at--)
		;
	funcs[2].bytes[at] ^= 0x01;
	check(true, 0, &rep);
	funcs[2].bytes[at] ^= 0x01;
	f = find(&rep, "sample_mul");
	assert_int_equal(f->verdict, LF_FID_DIFFER);
	assert_int_equal(f->n_diffs, 1);
	assert_int_equal(f->diff_at[0], at);
	assert_int_equal(rep.n_match, 2);
	lf_fid_report_release(&rep);
}

static void test_absent_and_duplicates(void **state)
{
	struct lf_fid_report rep = { 0 };
	const struct lf_fid_func *f;

	/* helper missing; a first "sample_mul" at the wrong place (bytes 0xcc). */
	check(false, BASE + 0x800, &rep);
	assert_int_equal(find(&rep, "helper")->verdict, LF_FID_ABSENT);
	f = find(&rep, "sample_mul");
	assert_int_equal(f->verdict, LF_FID_MATCH);
	assert_int_equal(f->pos, 2);
	assert_int_equal(f->addr, addr_of(2));
	lf_fid_report_release(&rep);
}

/*
 * AArch64: relocations fill only an instruction's immediate bits, so only
 * those are masked. The object is assembled by the cross assembler
 * (scripts/deps.sh installs it; skipped without it); the "image" holds the
 * same words with other immediates, as a linker would write them. A change
 * to a register or opcode bit of a relocated word must still be reported.
 */
#define A64_TEXT 0xffff800008000000ull
#define A64_F (A64_TEXT + 0x100)

static const char a64_asm[] =
	"\t.section .text.f,\"ax\",%progbits\n\t.globl f\n\t.type f,%function\n\t.p2align 2\n"
	"f:\n\tnop\n\tnop\n\tadrp x0, some_data\n\tadd x0, x0, :lo12:some_data\n"
	"\tbl other\n\tret\n\t.size f, .-f\n";

static void a64_check(const char *obj, const uint8_t *code, uint32_t flip_at, uint8_t flip,
		      struct lf_fid_report *rep)
{
	/* ADRP at 8, ADD at 12, BL at 16: immhi:immlo, imm12, imm26 given other values */
	static const uint32_t field[3] = { 0x60ffffe0, 0x003ffc00, 0x03ffffff };
	uint8_t img[0x400] = { 0 };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	char path[] = "/tmp/test_fidelity_a64.XXXXXX";
	struct lf_ksym *s = calloc(2, sizeof(*s));
	struct lf_ksyms *syms;
	struct lf_kimage *ki;
	int fd;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_AARCH64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x200, .p_vaddr = A64_TEXT,
			    .p_filesz = 0x200, .p_memsz = 0x200 };
	memcpy(img + 0x300, code, 24);
	for (int i = 0; i < 3; i++) {
		uint32_t w;

		memcpy(&w, img + 0x308 + 4 * i, 4);
		w = (w & ~field[i]) | (0xa5a5a5a5u & field[i]);
		memcpy(img + 0x308 + 4 * i, &w, 4);
	}
	img[0x300 + flip_at] ^= flip;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);
	assert_non_null(s);
	s[0] = (struct lf_ksym){ .addr = A64_TEXT, .name = "_text", .type = 'T' };
	s[1] = (struct lf_ksym){ .addr = A64_F, .name = "f", .type = 'T' };
	assert_int_equal(lf_ksyms_new(s, 2, NULL, "test", &syms), 0);
	assert_int_equal(lf_kimage_open(path, &ki), 0);
	unlink(path);
	assert_int_equal(lf_fid_check_object(obj, "a64.o", ki, syms, rep), 0);
	lf_kimage_free(ki);
	lf_ksyms_free(syms);
}

static void test_aarch64_immediates_only(void **state)
{
	char dir[] = "/tmp/test_fidelity_a64d.XXXXXX", cmd[512], obj[128], bin[128];
	struct lf_fid_report rep = { 0 };
	uint8_t code[24];
	FILE *f;

	if (system("command -v aarch64-linux-gnu-as >/dev/null 2>&1") != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(obj, sizeof(obj), "%s/a64.o", dir);
	snprintf(bin, sizeof(bin), "%s/a64.bin", dir);
	snprintf(cmd, sizeof(cmd), "aarch64-linux-gnu-as -o %s - && aarch64-linux-gnu-objcopy "
		 "-O binary --only-section=.text.f %s %s", obj, obj, bin);
	f = popen(cmd, "w");
	assert_non_null(f);
	fputs(a64_asm, f);
	assert_int_equal(pclose(f), 0);
	f = fopen(bin, "rb");
	assert_non_null(f);
	assert_int_equal(fread(code, 1, sizeof(code), f), sizeof(code));
	fclose(f);

	a64_check(obj, code, 0, 0, &rep);
	assert_int_equal(rep.n_match, 1);
	assert_int_equal(rep.funcs[0].masked, 4 + 2 + 4);  /* bytes holding immediate bits */
	lf_fid_report_release(&rep);
	/* Rd of the ADRP (bits 4:0) and its op bit (31): not relocated, reported. */
	a64_check(obj, code, 8, 0x01, &rep);
	assert_int_equal(rep.n_differ, 1);
	assert_int_equal(rep.funcs[0].diff_at[0], 8);
	lf_fid_report_release(&rep);
	a64_check(obj, code, 11, 0x80, &rep);
	assert_int_equal(rep.funcs[0].verdict, LF_FID_DIFFER);
	assert_int_equal(rep.funcs[0].diff_at[0], 11);
	lf_fid_report_release(&rep);
	/* BL's opcode (bits 31:26) likewise. */
	a64_check(obj, code, 19, 0x04, &rep);
	assert_int_equal(rep.funcs[0].verdict, LF_FID_DIFFER);
	lf_fid_report_release(&rep);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_changed_byte_reported),
		cmocka_unit_test(test_absent_and_duplicates),
		cmocka_unit_test(test_aarch64_immediates_only),
	};

	if (argc != 2)
		return 2;
	obj_path = argv[1];
	return cmocka_run_group_tests(tests, setup, NULL);
}
