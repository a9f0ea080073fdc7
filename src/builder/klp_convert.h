/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_BUILDER_KLP_CONVERT_H
#define LIVEFIX_BUILDER_KLP_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/* A symbol of vmlinux or a module the patch must reach through a klp relocation. */
struct klp_target {
	char name[256];
	uint32_t sympos;  /* kallsyms position among same-named symbols; 0: unique */
	char obj[64];     /* the module's name; "" or "vmlinux": vmlinux */
};

/*
 * Rewrites the linked module in place: undefined symbols named in t become
 * livepatch symbols and their relocations klp relocation sections.
 * *ret_moved: how many relocations moved.
 */
int klp_convert_module(const char *path, const struct klp_target *t, size_t n,
		       size_t *ret_moved);

#endif
