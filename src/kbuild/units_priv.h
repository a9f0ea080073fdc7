/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_KBUILD_UNITS_PRIV_H
#define LIVEFIX_KBUILD_UNITS_PRIV_H

#include <stddef.h>

#include "livefix/kbuild.h"

/* Header changes can reach thousands of units; we count them all. */
#define LF_KFIX_MAX_SCAN_UNITS 100000

/*
 * Adds src (x.c or x.S, relative to the source) as x.o, unless one of the
 * first check_first units already is x.o (scans add each file once).
 */
int kfix_add_unit(struct lf_kfix *fix, const char *src, size_t check_first);
/* Units whose .cmd dependency list names a changed header (full build present). */
int kfix_units_from_cmd(struct lf_kfix *fix, const struct lf_ktree *tree);
/* Units reaching a changed header through #include lines, filtered by Makefile+config. */
int kfix_units_from_scan(struct lf_kfix *fix, const struct lf_ktree *tree);

#endif
