/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_USER_TARGET_H
#define LF_USER_TARGET_H

#include <limits.h>

#include "user-int.h"

#define LF_TARGET_OBJS_MAX 512

struct lf_target_obj {
	struct lf_elfimg elf;
	uint64_t bias;
	uint64_t lo, hi;	/* every mapping of the file */
	size_t map;		/* index of its first mapping */
	bool is_exe;
};

struct lf_target {
	pid_t pid;
	struct lf_maps maps;
	int memfd;
	struct lf_target_obj objs[LF_TARGET_OBJS_MAX];
	size_t nobjs;
	int obj_index;		/* the object with the patch's build-id */
};

int lf_target_open(struct lf_target *t, pid_t pid, const uint8_t *build_id, unsigned build_id_len,
		   char *msg, size_t size);
void lf_target_close(struct lf_target *t);
const char *lf_target_obj_path(const struct lf_target *t, const struct lf_target_obj *o);
int lf_target_resolve_local(const struct lf_target *t, const char *name, unsigned pos,
			    uint64_t addr, uint64_t *ret_addr, uint64_t *ret_size, char *msg,
			    size_t size);
int lf_target_resolve_global(const struct lf_target *t, const char *name, uint64_t *ret_addr,
			     char *msg, size_t size);
int lf_target_seccomp(pid_t pid, int *ret_mode);

#endif
