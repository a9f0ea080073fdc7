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
#   isofs-module     one fix to the loadable module isofs (=m) and vmlinux:
#                    two klp_objects, klp relocations for each; in the VM the
#                    patch is loaded before isofs (patched as the module
#                    comes) and again while isofs is loaded
#   isofs-module-fidelity  the same fix with --module-dir holding an isofs.ko
#                    whose iso_date() was altered: the fidelity check compares
#                    with the shipped module and stops, naming iso_date
#   bundle-signed    -o X.lfb with a targets key and --sign-key/--sign-cert:
#                    the module inside carries a module signature that is
#                    byte for byte what the kernel's own scripts/sign-file
#                    writes for the same key, and that `openssl cms -verify`
#                    accepts over the module body (and refuses over a
#                    changed body); in the VM `livefix apply` applies the
#                    bundle; in a second boot with module.sig_enforce=1 the
#                    kernel refuses the unsigned module ("unsigned module") and
#                    parses our signature but does not know its key ("module
#                    with unavailable key": Debian's kernel trusts only its
#                    built-in keys), and the agent says why
#   stat-iowait      a static function called from two places in show_stat(),
#                    kept out of line: only it is redirected
#   stat-inlined     a function gcc inlined into its caller (no symbol of its
#                    own): the builder names the caller and why, patches it
#   version-helper   a new helper function and a new string literal, and a
#                    non-exported global (linux_proc_banner) by klp relocation
#   drop-caches-static-local  a function with a static local variable: the
#                    patched copy uses the running kernel's (stfu.0), shown by
#                    state set before the patch and read by the patched code
#   dma-layout-refused  a struct grows, so an existing array would need a new
#                    layout: refused, no module
#   init-refused     a change to __init code: refused, no module
#   (the fidelity check refusing a wrong config is tests/kbuild's wrong-config)
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
KB_MODULES=$(dirname "$(dirname "$KB_IMAGE")")/lib/modules/$KB_ABI

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

# The fix reaches isofs' own static isofs_inode_cachep through a klp
# relocation for isofs, vmlinux's saved_command_line through one for vmlinux,
# and the fidelity check compared the module's functions with the shipped
# isofs.ko.
test_isofs_build() {
	local s=$SECONDS ko=$work/lf_isofs.ko objs
	build lf_isofs "$data/isofs-module.patch"
	if [ "$(cat "$work/lf_isofs.rc")" != 0 ]; then
		fail isofs-module-build "exit $(cat "$work/lf_isofs.rc"): $(tail -3 "$work/lf_isofs.err")"
		rm -f "$ko"; return
	fi
	objs=$(sed -n '/klp_object livefix_objs/,/};/p' "$work/w-lf_isofs/module/livefix_main.c" | grep -o '\.name = [^,]*' | tr '\n' ' ')
	if grep -q '^  match  fs/isofs/util.o iso_date at .*masked' "$work/lf_isofs.out" &&
		grep -q '^module isofs: .*/lib/modules/.*/isofs.ko' "$work/lf_isofs.out" &&
		[ "$objs" = '.name = NULL .name = "isofs" ' ] &&
		readelf -SW "$ko" | grep -q ' .klp.rela.isofs..text.isofs_statfs ' &&
		readelf -SW "$ko" | grep -q ' .klp.rela.vmlinux..text.cmdline_proc_show ' &&
		readelf -sW "$ko" | grep -q 'OS \[0xff20\] .klp.sym.isofs.isofs_inode_cachep,0$' &&
		[ -z "$(/sbin/modinfo -F depends "$ko")" ]; then
		pass "isofs-module-build ($((SECONDS - s)) s: objects $objs; $(grep -o '[0-9]* functions redirected.*' "$work/lf_isofs.out"))"
	else
		fail isofs-module-build "klp objects or relocations wrong: objects '$objs', $(readelf -SW "$ko" | grep -o '\.klp\.rela[^ ]*' | tr '\n' ' ')"
		rm -f "$ko"
	fi
}

# The fidelity reference of a module unit is the shipped .ko: an isofs.ko
# whose iso_date() bytes were inverted must stop the build.
test_isofs_fidelity() {
	local d=$work/bad-modules o=$work/lf_isofs_bad n
	rm -rf "$d" && mkdir -p "$d/kernel/fs/isofs"
	cp "$KB_MODULES/kernel/fs/isofs/isofs.ko" "$d/kernel/fs/isofs/isofs.ko"
	python3 - "$d/kernel/fs/isofs/isofs.ko" <<'PY' || { fail isofs-module-fidelity "cannot alter isofs.ko"; return; }
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
shoff, = struct.unpack_from("<Q", d, 0x28)
shnum, = struct.unpack_from("<H", d, 0x3c)
sec = lambda i: struct.unpack_from("<IIQQQQIIQQ", d, shoff + 64 * i)
for i in range(shnum):
    s = sec(i)
    if s[1] != 2:              # SHT_SYMTAB
        continue
    strs = sec(s[6])
    for k in range(s[5] // 24):
        name, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", d, s[4] + 24 * k)
        end = d.index(b"\0", strs[4] + name)
        if d[strs[4] + name:end] == b"iso_date":
            at = sec(shndx)[4] + value
            for j in range(at, at + size):
                d[j] ^= 0xff
            open(p, "wb").write(d)
            sys.exit(0)
sys.exit("no iso_date in " + p)
PY
	"$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" --patch "$data/isofs-module.patch" --module-dir "$d" \
		-o "$o.ko" --keep-work "$work/w-lf_isofs_bad" >"$o.out" 2>"$o.err"
	n=$?
	if [ "$n" = 4 ] && grep -q '^module isofs: .*/bad-modules/kernel/fs/isofs/isofs.ko' "$o.out" &&
		grep -q 'DIFFER fs/isofs/util.o iso_date' "$o.out" && grep -q '^livefix-build:   iso_date (fs/isofs/util.o)' "$o.err" &&
		! grep -q 'DIFFER fs/isofs/inode.o' "$o.out" && [ ! -e "$o.ko" ]; then
		pass "isofs-module-fidelity (exit 4: $(grep -o 'DIFFER fs/isofs/util.o iso_date.*' "$o.out" | cut -c1-90))"
	else
		fail isofs-module-fidelity "exit $n: $(grep -E 'DIFFER|^module isofs' "$o.out" | head -3) $(tail -2 "$o.err")"
	fi
}

# A plain ISO 9660 image (no Rock Ridge: times come from the directory
# records, through iso_date()): REF.TXT at 03:04:00, HELLO.TXT whose recorded
# second is rewritten to 61. Unpatched isofs reads HELLO.TXT as 61 s after
# REF.TXT, the fix clamps it to 59.
make_iso() { # out
	local d=$work/iso-root
	command -v genisoimage >/dev/null || return 1
	rm -rf "$d" && mkdir -p "$d"
	echo hello >"$d/hello.txt" && echo ref >"$d/ref.txt"
	TZ=UTC touch -d '2020-01-02 03:04:00' "$d/hello.txt" "$d/ref.txt"
	TZ=UTC genisoimage -quiet -V LIVEFIX -o "$1.tmp" "$d" || return 1
	python3 - "$1.tmp" <<'PY' || return 1
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
name = b"HELLO.TXT;1"
at = d.find(name)
rec = at - 33
if at < 0 or d.find(name, at + 1) >= 0 or d[rec + 32] != len(name) or d[rec + 23] != 0:
    sys.exit("unexpected directory record for HELLO.TXT")
d[rec + 23] = 61      # recording date: year, month, day, hour, minute, second
open(p, "wb").write(d)
PY
	mv "$1.tmp" "$1"
}

# A throwaway RSA module-signing key and a targets key for the bundle.
make_keys() {
	openssl req -new -nodes -utf8 -sha256 -days 36500 -batch -x509 \
		-subj "/CN=livefix kpatch test module key" -newkey rsa:2048 \
		-keyout "$work/sign.key" -out "$work/sign.crt" >"$work/openssl.log" 2>&1 &&
		"$bin" keygen --role targets -o "$work/targets.key" >"$work/keygen.log" 2>&1
}

test_bundle_build() {
	local s=$SECONDS ko=$work/w-lf_bundle/lf_bundle.ko sf ref=$work/ref-signed.ko body sig n tail
	make_keys || { fail bundle-signed-build "key generation failed: $(tail -1 "$work/openssl.log")"; return; }
	"$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" --patch "$data/cmdline.patch" --level 4 --cve CVE-2099-0001:high \
		--key "$work/targets.key" --sign-key "$work/sign.key" --sign-cert "$work/sign.crt" \
		-o "$work/lf_bundle.lfb" --keep-work "$work/w-lf_bundle" >"$work/lf_bundle.out" 2>"$work/lf_bundle.err"
	n=$?
	if [ "$n" != 0 ] || [ ! -f "$work/lf_bundle.lfb" ] || [ ! -f "$ko" ]; then
		fail bundle-signed-build "exit $n: $(tail -3 "$work/lf_bundle.err")"
		rm -f "$work/lf_bundle.lfb"; return
	fi
	pass "bundle-signed-build ($((SECONDS - s)) s: $(grep -o '^/.*lf_bundle.lfb: .*' "$work/lf_bundle.out"))"
	cp "$ko" "$work/lf_signed.ko"
	# The signed module's trailer: magic, 12-byte module_signature, PKCS#7.
	tail=$(tail -c 40 "$ko" | od -An -c | tr -d ' \n')
	n=$(tail -c 32 "$ko" | head -c 4 | od -An -tu1 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
	body=$work/signed-body sig=$work/signed-pkcs7.der
	head -c $(( $(stat -c %s "$ko") - 40 - n )) "$ko" >"$body"
	tail -c $(( 40 + n )) "$ko" | head -c "$n" >"$sig"
	if [[ $tail != *"~Modulesignatureappended~\n" ]] ||
		! openssl cms -verify -binary -inform DER -in "$sig" -content "$body" -certfile "$work/sign.crt" \
			-CAfile "$work/sign.crt" -purpose any -out /dev/null >"$work/cms.log" 2>&1; then
		fail module-signature-cms "openssl cms -verify over the body: $(tail -2 "$work/cms.log" | tr '\n' ' ')"
	elif printf 'X' | dd of="$body" bs=1 seek=100 conv=notrunc 2>/dev/null &&
		openssl cms -verify -binary -inform DER -in "$sig" -content "$body" -certfile "$work/sign.crt" \
			-CAfile "$work/sign.crt" -purpose any -out /dev/null >/dev/null 2>&1; then
		fail module-signature-cms "a changed body still verifies"
	else
		pass "module-signature-cms (PKCS#7 of $n bytes verifies over the module body, not over a changed one)"
	fi
	sf=$(ls "$(dirname "$(dirname "$KB_IMAGE")")"/usr/lib/linux-kbuild-*/scripts/sign-file 2>/dev/null | head -n1)
	head -c $(( $(stat -c %s "$ko") - 40 - n )) "$ko" >"$ref"
	if [ ! -x "$sf" ]; then
		skip module-signature-sign-file "no scripts/sign-file in the unpacked linux-kbuild package"
	elif ! "$sf" sha256 "$work/sign.key" "$work/sign.crt" "$ref" >"$work/sign-file.log" 2>&1; then
		fail module-signature-sign-file "sign-file failed: $(tail -1 "$work/sign-file.log")"
	elif cmp -s "$ref" "$ko"; then
		pass "module-signature-sign-file (identical to the kernel's scripts/sign-file output, $(stat -c %s "$ko") bytes)"
	else
		fail module-signature-sign-file "differs from sign-file's output: $(cmp "$ref" "$ko" 2>&1)"
	fi
}

# One fix that must build: name patch check-command description (both eval'd after the build)
built_ok() {
	local m=$1 s=$SECONDS desc
	build "$m" "$data/$2.patch"
	if [ "$(cat "$work/$m.rc")" != 0 ]; then
		fail "$2-build" "exit $(cat "$work/$m.rc"): $(tail -3 "$work/$m.err")"
		rm -f "$work/$m.ko"; return
	fi
	desc=$(eval "echo \"$4\"" 2>/dev/null)
	if eval "$3"; then
		pass "$2-build ($((SECONDS - s)) s: $desc; $(grep -o '[0-9]* functions redirected.*' "$work/$m.out"))"
	else
		fail "$2-build" "$desc: not found in the build's output: $(grep -E '^  (changed|new) |klp-ref' "$work/$m.out" | head -5 | tr '\n' ' ')"
		rm -f "$work/$m.ko"
	fi
}

# One fix that must be refused by the differ: name patch test-name refusal-regex
refused_ok() {
	build "$1" "$data/$2.patch"
	if [ "$(cat "$work/$1.rc")" = 4 ] && grep -q "$4" "$work/$1.err" && [ ! -e "$work/$1.ko" ]; then
		pass "$3 ($(grep -o "$4.*" "$work/$1.err" | head -1 | cut -c1-120))"
	else
		fail "$3" "exit $(cat "$work/$1.rc"): $(tail -2 "$work/$1.err")"
	fi
}

calls_in() { # object caller callee: calls from caller's section to callee (or its section)
	readelf -rW "$1" | awk -v sec=".rela.text.$2" -v f="$3" '/^Relocation section/ { cur = $3; gsub("\x27", "", cur) } cur == sec && ($5 == f || $5 == ".text." f)' | wc -l
}

test_more_fixes() {
	local o
	o=$work/w-lf_stat_iowait/orig/fs/proc/stat.o
	built_ok lf_stat_iowait stat-iowait \
		'grep -q "^  changed fs/proc/stat.o get_iowait_time: body changed" "$work/lf_stat_iowait.out" &&
		 ! grep -q "^  changed fs/proc/stat.o show_stat" "$work/lf_stat_iowait.out" &&
		 [ "$(calls_in "$o" show_stat get_iowait_time)" -ge 2 ]' \
		'get_iowait_time redirected, called from $(calls_in "$o" show_stat get_iowait_time) places in show_stat' 
	o=$work/w-lf_stat_inlined/orig/fs/proc/stat.o
	built_ok lf_stat_inlined stat-inlined \
		'grep -q "^  touched functions: show_all_irqs$" "$work/lf_stat_inlined.out" &&
		 grep -q "^  changed fs/proc/stat.o show_stat: callee inlined changed" "$work/lf_stat_inlined.out" &&
		 ! nm "$o" | grep -q " show_all_irqs$"' \
		"show_all_irqs has no symbol; show_stat patched: callee inlined changed"
	built_ok lf_version_helper version-helper \
		'grep -q "^  new fs/proc/version.o livefix_version_note$" "$work/lf_version_helper.out" &&
		 grep -q "klp-ref fs/proc/version.o vmlinux.linux_proc_banner,0" "$work/lf_version_helper.out" &&
		 grep -q "livefix-helper: a new function and a new string" "$work/lf_version_helper.ko"' \
		"new livefix_version_note, new string, klp relocation to linux_proc_banner"
	built_ok lf_drop_caches drop-caches-static-local \
		'readelf -sW "$work/lf_drop_caches.ko" | grep -q "OS \[0xff20\] .klp.sym.vmlinux.stfu.0,0$" &&
		 ! readelf -sW "$work/lf_drop_caches.ko" | grep -qE " OBJECT +LOCAL .* stfu"' \
		"static local stfu.0 bound to the running kernel by a klp relocation, not duplicated"
	refused_ok lf_dma dma-struct-layout dma-layout-refused 'REFUSED dma_chan_busy: data layout changed'
	refused_ok lf_init version-init init-refused 'REFUSED proc_version_init: __init/__exit changed'
}

test_tables_carried() {
	special_build tables-carried lf_page page-uaccess.patch kpagecount_read __jump_table .static_call_sites
	[ -f "$work/lf_page.ko" ] && ! readelf -rW "$work/lf_page.ko" |
		grep -A3 "^Relocation section '.klp.rela.vmlinux..static_call_sites'" | grep -q '\.klp\.sym\.vmlinux\.__SCK__cond_resched,0' &&
		fail tables-klp "no klp relocation for the static call key __SCK__cond_resched"
}

test_in_vm() {
	local cases=(vm-cmdline vm-consoles-static vm-isofs-before-module vm-isofs-module-loaded vm-bundle-apply
		vm-stat-iowait vm-stat-inlined vm-version-helper vm-drop-caches-static-local
		"${special_vm_cases[@]}") c line console=$work/console.log results=$work/results.txt pairs=() m qrc
	if ! command -v qemu-system-x86_64 >/dev/null; then
		for c in "${cases[@]}"; do skip "$c" "no qemu-system-x86_64"; done
		return
	fi
	if ! lf_prepare "$work/vm" >"$work/vm-prepare.log" 2>&1; then
		for c in "${cases[@]}"; do fail "$c" "VM harness setup failed: $(tail -1 "$work/vm-prepare.log")"; done
		return
	fi
	for m in lf_cmdline lf_consoles lf_isofs lf_signed lf_stat_iowait lf_stat_inlined lf_version_helper lf_drop_caches "${special_modules[@]}"; do
		[ -f "$work/$m.ko" ] && pairs+=("$work/$m.ko=/lf/kpatch/$m.ko")
	done
	mapfile -t -O "${#pairs[@]}" pairs < <(special_vm_files)
	[ -f "$work/lf_bundle.lfb" ] && pairs+=("$work/lf_bundle.lfb=/lf/kpatch/lf_bundle.lfb" "$work/targets.key.pub=/lf/kpatch/targets.pub")
	# The shipped modules the isofs case loads, and the image it mounts.
	for m in kernel/fs/isofs/isofs.ko kernel/drivers/cdrom/cdrom.ko kernel/drivers/block/loop.ko; do
		[ -f "$KB_MODULES/$m" ] && pairs+=("$KB_MODULES/$m=/lf/kpatch/shipped/${m##*/}")
	done
	make_iso "$work/test.iso" 2>"$work/iso.log" && pairs+=("$work/test.iso=/lf/kpatch/test.iso")
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
	vm_sig_enforce "$work/kpatch.cpio"
}

# The same image booted with module.sig_enforce=1 runs vm-sig-enforce.sh.
vm_sig_enforce() { # cpio
	local cases=(vm-sig-enforce-unsigned vm-sig-enforce-signed) c line console=$work/console-sig.log results=$work/results-sig.txt qrc
	lf_initramfs "$work/vm" "$here/vm-sig-enforce.sh" "$work/kpatch-sig.cpio" \
		"$work/lf_cmdline.ko=/lf/kpatch/lf_cmdline.ko" "$work/lf_signed.ko=/lf/kpatch/lf_signed.ko" ||
		{ fail vm-sig-enforce "initramfs build failed"; return; }
	lf_boot "$work/kpatch-sig.cpio" "$console" "$results" 120 module.sig_enforce=1
	qrc=$?
	touch "$results"
	for c in "${cases[@]}"; do
		line=$(tr -d '\r' <"$results" | grep -E "^(PASS|FAIL|SKIP): $c( \(|$)" | head -n1)
		[ -n "$line" ] || line="FAIL: $c (no result: qemu exit $qrc, see $console)"
		echo "$line"
	done
}

test_cmdline_build
test_consoles_build
test_layout_refused
test_isofs_build
test_isofs_fidelity
test_bundle_build
test_more_fixes
test_special_builds
test_tables_carried
test_in_vm
echo "kpatch suite: $(($(date +%s) - t0)) s"
exit 0
