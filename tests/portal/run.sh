#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end: a real livefix-portal on loopback over TLS 1.3, driven with the
# curl CLI as devices and admins would, once on SQLite and once on a
# throwaway PostgreSQL cluster. Every server it starts is stopped on exit.
set -u
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LIVEFIX_BUILD:-$src/build/main}
portal=$build/src/portal/livefix-portal
cluster=$src/tests/portal/pg_cluster.sh

work=$(mktemp -d /tmp/lfportal-e2e.XXXXXX)
pids=()
pgdir=
cleanup() {
	exec 2>/dev/null # no "Killed" job notices for the timers
	# Portals first (the later pids), then their timers.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -9 "${pids[$i]}" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$pgdir" ] && "$cluster" stop "$pgdir"
	rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 (${2:-})"; }
# check NAME REASON COMMAND...: PASS when the command succeeds.
check() { local name=$1 why=$2; shift 2; if "$@"; then pass "$name"; else fail "$name" "$why"; fi; }

if [ ! -x "$portal" ]; then
	echo "FAIL: portal (not built: $portal)"
	exit 1
fi

# The OpenAPI document lists exactly the routes of the route table.
api_doc_in_sync() {
	python3 - "$src/docs/api.yaml" <("$portal" routes) <<'PY'
import re, sys
doc, path = set(), None
for line in open(sys.argv[1]):
    m = re.match(r'^  (/\S*):\s*$', line)
    if m:
        path = m.group(1); continue
    m = re.match(r'^    (get|post|put|delete|patch):', line)
    if m and path:
        doc.add(m.group(1).upper() + ' ' + path)
    if re.match(r'^\S', line):
        path = None
code = {l.strip() for l in open(sys.argv[2]) if l.strip()}
for r in sorted(code - doc): print('  route missing from api.yaml:', r)
for r in sorted(doc - code): print('  api.yaml path not served:', r)
sys.exit(0 if code == doc and code else 1)
PY
}
check "api.yaml lists every route" "docs/api.yaml differs from 'livefix-portal routes'" api_doc_in_sync

# --- HTTP helpers: req METHOD PATH TOKEN [BODY] sets CODE and BODY ---------
req() {
	local m=$1 p=$2 t=$3 d=${4-}
	local args=(-s --max-time 10 --cacert "$data/tls/cert.pem" -X "$m" -o "$work/body" -w '%{http_code}')
	[ -n "$t" ] && args+=(-H "Authorization: Bearer $t")
	[ -n "$d" ] && args+=(-H 'Content-Type: application/json' --data-binary "$d")
	CODE=$(curl "${args[@]}" "$base$p")
	BODY=$(cat "$work/body" 2>/dev/null)
}
# js EXPR: evaluates a Python expression over the last body, bound to d.
js() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$BODY" "$1" 2>/dev/null; }

# Starts a portal under a 15-minute kill timer; portal_pid is the portal
# itself (the child of timeout), so kill -9 hits the server, not the timer.
start_portal() { # data-dir
	local tpid
	rm -f "$1/portal.port"
	timeout -s KILL 900 "$portal" serve --data "$1" --listen 127.0.0.1:0 --checkin-interval 600 \
		>>"$1/serve.log" 2>&1 &
	tpid=$!
	disown "$tpid" # reaped silently; a timer killed with its portal prints no notice
	portal_timer=$tpid
	pids+=("$tpid")
	portal_pid=
	for _ in $(seq 50); do
		portal_pid=$(pgrep -P "$tpid" -x livefix-portal) && break
		sleep 0.1
	done
	[ -n "$portal_pid" ] || return 1
	pids+=("$portal_pid")
	for _ in $(seq 100); do
		if [ -s "$1/portal.port" ]; then
			base=https://127.0.0.1:$(cat "$1/portal.port")
			req GET /healthz "" && [ "$CODE" = 200 ] && return 0
		fi
		kill -0 "$portal_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$1/serve.log"
	return 1
}

# A repository as a build host would publish it (the portal does not verify
# it; tests/fleet checks the real thing end to end).
make_repo() { # dir
	mkdir -p "$1/bundles"
	echo '{"signed":{"_type":"root","version":1},"signatures":[]}' >"$1/root.json"
	echo '{"signed":{"_type":"targets","version":1},"signatures":[]}' >"$1/targets.json"
	echo '{"signed":{"_type":"snapshot","version":1},"signatures":[]}' >"$1/snapshot.json"
	echo '{"signed":{"_type":"timestamp","version":1},"signatures":[]}' >"$1/timestamp.json"
	head -c 30000 /dev/urandom >"$1/bundles/kp-1.lfb"
	local sha
	sha=$(sha256sum "$1/bundles/kp-1.lfb" | cut -d' ' -f1)
	cat >"$1/bundles.json" <<JSON
[{"id":"kp-1","kind":"kernel","level":1,"sha256":"$sha",
  "target":{"build_id":"kb1","arch":"x86_64","release":"6.1.0-56-amd64"},
  "cves":[{"id":"CVE-2024-1086","severity":"high"},{"id":"CVE-2024-0001","severity":"medium"}]}]
JSON
	echo "$sha"
}

inventory() { # timestamp-etag policy-etag
	printf '{"hostname":"dev","arch":"x86_64","distro":"debian 12","agent_version":"0.1.0",'
	printf '"kernel":{"release":"6.1.0-56-amd64","build_id":"kb1","level":%s},' "${3:-0}"
	printf '"doctor":"ok","policy_state":"idle","uptime":%s,' "$RANDOM"
	printf '"timestamp_etag":"%s","policy_etag":"%s"}' "${1//\"/\\\"}" "$2"
}

ndev=10
flow() { # backend [db-url]
	local b=$1 db=${2-} creds=() uids=() admin viewer op key okey
	data=$work/$b
	local P="$b:"

	if [ -n "$db" ]; then
		admin=$("$portal" init --data "$data" --db "$db" 2>/dev/null)
	else
		admin=$("$portal" init --data "$data" 2>/dev/null)
	fi
	check "$P init prints the first admin token" "got '$admin'" [ "${admin:0:4}" = lfa_ ]
	check "$P init refuses to run twice" "second init succeeded" \
		bash -c "! '$portal' init --data '$data' >/dev/null 2>&1"
	check "$P serve --check-config accepts the new data directory" "exit $?" \
		"$portal" serve --data "$data" --check-config
	check "$P serve --check-config refuses a bad address" "accepted" \
		bash -c "! '$portal' serve --data '$data' --check-config --listen nowhere 2>/dev/null"
	viewer=$("$portal" token create --data "$data" --role viewer 2>/dev/null)
	op=$("$portal" token create --data "$data" --role operator --label ci 2>/dev/null)
	if ! start_portal "$data"; then
		fail "$P portal starts" "see serve.log above"
		return
	fi
	pass "$P portal starts over TLS with its own certificate"
	check "$P TLS 1.2 is refused" "TLS 1.2 handshake succeeded" \
		bash -c "! curl -s --max-time 5 --cacert '$data/tls/cert.pem' --tls-max 1.2 $base/healthz >/dev/null"
	req GET /healthz ""
	check "$P health names the backend" "$BODY" [ "$(js 'd["store"]')" = "$b" ]

	# --- roles -------------------------------------------------------------
	req GET /api/v1/groups ""
	check "$P no token: 401 JSON" "$CODE $BODY" [ "$CODE" = 401 -a -n "$(js 'd["error"]')" ]
	req GET /api/v1/groups "lfa_forged"
	check "$P unknown token: 401" "$CODE" [ "$CODE" = 401 ]
	req GET /api/v1/groups "$viewer"
	check "$P viewer reads groups" "$CODE $BODY" [ "$CODE" = 200 -a "$(js 'd[0]["name"]')" = default ]
	# Security headers on API answers, a refusal included (docs/PORTAL.md).
	sec_headers() { # PATH TOKEN: every header present with the value docs/PORTAL.md gives
		curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o /dev/null -D "$work/headers" \
			${2:+-H "Authorization: Bearer $2"} "$base$1" || { echo "curl failed"; return 1; }
		python3 - "$work/headers" <<'PY'
import sys
h = {}
for line in open(sys.argv[1], newline=''):
    k, sep, v = line.partition(':')
    if sep:
        h.setdefault(k.strip().lower(), []).append(v.strip())
want = {
    'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=31536000'}
bad = [f'{k}: {h.get(k)}' for k, v in want.items() if h.get(k) != [v]]
print('; '.join(bad), end='')
sys.exit(1 if bad else 0)
PY
	}
	local why rc
	why=$(sec_headers /api/v1/groups "$viewer"); rc=$?
	check "$P an API answer has the security headers (CSP, nosniff, DENY, no-referrer, HSTS)" \
		"$why" [ $rc = 0 ]
	why=$(sec_headers /api/v1/groups ""); rc=$?
	check "$P so has a refusal (401)" "$why" [ $rc = 0 ]
	req POST /api/v1/groups "$viewer" '{"name":"x","feed":"production"}'
	check "$P viewer cannot write: 403" "$CODE" [ "$CODE" = 403 ]
	req POST /api/v1/enrolment-keys "$op" '{"group":"default"}'
	check "$P operator cannot create enrolment keys: 403" "$CODE" [ "$CODE" = 403 ]
	req POST /api/v1/feeds "$admin" '{"name":"staging"}'
	req POST /api/v1/groups "$op" '{"name":"lab","feed":"staging"}'
	check "$P operator creates a group on another feed" "$CODE $BODY" [ "$CODE" = 201 ]

	# --- enrolment ---------------------------------------------------------
	req POST /api/v1/enrolment-keys "$admin" '{"group":"default","label":"factory"}'
	key=$(js 'd["enrolment_key"]')
	req POST /api/v1/enrolment-keys "$admin" '{"group":"lab","max_uses":1}'
	okey=$(js 'd["enrolment_key"]')
	for i in $(seq "$ndev"); do
		req POST /api/v1/enrol "" "{\"enrolment_key\":\"$key\",\"hostname\":\"dev$i\"}"
		creds+=("$(js 'd["credential"]')")
		uids+=("$(js 'd["device"]')")
	done
	check "$P $ndev devices enrol with the right key" "last: $CODE $BODY" \
		[ "$CODE" = 201 -a "${#creds[@]}" = "$ndev" -a "${creds[0]:0:4}" = lfd_ ]
	req POST /api/v1/enrol "" "{\"enrolment_key\":\"lfe_wrongwrongwrongwrongwrongwrongwrongwrongwro\"}"
	check "$P wrong enrolment key: 401" "$CODE $BODY" [ "$CODE" = 401 ]
	req POST /api/v1/enrol "" "{\"enrolment_key\":\"$okey\"}"
	local labdev; labdev=$(js 'd["credential"]')
	req POST /api/v1/enrol "" "{\"enrolment_key\":\"$okey\"}"
	check "$P single-use key refuses a second device" "$CODE" [ "$CODE" = 401 ]
	# The device list pages: the third page of 4 of 11 devices, and their count.
	local total
	total=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -D - -o "$work/body" \
		-H "Authorization: Bearer $viewer" "$base/api/v1/devices?limit=4&offset=8" |
		tr -d '\r' | sed -n 's/^x-total-count: //Ip')
	BODY=$(cat "$work/body")
	check "$P device list: limit and offset page it, X-Total-Count counts all" "total '$total' $BODY" \
		[ "$total" = $((ndev + 1)) -a "$(js '[x["hostname"] for x in d]')" = "['dev9', 'dev10', None]" \
		-a "$(js '[x["user_patches"] for x in d]')" = "[0, 0, 0]" ]
	total=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -D - -o "$work/body" \
		-H "Authorization: Bearer $viewer" "$base/api/v1/devices?group=lab&limit=5" |
		tr -d '\r' | sed -n 's/^x-total-count: //Ip')
	BODY=$(cat "$work/body")
	check "$P device list of one group: its device, its count" "total '$total' $BODY" \
		[ "$total" = 1 -a "$(js '[x["group"] for x in d]')" = "['lab']" ]
	req GET "/api/v1/devices?limit=1001" "$viewer"
	check "$P device list: a limit over 1000 is refused" "$CODE" [ "$CODE" = 400 ]
	req POST /api/v1/enrol "" '{"enrolment_key": '
	check "$P malformed JSON: 400 with a reason" "$CODE $BODY" [ "$CODE" = 400 -a -n "$(js 'd["error"]')" ]
	head -c 70000 /dev/zero | tr '\0' 'a' >"$work/big"
	CODE=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o "$work/body" -w '%{http_code}' \
		-H "Authorization: Bearer ${creds[0]}" --data-binary @"$work/big" "$base/api/v1/devices/self/checkin")
	check "$P 70 KiB device body: 413" "$CODE" [ "$CODE" = 413 ]
	CODE=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o "$work/body" -w '%{http_code}' \
		-H "Authorization: Bearer ${creds[0]}" -H 'Transfer-Encoding: chunked' \
		--data-binary @"$work/big" "$base/api/v1/devices/self/checkin")
	check "$P 70 KiB chunked body (no length): 413" "$CODE" [ "$CODE" = 413 ]
	head -c 3000000 /dev/zero >"$work/huge"
	CODE=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o "$work/body" -w '%{http_code}' \
		-H "Authorization: Bearer ${creds[0]}" --data-binary @"$work/huge" "$base/api/v1/devices/self/checkin")
	check "$P 3 MB device body: 413 before the body is sent" "$CODE" [ "$CODE" = 413 ]
	req GET /api/v1/devices "${creds[0]}"
	check "$P a device credential opens no admin endpoint" "$CODE" [ "$CODE" = 403 ]
	req GET "/api/v1/devices/${uids[1]}" "${creds[0]}"
	check "$P a device cannot read another device" "$CODE" [ "$CODE" = 403 ]
	req GET /nowhere "$admin"
	check "$P unknown path: 404 JSON" "$CODE $BODY" [ "$CODE" = 404 -a -n "$(js 'd["error"]')" ]
	req POST /nowhere "$admin" '{"a":1}'
	check "$P unknown path with a body: 404 JSON" "$CODE $BODY" [ "$CODE" = 404 -a -n "$(js 'd["error"]')" ]
	req DELETE /api/v1/groups "$admin"
	check "$P wrong method: 405" "$CODE" [ "$CODE" = 405 ]
	# Malformed HTTP straight over TLS: a garbage request line, a 100 KiB header.
	local hp=${base##*:}
	printf 'BLAH /\x01\x02 HTTP/9.9\r\nHost: x\r\n\r\n' |
		timeout 5 openssl s_client -quiet -connect "127.0.0.1:$hp" >/dev/null 2>&1
	{ printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: '; head -c 102400 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } |
		timeout 5 openssl s_client -quiet -connect "127.0.0.1:$hp" >"$work/raw" 2>/dev/null
	req GET /healthz ""
	check "$P malformed HTTP is refused and the portal lives on" "$CODE" \
		[ "$CODE" = 200 -a "$(head -c 12 "$work/raw")" != "HTTP/1.1 200" ]
	req POST /api/v1/devices/self/checkin "${creds[0]}" '{"hostname":["not","a","string"]}'
	check "$P bad inventory: 400 naming the problem" "$CODE $BODY" [ "$CODE" = 400 ]

	# --- check-in and the repository ---------------------------------------
	local pol ts sha i
	for i in $(seq 0 $((ndev - 1))); do
		req POST /api/v1/devices/self/checkin "${creds[$i]}" "$(inventory '' '')"
	done
	check "$P check-in answers when to come back (600 s +- 10%)" "$CODE $BODY" \
		python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(not 540 <= d["next_checkin"] <= 660)' "$BODY"
	pol=$(js 'd["policy_etag"]')
	sha=$(make_repo "$work/repo-$b")
	check "$P publish a signed repository directory" "publish failed" \
		"$portal" publish --data "$data" --repo "$work/repo-$b" --feed production
	req POST /api/v1/devices/self/checkin "${creds[0]}" "$(inventory '' "$pol")"
	ts=$(js 'd["timestamp_etag"]')
	check "$P check-in tells a device about new metadata" "$BODY" [ "$(js 'd["update"]')" = True -a -n "$ts" ]
	req GET /repo/production/timestamp.json "${creds[0]}"
	# The portal re-signed it with its online timestamp key (version 2 over the build host's 1).
	check "$P device fetches timestamp.json signed by the portal" "$CODE $BODY" \
		python3 -c 'import hashlib,json,sys; d=json.loads(sys.argv[1]); k=hashlib.sha256(open(sys.argv[2],"rb").read().strip()).hexdigest(); sys.exit(not (d["signed"]["_type"] == "timestamp" and d["signed"]["version"] == 2 and d["signatures"][0]["keyid"] == k))' "$BODY" "$data/keys/timestamp.key.pub"
	CODE=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer ${creds[0]}" -H "If-None-Match: $ts" "$base/repo/production/timestamp.json")
	check "$P If-None-Match with the ETag: 304" "$CODE" [ "$CODE" = 304 ]
	CODE=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o "$work/bundle" -w '%{http_code}' \
		-H "Authorization: Bearer ${creds[0]}" "$base/repo/production/bundles/$sha.lfb")
	check "$P device downloads the bundle by hash" "$CODE" cmp -s "$work/bundle" "$work/repo-$b/bundles/kp-1.lfb"
	req GET /repo/production/timestamp.json "$labdev"
	check "$P a device of another feed cannot read this feed" "$CODE" [ "$CODE" = 404 ]
	# Idle: the device has the current metadata and policy.
	local sent got
	inventory "$ts" "$pol" >"$work/idle.json"
	sent=$(stat -c %s "$work/idle.json")
	local hdr
	read -r got hdr < <(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o "$work/body" \
		-w '%{size_download} %{size_header}\n' \
		-H "Authorization: Bearer ${creds[1]}" --data-binary @"$work/idle.json" \
		"$base/api/v1/devices/self/checkin")
	echo "$P idle check-in: request body $sent bytes, answer $hdr bytes of headers and $got of body: $(cat "$work/body")"
	check "$P idle check-in answer is small (< 200 bytes)" "$got bytes" [ "$got" -lt 200 ]
	check "$P ... and so are its headers (< 200 bytes: no browser headers for an agent)" "$hdr bytes" \
		[ "${hdr:-999}" -lt 200 ]

	# --- rollout with a failing canary -------------------------------------
	req POST /api/v1/rollouts "$op" '{"bundle":"kp-1","feed":"production","group":"default","canary_percent":20,"error_threshold":0}'
	local rid; rid=$(js 'd["id"]')
	check "$P operator starts a rollout in the canary stage" "$CODE $BODY" [ "$CODE" = 201 -a "$(js 'd["stage"]')" = canary ]
	told() { # prints the indexes of devices told to install kp-1
		local i
		for i in $(seq 0 $((ndev - 1))); do
			req POST /api/v1/devices/self/checkin "${creds[$i]}" "$(inventory "$ts" "$pol")"
			[ "$(js '[x["bundle"] for x in d.get("install", [])]')" = "['kp-1']" ] && echo "$i"
		done
	}
	local canaries; canaries=$(told | tr '\n' ' ')
	check "$P exactly 2 canaries (20% of $ndev) are told to install" "told: $canaries" [ "$(wc -w <<<"$canaries")" = 2 ]
	local first=${canaries%% *}
	req POST /api/v1/devices/self/events "${creds[$first]}" '{"events":[{"type":"deferred","bundle":"kp-1","detail":"load 3.2 over 2.0"}]}'

	# A crash mid-rollout loses nothing that was acknowledged.
	local before=$portal_pid
	kill -9 "$portal_pid"
	for _ in $(seq 50); do kill -0 "$before" 2>/dev/null || break; sleep 0.1; done
	check "$P kill -9 ends the portal" "pid $before still alive" bash -c "! kill -0 $before 2>/dev/null"
	if start_portal "$data"; then pass "$P portal restarts after kill -9"; else fail "$P portal restarts after kill -9"; return; fi
	req GET "/api/v1/rollouts/$rid" "$viewer"
	check "$P rollout survives the crash" "$BODY" [ "$(js 'd["stage"]+"/"+d["state"]')" = canary/running ]
	check "$P the same canaries after the restart" "told: $(told | tr '\n' ' ')" [ "$(told | tr '\n' ' ')" = "$canaries" ]
	req GET "/api/v1/devices/${uids[$first]}" "$viewer"
	check "$P events before the crash are kept" "$BODY" [ "$(js 'd["recent_events"][0]["type"]')" = deferred ]

	req POST /api/v1/devices/self/events "${creds[$first]}" '{"events":[{"type":"failed","bundle":"kp-1","detail":{"error":"transition stalled","pid":812}}]}'
	check "$P failure event accepted" "$CODE $BODY" [ "$CODE" = 202 ]
	req GET "/api/v1/rollouts/$rid" "$viewer"
	check "$P the failing canary halts the rollout by itself" "$BODY" [ "$(js 'd["state"]')" = halted ]
	check "$P a halted rollout tells nobody to install" "told: $(told)" [ -z "$(told)" ]
	req POST "/api/v1/rollouts/$rid/approve" "$viewer"
	check "$P viewer cannot approve" "$CODE" [ "$CODE" = 403 ]
	req POST "/api/v1/rollouts/$rid/approve" "$op"
	check "$P operator approves: whole group" "$BODY" [ "$(js 'd["stage"]+"/"+d["state"]')" = all/running ]
	# The approval restarts failure counting: the failed canary gets another try.
	check "$P every device of the group is now told" "told: $(told | wc -l)" [ "$(told | wc -l)" = "$ndev" ]
	for i in $(seq 0 $((ndev - 1))); do
		req POST /api/v1/devices/self/events "${creds[$i]}" '{"events":[{"type":"applied","bundle":"kp-1"}]}'
	done
	req GET "/api/v1/rollouts/$rid" "$viewer"
	check "$P rollout completes when all applied" "$BODY" [ "$(js 'd["state"]')" = complete ]
	req PUT "/api/v1/groups/%FF%FE/pin" "$admin" '{"level":1}'
	check "$P a path that is not UTF-8: 4xx JSON" "$CODE $BODY" [ "${CODE:0:1}" = 4 -a -n "$(js 'd["error"]')" ]
	req GET /api/v1/audit "$admin"
	check "$P the audit log has the approval and the refused attempt" "$BODY" \
		python3 -c 'import json,sys; d=json.loads(sys.argv[1]); a=[(x["action"],x["detail"]) for x in d]
ok=("POST /api/v1/rollouts/{rollout}/{action}","status=200") in a and ("POST /api/v1/rollouts/{rollout}/{action}","status=403") in a
sys.exit(not ok)' "$BODY"

	# --- reports -----------------------------------------------------------
	req GET "/api/v1/devices/${uids[2]}" "$viewer"
	check "$P device report: CVEs fixed by kp-1, none open" "$BODY" \
		[ "$(js 'sorted(x["cve"]+":"+x["fixed_by"] for x in d["fixed_cves"])')" = "['CVE-2024-0001:kp-1', 'CVE-2024-1086:kp-1']" -a "$(js 'len(d["open_cves"])')" = 0 ]
	req GET /api/v1/reports/cves/CVE-2024-1086 "$viewer"
	check "$P per-CVE report: nobody exposed, $ndev fixed" "$BODY" [ "$(js 'len(d["exposed"]),len(d["fixed"])')" = "(0, $ndev)" ]
	req GET /api/v1/reports/vex "$viewer"
	check "$P OpenVEX: fixed statements per device and patch" "$BODY" \
		python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=d["statements"]
ok=d["@context"].startswith("https://openvex.dev/ns/") and len(s)==2 and all(x["status"]=="fixed" and len(x["products"])==int(sys.argv[2]) and "kp-1" in x["status_notes"] for x in s)
sys.exit(not ok)' "$BODY" "$ndev"
	req GET /api/v1/reports/fleet "$viewer"
	check "$P fleet summary" "$BODY" [ "$(js 'd["devices"],d["cves_open"]')" = "($((ndev + 1)), 0)" ]
	req GET /metrics "$viewer"
	check "$P Prometheus metrics" "$BODY" grep -q '^livefix_portal_rollouts{state="complete"} 1$' <<<"$BODY"

	# --- policy, pinning, tokens, publishing over HTTP ----------------------
	req PUT /api/v1/groups/default/policy "$op" '{"maintenance_windows":[{"days":["sat","sun"],"start":"02:00","end":"04:00","tz":"Europe/Berlin"}],"max_load":2,"max_deferral_hours":72}'
	check "$P operator sets a group policy" "$CODE $BODY" [ "$CODE" = 200 ]
	req PUT /api/v1/groups/default/policy "$op" '{"reboot_now":true}'
	check "$P unknown policy key: 400" "$CODE $BODY" [ "$CODE" = 400 ]
	req PUT /api/v1/groups/default/pin "$op" '{"level":1}'
	check "$P operator pins the group to level 1" "$BODY" [ "$(js 'd["pin_level"]')" = 1 ]
	req POST /api/v1/devices/self/checkin "${creds[3]}" "$(inventory "$ts" "$pol" 1)"
	check "$P a stale policy_etag gets the new policy and pin" "$BODY" \
		[ "$(js 'd["policy"]["maintenance_windows"][0]["start"], d["policy"]["pin_level"]')" = "('02:00', 1)" ]
	req POST /api/v1/tokens "$admin" '{"role":"viewer","label":"temp"}'
	local tmp tid; tmp=$(js 'd["token"]'); tid=$(js 'd["id"]')
	req DELETE "/api/v1/tokens/$tid" "$admin"
	req GET /api/v1/groups "$tmp"
	check "$P a revoked admin token is refused" "$CODE" [ "$CODE" = 401 ]
	head -c 5000 /dev/urandom >"$work/kp2.lfb"
	local sha2; sha2=$(sha256sum "$work/kp2.lfb" | cut -d' ' -f1)
	CODE=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o "$work/body" -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $op" --data-binary @"$work/kp2.lfb" "$base/api/v1/feeds/production/files/$sha.lfb")
	check "$P a bundle uploaded under another hash: 400" "$CODE" [ "$CODE" = 400 ]
	CODE=$(curl -s --max-time 10 --cacert "$data/tls/cert.pem" -o "$work/body" -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $op" --data-binary @"$work/kp2.lfb" "$base/api/v1/feeds/production/files/$sha2.lfb")
	check "$P operator uploads a bundle over HTTP" "$CODE" [ "$CODE" = 201 ]
	local facts="{\"id\":\"kp-2\",\"kind\":\"kernel\",\"level\":2,\"sha256\":\"$sha2\",\"length\":5000,\"target\":{\"build_id\":\"kb1\"},\"cves\":[{\"id\":\"CVE-2024-9999\",\"severity\":\"critical\"}]}"
	req POST /api/v1/feeds/production/bundles "$op" "$facts"
	check "$P operator records its facts" "$CODE $BODY" [ "$CODE" = 201 ]
	req POST /api/v1/feeds/production/bundles "$op" "$facts"
	check "$P the same bundle id twice: 409" "$CODE" [ "$CODE" = 409 ]
	req POST /api/v1/feeds/production/bundles "$op" "${facts/$sha2/$(printf '%064d' 0)}"
	check "$P facts for a file not in the feed: 404" "$CODE" [ "$CODE" = 404 ]
	req GET /api/v1/reports/cves/CVE-2024-9999 "$viewer"
	check "$P every device is exposed to the new CVE until level 2" "$BODY" \
		[ "$(js 'len(d["exposed"]), d["exposed"][0]["fix_bundle"]')" = "($ndev, 'kp-2')" ]
	req POST /api/v1/rollouts "$op" '{"bundle":"kp-2","feed":"production","group":"default","canary_percent":0}'
	req POST /api/v1/devices/self/checkin "${creds[3]}" "$(inventory "$ts" "$pol" 1)"
	check "$P the pinned group is not told to install level 2" "$BODY" [ "$(js '"install" in d')" = False ]

	# --- a second, stateless instance on the same PostgreSQL ----------------
	if [ -n "$db" ]; then
		local data2=$work/$b-2 first_base=$base first_pid=$portal_pid first_data=$data
		mkdir -p "$data2"
		cp -r "$data/tls" "$data2/"
		cp "$data/portal.conf" "$data2/"
		if start_portal "$data2"; then
			data=$data2
			req POST /api/v1/enrol "" "{\"enrolment_key\":\"$key\",\"hostname\":\"via-second\"}"
			local uid2 cred2 second_base=$base; uid2=$(js 'd["device"]'); cred2=$(js 'd["credential"]')
			base=$first_base data=$first_data
			req GET "/api/v1/devices/$uid2" "$viewer"
			check "$P a device enrolled on a second instance is seen by the first" "$CODE $BODY" \
				[ "$CODE" = 200 -a "$(js 'd["hostname"]')" = via-second ]
			cross_instance "$first_base" "$second_base" "$cred2" "$uid2"
			kill -TERM "$portal_pid"
			portal_pid=$first_pid
		else
			fail "$P a second instance starts on the same database"
		fi
	fi

	# --- withdraw, then a clean stop ---------------------------------------
	req POST /api/v1/feeds/production/bundles/kp-1/withdraw "$op"
	req GET /api/v1/feeds/production/bundles "$viewer"
	check "$P withdrawn bundle is marked" "$BODY" [ "$(js 'd[0]["withdrawn"]')" = 1 ]
	kill -TERM "$portal_pid"
	local t=0
	while kill -0 "$portal_pid" 2>/dev/null && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
	check "$P SIGTERM stops the portal" "still running after 10 s" bash -c "! kill -0 $portal_pid 2>/dev/null"
}

# The check-in cache: the first instance answers check-ins from memory; what
# the second changes reaches it through the change log's notification. Each
# change must show within 3 s (in practice the next request).
cross_instance() { # first-base second-base credential uid
	local first=$1 second=$2 cred=$3 uid=$4 pe got i
	base=$first
	req POST /api/v1/devices/self/checkin "$cred" '{"hostname":"via-second"}'
	req POST /api/v1/devices/self/checkin "$cred" '{"hostname":"via-second"}'
	pe=$(js 'd["policy_etag"]')
	req GET /metrics "$viewer"
	check "$P the first instance answered a check-in from its cache" "$BODY" \
		grep -q '^livefix_portal_checkin_cache_hits_total [1-9]' <<<"$BODY"
	# Listening for notifications, it does not read the change log per check-in.
	local reads0 reads1
	reads0=$(sed -n 's/^livefix_portal_checkin_cache_log_reads_total //p' <<<"$BODY")
	for i in 1 2 3 4 5 6; do req POST /api/v1/devices/self/checkin "$cred" '{"hostname":"via-second"}'; done
	req GET /metrics "$viewer"
	reads1=$(sed -n 's/^livefix_portal_checkin_cache_log_reads_total //p' <<<"$BODY")
	check "$P with notifications, 6 check-ins read the change log fewer than 6 times" \
		"log reads $reads0 -> $reads1" [ -n "$reads0" -a $((reads1 - ${reads0:-0})) -lt 6 ]
	base=$second
	req PUT /api/v1/groups/default/policy "$op" '{"max_load":7}'
	base=$first got=
	for i in $(seq 30); do
		req POST /api/v1/devices/self/checkin "$cred" "{\"hostname\":\"via-second\",\"policy_etag\":\"$pe\"}"
		got=$(js 'd.get("policy", {}).get("max_load")')
		[ "$got" = 7 ] && break
		sleep 0.1
	done
	check "$P a policy set on the second instance reaches check-ins on the first" \
		"max_load=$got after $i tries: $BODY" [ "$got" = 7 ]
	base=$second
	req DELETE "/api/v1/devices/$uid" "$admin"
	base=$first
	for i in $(seq 30); do
		req POST /api/v1/devices/self/checkin "$cred" '{"hostname":"via-second"}'
		[ "$CODE" = 401 ] && break
		sleep 0.1
	done
	check "$P a device revoked on the second instance is refused by the first" \
		"HTTP $CODE after $i tries" [ "$CODE" = 401 ]
	base=$second
	req PUT /api/v1/groups/default/policy "$op" '{"maintenance_windows":[{"days":["sat","sun"],"start":"02:00","end":"04:00","tz":"Europe/Berlin"}],"max_load":2,"max_deferral_hours":72}'
	base=$first
}

flow sqlite

pgdir=$(mktemp -d /tmp/lfpg.XXXXXX)
if url=$("$cluster" start "$pgdir"); then
	flow postgresql "$url"
else
	fail "postgresql: cluster starts" "pg_cluster.sh start failed"
fi
# Portals and portals: export/import, mirror, the signer process (SQLite).
"$src/tests/portal/airgap.sh"
exit 0
