#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the VM (busybox sh, /lf/main.sh): load each module livefix-build
# kernel made, check its effect from userspace, unload it, check it is gone.
. /lf/vm-lib.sh
K=/lf/kpatch

fail_with() { why=$*; return 1; }
agent_ok() { agent "$@" || fail_with "livefix $* exited $rc: $(short "$out $err")"; }
gone() { # module
	[ ! -d "$LP/$1" ] && ! grep -q "^$1 " /proc/modules || fail_with "$1 still loaded after unload"
}

t_cmdline() {
	before=$(cat /proc/cmdline)
	case $before in *livefix=1*) fail_with "marker before the load"; return 1 ;; esac
	agent_ok kernel load "$K/lf_cmdline.ko" || return 1
	[ "$(cat "$LP/lf_cmdline/enabled" 2>/dev/null)" = 1 ] || { fail_with "not enabled in sysfs"; return 1; }
	got=$(cat /proc/cmdline)
	[ "$got" = "$before livefix=1" ] || { fail_with "/proc/cmdline reads '$(short "$got")'"; return 1; }
	agent_ok kernel unload lf_cmdline || return 1
	gone lf_cmdline || return 1
	got=$(cat /proc/cmdline)
	[ "$got" = "$before" ] || fail_with "after unload /proc/cmdline reads '$(short "$got")'"
}

# The patched show_console_dev() prints the address of consoles.c's own
# static c_next(), reached through a klp relocation with sympos: vmlinux
# has three c_next, and consoles.c's is the one just before show_console_dev.
t_consoles() {
	grep -q livefix /proc/consoles && { fail_with "marker before the load"; return 1; }
	want=$(awk '$3 == "show_console_dev" { print prev; exit } { prev = $1 " " $3 }' /proc/kallsyms)
	case $want in *" c_next") want=${want% c_next} ;; *) fail_with "kallsyms: '$want' before show_console_dev"; return 1 ;; esac
	agent_ok kernel load "$K/lf_consoles.ko" || return 1
	got=$(sed -n 's/.* livefix-c_next=\([0-9a-f]*\)$/\1/p' /proc/consoles | head -n1)
	echo "vm: c_next want $want, /proc/consoles says $got; all: $(grep ' c_next$' /proc/kallsyms | tr '\n' ' ')"
	[ -n "$got" ] && [ "$got" = "$want" ] || { fail_with "/proc/consoles: '$(short "$(cat /proc/consoles)")', want c_next=$want"; return 1; }
	agent_ok kernel unload lf_consoles || return 1
	gone lf_consoles || return 1
	grep -q livefix /proc/consoles && fail_with "marker still there after unload"
	return 0
}

# isofs: HELLO.TXT's recorded second is 61. Unpatched, iso_date() reads it
# as 61 s after REF.TXT; patched, 59. statfs' free inodes: 0 unpatched, the
# object size of isofs' inode cache patched (through isofs' static
# isofs_inode_cachep). An inode is read once per mount, so every reading
# mounts afresh.
S=$K/shipped
iso_read() { # sets dt (HELLO - REF seconds) and ffree
	dt= ffree=
	mkdir -p /mnt/iso
	mount -t iso9660 -o ro,loop "$K/test.iso" /mnt/iso 2>/tmp/mount.err ||
		{ fail_with "mount: $(short "$(cat /tmp/mount.err)")"; return 1; }
	dt=$(( $(stat -c %Y /mnt/iso/hello.txt) - $(stat -c %Y /mnt/iso/ref.txt) ))
	ffree=$(stat -f -c %d /mnt/iso)
	umount /mnt/iso
	echo "vm: isofs reads hello.txt - ref.txt = $dt s, free inodes $ffree"
}
isofs_is() { # unpatched|patched
	iso_read || return 1
	if [ "$1" = patched ]; then
		want=$(cat /sys/kernel/slab/isofs_inode_cache/object_size 2>/dev/null)
		[ "$dt" = 59 ] && [ -n "$want" ] && [ "$ffree" = "$want" ] ||
			fail_with "patched: dt $dt (want 59), free inodes $ffree (want $want)"
	else
		[ "$dt" = 61 ] && [ "$ffree" = 0 ] ||
			fail_with "unpatched: dt $dt (want 61), free inodes $ffree (want 0)"
	fi
}
cmdline_marked() { grep -q ' livefix=isofs$' /proc/cmdline || fail_with "no marker in /proc/cmdline"; }

# The patch is loaded before isofs: livepatch patches the module as it comes.
t_isofs_before() {
	[ -f "$K/test.iso" ] || { fail_with "no test.iso (genisoimage missing on the host?)"; return 1; }
	insmod "$S/loop.ko" 2>/dev/null; insmod "$S/cdrom.ko" 2>/dev/null
	is_loaded isofs && { fail_with "isofs loaded before the test"; return 1; }
	agent_ok kernel load "$K/lf_isofs.ko" || return 1
	cmdline_marked || return 1
	insmod "$S/isofs.ko" || { fail_with "insmod isofs.ko failed"; return 1; }
	isofs_is patched || return 1
	agent_ok kernel unload lf_isofs || return 1
	gone lf_isofs || return 1
	isofs_is unpatched
}

# isofs is loaded (and was read unpatched) when the patch comes.
t_isofs_loaded() {
	is_loaded isofs || insmod "$S/isofs.ko" || { fail_with "insmod isofs.ko failed"; return 1; }
	isofs_is unpatched || return 1
	agent_ok kernel load "$K/lf_isofs.ko" || return 1
	cmdline_marked || return 1
	isofs_is patched || return 1
	agent_ok kernel unload lf_isofs || return 1
	gone lf_isofs || return 1
	isofs_is unpatched
}

# A signed bundle made by `livefix-build kernel -o X.lfb`, applied with the
# targets key it was signed with; the module inside is the cmdline fix.
t_bundle() {
	agent_ok apply --key "$K/targets.pub" "$K/lf_bundle.lfb" || return 1
	case $out in *"applied: kernel patch"*"level 4"*) ;; *) fail_with "apply printed '$(short "$out")'"; return 1 ;; esac
	[ "$(cat "$LP/lf_bundle/enabled" 2>/dev/null)" = 1 ] || { fail_with "lf_bundle not enabled in sysfs"; return 1; }
	grep -q ' livefix=1$' /proc/cmdline || { fail_with "no marker in /proc/cmdline"; return 1; }
	agent_ok kernel unload lf_bundle || return 1
	gone lf_bundle || return 1
	grep -q livefix= /proc/cmdline && fail_with "marker still there after unload"
	return 0
}

# Patch-load-check-unload around a check that must fail before and after.
around() { # module check-function
	"$2" && { fail_with "patched behaviour before the load"; return 1; }
	agent_ok kernel load "$K/$1.ko" || return 1
	"$2" || return 1
	agent_ok kernel unload "$1" || return 1
	gone "$1" || return 1
	"$2" && { fail_with "patched behaviour after the unload"; return 1; }
	return 0
}

# iowait of the sum line and of cpu0: both computed by get_iowait_time().
iowait_high() {
	set -- $(awk '$1 == "cpu" || $1 == "cpu0" { print $6 }' /proc/stat)
	echo "vm: /proc/stat iowait cpu $1, cpu0 $2"
	[ "${1:-0}" -ge 424200 ] && [ "${2:-0}" -ge 424200 ] && return 0
	why="iowait cpu ${1:-?} cpu0 ${2:-?}, want both >= 424200 (4242 s)"
	return 1
}
t_stat_iowait() { around lf_stat_iowait iowait_high; }

intr_marked() {
	last=$(awk '$1 == "intr" { print $NF }' /proc/stat)
	[ "$last" = 4242424242 ] && return 0
	why="intr line ends in '$last', want 4242424242"
	return 1
}
t_stat_inlined() { around lf_stat_inlined intr_marked; }

version_noted() {
	[ "$(sed -n 2p /proc/version)" = "livefix-helper: a new function and a new string" ] && return 0
	why="/proc/version: '$(short "$(cat /proc/version)")'"
	return 1
}
t_version_helper() { around lf_version_helper version_noted; }

# drop_caches_sysctl_handler()'s static 'stfu' is set by a write of 4 and
# then silences the message. The patched copy prints its own line with the
# stfu it reads: 4 if it uses the running kernel's variable.
drop() { # value: writes it, prints what the kernel logged about drop_caches
	dmesg -c >/dev/null
	echo "$1" >/proc/sys/vm/drop_caches
	dmesg | grep drop_caches
}
t_drop_caches() {
	got=$(drop 4)
	case $got in *"drop_caches: 4"*) ;; *) fail_with "a first write of 4 logged '$(short "$got")'"; return 1 ;; esac
	got=$(drop 1)
	[ -z "$got" ] || { fail_with "after 4, a write of 1 still logged '$(short "$got")'"; return 1; }
	agent_ok kernel load "$K/lf_drop_caches.ko" || return 1
	got=$(drop 1)
	echo "vm: patched drop_caches logged: $got"
	case $got in
	*"livefix: drop_caches stays quiet (stfu 4)"*) ;;
	*) fail_with "patched: '$(short "$got")', want 'stays quiet (stfu 4)' from the original stfu"; return 1 ;;
	esac
	case $got in *"drop_caches: 1"*) fail_with "patched copy did not see stfu: '$(short "$got")'"; return 1 ;; esac
	agent_ok kernel unload lf_drop_caches || return 1
	gone lf_drop_caches || return 1
	got=$(drop 1)
	[ -z "$got" ] || fail_with "after the unload a write of 1 logged '$(short "$got")'"
}

run_test() { # name function
	why=
	if ! command -v livefix >/dev/null; then
		lf_result FAIL "$1" "agent binary missing from the image"
	elif [ ! -f "$K/$3" ]; then
		lf_result SKIP "$1" "$3 was not built"
	elif "$2"; then
		lf_result PASS "$1"
	else
		lf_result FAIL "$1" "$why"
	fi
	for m in lf_cmdline lf_consoles lf_isofs lf_bundle lf_stat_iowait lf_stat_inlined \
		lf_version_helper lf_drop_caches lf_warn lf_uaccess lf_skey lf_dyndbg; do
		[ -d "$LP/$m" ] && echo 0 >"$LP/$m/enabled" 2>/dev/null && sleep 1
		rmmod "$m" 2>/dev/null
	done
}

run_test vm-cmdline t_cmdline lf_cmdline.ko
run_test vm-consoles-static t_consoles lf_consoles.ko
run_test vm-isofs-before-module t_isofs_before lf_isofs.ko
run_test vm-isofs-module-loaded t_isofs_loaded lf_isofs.ko
run_test vm-bundle-apply t_bundle lf_bundle.lfb
run_test vm-stat-iowait t_stat_iowait lf_stat_iowait.ko
run_test vm-stat-inlined t_stat_inlined lf_stat_inlined.ko
run_test vm-version-helper t_version_helper lf_version_helper.ko
run_test vm-drop-caches-static-local t_drop_caches lf_drop_caches.ko
[ -f "$K/vm-special.sh" ] && . "$K/vm-special.sh"
echo "vm: done"
