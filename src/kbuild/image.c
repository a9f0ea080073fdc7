// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel image: a vmlinux ELF, or a bzImage whose protected-mode part carries
 * the vmlinux compressed (payload_offset/payload_length in the setup header,
 * boot protocol 2.08+). The payload format is told by its magic, not by the
 * kernel config, so one reader handles any distribution's choice.
 *
 * arm64 kernels ship differently: Debian's vmlinuz-*-arm64 is the raw Image
 * (no ELF, no program headers) compressed as a whole with gzip. The Image
 * starts at _text and is laid out as the kernel is in memory (file offset =
 * address - _text), so once the kallsyms table inside it gives _text's
 * address, one segment maps every kernel address to its bytes.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"

#define MAX_SEGS 256  /* PT_LOAD of a vmlinux, or allocated sections of a .ko */

struct seg {
	uint64_t vaddr;
	uint64_t off;
	uint64_t filesz;
};

struct lf_kimage {
	uint8_t *elf;
	size_t len;
	const char *compression;
	struct seg segs[MAX_SEGS];
	size_t n_segs;
	uint8_t build_id[64];
	size_t build_id_len;
	uint16_t machine;       /* EM_X86_64, EM_AARCH64 */
};

static int grow(uint8_t **out, size_t *cap, size_t used)
{
	size_t ncap = *cap ? *cap * 2 : (64u << 20);
	uint8_t *p;

	if (used < *cap)
		return 0;
	if (*cap >= LF_KIMAGE_MAX_ELF)
		return -EOVERFLOW;
	if (ncap > LF_KIMAGE_MAX_ELF)
		ncap = LF_KIMAGE_MAX_ELF;
	p = realloc(*out, ncap);
	if (!p)
		return -ENOMEM;
	*out = p;
	*cap = ncap;
	return 0;
}

static int unxz(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	uint8_t *out = NULL;
	size_t cap = 0;
	lzma_ret lr;
	int r;

	if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
		return -ENOMEM;
	s.next_in = in;
	s.avail_in = len;
	do {
		r = grow(&out, &cap, s.total_out);
		if (r < 0)
			goto err;
		s.next_out = out + s.total_out;
		s.avail_out = cap - s.total_out;
		lr = lzma_code(&s, LZMA_FINISH);
	} while (lr == LZMA_OK);
	if (lr != LZMA_STREAM_END) {
		r = -EBADMSG;
		goto err;
	}
	*ret_len = s.total_out;
	*ret = out;
	lzma_end(&s);
	return 0;
err:
	lzma_end(&s);
	free(out);
	return r;
}

static int ungzip(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	z_stream z = { 0 };
	uint8_t *out = NULL;
	size_t cap = 0;
	int zr, r;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	do {
		r = grow(&out, &cap, z.total_out);
		if (r < 0)
			goto err;
		z.next_out = out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		zr = inflate(&z, Z_NO_FLUSH);
	} while (zr == Z_OK);
	if (zr != Z_STREAM_END) {
		r = -EBADMSG;
		goto err;
	}
	*ret_len = z.total_out;
	*ret = out;
	inflateEnd(&z);
	return 0;
err:
	inflateEnd(&z);
	free(out);
	return r;
}

static int unzstd(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, len, 0 };
	ZSTD_outBuffer ob = { NULL, 0, 0 };
	uint8_t *out = NULL;
	size_t cap = 0, zr;
	int r;

	if (!ds)
		return -ENOMEM;
	for (;;) {
		r = grow(&out, &cap, ob.pos);
		if (r < 0)
			goto err;
		ob.dst = out;
		ob.size = cap;
		zr = ZSTD_decompressStream(ds, &ob, &ib);
		if (ZSTD_isError(zr)) {
			r = -EBADMSG;
			goto err;
		}
		if (zr == 0)
			break;
		if (ib.pos == ib.size && ob.pos < ob.size) {
			r = -EBADMSG;   /* truncated */
			goto err;
		}
	}
	*ret_len = ob.pos;
	*ret = out;
	ZSTD_freeDStream(ds);
	return 0;
err:
	ZSTD_freeDStream(ds);
	free(out);
	return r;
}

/* Decompresses a bzImage payload chosen by its magic. */
static int unpack_payload(const uint8_t *p, size_t len, struct lf_kimage *img)
{
	static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	static const uint8_t gz[] = { 0x1f, 0x8b };
	static const uint8_t zst[] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (len >= sizeof(xz) && !memcmp(p, xz, sizeof(xz))) {
		img->compression = "xz";
		return unxz(p, len, &img->elf, &img->len);
	}
	if (len >= sizeof(gz) && !memcmp(p, gz, sizeof(gz))) {
		img->compression = "gzip";
		return ungzip(p, len, &img->elf, &img->len);
	}
	if (len >= sizeof(zst) && !memcmp(p, zst, sizeof(zst))) {
		img->compression = "zstd";
		return unzstd(p, len, &img->elf, &img->len);
	}
	return -EOPNOTSUPP; /* LZMA, BZIP2, LZO, LZ4: not read yet */
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* bzImage: "HdrS" at 0x202, setup_sects at 0x1f1, payload at 0x248/0x24c. */
static int open_bzimage(const uint8_t *d, size_t len, struct lf_kimage *img)
{
	size_t setup, off, plen;

	if (len < 0x250 || memcmp(d + 0x202, "HdrS", 4))
		return -ENOEXEC;
	if ((d[0x206] | d[0x207] << 8) < 0x208)
		return -EOPNOTSUPP; /* boot protocol without payload fields */
	setup = d[0x1f1] ? d[0x1f1] : 4;
	off = (setup + 1) * 512 + le32(d + 0x248);
	plen = le32(d + 0x24c);
	if (off >= len || plen > len - off)
		return -EBADMSG;
	return unpack_payload(d + off, plen, img);
}

static void read_notes(const uint8_t *p, size_t len, struct lf_kimage *img)
{
	size_t at = 0;

	while (len - at >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		size_t nsz, dsz, body = at + sizeof(nh);

		memcpy(&nh, p + at, sizeof(nh));   /* a hostile file need not be aligned */
		nsz = ((size_t)nh.n_namesz + 3u) & ~(size_t)3;
		dsz = ((size_t)nh.n_descsz + 3u) & ~(size_t)3;
		if (nsz > len - body || dsz > len - body - nsz)
			return;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(p + body, "GNU", 4) && nh.n_descsz <= sizeof(img->build_id)) {
			memcpy(img->build_id, p + body + nsz, nh.n_descsz);
			img->build_id_len = nh.n_descsz;
			return;
		}
		at = body + nsz + dsz;
	}
}

/* Records PT_LOAD segments (address -> file bytes) and the build-id note. */
static int parse_elf(struct lf_kimage *img)
{
	Elf64_Ehdr eh;
	size_t i;

	if (img->len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, img->elf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	img->machine = eh.e_machine;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > img->len ||
	    (size_t)eh.e_phnum * sizeof(Elf64_Phdr) > img->len - eh.e_phoff)
		return -EBADMSG;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img->elf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_offset > img->len || ph.p_filesz > img->len - ph.p_offset)
			return -EBADMSG;
		if (ph.p_type == PT_NOTE && !img->build_id_len)
			read_notes(img->elf + ph.p_offset, ph.p_filesz, img);
		if (ph.p_type != PT_LOAD || img->n_segs == MAX_SEGS)
			continue;
		img->segs[img->n_segs++] = (struct seg){ ph.p_vaddr, ph.p_offset, ph.p_filesz };
	}
	return img->n_segs ? 0 : -ENOEXEC;
}

/* The arm64 Image header: "ARM\x64" at 0x38 (Documentation/arm64/booting.rst). */
static bool is_arm64_image(const uint8_t *d, size_t len)
{
	return len >= 0x40 && !memcmp(d + 0x38, "ARM\x64", 4);
}

/*
 * Whether file offset `at` lies inside an ELF file embedded in the Image
 * (the vDSOs: a header "\177ELF" at most 256 KiB before it whose section
 * header table, the end of such a file, lies after it).
 */
static bool in_embedded_elf(const struct lf_kimage *img, size_t at)
{
	size_t lo = at > (256u << 10) ? at - (256u << 10) : 0;

	for (size_t e = at; e-- > lo;) {
		const uint8_t *h = img->elf + e;
		uint64_t shoff, shsize;

		if (h[0] != 0x7f || img->len - e < 64 || memcmp(h, ELFMAG, SELFMAG))
			continue;
		if (h[EI_CLASS] == ELFCLASS64) {
			memcpy(&shoff, h + 0x28, 8);
			shsize = (uint64_t)(h[0x3a] | h[0x3b] << 8) * (h[0x3c] | h[0x3d] << 8);
		} else {
			shoff = le32(h + 0x20);
			shsize = (uint64_t)(h[0x2e] | h[0x2f] << 8) * (h[0x30] | h[0x31] << 8);
		}
		if (shoff < img->len && shoff + shsize > at - e)
			return true;
	}
	return false;
}

/*
 * The GNU build-id note of the kernel's own .notes, found by its header
 * (the Image has no PT_NOTE). The vDSOs embedded in the Image have
 * build-id notes too (and "Linux" notes after them), so a note inside an
 * embedded ELF file is skipped.
 */
static void find_build_id(struct lf_kimage *img)
{
	static const uint8_t hdr[] = { 4, 0, 0, 0, 20, 0, 0, 0, NT_GNU_BUILD_ID, 0, 0, 0,
				       'G', 'N', 'U', 0 };
	const uint8_t *p = img->elf, *end = img->elf + img->len;

	while ((p = memmem(p, (size_t)(end - p), hdr, sizeof(hdr)))) {
		if ((size_t)(end - p) >= sizeof(hdr) + 20 &&
		    !in_embedded_elf(img, (size_t)(p - img->elf))) {
			memcpy(img->build_id, p + sizeof(hdr), 20);
			img->build_id_len = 20;
			return;
		}
		p++;
	}
}

/* A raw arm64 Image: one segment from _text, whose address kallsyms gives (kallsyms.c). */
static int parse_arm64_image(struct lf_kimage *img)
{
	struct lf_ksyms *syms;
	int r;

	r = lf_kallsyms_decode(img->elf, img->len, &syms);
	if (r < 0)
		return r;
	if (!syms->image_base) {
		lf_ksyms_free(syms);
		return -EBADMSG;
	}
	img->segs[0] = (struct seg){ syms->image_base, 0, img->len };
	img->n_segs = 1;
	img->machine = EM_AARCH64;
	lf_ksyms_free(syms);
	find_build_id(img);
	return 0;
}

/* A whole-file gzip (arm64 vmlinuz) holding an Image or an ELF. */
static int open_gzip_file(const uint8_t *d, size_t len, struct lf_kimage *img)
{
	if (len < 2 || d[0] != 0x1f || d[1] != 0x8b)
		return -ENOEXEC;
	img->compression = "gzip";
	return ungzip(d, len, &img->elf, &img->len);
}

int lf_kimage_open(const char *path, struct lf_kimage **ret_image)
{
	struct lf_kimage *img;
	char *data = NULL;
	size_t len;
	int r;

	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	r = lf_read_file(path, LF_KIMAGE_MAX_FILE, &data, &len);
	if (r < 0)
		goto err;
	if (len >= SELFMAG && !memcmp(data, ELFMAG, SELFMAG)) {
		img->elf = (uint8_t *)data;
		img->len = len;
		img->compression = "none";
		data = NULL; /* owned by img */
	} else if (is_arm64_image((const uint8_t *)data, len)) {
		img->elf = (uint8_t *)data;
		img->len = len;
		img->compression = "none";
		data = NULL; /* owned by img */
	} else {
		r = open_bzimage((const uint8_t *)data, len, img);
		if (r == -ENOEXEC)
			r = open_gzip_file((const uint8_t *)data, len, img);
		if (r < 0)
			goto err;
	}
	if (is_arm64_image(img->elf, img->len))
		r = parse_arm64_image(img);
	else
		r = parse_elf(img);
	if (r < 0)
		goto err;
	free(data);
	*ret_image = img;
	return 0;
err:
	free(data);
	lf_kimage_free(img);
	return r;
}

int lf_kimage_open_module(const char *path, struct lf_kimage **ret_image)
{
	struct lf_kmodule_sec secs[MAX_SEGS];
	struct lf_kimage *img;
	char *data = NULL;
	size_t len, n = 0;
	int r;

	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	r = lf_read_file(path, LF_KIMAGE_MAX_FILE, &data, &len);
	if (r >= 0)
		r = lf_kmodule_layout((const uint8_t *)data, len, secs, MAX_SEGS, &n);
	if (r < 0) {
		free(data);
		free(img);
		return r;
	}
	img->elf = (uint8_t *)data; /* owned by img */
	img->len = len;
	img->compression = "module";
	for (size_t i = 0; i < n; i++)
		img->segs[i] = (struct seg){ secs[i].vaddr, secs[i].off, secs[i].size };
	img->n_segs = n;
	*ret_image = img;
	return 0;
}

void lf_kimage_free(struct lf_kimage *image)
{
	if (!image)
		return;
	free(image->elf);
	free(image);
}

uint16_t lf_kimage_machine(const struct lf_kimage *image)
{
	return image->machine;
}

const char *lf_kimage_compression(const struct lf_kimage *image)
{
	return image->compression;
}

const uint8_t *lf_kimage_elf(const struct lf_kimage *image, size_t *ret_len)
{
	*ret_len = image->len;
	return image->elf;
}

const uint8_t *lf_kimage_at(const struct lf_kimage *image, uint64_t addr, size_t len)
{
	size_t i;

	for (i = 0; i < image->n_segs; i++) {
		const struct seg *s = &image->segs[i];

		if (addr >= s->vaddr && addr - s->vaddr <= s->filesz &&
		    len <= s->filesz - (addr - s->vaddr))
			return image->elf + s->off + (addr - s->vaddr);
	}
	return NULL;
}

int lf_kimage_build_id(const struct lf_kimage *image, char *hex, size_t size)
{
	size_t i;

	if (!image->build_id_len)
		return -ENOENT;
	if (size < image->build_id_len * 2 + 1)
		return -ENOBUFS;
	for (i = 0; i < image->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", image->build_id[i]);
	return 0;
}
