/* SPDX-License-Identifier: Apache-2.0 */
/* livefix-build keygen --role ROLE -o KEY */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/log.h"

#include "builder.h"

static const char usage[] =
	"usage: livefix-build keygen --role root|targets|snapshot|timestamp -o KEY [--force]\n"
	"\n"
	"Writes the private key to KEY (mode 0600) and the public key to KEY.pub,\n"
	"and prints the public key and its keyid.\n";

int lf_build_parse_expires(const char *s, int64_t *ret)
{
	char *end;
	long long n;
	int64_t unit;

	if (s[0] != '+' && s[0] != '-')
		return lf_time_parse(s, ret);
	errno = 0;
	n = strtoll(s + 1, &end, 10);
	if (errno || end == s + 1 || n < 0 || n > 100000 || end[0] == '\0' || end[1] != '\0')
		return -EINVAL;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -EINVAL;
	}
	*ret = lf_time_now() + (s[0] == '-' ? -1 : 1) * n * unit;
	return 0;
}

int lf_build_keys_add(struct lf_build_keys *k, const char *path)
{
	int r;

	if (k->n == LF_BUILD_MAX_KEYS)
		return -E2BIG;
	r = lf_key_load_private(path, &k->keys[k->n]);
	if (r < 0)
		return r;
	k->ptrs[k->n] = &k->keys[k->n];
	k->n++;
	return 0;
}

void lf_build_keys_wipe(struct lf_build_keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		lf_privkey_wipe(&k->keys[i]);
	k->n = 0;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL, *out = NULL;
	struct lf_buf pub = LF_BUF_INIT(512);
	struct lf_privkey key;
	bool force = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "r:o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = true; break;
		case 'h': fputs(usage, stdout); return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix-build keygen", "bad option");
		}
	}
	if (!role || lf_role_from_name(role) < 0)
		return lf_cmd_usage_error("livefix-build keygen",
					  "--role must be root, targets, snapshot or timestamp");
	if (!out || optind != argc)
		return lf_cmd_usage_error("livefix-build keygen", "-o KEY is required");
	if (!force && access(out, F_OK) == 0) {
		lf_err("%s: exists; refusing to overwrite a key (--force)", out);
		return LF_EXIT_FAILURE;
	}
	r = lf_key_generate(role, &key);
	if (r == 0)
		r = lf_key_save(out, &key);
	if (r == 0)
		r = lf_key_pub_json(&key.pub, &pub);
	if (r == 0)
		printf("%s\nkeyid %s role %s\n", pub.data, key.pub.keyid, role);
	lf_privkey_wipe(&key);
	lf_buf_release(&pub);
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "keygen %s", out));
	return LF_EXIT_OK;
}
