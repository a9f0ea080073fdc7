// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel source of a Debian version, fetched once into the cache:
 * kbuild/pkg/<version>/debs/linux-source-<M.m>_<version>_all.deb, unpacked
 * into kbuild/pkg/<version>/source/. The package lists are refreshed only
 * when they do not know the version.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "livefix/file.h"
#include "livefix/kbuild.h"
#include "run.h"

static int find_tar(const char *dir, char *out, size_t size)
{
	char pattern[PATH_MAX + 64];
	glob_t g;
	int r = -ENOENT;

	snprintf(pattern, sizeof(pattern), "%s/source/usr/src/linux-source-*.tar.xz", dir);
	if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1) {
		snprintf(out, size, "%s", g.gl_pathv[0]);
		r = 0;
	}
	globfree(&g);
	return r;
}

static bool valid_version(const char *v)
{
	size_t i;

	if (!v[0] || strlen(v) > 64 || v[0] < '0' || v[0] > '9')
		return false;
	for (i = 0; v[i]; i++)
		if (!strchr("0123456789.-+~abcdefghijklmnopqrstuvwxyz", v[i]))
			return false;
	return true;
}

int lf_kbuild_fetch_source(const char *cache_dir, const char *version, const char *log_path,
			   char *ret_tar, size_t size)
{
	char dir[PATH_MAX], debs[PATH_MAX + 8], src[PATH_MAX + 8], pkg[128], deb[PATH_MAX + 8];
	const char *dot;
	glob_t g;
	int r;

	if (!valid_version(version) || !(dot = strchr(version, '.')) ||
	    !(dot = strpbrk(dot + 1, ".-")))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s/kbuild/pkg/%s", cache_dir, version);
	if (find_tar(dir, ret_tar, size) == 0)
		return 0;
	snprintf(debs, sizeof(debs), "%s/debs", dir);
	r = lf_mkdir_p(debs, 0755);
	if (r < 0)
		return r;
	snprintf(pkg, sizeof(pkg), "linux-source-%.*s=%s", (int)(dot - version), version, version);
	{
		const char *dl[] = { "apt-get", "download", "-q", pkg, NULL };
		const char *up[] = { "apt-get", "update", "-q", NULL };

		if (kb_run_in(debs, dl, log_path) < 0 &&
		    (kb_run(up, log_path) < 0 || kb_run_in(debs, dl, log_path) < 0))
			return -ENOENT;
	}
	snprintf(deb, sizeof(deb), "%s/linux-source-*_%s_all.deb", debs, version);
	if (glob(deb, 0, NULL, &g) != 0 || g.gl_pathc != 1) {
		globfree(&g);
		return -ENOENT;
	}
	snprintf(src, sizeof(src), "%s/source", dir);
	{
		const char *x[] = { "dpkg-deb", "-x", g.gl_pathv[0], src, NULL };

		r = kb_run(x, log_path);
	}
	globfree(&g);
	if (r < 0)
		return r;
	return find_tar(dir, ret_tar, size);
}
