/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_KMOD_H
#define LIVEFIX_AGENT_KMOD_H

#include <stdbool.h>
#include <stdint.h>

/* What livefix reads from a kernel module file before it loads it. */
struct lf_kmod_info {
	char name[64];        /* modinfo name=, the module and livepatch name */
	char vermagic[256];   /* modinfo vermagic= */
	char release[128];    /* first word of vermagic: the kernel release */
	uint16_t machine;     /* e_machine */
	bool livepatch;       /* modinfo livepatch=Y */
	int level;            /* modinfo livefix_level=, or -1 */
};

/*
 * Reads the ELF header and .modinfo of a module file. Fails with -ENOEXEC
 * for anything that is not a well-formed relocatable ELF object with a
 * .modinfo section (not ELF, truncated, an executable); the reason is written
 * to ret_reason. Never trusts a length it has not checked against the file.
 */
int lf_kmod_inspect(const char *path, struct lf_kmod_info *ret, char *ret_reason, size_t reason_size);

/*
 * Checks that an inspected module can be loaded as a live patch here:
 * machine matches this build's, it is a livepatch module, its vermagic
 * release matches release. Returns -ENOEXEC (not for this arch or not a
 * livepatch) or -EMEDIUMTYPE (another kernel), reason in ret_reason.
 */
int lf_kmod_check(const struct lf_kmod_info *info, const char *release, char *ret_reason,
		  size_t reason_size);

/* The e_machine of the running architecture, and its name. */
uint16_t lf_kmod_host_machine(void);
const char *lf_kmod_machine_name(uint16_t machine);

#endif
