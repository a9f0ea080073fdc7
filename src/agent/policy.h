/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LIVEFIX_AGENT_POLICY_H
#define LIVEFIX_AGENT_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/*
 * When may a device apply a patch? The portal sends each device a policy;
 * the agent decides on the device, from what it measures itself. Downloads
 * are not governed by this: they happen whenever the link allows.
 */

#define LF_POLICY_MAX_WINDOWS 8
#define LF_POLICY_MAX_PROCESSES 16

/* A weekly maintenance window in the policy's time zone. */
struct lf_window {
	unsigned days;        /* bit 0 = Sunday ... bit 6 = Saturday */
	int start_min;        /* minutes after local midnight, 0..1439 */
	int end_min;          /* exclusive; end < start wraps past midnight */
};

struct lf_policy {
	struct lf_window windows[LF_POLICY_MAX_WINDOWS];
	int n_windows;        /* 0: any time */
	char tz[64];          /* IANA zone of the windows; "" = device local time */
	double max_load;      /* defer while 1-min load average is above; <0 off */
	int max_cpu_pct;      /* defer while CPU busy % is above; <0 off */
	int min_battery_pct;  /* defer while discharging below; <0 off */
	char busy_cmd[256];   /* defer while this command exits non-zero; "" off */
	int busy_cmd_timeout_ms;
	char processes[LF_POLICY_MAX_PROCESSES][16]; /* defer while any runs (comm) */
	int n_processes;
	long max_deferral_s;  /* after this, critical patches apply anyway; <0 never */
	int64_t pin_level;    /* the group's pin: apply no kernel level above; <0 none */
};

/* What the device measured; filled by lf_policy_probe() or by tests. */
struct lf_sysstate {
	double load1;
	int cpu_pct;          /* -1 unknown */
	bool on_battery;
	int battery_pct;      /* -1 no battery */
	int busy_cmd_status;  /* exit status of busy_cmd; 0 = not busy; -1 not run */
	char running[16];     /* first listed process found running, or "" */
};

enum lf_decision_kind {
	LF_APPLY,
	LF_DEFER,
};

struct lf_decision {
	enum lf_decision_kind kind;
	bool overridden;      /* deferred too long: critical patch applies anyway */
	char reason[256];     /* why deferred (or why the deferral was overridden) */
	time_t retry_at;      /* for windows: when the next window opens */
};

void lf_policy_init(struct lf_policy *p);

/*
 * Decides for a patch whose first deferral was at deferred_since (0 if never
 * deferred) and whose severity is critical or not. Pure: no I/O, so every
 * rule is tested on its own.
 */
int lf_policy_decide(const struct lf_policy *p, const struct lf_sysstate *s, time_t now,
		     time_t deferred_since, bool critical, struct lf_decision *ret);

/* Whether now falls in a window; *ret_next is the next window start. */
int lf_policy_in_window(const struct lf_policy *p, time_t now, bool *ret_in, time_t *ret_next);

/*
 * Measures the device for the policy: load average, CPU busy over
 * sample_ms, battery from power_supply_dir (/sys/class/power_supply), the
 * listed processes from proc_dir, and the busy command (run only when set).
 */
int lf_policy_probe(const struct lf_policy *p, const char *proc_dir, const char *power_supply_dir,
		    int sample_ms, struct lf_sysstate *ret);

/* Parses "mon-fri 01:00-05:00" style windows; see docs/livefix.1. */
int lf_window_parse(const char *text, struct lf_window *ret);

#endif
