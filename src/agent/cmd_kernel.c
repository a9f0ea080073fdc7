/* SPDX-License-Identifier: Apache-2.0 */
/* livefix kernel load|unload|list */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/json.h"
#include "livefix/log.h"

#include "agent.h"
#include "kernel.h"

static int parse_timeout(const char *arg, long *ret_ms)
{
	char *end;
	double sec = strtod(arg, &end);

	if (*arg == '\0' || *end != '\0' || !(sec > 0) || sec > 86400)
		return -EINVAL;
	*ret_ms = (long)(sec * 1000.0 + 0.5);
	return 0;
}

static void print_stuck(const struct lf_kernel_result *res)
{
	for (int i = 0; i < res->n_stuck; i++) {
		const struct lf_klp_task *t = &res->stuck[i];

		fprintf(stderr, "  task %d (%s, pid %d) has not switched\n", t->tid, t->comm, t->pid);
		if (t->stack[0]) {
			char *line, *save = NULL, *copy = strdup(t->stack);

			for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
			     line = strtok_r(NULL, "\n", &save))
				fprintf(stderr, "      %s\n", line);
			free(copy);
		}
	}
	if (res->n_stuck == LF_KERNEL_MAX_STUCK)
		fprintf(stderr, "  (only the first %d tasks are listed)\n", LF_KERNEL_MAX_STUCK);
}

/*
 * The options load and unload share: --timeout SEC, one flag (--force or
 * --all) and --help. Returns false when the command must end with
 * *ret_exit (help printed, or a usage error).
 */
static bool parse_opts(int argc, char **argv, const char *prog, const char *usage,
		       const char *flag, struct lf_kernel_opts *o, bool *ret_flag, int *ret_exit)
{
	const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ flag, no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct lf_kernel_opts){ .timeout_ms = LF_KERNEL_DEFAULT_TIMEOUT_MS };
	*ret_flag = false;
	while ((c = getopt_long(argc, argv, "t:fh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_timeout(optarg, &o->timeout_ms) == 0)
				break;
			*ret_exit = lf_cmd_usage_error(prog, "invalid --timeout '%s'", optarg);
			return false;
		case 'f': *ret_flag = true; break;
		case 'h': fputs(usage, stdout); *ret_exit = LF_EXIT_OK; return false;
		default: *ret_exit = lf_cmd_usage_error(prog, "invalid option"); return false;
		}
	}
	return true;
}

static const char load_usage[] =
	"usage: livefix kernel load FILE.ko [--timeout SEC] [--force]\n"
	"\n"
	"Checks that FILE is a livepatch module for this architecture and the\n"
	"running kernel, loads it, and waits until every task runs the patched\n"
	"code. If that takes longer than --timeout (default 60 s), the patch is\n"
	"reversed and its module removed, and the tasks that held it up are shown.\n"
	"\n"
	"  --timeout SEC   how long the transition may take\n"
	"  --force         on timeout, force the transition instead of reversing it;\n"
	"                  the module can then never be removed until reboot\n";

static int cmd_kernel_load(int argc, char **argv)
{
	struct lf_kernel_opts o;
	struct lf_kernel_result res;
	struct lf_kernel_env env;
	int r, code;

	if (!parse_opts(argc, argv, "livefix kernel load", load_usage, "force", &o, &o.force, &code))
		return code;
	if (optind != argc - 1)
		return lf_cmd_usage_error("livefix kernel load", "expected one module file");
	if (o.force)
		lf_warn("--force: if the transition stalls it will be forced, and the module "
			"can then never be removed until reboot");
	lf_kernel_env_default(&env);
	r = lf_kernel_load(&env, argv[optind], &o, &res);
	if (r < 0) {
		lf_err("%s: %s", argv[optind], res.reason);
		print_stuck(&res);
		return lf_exit_code(r);
	}
	if (res.forced) {
		lf_warn("%s: transition forced; tasks that had not switched:", res.mod.name);
		print_stuck(&res);
	}
	printf("%s: applied", res.mod.name);
	if (res.mod.level >= 0)
		printf(" (level %d)", res.mod.level);
	printf(" in %.1f ms", res.total_us / 1000.0);
	if (res.n_cleaned > 0)
		printf("; removed %d replaced patch module(s)", res.n_cleaned);
	printf("\n");
	return LF_EXIT_OK;
}

static const char unload_usage[] =
	"usage: livefix kernel unload NAME|--all [--timeout SEC]\n"
	"\n"
	"Disables live patch NAME (or every live patch), waits until no task runs\n"
	"its code, and removes its module. If that takes longer than --timeout\n"
	"(default 60 s), the patch is re-enabled and stays applied.\n";

static int unload_one(const struct lf_kernel_env *env, const char *name,
		      const struct lf_kernel_opts *o)
{
	struct lf_kernel_result res;
	int r = lf_kernel_unload(env, name, o, &res);

	if (r < 0) {
		lf_err("%s: %s", name, res.reason);
		print_stuck(&res);
		return r;
	}
	if (res.module_kept)
		printf("%s: disabled; its module stays loaded until reboot (its transition was forced)\n",
		       name);
	else
		printf("%s: removed\n", name);
	return 0;
}

static int cmd_kernel_unload(int argc, char **argv)
{
	struct lf_kernel_opts o;
	struct lf_kernel_env env;
	struct lf_klp_list l;
	bool all;
	int r = 0, code;

	if (!parse_opts(argc, argv, "livefix kernel unload", unload_usage, "all", &o, &all, &code))
		return code;
	/* Exactly one of: a patch name, or --all. */
	if (all ? optind != argc : optind != argc - 1)
		return lf_cmd_usage_error("livefix kernel unload", "expected a patch name or --all");
	lf_kernel_env_default(&env);
	if (!all)
		return lf_exit_code(unload_one(&env, argv[optind], &o));
	r = lf_klp_list_read(env.klp_dir, &l);
	if (r == -ENOENT) {
		lf_err("%s not found: this kernel has no live patching (CONFIG_LIVEPATCH)", env.klp_dir);
		return LF_EXIT_UNSUPPORTED;
	}
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "%s", env.klp_dir));
	for (size_t i = 0; i < l.n; i++) {
		int q = unload_one(&env, l.patches[i].name, &o);

		if (q < 0 && r == 0)
			r = q;
	}
	if (l.n == 0)
		printf("no live patches loaded\n");
	lf_klp_list_release(&l);
	return lf_exit_code(r);
}

static void list_json(const struct lf_kernel_env *env, const struct lf_klp_list *l, struct lf_json *j)
{
	lf_json_object_begin(j);
	lf_json_key(j, "patches");
	lf_json_array_begin(j);
	for (size_t i = 0; i < l->n; i++) {
		const struct lf_klp_patch *p = &l->patches[i];
		int level = lf_kernel_level(env, p->name);

		lf_json_object_begin(j);
		lf_json_kv_string(j, "name", p->name);
		lf_json_kv_bool(j, "enabled", p->enabled);
		lf_json_kv_bool(j, "transition", p->transition);
		lf_json_key(j, "replace");
		p->replace < 0 ? lf_json_null(j) : lf_json_bool(j, p->replace);
		lf_json_key(j, "level");
		level < 0 ? lf_json_null(j) : lf_json_int(j, level);
		lf_json_key(j, "objects");
		lf_json_array_begin(j);
		for (size_t k = 0; k < p->n_objects; k++) {
			lf_json_object_begin(j);
			lf_json_kv_string(j, "name", p->objects[k].name);
			lf_json_key(j, "functions");
			lf_json_array_begin(j);
			for (size_t f = 0; f < p->objects[k].n_funcs; f++) {
				lf_json_object_begin(j);
				lf_json_kv_string(j, "name", p->objects[k].funcs[f].name);
				lf_json_kv_int(j, "sympos", (int64_t)p->objects[k].funcs[f].sympos);
				lf_json_object_end(j);
			}
			lf_json_array_end(j);
			lf_json_object_end(j);
		}
		lf_json_array_end(j);
		lf_json_object_end(j);
	}
	lf_json_array_end(j);
	lf_json_object_end(j);
}

static void list_text(const struct lf_kernel_env *env, const struct lf_klp_list *l)
{
	if (l->n == 0) {
		printf("no live patches loaded\n");
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct lf_klp_patch *p = &l->patches[i];
		int level = lf_kernel_level(env, p->name);

		printf("%s: %s%s", p->name, p->enabled ? "enabled" : "disabled",
		       p->transition ? ", in transition" : "");
		if (p->replace == 1)
			printf(", replace");
		if (level >= 0)
			printf(", level %d", level);
		printf("\n");
		for (size_t k = 0; k < p->n_objects; k++)
			for (size_t f = 0; f < p->objects[k].n_funcs; f++)
				printf("  %s: %s,%lu\n", p->objects[k].name, p->objects[k].funcs[f].name,
				       p->objects[k].funcs[f].sympos);
	}
}

static int cmd_kernel_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lf_kernel_env env;
	struct lf_klp_list l;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h':
			printf("usage: livefix kernel list [--json]\n\n"
			       "Lists the kernel live patches, their state, level and patched functions.\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix kernel list", "invalid option");
		}
	}
	lf_kernel_env_default(&env);
	r = lf_klp_list_read(env.klp_dir, &l);
	if (r == -ENOENT) {
		lf_err("%s not found: this kernel has no live patching (CONFIG_LIVEPATCH)", env.klp_dir);
		return LF_EXIT_UNSUPPORTED;
	}
	if (r < 0)
		return lf_exit_code(lf_log_errno(r, "%s", env.klp_dir));
	if (json) {
		struct lf_buf out = LF_BUF_INIT(16u << 20);
		struct lf_json j;

		lf_json_init(&j, &out, true);
		list_json(&env, &l, &j);
		r = lf_json_flush(&j, stdout);
	} else {
		list_text(&env, &l);
	}
	lf_klp_list_release(&l);
	return lf_exit_code(r);
}

static const struct lf_cmd kernel_commands[] = {
	{ "load", cmd_kernel_load, "load a livepatch module and wait for its transition" },
	{ "unload", cmd_kernel_unload, "disable a live patch and remove its module" },
	{ "list", cmd_kernel_list, "list the kernel live patches" },
	{ NULL, NULL, NULL },
};

int cmd_kernel(int argc, char **argv)
{
	return lf_cmd_dispatch("livefix kernel", kernel_commands, argc, argv);
}
