#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The web dashboard in a real browser: a portal on loopback with three
# enrolled devices, a bundle and a rollout halted by a failing canary;
# Debian's chromium driven by playwright-core (npm, cached under
# LIVEFIX_CACHE) logs in, reads every page (250 devices: the list pages),
# approves the rollout; then the API says it resumed. Without chromium, node or the npm registry: SKIP.
set -u
: "${LIVEFIX_BUILD:?}"
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cache=${LIVEFIX_CACHE:-$LIVEFIX_BUILD/../cache}
portal=$LIVEFIX_BUILD/src/portal/livefix-portal
W=$(mktemp -d /tmp/lf-dash.XXXXXX)
timer=
cleanup() {
	exec 2>/dev/null
	[ -n "$timer" ] && pkill -KILL -P "$timer" && kill -KILL "$timer" && wait "$timer"
	rm -rf "$W"
}
trap cleanup EXIT

pass() { echo "PASS: dashboard: $1"; }
fail() { echo "FAIL: dashboard: $1 ($2)"; }
[ -x "$portal" ] || { echo "FAIL: dashboard (not built: $portal)"; exit 1; }
[ -x /usr/bin/chromium ] || { echo "SKIP: dashboard (no /usr/bin/chromium: scripts/deps.sh installs it)"; exit 0; }
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "SKIP: dashboard (no node or npm: scripts/deps.sh installs them)"; exit 0; }

# playwright-core from npm, once; it drives the system's chromium.
pw=$cache/npm
if [ ! -f "$pw/node_modules/playwright-core/package.json" ]; then
	mkdir -p "$pw"
	if ! timeout 180 npm install --prefix "$pw" --no-audit --no-fund --loglevel=error \
		playwright-core@1 >"$W/npm.log" 2>&1; then
		why=$(grep -m1 -iE 'ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|network|request to' "$W/npm.log" ||
			tail -1 "$W/npm.log")
		echo "SKIP: dashboard (npm registry unreachable: $(head -c 200 <<<"$why"))"
		exit 0
	fi
fi

# --- a portal with devices and a halted rollout --------------------------
D=$W/portal
admin=$("$portal" init --data "$D" 2>/dev/null)
viewer=$("$portal" token create --data "$D" --role viewer 2>/dev/null)
op=$("$portal" token create --data "$D" --role operator 2>/dev/null)
mkdir -p "$W/repo/bundles"
for r in root targets snapshot timestamp; do
	echo "{\"signed\":{\"_type\":\"$r\",\"version\":1},\"signatures\":[]}" >"$W/repo/$r.json"
done
head -c 20000 /dev/urandom >"$W/repo/bundles/kp-1.lfb"
sha=$(sha256sum <"$W/repo/bundles/kp-1.lfb" | cut -c1-64)
cat >"$W/repo/bundles.json" <<JSON
[{"id":"kp-1","kind":"kernel","level":1,"sha256":"$sha",
  "target":{"build_id":"kb1","arch":"x86_64","release":"6.1.0-56-amd64"},
  "cves":[{"id":"CVE-2024-1086","severity":"high"}]}]
JSON
"$portal" publish --data "$D" --repo "$W/repo" --feed production >/dev/null 2>&1 ||
	fail "publish" "exit $?"
timeout -s KILL 600 "$portal" serve --data "$D" --listen 127.0.0.1:0 >"$W/serve.log" 2>&1 &
timer=$!
for _ in $(seq 100); do
	[ -s "$D/portal.port" ] && curl -sf --max-time 2 --cacert "$D/tls/cert.pem" \
		"https://127.0.0.1:$(cat "$D/portal.port")/healthz" >/dev/null && break
	sleep 0.1
done
base=https://127.0.0.1:$(cat "$D/portal.port" 2>/dev/null)
req() { # METHOD PATH TOKEN [BODY]
	curl -s --max-time 10 --cacert "$D/tls/cert.pem" -X "$1" -H "Authorization: Bearer $3" \
		-H 'Content-Type: application/json' ${4:+--data-binary "$4"} "$base$2"
}
js() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
key=$(req POST /api/v1/enrolment-keys "$admin" '{"group":"default"}' | js 'd["enrolment_key"]')
creds=() hosts=
for i in 1 2 3; do
	# dash-1 reports two userspace patches: the device list's column shows 2.
	user=
	[ "$i" = 1 ] && user=',"userspace":[{"build_id":"ub1","level":1,"bundle":"up-1"},{"build_id":"ub2","level":2,"bundle":"up-2"}]'
	c=$(curl -s --max-time 10 --cacert "$D/tls/cert.pem" -H 'Content-Type: application/json' \
		--data-binary "{\"enrolment_key\":\"$key\",\"hostname\":\"dash-$i\"}" "$base/api/v1/enrol" |
		js 'd["credential"]')
	creds+=("$c")
	hosts="$hosts dash-$i"
	req POST /api/v1/devices/self/checkin "$c" "{\"hostname\":\"dash-$i\",\"arch\":\"x86_64\",
		\"distro\":\"debian 12\",\"agent_version\":\"0.1.0\",\"kernel\":{\"release\":\"6.1.0-56-amd64\",
		\"build_id\":\"kb1\",\"level\":0},\"doctor\":\"ok\",\"policy_state\":\"idle\",\"uptime\":5$user}" >/dev/null
done
rid=$(req POST /api/v1/rollouts "$op" '{"bundle":"kp-1","feed":"production","group":"default","canary_percent":30,"error_threshold":0}' | js 'd["id"]')
for i in 0 1 2; do
	c=${creds[$i]}
	told=$(req POST /api/v1/devices/self/checkin "$c" "{\"hostname\":\"dash-$((i + 1))\",\"arch\":\"x86_64\",\"kernel\":{\"release\":\"6.1.0-56-amd64\",\"build_id\":\"kb1\",\"level\":0}}" |
		js '[x["bundle"] for x in d.get("install", [])]')
	if [ "$told" = "['kp-1']" ]; then
		req POST /api/v1/devices/self/events "$c" '{"events":[{"type":"failed","bundle":"kp-1","detail":"transition stalled"}]}' >/dev/null
		break
	fi
done
state=$(req GET "/api/v1/rollouts/$rid" "$viewer" | js 'd["state"]')
[ "$state" = halted ] && pass "setup: rollout $rid halted by a failing canary" ||
	{ fail "setup: rollout halted by a failing canary" "state '$state'"; exit 0; }

# --- 247 more devices in their own group: 250, so the list has 3 pages -----
req POST /api/v1/groups "$admin" '{"name":"bulk","feed":"production"}' >/dev/null
bkey=$(req POST /api/v1/enrolment-keys "$admin" '{"group":"bulk"}' | js 'd["enrolment_key"]')
bulk_err=$(python3 - "$D/portal.port" "$D/tls/cert.pem" "$bkey" 2>&1 <<'PY'
import http.client, json, ssl, sys
conn = http.client.HTTPSConnection("127.0.0.1", int(open(sys.argv[1]).read()), timeout=10,
                                   context=ssl.create_default_context(cafile=sys.argv[2]))
for i in range(1, 248):  # one kept-alive TLS connection
    conn.request("POST", "/api/v1/enrol", json.dumps({"enrolment_key": sys.argv[3], "hostname": "bulk-%03d" % i}),
                 {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    if r.status != 201:
        sys.exit("enrol %d: %d" % (i, r.status))
PY
)
n=$(curl -s --max-time 10 --cacert "$D/tls/cert.pem" -D - -o /dev/null -H "Authorization: Bearer $viewer" \
	"$base/api/v1/devices?limit=1" | tr -d '\r' | sed -n 's/^x-total-count: //Ip')
[ "$n" = 250 ] && pass "setup: 250 devices enrolled, the API counts them (X-Total-Count)" ||
	fail "setup: 250 devices enrolled, the API counts them (X-Total-Count)" "total '$n' $bulk_err"

# --- the browser ----------------------------------------------------------
URL=$base ADMIN=$admin VIEWER=$viewer RID=$rid HOSTS=${hosts# } NDEV=250 PW=$pw \
	timeout 180 node "$src/tests/dashboard/ui.mjs" 2>"$W/node.err"
rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "browser run" "exit $rc: $(head -c 300 "$W/node.err")"

# --- what the UI did, seen through the API --------------------------------
got=$(req GET "/api/v1/rollouts/$rid" "$viewer")
state=$(js 'd["state"]' <<<"$got") stage=$(js 'd["stage"]' <<<"$got")
[ "$state" = running ] && [ "$stage" != canary ] &&
	pass "the API shows the rollout resumed by the UI's approve (state $state, stage $stage)" ||
	fail "the API shows the rollout resumed by the UI's approve" "state $state stage $stage"
audit=$(req GET /api/v1/audit "$admin")
grep -q "/api/v1/rollouts/$rid/approve" <<<"$audit" &&
	pass "the approval is in the audit log" || fail "the approval is in the audit log" "${audit:0:200}"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$D/tls/cert.pem" "$base/dashboard/nope.js")
[ "$code" = 404 ] && pass "an unknown dashboard file is 404" || fail "an unknown dashboard file is 404" "$code"
exit 0
