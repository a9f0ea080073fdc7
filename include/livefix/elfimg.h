/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_ELFIMG_H
#define LIVEFIX_ELFIMG_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Reading ELF64 little-endian images in place, without libelf: executables,
 * shared libraries, the vDSO, and the applier's patch objects. Both the
 * device-side applier (src/user) and the build-side userspace builder
 * (src/userbuild) read their targets with it, so that both agree on what a
 * build-id, a symbol and a symbol's position among same-named ones are.
 *
 * Nothing is decoded into copies: the tables below point into the bytes
 * (a read-only mmap of the file, or a buffer in memory), after every offset
 * and size taken from the file has been checked against the file. A table
 * that fails a check is left NULL (as if absent), so a consumer never needs
 * to re-check the ranges of the pointers here.
 *
 * This is not the relocatable-object reader of livefix/elf.h (struct
 * lf_elf, on libelf, decoding sections and relocations for the differ);
 * this one is small enough for the device agent.
 */

#define LF_ELFIMG_MAX (1ull << 30)	/* largest file we map (1 GiB) */
#define LF_ELFIMG_BUILD_ID_MAX 20	/* SHA-1: the longest build-id we take */

struct lf_elfimg {
	const uint8_t *data;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;	/* NULL if no sections */
	unsigned shnum;
	const Elf64_Phdr *ph;	/* NULL if no program headers */
	unsigned phnum;
	const Elf64_Sym *symtab, *dynsym;	/* the first valid of each, or NULL */
	size_t nsym, ndynsym;
	const char *strtab, *dynstr;	/* NUL-terminated at [*_size - 1] */
	size_t strtab_size, dynstr_size;
	const uint16_t *versym;	/* one per .dynsym entry, or NULL */
	uint8_t build_id[LF_ELFIMG_BUILD_ID_MAX];
	unsigned build_id_len;	/* 0: none (first PT_NOTE, then SHT_NOTE, of 1..20 bytes) */
	uint64_t eh_frame_vaddr;	/* 0 if none */
	const uint8_t *eh_frame;
	size_t eh_frame_size;
	uint64_t eh_hdr_vaddr;	/* PT_GNU_EH_FRAME, 0 if none */
	const uint8_t *eh_hdr;
	size_t eh_hdr_size;
	bool mapped;	/* data is an mmap of the file, else malloc */
	bool borrowed;	/* data belongs to the caller */
};

/* Maps a regular file of at most LF_ELFIMG_MAX bytes; -ENOEXEC if not ELF64 LSB. */
int lf_elfimg_open(const char *path, struct lf_elfimg *ret);
/* Reads data in place; with take, lf_elfimg_close() frees it (malloc'd). */
int lf_elfimg_from_memory(const void *data, size_t size, bool take, struct lf_elfimg *ret);
void lf_elfimg_close(struct lf_elfimg *e);
/* Build-id of a file; returns its length, -ENOENT if none, -ENOBUFS if over size. */
int lf_elfimg_file_build_id(const char *path, uint8_t *ret_id, size_t size);

const char *lf_elfimg_section_name(const struct lf_elfimg *e, const Elf64_Shdr *s);
const Elf64_Shdr *lf_elfimg_section(const struct lf_elfimg *e, const char *name);
/* Section contents bounded by the file, or NULL (SHT_NOBITS, out of the file). */
const void *lf_elfimg_section_data(const struct lf_elfimg *e, const Elf64_Shdr *s);
/* Virtual address of a file offset through the PT_LOAD headers, or -ENOENT. */
int lf_elfimg_offset_to_vaddr(const struct lf_elfimg *e, uint64_t off, uint64_t *ret_vaddr);
/* The file's len bytes at a link-time address, all in one PT_LOAD's file image, or NULL. */
const uint8_t *lf_elfimg_at(const struct lf_elfimg *e, uint64_t vaddr, size_t len);

/* Name of a symbol of a table whose strings are str (str_size bytes); "" if out of range. */
const char *lf_elfimg_sym_name(const char *str, size_t str_size, const Elf64_Sym *s);
/* Defined, and neither a section nor a file symbol: what lookups and positions count. */
bool lf_elfimg_sym_is_defined(const Elf64_Sym *s);

/*
 * Defined symbol by name. pos > 0 selects the pos-th (1-based) symbol of that
 * name in .symtab order, for locals that share a name; pos == 0 requires a
 * unique match (a global wins over locals). dynsym_only searches .dynsym
 * only (exported symbols of libraries). Returns -ENOENT, or -ENOTUNIQ when
 * ambiguous.
 */
int lf_elfimg_lookup(const struct lf_elfimg *e, const char *name, unsigned pos, bool dynsym_only,
		     uint64_t *ret_value, uint64_t *ret_size, unsigned *ret_type);
/* Function symbol starting exactly at vaddr (for @addr binds). */
int lf_elfimg_symbol_at(const struct lf_elfimg *e, uint64_t vaddr, uint64_t *ret_size);

#endif
