#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the portal's rollouts and pins let each device apply, and what a
# withdrawal takes back, observed on the devices (stand-in kernel loader
# logs) and in the portal's API. Run by tests/daemon/run.sh with "sqlite"
# or a PostgreSQL URL; prints PASS/FAIL lines prefixed with the backend.
#   stage:  s1..s4, a rollout with 25% canaries (one device), then approval
#   pinned: p1, pinned to level 1 while level 2 is rolled out
#   default: o1, offline while levels 1 and 2 are published, then catches up
# Level 2 is then withdrawn by the targets keys: s1 goes back to level 1
# (re-applied from its cache), o1 (which never had level 1) removes the patch.
# Last, s1 applies levels 3 and 4; both are withdrawn at once and it goes
# back to level 1, past the withdrawn level 3.
set -u
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LIVEFIX_BUILD:-$src/build/main}
portal=$build/src/portal/livefix-portal
A=$build/src/agent/livefix-test
LB=$build/src/builder/livefix-build
db=${1:-sqlite}
P=sqlite
dbopt=()
[ "$db" != sqlite ] && { P=postgresql; dbopt=(--db "$db"); }

W=$(mktemp -d /tmp/lfflow.XXXXXX)
spid= ppid_=
cleanup() {
	exec 2>/dev/null
	[ -n "$ppid_" ] && kill -9 "$ppid_"
	[ -n "$spid" ] && kill -9 "$spid"
	wait
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
. "$src/tests/daemon/lib.sh"

start_flow_portal 600

# --- the build host: keys, two cumulative levels of a (stand-in) livepatch ---
BID=5b1ec2d1e0b1a2b3c4d5e6f708192a3b4c5d6e7f
REL=6.1.0-56-amd64
for r in root targets; do q "$LB" keygen --role $r -o $r.key; done
for l in 1 2 3 4; do
	# A relocatable object with the .modinfo a livepatch module has, so the
	# agent learns the patch name as it does from a real module.
	printf 'const char mi[] __attribute__((section(".modinfo"), used)) =\n"name=lp_fake_l%s\\0livepatch=Y\\0livefix_level=%s";\n' \
		$l $l >fake_l$l.c
	gcc -c -o fake_l$l.ko fake_l$l.c
	q "$LB" bundle --kind kernel --payload fake_l$l.ko --arch x86_64 --kernel-release $REL \
		--cve CVE-2026-010$l:high --build-id $BID --level $l --key targets.key -o l$l.lfb
done
q "$LB" repo init repo --root-key root.key --targets-key targets.key.pub \
	--snapshot-key "$data/keys/snapshot.key.pub" --timestamp-key "$data/keys/timestamp.key.pub"
facts() { # level: the bundle facts livefix-portal publish reads
	cat >repo/bundles.json <<JSON
[{"id":"kernel-${BID:0:16}-$1","kind":"kernel","level":$1,"sha256":"$(sha256sum l$1.lfb | cut -c1-64)",
  "length":$(stat -c %s l$1.lfb),"target":{"build_id":"$BID","arch":"x86_64","release":"$REL"},
  "cves":[{"id":"CVE-2026-010$1","severity":"high"}]}]
JSON
}
publish() { cp repo/targets/production.json repo/targets.json && q "$portal" publish --data "$data" --repo repo --feed production; }
b1=kernel-${BID:0:16}-1
b2=kernel-${BID:0:16}-2
m1=$(sha256sum fake_l1.ko | cut -c1-64)
m2=$(sha256sum fake_l2.ko | cut -c1-64)
m3=$(sha256sum fake_l3.ko | cut -c1-64)
m4=$(sha256sum fake_l4.ko | cut -c1-64)

# --- devices ------------------------------------------------------------------
# The stand-in loader logs what it got and keeps /sys/kernel/livepatch/NAME
# as the kernel would (one patch: each replaces the last, atomic replace).
cat >loader.sh <<'SH'
#!/bin/sh
klp=$LIVEFIX_SYSROOT/sys/kernel/livepatch
if [ "$1" = --unload ]; then
	echo "unload $2" >>"$LIVEFIX_STATE_DIR/../loaded.log"
	rmdir "$klp/$2"
	exit 0
fi
echo "load $(sha256sum <"$1" | cut -c1-64)" >>"$LIVEFIX_STATE_DIR/../loaded.log"
rm -rf "${klp:?}"/*
mkdir -p "$klp/$(tr '\0' '\n' <"$1" | sed -n 's/^name=//p' | head -n1)"
SH
chmod +x loader.sh
dev() { # name command...
	local n=$1; shift
	env LIVEFIX_STATE_DIR="$W/$n/state" LIVEFIX_SYSROOT="$W/$n/sys" \
		LIVEFIX_TEST_KERNEL_LOADER="$W/loader.sh" timeout 60 "$A" "$@"
}
log() { cat "$W/$1/loaded.log" 2>/dev/null; }
loads() { log "$1" | grep -c '^load'; }
device() { req GET "/api/v1/devices/$(uid "$1")"; }
rollout() { # bundle group canary%: sets RID
	req POST /api/v1/rollouts "{\"bundle\":\"$1\",\"feed\":\"production\",\"group\":\"$2\",\"canary_percent\":$3,\"error_threshold\":50}"
	RID=$(js 'd["id"]')
}

facts 1
q "$LB" repo add repo --key targets.key l1.lfb
publish || fail "publish level 1" "$(tail -3 "$data/serve.log")"
for g in stage pinned; do req POST /api/v1/groups "{\"name\":\"$g\",\"feed\":\"production\"}"; done
for n in s1 s2 s3 s4 p1 o1; do
	mkdev $n "$BID"
	g=stage; [ $n = p1 ] && g=pinned; [ $n = o1 ] && g=default
	req POST /api/v1/enrolment-keys "{\"group\":\"$g\"}"
	dev $n register "$base" --enrol-key "$(js 'd["enrolment_key"]')" --root repo/root.json \
		--ca "$data/tls/cert.pem" >$n.reg 2>&1
done
cycle o1 # checks in once, then goes offline for a while

# --- published is not offered: the rollout decides ------------------------------
cycle s1 s2 s3 s4
check "published without a rollout: no device applies it" "$(cat s1.out)" \
	[ "$(cat s?/loaded.log 2>/dev/null | wc -l)" = 0 -a "$(status s1 'd["last_result"]')" = held ]
rollout "$b1" stage 25
cycle s1 s2 s3 s4
canaries=$(for n in s1 s2 s3 s4; do [ "$(loads $n)" = 1 ] && echo $n; done)
held=$(for n in s1 s2 s3 s4; do [ "$(status $n 'd["last_result"]')" = held ] && echo $n; done | wc -l)
check "25% canary stage: exactly one device applies, three are held" "applied: $canaries; held $held" \
	[ "$(echo "$canaries" | grep -c .)" = 1 -a "$held" = 3 ]
req GET "/api/v1/rollouts/$RID"
check "the rollout pauses when its canary reported" "$BODY" \
	[ "$(js 'd["state"], d["canaries"][0]["device"]')" = "('paused', '$(uid "$canaries")')" ]
req POST "/api/v1/rollouts/$RID/approve"
cycle s1 s2 s3 s4
check "approved: the other three apply, the canary does not apply again" \
	"$(for n in s1 s2 s3 s4; do echo "$n $(loads $n)"; done | tr '\n' ' ')" \
	[ "$(cat s?/loaded.log | sort | uniq -c | awk '{print $1}')" = 4 -a "$(cat s?/loaded.log | wc -l)" = 4 ]
req GET "/api/v1/rollouts/$RID"
check "the rollout completes" "$BODY" [ "$(js 'd["state"]')" = complete ]

# --- a pinned group stays at its level -------------------------------------------
req PUT /api/v1/groups/pinned/pin '{"level":1}'
rollout "$b1" pinned 0
rollout "$b1" default 0
cycle p1
facts 2
q "$LB" repo add repo --key targets.key l2.lfb
publish || fail "publish level 2" "$(tail -3 "$data/serve.log")"
for g in stage pinned default; do rollout "$b2" $g 0; done
cycle p1 s1
check "level 2 rolled out: an unpinned device applies it" "$(log s1 | tr '\n' ' ')" \
	[ "$(log s1 | tail -1)" = "load $m2" -a "$(status s1 'd["applied"]["level"]')" = 2 ]
device p1
check "the group pinned to level 1 stays there, held, while level 2 is rolled out" \
	"$(log p1 | tr '\n' ' ') $(status p1 'd["last_result"]')" \
	[ "$(log p1)" = "load $m1" -a "$(status p1 'd["applied"]["level"]')" = 1 \
	  -a "$(status p1 'd["last_result"]')" = held -a "$(js 'd["kernel_level"]')" = 1 ]

# --- offline for a while: catching up goes straight to the newest level ---------
cycle o1
device o1
check "a device offline while two levels came out applies only the newest" "$(log o1 | tr '\n' ' ')" \
	[ "$(log o1)" = "load $m2" -a "$(js 'd["kernel_level"]')" = 2 ]

cycle s3 # level 2, over level 1: powered off during the withdrawal, below

# --- withdrawal: signed by the targets keys, reverted on the devices -------------
q "$LB" repo withdraw repo --key targets.key "$b2"
check "livefix-build repo withdraw marks the target withdrawn" "" \
	grep -q '"withdrawn":true' repo/targets/production.json
req PUT /api/v1/feeds/production/files/targets.json "@repo/targets/production.json" application/octet-stream
req GET /api/v1/feeds/production/bundles
check "uploading the signed withdrawal withdraws the bundle in the portal too" "$BODY" \
	[ "$(js '[b["withdrawn"] for b in d if b["bundle_id"] == "'"$b2"'"]')" = "[1]" \
	  -a "$(js '[b["withdrawn"] for b in d if b["bundle_id"] != "'"$b2"'"]')" = "[0]" ]
req GET /api/v1/rollouts
check "... and halts its unfinished rollouts, saying why" "$BODY" \
	[ "$(js 'sorted({(r["state"], r["reason"]) for r in d if r["bundle"] == "'"$b2"'" and r["state"] != "complete"})')" = \
	  "[('halted', 'withdrawn by the signed targets')]" ]
req POST "/api/v1/feeds/production/bundles/$b2/withdraw"
check "the operator's withdraw after it: nothing left to halt, the signed withdrawal seen" "$CODE $BODY" \
	[ "$CODE" = 200 -a "$(js 'd["withdrawn"], d["rollouts_halted"], d["devices_revert"]')" = "(True, 0, True)" ]
cycle s1 o1 s2 p1
device s1
check "s1 goes back to level 1: the cached level-1 bundle is verified and loaded again" \
	"$(log s1 | tr '\n' ' ') $(cat s1.out)" \
	[ "$(log s1 | tail -1)" = "load $m1" -a "$(status s1 'd["applied"]["level"]')" = 1 -a "$(js 'd["kernel_level"]')" = 1 ]
check "the portal records the reverted event with the level now in effect" "$BODY" \
	python3 -c 'import json,sys; e=json.loads(sys.argv[1])["recent_events"][0]; d=e["detail"]
d=json.loads(d) if isinstance(d,str) else d
sys.exit(not (e["type"]=="reverted" and e["bundle"]==sys.argv[2] and "withdrawn" in d["reason"]))' "$BODY" "$b2"
device o1
check "o1 never had level 1: the withdrawn patch is unloaded" "$(log o1 | tr '\n' ' ') $(cat o1.out)" \
	[ "$(log o1 | tail -1)" = "unload lp_fake_l2" -a "$(status o1 'd["applied"]')" = None -a "$(js 'd["kernel_level"]')" = 0 ]
check "devices that never applied the withdrawn level change nothing" "$(log s2 | tr '\n' ' ') / $(log p1 | tr '\n' ' ')" \
	[ "$(log s2 | wc -l)" = 1 -a "$(log p1 | wc -l)" = 1 -a "$(status s2 'd["applied"]["level"]')" = 1 ]
cycle s1 o1
check "s1: the next cycle finds nothing to revert or apply" "$(log s1 | tr '\n' ' ')" \
	[ "$(log s1 | wc -l)" = 3 ]
check "o1: level 1, still rolling out to its group, is applied next" "$(log o1 | tr '\n' ' ') $(cat o1.out)" \
	[ "$(log o1 | tail -1)" = "load $m1" -a "$(status o1 'd["applied"]["level"]')" = 1 ]
# s3 learns of the withdrawal but does not act (a dry run), then reboots:
# livefix boot, before the network, must not bring level 2 back.
dev s3 apply --dry-run --allow-downgrade --repo "$base/repo/production" --ca "$data/tls/cert.pem" \
	--token-file "$W/s3/state/credential" >s3.dry 2>&1
cat /proc/sys/kernel/random/uuid >"$W/s3/sys/proc/sys/kernel/random/boot_id"
rm -rf "$W/s3/sys/sys/kernel/livepatch/"*
dev s3 boot >s3.boot 2>&1
check "livefix boot: a level withdrawn while the device was off is not re-applied; the one before is" \
	"$(cat s3.dry s3.boot) $(log s3 | tr '\n' ' ')" \
	[ "$(log s3 | tail -1)" = "load $m1" -a "$(status s3 'd["applied"]["level"]')" = 1 \
	  -a "$(status s3 'd["queued_events"]')" = 1 -a -n "$(grep 'was withdrawn' s3.boot)" ]
cycle s3
device s3
check "the reverted event from boot reaches the portal at the next check-in" "$BODY" \
	[ "$(js 'd["kernel_level"], d["recent_events"][0]["type"]')" = "(1, 'reverted')" ]
req POST /api/v1/rollouts "{\"bundle\":\"$b2\",\"feed\":\"production\",\"group\":\"stage\",\"canary_percent\":0}"
check "a withdrawn bundle cannot be rolled out again" "$CODE" [ "$CODE" = 404 ]

# --- two levels withdrawn at once: back past both, to the newest good one ------
for l in 3 4; do
	facts $l
	q "$LB" repo add repo --key targets.key l$l.lfb
	publish || fail "publish level $l" "$(tail -3 "$data/serve.log")"
	rollout "kernel-${BID:0:16}-$l" stage 0
	cycle s1
done
check "s1 applies level 3, then level 4" "$(log s1 | tr '\n' ' ')" \
	[ "$(log s1 | tail -2 | tr '\n' ' ')" = "load $m3 load $m4 " -a "$(status s1 'd["applied"]["level"]')" = 4 ]
q "$LB" repo withdraw repo --key targets.key "kernel-${BID:0:16}-4"
q "$LB" repo withdraw repo --key targets.key "kernel-${BID:0:16}-3"
req PUT /api/v1/feeds/production/files/targets.json "@repo/targets/production.json" application/octet-stream
cycle s1
device s1
check "levels 4 and 3 withdrawn together: s1 goes back to level 1, its newest level not withdrawn" \
	"$(log s1 | tr '\n' ' ') $(cat s1.out)" \
	[ "$(log s1 | tail -1)" = "load $m1" -a "$(status s1 'd["applied"]["level"]')" = 1 -a "$(js 'd["kernel_level"]')" = 1 ]
check "the reverted event names the level it went back to" "$BODY" \
	python3 -c 'import json,sys; e=json.loads(sys.argv[1])["recent_events"][0]; d=e["detail"]
d=json.loads(d) if isinstance(d,str) else d
sys.exit(not (e["type"]=="reverted" and d["reason"]=="withdrawn; back to "+sys.argv[2]))' "$BODY" "$b1"
exit 0
