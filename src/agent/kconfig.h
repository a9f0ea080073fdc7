/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_KCONFIG_H
#define LIVEFIX_AGENT_KCONFIG_H

#include <limits.h>
#include <stddef.h>

/* The running kernel's build configuration, as text. */
struct lf_kconfig {
	char *text;
	size_t len;
	char source[PATH_MAX]; /* where it was found */
};

/*
 * Loads /proc/config.gz (CONFIG_IKCONFIG_PROC), else /boot/config-<release>.
 * Returns -ENOENT when neither exists.
 */
int lf_kconfig_load(const char *release, struct lf_kconfig *ret);

/* Parses config text given by the caller (tests, other sources). */
int lf_kconfig_from_text(const char *text, size_t len, const char *source, struct lf_kconfig *ret);

void lf_kconfig_release(struct lf_kconfig *c);

/*
 * The value of CONFIG_<sym> ("y", "m", a number or a quoted string) copied
 * into buf, or NULL when it is not set.
 */
const char *lf_kconfig_get(const struct lf_kconfig *c, const char *sym, char *buf, size_t size);

#endif
