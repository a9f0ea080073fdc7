#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fleet end-to-end: a real livefix-portal on loopback (TLS 1.3, SQLite) and
# several devices, each a separate livefix-test agent with its own state
# directory and fake kernel identity (LIVEFIX_SYSROOT), a stand-in kernel
# loader, and a repository signed by livefix-build with all four keys.
set -u
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LIVEFIX_BUILD:-$src/build/main}
portal=$build/src/portal/livefix-portal
A=$build/src/agent/livefix-test
LB=$build/src/builder/livefix-build

W=$(mktemp -d /tmp/lfdaemon-e2e.XXXXXX)
pgdir=/tmp/lfdaemon-pg.$$ # outside $W (0700): the server runs as postgres
pids=()
cleanup() {
	exec 2>/dev/null
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -9 "${pids[$i]}" 2>/dev/null; done
	wait 2>/dev/null
	[ -d "$pgdir" ] && "$src/tests/portal/pg_cluster.sh" stop "$pgdir"
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
. "$src/tests/daemon/lib.sh"

for b in "$portal" "$A" "$LB"; do
	[ -x "$b" ] || { echo "FAIL: daemon (not built: $b)"; exit 1; }
done

# --- the portal ------------------------------------------------------------
data=$W/portal
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=https://127.0.0.1:$port
admin=$("$portal" init --data "$data" 2>/dev/null)
start_portal() {
	timeout -s KILL 600 "$portal" serve --data "$data" --listen "127.0.0.1:$port" \
		--checkin-interval "${interval:-600}" >>"$data/serve.log" 2>&1 &
	local tpid=$!
	disown "$tpid"
	pids+=("$tpid")
	portal_pid=
	for _ in $(seq 50); do
		portal_pid=$(pgrep -P "$tpid" -x livefix-portal) && break
		sleep 0.1
	done
	[ -n "$portal_pid" ] || return 1
	pids+=("$portal_pid")
	echo "$portal_pid" >"$W/portal.pid"
	for _ in $(seq 100); do
		req GET /healthz && [ "$CODE" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
stop_portal() {
	kill -9 "$(cat "$W/portal.pid")" 2>/dev/null
	for _ in $(seq 50); do curl -s -k --max-time 1 "$base/healthz" >/dev/null || return 0; sleep 0.1; done
}
if ! start_portal; then
	fail "portal starts" "$(tail -5 "$data/serve.log")"
	exit 0
fi

# --- a repository signed on the "build host" --------------------------------
BID=3fa9c2d1e0b1a2b3c4d5e6f708192a3b4c5d6e7f
REL=6.1.0-56-amd64
# Offline keys on the build host; snapshot and timestamp are the portal's.
for r in root targets; do q "$LB" keygen --role $r -o $r.key; done
head -c 3000 /dev/urandom >livepatch.ko
q "$LB" bundle --kind kernel --payload livepatch.ko --arch x86_64 --kernel-release $REL \
	--cve CVE-2026-0001:high --build-id $BID --level 1 --key targets.key -o p1.lfb
q "$LB" repo init repo --root-key root.key --targets-key targets.key.pub \
	--snapshot-key "$data/keys/snapshot.key.pub" --timestamp-key "$data/keys/timestamp.key.pub"
q "$LB" repo add repo --key targets.key p1.lfb
sha=$(sha256sum p1.lfb | cut -c1-64)
bid=kernel-${BID:0:16}-1
cat >repo/bundles.json <<JSON
[{"id":"$bid","kind":"kernel","level":1,"sha256":"$sha","length":$(stat -c %s p1.lfb),
  "target":{"build_id":"$BID","arch":"x86_64","release":"$REL"},
  "cves":[{"id":"CVE-2026-0001","severity":"high"}]}]
JSON
check "publish a repository signed by livefix-build" "publish failed" \
	q "$portal" publish --data "$data" --repo repo --feed production

req POST /api/v1/groups '{"name":"win","feed":"production"}'
req POST /api/v1/enrolment-keys '{"group":"default"}'
key=$(js 'd["enrolment_key"]')
req POST /api/v1/enrolment-keys '{"group":"win"}'
wkey=$(js 'd["enrolment_key"]')
# Devices apply only what a rollout offers them: the whole group at once here.
for g in default win; do
	req POST /api/v1/rollouts "{\"bundle\":\"$bid\",\"feed\":\"production\",\"group\":\"$g\",\"canary_percent\":0,\"error_threshold\":100}"
done

# --- devices: a fake kernel identity each -----------------------------------
cat >loader.sh <<'SH'
#!/bin/sh
[ "$1" = --unload ] && { echo "unload $2" >>"$LIVEFIX_STATE_DIR/../unloaded.log"; exit 0; }
echo "load $(sha256sum <"$1" | cut -c1-64)" >>"$LIVEFIX_STATE_DIR/../loaded.log"
[ -n "${KILL_PORTAL_ON_LOAD:-}" ] && kill -9 "$(cat "$KILL_PORTAL_ON_LOAD")"
[ -n "${FAIL_LOAD:-}" ] && { echo "transition stalled: task 812 in cmdline_proc_show" >&2; exit 1; }
exit 0
SH
chmod +x loader.sh
dev() { # name command...: runs the agent as device name
	local n=$1; shift
	env LIVEFIX_STATE_DIR="$W/$n/state" LIVEFIX_SYSROOT="$W/$n/sys" \
		LIVEFIX_TEST_KERNEL_LOADER="$W/loader.sh" timeout 60 "$A" "$@"
}
loads() { [ -f "$W/$1/loaded.log" ] && wc -l <"$W/$1/loaded.log" || echo 0; }
device() { req GET "/api/v1/devices/$1"; }
for n in dev1 dev2 dev3 dev4; do mkdev $n "$BID" no-klp; done
ca=$data/tls/cert.pem

# --- enrolment --------------------------------------------------------------
dev dev1 register "$base" --enrol-key lfe_wrongwrongwrongwrongwrongwrongwrongwrongwro \
	--root repo/root.json --ca "$ca" >out 2>err
rc=$?
check "a wrong enrolment key is refused with one clear error" "rc $rc: $(cat err)" \
	[ $rc != 0 -a "$(wc -l <err)" = 1 -a -n "$(grep 'refused the enrolment key' err)" ]
check "a refused enrolment changes nothing on the device" "$(ls -A "$W/dev1/state" 2>&1)" \
	[ ! -e "$W/dev1/state" ]
for n in dev1 dev3 dev4; do dev $n register "$base" --enrol-key "$key" --root repo/root.json --ca "$ca" >$n.reg 2>&1; done
dev dev2 register "$base" --enrol-key "$wkey" --root repo/root.json --ca "$ca" >dev2.reg 2>&1
check "register: enrolled, credential 0600, root pinned" "$(cat dev1.reg)" \
	[ -n "$(uid dev1)" -a "$(stat -c %a dev1/state/credential 2>/dev/null)" = 600 -a -f dev1/state/trust/root.json ]

# --- check-in, inventory, apply --------------------------------------------
dev dev1 daemon --once >out 2>err
rc=$?
device "$(uid dev1)"
check "daemon --once: the portal shows the device's inventory" "rc $rc $(cat err) $BODY" \
	[ "$(js 'd["hostname"], d["distro"], d["kernel_build_id"], d["kernel_release"], d["arch"]')" = \
	  "('dev1', 'Debian GNU/Linux 12 (dev1)', '$BID', '$REL', 'x86_64')" ]
check "no policy: the update is fetched from the portal, verified and applied" "loads $(loads dev1): $(cat err)" \
	[ "$(loads dev1)" = 1 -a "$(status dev1 'd["applied"]["level"]')" = 1 ]
check "the applied event and kernel level reach the portal" "$BODY" \
	[ "$(js 'd["recent_events"][0]["type"], d["recent_events"][0]["bundle"]')" = "('applied', '$bid')" ]
t0=$(date +%s%N)
dev dev1 update >out 2>err
rc=$?
echo "idle cycle (events flushed, check-in, nothing new): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
(exit $rc)
check "livefix update: nothing new, nothing loaded again" "loads $(loads dev1) $(cat err)" \
	[ $? = 0 -a "$(loads dev1)" = 1 -a "$(status dev1 'd["last_result"]')" = up-to-date ]
device "$(uid dev1)"
check "the next check-in reports kernel level 1" "$BODY" [ "$(js 'd["kernel_level"]')" = 1 ]

req PUT /api/v1/groups/default/policy '{"maintenance_windows":[{"days":["someday"],"start":"01:00","end":"02:00"}]}'
dev dev1 update >out 2>err
rc=$?
check "a policy the agent cannot use: warned, the check-in still succeeds" "rc $rc $(cat err)" \
	[ $rc = 0 -a "$(status dev1 'd["failures"]')" = 0 -a -n "$(grep 'policy is not usable' err)" ]
req PUT /api/v1/groups/default/policy '{}'

# --- a maintenance window defers, then allows --------------------------------
hm() { date -u -d "@$(($(date +%s) + $1 * 60))" +%H:%M; }
req PUT /api/v1/groups/win/policy "{\"maintenance_windows\":[{\"days\":[\"sun\",\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\"],\"start\":\"$(hm 120)\",\"end\":\"$(hm 180)\",\"tz\":\"UTC\"}]}"
dev dev2 daemon --once >out 2>err
device "$(uid dev2)"
check "outside the window: deferred, nothing loaded" "loads $(loads dev2) $(cat err)" \
	[ "$(loads dev2)" = 0 -a "$(status dev2 'd["pending"]')" = "$bid" ]
check "the deferred event and its reason are in the portal" "$BODY" \
	python3 -c 'import json,sys; e=json.loads(sys.argv[1])["recent_events"][0]; d=e["detail"]
d=json.loads(d) if isinstance(d,str) else d
sys.exit(not (e["type"]=="deferred" and "window" in d["reason"]))' "$BODY"
check "status: the policy decides to defer now" "$(dev dev2 status 2>&1)" \
	[ "$(status dev2 'd["decision"]')" = defer ]
dev dev2 daemon --once >out 2>err
device "$(uid dev2)"
check "a second deferral of the same bundle sends no second event" "$BODY" \
	[ "$(js 'len(d["recent_events"])')" = 1 ]
req PUT /api/v1/groups/win/policy "{\"maintenance_windows\":[{\"days\":\"daily\",\"start\":\"$(hm -60)\",\"end\":\"$(hm 60)\",\"tz\":\"UTC\"}]}"
dev dev2 daemon --once >out 2>err
device "$(uid dev2)"
check "inside the new window: applied" "loads $(loads dev2) $(cat err)" \
	[ "$(loads dev2)" = 1 -a "$(status dev2 'd["pending"]')" = "" ]
check "the applied event follows the deferral in the portal" "$BODY" \
	[ "$(js '[e["type"] for e in d["recent_events"]]')" = "['applied', 'deferred']" ]

FAIL_LOAD=1 dev dev4 daemon --once >out 2>err
rc=$?
device "$(uid dev4)"
check "a failed apply: non-zero exit, nothing recorded as applied" "rc $rc $(cat err)" \
	[ $rc != 0 -a "$(status dev4 'd["applied"]')" = None ]
check "the failed event carries the error text to the portal" "$BODY" \
	python3 -c 'import json,sys; e=json.loads(sys.argv[1])["recent_events"][0]; d=e["detail"]
d=json.loads(d) if isinstance(d,str) else d
sys.exit(not (e["type"]=="failed" and e["bundle"]==sys.argv[2] and "load" in d["error"]))' "$BODY" "$bid"

# --- the portal goes away ---------------------------------------------------
KILL_PORTAL_ON_LOAD=$W/portal.pid dev dev3 daemon --once >out 2>err
stop_portal
check "portal gone during the apply: applied, the event is queued" "loads $(loads dev3) $(cat err)" \
	[ "$(loads dev3)" = 1 -a "$(status dev3 'd["queued_events"]')" = 1 ]
t0=$(date +%s)
dev dev3 daemon --once >out 2>err
rc=$?
next=$(status dev3 'd["next_checkin"]')
check "portal unreachable: the check-in fails and the device backs off" "rc $rc next $next-$t0 $(cat err)" \
	[ $rc != 0 -a "$(status dev3 'd["failures"]')" = 1 -a $((next - t0)) -ge 11 -a $((next - t0)) -le 20 ]
dev dev3 daemon --once >/dev/null 2>&1
next=$(status dev3 'd["next_checkin"]')
check "a second failure doubles the backoff" "next in $((next - $(date +%s))) s" \
	[ "$(status dev3 'd["failures"]')" = 2 -a $((next - t0)) -ge 23 -a $((next - t0)) -le 40 ]
check "the event is still queued" "$(status dev3 'd["queued_events"]')" [ "$(status dev3 'd["queued_events"]')" = 1 ]
if start_portal; then
	dev dev3 daemon --once >out 2>err
	device "$(uid dev3)"
	check "portal back: the queued event is delivered" "$(cat err) $BODY" \
		[ "$(status dev3 'd["queued_events"]')" = 0 -a "$(js 'd["recent_events"][0]["type"]')" = applied ]
	check "status after recovery: no failures" "$(status dev3 'd["failures"]')" [ "$(status dev3 'd["failures"]')" = 0 ]
else
	fail "portal restarts" "$(tail -3 "$data/serve.log")"
fi

# --- the daemon proper: loops, stops on SIGTERM -------------------------------
env LIVEFIX_STATE_DIR="$W/dev1/state" LIVEFIX_SYSROOT="$W/dev1/sys" timeout 60 "$A" daemon >daemon.out 2>&1 &
dpid=$!
pids+=("$dpid")
before=$(status dev1 'd["last_checkin"]')
for _ in $(seq 50); do
	sleep 0.2
	grep -q . dev1/state/fleet.json && [ "$(status dev1 'd["next_checkin"] - d["last_checkin"]')" -ge 500 ] && break
done
kill -TERM $dpid
for _ in $(seq 30); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
wait $dpid
rc=$?
check "daemon: SIGTERM stops it cleanly (exit 0) while it waits for the next check-in" "rc $rc: $(cat daemon.out)" \
	[ $rc = 0 ]
check "daemon: honours the portal's next check-in (600 s +- 10%)" "$(status dev1 'd["next_checkin"] - d["last_checkin"]')" \
	python3 -c "import sys; sys.exit(not 540 <= $(status dev1 'd["next_checkin"] - d["last_checkin"]') <= 660)"
stop_portal

# --- the idle daemon trims its memory, and still checks in and applies -------
# dev5 is in a group of its own that no rollout offers anything yet: each
# check-in (every 10 s) is idle. The daemon waits untrimmed
# (LIVEFIX_NO_TRIM=1), then trimmed; VmRSS is read while it waits, 2 s after
# its second check-in. Then a rollout to its group starts and the trimmed
# daemon applies at its next check-in.
idle_daemon() { # log, LIVEFIX_NO_TRIM value: starts dev5's daemon; sets itpid, ipid
	env LIVEFIX_STATE_DIR="$W/dev5/state" LIVEFIX_SYSROOT="$W/dev5/sys" LIVEFIX_RUNTIME_DIR="$W/run" \
		LIVEFIX_TEST_KERNEL_LOADER="$W/loader.sh" LIVEFIX_DEBUG=1 LIVEFIX_NO_TRIM="$2" \
		timeout 60 "$A" daemon >"$1" 2>&1 &
	itpid=$!
	pids+=("$itpid")
	for _ in $(seq 50); do ipid=$(pgrep -P "$itpid" -x livefix-test) && break; sleep 0.1; done
}
idle_rss() { # log, LIVEFIX_NO_TRIM value: VmRSS in KB of the waiting daemon, which is then stopped
	local n=0 prev=x l rss
	idle_daemon "$@"
	for _ in $(seq 150); do # at most 30 s
		l=$(status dev5 'd["last_checkin"]' 2>/dev/null)
		[ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != "$prev" ] && { n=$((n + 1)); prev=$l; }
		[ $n -ge 2 ] && break
		sleep 0.2
	done
	sleep 2
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$ipid/status" 2>/dev/null)
	[ $n -ge 2 ] && echo "${rss:-0}" || echo 0
	kill -TERM "$itpid"
	wait "$itpid" 2>/dev/null
}
interval=10
if start_portal; then
	mkdev dev5 "$BID" no-klp
	req POST /api/v1/groups '{"name":"idle","feed":"production"}'
	req POST /api/v1/enrolment-keys '{"group":"idle"}'
	dev dev5 register "$base" --enrol-key "$(js 'd["enrolment_key"]')" --root repo/root.json --ca "$ca" >dev5.reg 2>&1
	untrimmed=$(idle_rss idle-notrim.log 1)
	trimmed=$(idle_rss idle-trim.log "")
	echo "idle daemon VmRSS: $trimmed KB trimmed, $untrimmed KB with LIVEFIX_NO_TRIM=1"
	trim_ok() {
		[ "$trimmed" -gt 0 -a "$untrimmed" -gt 0 -a $((trimmed * 4)) -lt $((untrimmed * 3)) ] &&
			[ "$(loads dev5)" = 0 ] && grep -q 'trim: .* unmapped' idle-trim.log && ! grep -q 'trim: ' idle-notrim.log
	}
	check "the waiting daemon trims what it does not use: VmRSS under 3/4 of the untrimmed one" \
		"$trimmed KB vs $untrimmed KB; loads $(loads dev5); $(grep -c 'trim: ' idle-trim.log) trims logged" trim_ok
	before=$(status dev5 'd["last_checkin"]')
	idle_daemon idle-apply.log ""
	for _ in $(seq 75); do [ "$(status dev5 'd["last_checkin"]')" != "$before" ] && break; sleep 0.2; done
	sleep 1 # the check-in is done and the daemon trimmed: the rollout is for the next one
	req POST /api/v1/rollouts "{\"bundle\":\"$bid\",\"feed\":\"production\",\"group\":\"idle\",\"canary_percent\":0,\"error_threshold\":100}"
	for _ in $(seq 150); do [ "$(loads dev5)" = 1 ] && break; sleep 0.2; done # at most 30 s
	kill -TERM "$itpid"
	wait "$itpid"
	rc=$?
	applied_ok() {
		[ $rc = 0 -a "$(loads dev5)" = 1 -a "$(status dev5 'd["applied"]["level"]')" = 1 ] &&
			grep -q 'trim: .* unmapped' idle-apply.log
	}
	check "after trims, the daemon still checks in and applies what a new rollout offers" \
		"rc $rc loads $(loads dev5): $(grep -v 'trim: ' idle-apply.log | tail -3)" applied_ok
	stop_portal
else
	fail "portal restarts with a 10 s check-in interval" "$(tail -3 "$data/serve.log")"
fi

# --- rollout stages, pins, withdrawal, catching up, userspace bundles and their
# events: SQLite, then PostgreSQL ---
"$src/tests/daemon/flow.sh" sqlite
"$src/tests/daemon/userflow.sh" sqlite
if pgurl=$("$src/tests/portal/pg_cluster.sh" start "$pgdir" 2>/dev/null); then
	"$src/tests/daemon/flow.sh" "$pgurl"
	# A database of its own: the userspace flow starts from an empty portal.
	if psql -q "$pgurl" -c 'CREATE DATABASE userflow' >/dev/null 2>&1; then
		"$src/tests/daemon/userflow.sh" "${pgurl/:\/\/\/postgres\?/:\/\/\/userflow?}"
	else
		echo "SKIP: postgresql: user: userspace rollouts (cannot create a second database)"
	fi
	"$src/tests/portal/pg_cluster.sh" stop "$pgdir"
else
	echo "SKIP: postgresql: the rollout, pin, withdrawal and userspace flows (no cluster: pg_cluster.sh start failed)"
fi
exit 0
