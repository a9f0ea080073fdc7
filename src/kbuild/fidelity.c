// SPDX-License-Identifier: Apache-2.0
/*
 * Fidelity: does the rebuilt original object contain the shipped kernel's
 * machine code? If not, the source, config or compiler is not the one the
 * kernel was built with, and nothing built from them can be trusted.
 *
 * Each function of the object is compared byte for byte with the bytes at
 * its kallsyms address in the image (the decompressed vmlinux, addresses
 * mapped through its PT_LOAD headers). Masked, because they legitimately
 * differ between a relocatable object and a linked kernel:
 *
 *  - every field a RELA relocation of the function's section fills (calls,
 *    jumps across sections, data references, retpoline and return thunks,
 *    static call trampolines: the object holds 0 + addend, the image the
 *    linked value). With -ffunction-sections even calls between functions of
 *    one file become relocations, which the shipped build resolved at
 *    assembly time; masking covers both.
 *    On AArch64 only the instruction's immediate bits are masked.
 *  - the 5-byte `call __fentry__` at a function's start: the object holds a
 *    call (relocated) or objtool's NOP, the image whatever the kernel's build
 *    wrote there; both are rewritten at boot by ftrace anyway. The whole
 *    instruction is masked, not only its relocated displacement.
 *
 * A weak function that does not match is taken as overridden (the name in
 * kallsyms belongs to a strong definition elsewhere) and reported as absent.
 *
 * arm64 kernels use -fpatchable-function-entry=2 instead of __fentry__: two
 * NOPs open each traceable function (listed in __patchable_function_entries,
 * whose relocations are not in the function's section) and ftrace rewrites
 * them at boot, in memory: the image on disk holds the NOPs, so they are
 * compared like any other instruction.
 *
 * Alternatives, paravirt sites and static branches are patched at boot, in
 * memory, so the image on disk still holds the compiler's instructions and
 * needs no mask. Whatever remains different is reported with its offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/elf.h"
#include "livefix/kbuild.h"

#define MAX_FUNCS 100000

struct sec_mask {
	uint8_t *mask;          /* per byte, the bits to ignore (0xff: the whole byte) */
	size_t size;
};

static size_t reloc_width(uint32_t type)
{
	switch (type) {
	case R_X86_64_64:
	case R_X86_64_PC64:
	case R_X86_64_GOTOFF64:
		return 8;
	case R_X86_64_16:
	case R_X86_64_PC16:
		return 2;
	case R_X86_64_8:
	case R_X86_64_PC8:
		return 1;
	default:
		return 4;
	}
}

static void mask_range(struct sec_mask *m, uint64_t from, size_t n)
{
	for (; n && from < m->size; n--, from++)
		m->mask[from] = 0xff;
}

/*
 * The bits a relocation fills: on AArch64 only the immediate field of the
 * 32-bit instruction (imm26 of a BL, immhi:immlo of an ADRP, imm12 of the
 * ADD/LDR that follows), so the opcode and registers are still compared.
 * src/elf knows the fields; a type it does not know masks its whole word.
 */
static void mask_reloc(struct sec_mask *m, uint16_t machine, uint64_t off, uint32_t type)
{
	struct lf_elf_reloc_info ri;

	if (machine == EM_X86_64 || lf_elf_reloc_info(machine, type, &ri) < 0) {
		mask_range(m, off, machine == EM_X86_64 ? reloc_width(type) : 4);
		return;
	}
	for (size_t b = 0; b < ri.size && off + b < m->size; b++)
		m->mask[off + b] |= (uint8_t)(ri.mask >> (8 * b));
}

/* Marks relocated bytes (and whole __fentry__ calls) of each exec section. */
static int build_masks(Elf *e, size_t shnum, Elf_Scn *symscn, struct sec_mask *masks)
{
	Elf_Data *syms = elf_getdata(symscn, NULL);
	GElf_Shdr symsh;
	GElf_Ehdr eh;
	Elf_Scn *scn = NULL;

	if (!syms || !gelf_getshdr(symscn, &symsh) || !gelf_getehdr(e, &eh))
		return -EBADMSG;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_info >= shnum ||
		    !masks[sh.sh_info].mask || !(d = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (i = 0; i < n; i++) {
			GElf_Rela rela;
			GElf_Sym sym;
			const char *name;

			if (!gelf_getrela(d, (int)i, &rela) ||
			    !gelf_getsym(syms, (int)GELF_R_SYM(rela.r_info), &sym))
				return -EBADMSG;
			name = elf_strptr(e, symsh.sh_link, sym.st_name);
			if (name && !strcmp(name, "__fentry__") && rela.r_offset > 0)
				mask_range(&masks[sh.sh_info], rela.r_offset - 1, 5);
			else
				mask_reloc(&masks[sh.sh_info], eh.e_machine, rela.r_offset,
					   (uint32_t)GELF_R_TYPE(rela.r_info));
		}
	}
	return 0;
}

static int report_add(struct lf_fid_report *rep, struct lf_fid_func **ret)
{
	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 64;
		struct lf_fid_func *nf;

		if (cap > MAX_FUNCS)
			return -E2BIG;
		nf = realloc(rep->funcs, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		rep->funcs = nf;
		rep->cap = cap;
	}
	*ret = &rep->funcs[rep->n++];
	memset(*ret, 0, sizeof(**ret));
	return 0;
}

/* Address of the next text symbol after addr (0 if none): bounds the size. */
static uint64_t next_text_addr(const struct lf_ksyms *syms, uint64_t addr)
{
	size_t lo = 0, hi = syms->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (syms->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < syms->n ? syms->syms[lo].addr : 0;
}

/* Compares one candidate; fills diffs into f; returns the number differing. */
static uint32_t compare_at(const struct lf_kimage *image, const struct lf_ksyms *syms,
			   uint64_t addr, const uint8_t *code, const uint8_t *mask, size_t size,
			   struct lf_fid_func *f)
{
	const uint8_t *img = lf_kimage_at(image, addr, size);
	uint64_t next = next_text_addr(syms, addr);
	uint32_t n = 0;
	size_t i;

	f->n_diffs = 0;
	f->masked = 0;
	if (!img)
		return f->n_diffs = (uint32_t)size;
	for (i = 0; i < size; i++) {
		if (mask[i])
			f->masked++;
		if (!((code[i] ^ img[i]) & (uint8_t)~mask[i]))
			continue;
		if (n < LF_FID_MAX_DIFFS)
			f->diff_at[n] = (uint32_t)i;
		n++;
	}
	/* The shipped function is shorter: another symbol starts inside ours. */
	if (next && next < addr + size && n == 0) {
		f->diff_at[0] = (uint32_t)(next - addr);
		n = 1;
	}
	return f->n_diffs = n;
}

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'W' || t == 'w';
}

/*
 * One function: try every kallsyms symbol of its name (static functions
 * share names across files) and keep the one that matches, or the closest.
 */
static int check_func(const char *name, const uint8_t *code, const uint8_t *mask,
		      size_t size, const struct lf_kimage *image, const struct lf_ksyms *syms,
		      struct lf_fid_func *f)
{
	struct lf_fid_func best;
	size_t first, n = lf_ksyms_lookup(syms, name, &first), k;
	uint32_t best_diffs = UINT32_MAX;

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = (uint32_t)size;
	f->verdict = LF_FID_ABSENT;
	for (k = 0; k < n; k++) {
		const struct lf_ksym *s = &syms->syms[syms->by_name[first + k]];
		uint32_t d;

		if (!is_text_type(s->type))
			continue;
		d = compare_at(image, syms, s->addr, code, mask, size, f);
		f->addr = s->addr;
		f->pos = s->pos;
		if (d < best_diffs) {
			best = *f;
			best_diffs = d;
		}
		if (!d)
			break;
	}
	if (best_diffs == UINT32_MAX)
		return 0;
	/*
	 * A weak default (fs/proc's arch_report_meminfo) whose name the image
	 * gives to the arch's strong definition: ours is not in the image.
	 */
	if (best_diffs && f->weak) {
		f->addr = 0;
		f->n_diffs = 0;
		return 0;
	}
	best.weak = f->weak;
	*f = best;
	f->verdict = best_diffs ? LF_FID_DIFFER : LF_FID_MATCH;
	return 0;
}

static void tally(struct lf_fid_report *rep, const struct lf_fid_func *f)
{
	if (f->verdict == LF_FID_MATCH)
		rep->n_match++;
	else if (f->verdict == LF_FID_DIFFER)
		rep->n_differ++;
	else
		rep->n_absent++;
}

static int check_symbols(Elf *e, Elf_Scn *symscn, struct sec_mask *masks, size_t shnum,
			 const char *display, const struct lf_kimage *image,
			 const struct lf_ksyms *syms, struct lf_fid_report *rep)
{
	Elf_Data *d = elf_getdata(symscn, NULL);
	GElf_Shdr symsh;
	size_t i, n;
	int r;

	if (!d || !gelf_getshdr(symscn, &symsh) || !symsh.sh_entsize)
		return -EBADMSG;
	n = symsh.sh_size / symsh.sh_entsize;
	for (i = 1; i < n; i++) {
		struct lf_fid_func *f;
		Elf_Data *code;
		const char *name;
		GElf_Sym sym;

		if (!gelf_getsym(d, (int)i, &sym))
			return -EBADMSG;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size ||
		    sym.st_shndx >= shnum || !masks[sym.st_shndx].mask ||
		    sym.st_value > masks[sym.st_shndx].size ||
		    sym.st_size > masks[sym.st_shndx].size - sym.st_value)
			continue;
		name = elf_strptr(e, symsh.sh_link, sym.st_name);
		code = elf_getdata(elf_getscn(e, sym.st_shndx), NULL);
		if (!name || !code || !code->d_buf || code->d_size != masks[sym.st_shndx].size)
			continue;
		r = report_add(rep, &f);
		if (r < 0)
			return r;
		snprintf(f->object, sizeof(f->object), "%s", display);
		f->weak = GELF_ST_BIND(sym.st_info) == STB_WEAK;
		r = check_func(name, (const uint8_t *)code->d_buf + sym.st_value,
			       masks[sym.st_shndx].mask + sym.st_value, sym.st_size, image, syms, f);
		if (r < 0)
			return r;
		tally(rep, f);
	}
	return 0;
}

/* Allocates a mask for every executable PROGBITS section; finds .symtab. */
static int alloc_masks(Elf *e, size_t shnum, struct sec_mask *masks, Elf_Scn **ret_symscn)
{
	Elf_Scn *scn = NULL;

	*ret_symscn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		size_t idx = elf_ndxscn(scn);
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || idx >= shnum)
			return -EBADMSG;
		if (sh.sh_type == SHT_SYMTAB)
			*ret_symscn = scn;
		if (sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) || !sh.sh_size)
			continue;
		masks[idx].mask = calloc(1, sh.sh_size);
		if (!masks[idx].mask)
			return -ENOMEM;
		masks[idx].size = sh.sh_size;
	}
	return *ret_symscn ? 0 : -ENOEXEC;
}

int lf_fid_check_object(const char *obj_path, const char *display_name,
			const struct lf_kimage *image, const struct lf_ksyms *syms,
			struct lf_fid_report *report)
{
	struct sec_mask *masks = NULL;
	Elf_Scn *symscn;
	size_t shnum = 0, i;
	Elf *e = NULL;
	int fd, r;

	elf_version(EV_CURRENT);
	fd = open(obj_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrnum(e, &shnum) < 0 || shnum > 1u << 20) {
		r = -ENOEXEC;
		goto out;
	}
	masks = calloc(shnum, sizeof(*masks));
	if (!masks) {
		r = -ENOMEM;
		goto out;
	}
	r = alloc_masks(e, shnum, masks, &symscn);
	if (r >= 0)
		r = build_masks(e, shnum, symscn, masks);
	if (r >= 0)
		r = check_symbols(e, symscn, masks, shnum, display_name, image, syms, report);
out:
	for (i = 0; masks && i < shnum; i++)
		free(masks[i].mask);
	free(masks);
	elf_end(e);
	close(fd);
	return r;
}

void lf_fid_report_release(struct lf_fid_report *report)
{
	free(report->funcs);
	memset(report, 0, sizeof(*report));
}
