/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_DASHBOARD_H
#define LF_PORTAL_DASHBOARD_H

#include <stddef.h>

/* The dashboard's static files, compiled in (dashboard/embed.py). */
struct lf_dashboard_file {
	const char *name;
	const char *content_type;
	const char *etag;
	const unsigned char *data;
	size_t len;
};

extern const struct lf_dashboard_file lf_dashboard_files[];

/* The file served for a name under /dashboard/, or NULL. */
const struct lf_dashboard_file *lf_dashboard_find(const char *name);

#endif
