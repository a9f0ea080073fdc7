#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Userspace bundles rolled out by the portal, applied by device agents to
# real running test programs, and every outcome reported as an event.
# Run by tests/daemon/run.sh with "sqlite" or a PostgreSQL URL; prints
# PASS/FAIL lines prefixed with the backend.
#   ustage:  u1, u2; a 50% canary rollout of ua-1 (target-a: compute 2x -> 3x);
#            the canary applies it, the rollout pauses, approval, the other
#            device applies it to a new process, the rollout completes
#   ufail:   f1, f2; a 50% canary rollout of ub-busy-1 (target-b: a thread is
#            always inside busy_forever): the applier gives up, the failed
#            event halts the rollout by itself, the other device is offered nothing
#   udefer:  d1, outside its maintenance window: a kernel bundle, ua-1 and uc-1 (target-c) are
#            deferred at once, one event each, not one per check-in; then applied
#   umixed:  m1, one update with ub-busy-1 (fails) and uc-1 (applies)
#   ukeep:   k1, has target-c on disk but runs no process of it: uc-1 is kept
#            for the processes that start later, and reported applied
# Every device runs on this host and sees the same processes: each step
# starts the processes it patches and stops them after.
set -u
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LIVEFIX_BUILD:-$src/build/main}
portal=$build/src/portal/livefix-portal
A=$build/src/agent/livefix-test
L=$build/src/agent/livefix
LB=$build/src/builder/livefix-build
S=$src/tests/user
db=${1:-sqlite}
P=sqlite
dbopt=()
[ "$db" != sqlite ] && { P=postgresql; dbopt=(--db "$db"); }
P="$P: user"
. "$src/tests/daemon/lib.sh"

if [ "$(uname -m)" != x86_64 ]; then
	echo "SKIP: $P: userspace rollouts (the test programs' patches are x86_64 only)"
	exit 0
fi

W=$(mktemp -d /tmp/lfuflow.XXXXXX)
chmod 755 "$W"
spid= ppid_=
procs=()
cleanup() {
	exec 2>/dev/null
	for p in "${procs[@]}"; do kill -9 "$p"; done
	[ -n "$ppid_" ] && kill -9 "$ppid_"
	[ -n "$spid" ] && kill -9 "$spid"
	wait
	[ -n "${LIVEFIX_KEEP_WORK-}" ] || rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1

# --- the test programs and their patches (tests/user) ------------------------
build_all() {
	set -e
	gcc -O2 -fPIC -shared -Wl,--build-id -o libtlib.so "$S/tlib.c"
	# Three builds of one program: three build-ids, three files to patch.
	local o t
	for t in a:-O2 b:-O1 c:-Os; do
		o=${t#*:} t=${t%%:*}
		gcc $o -g -fPIE -pie -Wl,--build-id -o target-$t "$S/target.c" -L. -ltlib \
			-Wl,-rpath,"$W" -lpthread
	done
	"$S/mkpatch.sh" ua.o target-a ua-1 1 "$S/patches/simple.c" "func compute compute_v2"
	"$S/mkpatch.sh" ub.o target-b ub-busy-1 1 "$S/patches/busy.c" "func busy_forever busy_forever_v2"
	"$S/mkpatch.sh" uc.o target-c uc-1 1 "$S/patches/simple.c" "func compute compute_v2"
	[ "$(readelf -n target-a | grep 'Build ID')" != "$(readelf -n target-c | grep 'Build ID')" ]
}
if ! (build_all) >build.log 2>&1; then
	fail "test programs build" "$(tail -5 build.log | tr '\n' ' ')"
	exit 0
fi

# --- the portal -----------------------------------------------------------------
start_flow_portal 900

# --- the build host: a repository with the three userspace bundles --------------
for r in root targets; do q "$LB" keygen --role $r -o $r.key; done
q "$LB" repo init repo --root-key root.key --targets-key targets.key.pub \
	--snapshot-key "$data/keys/snapshot.key.pub" --timestamp-key "$data/keys/timestamp.key.pub"
facts=
for u in ua:a:ua-1 ub:b:ub-busy-1 uc:c:uc-1; do
	IFS=: read -r o t id <<<"$u"
	q "$LB" bundle --kind user --payload $o.o --target-elf target-$t --level 1 --id $id \
		--key targets.key -o $id.lfb
	bid=$(readelf -n target-$t | awk '/Build ID:/ { print $3; exit }')
	facts+="${facts:+,}{\"id\":\"$id\",\"kind\":\"user\",\"level\":1,\"sha256\":\"$(sha256sum $id.lfb | cut -c1-64)\",
  \"length\":$(stat -c %s $id.lfb),\"target\":{\"build_id\":\"$bid\",\"arch\":\"x86_64\"},\"cves\":[]}"
done
# A kernel bundle too, for the fake kernel of the devices: a relocatable
# object with the .modinfo of a livepatch module, loaded by a stand-in loader.
KBID=7a1ec2d1e0b1a2b3c4d5e6f708192a3b4c5d6e7f
REL=6.1.0-56-amd64
kb=kernel-${KBID:0:16}-1
printf 'const char mi[] __attribute__((section(".modinfo"), used)) =\n"name=lp_ufake\\0livepatch=Y\\0livefix_level=1";\n' >kfake.c
gcc -c -o kfake.ko kfake.c
q "$LB" bundle --kind kernel --payload kfake.ko --arch x86_64 --kernel-release $REL \
	--build-id $KBID --level 1 --id $kb --key targets.key -o $kb.lfb
facts+=",{\"id\":\"$kb\",\"kind\":\"kernel\",\"level\":1,\"sha256\":\"$(sha256sum $kb.lfb | cut -c1-64)\",
  \"length\":$(stat -c %s $kb.lfb),\"target\":{\"build_id\":\"$KBID\",\"arch\":\"x86_64\",\"release\":\"$REL\"},\"cves\":[]}"
q "$LB" repo add repo --key targets.key ua-1.lfb ub-busy-1.lfb uc-1.lfb $kb.lfb
echo "[$facts]" >repo/bundles.json
cp repo/targets/production.json repo/targets.json
check "publish three userspace bundles and a kernel one" "$(tail -3 "$data/serve.log")" \
	q "$portal" publish --data "$data" --repo repo --feed production

# --- devices: a fake kernel identity each, the host's processes --------------------
cat >loader.sh <<'SH'
#!/bin/sh
klp=$LIVEFIX_SYSROOT/sys/kernel/livepatch
[ "$1" = --unload ] && { rmdir "$klp/$2"; exit 0; }
echo "load $(sha256sum <"$1" | cut -c1-64)" >>"$LIVEFIX_STATE_DIR/../loaded.log"
mkdir -p "$klp/lp_ufake"
SH
chmod +x loader.sh
mkdir -p "$W/nodisk" "$W/run"
dev() { # name command...
	local n=$1; shift
	env LIVEFIX_STATE_DIR="$W/$n/state" LIVEFIX_SYSROOT="$W/$n/sys" LIVEFIX_USER_DIRS="${USERDIRS:-$W/nodisk}" \
		LIVEFIX_RUNTIME_DIR="$W/run" LIVEFIX_TEST_KERNEL_LOADER="$W/loader.sh" timeout 120 "$A" "$@"
}
device() { req GET "/api/v1/devices/$(uid "$1")"; }
ev() { # python expression over E, the device's recent events (newest first), details parsed
	python3 -c 'import json,sys
E=json.loads(sys.argv[1])["recent_events"]
for e in E:
	if isinstance(e.get("detail"), str): e["detail"]=json.loads(e["detail"])
print(eval(sys.argv[2]))' "$BODY" "$1" 2>/dev/null
}
rollout() { # bundle group canary% threshold%: sets RID
	req POST /api/v1/rollouts "{\"bundle\":\"$1\",\"feed\":\"production\",\"group\":\"$2\",\"canary_percent\":$3,\"error_threshold\":$4}"
	RID=$(js 'd["id"]')
}
canary() { # the device (name among $@) the rollout $RID chose
	local n c
	req GET "/api/v1/rollouts/$RID"
	c=$(js 'd["canaries"][0]["device"]')
	for n in "$@"; do [ "$(uid $n)" = "$c" ] && echo $n; done
}
start() { # name binary [flags]: a test program writing to $W/out-name; sets TP
	"$W/$2" "$W/out-$1" 1 ${3:-} &
	TP=$!
	disown "$TP"
	procs+=("$TP")
	for _ in $(seq 100); do
		[ -s "$W/out-$1" ] && [ "$(wc -l <"$W/out-$1")" -ge 3 ] && return 0
		sleep 0.02
	done
	return 1
}
line() { tail -n 2 "$W/out-$1" | head -n 1; }
computes() { # name value: the program's compute(7) gives value (14 original, 21 patched)
	for _ in $(seq 100); do
		line "$1" | grep -q "^c=$2 " && return 0
		sleep 0.02
	done
	return 1
}
patches() { "$L" user list --pid "$1" 2>/dev/null | awk 'NR > 1 { print $2 }' | tr '\n' ' '; }
kept() { ls "$W/$1/state/user" 2>/dev/null | grep -c '\.lfb$'; } # bundles a device keeps for new processes

for g in ustage ufail udefer umixed ukeep; do req POST /api/v1/groups "{\"name\":\"$g\",\"feed\":\"production\"}"; done
for n in u1 u2 f1 f2 d1 m1 k1; do
	mkdev $n "$KBID"
	case $n in u*) g=ustage ;; f*) g=ufail ;; m*) g=umixed ;; k*) g=ukeep ;; *) g=udefer ;; esac
	req POST /api/v1/enrolment-keys "{\"group\":\"$g\"}"
	dev $n register "$base" --enrol-key "$(js 'd["enrolment_key"]')" --root repo/root.json \
		--ca "$data/tls/cert.pem" >$n.reg 2>&1
done

# --- a userspace canary applies, the rollout pauses, approval, the rest applies ---
start a1 target-a || fail "target-a starts" "$(cat out-a1 2>/dev/null)"
pa1=$TP
rollout ua-1 ustage 50 50
uroll=$RID
can=$(canary u1 u2)
other=u1; [ "$can" = u1 ] && other=u2
cycle "$can"
device "$can"
computes a1 21
check "the canary device's daemon applies the userspace bundle to the running program" \
	"$(line a1); $(patches $pa1); $(cat $can.out)" [ $? = 0 -a "$(patches $pa1)" = "ua-1 " ]
check "the portal has the canary's applied event: bundle, rollout, kind, processes" "$BODY" \
	[ "$(ev '[(e["type"], e["bundle"], str(e["rollout_id"]), e["detail"]["kind"], e["detail"]["processes"]) for e in E]')" = \
	  "[('applied', 'ua-1', '$uroll', 'user', 1)]" ]
check "the device's patch state in the portal: user ua-1 level 1 applied" "$BODY" \
	[ "$(js '[(p["bundle"], p["level"], p["state"]) for p in d["patches"] if p["kind"] == "user"]')" = "[('ua-1', 1, 'applied')]" ]
req GET "/api/v1/rollouts/$uroll"
check "the userspace canary stage completes by its event: the rollout pauses for approval" "$BODY" \
	[ "$(js 'd["state"], d["applied"], d["reason"]')" = "('paused', 1, 'canary stage done: awaiting approval')" ]
cycle "$other"
device "$other"
check "the device outside the canaries is offered nothing before approval" "$(cat $other.out) $BODY" \
	[ "$(kept $other)" = 0 -a "$(kept $can)" = 1 -a "$(ev 'len(E)')" = 0 ]
cycle "$can"
device "$can"
check "the canary's next check-in: nothing new, no second event" "$BODY" [ "$(ev 'len(E)')" = 1 ]
kill -9 $pa1
req POST "/api/v1/rollouts/$uroll/approve"
start a2 target-a
pa2=$TP
cycle "$other"
device "$other"
computes a2 21
check "approved: the other device applies it to its own process" "$(line a2); $(cat $other.out)" \
	[ $? = 0 -a "$(patches $pa2)" = "ua-1 " -a "$(ev '[(e["type"], e["bundle"]) for e in E]')" = "[('applied', 'ua-1')]" ]
req GET "/api/v1/rollouts/$uroll"
check "the userspace rollout completes when every device of the group applied it" "$BODY" \
	[ "$(js 'd["state"], d["stage"], d["applied"]')" = "('complete', 'all', 2)" ]
kill -9 $pa2

# --- a userspace canary that fails halts the rollout by itself ---------------------
start b1 target-b B
pb1=$TP
rollout ub-busy-1 ufail 50 50
broll=$RID
can=$(canary f1 f2)
other=f1; [ "$can" = f1 ] && other=f2
dev "$can" daemon --once >"$W/$can.out" 2>&1
rc=$?
device "$can"
computes b1 14
check "the applier refuses: a thread is always inside the patched function; the program runs unpatched" \
	"rc $rc: $(cat $can.out); $(patches $pb1)" \
	[ $? = 0 -a $rc != 0 -a -z "$(patches $pb1)" -a -n "$(grep 'thread [0-9]* is in busy_forever' $can.out)" ]
check "the portal has the failed event with the applier's one-line reason" "$BODY" \
	python3 -c 'import json,sys
E=json.loads(sys.argv[1])["recent_events"]
e=E[0]; d=e["detail"]; d=json.loads(d) if isinstance(d,str) else d
sys.exit(not (len(E)==1 and e["type"]=="failed" and e["bundle"]=="ub-busy-1" and str(e["rollout_id"])==sys.argv[2]
	and d["kind"]=="user" and "busy_forever" in d["error"] and "\n" not in d["error"]))' "$BODY" "$broll"
req GET "/api/v1/rollouts/$broll"
check "the failing userspace canary halts its rollout" "$BODY" \
	[ "$(js 'd["state"], d["failed"], d["reason"]')" = "('halted', 1, '1 of 1 devices failed in the canary stage (threshold 50%)')" ]
check "the failure is the device's last result" "$(status $can 'd["last_result"]')" \
	python3 -c 'import sys; sys.exit(not sys.argv[1].startswith("failed: ") or "busy_forever" not in sys.argv[1])' \
	"$(status $can 'd["last_result"]')"
cycle "$other" "$can"
device "$other"
n_other=$(ev 'len(E)')
device "$can"
check "halted: no device is offered the bundle any more, nothing is tried again" "$(cat $other.out $can.out)" \
	[ "$n_other" = 0 -a "$(ev 'len(E)')" = 1 -a "$(kept $other)" = 0 -a -z "$(patches $pb1)" \
	  -a -z "$(grep busy_forever $can.out)" ]
kill -9 $pb1

# --- two userspace bundles deferred at once: one event each, then applied ----------
hm() { date -u -d "@$(($(date +%s) + $1 * 60))" +%H:%M; }
req PUT /api/v1/groups/udefer/policy "{\"maintenance_windows\":[{\"days\":\"daily\",\"start\":\"$(hm 120)\",\"end\":\"$(hm 180)\",\"tz\":\"UTC\"}]}"
start a3 target-a
pa3=$TP
start c1 target-c
pc1=$TP
for b in $kb ua-1 uc-1; do rollout $b udefer 0 50; done
cycle d1
device d1
computes a3 14 && computes c1 14
check "outside the window: the kernel and both userspace bundles are deferred, nothing applied" \
	"$(cat d1.out); $(patches $pa3) / $(patches $pc1); $(status d1 'd["deferred"]')" \
	[ $? = 0 -a -z "$(patches $pa3)$(patches $pc1)" -a ! -e d1/loaded.log \
	  -a "$(status d1 'sorted(x["id"] for x in d["deferred"])')" = "['$kb', 'ua-1', 'uc-1']" ]
check "one deferred event per bundle, with the policy's reason" "$BODY" \
	[ "$(ev 'sorted((e["type"], e["bundle"], e["detail"]["kind"], "maintenance window" in e["detail"]["reason"]) for e in E)')" = \
	  "[('deferred', '$kb', 'kernel', True), ('deferred', 'ua-1', 'user', True), ('deferred', 'uc-1', 'user', True)]" ]
since=$(status d1 '[x["since"] for x in d["deferred"]]')
sleep 1.1
cycle d1 d1
device d1
check "two more check-ins while deferred: no further event, the first deferral time is kept" \
	"$(ev '[(e["type"], e["bundle"]) for e in E]') $since $(status d1 '[x["since"] for x in d["deferred"]]')" \
	[ "$(ev 'len(E)')" = 3 -a "$(status d1 '[x["since"] for x in d["deferred"]]')" = "$since" ]
req PUT /api/v1/groups/udefer/policy "{\"maintenance_windows\":[{\"days\":\"daily\",\"start\":\"$(hm -60)\",\"end\":\"$(hm 60)\",\"tz\":\"UTC\"}]}"
cycle d1
device d1
computes a3 21 && computes c1 21
check "inside the new window: all three applied and reported, nothing deferred any more" \
	"$(cat d1.out); $(ev '[(e["type"], e["bundle"]) for e in E]')" \
	[ $? = 0 -a "$(status d1 'd["deferred"], d["pending"]')" = "([], '')" -a "$(grep -c '^load' d1/loaded.log)" = 1 -a \
	  "$(ev 'sorted((e["type"], e["bundle"]) for e in E[:3])')" = "[('applied', '$kb'), ('applied', 'ua-1'), ('applied', 'uc-1')]" -a \
	  "$(ev 'len(E)')" = 6 ]
kill -9 $pa3 $pc1

# --- one update, two userspace bundles: one fails, the other still applies -------
start b2 target-b B
pb2=$TP
start c2 target-c
pc2=$TP
for b in ub-busy-1 uc-1; do rollout $b umixed 0 100; done
dev m1 daemon --once >m1.out 2>&1
rc=$?
device m1
computes c2 21
check "a failing bundle does not stop the next: uc-1 applied, ub-busy-1 failed, both reported" \
	"rc $rc $(cat m1.out) $(patches $pb2) / $(patches $pc2) $(ev '[(e["type"], e["bundle"]) for e in E]')" \
	[ $? = 0 -a $rc != 0 -a -z "$(patches $pb2)" -a "$(patches $pc2)" = "uc-1 " -a \
	  "$(ev 'sorted((e["type"], e["bundle"], e["detail"].get("processes")) for e in E)')" = \
	  "[('applied', 'uc-1', 1), ('failed', 'ub-busy-1', None)]" ]
kill -9 $pb2 $pc2
for p in $pc1 $pc2; do
	for _ in $(seq 100); do grep -q . /proc/$p/maps 2>/dev/null || break; sleep 0.05; done
done

# --- the program is installed but not running: kept for new processes, applied ---
mkdir -p "$W/disk" && cp target-c "$W/disk/"
rollout uc-1 ukeep 0 50
USERDIRS=$W/disk cycle k1
device k1
check "a file on disk that no process runs: the bundle is kept, reported applied with 0 processes" \
	"$(cat k1.out) $BODY" \
	[ "$(kept k1)" = 1 -a "$(ev '[(e["type"], e["bundle"], e["detail"]["processes"], "kept" in e["detail"]["note"]) for e in E]')" = \
	  "[('applied', 'uc-1', 0, True)]" ]
req GET "/api/v1/rollouts/$RID"
check "that counts for the rollout: complete" "$BODY" [ "$(js 'd["state"], d["applied"]')" = "('complete', 1)" ]
exit 0
