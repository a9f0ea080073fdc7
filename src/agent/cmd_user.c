/* SPDX-License-Identifier: Apache-2.0 */
/* livefix user apply|revert|list: userspace live patches in running processes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "livefix/buf.h"
#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/log.h"
#include "livefix/user.h"

#include "agent.h"
#include "trust_agent.h"
#include "user_store.h"

#define PIDS_MAX 4096

struct user_args {
	pid_t pid;
	bool all, json;
	struct lf_user_opts opts;
};

static int parse_uint(const char *prog, const char *opt, const char *s, unsigned max,
		      unsigned *ret)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > max)
		return lf_cmd_usage_error(prog, "%s: not a number up to %u: '%s'", opt, max, s);
	*ret = (unsigned)v;
	return 0;
}

/* parse_uint() for options whose 0 means nothing sensible. */
static int parse_positive(const char *prog, const char *opt, const char *s, unsigned max,
			  unsigned *ret)
{
	int r = parse_uint(prog, opt, s, max, ret);

	if (r == 0 && !*ret)
		r = lf_cmd_usage_error(prog, "%s: at least 1", opt);
	return r;
}

/*
 * Common options. Returns true when the command goes on, with the index of
 * the first operand; false with the exit code (help printed, or bad usage).
 */
static bool parse_opts(const char *prog, const char *usage, int argc, char **argv,
		       struct user_args *a, int *ret_index, int *ret_exit)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' }, { "all", no_argument, NULL, 'a' },
		{ "budget-ms", required_argument, NULL, 'b' }, { "retries", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lf_user_opts def = LF_USER_OPTS_DEFAULT;
	unsigned v;
	int c;

	*a = (struct user_args){ .opts = def };
	*ret_exit = LF_EXIT_USAGE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(prog, "--pid", optarg, 1u << 22, &v) || !v)
				return false;
			a->pid = (pid_t)v;
			break;
		case 'a': a->all = true; break;
		case 'j': a->json = true; break;
		case 'b':
			if (parse_positive(prog, "--budget-ms", optarg, 10000, &a->opts.budget_ms))
				return false;
			break;
		case 'r':
			if (parse_positive(prog, "--retries", optarg, 1000, &a->opts.retries))
				return false;
			break;
		case 'h':
			printf("usage: %s %s\n", prog, usage);
			*ret_exit = LF_EXIT_OK;
			return false;
		default:
			lf_cmd_usage_error(prog, "unknown option or missing value: '%s'", argv[optind - 1]);
			return false;
		}
	}
	*ret_index = optind;
	return true;
}


/*
 * One applier at a time on a device: between its two phases an apply
 * leaves a mapping that nothing jumps to yet, which another agent would
 * take for a leftover and unmap. The lock is released when we exit.
 */
static int lock_appliers(void)
{
	int r = lf_agent_lock_user();

	if (r < 0)
		lf_log_errno(r, "another livefix user command is running");
	return r;
}

static void print_result(const char *what, const char *id, const struct lf_user_result *r,
			 struct lf_json *j)
{
	if (j) {
		lf_json_object_begin(j);
		lf_json_kv_int(j, "pid", r->pid);
		lf_json_kv_string(j, "id", id);
		lf_json_kv_bool(j, "ok", r->err == 0);
		if (r->err)
			lf_json_kv_string(j, "error", r->msg);
		lf_json_kv_int(j, "exit", lf_exit_code(r->err));
		lf_json_kv_int(j, "attempts", r->attempts);
		lf_json_kv_int(j, "threads", r->threads);
		lf_json_kv_int(j, "pause_ns", (int64_t)r->pause_ns);
		lf_json_kv_int(j, "inject_ns", (int64_t)r->inject_ns);
		lf_json_object_end(j);
		return;
	}
	if (r->err) {
		lf_err("pid %d: %s: %s", (int)r->pid, id, r->msg[0] ? r->msg : lf_strerror(r->err));
		return;
	}
	printf("pid %d: %s %s at %#llx: pause %.3f ms (%u threads, %u attempt%s), injection %.3f ms\n",
	       (int)r->pid, what, id, (unsigned long long)r->map_addr, r->pause_ns / 1e6, r->threads,
	       r->attempts, r->attempts == 1 ? "" : "s", r->inject_ns / 1e6);
	if (r->msg[0])
		lf_warn("pid %d: %s", (int)r->pid, r->msg);
}

static int finish_json(struct lf_json *j, struct lf_buf *out)
{
	if (!j)
		return 0;
	lf_json_array_end(j);
	return lf_json_flush(j, stdout);
}

static int user_apply(int argc, char **argv)
{
	const char *prog = "livefix user apply";
	struct user_args a;
	char msg[LF_USER_MSG_MAX];
	struct lf_user_patch *p = NULL;
	int i, code, worst = 0;

	if (!parse_opts(prog, "FILE --pid PID | --all [--budget-ms N] [--retries N] [--json]", argc,
			argv, &a, &i, &code))
		return code;
	if (argc - i != 1 || a.all == (a.pid != 0))
		return lf_cmd_usage_error(prog, "give one patch FILE and either --pid PID or --all");
	int r = lf_user_patch_load(argv[i], &p, msg, sizeof(msg));
	if (r < 0) {
		lf_err("%s", msg);
		return lf_exit_code(r);
	}
	if ((r = lock_appliers()) < 0) {
		lf_user_patch_free(p);
		return lf_exit_code(r);
	}
	pid_t *pids = calloc(PIDS_MAX, sizeof(*pids));
	int n = !pids ? -ENOMEM : a.all ? lf_user_find_targets(p, pids, PIDS_MAX) : 1;
	if (n > 0 && !a.all)
		pids[0] = a.pid;
	if (n <= 0) {
		if (n == 0)
			lf_err("%s: no process maps build-id %s", lf_user_patch_id(p), lf_user_patch_target(p));
		else
			lf_log_errno(n, "%s: cannot list processes", lf_user_patch_id(p));
		free(pids);
		lf_user_patch_free(p);
		return lf_exit_code(n == 0 ? -EMEDIUMTYPE : n);
	}
	struct lf_buf out = LF_BUF_INIT(1 << 24);
	struct lf_json json, *j = a.json ? &json : NULL;
	if (j) {
		lf_json_init(j, &out, true);
		lf_json_array_begin(j);
	}
	for (int k = 0; k < n; k++) {
		struct lf_user_result res;
		r = lf_user_apply(p, pids[k], &a.opts, &res);
		print_result("applied", lf_user_patch_id(p), &res, j);
		if (r < 0 && !worst)
			worst = lf_exit_code(r);
	}
	finish_json(j, &out);
	free(pids);
	lf_user_patch_free(p);
	return worst;
}

static int user_revert(int argc, char **argv)
{
	const char *prog = "livefix user revert";
	struct user_args a;
	int i, code, worst = 0;

	if (!parse_opts(prog, "ID [--pid PID] [--budget-ms N] [--retries N] [--json]", argc, argv, &a,
			&i, &code))
		return code;
	if (argc - i != 1 || a.all)
		return lf_cmd_usage_error(prog, "give one patch ID and optionally --pid PID");
	int lock = lock_appliers();
	if (lock < 0)
		return lf_exit_code(lock);
	const char *id = argv[i];
	pid_t *pids = calloc(PIDS_MAX, sizeof(pid_t));
	int n = 1;

	if (!pids)
		return LF_EXIT_FAILURE;
	if (a.pid)
		pids[0] = a.pid;
	else
		n = lf_user_pids_running(id, pids, PIDS_MAX);
	if (n <= 0) {
		lf_err("%s: not applied in any process", id);
		free(pids);
		return LF_EXIT_FAILURE;
	}
	if (n > PIDS_MAX)
		n = PIDS_MAX;
	struct lf_buf out = LF_BUF_INIT(1 << 24);
	struct lf_json json, *j = a.json ? &json : NULL;
	if (j) {
		lf_json_init(j, &out, true);
		lf_json_array_begin(j);
	}
	for (int k = 0; k < n; k++) {
		struct lf_user_result res;
		int r = lf_user_revert(id, pids[k], &a.opts, &res);
		print_result("reverted", id, &res, j);
		if (r < 0 && !worst)
			worst = lf_exit_code(r);
	}
	finish_json(j, &out);
	free(pids);
	/* Reverted everywhere: new processes must not get it at exec either. */
	if (!a.pid && !worst) {
		int r = lf_agent_user_store_forget(lf_agent_state_dir(NULL), id);

		if (r < 0)
			lf_warn("%s: reverted, but its kept bundle could not be removed: %s", id,
				lf_strerror(r));
	}
	return worst;
}

static int list_one(const struct lf_user_applied *ap, void *ud)
{
	struct lf_json *j = ud;
	const char *state = ap->redirected == ap->nfuncs ? "applied" :
			    ap->redirected ? "partial" : "inactive";

	if (!j) {
		printf("%-8d %-24s %5u %-8s %u/%u %#llx %s %s\n", (int)ap->pid, ap->id, ap->level, state,
		       ap->redirected, ap->nfuncs, (unsigned long long)ap->map_addr, ap->build_id,
		       ap->object);
		return 0;
	}
	lf_json_object_begin(j);
	lf_json_kv_int(j, "pid", ap->pid);
	lf_json_kv_string(j, "id", ap->id);
	lf_json_kv_int(j, "level", ap->level);
	lf_json_kv_string(j, "state", state);
	lf_json_kv_int(j, "functions", ap->nfuncs);
	lf_json_kv_int(j, "redirected", ap->redirected);
	lf_json_key(j, "address");
	lf_json_uint(j, ap->map_addr);
	lf_json_kv_int(j, "size", (int64_t)ap->map_size);
	lf_json_kv_string(j, "build_id", ap->build_id);
	lf_json_kv_string(j, "object", ap->object);
	lf_json_object_end(j);
	return 0;
}

static int user_list(int argc, char **argv)
{
	const char *prog = "livefix user list";
	struct user_args a;
	int i, code;

	if (!parse_opts(prog, "[--pid PID] [--json]", argc, argv, &a, &i, &code))
		return code;
	if (argc != i || a.all)
		return lf_cmd_usage_error(prog, "no operands expected");
	struct lf_buf out = LF_BUF_INIT(1 << 24);
	struct lf_json json, *j = a.json ? &json : NULL;
	if (j) {
		lf_json_init(j, &out, true);
		lf_json_array_begin(j);
	} else {
		printf("%-8s %-24s %5s %-8s %s %s %s %s\n", "PID", "ID", "LEVEL", "STATE", "FUNCS",
		       "ADDRESS", "BUILD-ID", "OBJECT");
	}
	int r = lf_user_for_each_applied(a.pid, list_one, j);
	finish_json(j, &out);
	if (r < 0) {
		lf_log_errno(r, "pid %d", (int)a.pid);
		return lf_exit_code(r);
	}
	return LF_EXIT_OK;
}

static const struct lf_cmd user_commands[] = {
	{ "apply", user_apply, "apply a patch object to running processes" },
	{ "revert", user_revert, "revert an applied patch" },
	{ "list", user_list, "list the patches applied in running processes" },
	{ NULL, NULL, NULL },
};

#ifdef LF_TEST_HOOKS
/* livefix-test only: LIVEFIX_TEST_KILL_AT=<step> kills the agent there. */
static void kill_at(const char *step)
{
	const char *at = getenv("LIVEFIX_TEST_KILL_AT");

	if (at && !strcmp(at, step))
		raise(SIGKILL);
}
#endif

int cmd_user(int argc, char **argv)
{
#ifdef LF_TEST_HOOKS
	lf_user_step_hook = kill_at;
#endif
	return lf_cmd_dispatch("livefix user", user_commands, argc, argv);
}
