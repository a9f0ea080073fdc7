/* SPDX-License-Identifier: Apache-2.0 */
/* Measuring the device for the scheduling policy (policy.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "livefix/file.h"
#include "policy.h"

static int read_loadavg(const char *proc_dir, double *ret)
{
	char path[PATH_MAX], line[128];
	int r;

	snprintf(path, sizeof(path), "%s/loadavg", proc_dir);
	r = lf_read_line(path, line, sizeof(line));
	if (r < 0)
		return r;
	return sscanf(line, "%lf", ret) == 1 ? 0 : -EBADMSG;
}

/* Busy and total jiffies from the "cpu" line of /proc/stat. */
static int read_cpu(const char *proc_dir, unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8] = { 0 };
	char path[PATH_MAX], line[256];
	int r;

	snprintf(path, sizeof(path), "%s/stat", proc_dir);
	r = lf_read_line(path, line, sizeof(line));
	if (r < 0)
		return r;
	if (sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) < 4)
		return -EBADMSG;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	*busy = *total - v[3] - v[4]; /* idle and iowait */
	return 0;
}

static int sample_cpu(const char *proc_dir, int sample_ms)
{
	unsigned long long b0, t0, b1, t1;

	if (read_cpu(proc_dir, &b0, &t0) < 0)
		return -1;
	nanosleep(&(struct timespec){ sample_ms / 1000, (sample_ms % 1000) * 1000000L }, NULL);
	if (read_cpu(proc_dir, &b1, &t1) < 0 || t1 <= t0)
		return -1;
	return (int)((b1 - b0) * 100 / (t1 - t0));
}

static bool attr_is(const char *dir, const char *name, const char *attr, const char *value)
{
	char path[PATH_MAX], line[64];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, attr);
	return lf_read_line(path, line, sizeof(line)) >= 0 && !strcmp(line, value);
}

/* On battery: a battery discharging and no external supply online. */
static void read_battery(const char *dir, struct lf_sysstate *s)
{
	bool external = false, discharging = false;
	struct dirent *de;
	DIR *d = opendir(dir);

	s->battery_pct = -1;
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX], line[16];

		if (de->d_name[0] == '.')
			continue;
		if (attr_is(dir, de->d_name, "type", "Battery")) {
			snprintf(path, sizeof(path), "%s/%s/capacity", dir, de->d_name);
			if (lf_read_line(path, line, sizeof(line)) > 0 &&
			    (s->battery_pct < 0 || atoi(line) < s->battery_pct))
				s->battery_pct = atoi(line);
			if (attr_is(dir, de->d_name, "status", "Discharging"))
				discharging = true;
		} else if (attr_is(dir, de->d_name, "online", "1")) {
			external = true;
		}
	}
	closedir(d);
	s->on_battery = discharging && !external;
}

static void find_process(const struct lf_policy *p, const char *proc_dir, struct lf_sysstate *s)
{
	struct dirent *de;
	DIR *d;

	s->running[0] = '\0';
	if (p->n_processes == 0 || !(d = opendir(proc_dir)))
		return;
	while (!s->running[0] && (de = readdir(d))) {
		char path[PATH_MAX], comm[16];

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", proc_dir, de->d_name);
		if (lf_read_line(path, comm, sizeof(comm)) < 0)
			continue;
		for (int i = 0; i < p->n_processes; i++)
			if (!strcmp(comm, p->processes[i]))
				snprintf(s->running, sizeof(s->running), "%s", comm);
	}
	closedir(d);
}

/*
 * Runs the busy check through /bin/sh with no stdin, in its own process
 * group. A check that does not answer in time counts as busy (exit 124):
 * when in doubt, do not disturb the device.
 */
static int run_busy_cmd(const char *cmd, int timeout_ms)
{
	long waited = 0, step = 1;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (w < 0 && errno != EINTR)
			return -errno;
		if (waited >= timeout_ms) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 124;
		}
		nanosleep(&(struct timespec){ 0, step * 1000000L }, NULL);
		waited += step;
		if (step < 50)
			step *= 2;
	}
}

int lf_policy_probe(const struct lf_policy *p, const char *proc_dir, const char *power_supply_dir,
		    int sample_ms, struct lf_sysstate *ret)
{
	struct lf_sysstate s = { .cpu_pct = -1, .busy_cmd_status = -1, .battery_pct = -1 };
	int r;

	r = read_loadavg(proc_dir, &s.load1);
	if (r < 0)
		return r;
	if (p->max_cpu_pct >= 0)
		s.cpu_pct = sample_cpu(proc_dir, sample_ms);
	read_battery(power_supply_dir, &s);
	find_process(p, proc_dir, &s);
	if (p->busy_cmd[0]) {
		s.busy_cmd_status = run_busy_cmd(p->busy_cmd, p->busy_cmd_timeout_ms);
		if (s.busy_cmd_status < 0)
			return s.busy_cmd_status;
	}
	*ret = s;
	return 0;
}
