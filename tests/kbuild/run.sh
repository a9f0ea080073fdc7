#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end: `livefix-build kernel` against Debian's real kernel.
# Downloads (once, into $LIVEFIX_CACHE) the newest bookworm linux-image,
# linux-headers and linux-source of the same version, then checks what a
# release engineer would see: the image's symbols, a one-file fix rebuilt and
# verified against the shipped machine code, wrong flags and a wrong config
# refused with the differing functions, a header change's unit count, a
# killed run never leaving the cached source tree patched, and the same fix
# for Debian's arm64 kernel with --cross aarch64 (cross.sh).
set -u
src=${LIVEFIX_SRC:?}
bin=${LIVEFIX_BUILD:?}/src/builder/livefix-build
export LIVEFIX_CACHE=${LIVEFIX_CACHE:?}
work=$(mktemp -d /tmp/livefix-kbuild-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT
data=$src/tests/kbuild/data

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
skip() { echo "SKIP: $1 ($2)"; }
has() { grep -q -- "$2" "$1"; }

t0=$(date +%s)
if ! fetched=$("$src/tests/kbuild/fetch.sh" 2>"$work/fetch.log"); then
	tail -5 "$work/fetch.log"
	fail fetch "apt-get download of the kernel packages failed"
	exit 0
fi
eval "$fetched"
pass "fetch ($KB_ABI, $KB_VERSION, $(($(date +%s) - t0)) s)"

kernel() { # out-prefix extra-args...
	local out=$1; shift
	"$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" \
		--kernelvariables "$KB_KVARS" --image "$KB_IMAGE" -o "$work/fix.ko" "$@" \
		>"$out.out" 2>"$out.err"
	echo $? >"$out.rc"
}
rc() { cat "$1.rc"; }
tree_src() { echo "$LIVEFIX_CACHE/kbuild/src/$KB_VERSION/linux-source-6.1"; }

# 1. symbols decoded from the compressed image's kallsyms
test_kallsyms() {
	local f=$work/ksyms n
	"$bin" ksyms --image "$KB_IMAGE" >"$f" 2>"$f.err" || { fail kallsyms "exit $? $(cat "$f.err")"; return; }
	n=$(wc -l <"$f")
	if ((n < 50000 || n > 400000)); then fail kallsyms "$n symbols"; return; fi
	has "$f" '^ffffffff81000000 T startup_64$' || { fail kallsyms "startup_64 not at _text"; return; }
	local text etext cmd
	text=$(awk '$3=="_stext"{print $1}' "$f"); etext=$(awk '$3=="_etext"{print $1}' "$f")
	cmd=$(awk '$3=="cmdline_proc_show"{print $1" "$2}' "$f")
	[[ $cmd == *" t" && ${cmd% t} > $text && ${cmd% t} < $etext ]] ||
		{ fail kallsyms "cmdline_proc_show '$cmd' not a local text symbol in [$text, $etext]"; return; }
	# /proc/kallsyms order: by address, fixed-width lower-case hex
	LC_ALL=C sort -c -s -k1,1 "$f" 2>/dev/null || { fail kallsyms "not in address order"; return; }
	pass "kallsyms ($n symbols, startup_64 and cmdline_proc_show found, address order)"
}

# 1b. the same table as the real kernel's /proc/kallsyms, booted in QEMU without KASLR
test_proc_kallsyms() {
	command -v qemu-system-x86_64 >/dev/null || { skip proc-kallsyms "no qemu-system-x86_64"; return; }
	local n sum got
	n=$(wc -l <"$work/ksyms")
	sum=$(md5sum <"$work/ksyms" | cut -d' ' -f1)
	got=$("$src/tests/kbuild/boot-kallsyms.sh" "$KB_IMAGE" "$n" "$work/vm") ||
		{ fail proc-kallsyms "VM run failed: $(tail -3 "$work/vm/serial.log" 2>/dev/null)"; return; }
	if [ "$got" = "$n $sum" ]; then
		pass "proc-kallsyms (first $n lines of the booted kernel's /proc/kallsyms identical)"
	else
		fail proc-kallsyms "booted kernel: '$got', decoded: '$n $sum'"
	fi
}

# 2. a one-file fix: rebuilt, verified against the image, patched object built, tree
# restored, module written (its loading is tests/kpatch)
test_one_file_fix() {
	local o=$work/fix1
	rm -f "$work/fix.ko"
	kernel "$o" --patch "$data/cmdline.patch" --keep-work "$work/w1"
	if [ "$(rc "$o")" != 0 ]; then fail one-file-fix "exit $(rc "$o"): $(tail -3 "$o.err")"; return; fi
	has "$o.out" 'match  fs/proc/cmdline.o cmdline_proc_show at 0xffffffff' ||
		{ fail one-file-fix "cmdline_proc_show not verified"; return; }
	has "$o.out" 'fidelity: [1-9][0-9]* functions match the image, 0 differ' ||
		{ fail one-file-fix "$(grep fidelity "$o.out")"; return; }
	[ -s "$work/fix.ko" ] && has "$o.out" "^module $work/fix.ko: 1 functions redirected" ||
		{ fail one-file-fix "no module written: $(tail -1 "$o.out")"; return; }
	[ -f "$work/w1/orig/fs/proc/cmdline.o" ] && grep -q 'livefix=1' "$work/w1/patched/fs/proc/cmdline.o" &&
		! grep -q 'livefix=1' "$work/w1/orig/fs/proc/cmdline.o" ||
		{ fail one-file-fix "work directory lacks the original/patched objects"; return; }
	grep -q 'livefix=1' "$(tree_src)/fs/proc/cmdline.c" && { fail one-file-fix "cached source left patched"; return; }
	pass "one-file-fix ($(grep -o 'rebuilt orig: .*' "$o.out"); $(grep -o 'build tree [^:]*: [a-z]* ([0-9.]* s)' "$o.out" | sed 's/.*: //'))"
}

# Paths relative to where the builder is started (make runs elsewhere).
test_relative_paths() {
	local o=$work/rel rel
	rel=$(realpath --relative-to="$work" "$LIVEFIX_CACHE")
	(cd "$work" && "$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" \
		--kernelvariables "$KB_KVARS" --image "$KB_IMAGE" --patch "$data/cmdline.patch" \
		--cache "$rel" -o rel.ko --keep-work rel-work >"$o.out" 2>"$o.err")
	if [ $? = 0 ] && [ -s "$work/rel.ko" ]; then
		pass "relative-paths (--cache $rel, -o and --keep-work relative)"
	else
		fail "relative-paths" "$(tail -3 "$o.out" "$o.err" | tr '\n' ' ')"
	fi
}

# 3. a second fix for the same kernel reuses the prepared tree
test_tree_reused() {
	local o=$work/fix2
	kernel "$o" --patch "$data/cmdline.patch" --keep-work "$work/w2"
	if [ "$(rc "$o")" = 0 ] && has "$o.out" '^build tree .*: reused'; then
		pass "tree-reused ($(grep -o 'rebuilt orig: .*' "$o.out"))"
	else
		fail tree-reused "exit $(rc "$o"): $(grep '^build tree' "$o.out")"
	fi
}

# 4. a different optimisation level: the rebuilt original is not the shipped code
test_wrong_flags() {
	local o=$work/wrongflags
	kernel "$o" --patch "$data/cmdline.patch" --keep-work "$work/w3" --kcflags=-O1
	if [ "$(rc "$o")" = 4 ] && has "$o.err" 'fidelity check failed' && has "$o.err" '  cmdline_proc_show (fs/proc/cmdline.o)' &&
		has "$o.out" 'DIFFER fs/proc/cmdline.o cmdline_proc_show .* differ at +0x'; then
		pass "wrong-flags refused (-O1: $(grep -c '^  DIFFER' "$o.out") functions differ)"
	else
		fail wrong-flags "exit $(rc "$o"): $(tail -2 "$o.err")"
	fi
	[ -d "$work/w3/patched" ] && fail wrong-flags-stops "patched build ran after a failed check"
}

# 5. a wrong .config (optimise for size): refused, listing the functions
test_wrong_config() {
	local o=$work/wrongconfig cfg=$work/config-os
	sed -e 's/^CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y/# CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE is not set/' \
	    -e 's/^# CONFIG_CC_OPTIMIZE_FOR_SIZE is not set/CONFIG_CC_OPTIMIZE_FOR_SIZE=y/' "$KB_CONFIG" >"$cfg"
	"$bin" kernel --source-package "$KB_VERSION" --config "$cfg" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" -o "$work/fix.ko" --patch "$data/cmdline.patch" --keep-work "$work/w4" \
		>"$o.out" 2>"$o.err"
	echo $? >"$o.rc"
	if [ "$(rc "$o")" = 4 ] && has "$o.err" '  cmdline_proc_show (fs/proc/cmdline.o)' &&
		! grep -q "$(grep -o 'tree/[0-9a-f]*' "$work/fix1.out")" "$o.out"; then
		pass "wrong-config refused (CONFIG_CC_OPTIMIZE_FOR_SIZE, own tree: $(grep -o 'build tree [^:]*: [a-z]* ([0-9.]* s)' "$o.out" | sed 's/.*: //'))"
	else
		fail wrong-config "exit $(rc "$o"): $(tail -2 "$o.err")"
	fi
}

# 6. a header change: how many units it reaches
test_header_units() {
	local o=$work/header n
	kernel "$o" --patch "$data/proc-internal-header.patch" --keep-work "$work/w5" --list-units
	n=$(grep -o '[0-9]* units to rebuild' "$o.out" | cut -d' ' -f1)
	if [ "$(rc "$o")" = 0 ] && [ -n "$n" ] && ((n >= 20 && n <= 40)) &&
		has "$o.out" '  unit fs/proc/meminfo.o' && ! has "$o.out" '  unit fs/proc/cmdline.o' &&
		has "$o.out" '  unit fs/proc_namespace.o'; then
		pass "header-units (fs/proc/internal.h: $n units, $(grep -o 'by include scan, [0-9.]* s' "$o.out"))"
	else
		fail header-units "exit $(rc "$o"), '$n' units: $(grep 'units to rebuild' "$o.out")"
	fi
}

# 6b. the header change rebuilt: every function of every unit verified; it changes
# no code, so no module is written
test_header_fix() {
	local o=$work/headerfix n
	kernel "$o" --patch "$data/proc-internal-header.patch" --keep-work "$work/w9"
	n=$(grep -o 'fidelity: [0-9]* functions match the image, 0 differ' "$o.out" | cut -d' ' -f2)
	if [ "$(rc "$o")" = 4 ] && [ -n "$n" ] && ((n >= 300)) && [ -f "$work/w9/patched/fs/proc/meminfo.o" ] &&
		has "$o.err" 'changes no function of the running kernel'; then
		pass "header-fix ($n functions verified; $(grep -o 'rebuilt orig: .*' "$o.out"))"
	else
		fail header-fix "exit $(rc "$o"): $(grep '^fidelity' "$o.out") $(tail -2 "$o.err")"
	fi
}

# 6c. symbols from a System.map instead of kallsyms; Debian's placeholder refused
test_system_map() {
	local o=$work/sysmap
	kernel "$o" --patch "$data/cmdline.patch" --keep-work "$work/w10" --system-map "$KB_SYSTEM_MAP"
	if [ "$(rc "$o")" = 0 ] || ! has "$o.err" 'not a usable System.map'; then
		fail system-map "Debian's placeholder not refused: exit $(rc "$o") $(tail -1 "$o.err")"; return
	fi
	kernel "$o.2" --patch "$data/cmdline.patch" --keep-work "$work/w11" --system-map "$work/ksyms"
	if [ "$(rc "$o.2")" = 0 ] && has "$o.2.out" 'symbols from System.map' && has "$o.2.out" ', 0 differ'; then
		pass "system-map (placeholder refused; a real map verifies the fix)"
	else
		fail system-map "exit $(rc "$o.2"): $(tail -1 "$o.2.err")"
	fi
}

# 6d. --source DIR (an unpacked tree) and a fix that does not compile: tree restored
test_source_dir_and_broken_fix() {
	local o=$work/broken p=$work/broken.patch
	sed 's/seq_puts(m, " livefix=1");/seq_puts(m, " livefix=1")/' "$data/cmdline.patch" >"$p"
	"$bin" kernel --source "$(tree_src)" --config "$KB_CONFIG" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" -o "$work/fix.ko" --patch "$p" --keep-work "$work/w12" >"$o.out" 2>"$o.err"
	echo $? >"$o.rc"
	if [ "$(rc "$o")" = 1 ] && has "$o.err" 'patched build of 1 units failed' && has "$o.out" ', 0 differ' &&
		! grep -q livefix "$(tree_src)/fs/proc/cmdline.c" && grep -q 'error' "$work/w12/make.log"; then
		pass "source-dir and broken-fix (verified, patched build failed, tree restored)"
	else
		fail source-dir-broken-fix "exit $(rc "$o"): $(tail -1 "$o.err")"
	fi
}

# 6e. --source-package fetches linux-source itself (apt-get download, once per cache):
# a cache of its own whose build tree and unpacked source are the shared ones
test_fetch_source_package() {
	local c=$LIVEFIX_CACHE/kbuild-fetch-test o=$work/fetchpkg first=cached
	mkdir -p "$c/kbuild"
	for d in src tree; do ln -sfn "$LIVEFIX_CACHE/kbuild/$d" "$c/kbuild/$d"; done
	[ -d "$c/kbuild/pkg/$KB_VERSION" ] || first=downloaded
	"$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" --patch "$data/cmdline.patch" --list-units --cache "$c" \
		--keep-work "$work/w13" >"$o.out" 2>"$o.err"
	echo $? >"$o.rc"
	if [ "$(rc "$o")" = 0 ] && ls "$c/kbuild/pkg/$KB_VERSION"/debs/linux-source-6.1_*.deb >/dev/null 2>&1 &&
		[ -f "$c/kbuild/pkg/$KB_VERSION/source/usr/src/linux-source-6.1.tar.xz" ]; then
		pass "fetch-source-package ($first into its own cache)"
	else
		fail fetch-source-package "exit $(rc "$o"): $(tail -2 "$o.err")"
	fi
}

# 7. a fix that does not apply: refused, tree untouched
test_not_applying() {
	local o=$work/noapply p=$work/bad.patch
	sed 's/seq_putc(m, .\\n.);/seq_putc(m, 0);/' "$data/cmdline.patch" >"$p"
	kernel "$o" --patch "$p" --keep-work "$work/w6"
	if [ "$(rc "$o")" = 4 ] && has "$o.err" 'does not apply' && ! grep -q livefix "$(tree_src)/fs/proc/cmdline.c"; then
		pass not-applying-refused
	else
		fail not-applying-refused "exit $(rc "$o"): $(tail -1 "$o.err")"
	fi
}

# 8. a run killed while the tree is patched: the next run restores it first
test_killed_run() {
	local o=$work/killed journal i pid
	# Its own process group, so that the kill also ends the make it started.
	setsid "$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" -o "$work/fix.ko" --patch "$data/cmdline.patch" --keep-work "$work/w7" \
		>"$o.out" 2>"$o.err" &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		journal=$(ls "$LIVEFIX_CACHE"/kbuild/journal/*/list 2>/dev/null | head -1)
		[ -n "$journal" ] && break
		sleep 0.1
	done
	kill -9 -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	if [ -z "$journal" ] || ! grep -q 'livefix=1' "$(tree_src)/fs/proc/cmdline.c"; then
		skip killed-run "did not catch the run while patched"
		return
	fi
	kernel "$o.2" --patch "$data/proc-internal-header.patch" --keep-work "$work/w8" --list-units
	if [ "$(rc "$o.2")" = 0 ] && ! grep -q 'livefix=1' "$(tree_src)/fs/proc/cmdline.c" &&
		! ls "$LIVEFIX_CACHE"/kbuild/journal/*/list >/dev/null 2>&1; then
		pass "killed-run (source restored from the journal by the next run)"
	else
		fail killed-run "source still patched or journal left"
	fi
}

. "$src/tests/kbuild/cross.sh"

test_kallsyms
test_proc_kallsyms
test_one_file_fix
test_tree_reused
test_relative_paths
test_wrong_flags
test_wrong_config
test_header_units
test_header_fix
test_system_map
test_source_dir_and_broken_fix
test_fetch_source_package
test_not_applying
test_killed_run
test_cross
echo "kbuild suite: $(($(date +%s) - t0)) s"
exit 0
