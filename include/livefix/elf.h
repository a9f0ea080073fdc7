/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_ELF_H
#define LIVEFIX_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Reading ELF objects (relocatable objects first: the differ's input) and
 * writing new relocatable objects, on top of libelf.
 *
 * lf_elf_open() decodes the whole section table, the symbol table and every
 * SHT_RELA section up front into the plain arrays below, after checking
 * every index and every range against the file: a consumer may index
 * secs[sym->shndx] or syms[rela->sym] without further checks, and every
 * section's data lies inside the file. Strings point into the loaded image
 * and live as long as the struct lf_elf.
 */

#define LF_ELF_MAX_SIZE (1024u << 20) /* largest object we load (1 GiB) */

struct lf_elf_rela {
	uint64_t offset;  /* inside the section the relocations apply to */
	uint32_t type;    /* R_X86_64_*, R_AARCH64_* */
	uint32_t sym;     /* index into lf_elf.syms, < nsyms */
	int64_t addend;
};

struct lf_elf_section {
	const char *name;
	uint32_t index;
	uint32_t type;            /* SHT_* */
	uint64_t flags;           /* SHF_* */
	uint64_t size;
	uint64_t align;
	uint64_t entsize;
	uint32_t link, info;
	const uint8_t *data;      /* size bytes; NULL for SHT_NOBITS and empty */
	uint32_t rela_sec;        /* SHT_RELA section applying here, or 0 */
	uint32_t group;           /* SHT_GROUP section holding it, or 0 */
	const struct lf_elf_rela *relas; /* SHT_RELA only: decoded, sorted by offset */
	size_t nrelas;
};

struct lf_elf_symbol {
	const char *name;
	uint32_t index;
	uint8_t type;             /* STT_* */
	uint8_t bind;             /* STB_* */
	uint8_t vis;              /* STV_* */
	uint32_t shndx;           /* < nsecs, or SHN_UNDEF/SHN_ABS/SHN_COMMON */
	uint64_t value;
	uint64_t size;
};

struct lf_elf_image;

struct lf_elf {
	uint16_t machine;         /* EM_X86_64, EM_AARCH64, ... */
	uint8_t elfclass;         /* ELFCLASS64 or ELFCLASS32 */
	uint16_t type;            /* ET_REL, ET_EXEC, ET_DYN */
	struct lf_elf_section *secs;
	size_t nsecs;
	struct lf_elf_symbol *syms; /* empty when there is no .symtab */
	size_t nsyms;
	struct lf_elf_image *image; /* private */
};

/* Loads a file of at most LF_ELF_MAX_SIZE bytes. -ENOEXEC if it is not ELF
 * or is malformed; -EOVERFLOW if it is too large. */
int lf_elf_open(const char *path, struct lf_elf **ret);
/* Same from memory; the bytes are copied. */
int lf_elf_open_mem(const void *data, size_t len, struct lf_elf **ret);
void lf_elf_free(struct lf_elf *e);

const struct lf_elf_section *lf_elf_section_by_name(const struct lf_elf *e, const char *name);
/* Relocations applying to section s (sorted by offset); none: *ret_n = 0. */
void lf_elf_section_relas(const struct lf_elf *e, const struct lf_elf_section *s,
			  const struct lf_elf_rela **ret_relas, size_t *ret_n);
static inline bool lf_elf_symbol_is_defined(const struct lf_elf_symbol *s)
{
	return s->shndx != 0 && s->shndx < 0xff00;
}

/*
 * How a relocation type patches the bytes at r_offset: `size` bytes, of which
 * the bits in `mask` (little-endian, low 64 bits) are the relocated field.
 * `bias` is what a PC-relative instruction adds to the addend to reach its
 * target (x86-64: 4, the displacement's own size; the target may be up to
 * `span` bytes further when an immediate follows the displacement).
 * -EOPNOTSUPP for a type we do not know (the differ refuses such objects).
 */
struct lf_elf_reloc_info {
	const char *name;
	uint8_t size;
	uint64_t mask;
	uint8_t bias;
	uint8_t span;
};
int lf_elf_reloc_info(uint16_t machine, uint32_t type, struct lf_elf_reloc_info *ret);

/* GNU build-id from the first SHT_NOTE section holding one: copies up to max
 * bytes, returns its length, -ENOENT if there is none, -EOVERFLOW if longer
 * than max. */
int lf_elf_build_id(const struct lf_elf *e, uint8_t *buf, size_t max);
/* Lower-case hex of a build-id into out (2*len+1 bytes). */
void lf_elf_build_id_hex(const uint8_t *id, size_t len, char *out);

/*
 * Writing a relocatable object. Sections, symbols and relocations are added
 * in any order; lf_elf_out_write() puts local symbols first as ELF requires
 * and adds .symtab, .strtab, .shstrtab and one .rela<name> per section that
 * has relocations. Data is copied when added.
 */
struct lf_elf_out;

int lf_elf_out_new(uint16_t machine, uint8_t elfclass, struct lf_elf_out **ret);
void lf_elf_out_free(struct lf_elf_out *o);
/* Returns the new section's index (> 0). data may be NULL for SHT_NOBITS. */
int lf_elf_out_add_section(struct lf_elf_out *o, const char *name, uint32_t type,
			   uint64_t flags, uint64_t align, uint64_t entsize,
			   const void *data, uint64_t size);
/* Returns a symbol handle (>= 0) for lf_elf_out_add_rela(). shndx 0: undefined. */
int lf_elf_out_add_symbol(struct lf_elf_out *o, const char *name, uint8_t type,
			  uint8_t bind, uint8_t vis, uint32_t shndx,
			  uint64_t value, uint64_t size);
/* The STT_SECTION symbol of a section, created on first use. */
int lf_elf_out_section_symbol(struct lf_elf_out *o, uint32_t shndx);
int lf_elf_out_add_rela(struct lf_elf_out *o, uint32_t shndx, uint64_t offset,
			uint32_t type, int sym, int64_t addend);
int lf_elf_out_write(struct lf_elf_out *o, const char *path);

#endif
