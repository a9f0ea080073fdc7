# SPDX-License-Identifier: Apache-2.0
# The aarch64 cases, run by busybox sh inside the arm64 VM
# (tests/user-arm64/run.sh builds everything on the host): the cross-built
# agent's version and doctor, a signed bundle, and the userspace applier.
# Test programs from tests/user print their functions' results every few
# ms; they are patched live by the agent, checked, reverted and checked.
# Results go to the console as "LF-RESULT: PASS: name" lines.
# shellcheck shell=sh

T=/lf/t
L=livefix
O=/tmp
ORIG='^c=14 m=original l=107 o=10 w=ok e=0 '
export LIVEFIX_RUNTIME_DIR=/run/livefix
# TCG on a shared, loaded host runs the guest 10-100 times slower than a
# device: the default 10 ms budget for stopping and checking the threads
# would measure the host's load. The refusals below still must happen.
BUDGET="--budget-ms 400"

result() { echo "LF-RESULT: $*"; }
pass() { result "PASS: $1"; }
fail() { result "FAIL: $1 ($(printf '%s' "$2" | tr '\n()' '|[]' | cut -c1-400))"; }

start() { # out binary args... -> sets tp
	out=$1
	shift
	"$@" >"$O/$out.err" 2>&1 &	# never holding a $(...) pipe open
	tp=$!
	for _ in $(seq 100); do
		[ -s "$O/$out" ] && [ "$(wc -l <"$O/$out")" -ge 3 ] && return 0
		sleep 0.1
	done
	return 1
}
line() { tail -n 2 "$O/$1" | head -n 1; }
wait_for() { # out regex: within 10 s (TCG is slow)
	for _ in $(seq 100); do
		line "$1" | grep -Eq "$2" && return 0
		sleep 0.1
	done
	return 1
}
running() { # pid out: no thread stopped, still printing
	for st in $(awk '/^State:/ { print $2 }' /proc/"$1"/task/*/status 2>/dev/null); do
		case $st in t | T) return 1 ;; esac
	done
	n1=$(line "$2" | sed 's/.* n=//')
	for _ in $(seq 50); do
		sleep 0.1
		[ "$(line "$2" | sed 's/.* n=//')" != "$n1" ] && return 0
	done
	return 1
}
listed() { $L user list --pid "$1" | awk -v id="$2" '$2 == id' | grep -q .; }
no_patch() { ! $L user list --pid "$1" | awk 'NR > 1' | grep -q .; }
pause_of() { sed -n 's/.*: pause \([0-9.]*\) ms.*/\1/p' "$1" | head -n1; }

roundtrip() { # name pid out patch id regex
	name=$1 pid=$2 out=$3 patch=$4 id=$5 re=$6
	log=$O/$(echo "$name" | tr / _).log
	if ! $L user apply "$T/$patch" --pid "$pid" $BUDGET >"$log" 2>&1; then
		fail "$name" "apply: $(cat "$log")"; return 1
	fi
	echo "vm: $name: $(cat "$log")"
	wait_for "$out" "$re" || { fail "$name" "patched output not seen: $(line "$out")"; return 1; }
	listed "$pid" "$id" || { fail "$name" "not listed: $($L user list --pid "$pid")"; return 1; }
	if ! $L user revert "$id" $BUDGET --pid "$pid" >>"$log" 2>&1; then
		fail "$name" "revert: $(tail -n 1 "$log")"; return 1
	fi
	wait_for "$out" "$ORIG" || { fail "$name" "original output not back: $(line "$out")"; return 1; }
	no_patch "$pid" || { fail "$name" "still listed after revert"; return 1; }
	running "$pid" "$out" || { fail "$name" "target not running"; return 1; }
	pass "$name"
}

# ---- the fleet loop with a portal on the host, when run.sh set one up ----
[ -f /lf/fleet.sh ] && . /lf/fleet.sh

# ---- the encoders, checked against the assembler (arch-test.c) ----
$T/arch-test | sed 's/^/LF-RESULT: /'

# ---- the full agent: version, doctor ----
v=$($L version 2>&1)
[ "$v" = "$(cat $T/version.txt)" ] && pass agent-version || fail agent-version "'$v', want '$(cat $T/version.txt)'"

# Debian's arm64 6.1 kernel has no livepatch (no CONFIG_LIVEPATCH, no
# KALLSYMS_ALL, no /sys/kernel/livepatch); ptrace and /proc/PID/mem work.
$L doctor >$O/doctor.txt 2>&1
rc=$?
echo "vm: doctor (exit $rc):"; sed 's/^/vm:   /' $O/doctor.txt
bad=
for re in "^ok +kernel +$(uname -r) \(aarch64\)" '^ok +kernel config +/boot/config-' \
	'^fail +CONFIG_LIVEPATCH +not set' '^fail +CONFIG_KALLSYMS_ALL +not set' \
	'^fail +/sys/kernel/livepatch +missing' '^ok +ptrace ' '^ok +/proc/PID/mem +writable' \
	'^kernel live patching: NOT possible$' '^userspace live patching: possible$'; do
	grep -Eq "$re" $O/doctor.txt || bad="$bad [$re]"
done
[ $rc = 6 ] && [ -z "$bad" ] && pass doctor-no-kernel-livepatch-userspace-ok ||
	fail doctor-no-kernel-livepatch-userspace-ok "exit $rc, lacks$bad"
$L doctor --json >$O/doctor.json 2>&1
rc=$?
if [ $rc = 6 ] && grep -Eq '"kernel_livepatch": ?false' $O/doctor.json &&
   grep -Eq '"user_livepatch": ?true' $O/doctor.json; then
	pass doctor-json
else
	fail doctor-json "exit $rc: $(cat $O/doctor.json)"
fi

# ---- a signed userspace bundle: livefix apply X.lfb, at exec, user revert ----
# root.json, made on the host, is pinned; bundles are verified against it.
kept=/var/lib/livefix/user/$(cat $T/target-pie.build-id).lfb
bundle_apply() { # pid
	$L apply $T/simple.lfb >$O/b0.log 2>&1 && { echo "applied with no root pinned"; return 1; }
	grep -q 'no trusted root' $O/b0.log || { echo "no root: $(cat $O/b0.log)"; return 1; }
	$L trust init $T/root.json >$O/b1.log 2>&1 || { echo "trust init: $(cat $O/b1.log)"; return 1; }
	$L apply $T/wrongrole.lfb >$O/b2.log 2>&1
	rc=$?
	[ $rc = 3 ] && grep -q 'do not hold this role' $O/b2.log && no_patch $1 && [ ! -e $kept ] ||
		{ echo "wrong-role bundle: exit $rc: $(cat $O/b2.log)"; return 1; }
	$L apply $BUDGET $T/simple.lfb >$O/b3.log 2>&1 || { echo "apply: $(cat $O/b3.log)"; return 1; }
	grep -q '^applied: userspace patch .* level 1 (1 CVE' $O/b3.log || { echo "apply said: $(cat $O/b3.log)"; return 1; }
	wait_for out-s '^c=21 .* w=ok e=0 ' || { echo "patched output not seen: $(line out-s)"; return 1; }
	listed $1 simple-pie || { echo "not listed: $($L user list --pid $1)"; return 1; }
	[ -s $kept ] && cmp -s $kept $T/simple.lfb || { echo "bundle not kept as $kept"; return 1; }
	$L apply $BUDGET $T/simple.lfb >$O/b4.log 2>&1 && grep -q '^up-to-date: userspace patch' $O/b4.log ||
		{ echo "second apply: $(cat $O/b4.log)"; return 1; }
	echo "vm: bundle: $(cat $O/b3.log)" >&2
}
# The kept bundle reaches a program started later: livefix daemon patches it at exec.
at_exec() { # -> pid of the new process in $O/s2.pid
	$L daemon --user-budget-ms 400 >$O/daemon.log 2>&1 &
	dp=$!
	for _ in $(seq 100); do grep -q 'kept for new processes' $O/daemon.log && break; sleep 0.1; done
	start out-s2 $T/target-pie $O/out-s2 1 || { kill $dp; echo "second target did not start"; return 1; }
	echo $tp >$O/s2.pid
	wait_for out-s2 '^c=21 .* w=ok e=0 ' || { kill $dp; echo "not patched: $(line out-s2); $(cat $O/daemon.log)"; return 1; }
	kill $dp
	wait $dp 2>/dev/null
	grep -q "pid $tp: applied [^ ]* level 1 (patch simple-pie) at exec" $O/daemon.log ||
		{ echo "daemon: $(cat $O/daemon.log)"; return 1; }
	echo "vm: exec: $(grep 'applied .* at exec' $O/daemon.log)" >&2
}
# Reverted everywhere (both processes), and no longer kept for new ones.
bundle_revert() { # pids
	$L user revert simple-pie $BUDGET >$O/b5.log 2>&1 || { echo "revert: $(cat $O/b5.log)"; return 1; }
	for o in out-s out-s2; do
		[ -s $O/$o ] || continue
		wait_for $o "$ORIG" || { echo "$o: original output not back: $(line $o)"; return 1; }
	done
	for p in "$@"; do
		no_patch $p || { echo "still listed in $p after revert"; return 1; }
	done
	[ ! -e $kept ] || { echo "$kept still kept after revert everywhere"; return 1; }
	running $1 out-s || { echo "target not running"; return 1; }
	echo "vm: revert: $(cat $O/b5.log | tr '\n' ' ')" >&2
}
if start out-s $T/target-pie $O/out-s 1 && wait_for out-s "$ORIG"; then
	sp=$tp
	if r=$(bundle_apply $sp); then
		pass signed-bundle-apply
		if r=$(at_exec); then pass daemon-patches-new-process-at-exec; else fail daemon-patches-new-process-at-exec "$r"; fi
		s2=$(cat $O/s2.pid 2>/dev/null)
		if r=$(bundle_revert $sp $s2); then pass user-revert-everywhere; else fail user-revert-everywhere "$r"; fi
		[ -n "$s2" ] && kill -9 $s2
	else
		fail signed-bundle-apply "$r"
	fi
	kill -9 $sp
else
	fail signed-bundle-apply "target did not start: $(line out-s)"
fi

# ---- PIE and non-PIE executables, 4 worker threads each ----
for t in pie nopie; do
	if ! start out-$t $T/target-$t $O/out-$t 4; then
		fail "$t/start" "target did not start"
		continue
	fi
	eval "pid_$t=$tp"
	wait_for out-$t "$ORIG" || fail "$t/original" "$(line out-$t)"
	roundtrip "$t/simple-function" $tp out-$t simple-$t.o simple-$t '^c=21 .* w=ok e=0 '
	roundtrip "$t/new-function" $tp out-$t newfunc-$t.o newfunc-$t '^c=50 .* w=ok e=0 '
	roundtrip "$t/new-global-variable" $tp out-$t global-$t.o global-$t '^c=35 '
	roundtrip "$t/libc-functions-data-strings" $tp out-$t libc-$t.o libc-$t ' m=patched-42-out '
	roundtrip "$t/target-local-symbol" $tp out-$t local-$t.o local-$t ' o=37 '
done

# ---- a shared library, in every process that maps it ----
if $L user apply $T/lib.o --all $BUDGET >$O/lib.log 2>&1 && wait_for out-pie ' l=207 ' &&
   wait_for out-nopie ' l=207 ' && grep -q "^pid $pid_pie: applied lib-1" $O/lib.log &&
   grep -q "^pid $pid_nopie: applied lib-1" $O/lib.log; then
	if $L user revert lib-1 $BUDGET >>$O/lib.log 2>&1 && wait_for out-pie "$ORIG" && wait_for out-nopie "$ORIG"; then
		pass shared-library-all-processes
	else
		fail shared-library-all-processes "revert: $(tail -n 1 $O/lib.log)"
	fi
else
	fail shared-library-all-processes "$(cat $O/lib.log) $(line out-pie)"
fi
kill -9 "$pid_nopie" 2>/dev/null

# ---- levels: level 2 replaces level 1 in one pause; a lower level is refused ----
levels() {
	p=$pid_pie
	$L user apply $T/level1.o --pid $p $BUDGET >$O/lvl.log 2>&1 || { echo "apply l1: $(cat $O/lvl.log)"; return 1; }
	wait_for out-pie '^c=21 m=original l=107 o=37 ' || { echo "l1 output: $(line out-pie)"; return 1; }
	$L user apply $T/level2.o --pid $p $BUDGET >>$O/lvl.log 2>&1 || { echo "apply l2: $(tail -n 1 $O/lvl.log)"; return 1; }
	wait_for out-pie '^c=28 m=level2 l=107 o=10 ' || { echo "l2 output: $(line out-pie)"; return 1; }
	listed $p lvl-2 && ! listed $p lvl-1 || { echo "list: $($L user list --pid $p)"; return 1; }
	if $L user apply $T/level1.o --pid $p $BUDGET >>$O/lvl.log 2>&1; then
		echo "level 1 over level 2 was accepted"; return 1
	fi
	grep -q 'level 2 is applied' $O/lvl.log || { echo "no reason: $(tail -n 1 $O/lvl.log)"; return 1; }
	$L user revert lvl-2 $BUDGET --pid $p >>$O/lvl.log 2>&1 || { echo "revert: $(tail -n 1 $O/lvl.log)"; return 1; }
	wait_for out-pie "$ORIG" || { echo "after revert: $(line out-pie)"; return 1; }
	no_patch $p || { echo "still listed"; return 1; }
}
if r=$(levels); then pass levels-replace; else fail levels-replace "$r"; fi

# ---- refusals: another build, an x86_64 object, and nothing changed ----
$L user apply $T/other.o --pid $pid_pie $BUDGET >$O/other.log 2>&1
rc=$?
if [ $rc = 4 ] && no_patch $pid_pie && wait_for out-pie "$ORIG"; then
	pass refuse-other-build
else
	fail refuse-other-build "exit $rc: $(cat $O/other.log)"
fi
$L user apply $T/x86.o --pid $pid_pie $BUDGET >$O/x86.log 2>&1
rc=$?
if [ $rc = 4 ] && grep -q 'not an aarch64 relocatable object' $O/x86.log && no_patch $pid_pie; then
	pass refuse-x86_64-object
else
	fail refuse-x86_64-object "exit $rc: $(cat $O/x86.log)"
fi
kill -9 "$pid_pie" 2>/dev/null

# ---- several threads: every worker runs the new code ----
if start out-t8 $T/target-pie $O/out-t8 8; then
	roundtrip threads-8 $tp out-t8 simple-pie.o simple-pie '^c=21 .* w=ok e=0 '
	n=$(ls /proc/$tp/task | wc -l)
	[ "$n" = 9 ] && pass threads-count || fail threads-count "$n threads"
	kill -9 $tp
else
	fail threads-8 "target did not start"
fi

# ---- no free address within b's +-128 MiB of the program: refused ----
# F reserves every free page within 3 GiB of the program (PROT_NONE).
if start out-f $T/target-pie $O/out-f 1 F; then
	$L user apply $T/simple-pie.o --pid $tp $BUDGET >$O/fill.log 2>&1
	rc=$?
	if [ $rc = 6 ] && grep -q 'no free address within branch reach' $O/fill.log && no_patch $tp &&
	   running $tp out-f && wait_for out-f "$ORIG"; then
		pass refuse-no-address-in-reach
	else
		fail refuse-no-address-in-reach "exit $rc: $(cat $O/fill.log)"
	fi
	kill -9 $tp
else
	fail refuse-no-address-in-reach "target did not start"
fi

# ---- an object larger than b's reach: placed near the redirected function ----
# big-target's code spans 0x400000-0x10400014; near_fn is at 0x4008xx.
large_object() { # pid
	gp=$1
	$L user apply $T/near.o --pid $gp $BUDGET >$O/near.log 2>&1 || { echo "apply: $(cat $O/near.log)"; return 1; }
	at=$(sed -n 's/.* at \(0x[0-9a-f]*\):.*/\1/p' $O/near.log)
	[ -n "$at" ] && [ $((at < 0x400000 + (128 << 20))) = 1 ] || { echo "mapped at '$at': $(cat $O/near.log)"; return 1; }
	wait_for out-g '^b=1002 f=1001 ' || { echo "patched output: $(line out-g)"; return 1; }
	$L user revert near-1 $BUDGET --pid $gp >>$O/near.log 2>&1 || { echo "revert: $(tail -n 1 $O/near.log)"; return 1; }
	wait_for out-g '^b=2 f=1001 ' || { echo "after revert: $(line out-g)"; return 1; }
	no_patch $gp && running $gp out-g || { echo "listed or not running"; return 1; }
	echo "vm: large object: $(head -n 1 $O/near.log)" >&2
}
if start out-g $T/big-target $O/out-g; then
	if r=$(large_object $tp); then
		pass large-object-near-placement-far-call-stub
	else
		fail large-object-near-placement-far-call-stub "$r"
	fi
	kill -9 $tp
else
	fail large-object-near-placement-far-call-stub "target did not start"
fi

# ---- a thread that never leaves the function: refused, nothing changed ----
if start out-b $T/target-pie $O/out-b 1 B; then
	$L user apply $T/forever.o --pid $tp $BUDGET --retries 3 >$O/forever.log 2>&1
	rc=$?
	if [ $rc = 5 ] && grep -q 'is in busy_forever' $O/forever.log && no_patch $tp && running $tp out-b; then
		pass refuse-busy-thread
	else
		fail refuse-busy-thread "exit $rc: $(cat $O/forever.log)"
	fi
	kill -9 $tp
else
	fail refuse-busy-thread "target did not start"
fi

# ---- a thread inside the function half of the time: waited for, then patched ----
if start out-o $T/target-pie $O/out-o 1 O; then
	if $L user apply $T/often.o --pid $tp $BUDGET --retries 50 >$O/often.log 2>&1 && listed $tp often-1 &&
	   $L user revert often-1 $BUDGET --pid $tp >>$O/often.log 2>&1 && no_patch $tp && running $tp out-o; then
		pass function-busy-half-the-time
		echo "vm: busy: $(cat $O/often.log)"
	else
		fail function-busy-half-the-time "$(cat $O/often.log)"
	fi
	kill -9 $tp
else
	fail function-busy-half-the-time "target did not start"
fi

# ---- a thread inside the function for 8 s: refused, then waited for ----
# Both read the thread's stack through libc's sleep() down to held().
if start out-w $T/wait-target $O/out-w 8 && wait_for out-w '^h=1 t=in '; then
	$L user apply $T/held.o --pid $tp $BUDGET --retries 2 >$O/held.log 2>&1
	rc=$?
	if [ $rc = 5 ] && grep -Eq 'is in held \(frame [1-9]' $O/held.log && no_patch $tp; then
		pass refuse-thread-inside-held
	else
		fail refuse-thread-inside-held "exit $rc: $(cat $O/held.log)"
	fi
	if $L user apply $T/held.o --pid $tp $BUDGET --retries 1000 >$O/held.log 2>&1 &&
	   grep -Eq 'threads, ([2-9]|[1-9][0-9]+) attempts\)' $O/held.log && wait_for out-w '^h=2 t=out '; then
		pass busy-function-waited-for-then-applied
		echo "vm: held: $(cat $O/held.log)"
	else
		fail busy-function-waited-for-then-applied "$(cat $O/held.log) $(line out-w)"
	fi
	kill -9 $tp
else
	fail refuse-thread-inside-held "target did not start: $(line out-w)"
fi

# ---- a thread in a frameless leaf function: its stack still unwinds ----
if start out-l $T/wait-target $O/out-l 0 spin && wait_for out-l '^h=1 t=out '; then
	if $L user apply $T/held.o --pid $tp $BUDGET >$O/leaf.log 2>&1 && grep -q '(3 threads' $O/leaf.log &&
	   wait_for out-l '^h=2 t=out ' && $L user revert held-1 $BUDGET --pid $tp >>$O/leaf.log 2>&1 &&
	   wait_for out-l '^h=1 t=out ' && no_patch $tp; then
		pass leaf-function-frame-unwinds
	else
		fail leaf-function-frame-unwinds "$(cat $O/leaf.log) $(line out-l)"
	fi
	kill -9 $tp
else
	fail leaf-function-frame-unwinds "target did not start: $(line out-l)"
fi

# ---- the pause, as the agent reports it: 10 applies and reverts each ----
pauses() { # threads
	start out-p$1 $T/target-pie $O/out-p$1 "$1" || return 1
	pp=$tp
	: >$O/pa$1
	: >$O/pr$1
	for _ in $(seq 10); do
		$L user apply $T/simple-pie.o --pid $pp $BUDGET >$O/pl 2>&1 || { kill -9 $pp; return 1; }
		pause_of $O/pl >>$O/pa$1
		$L user revert simple-pie $BUDGET --pid $pp >$O/pl 2>&1 || { kill -9 $pp; return 1; }
		pause_of $O/pl >>$O/pr$1
	done
	running $pp out-p$1 || { kill -9 $pp; return 1; }
	kill -9 $pp
	echo "LF-PAUSE: $1 workers + printer: apply median $(sort -n $O/pa$1 | sed -n 5p) max $(sort -n $O/pa$1 | tail -n 1)" \
		"revert median $(sort -n $O/pr$1 | sed -n 5p) max $(sort -n $O/pr$1 | tail -n 1) (ms)"
}
for n in 1 8; do
	if pauses $n; then pass pause-$n-threads; else fail pause-$n-threads "apply or revert failed"; fi
done
echo "LF-DONE"
