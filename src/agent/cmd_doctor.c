/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix doctor: can live patching work on this device, and if not, why.
 * Kernel checks decide the exit status; userspace (ptrace) checks can only
 * warn, since kernel patching does not need them.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/json.h"

#include "agent.h"
#include "kconfig.h"
#include "kernel.h"

enum status { ST_OK, ST_WARN, ST_FAIL };

struct check {
	char name[48];
	enum status status;
	char detail[256];
};

#define MAX_CHECKS 24

struct doctor {
	struct check checks[MAX_CHECKS];
	int n;
	struct lf_kconfig config;
	bool have_config;
	bool user_blocked;	/* a ptrace or /proc/PID/mem check said no */
};

__attribute__((format(printf, 4, 5)))
static void add(struct doctor *d, const char *name, enum status st, const char *fmt, ...)
{
	struct check *c;
	va_list ap;

	if (d->n >= MAX_CHECKS)
		return;
	c = &d->checks[d->n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/*
 * A config option: from the config when we have it, else inferred from what
 * /sys or /proc show (infer_path exists means the option must be on).
 */
static void check_option(struct doctor *d, const char *sym, enum status missing,
			 const char *why, const char *infer_path)
{
	char name[48], val[64];

	snprintf(name, sizeof(name), "CONFIG_%s", sym);
	if (d->have_config) {
		if (lf_kconfig_get(&d->config, sym, val, sizeof(val)))
			add(d, name, ST_OK, "=%s", val);
		else
			add(d, name, missing, "not set: %s", why);
	} else if (infer_path && exists(infer_path)) {
		add(d, name, ST_OK, "inferred from %s", infer_path);
	} else {
		add(d, name, infer_path ? missing : ST_WARN, "unknown without the kernel config%s%s",
		    infer_path ? "; " : "", infer_path ? why : "");
	}
}

static void check_ftrace(struct doctor *d)
{
	char val[16];

	if (!d->have_config) {
		check_option(d, "DYNAMIC_FTRACE_WITH_REGS", ST_FAIL,
			     "live patches are attached through ftrace", LF_KLP_DIR);
		return;
	}
	if (lf_kconfig_get(&d->config, "DYNAMIC_FTRACE_WITH_REGS", val, sizeof(val)))
		add(d, "CONFIG_DYNAMIC_FTRACE_WITH_REGS", ST_OK, "=%s", val);
	else if (lf_kconfig_get(&d->config, "DYNAMIC_FTRACE_WITH_ARGS", val, sizeof(val)))
		add(d, "CONFIG_DYNAMIC_FTRACE_WITH_ARGS", ST_OK, "=%s", val);
	else
		add(d, "CONFIG_DYNAMIC_FTRACE_WITH_REGS", ST_FAIL,
		    "neither _WITH_REGS nor _WITH_ARGS: live patches are attached through ftrace");
}

static void check_signatures(struct doctor *d)
{
	char val[16], enforce[8] = "";
	bool forced = d->have_config && lf_kconfig_get(&d->config, "MODULE_SIG_FORCE", val, sizeof(val));

	lf_read_line("/sys/module/module/parameters/sig_enforce", enforce, sizeof(enforce));
	if (forced || enforce[0] == 'Y')
		add(d, "module signatures", ST_WARN,
		    "enforced (%s): patch modules must be signed with a key the kernel trusts",
		    forced ? "CONFIG_MODULE_SIG_FORCE" : "module.sig_enforce");
	else
		add(d, "module signatures", ST_OK, "not enforced: unsigned patch modules load (taint)");
}

static void check_lockdown(struct doctor *d)
{
	char line[128];
	const char *mode;

	if (lf_read_line("/sys/kernel/security/lockdown", line, sizeof(line)) < 0) {
		add(d, "lockdown", ST_OK, "no lockdown LSM");
		return;
	}
	mode = strchr(line, '[');
	if (!mode || !strncmp(mode, "[none]", 6))
		add(d, "lockdown", ST_OK, "none");
	else
		add(d, "lockdown", ST_WARN, "%.*s: only signed patch modules load",
		    (int)strcspn(mode + 1, "]"), mode + 1);
}

static void check_privilege(struct doctor *d)
{
	if (lf_kernel_can_load_modules())
		add(d, "privilege", ST_OK, geteuid() == 0 ? "root" : "CAP_SYS_MODULE");
	else
		add(d, "privilege", ST_FAIL, "loading live patches needs root or CAP_SYS_MODULE");
}

/* Userspace patching writes code through /proc/PID/mem: try it on ourselves. */
static void check_proc_mem(struct doctor *d)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char one = 1;
	int fd;

	if (p == MAP_FAILED) {
		add(d, "/proc/PID/mem", ST_WARN, "cannot test: mmap failed");
		d->user_blocked = true;
		return;
	}
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && pwrite(fd, &one, 1, (off_t)(uintptr_t)p) == 1 && p[0] == 1)
		add(d, "/proc/PID/mem", ST_OK, "writable (read-only pages included)");
	else {
		add(d, "/proc/PID/mem", ST_WARN, "not writable (%s): userspace patching unavailable",
		    strerror(errno));
		d->user_blocked = true;
	}
	if (fd >= 0)
		close(fd);
	munmap(p, (size_t)page);
}

static void check_ptrace(struct doctor *d)
{
	char scope[8];

	if (lf_read_line("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof(scope)) < 0) {
		add(d, "ptrace", ST_OK, "no Yama restrictions");
	} else if (scope[0] == '3') {
		add(d, "ptrace", ST_WARN, "Yama ptrace_scope=3: ptrace disabled, userspace patching unavailable");
		d->user_blocked = true;
	} else if (scope[0] == '2' && geteuid() != 0) {
		add(d, "ptrace", ST_WARN, "Yama ptrace_scope=2: needs CAP_SYS_PTRACE");
		d->user_blocked = true;
	} else {
		add(d, "ptrace", ST_OK, "Yama ptrace_scope=%s", scope);
	}
}

static void run_checks(struct doctor *d)
{
	struct utsname u;

	uname(&u);
	add(d, "kernel", ST_OK, "%s (%s)", u.release, u.machine);
	d->have_config = lf_kconfig_load(u.release, &d->config) == 0;
	if (d->have_config)
		add(d, "kernel config", ST_OK, "%s", d->config.source);
	else
		add(d, "kernel config", ST_WARN,
		    "not found (/proc/config.gz, /boot/config-%s): inferring from /sys and /proc", u.release);
	check_option(d, "LIVEPATCH", ST_FAIL, "the kernel cannot take live patches", LF_KLP_DIR);
	check_ftrace(d);
	check_option(d, "KALLSYMS_ALL", ST_FAIL, "patches cannot find the kernel's symbols", LF_KLP_DIR);
	check_option(d, "MODULES", ST_FAIL, "patches are modules", "/proc/modules");
	check_option(d, "MODULE_UNLOAD", ST_WARN, "patches cannot be removed once loaded", NULL);
	if (exists(LF_KLP_DIR))
		add(d, LF_KLP_DIR, ST_OK, "present");
	else
		add(d, LF_KLP_DIR, ST_FAIL, "missing: no live patching in this kernel");
	check_signatures(d);
	check_lockdown(d);
	check_privilege(d);
	check_ptrace(d);
	check_proc_mem(d);
}

static bool kernel_ok(const struct doctor *d)
{
	for (int i = 0; i < d->n; i++)
		if (d->checks[i].status == ST_FAIL)
			return false;
	return true;
}

static const char *const status_names[] = { "ok", "warn", "fail" };

static int print_json(const struct doctor *d)
{
	struct lf_buf out = LF_BUF_INIT(1u << 20);
	struct lf_json j;

	lf_json_init(&j, &out, true);
	lf_json_object_begin(&j);
	lf_json_kv_bool(&j, "kernel_livepatch", kernel_ok(d));
	lf_json_kv_bool(&j, "user_livepatch", !d->user_blocked);
	lf_json_key(&j, "checks");
	lf_json_array_begin(&j);
	for (int i = 0; i < d->n; i++) {
		lf_json_object_begin(&j);
		lf_json_kv_string(&j, "name", d->checks[i].name);
		lf_json_kv_string(&j, "status", status_names[d->checks[i].status]);
		lf_json_kv_string(&j, "detail", d->checks[i].detail);
		lf_json_object_end(&j);
	}
	lf_json_array_end(&j);
	lf_json_object_end(&j);
	return lf_json_flush(&j, stdout);
}

void lf_agent_doctor_summary(char *ret, size_t size)
{
	struct doctor *d = calloc(1, sizeof(*d));
	size_t n;

	if (!d) {
		snprintf(ret, size, "unknown");
		return;
	}
	run_checks(d);
	/* "ok", or "fail: <first failed checks>", bounded by size. */
	snprintf(ret, size, "%s", kernel_ok(d) ? "ok" : "fail:");
	for (int i = 0; i < d->n && !kernel_ok(d); i++) {
		n = strlen(ret);
		if (d->checks[i].status == ST_FAIL && n + 2 < size)
			snprintf(ret + n, size - n, " %s", d->checks[i].name);
	}
	if (d->have_config)
		lf_kconfig_release(&d->config);
	free(d);
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor d = { 0 };
	bool json = false;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h':
			printf("usage: livefix doctor [--json]\n\n"
			       "Checks whether live patching can work here and says why not.\n"
			       "Exit status 0 only if kernel live patches can be applied.\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix doctor", "invalid option");
		}
	}
	run_checks(&d);
	if (json) {
		r = print_json(&d);
	} else {
		for (int i = 0; i < d.n; i++)
			printf("%-5s %-34s %s\n", status_names[d.checks[i].status], d.checks[i].name,
			       d.checks[i].detail);
		printf("kernel live patching: %s\n", kernel_ok(&d) ? "possible" : "NOT possible");
		printf("userspace live patching: %s\n", d.user_blocked ? "NOT possible" : "possible");
	}
	if (d.have_config)
		lf_kconfig_release(&d.config);
	if (r < 0)
		return lf_exit_code(r);
	return kernel_ok(&d) ? LF_EXIT_OK : LF_EXIT_UNSUPPORTED;
}
