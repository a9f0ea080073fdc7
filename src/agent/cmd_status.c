/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix status [--json]: the registration, the last check-in, the patch
 * applied, queued events, and the policy with what it decides right now.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/json.h"
#include "livefix/log.h"

#include "agent.h"
#include "fleet.h"
#include "trust_agent.h"

struct status {
	struct lf_fleet_conf conf;
	struct lf_fleet_state fs;
	struct lf_applied applied;
	bool current, have_policy;
	int queued;
	struct lf_policy policy;
	struct lf_decision dec;
};

static void gather(const char *state, const char *sysroot, struct status *s)
{
	struct lf_sysstate sys;

	lf_fleet_conf_load(state, &s->conf);
	lf_fleet_state_load(state, &s->fs);
	if (lf_applied_load(state, LF_KIND_KERNEL, &s->applied) == 0)
		s->current = lf_applied_is_current(&s->applied, sysroot);
	s->queued = lf_fleet_events_count(state);
	s->have_policy = lf_fleet_policy_load(state, &s->policy) == 0;
	if (!s->have_policy)
		lf_policy_init(&s->policy);
	s->dec.kind = LF_APPLY;
	if (lf_policy_probe(&s->policy, "/proc", "/sys/class/power_supply", 100, &sys) == 0)
		lf_policy_decide(&s->policy, &sys, time(NULL),
				 s->fs.ndeferred ? (time_t)s->fs.deferred[0].since : 0, false,
				 &s->dec);
}

static void print_json(const struct status *s)
{
	struct lf_buf out = LF_BUF_INIT(1 << 20);
	struct lf_json j;

	lf_json_init(&j, &out, true);
	lf_json_object_begin(&j);
	lf_json_kv_bool(&j, "registered", s->conf.url[0] != '\0');
	lf_json_kv_string(&j, "portal", s->conf.url);
	lf_json_kv_string(&j, "device", s->conf.device);
	lf_json_kv_string(&j, "feed", s->fs.feed);
	lf_json_kv_int(&j, "last_checkin", s->fs.last_checkin);
	lf_json_kv_int(&j, "next_checkin", s->fs.next_checkin);
	lf_json_kv_int(&j, "failures", s->fs.failures);
	lf_json_kv_string(&j, "last_result", s->fs.last_result);
	lf_json_key(&j, "applied");
	if (s->applied.have) {
		lf_json_object_begin(&j);
		lf_json_kv_string(&j, "id", s->applied.id);
		lf_json_kv_int(&j, "level", s->applied.level);
		lf_json_kv_bool(&j, "loaded_this_boot", s->current);
		lf_json_object_end(&j);
	} else {
		lf_json_null(&j);
	}
	lf_json_kv_int(&j, "queued_events", s->queued < 0 ? 0 : s->queued);
	lf_json_kv_bool(&j, "policy_received", s->have_policy);
	lf_json_kv_int(&j, "maintenance_windows", s->policy.n_windows);
	/* The oldest deferral, and all of them. */
	lf_json_kv_string(&j, "pending", s->fs.ndeferred ? s->fs.deferred[0].id : "");
	lf_json_key(&j, "deferred");
	lf_json_array_begin(&j);
	for (size_t i = 0; i < s->fs.ndeferred; i++) {
		lf_json_object_begin(&j);
		lf_json_kv_string(&j, "id", s->fs.deferred[i].id);
		lf_json_kv_int(&j, "since", s->fs.deferred[i].since);
		lf_json_kv_string(&j, "reason", s->fs.deferred[i].reason);
		lf_json_object_end(&j);
	}
	lf_json_array_end(&j);
	lf_json_kv_string(&j, "decision", s->dec.kind == LF_DEFER ? "defer" : "apply");
	lf_json_kv_string(&j, "reason", s->dec.kind == LF_DEFER ? s->dec.reason : "");
	lf_json_object_end(&j);
	lf_json_flush(&j, stdout);
}

static void print_text(const struct status *s)
{
	char when[32] = "never";
	time_t t = (time_t)s->fs.last_checkin;
	struct tm tm;

	if (t && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("portal:        %s (device %s, feed %s)\n", s->conf.url, s->conf.device,
	       s->fs.feed[0] ? s->fs.feed : "-");
	printf("last check-in: %s, %s%s\n", when, s->fs.last_result[0] ? s->fs.last_result : "-",
	       s->fs.failures ? " (portal unreachable, backing off)" : "");
	if (s->applied.have)
		printf("applied:       %s level %lld%s\n", s->applied.id, (long long)s->applied.level,
		       s->current ? "" : " (not loaded in this boot)");
	else
		printf("applied:       none\n");
	printf("queued events: %d\n", s->queued < 0 ? 0 : s->queued);
	printf("policy:        %s, %d maintenance window(s)\n",
	       s->have_policy ? "from the portal" : "none received", s->policy.n_windows);
	for (size_t i = 0; i < s->fs.ndeferred; i++)
		printf("deferred:      %s: %s\n", s->fs.deferred[i].id, s->fs.deferred[i].reason);
	printf("decision now:  %s%s%s\n", s->dec.kind == LF_DEFER ? "defer" : "apply",
	       s->dec.kind == LF_DEFER ? ": " : "", s->dec.kind == LF_DEFER ? s->dec.reason : "");
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = NULL;
	struct status s = { 0 };
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's': state_dir = optarg; break;
		case 'h':
			printf("usage: livefix status [--json] [--state-dir DIR]\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix status", "invalid option");
		}
	}
	if (optind != argc)
		return lf_cmd_usage_error("livefix status", "unexpected argument");
	gather(lf_agent_state_dir(state_dir), lf_agent_sysroot(NULL), &s);
	if (!s.conf.url[0] && !json) {
		printf("not registered (livefix register URL --enrol-key KEY --root ROOT.json)\n");
		return LF_EXIT_OK;
	}
	json ? print_json(&s) : print_text(&s);
	return LF_EXIT_OK;
}
