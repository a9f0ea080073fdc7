#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sourced by vm-payload.sh inside the VM: the modules with special-table
# entries, each loaded, its effect checked from userspace, unloaded.

# The WARN in the patched version_proc_show() fires on every read: the
# kernel finds it in the module's __bug_table (file and line come from the
# entry); without the entry the ud2 would be an invalid-opcode oops. The
# warning's call trace unwinds out of the patched function with the
# module's ORC entries: its caller, seq_read_iter(), is printed as reliable
# (without the "? " of frames found by scanning the stack).
t_warn() {
	dmesg | grep -q 'livefix test warning' && { fail_with "warning before the load"; return 1; }
	agent_ok kernel load "$K/lf_warn.ko" || return 1
	cat /proc/version >/dev/null
	w=$(dmesg | grep 'WARNING: CPU: [0-9]* PID: [0-9]* at fs/proc/version.c:16 livefix_version_proc_show' | head -n1)
	[ -n "$w" ] && dmesg | grep -q 'livefix test warning' ||
		{ fail_with "no warning from fs/proc/version.c:16 in dmesg: $(short "$(dmesg | tail -5)")"; return 1; }
	echo "vm: $w"
	tr=$(dmesg | sed -n '/Call Trace:/,/<\/TASK>/p' | sed -n '2,4p' | sed 's/^\[[ 0-9.]*\]//')
	echo "vm: trace after the warning: $(short "$tr")"
	echo "$tr" | grep -qE '^ +seq_read_iter\+0x' ||
		{ fail_with "unreliable unwind out of the patched function: $(short "$tr")"; return 1; }
	agent_ok kernel unload lf_warn || return 1
	gone lf_warn || return 1
	n=$(dmesg | grep -c 'livefix test warning')
	cat /proc/version >/dev/null
	[ "$(dmesg | grep -c 'livefix test warning')" = "$n" ] || fail_with "still warns after unload"
}

# getcpu() writes 0x4c46 into its third argument; a faulting one gives
# EFAULT through the module's __ex_table (STAC/CLAC are alternatives).
t_uaccess() {
	got=$(/lf/bin/getcpu ok)
	[ "$got" = "rc=0 marker=0x0" ] || { fail_with "before the load: $got"; return 1; }
	agent_ok kernel load "$K/lf_uaccess.ko" || return 1
	got=$(/lf/bin/getcpu ok)
	[ "$got" = "rc=0 marker=0x4c46" ] || { fail_with "loaded: getcpu ok says '$got'"; return 1; }
	got=$(/lf/bin/getcpu fault)
	[ "$got" = "rc=-1 errno=EFAULT" ] || { fail_with "loaded: getcpu fault says '$got'"; return 1; }
	echo "vm: getcpu with the patch: $(/lf/bin/getcpu ok), $got"
	agent_ok kernel unload lf_uaccess || return 1
	gone lf_uaccess || return 1
	got=$(/lf/bin/getcpu fault)
	[ "$got" = "rc=0 errno=none" ] || fail_with "after unload: getcpu fault says '$got'"
}

# sysctl_schedstats() reads its state through a static branch on
# sched_schedstats (not exported): the module's __jump_table entry must be
# bound and follow the key when userspace flips it.
t_static_key() {
	f=/proc/sys/kernel/sched_schedstats
	[ "$(cat $f)" = 0 ] || { fail_with "$f reads '$(cat $f)' before the load"; return 1; }
	agent_ok kernel load "$K/lf_skey.ko" || return 1
	a=$(cat $f); echo 1 >$f; b=$(cat $f); echo 0 >$f; c=$(cat $f)
	echo "vm: sched_schedstats with the patch: $a, after 1: $b, after 0: $c"
	[ "$a $b $c" = "10 11 10" ] || { fail_with "$f reads '$a', '$b' after writing 1, '$c' after 0"; return 1; }
	agent_ok kernel unload lf_skey || return 1
	gone lf_skey || return 1
	[ "$(cat $f)" = 0 ] || fail_with "$f reads '$(cat $f)' after unload"
}

# The pr_debug() the fix adds is the patch module's own dynamic debug entry:
# listed under the module, silent until enabled, then printed (its key
# is the module's own, registered by the loader with the carried entry).
t_dyndbg() {
	ctl=/proc/dynamic_debug/control
	agent_ok kernel load "$K/lf_dyndbg.ko" || return 1
	e=$(grep '\[lf_dyndbg\]version_proc_show' $ctl)
	echo "vm: dynamic debug: $e"
	case $e in *'fs/proc/version.c:16 [lf_dyndbg]version_proc_show =_ "livefix: version read\n"'*) ;;
	*) fail_with "$ctl has no entry for the module: '$(short "$e")'"; return 1 ;; esac
	cat /proc/version >/dev/null
	dmesg | grep -q 'livefix: version read' && { fail_with "printed while disabled"; return 1; }
	echo 'module lf_dyndbg +p' >$ctl
	cat /proc/version >/dev/null
	dmesg | grep -q 'livefix: version read' || { fail_with "not printed once enabled"; return 1; }
	echo 'module lf_dyndbg -p' >$ctl
	agent_ok kernel unload lf_dyndbg || return 1
	gone lf_dyndbg
}

run_test vm-warn t_warn lf_warn.ko
run_test vm-uaccess t_uaccess lf_uaccess.ko
run_test vm-static-key t_static_key lf_skey.ko
run_test vm-dyndbg t_dyndbg lf_dyndbg.ko
