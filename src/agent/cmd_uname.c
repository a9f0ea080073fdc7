/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix uname: the effective kernel version for vulnerability scanners.
 * Format: "<release>" with no live patch applied, "<release>+lf<N>" where N
 * is the highest level among enabled patches (levels are cumulative, so
 * level N includes every fix of the levels below it). docs/livefix.1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/json.h"
#include "livefix/log.h"

#include "agent.h"
#include "kernel.h"

int cmd_uname(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lf_klp_list l = { 0 };
	struct lf_kernel_env env;
	struct utsname u;
	char effective[160];
	bool json = false;
	int c, level, r;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h':
			printf("usage: livefix uname [--json]\n\n"
			       "Prints the effective kernel version: the release, plus \"+lf<N>\" when\n"
			       "live patch level N is applied.\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix uname", "invalid option");
		}
	}
	uname(&u);
	lf_kernel_env_default(&env);
	r = lf_klp_list_read(env.klp_dir, &l);
	if (r < 0 && r != -ENOENT)
		return lf_exit_code(lf_log_errno(r, "%s", env.klp_dir));
	level = lf_kernel_effective_level(&env, &l);
	if (level >= 0)
		snprintf(effective, sizeof(effective), "%s+lf%d", u.release, level);
	else
		snprintf(effective, sizeof(effective), "%s", u.release);
	if (json) {
		struct lf_buf out = LF_BUF_INIT(1u << 20);
		struct lf_json j;

		lf_json_init(&j, &out, true);
		lf_json_object_begin(&j);
		lf_json_kv_string(&j, "release", u.release);
		lf_json_kv_string(&j, "machine", u.machine);
		lf_json_key(&j, "level");
		level < 0 ? lf_json_null(&j) : lf_json_int(&j, level);
		lf_json_kv_string(&j, "effective", effective);
		lf_json_key(&j, "patches");
		lf_json_array_begin(&j);
		for (size_t i = 0; i < l.n; i++)
			if (l.patches[i].enabled)
				lf_json_string(&j, l.patches[i].name);
		lf_json_array_end(&j);
		lf_json_object_end(&j);
		r = lf_json_flush(&j, stdout);
	} else {
		printf("%s\n", effective);
		r = 0;
	}
	lf_klp_list_release(&l);
	return lf_exit_code(r);
}
