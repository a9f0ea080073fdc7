/* SPDX-License-Identifier: Apache-2.0 */
/* The patch object parser and linker: ELF, .livefix.patch, relocations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dynrel.h"
#include "user-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int resolve(void *ud, const char *name, uint64_t *ret_addr, char *msg, size_t size)
{
	(void)ud;
	if (name[0] == 'x')
		return lf_user_fail(msg, size, -2, "no %s", name);
	*ret_addr = 0x7f0000001000ull + (uint64_t)(unsigned char)name[0] * 0x1000;
	return 0;
}

static int resolve_tls(void *ud, const char *name, unsigned need, struct lf_tls_ref *ret,
		       char *msg, size_t size)
{
	(void)ud;
	(void)need;
	if (name[0] == 'x')
		return lf_user_fail(msg, size, -2, "no %s", name);
	*ret = (struct lf_tls_ref){ .modid = 2, .dtpoff = 16, .tpoff = -0x80 };
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_user_patch *p;
	struct lf_image img;
	char msg[256];
	void *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (lf_patch_parse("fuzz", copy, size, &p, msg, sizeof(msg)) < 0)
		return 0;
	if (lf_link_layout(p, &img, msg, sizeof(msg)) == 0) {
		struct lf_link_sym res = { resolve, resolve_tls, NULL };
		uint64_t addr;
		if (lf_link_apply(p, &img, 0x555500000000ull, &res, msg, sizeof(msg)) == 0)
			lf_link_symbol(p, &img, p->funcs[0].new_name, &addr);
		lf_image_release(&img);
	}
	lf_user_patch_free(p);
	return 0;
}
