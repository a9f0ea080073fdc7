# SPDX-License-Identifier: Apache-2.0
# Sourced by run.sh: fixes to functions with entries in the kernel's special
# tables, which the patch object carries (src/diff/special.c).
#   warn-build         fs/proc/version.c: a WARN (__bug_table)
#   uaccess-build      kernel/sys.c getcpu: unsafe_put_user (__ex_table,
#                      STAC/CLAC .altinstructions + .altinstr_replacement)
#   static-key-build   kernel/sched/core.c sysctl_schedstats: static branch on
#                      sched_schedstats, not exported (__jump_table entry
#                      bound by a klp relocation)
#   dyndbg-build       fs/proc/version.c: a new pr_debug() (__dyndbg
#                      descriptor and __jump_table entry on its key, new data
#                      of the patch module)
#   ro-key-refused     mm/usercopy.c __check_object_size: static branch on a
#                      read-only key: refused with its message, no module
# Each built module must carry its entries and ORC for the patched code.
special_vm_cases=(vm-warn vm-uaccess vm-static-key vm-dyndbg)
special_modules=(lf_warn lf_uaccess lf_skey lf_dyndbg)

# ko function table: the .ko has entries of table relocated against function.
ko_has_entry() {
	readelf -rW "$1" | awk -v s="'.rela$3'" '/^Relocation section/ { on = ($3 == s) } on' | grep -q " $2 + "
}

special_build() { # case name patch function tables...
	local c=$1 m=$2 p=$3 f=$4 s=$SECONDS t missing=
	shift 4
	build "$m" "$data/$p"
	if [ "$(cat "$work/$m.rc")" != 0 ]; then
		fail "$c" "exit $(cat "$work/$m.rc"): $(tail -3 "$work/$m.err")"
		rm -f "$work/$m.ko"; return
	fi
	for t in "$@" .orc_unwind_ip; do
		ko_has_entry "$work/$m.ko" "livefix_$f" "$t" || missing="$missing $t"
	done
	if [ -z "$missing" ]; then
		pass "$c ($((SECONDS - s)) s: $(grep -c '^  table' "$work/$m.out") tables, $(grep '^  table' "$work/$m.out" | grep -v 'mcount\|orc\|return_sites' | sed 's/.*\.o //' | tr '\n' ';'))"
	else
		fail "$c" "livefix_$f has no entries in$missing: $(grep '^  table' "$work/$m.out" | tr '\n' ';')"
		rm -f "$work/$m.ko"
	fi
}

test_special_builds() {
	special_build warn-build lf_warn version-warn.patch version_proc_show __bug_table
	special_build uaccess-build lf_uaccess getcpu-uaccess.patch __x64_sys_getcpu __ex_table .altinstructions
	special_build static-key-build lf_skey schedstats-key.patch sysctl_schedstats __jump_table
	special_build dyndbg-build lf_dyndbg version-pr-debug.patch version_proc_show __jump_table
	if [ -f "$work/lf_dyndbg.ko" ] && ! readelf -rW "$work/lf_dyndbg.ko" |
		grep -A4 "^Relocation section '.rela__jump_table'" | grep -q ' __UNIQUE_ID_ddebug[0-9.]* + '; then
		fail dyndbg-key "the __jump_table entry does not use the module's own descriptor"
	fi
	if [ -f "$work/lf_skey.ko" ] && ! readelf -sW "$work/lf_skey.ko" | grep -q 'OS \[0xff20\] .klp.sym.vmlinux.sched_schedstats,0$'; then
		fail static-key-klp "sched_schedstats is not bound by a klp relocation"
	fi
	build lf_rokey "$data/usercopy-rokey.patch"
	if [ "$(cat "$work/lf_rokey.rc")" = 6 ] && [ ! -e "$work/lf_rokey.ko" ] &&
		grep -q 'mm/usercopy.o: __check_object_size: __jump_table entry uses static key bypass_usercopy_checks, which is read-only after boot: .*not supported on this kernel; use static_key_enabled()' "$work/lf_rokey.err"; then
		pass "ro-key-refused (exit 6: $(grep -o 'uses static key [a-z_]*, which is read-only after boot' "$work/lf_rokey.err"))"
	else
		fail ro-key-refused "exit $(cat "$work/lf_rokey.rc"): $(tail -2 "$work/lf_rokey.err")"
	fi
}

# src=dest pairs the VM needs for these cases.
special_vm_files() {
	gcc-12 -static -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-o "$work/getcpu" "$here/getcpu.c" || return 1
	echo "$work/getcpu=/lf/bin/getcpu"
	echo "$here/vm-special.sh=/lf/kpatch/vm-special.sh"
}
