#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end: `livefix-build kernel -o X.ko` against Debian's real kernel,
# then the modules loaded by the agent in QEMU and their effect checked from
# userspace. Reuses the build tree the kbuild suite prepared (in
# $LIVEFIX_CACHE/kbuild).
#   cmdline          a one-line change in a built-in function (/proc/cmdline)
#   consoles-static  the fix takes the address of a static function whose name
#                    three files share: a klp relocation with sympos 2
#   layout-refused   a fix that grows existing data: refused, no module
#   module-unit-refused  a fix to a unit built as a loadable module (=m):
#                    not supported yet, no module
#   tables-carried   a fix to a function with __jump_table and
#                    .static_call_sites entries (one key bound by klp)
#   special.sh       fixes with __bug_table, __ex_table, alternatives and
#                    static branches, a refused read-only static key
set -u
src=${LIVEFIX_SRC:?}
here=$src/tests/kpatch
bin=${LIVEFIX_BUILD:?}/src/builder/livefix-build
export LIVEFIX_CACHE=${LIVEFIX_CACHE:?}
data=$src/tests/kbuild/data
work=$LIVEFIX_BUILD/kpatch-tests
rm -rf "$work" && mkdir -p "$work"
# shellcheck source=tests/kernel/lib.sh
. "$src/tests/kernel/lib.sh"

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
skip() { echo "SKIP: $1 ($2)"; }

t0=$(date +%s)
if ! fetched=$("$src/tests/kbuild/fetch.sh" 2>"$work/fetch.log"); then
	fail fetch "kernel packages not available: $(tail -1 "$work/fetch.log")"
	exit 0
fi
eval "$fetched"

build() { # name patch
	"$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" --patch "$2" --level 3 -o "$work/$1.ko" --keep-work "$work/w-$1" \
		>"$work/$1.out" 2>"$work/$1.err"
	echo $? >"$work/$1.rc"
}
modinfo_is() { # ko field value
	[ "$(/sbin/modinfo -F "$2" "$1" 2>/dev/null)" = "$3" ]
}
# shellcheck source=tests/kpatch/special.sh
. "$here/special.sh"
command -v /sbin/modinfo >/dev/null || { fail tools "no /sbin/modinfo (kmod)"; exit 0; }

test_cmdline_build() {
	local s=$SECONDS
	build lf_cmdline "$data/cmdline.patch"
	if [ "$(cat "$work/lf_cmdline.rc")" != 0 ]; then
		fail cmdline-build "exit $(cat "$work/lf_cmdline.rc"): $(tail -3 "$work/lf_cmdline.err")"
		rm -f "$work/lf_cmdline.ko"; return
	fi
	if grep -q 'changed fs/proc/cmdline.o cmdline_proc_show' "$work/lf_cmdline.out" &&
		modinfo_is "$work/lf_cmdline.ko" livepatch Y && modinfo_is "$work/lf_cmdline.ko" livefix_level 3 &&
		[[ $(/sbin/modinfo -F vermagic "$work/lf_cmdline.ko") == "$KB_ABI "* ]]; then
		pass "cmdline-build ($((SECONDS - s)) s: $(grep -o '[0-9]* functions redirected.*' "$work/lf_cmdline.out"))"
	else
		fail cmdline-build "diff or modinfo wrong: $(grep '^  changed\|^module' "$work/lf_cmdline.out") $(/sbin/modinfo "$work/lf_cmdline.ko" 2>&1 | tr '\n' ' ')"
		rm -f "$work/lf_cmdline.ko"
	fi
}

test_consoles_build() {
	local s=$SECONDS klp
	build lf_consoles "$data/consoles-static.patch"
	if [ "$(cat "$work/lf_consoles.rc")" != 0 ]; then
		fail consoles-static-build "exit $(cat "$work/lf_consoles.rc"): $(tail -3 "$work/lf_consoles.err")"
		rm -f "$work/lf_consoles.ko"; return
	fi
	klp=$(readelf -rW "$work/lf_consoles.ko" | grep -A2 "^Relocation section '.klp.rela.vmlinux..text.show_console_dev'" |
		grep -o '\.klp\.sym\.vmlinux\.c_next,[0-9]*')
	if [ "$klp" = .klp.sym.vmlinux.c_next,2 ] && readelf -sW "$work/lf_consoles.ko" | grep -q 'OS \[0xff20\] .klp.sym.vmlinux.c_next,2$' &&
		! readelf -sW "$work/lf_consoles.ko" | grep -q 'UND c_next$'; then
		pass "consoles-static-build ($((SECONDS - s)) s: $klp in .klp.rela.vmlinux..text.show_console_dev)"
	else
		fail consoles-static-build "klp relocation to c_next missing or wrong: '$klp'"
		rm -f "$work/lf_consoles.ko"
	fi
}

test_layout_refused() {
	build lf_layout "$data/base-layout.patch"
	if [ "$(cat "$work/lf_layout.rc")" = 4 ] && grep -q 'REFUSED nlink_tid: data layout changed' "$work/lf_layout.err" &&
		[ ! -e "$work/lf_layout.ko" ]; then
		pass "layout-refused ($(grep -o 'size changed from [0-9]* to [0-9]* bytes' "$work/lf_layout.err"))"
	else
		fail layout-refused "exit $(cat "$work/lf_layout.rc"): $(tail -2 "$work/lf_layout.err")"
	fi
}

test_module_unit_refused() {
	build lf_isofs "$data/isofs-module.patch"
	if [ "$(cat "$work/lf_isofs.rc")" = 6 ] && grep -q 'fs/isofs/util.o is built as a loadable module (=m); not supported yet' "$work/lf_isofs.err" &&
		[ ! -e "$work/lf_isofs.ko" ]; then
		pass "module-unit-refused (exit 6, not supported yet)"
	else
		fail module-unit-refused "exit $(cat "$work/lf_isofs.rc"): $(tail -2 "$work/lf_isofs.err")"
	fi
}

test_tables_carried() {
	special_build tables-carried lf_page page-uaccess.patch kpagecount_read __jump_table .static_call_sites
	[ -f "$work/lf_page.ko" ] && ! readelf -rW "$work/lf_page.ko" |
		grep -A3 "^Relocation section '.klp.rela.vmlinux..static_call_sites'" | grep -q '\.klp\.sym\.vmlinux\.__SCK__cond_resched,0' &&
		fail tables-klp "no klp relocation for the static call key __SCK__cond_resched"
}

test_in_vm() {
	local cases=(vm-cmdline vm-consoles-static "${special_vm_cases[@]}") c line console=$work/console.log results=$work/results.txt pairs=() m qrc
	if ! command -v qemu-system-x86_64 >/dev/null; then
		for c in "${cases[@]}"; do skip "$c" "no qemu-system-x86_64"; done
		return
	fi
	if ! lf_prepare "$work/vm" >"$work/vm-prepare.log" 2>&1; then
		for c in "${cases[@]}"; do fail "$c" "VM harness setup failed: $(tail -1 "$work/vm-prepare.log")"; done
		return
	fi
	for m in lf_cmdline lf_consoles "${special_modules[@]}"; do
		[ -f "$work/$m.ko" ] && pairs+=("$work/$m.ko=/lf/kpatch/$m.ko")
	done
	mapfile -t -O "${#pairs[@]}" pairs < <(special_vm_files)
	lf_initramfs "$work/vm" "$here/vm-payload.sh" "$work/kpatch.cpio" "${pairs[@]}" ||
		{ fail vm "initramfs build failed"; return; }
	lf_boot "$work/kpatch.cpio" "$console" "$results" 300
	qrc=$?
	touch "$results"
	for c in "${cases[@]}"; do
		line=$(tr -d '\r' <"$results" | grep -E "^(PASS|FAIL|SKIP): $c( \(|$)" | head -n1)
		[ -n "$line" ] || line="FAIL: $c (no result: qemu exit $qrc, see $console)"
		echo "$line"
	done
	# vm-warn's warnings are expected: one call trace each.
	if grep -qE '(BUG:|Oops|Kernel panic)' "$console" 2>/dev/null ||
		[ "$(grep -c 'Call Trace:' "$console")" -gt "$(grep -c 'WARNING: .* at fs/proc/version.c:16 livefix_version_proc_show' "$console")" ]; then
		fail kernel-log "oops, BUG, unexpected warning or panic in the serial log $console"
	fi
}

test_cmdline_build
test_consoles_build
test_layout_refused
test_module_unit_refused
test_special_builds
test_tables_carried
test_in_vm
echo "kpatch suite: $(($(date +%s) - t0)) s"
exit 0
