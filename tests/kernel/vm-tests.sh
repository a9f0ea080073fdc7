#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The kernel suite, run inside the VM as /lf/main.sh (busybox sh). Each
# `run_test NAME FUNCTION` line at the start of a line is one test case; the
# host reads the names from here to notice results that never came.
#
# A test function returns 0 when everything the user would observe is as the
# agent contract says; otherwise it sets why and returns 1. The kernel is put
# back in order with sysfs and rmmod (lp_cleanup) after every test.
. /lf/vm-lib.sh

REL=$(uname -r)
ORIG_CMDLINE=$(cat /proc/cmdline)
ORIG_VERSION=$(cat /proc/version)

fail_with() { why=$*; return 1; }

agent_ok() {
	agent "$@" || fail_with "livefix $* exited $rc: $(short "$out $err")"
}

file_is() { # file expected
	got=$(cat "$1")
	[ "$got" = "$2" ] || fail_with "$1 reads '$(short "$got")', want '$(short "$2")'"
}

file_has() { # file text
	got=$(cat "$1")
	case $got in *"$2"*) return 0 ;; esac
	fail_with "$1 reads '$(short "$got")', which lacks '$2'"
}

file_lacks() { # file text
	got=$(cat "$1")
	case $got in *"$2"*) fail_with "$1 reads '$(short "$got")', which has '$2'" ;; esac
}

uname_is() { # expected
	agent_ok uname || return 1
	[ "$out" = "$1" ] || fail_with "livefix uname printed '$(short "$out")', want '$1'"
}

# `livefix kernel list --json` with all white space removed, in J.
list_json() {
	agent_ok kernel list --json || return 1
	J=$(printf '%s' "$out" | tr -d ' \t\r\n')
	case $J in '{"patches":['*) return 0 ;; esac
	fail_with "list --json is not {\"patches\":[...]}: $(short "$J")"
}

json_has() { # text...
	for t in "$@"; do
		case $J in *"$t"*) ;; *) fail_with "list --json lacks $t: $(short "$J")"; return 1 ;; esac
	done
}

json_patches() { # expected count
	n=$(printf '%s' "$J" | grep -o '"enabled":' | wc -l)
	[ "$n" -eq "$1" ] || fail_with "list --json shows $n patches, want $1: $(short "$J")"
}

# "replace" must be true; kernels before 6.11 have no sysfs attribute for it
# (/sys/kernel/livepatch/NAME/replace), where the agent may report null.
json_replace() { # patch
	[ -e "$LP/$1/replace" ] || case $J in *'"replace":null'*) return 0 ;; esac
	json_has '"replace":true'
}

json_level() { # level
	case $J in *"\"level\":$1,"* | *"\"level\":$1}"*) return 0 ;; esac
	fail_with "list --json has no \"level\":$1: $(short "$J")"
}

sysfs_enabled() { # patch
	[ -d "$LP/$1" ] || { fail_with "$LP/$1 missing"; return 1; }
	[ "$(cat "$LP/$1/enabled")" = 1 ] && transition_done "$1" ||
		fail_with "$LP/$1: enabled=$(cat "$LP/$1/enabled") transition=$(cat "$LP/$1/transition")"
}

all_gone() { # module...
	for m in "$@"; do
		lp_gone "$m" || { fail_with "$LP/$m still present"; return 1; }
		not_loaded "$m" || { fail_with "module $m still loaded"; return 1; }
	done
}

kernel_as_booted() {
	file_is /proc/cmdline "$ORIG_CMDLINE" && file_is /proc/version "$ORIG_VERSION" &&
		uname_is "$REL"
}

# The harness itself: the modules and the sleeper work without the agent, so
# an agent failure below is the agent's.
t_harness() {
	insmod "$M/lp_cmdline_l1.ko" || { fail_with "insmod lp_cmdline_l1.ko failed"; return 1; }
	wait_for 100 transition_done lp_cmdline_l1 || { fail_with "transition did not end"; return 1; }
	file_has /proc/cmdline livefix-level-1 || return 1
	echo 0 >"$LP/lp_cmdline_l1/enabled"
	wait_for 100 lp_gone lp_cmdline_l1 && rmmod lp_cmdline_l1 || { fail_with "disable/rmmod failed"; return 1; }
	file_is /proc/cmdline "$ORIG_CMDLINE" || return 1
	insmod "$M/lf_sleeper.ko" || { fail_with "insmod lf_sleeper.ko failed"; return 1; }
	start_reader || return 1
	# The premise of stalled-transition: lp_sleeper cannot finish while the
	# reader sleeps in lf_sleeper_wait(), and reversing it can.
	insmod "$M/lp_sleeper.ko" || { fail_with "insmod lp_sleeper.ko failed"; return 1; }
	sleep 2
	transition_done lp_sleeper && { fail_with "lp_sleeper transition ended with a sleeper"; return 1; }
	echo 0 >"$LP/lp_sleeper/enabled"
	wait_for 100 lp_gone lp_sleeper && rmmod lp_sleeper || { fail_with "reversing lp_sleeper failed"; return 1; }
	release_reader || return 1
	rmmod lf_sleeper || fail_with "rmmod lf_sleeper failed"
}

t_doctor() {
	agent doctor || { fail_with "livefix doctor exited $rc: $(short "$out $err")"; return 1; }
	printf '%s\n' "$out" | grep -q '^fail' && { fail_with "doctor exit 0 with a fail line: $(short "$out")"; return 1; }
	agent doctor --json || { fail_with "livefix doctor --json exited $rc: $(short "$out $err")"; return 1; }
	J=$(printf '%s' "$out" | tr -d ' \t\r\n')
	case $J in '{'*'}') ;; *) fail_with "doctor --json is not an object: $(short "$J")"; return 1 ;; esac
}

# Live patching cannot work for an unprivileged user: doctor must say so.
t_doctor_not_root() {
	out=$(timeout 90 lfhelper asuser 1000 livefix doctor 2>/tmp/agent.err)
	rc=$?
	err=$(cat /tmp/agent.err)
	log_run "lfhelper asuser 1000 livefix doctor"
	[ "$rc" -ne 0 ] || fail_with "livefix doctor as uid 1000 exited 0: $(short "$out")"
}

t_behaviour() {
	case $ORIG_CMDLINE in *livefix-level*) fail_with "marker before any load"; return 1 ;; esac
	uname_is "$REL" || return 1
	agent_ok kernel load "$M/lp_cmdline_l1.ko" || return 1
	file_has /proc/cmdline livefix-level-1 || return 1
	sysfs_enabled lp_cmdline_l1 || return 1
	list_json || return 1
	json_patches 1 && json_level 1 || return 1
	json_has '"name":"lp_cmdline_l1"' '"enabled":true' '"transition":false' \
		'"name":"vmlinux"' '"name":"cmdline_proc_show"' || return 1
	json_replace lp_cmdline_l1 || return 1
	agent_ok kernel list || return 1
	case $out in *lp_cmdline_l1*) ;; *) fail_with "kernel list does not show lp_cmdline_l1"; return 1 ;; esac
	uname_is "$REL+lf1" || return 1
	agent_ok kernel unload lp_cmdline_l1 || return 1
	all_gone lp_cmdline_l1 && kernel_as_booted
}

t_cumulative() {
	agent_ok kernel load "$M/lp_cmdline_l1.ko" || return 1
	file_has /proc/cmdline livefix-level-1 || return 1
	agent_ok kernel load "$M/lp_cmdline_l2.ko" || return 1
	# The replaced patch leaves sysfs shortly after the transition.
	wait_for 50 lp_gone lp_cmdline_l1 || { fail_with "$LP/lp_cmdline_l1 still there after l2"; return 1; }
	[ "$(patch_names)" = lp_cmdline_l2 ] ||
		{ fail_with "$LP holds '$(patch_names | tr '\n' ' ')', want only lp_cmdline_l2"; return 1; }
	sysfs_enabled lp_cmdline_l2 || return 1
	file_has /proc/cmdline livefix-level-2 && file_lacks /proc/cmdline livefix-level-1 || return 1
	file_has /proc/version livefix-level-2 && file_has /proc/version "$REL" || return 1
	uname_is "$REL+lf2" || return 1
	list_json && json_patches 1 && json_level 2 || return 1
	json_has '"name":"lp_cmdline_l2"' '"name":"version_proc_show"' || return 1
	json_replace lp_cmdline_l2 || return 1
	if is_loaded lp_cmdline_l1; then
		rmmod lp_cmdline_l1 || { fail_with "replaced module lp_cmdline_l1 cannot be removed"; return 1; }
	fi
	agent_ok kernel unload lp_cmdline_l2 || return 1
	all_gone lp_cmdline_l1 lp_cmdline_l2 && kernel_as_booted
}

t_unload_all() {
	agent_ok kernel load "$M/lp_cmdline_l1.ko" || return 1
	file_has /proc/cmdline livefix-level-1 || return 1
	agent_ok kernel unload --all || return 1
	all_gone lp_cmdline_l1 && kernel_as_booted || return 1
	# Nothing loaded: still a success.
	agent_ok kernel unload --all
}

task_state() { awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
asleep() { [ "$(task_state "$reader")" = D ]; }
exited() { [ ! -d "/proc/$reader" ]; }

# A reader of /proc/lf_sleeper, asleep in lf_sleeper_wait(); sets reader.
start_reader() {
	echo 0 >/proc/lf_sleeper
	cat /proc/lf_sleeper >/tmp/reader.out 2>&1 &
	reader=$!
	wait_for 100 asleep || fail_with "reader $reader not asleep (state $(task_state "$reader"))"
}

release_reader() {
	echo 1 >/proc/lf_sleeper
	wait_for 50 exited || { fail_with "reader $reader still there after release"; return 1; }
	wait "$reader"
	file_is /tmp/reader.out released
}

t_stalled() {
	insmod "$M/lf_sleeper.ko" || { fail_with "insmod lf_sleeper.ko failed"; return 1; }
	start_reader || return 1
	t0=$(lfhelper now)
	agent kernel load "$M/lp_sleeper.ko" --timeout 3
	secs=$((($(lfhelper now) - t0) / 1000000000))
	[ "$rc" -eq 5 ] || { fail_with "exit $rc, want 5: $(short "$out $err")"; return 1; }
	[ "$secs" -lt 30 ] || { fail_with "took $secs s with --timeout 3"; return 1; }
	printf '%s\n%s\n' "$out" "$err" | grep -qw "$reader" ||
		{ fail_with "diagnosis does not name stuck pid $reader: $(short "$out $err")"; return 1; }
	printf '%s\n%s\n' "$out" "$err" | grep -q lf_sleeper_wait ||
		{ fail_with "diagnosis shows no stack with lf_sleeper_wait: $(short "$out $err")"; return 1; }
	all_gone lp_sleeper || return 1
	asleep || { fail_with "reader $reader no longer asleep before release"; return 1; }
	release_reader || return 1
	rmmod lf_sleeper || { fail_with "rmmod lf_sleeper failed"; return 1; }
	file_is /proc/cmdline "$ORIG_CMDLINE"
}

# The trust path on a real kernel: pin the root, apply level 1 from a signed
# repository (TUF workflow from a directory), upgrade to level 2 from the
# re-signed repository, refuse a bundle for another kernel build.
T=/lf/trust
t_signed_repo() {
	agent_ok trust init $T/repo-l1/root.json || return 1
	agent_ok apply --repo $T/repo-l1 || return 1
	case $out in *"applied: kernel patch"*"level 1"*) ;; *) fail_with "apply printed '$(short "$out")'"; return 1 ;; esac
	file_has /proc/cmdline livefix-level-1 && sysfs_enabled lp_cmdline_l1 && uname_is "$REL+lf1" || return 1
	agent_ok apply --repo $T/repo-l1 || return 1
	case $out in *up-to-date*) ;; *) fail_with "second apply printed '$(short "$out")'"; return 1 ;; esac
	agent_ok boot || return 1
	case $out in *"already applied in this boot"*) ;; *) fail_with "boot printed '$(short "$out")'"; return 1 ;; esac
	agent apply $T/other.lfb
	[ "$rc" -eq 4 ] || { fail_with "other.lfb: exit $rc, want 4: $(short "$out $err")"; return 1; }
	case $err in *"bundle is for build-id 77c1"*) ;; *) fail_with "other.lfb: '$(short "$err")'"; return 1 ;; esac
	agent_ok apply --repo $T/repo-l2 || return 1
	file_has /proc/cmdline livefix-level-2 && sysfs_enabled lp_cmdline_l2 && uname_is "$REL+lf2" &&
		all_gone lp_cmdline_l1 || return 1
	agent_ok kernel unload --all && kernel_as_booted
}

# --force: the stalled transition is forced instead of reversed, after a
# warning; unloading then disables the patch but must say the module stays.
# Last on purpose: a forced patch's module stays loaded until reboot.
t_forced() {
	insmod "$M/lf_sleeper.ko" || { fail_with "insmod lf_sleeper.ko failed"; return 1; }
	start_reader || return 1
	agent kernel load "$M/lp_sleeper.ko" --timeout 2 --force
	[ "$rc" -eq 0 ] || { fail_with "exit $rc, want 0: $(short "$out $err")"; return 1; }
	case $err in *"never be removed"*"transition forced"*) ;;
	*) fail_with "no warning before and after forcing: $(short "$err")"; return 1 ;; esac
	sysfs_enabled lp_sleeper || return 1
	agent_ok kernel unload lp_sleeper || return 1
	case $out in *"stays loaded until reboot"*) ;; *) fail_with "unload said '$(short "$out")'"; return 1 ;; esac
	lp_gone lp_sleeper || { fail_with "$LP/lp_sleeper still present"; return 1; }
	release_reader || return 1
	rmmod lf_sleeper || { fail_with "rmmod lf_sleeper failed"; return 1; }
	uname_is "$REL"
}

# The agent must refuse FILE with exit WANT ("nonzero": any failure), one
# line of output naming the file and giving REASON, and load nothing.
refuse() { # want file reason [prefix...]
	want=$1 file=$2 reason=$3
	shift 3
	before=$(module_names)
	out=$(timeout 90 "$@" livefix kernel load "$file" 2>/tmp/agent.err)
	rc=$?
	err=$(cat /tmp/agent.err)
	log_run "$* livefix kernel load $file"
	text=$(printf '%s\n%s\n' "$out" "$err")
	if [ "$want" = nonzero ]; then
		[ "$rc" -ne 0 ] || { fail_with "exit 0 for $file"; return 1; }
	else
		[ "$rc" -eq "$want" ] || { fail_with "exit $rc, want $want: $(short "$text")"; return 1; }
	fi
	n=$(printf '%s\n' "$text" | grep -c .)
	[ "$n" -eq 1 ] || { fail_with "$n lines, want one error line: $(short "$text")"; return 1; }
	printf '%s\n' "$text" | grep -qF "${file##*/}" ||
		{ fail_with "error does not name ${file##*/}: $(short "$text")"; return 1; }
	printf '%s\n' "$text" | grep -qF "$reason" ||
		{ fail_with "error does not say '$reason': $(short "$text")"; return 1; }
	[ "$(module_names)" = "$before" ] && [ -z "$(patch_names)" ] ||
		fail_with "something was loaded: modules '$(module_names | tr '\n' ' ')'"
}

t_refuse_vermagic() { refuse 4 "$M/lp_badmagic.ko" "built for kernel 7.2.1-67-amd64, running kernel is $(uname -r)"; }
t_refuse_not_livepatch() { refuse 4 "$M/lf_sleeper.ko" "not a livepatch module"; }
t_refuse_truncated() { refuse 4 "$M/lp_truncated.ko" "truncated"; }
t_refuse_not_elf() { refuse 4 "$M/lp_notelf.ko" "not an ELF file"; }
t_refuse_missing() { refuse nonzero "$M/lp_does_not_exist.ko" "No such file"; }
t_refuse_not_root() { refuse 6 "$M/lp_cmdline_l1.ko" "needs root or CAP_SYS_MODULE" lfhelper asuser 1000; }

run_test() { # name function
	why=
	case $1 in
	harness) ;;
	*)
		if ! command -v livefix >/dev/null; then
			lf_result FAIL "$1" "agent binary missing from the image"
			return
		fi
		;;
	esac
	if "$2"; then
		lf_result PASS "$1"
	else
		lf_result FAIL "$1" "${why:-failed}"
	fi
	lp_cleanup
}

echo "vm: kernel $REL, livepatch: $([ -d "$LP" ] && echo yes || echo no)"
run_test harness t_harness
run_test doctor t_doctor
run_test doctor-not-root t_doctor_not_root
run_test behaviour t_behaviour
run_test cumulative t_cumulative
run_test unload-all t_unload_all
run_test refuse-vermagic t_refuse_vermagic
run_test refuse-not-livepatch t_refuse_not_livepatch
run_test refuse-truncated t_refuse_truncated
run_test refuse-not-elf t_refuse_not_elf
run_test refuse-missing-file t_refuse_missing
run_test refuse-not-root t_refuse_not_root
run_test stalled-transition t_stalled
run_test signed-repo t_signed_repo
run_test forced-transition t_forced
echo "vm: done"
