# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/kbuild/run.sh: `livefix-build kernel --cross aarch64`
# against Debian's arm64 kernel (newest ABI, fetched by fetch-arm64.sh with a
# private APT configuration). Uses run.sh's bin, work, data, pass/fail/skip/has.

cross_kernel() { # out-prefix extra-args... (the arm64 image and headers unless overridden)
	local out=$1; shift
	"$bin" kernel --source-package "$KA_VERSION" --kernelvariables "$KA_KVARS" \
		-o "$work/cross.ko" "$@" >"$out.out" 2>"$out.err"
	echo $? >"$out.rc"
}

cross_fetch() {
	local t0=$(date +%s) fetched
	if ! fetched=$("$src/tests/kbuild/fetch-arm64.sh" 2>"$work/fetch-arm64.log"); then
		fail cross-fetch "arm64 packages: $(tail -2 "$work/fetch-arm64.log" | tr '\n' ' ')"
		return 1
	fi
	eval "$fetched"
	eval "$(cat "$LIVEFIX_CACHE/arm64/arm64.env")"    # ARM64_BUSYBOX
	pass "cross-fetch ($KA_ABI $KA_VERSION image and headers, $(($(date +%s) - t0)) s)"
}

# Symbols of the raw arm64 Image: its kallsyms base is a dynamic relocation.
cross_kallsyms() {
	local f=$work/ksyms-arm64 n stext etext cmd got
	"$bin" ksyms --image "$KA_IMAGE" >"$f" 2>"$f.err" || { fail cross-kallsyms "exit $? $(cat "$f.err")"; return; }
	n=$(wc -l <"$f")
	stext=$(awk '$3=="_stext"{print $1}' "$f"); etext=$(awk '$3=="_etext"{print $1}' "$f")
	cmd=$(awk '$3=="cmdline_proc_show"{print $1" "$2}' "$f")
	if ((n < 20000)) || [[ $stext != ffff8* ]] || [[ $cmd != *" t" ]] ||
		! [[ ${cmd% t} > $stext && ${cmd% t} < $etext ]]; then
		fail cross-kallsyms "$n symbols, _stext '$stext', cmdline_proc_show '$cmd'"; return
	fi
	if ! command -v qemu-system-aarch64 >/dev/null; then
		pass "cross-kallsyms ($n symbols; no qemu-system-aarch64 to compare with)"; return
	fi
	got=$("$src/tests/kbuild/boot-kallsyms.sh" "$KA_IMAGE" "$n" "$work/vm-arm64" "$ARM64_BUSYBOX") ||
		{ fail cross-kallsyms "arm64 VM: $(tail -3 "$work/vm-arm64/serial.log" 2>/dev/null)"; return; }
	if [ "$got" = "$n $(md5sum <"$f" | cut -d' ' -f1)" ]; then
		pass "cross-kallsyms ($n symbols, _stext $stext; the booted arm64 kernel's /proc/kallsyms identical)"
	else
		fail cross-kallsyms "booted kernel '$got', decoded $n lines"
	fi
	# The identity a bundle names: the build-id of the kernel's own .notes (not
	# an embedded vDSO's) and the /proc/version banner (not init/version.o's).
	local id notes pv
	"$bin" bundle --kind kernel --payload "$f" --target-kernel-image "$KA_IMAGE" --level 1 \
		--unsigned -o "$work/arm64-id.lfb" >/dev/null 2>"$f.err" ||
		{ fail cross-identity "bundle: $(tail -1 "$f.err")"; return; }
	id=$(grep -ao '"target":{[^}]*}' "$work/arm64-id.lfb")
	notes=$(sed -n 's/^NOTES //p' "$work/vm-arm64/identity")
	pv=$(sed -n 's/^PROCVERSION //p' "$work/vm-arm64/identity")
	local bid=${id#*\"build_id\":\"}; bid=${bid%%\"*}
	local sha=${id#*\"proc_version_sha1\":\"}; sha=${sha%%\"*}
	if [[ $id == *'"arch":"aarch64"'* && ${#bid} = 40 && $notes == *"474e5500$bid"* && -n $pv && $sha = "$pv" ]]; then
		pass "cross-identity (bundle target aarch64, build-id $bid and /proc/version sha1 as the booted kernel reports them)"
	else
		fail cross-identity "bundle '$id', kernel notes '${notes:0:120}', /proc/version sha1 '$pv'"
	fi
}

# The one-file fix for arm64: verified against the image, diffed, module refused.
cross_fix() { # name
	local o=$work/$1 n
	cross_kernel "$o" --cross aarch64 --config "$KA_CONFIG" --image "$KA_IMAGE" \
		--patch "$data/cmdline.patch" --keep-work "$work/$1-w"
	n=$(grep -o 'fidelity: [0-9]* functions match the image, 0 differ' "$o.out" | cut -d' ' -f2)
	if [ "$(cat "$o.rc")" != 6 ] || [ -z "$n" ] ||
		! has "$o.out" 'match  fs/proc/cmdline.o cmdline_proc_show at 0xffff8' ||
		! has "$o.out" 'changed fs/proc/cmdline.o cmdline_proc_show' ||
		! has "$o.err" 'the target kernel has no CONFIG_LIVEPATCH' || [ -e "$work/cross.ko" ]; then
		fail "$1" "exit $(cat "$o.rc"): $(grep -E '^(fidelity|diff)' "$o.out" | tr '\n' ' ') $(tail -1 "$o.err")"
		return 1
	fi
	readelf -h "$work/$1-w/patched/fs/proc/cmdline.o" | grep -q 'Machine:.*AArch64' &&
		grep -q 'livefix=1' "$work/$1-w/patched/fs/proc/cmdline.o" ||
		{ fail "$1" "the patched object is not the arm64 build of the fix"; return 1; }
	grep -q 'livefix=1' "$(tree_src)/fs/proc/cmdline.c" && { fail "$1" "cached source left patched"; return 1; }
	return 0
}

cross_fix_cold_warm() {
	local t0 t1 t2 tree amd
	t0=$(date +%s.%N)
	cross_fix cross-fix || return
	t1=$(date +%s.%N)
	cross_fix cross-fix2 || return
	t2=$(date +%s.%N)
	has "$work/cross-fix2.out" '^build tree .*: reused' || { fail cross-tree-reused "$(grep '^build tree' "$work/cross-fix2.out")"; return; }
	tree=$(grep -o 'tree/[0-9a-f]*' "$work/cross-fix.out")
	amd=$(grep -o 'tree/[0-9a-f]*' "$work/fix1.out" 2>/dev/null)
	[ -n "$tree" ] && [ "$tree" != "$amd" ] || { fail cross-fix "arm64 tree $tree is the amd64 one"; return; }
	pass "cross-fix ($(grep -o 'fidelity: [0-9]* functions match' "$work/cross-fix.out"); diff names cmdline_proc_show; module refused, no CONFIG_LIVEPATCH, exit 6; own tree $(grep -o 'build tree [^:]*: [a-z]* ([0-9.]* s)' "$work/cross-fix.out" | sed 's/.*: //'))"
	pass "cross-timing (first run, tree $(grep -o 'build tree [^:]*: [a-z]*' "$work/cross-fix.out" | sed 's/.*: //'): $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s; second run, tree reused: $(printf '%.1f' "$(echo "$t2 - $t1" | bc)") s)"
}

# A changed optimisation option: the rebuilt code is not the shipped code.
# cmdline.o's two small functions compile alike at -O2 and -Os on arm64, so
# this uses fs/proc/stat.c: with the shipped config stat_open and
# get_idle_time match the image; with CONFIG_CC_OPTIMIZE_FOR_SIZE they differ
# and the build stops before the patched build. (show_stat differs even with
# the shipped config: bookworm's cross gcc is 12.2.0-14, the kernel was
# built by 12.2.0-14+deb12u1, whose CVE-2023-4039 fix moved the stack
# protector's frame layout; the builder warns about the version.)
cross_wrong_optimisation() {
	local o=$work/cross-os cfg=$work/config-arm64-os f
	cross_kernel "$o.ref" --cross aarch64 --config "$KA_CONFIG" --image "$KA_IMAGE" \
		--patch "$data/stat-iowait.patch" --keep-work "$work/cross-os-ref"
	for f in stat_open get_idle_time; do
		has "$o.ref.out" "match  fs/proc/stat.o $f at" ||
			{ fail cross-wrong-config "$f does not match with the shipped config: $(grep "stat.o $f" "$o.ref.out")"; return; }
	done
	sed -e 's/^CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y/# CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE is not set/' \
	    -e 's/^# CONFIG_CC_OPTIMIZE_FOR_SIZE is not set/CONFIG_CC_OPTIMIZE_FOR_SIZE=y/' "$KA_CONFIG" >"$cfg"
	cross_kernel "$o" --cross aarch64 --config "$cfg" --image "$KA_IMAGE" \
		--patch "$data/stat-iowait.patch" --keep-work "$work/cross-os-w"
	if [ "$(cat "$o.rc")" = 4 ] && has "$o.err" 'fidelity check failed' &&
		has "$o.err" '  stat_open (fs/proc/stat.o)' && has "$o.err" '  get_idle_time (fs/proc/stat.o)' &&
		[ ! -d "$work/cross-os-w/patched" ]; then
		pass "cross-wrong-config refused by the fidelity check (CONFIG_CC_OPTIMIZE_FOR_SIZE: $(grep -c '^  DIFFER' "$o.out") of $(grep -c '^  \(DIFFER\|match\)' "$o.out") functions of fs/proc/stat.o differ, stat_open and get_idle_time matched with the shipped config)"
	else
		fail cross-wrong-config "exit $(cat "$o.rc"): $(tail -2 "$o.err" | tr '\n' ' ')"
	fi
}

# The amd64 config, an amd64 image, no --cross, armhf: one clear error each.
cross_mismatches() {
	local o=$work/cross-mm bad=""
	cross_kernel "$o.1" --cross aarch64 --config "$KB_CONFIG" --image "$KA_IMAGE" --patch "$data/cmdline.patch"
	[ "$(cat "$o.1.rc")" = 4 ] && has "$o.1.err" 'not the config of an aarch64 kernel' || bad+=" amd64-config:$(cat "$o.1.rc")"
	cross_kernel "$o.2" --cross aarch64 --config "$KA_CONFIG" --image "$KB_IMAGE" --patch "$data/cmdline.patch"
	[ "$(cat "$o.2.rc")" = 4 ] && has "$o.2.err" 'the image is an x86_64 kernel, but --cross aarch64' || bad+=" amd64-image:$(cat "$o.2.rc")"
	cross_kernel "$o.3" --config "$KA_CONFIG" --image "$KA_IMAGE" --patch "$data/cmdline.patch"
	[ "$(cat "$o.3.rc")" = 4 ] && has "$o.3.err" 'give --cross aarch64' || bad+=" no-cross:$(cat "$o.3.rc")"
	cross_kernel "$o.4" --cross armhf --config "$KA_CONFIG" --image "$KA_IMAGE" --patch "$data/cmdline.patch"
	[ "$(cat "$o.4.rc")" = 6 ] && has "$o.4.err" 'not supported yet' || bad+=" armhf:$(cat "$o.4.rc")"
	for i in 1 2 3 4; do has "$o.$i.out" '^build tree' && bad+=" $i:built"; done
	if [ -z "$bad" ]; then
		pass "cross-mismatches refused before building (amd64 config, amd64 image with --cross aarch64, arm64 image without --cross: exit 4; armhf: exit 6)"
	else
		fail cross-mismatches "$bad"
	fi
}

# A device maker's arm64 config that claims CONFIG_LIVEPATCH: verified and
# diffed, then refused as not supported yet (no AArch64 klp relocations).
cross_livepatch_config() {
	local o=$work/cross-lp cfg=$work/config-arm64-lp
	{ cat "$KA_CONFIG"; echo CONFIG_LIVEPATCH=y; } >"$cfg"
	cross_kernel "$o" --cross aarch64 --config "$cfg" --image "$KA_IMAGE" \
		--patch "$data/cmdline.patch" --keep-work "$work/cross-lp-w"
	if [ "$(cat "$o.rc")" = 6 ] && has "$o.out" 'config with CONFIG_LIVEPATCH' &&
		has "$o.out" 'changed fs/proc/cmdline.o cmdline_proc_show' &&
		has "$o.err" 'livepatch modules for aarch64 kernels are not supported yet' && [ ! -e "$work/cross.ko" ]; then
		pass "cross-livepatch-config (diffed, then refused as not supported yet, exit 6)"
	else
		fail cross-livepatch-config "exit $(cat "$o.rc"): $(tail -1 "$o.err")"
	fi
}

test_cross() {
	command -v aarch64-linux-gnu-gcc-12 >/dev/null ||
		{ skip cross "aarch64-linux-gnu-gcc-12 missing: scripts/deps.sh installs gcc-aarch64-linux-gnu"; return; }
	cross_fetch || return
	cross_kallsyms
	cross_mismatches
	cross_fix_cold_warm
	cross_wrong_optimisation
	cross_livepatch_config
}
