/* SPDX-License-Identifier: Apache-2.0 */
/*
 * livefix register URL --enrol-key KEY --root ROOT.json [--ca FILE]
 * livefix status [--json]
 *
 * Registration enrols the device with its portal and pins the repository
 * root; nothing is written unless the portal accepted the key.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "livefix/cmd.h"
#include "livefix/error.h"
#include "livefix/file.h"
#include "livefix/json.h"
#include "livefix/log.h"

#include "agent.h"
#include "fleet.h"
#include "trust_agent.h"

struct reg_opts {
	const char *state_dir, *key, *root, *ca;
};

static int enrol(struct lf_fleet_conf *c, const char *key, struct lf_why *why)
{
	struct lf_buf body = LF_BUF_INIT(4096), ans = LF_BUF_INIT(0);
	char host[256] = "", err[256] = "";
	const char *dev, *cred;
	struct lf_jv *v = NULL;
	int r;

	gethostname(host, sizeof(host) - 1);
	r = lf_buf_puts(&body, "{\"enrolment_key\":");
	r = r ?: lf_json_escape(&body, key);
	r = r ?: lf_buf_puts(&body, ",\"hostname\":");
	r = r ?: lf_json_escape(&body, host);
	r = r ?: lf_buf_putc(&body, '}');
	if (r == 0)
		r = lf_fleet_post(c, "/api/v1/enrol", body.data, body.len, &ans, err, sizeof(err));
	if (r == 401 || r == 403)
		lf_why_set(why, "the portal refused the enrolment key (wrong, revoked, used up or "
			   "expired)");
	else if (r < 0 || r != 201)
		lf_why_set(why, "%s", err);
	if (r == 201)
		r = lf_json_parse(ans.data, ans.len, &lf_json_default_limits, &v);
	else
		r = r < 0 ? r : -EKEYREJECTED;
	if (r == 0 && (lf_jv_get_str(v, "device", sizeof(c->device) - 1, &dev) < 0 ||
		       lf_jv_get_str(v, "credential", LF_FLEET_CRED_MAX, &cred) < 0)) {
		lf_why_set(why, "the portal's enrolment answer lacks a device or credential");
		r = -EBADMSG;
	}
	if (r == 0) {
		snprintf(c->device, sizeof(c->device), "%s", dev);
		snprintf(c->credential, sizeof(c->credential), "%s", cred);
	}
	lf_jv_free(v);
	lf_buf_release(&body);
	lf_buf_release(&ans);
	return r;
}

/* Copies the CA file into the state directory, so the device keeps it. */
static int keep_ca(const char *state, const char *ca, struct lf_fleet_conf *c, struct lf_why *why)
{
	char *data;
	size_t len;
	int r;

	if (!ca)
		return 0;
	r = lf_read_file(ca, 1 << 20, &data, &len);
	if (r < 0)
		return lf_why_set(why, "%s: %s", ca, strerror(-r)), r;
	snprintf(c->ca, sizeof(c->ca), "%s/portal-ca.pem", state);
	r = lf_write_file_atomic(c->ca, data, len, 0644);
	free(data);
	return r < 0 ? (lf_why_set(why, "%s: %s", c->ca, strerror(-r)), r) : 0;
}

static int do_register(const struct reg_opts *o, const char *url, struct lf_why *why)
{
	const char *state = lf_agent_state_dir(o->state_dir);
	struct lf_fleet_conf c = { 0 };
	size_t n = strlen(url);
	char *root = NULL;
	int r;

	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= sizeof(c.url) || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
		return lf_why_set(why, "%s: not an http(s) URL", url), -EINVAL;
	snprintf(c.url, sizeof(c.url), "%.*s", (int)n, url);
	snprintf(c.ca, sizeof(c.ca), "%s", o->ca ? o->ca : "");
	r = lf_read_file(o->root, LF_ROOT_MAX, &root, &n);
	if (r < 0)
		return lf_why_set(why, "%s: %s", o->root, strerror(-r)), r;
	r = enrol(&c, o->key, why);
	if (r == 0 && (r = lf_mkdir_p(state, 0755)) < 0)
		lf_why_set(why, "%s: %s", state, strerror(-r));
	if (r == 0)
		r = lf_tuf_pin_root(state, root, n, true, why);
	if (r == 0)
		r = keep_ca(state, o->ca, &c, why);
	if (r == 0 && (r = lf_fleet_conf_save(state, &c)) < 0)
		lf_why_set(why, "cannot save the registration in %s: %s", state, strerror(-r));
	if (r == 0)
		printf("registered with %s as device %s\n", c.url, c.device);
	free(root);
	return r;
}

int cmd_register(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "enrol-key", required_argument, NULL, 'k' },
		{ "root", required_argument, NULL, 'r' },
		{ "ca", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct reg_opts o = { 0 };
	struct lf_why why = { "" };
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o.key = optarg; break;
		case 'r': o.root = optarg; break;
		case 'c': o.ca = optarg; break;
		case 's': o.state_dir = optarg; break;
		case 'h':
			printf("usage: livefix register URL --enrol-key KEY --root ROOT.json "
			       "[--ca FILE] [--state-dir DIR]\n\n"
			       "Enrols this device with a livefix portal and pins the repository root.\n");
			return LF_EXIT_OK;
		default: return lf_cmd_usage_error("livefix register", "invalid option");
		}
	}
	if (argc - optind != 1 || !o.key || !o.root)
		return lf_cmd_usage_error("livefix register", "give URL, --enrol-key and --root");
	r = do_register(&o, argv[optind], &why);
	if (r < 0) {
		lf_err("register: %s: not registered: %s", argv[optind],
		       why.msg[0] ? why.msg : lf_strerror(r));
		return lf_exit_code(r);
	}
	return LF_EXIT_OK;
}
