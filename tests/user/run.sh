#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the userspace live patch applier on real processes:
# test programs that print their functions' results every few ms are
# patched live, checked, reverted and checked again. Prints PASS:/FAIL:/SKIP:.
set -u
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LIVEFIX_BUILD:-$src/build/main}
L=$build/src/agent/livefix
LT=$build/src/agent/livefix-test	# the same agent with the kill hooks compiled in
S=$src/tests/user
W=$(mktemp -d /tmp/livefix-user.XXXXXX)
export LIVEFIX_RUNTIME_DIR=$W/run	# the appliers' lock
pids=()

cleanup() {
	local p
	exec 2>/dev/null	# no "Killed" notices from the shell
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null || true
	[ -n "${LIVEFIX_KEEP_WORK-}" ] || rm -rf "$W"
}
trap cleanup EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
ORIG='^c=14 m=original l=107 o=10 w=ok e=0 '

if [ "$(uname -m)" != x86_64 ]; then
	echo "SKIP: user (x86_64 only for now)"
	exit 0
fi

# ---- build the targets and patches ----
build_all() {
	set -e
	cd "$W"
	gcc -O2 -fPIC -shared -Wl,--build-id -o libtlib.so "$S/tlib.c"
	gcc -O2 -g -fPIE -pie -Wl,--build-id -o target-pie "$S/target.c" -L. -ltlib -Wl,-rpath,"$W" -lpthread
	gcc -O2 -g -fno-pie -no-pie -Wl,--build-id -o target-nopie "$S/target.c" -L. -ltlib -Wl,-rpath,"$W" -lpthread
	# Same source, another build: a build-id no process maps.
	gcc -O1 -g -fPIE -pie -Wl,--build-id -o target-other "$S/target.c" -L. -ltlib -Wl,-rpath,"$W" -lpthread
	gcc -O2 -o seccomp-run "$S/seccomp-run.c"
	gcc -O2 -static -Wl,--build-id -o target-static "$S/static-target.c"
	local t mk=$S/mkpatch.sh P=$S/patches
	for t in pie nopie; do
		$mk simple-$t.o target-$t simple-$t 1 $P/simple.c "func compute compute_v2"
		$mk newfunc-$t.o target-$t newfunc-$t 1 $P/newfunc.c "func compute compute_v2"
		$mk global-$t.o target-$t global-$t 1 $P/global.c "func compute compute_v2"
		$mk libc-$t.o target-$t libc-$t 1 $P/libc.c "func message message_v2"
		$mk local-$t.o target-$t local-$t 1 $P/local.c "func offset offset_v2" "bind offset_value offset_value,1"
	done
	$mk lib.o libtlib.so lib-1 1 $P/lib.c "func libfn libfn_v2"
	$mk level1.o target-pie lvl-1 1 $P/level1.c "func compute compute_l1" "func offset offset_l1"
	$mk level2.o target-pie lvl-2 2 $P/level2.c "func compute compute_l2" "func message message_l2"
	$mk level3.o target-pie lvl-3 3 $P/level1.c "func compute compute_l1" "func offset offset_l1"
	$mk tiny.o target-pie tiny-1 1 $P/tiny.c "func tiny tiny_v2"
	$mk forever.o target-pie forever-1 1 $P/busy.c "func busy_forever busy_forever_v2"
	$mk often.o target-pie often-1 1 $P/busy.c "func busy_often busy_often_v2"
	$mk insignal.o target-pie insignal-1 1 $P/busy.c "func in_signal in_signal_v2"
	$mk atstart.o target-pie atstart-1 1 $P/busy.c "func busy_at_start busy_at_start_v2"
	$mk other.o target-other other-1 1 $P/simple.c "func compute compute_v2"
	$mk ctor.o target-pie ctor-1 1 $P/ctor.c "func compute compute_v2"
	$mk static.o target-static static-1 1 $P/static.c "func compute compute_v2"
	$mk missing.o target-pie missing-1 1 $P/simple.c "func no_such_function compute_v2"
}
if ! (build_all) >"$W/build.log" 2>&1; then
	cat "$W/build.log"
	fail build "test programs or patches did not build"
	exit 1
fi
cd "$W"

# ---- helpers ----
start() { # out binary nthreads [flags] -> sets $tp
	local out=$1; shift
	"$@" &
	tp=$!
	disown "$tp"	# no "Killed" notices when the suite ends it
	pids+=("$tp")
	for _ in $(seq 100); do
		[ -s "$W/$out" ] && [ "$(wc -l <"$W/$out")" -ge 3 ] && return 0
		sleep 0.02
	done
	return 1
}
line() { tail -n 2 "$W/$1" | head -n 1; }
wait_for() { # out regex
	for _ in $(seq 150); do
		line "$1" | grep -Eq "$2" && return 0
		sleep 0.02
	done
	return 1
}
running() { # pid out: no thread stopped, one at least alive, still printing
	local st out=$2 n1 n2 alive=
	for st in $(awk '/^State:/ { print $2 }' /proc/$1/task/*/status 2>/dev/null); do
		case $st in t | T) return 1 ;; R | S | D) alive=1 ;; esac
	done
	[ -n "$alive" ] || return 1
	n1=$(line "$out" | sed 's/.* n=//')
	for _ in $(seq 40); do	# a new line within 2 s, even on a loaded machine
		sleep 0.05
		[ "$(line "$out" | sed 's/.* n=//')" != "$n1" ] && return 0
	done
	return 1
}
listed() { "$L" user list --pid "$1" | awk -v id="$2" '$2 == id' | grep -q .; }
no_patch() { ! "$L" user list --pid "$1" | awk 'NR > 1' | grep -q .; }

# apply, see, revert, see the original again
roundtrip() { # name pid out patch id regex
	local name=$1 pid=$2 out=$3 patch=$4 id=$5 re=$6 log
	log=$W/$(echo "$1" | tr / _).log
	if ! "$L" user apply "$patch" --pid "$pid" >"$log" 2>&1; then
		fail "$name" "apply: $(tr '\n' ' ' <"$log")"; return
	fi
	wait_for "$out" "$re" || { fail "$name" "patched output not seen: $(line "$out")"; return; }
	listed "$pid" "$id" || { fail "$name" "not listed"; return; }
	if ! "$L" user revert "$id" --pid "$pid" >>"$log" 2>&1; then
		fail "$name" "revert: $(tail -1 "$log")"; return
	fi
	wait_for "$out" "${ORIG_RE:-$ORIG}" || { fail "$name" "original output not back: $(line "$out")"; return; }
	no_patch "$pid" || { fail "$name" "still listed after revert"; return; }
	running "$pid" "$out" || { fail "$name" "target not running"; return; }
	pass "$name"
}

# ---- PIE and non-PIE executables ----
for t in pie nopie; do
	start out-$t ./target-$t "$W/out-$t" 2 || { fail "$t/start" "target did not start"; continue; }
	p=$tp
	declare "pid_$t=$p"
	wait_for out-$t "$ORIG" || fail "$t/original" "$(line out-$t)"
	roundtrip "$t/simple-function" $p out-$t simple-$t.o simple-$t '^c=21 .* w=ok e=0 '
	roundtrip "$t/new-function" $p out-$t newfunc-$t.o newfunc-$t '^c=50 .* w=ok e=0 '
	roundtrip "$t/new-global-variable" $p out-$t global-$t.o global-$t '^c=35 '
	roundtrip "$t/libc-functions-data-strings" $p out-$t libc-$t.o libc-$t ' m=patched-42-out '
	roundtrip "$t/target-local-symbol" $p out-$t local-$t.o local-$t ' o=37 '
done

p=$pid_pie

# ---- a static executable: libc is part of the program ----
if start out-st ./target-static "$W/out-st"; then
	stp=$tp
	if "$L" user apply static.o --pid $stp >"$W/static.log" 2>&1 && wait_for out-st '^c=21 ' &&
	   "$L" user revert static-1 --pid $stp >>"$W/static.log" 2>&1 && wait_for out-st '^c=14 ' &&
	   no_patch $stp && running $stp out-st; then
		pass static-executable
	else
		fail static-executable "$(tr '\n' ' ' <"$W/static.log") $(line out-st)"
	fi
	kill -9 $stp
else
	fail static-executable "target did not start"
fi

# ---- a shared library, in every process that maps it (--all) ----
if "$L" user apply lib.o --all >"$W/lib.log" 2>&1 && wait_for out-pie ' l=207 ' && wait_for out-nopie ' l=207 ' &&
   grep -q "^pid $pid_pie: applied lib-1" "$W/lib.log" && grep -q "^pid $pid_nopie: applied lib-1" "$W/lib.log"; then
	if "$L" user revert lib-1 >>"$W/lib.log" 2>&1 && wait_for out-pie "$ORIG" && wait_for out-nopie "$ORIG"; then
		pass shared-library-all-processes
	else
		fail shared-library-all-processes "revert: $(tail -1 "$W/lib.log")"
	fi
else
	fail shared-library-all-processes "$(tr '\n' ' ' <"$W/lib.log") $(line out-pie)"
fi
kill -9 "$pid_nopie" 2>/dev/null

# ---- several threads: every worker runs the new code ----
if start out-t8 ./target-pie "$W/out-t8" 8; then
	roundtrip threads-8 $tp out-t8 simple-pie.o simple-pie '^c=21 .* w=ok e=0 '
	nthreads=$(ls /proc/$tp/task | wc -l)
	[ "$nthreads" = 9 ] && pass threads-count || fail threads-count "$nthreads threads"
	kill -9 $tp
else
	fail threads-8 "target did not start"
fi

# ---- no free address within jump reach of the program ----
if start out-f ./target-pie "$W/out-f" 1 F; then
	fp=$tp
	"$L" user apply simple-pie.o --pid $fp >"$W/fill.log" 2>&1
	rc=$?
	if [ $rc = 6 ] && grep -q 'no free address within branch reach' "$W/fill.log" && no_patch $fp &&
	   running $fp out-f && wait_for out-f "$ORIG"; then
		pass refuse-no-address-in-reach
	else
		fail refuse-no-address-in-reach "exit $rc: $(cat "$W/fill.log")"
	fi
	# A library far from the program still has room next to it.
	roundtrip library-beside-full-program $fp out-f lib.o lib-1 ' l=207 '
	kill -9 $fp
else
	fail refuse-no-address-in-reach "target did not start"
fi

# ---- a thread that cannot be stopped within the budget: refused, not frozen ----
if start out-v ./target-pie "$W/out-v" 2 V; then
	vp=$tp
	t0=$(date +%s%N)
	"$L" user apply simple-pie.o --pid $vp --retries 5 --budget-ms 5 >"$W/vfork.log" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ $rc = 5 ] && grep -q 'did not stop in time' "$W/vfork.log" && no_patch $vp && [ $ms -lt 5000 ] &&
	   running $vp out-v && wait_for out-v "$ORIG"; then
		pass refuse-thread-not-stopping
	else
		fail refuse-thread-not-stopping "exit $rc after $ms ms: $(cat "$W/vfork.log")"
	fi
	kill -9 $vp
else
	fail refuse-thread-not-stopping "target did not start"
fi

# ---- a zombie leader (main thread exited): the other threads are patched ----
if start out-z ./target-pie "$W/out-z" 2 Z; then
	grep -q '^State:.*Z' /proc/$tp/status || fail zombie-leader "leader is not a zombie"
	roundtrip zombie-leader $tp out-z simple-pie.o simple-pie '^c=21 .* w=ok e=0 '
	kill -9 $tp
else
	fail zombie-leader "target did not start"
fi

# ---- a thread in a signal handler: unwound through the signal frame ----
if start out-s ./target-pie "$W/out-s" 1 S; then
	sp=$tp
	sleep 0.1
	"$L" user apply insignal.o --pid $sp --retries 2 >"$W/sig.log" 2>&1
	rc=$?
	if [ $rc = 5 ] && grep -Eq 'is in in_signal \(frame [1-9]' "$W/sig.log" && no_patch $sp; then
		pass signal-frame-busy
	else
		fail signal-frame-busy "exit $rc: $(cat "$W/sig.log")"
	fi
	# The same stack, unwound to its end, holds nothing that compute() replaces.
	roundtrip signal-frame-unwinds $sp out-s simple-pie.o simple-pie '^c=21 .* w=ok e=0 '
	kill -9 $sp
else
	fail signal-frame-busy "target did not start"
fi

# ---- threads created and exiting while we stop them ----
if start out-c ./target-pie "$W/out-c" 2 C; then
	cp=$tp
	ok=1
	for i in $(seq 10); do
		if ! "$L" user apply simple-pie.o --pid $cp >"$W/clone.log" 2>&1 || ! wait_for out-c '^c=21 .* w=ok e=0 ' ||
		   ! "$L" user revert simple-pie --pid $cp >>"$W/clone.log" 2>&1 || ! wait_for out-c "$ORIG"; then
			ok=
			break
		fi
	done
	if [ -z "$ok" ]; then
		fail threads-coming-and-going "round $i: $(tr '\n' ' ' <"$W/clone.log") output: $(line out-c)"
	elif ! running $cp out-c; then
		fail threads-coming-and-going "not running: $(grep -h State /proc/$cp/task/*/status | sort | uniq -c | tr '\n' ' ')"
	elif ! no_patch $cp; then
		fail threads-coming-and-going "still listed: $("$L" user list --pid $cp | tr '\n' ' ')"
	else
		pass threads-coming-and-going
	fi
	kill -9 $cp
else
	fail threads-coming-and-going "target did not start"
fi

# ---- successive levels: level 2 replaces level 1 in one pause ----
levels() {
	"$L" user apply level1.o --pid $p >"$W/lvl.log" 2>&1 || { echo "apply l1: $(cat "$W/lvl.log")"; return 1; }
	wait_for out-pie '^c=21 m=original l=107 o=37 ' || { echo "l1 output: $(line out-pie)"; return 1; }
	"$L" user apply level2.o --pid $p >>"$W/lvl.log" 2>&1 || { echo "apply l2: $(tail -1 "$W/lvl.log")"; return 1; }
	# offset() was in level 1 only: back to the original.
	wait_for out-pie '^c=28 m=level2 l=107 o=10 ' || { echo "l2 output: $(line out-pie)"; return 1; }
	listed $p lvl-2 && ! listed $p lvl-1 || { echo "list: $("$L" user list --pid $p)"; return 1; }
	grep -c '^[0-9a-f-]* ---p\|^[0-9a-f-]* r--p 00000000 00:00 0 *$' /proc/$p/maps >/dev/null
	if "$L" user apply level1.o --pid $p >>"$W/lvl.log" 2>&1; then
		echo "level 1 over level 2 was accepted"; return 1
	fi
	grep -q 'level 2 is applied' "$W/lvl.log" || { echo "no reason: $(tail -1 "$W/lvl.log")"; return 1; }
	"$L" user revert lvl-2 --pid $p >>"$W/lvl.log" 2>&1 || { echo "revert: $(tail -1 "$W/lvl.log")"; return 1; }
	wait_for out-pie "$ORIG" || { echo "after revert: $(line out-pie)"; return 1; }
	no_patch $p || { echo "still listed"; return 1; }
}
if r=$(levels); then pass levels-replace; else fail levels-replace "$r"; fi

# ---- a signed bundle through livefix apply: every process of the file ----
LB=$build/src/builder/livefix-build
bundles() {
	"$LB" keygen --role targets -o "$W/tk.key" >/dev/null &&
	"$LB" bundle --kind user --payload level1.o --target-elf target-pie --level 1 \
		--cve CVE-2026-1111:high --key "$W/tk.key" -o "$W/u1.lfb" >/dev/null &&
	"$LB" bundle --kind user --payload other.o --target-elf target-other --level 1 \
		--key "$W/tk.key" -o "$W/uother.lfb" >/dev/null &&
	"$LB" bundle --kind user --payload level1.o --target-elf target-other --level 1 \
		--key "$W/tk.key" -o "$W/umismatch.lfb" >/dev/null || { echo "bundles not built"; return 1; }
	local A=("$L" apply --state-dir "$W/state" --key "$W/tk.key.pub")
	"${A[@]}" "$W/u1.lfb" >"$W/b.log" 2>&1 || { echo "apply: $(cat "$W/b.log")"; return 1; }
	grep -q '^applied: userspace patch' "$W/b.log" || { echo "said: $(cat "$W/b.log")"; return 1; }
	wait_for out-pie '^c=21 m=original l=107 o=37 ' || { echo "output: $(line out-pie)"; return 1; }
	listed $p lvl-1 || { echo "not listed"; return 1; }
	"${A[@]}" "$W/u1.lfb" >"$W/b.log" 2>&1 && grep -q '^up-to-date' "$W/b.log" ||
		{ echo "second apply: $(cat "$W/b.log")"; return 1; }
	"${A[@]}" "$W/uother.lfb" >"$W/b.log" 2>&1
	[ $? = 4 ] && grep -q 'no running process maps build-id' "$W/b.log" ||
		{ echo "unmapped build-id: $(cat "$W/b.log")"; return 1; }
	"${A[@]}" "$W/umismatch.lfb" >"$W/b.log" 2>&1
	[ $? = 3 ] && grep -q 'its patch object for' "$W/b.log" ||
		{ echo "mismatch: $(cat "$W/b.log")"; return 1; }
	"$L" user revert lvl-1 --pid $p >/dev/null 2>&1 || { echo "revert failed"; return 1; }
	wait_for out-pie "$ORIG" && no_patch $p || { echo "after revert: $(line out-pie)"; return 1; }
}
if r=$(bundles); then pass signed-bundle-apply; else fail signed-bundle-apply "$r"; fi

# ---- refusals: the target is left untouched ----
refuse() { # name expected-exit regex-in-message command...
	local name=$1 want=$2 re=$3 rc
	shift 3
	"$@" >"$W/refuse.log" 2>&1
	rc=$?
	if [ $rc != "$want" ]; then
		fail "$name" "exit $rc, expected $want: $(tr '\n' ' ' <"$W/refuse.log")"
	elif ! grep -Eq "$re" "$W/refuse.log"; then
		fail "$name" "reason not given: $(tr '\n' ' ' <"$W/refuse.log")"
	elif ! no_patch $p || ! running $p out-pie || ! wait_for out-pie "$ORIG"; then
		fail "$name" "target changed or stopped"
	else
		pass "$name"
	fi
}
"$L" user apply simple-pie.o --pid $p >/dev/null 2>&1
"$L" user apply simple-pie.o --pid $p >"$W/again.log" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q 'already applied' "$W/again.log" && wait_for out-pie '^c=21 ' && listed $p simple-pie; then
	pass refuse-already-applied
else
	fail refuse-already-applied "exit $rc: $(cat "$W/again.log")"
fi
"$L" user revert simple-pie --pid $p >/dev/null 2>&1
refuse refuse-build-id-mismatch 4 'maps no object with build-id' "$L" user apply simple-nopie.o --pid $p
refuse refuse-no-matching-process 4 'no process maps build-id' "$L" user apply other.o --all
refuse refuse-short-function 6 'tiny is 3 bytes, too short' "$L" user apply tiny.o --pid $p
refuse refuse-no-such-patch 1 'not applied' "$L" user revert no-such-patch --pid $p
refuse refuse-bad-object 4 'not an ELF64 object' "$L" user apply "$S/run.sh" --pid $p
refuse refuse-constructor 4 'constructors and destructors never run' "$L" user apply ctor.o --pid $p
refuse refuse-unknown-function 4 'function no_such_function is not in' "$L" user apply missing.o --pid $p

# seccomp: refuse before touching the process
if start out-sc ./seccomp-run ./target-pie "$W/out-sc" 1; then
	sp=$tp
	"$L" user apply simple-pie.o --pid $sp >"$W/sc.log" 2>&1
	rc=$?
	if [ $rc = 6 ] && grep -q seccomp "$W/sc.log" && no_patch $sp && running $sp out-sc &&
	   wait_for out-sc "$ORIG"; then
		pass refuse-seccomp
	else
		fail refuse-seccomp "exit $rc: $(cat "$W/sc.log")"
	fi
	kill -9 $sp
else
	fail refuse-seccomp "target did not start"
fi

# ---- a function busy half the time: applied after waiting ----
if start out-o ./target-pie "$W/out-o" 1 BO; then
	op=$tp
	"$L" user apply forever.o --pid $op --retries 3 --budget-ms 5 >"$W/forever.log" 2>&1
	rc=$?
	if [ $rc = 5 ] && grep -Eq 'thread [0-9]+ is in busy_forever' "$W/forever.log" && no_patch $op &&
	   running $op out-o; then
		pass refuse-busy-thread
	else
		fail refuse-busy-thread "exit $rc: $(cat "$W/forever.log")"
	fi
	if "$L" user apply often.o --pid $op --retries 100 >"$W/often.log" 2>&1; then
		pass busy-function-waits-then-applies
		# A thread now sleeps inside the patch: unwinding it needs the patch's own CFI.
		if "$L" user apply lib.o --pid $op --retries 100 >"$W/often2.log" 2>&1 &&
		   wait_for out-o ' l=207 '; then
			pass unwind-through-patch-code
		else
			fail unwind-through-patch-code "$(cat "$W/often2.log")"
		fi
		"$L" user revert lib-1 --pid $op --retries 100 >/dev/null 2>&1
		if "$L" user revert often-1 --pid $op --retries 100 >>"$W/often.log" 2>&1 && no_patch $op &&
		   running $op out-o; then
			pass busy-function-revert
		else
			fail busy-function-revert "$(tail -1 "$W/often.log")"
		fi
	else
		fail busy-function-waits-then-applies "$(cat "$W/often.log")"
	fi
	kill -9 $op
else
	fail busy-function-waits-then-applies "target did not start"
fi

# ---- a killed agent leaves the target running correctly ----
for step in mapped written protected stopped mid-redirect redirected; do
	(LIVEFIX_TEST_KILL_AT=$step "$LT" user apply level2.o --pid $p >"$W/kill.log" 2>&1; exit $?) 2>/dev/null
	rc=$?
	if [ $rc = 0 ]; then	# the hook never fired: the step is gone or renamed
		echo "FAIL: killed-agent/$step (LIVEFIX_TEST_KILL_AT=$step did not kill the agent)"
		"$L" user revert lvl-2 --pid $p >/dev/null 2>&1
		continue
	fi
	if [ $rc != 137 ]; then
		fail "killed-agent/$step" "agent was not killed at $step: exit $rc $(cat "$W/kill.log")"
		continue
	fi
	sleep 0.05
	if ! running $p out-pie; then
		fail "killed-agent/$step" "target stopped: $(grep State /proc/$p/status)"
		continue
	fi
	case $step in
	mid-redirect) want='^c=28 m=original l=107 o=10 w=ok e=0 ' ;;
	redirected) want='^c=28 m=level2 l=107 o=10 w=ok e=0 ' ;;
	*) want=$ORIG ;;
	esac
	if ! wait_for out-pie "$want"; then
		fail "killed-agent/$step" "output: $(line out-pie)"
		continue
	fi
	# Whatever was left, a new agent lists and reverts it, then applies afresh.
	# A mapping that was never redirected is taken over by the next apply.
	case $step in
	written | protected | stopped)
		"$L" user list --pid $p | grep -q ' lvl-2 .* inactive ' || { fail "killed-agent/$step" "not listed inactive"; continue; }
		;;
	mid-redirect | redirected)
		"$L" user revert lvl-2 --pid $p >/dev/null 2>&1
		;;
	esac
	if ! wait_for out-pie "$ORIG"; then
		fail "killed-agent/$step" "not reverted: $(line out-pie)"
		continue
	fi
	if "$L" user apply level2.o --pid $p >/dev/null 2>&1 && wait_for out-pie '^c=28 m=level2 ' &&
	   "$L" user revert lvl-2 --pid $p >/dev/null 2>&1 && wait_for out-pie "$ORIG" && no_patch $p; then
		pass "killed-agent/$step"
	else
		fail "killed-agent/$step" "apply afterwards failed"
	fi
done

# ---- killed between a level's switch and the unmapping of the level it replaced ----
killed_level() {
	"$L" user apply level1.o --pid $p >/dev/null 2>&1 || { echo "apply l1"; return 1; }
	(LIVEFIX_TEST_KILL_AT=redirected "$LT" user apply level2.o --pid $p >/dev/null 2>&1; exit $?) 2>/dev/null
	case $? in
	137) ;;
	0) "$L" user revert lvl-2 --pid $p >/dev/null 2>&1; echo "hook did not fire"; return 1 ;;
	*) echo "agent not killed"; return 1 ;;
	esac
	running $p out-pie && wait_for out-pie '^c=28 m=level2 l=107 o=10 ' || { echo "l2: $(line out-pie)"; return 1; }
	"$L" user list --pid $p | grep -q ' lvl-1 .* inactive ' || { echo "lvl-1 not inactive"; return 1; }
	# Level 3 takes over: the dead level 1 mapping goes, level 2 is replaced.
	"$L" user apply level3.o --pid $p >/dev/null 2>&1 || { echo "apply l3"; return 1; }
	wait_for out-pie '^c=21 m=original l=107 o=37 ' || { echo "l3: $(line out-pie)"; return 1; }
	"$L" user list --pid $p | awk 'NR > 1 { print $2 }' | tr '\n' ' ' | grep -qx 'lvl-3 ' ||
		{ echo "list: $("$L" user list --pid $p | tr '\n' ' ')"; return 1; }
	"$L" user revert lvl-3 --pid $p >/dev/null 2>&1 && wait_for out-pie "$ORIG" && no_patch $p ||
		{ echo "revert l3"; return 1; }
}
r=$(killed_level)
case $? in
0) pass killed-agent/level-replace ;;
*) fail killed-agent/level-replace "$r" ;;
esac

# ---- one applier at a time: a second one waits for the lock ----
mkdir -p "$LIVEFIX_RUNTIME_DIR"
flock "$LIVEFIX_RUNTIME_DIR/user.lock" sleep 0.6 &
holder=$!
sleep 0.1
t0=$(date +%s%N)
"$L" user apply simple-pie.o --pid $p >"$W/lock.log" 2>&1
rc=$?
waited=$((($(date +%s%N) - t0) / 1000000))
wait $holder
if [ $rc = 0 ] && [ $waited -ge 400 ] && wait_for out-pie '^c=21 ' &&
   "$L" user revert simple-pie --pid $p >>"$W/lock.log" 2>&1 && wait_for out-pie "$ORIG"; then
	pass appliers-take-turns
else
	fail appliers-take-turns "exit $rc after $waited ms: $(cat "$W/lock.log")"
fi

# ---- apply --json reports the pause and the threads; list --json the patch ----
"$L" user apply simple-pie.o --pid $p --json >"$W/apply.json" 2>&1
if python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["ok"] and r["exit"] == 0 and r["pid"] == int(sys.argv[2]), r
assert r["threads"] == int(sys.argv[3]) and 0 < r["pause_ns"] < 10**9 and r["attempts"] >= 1, r
' "$W/apply.json" $p "$(ls /proc/$p/task | wc -l)" 2>"$W/json.log"; then
	pass apply-json-pause
else
	fail apply-json-pause "$(tail -1 "$W/json.log")"
fi
if "$L" user list --json | python3 -c '
import json, sys
a = [x for x in json.load(sys.stdin) if x["id"] == "simple-pie"]
assert len(a) == 1 and a[0]["state"] == "applied" and a[0]["redirected"] == 1, a
' 2>"$W/json.log"; then
	pass list-json
else
	fail list-json "$(tail -1 "$W/json.log")"
fi
"$L" user revert simple-pie --pid $p >/dev/null 2>&1
running $p out-pie && wait_for out-pie "$ORIG" && pass target-survived-all || fail target-survived-all "$(line out-pie)"

# ---- TLS and IFUNC (tls.sh), exec-time patching (exec.sh), bundles from a repository (repo.sh) ----
. "$S/tls.sh"
. "$S/exec.sh"
. "$S/repo.sh"
