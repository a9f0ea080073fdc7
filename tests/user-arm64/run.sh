#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The userspace live patch applier on aarch64, in a qemu-system-aarch64 VM
# (ptrace does not work through qemu-user):
#   1. cross-build livefix-user (the agent's user commands, static) with
#      meson -Duser_only=true and aarch64-linux-gnu.ini;
#   2. cross-build tests/user's programs and patch objects (mkpatch.sh with
#      CC/LD of the cross toolchain);
#   3. boot Debian's newest linux-image-6.1.0-NN-arm64 (arm64-cache.sh) with
#      a busybox-static:arm64 initramfs that runs vm-cases.sh;
#   4. print the cases' PASS/FAIL lines and the pause figures measured there.
set -u
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LIVEFIX_BUILD:-$src/build/main}
cache=${LIVEFIX_CACHE:-$(dirname "$build")/cache}
xbuild=$(dirname "$build")/arm64
S=$src/tests/user
A=$src/tests/user-arm64
XCC=aarch64-linux-gnu-gcc-12
XLD=aarch64-linux-gnu-ld
XLIB=/usr/aarch64-linux-gnu/lib
W=$(mktemp -d /tmp/livefix-user-arm64.XXXXXX)
trap 'rm -rf "$W"' EXIT

fail() { echo "FAIL: $1 ($2)"; }

for tool in $XCC $XLD qemu-system-aarch64 cpio; do
	if ! command -v $tool >/dev/null; then
		echo "SKIP: user-arm64 ($tool missing: scripts/deps.sh installs it)"
		exit 0
	fi
done
[ -f $XLIB/libc.so.6 ] || { echo "SKIP: user-arm64 (libc6-dev-arm64-cross missing)"; exit 0; }

# ---- 1. the agent's user commands, cross-built ----
cross_agent() {
	if [ ! -f "$xbuild/build.ninja" ]; then
		meson setup --cross-file "$A/aarch64-linux-gnu.ini" -Duser_only=true -Dtests=disabled \
			--werror "$xbuild" "$src" || return 1
	fi
	ninja -C "$xbuild" -j2 src/agent/livefix-user src/user/liblf_user.a src/common/liblf_common.a
}
if ! cross_agent >"$W/cross.log" 2>&1; then
	tail -n 30 "$W/cross.log"
	fail cross-build "meson/ninja for aarch64 failed"
	exit 1
fi
echo "PASS: cross-build"

# ---- 2. test programs and patches for aarch64 ----
build_all() {
	set -e
	mkdir -p "$W/t"
	cd "$W/t"
	# The VM runs them from /lf/t.
	$XCC -O2 -fPIC -shared -Wl,--build-id -o libtlib.so "$S/tlib.c"
	$XCC -O2 -g -fPIE -pie -Wl,--build-id -o target-pie "$S/target.c" -L. -ltlib -Wl,-rpath,/lf/t -lpthread
	$XCC -O2 -g -fno-pie -no-pie -Wl,--build-id -o target-nopie "$S/target.c" -L. -ltlib -Wl,-rpath,/lf/t -lpthread
	$XCC -O1 -g -fPIE -pie -Wl,--build-id -o target-other "$S/target.c" -L. -ltlib -Wl,-rpath,/lf/t -lpthread
	local t P=$S/patches
	mk() { CC=$XCC LD=$XLD "$S/mkpatch.sh" "$@"; }
	for t in pie nopie; do
		mk simple-$t.o target-$t simple-$t 1 $P/simple.c "func compute compute_v2"
		mk newfunc-$t.o target-$t newfunc-$t 1 $P/newfunc.c "func compute compute_v2"
		mk global-$t.o target-$t global-$t 1 $P/global.c "func compute compute_v2"
		mk libc-$t.o target-$t libc-$t 1 $P/libc.c "func message message_v2"
		mk local-$t.o target-$t local-$t 1 $P/local.c "func offset offset_v2" "bind offset_value offset_value,1"
	done
	mk lib.o libtlib.so lib-1 1 $P/lib.c "func libfn libfn_v2"
	mk level1.o target-pie lvl-1 1 $P/level1.c "func compute compute_l1" "func offset offset_l1"
	mk level2.o target-pie lvl-2 2 $P/level2.c "func compute compute_l2" "func message message_l2"
	mk forever.o target-pie forever-1 1 $P/busy.c "func busy_forever busy_forever_v2"
	mk often.o target-pie often-1 1 $P/busy.c "func busy_often busy_often_v2"
	mk other.o target-other other-1 1 $P/simple.c "func compute compute_v2"
	$XCC -O2 -g -fPIE -pie -Wl,--build-id -o wait-target "$A/wait-target.c" -lpthread
	mk held.o wait-target held-1 1 "$A/patches/held.c" "func held held_v2"
	# Code spanning 256 MiB: far_fn in its own segment.
	$XCC -O2 -g -fno-pie -no-pie -Wl,--build-id -Wl,--section-start=.fartext=0x10400000 \
		-o big-target "$A/big-target.c"
	mk near.o big-target near-1 1 "$A/patches/near.c" "func near_fn near_fn_v2"
	# The right build-id, the wrong machine: an x86_64 object.
	"$S/mkpatch.sh" x86.o target-pie x86-1 1 $P/simple.c "func compute compute_v2"
	rm -f target-other	# only its build-id was needed
	# arch-aarch64.c's encoders against the assembler's words (arch-test.c).
	$XCC -O2 -static -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/include" -I"$src/src/user" \
		-o arch-test "$A/arch-test.c" "$xbuild/src/user/liblf_user.a" "$xbuild/src/common/liblf_common.a"
}
if ! (build_all) >"$W/build.log" 2>&1; then
	tail -n 30 "$W/build.log"
	fail build "aarch64 test programs or patches did not build"
	exit 1
fi
echo "PASS: cross-build-targets-and-patches"

# ---- 3. the VM ----
if ! env=$(LIVEFIX_CACHE=$cache "$A/arm64-cache.sh"); then
	fail vm "no arm64 kernel or busybox (see arm64-cache.sh)"
	exit 1
fi
eval "$env"

initramfs() {
	local root=$W/root
	mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,lib/aarch64-linux-gnu,lf/bin}
	chmod 755 "$root"
	install -m 755 "$ARM64_BUSYBOX" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 755 "$A/vm-init.sh" "$root/init"
	install -m 644 "$A/vm-cases.sh" "$root/lf/cases.sh"
	install -m 755 "$xbuild/src/agent/livefix-user" "$root/lf/bin/livefix"
	cp -a "$W/t" "$root/lf/t"
	install -m 755 $XLIB/ld-linux-aarch64.so.1 "$root/lib/"
	install -m 755 $XLIB/libc.so.6 "$root/lib/aarch64-linux-gnu/"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$W/initrd"
}
if ! initramfs >"$W/initramfs.log" 2>&1; then
	cat "$W/initramfs.log"
	fail vm "initramfs not built"
	exit 1
fi

# The payload takes about a minute under TCG; 2 vCPUs so that threads
# really run in parallel with the agent.
boot() {
	timeout -k 5 600 qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg -smp 2 -m 512 \
		-nographic -no-reboot -monitor none -serial "file:$W/console.log" \
		-kernel "$ARM64_VMLINUZ" -initrd "$W/initrd" \
		-append "console=ttyAMA0 quiet loglevel=1 panic=-1" </dev/null
}
t0=$(date +%s)
boot
rc=$?
t1=$(date +%s)
echo "user-arm64: $ARM64_RELEASE booted, cases ran in $((t1 - t0)) s (qemu exit $rc)" >&2

# ---- 4. results ----
sed -n 's/\r$//; s/^LF-RESULT: //p' "$W/console.log"
sed -n 's/\r$//; s/^LF-PAUSE: /user-arm64: pause, /p' "$W/console.log" >&2
keep=$cache/arm64/last-console.log	# every agent command and its output
cp "$W/console.log" "$keep" 2>/dev/null
if ! grep -q '^LF-DONE' "$W/console.log"; then
	tail -n 40 "$W/console.log" >&2
	fail vm "the cases did not finish (qemu exit $rc; console kept in $keep)"
fi
exit 0
