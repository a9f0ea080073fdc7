/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Facts about relocation types (how wide the patched field is, which bits of
 * it the linker writes) and the GNU build-id note.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "livefix/hex.h"
#include "livefix/elf.h"

struct reloc_row {
	uint32_t type;
	const char *name;
	uint8_t size;
	uint64_t mask;
	uint8_t bias;
	uint8_t span;
};

#define ALL8 UINT64_MAX
#define ALL4 0xffffffffull
#define ALL2 0xffffull

/*
 * x86-64: a RIP-relative displacement is relative to the end of the
 * instruction, so gcc writes addend = target - 4 when the displacement ends
 * the instruction, and up to 4 bytes less when an immediate follows it.
 */
static const struct reloc_row x86_64_rows[] = {
	{ R_X86_64_NONE, "R_X86_64_NONE", 0, 0, 0, 0 },
	{ R_X86_64_64, "R_X86_64_64", 8, ALL8, 0, 0 },
	{ R_X86_64_PC32, "R_X86_64_PC32", 4, ALL4, 4, 4 },
	{ R_X86_64_GOT32, "R_X86_64_GOT32", 4, ALL4, 0, 0 },
	{ R_X86_64_PLT32, "R_X86_64_PLT32", 4, ALL4, 4, 4 },
	{ R_X86_64_GOTPCREL, "R_X86_64_GOTPCREL", 4, ALL4, 4, 4 },
	{ R_X86_64_32, "R_X86_64_32", 4, ALL4, 0, 0 },
	{ R_X86_64_32S, "R_X86_64_32S", 4, ALL4, 0, 0 },
	{ R_X86_64_16, "R_X86_64_16", 2, ALL2, 0, 0 },
	{ R_X86_64_PC16, "R_X86_64_PC16", 2, ALL2, 0, 0 },
	{ R_X86_64_8, "R_X86_64_8", 1, 0xff, 0, 0 },
	{ R_X86_64_PC8, "R_X86_64_PC8", 1, 0xff, 0, 0 },
	{ R_X86_64_TLSGD, "R_X86_64_TLSGD", 4, ALL4, 4, 4 },
	{ R_X86_64_TLSLD, "R_X86_64_TLSLD", 4, ALL4, 4, 4 },
	{ R_X86_64_DTPOFF32, "R_X86_64_DTPOFF32", 4, ALL4, 0, 0 },
	{ R_X86_64_GOTTPOFF, "R_X86_64_GOTTPOFF", 4, ALL4, 4, 4 },
	{ R_X86_64_TPOFF32, "R_X86_64_TPOFF32", 4, ALL4, 0, 0 },
	{ R_X86_64_PC64, "R_X86_64_PC64", 8, ALL8, 0, 0 },
	{ R_X86_64_GOTOFF64, "R_X86_64_GOTOFF64", 8, ALL8, 0, 0 },
	{ R_X86_64_GOTPC32, "R_X86_64_GOTPC32", 4, ALL4, 4, 4 },
	{ R_X86_64_SIZE32, "R_X86_64_SIZE32", 4, ALL4, 0, 0 },
	{ R_X86_64_SIZE64, "R_X86_64_SIZE64", 8, ALL8, 0, 0 },
	{ R_X86_64_GOTPCRELX, "R_X86_64_GOTPCRELX", 4, ALL4, 4, 4 },
	{ R_X86_64_REX_GOTPCRELX, "R_X86_64_REX_GOTPCRELX", 4, ALL4, 4, 4 },
};

/* AArch64: instruction relocations fill immediate fields of a 32-bit word. */
#define A64_ADR 0x60ffffe0ull   /* immlo[30:29], immhi[23:5] */
#define A64_LO12 0x003ffc00ull  /* imm12[21:10] */
#define A64_B26 0x03ffffffull   /* imm26[25:0] */
#define A64_I19 0x00ffffe0ull   /* imm19[23:5] */
#define A64_I14 0x0007ffe0ull   /* imm14[18:5] */
#define A64_MOVW 0x001fffe0ull  /* imm16[20:5] */

static const struct reloc_row aarch64_rows[] = {
	{ R_AARCH64_NONE, "R_AARCH64_NONE", 0, 0, 0, 0 },
	{ R_AARCH64_ABS64, "R_AARCH64_ABS64", 8, ALL8, 0, 0 },
	{ R_AARCH64_ABS32, "R_AARCH64_ABS32", 4, ALL4, 0, 0 },
	{ R_AARCH64_ABS16, "R_AARCH64_ABS16", 2, ALL2, 0, 0 },
	{ R_AARCH64_PREL64, "R_AARCH64_PREL64", 8, ALL8, 0, 0 },
	{ R_AARCH64_PREL32, "R_AARCH64_PREL32", 4, ALL4, 0, 0 },
	{ R_AARCH64_PREL16, "R_AARCH64_PREL16", 2, ALL2, 0, 0 },
	{ R_AARCH64_MOVW_UABS_G0, "R_AARCH64_MOVW_UABS_G0", 4, A64_MOVW, 0, 0 },
	{ R_AARCH64_MOVW_UABS_G0_NC, "R_AARCH64_MOVW_UABS_G0_NC", 4, A64_MOVW, 0, 0 },
	{ R_AARCH64_MOVW_UABS_G1, "R_AARCH64_MOVW_UABS_G1", 4, A64_MOVW, 0, 0 },
	{ R_AARCH64_MOVW_UABS_G1_NC, "R_AARCH64_MOVW_UABS_G1_NC", 4, A64_MOVW, 0, 0 },
	{ R_AARCH64_MOVW_UABS_G2, "R_AARCH64_MOVW_UABS_G2", 4, A64_MOVW, 0, 0 },
	{ R_AARCH64_MOVW_UABS_G2_NC, "R_AARCH64_MOVW_UABS_G2_NC", 4, A64_MOVW, 0, 0 },
	{ R_AARCH64_MOVW_UABS_G3, "R_AARCH64_MOVW_UABS_G3", 4, A64_MOVW, 0, 0 },
	{ R_AARCH64_LD_PREL_LO19, "R_AARCH64_LD_PREL_LO19", 4, A64_I19, 0, 0 },
	{ R_AARCH64_ADR_PREL_LO21, "R_AARCH64_ADR_PREL_LO21", 4, A64_ADR, 0, 0 },
	{ R_AARCH64_ADR_PREL_PG_HI21, "R_AARCH64_ADR_PREL_PG_HI21", 4, A64_ADR, 0, 0 },
	{ R_AARCH64_ADR_PREL_PG_HI21_NC, "R_AARCH64_ADR_PREL_PG_HI21_NC", 4, A64_ADR, 0, 0 },
	{ R_AARCH64_ADD_ABS_LO12_NC, "R_AARCH64_ADD_ABS_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_LDST8_ABS_LO12_NC, "R_AARCH64_LDST8_ABS_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_TSTBR14, "R_AARCH64_TSTBR14", 4, A64_I14, 0, 0 },
	{ R_AARCH64_CONDBR19, "R_AARCH64_CONDBR19", 4, A64_I19, 0, 0 },
	{ R_AARCH64_JUMP26, "R_AARCH64_JUMP26", 4, A64_B26, 0, 0 },
	{ R_AARCH64_CALL26, "R_AARCH64_CALL26", 4, A64_B26, 0, 0 },
	{ R_AARCH64_LDST16_ABS_LO12_NC, "R_AARCH64_LDST16_ABS_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_LDST32_ABS_LO12_NC, "R_AARCH64_LDST32_ABS_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_LDST64_ABS_LO12_NC, "R_AARCH64_LDST64_ABS_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_LDST128_ABS_LO12_NC, "R_AARCH64_LDST128_ABS_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_ADR_GOT_PAGE, "R_AARCH64_ADR_GOT_PAGE", 4, A64_ADR, 0, 0 },
	{ R_AARCH64_LD64_GOT_LO12_NC, "R_AARCH64_LD64_GOT_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, "R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21", 4, A64_ADR, 0, 0 },
	{ R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC, "R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_TLSLE_ADD_TPREL_HI12, "R_AARCH64_TLSLE_ADD_TPREL_HI12", 4, A64_LO12, 0, 0 },
	{ R_AARCH64_TLSLE_ADD_TPREL_LO12_NC, "R_AARCH64_TLSLE_ADD_TPREL_LO12_NC", 4, A64_LO12, 0, 0 },
};

static int lookup(const struct reloc_row *rows, size_t n, uint32_t type,
		  struct lf_elf_reloc_info *ret)
{
	for (size_t i = 0; i < n; i++) {
		if (rows[i].type != type)
			continue;
		ret->name = rows[i].name;
		ret->size = rows[i].size;
		ret->mask = rows[i].mask;
		ret->bias = rows[i].bias;
		ret->span = rows[i].span;
		return 0;
	}
	return -EOPNOTSUPP;
}

int lf_elf_reloc_info(uint16_t machine, uint32_t type, struct lf_elf_reloc_info *ret)
{
	switch (machine) {
	case EM_X86_64:
		return lookup(x86_64_rows, sizeof(x86_64_rows) / sizeof(x86_64_rows[0]), type, ret);
	case EM_AARCH64:
		return lookup(aarch64_rows, sizeof(aarch64_rows) / sizeof(aarch64_rows[0]), type, ret);
	default:
		return -EOPNOTSUPP;
	}
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Walks the notes of one section; returns the build-id length or -ENOENT. */
static int note_build_id(const struct lf_elf_section *s, uint8_t *buf, size_t max)
{
	size_t off = 0;

	while (s->size - off >= 12) {
		uint32_t namesz = get32(s->data + off), descsz = get32(s->data + off + 4);
		uint32_t type = get32(s->data + off + 8);
		size_t name_off = off + 12, desc_off;

		if (namesz > s->size - name_off)
			return -ENOENT;
		desc_off = name_off + align4(namesz);
		if (desc_off > s->size || descsz > s->size - desc_off)
			return -ENOENT;
		if (type == NT_GNU_BUILD_ID && namesz == 4 &&
		    memcmp(s->data + name_off, "GNU", 4) == 0) {
			if (descsz > max)
				return -EOVERFLOW;
			memcpy(buf, s->data + desc_off, descsz);
			return (int)descsz;
		}
		if (align4(descsz) > s->size - desc_off)
			return -ENOENT;
		off = desc_off + align4(descsz);
	}
	return -ENOENT;
}

int lf_elf_build_id(const struct lf_elf *e, uint8_t *buf, size_t max)
{
	for (size_t i = 1; i < e->nsecs; i++) {
		int r;

		if (e->secs[i].type != SHT_NOTE || !e->secs[i].data)
			continue;
		r = note_build_id(&e->secs[i], buf, max);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

void lf_elf_build_id_hex(const uint8_t *id, size_t len, char *out)
{
	lf_hex(id, len, out);
}
