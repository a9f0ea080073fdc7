#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device agent on aarch64, in a qemu-system-aarch64 VM (ptrace does not
# work through qemu-user):
#   1. fetch Debian's newest linux-image-6.1.0-NN-arm64, busybox-static and
#      a sysroot of the agent's arm64 libraries (arm64-cache.sh);
#   2. cross-build the full agent livefix against that sysroot with
#      meson -Dagent_only=true and aarch64-linux-gnu.ini (dynamically linked);
#   3. cross-build tests/user's programs and patch objects (mkpatch.sh with
#      CC/LD of the cross toolchain), and on the host a root of trust and
#      signed userspace bundles (livefix-build keygen, repo init, bundle);
#   4. start a livefix-portal on the host with a userspace bundle for the
#      VM's test program rolled out (fleet.sh; the VM runs vm-fleet.sh);
#   5. boot the kernel with a busybox initramfs holding the agent, its
#      libraries (libcurl's too) and the dynamic loader, with user
#      networking, that runs vm-cases.sh; meanwhile the host withdraws the
#      bundle once the portal shows the device patched;
#   6. print the cases' PASS/FAIL lines and the pause figures measured there.
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
LB=$build/src/builder/livefix-build
W=$(mktemp -d /tmp/livefix-user-arm64.XXXXXX)
fleet=
cleanup() {
	[ -n "$fleet" ] && fv_portal_stop
	rm -rf "$W"
}
trap cleanup EXIT

fail() { echo "FAIL: $1 ($2)"; }

for tool in $XCC $XLD qemu-system-aarch64 cpio; do
	if ! command -v $tool >/dev/null; then
		echo "SKIP: user-arm64 ($tool missing: scripts/deps.sh installs it)"
		exit 0
	fi
done
[ -f $XLIB/libc.so.6 ] || { echo "SKIP: user-arm64 (libc6-dev-arm64-cross missing)"; exit 0; }
[ -x "$LB" ] || { fail build "$LB missing: build the host's livefix-build first"; exit 1; }

# ---- 1. kernel, busybox and the agent's libraries for arm64 ----
if ! env=$(LIVEFIX_CACHE=$cache "$A/arm64-cache.sh"); then
	fail vm "no arm64 kernel, busybox or sysroot (see arm64-cache.sh)"
	exit 1
fi
eval "$env"

# ---- 2. the full agent, cross-built against the sysroot ----
# The sysroot's path reaches aarch64-linux-gnu.ini as a meson constant from
# a cross file given before it; a new path or an older configuration (the
# former -Duser_only build) means a new build directory.
cross_agent() {
	local ini=$xbuild-sysroot.ini
	printf "[constants]\nsysroot = '%s'\n" "$ARM64_SYSROOT" >"$ini.new"
	if ! cmp -s "$ini.new" "$ini" || ! grep -qs agent_only "$xbuild/meson-private/cmd_line.txt"; then
		rm -rf "$xbuild"
		mv "$ini.new" "$ini"
	fi
	rm -f "$ini.new"
	if [ ! -f "$xbuild/build.ninja" ]; then
		meson setup --cross-file "$ini" --cross-file "$A/aarch64-linux-gnu.ini" -Dagent_only=true \
			-Dtests=disabled --werror "$xbuild" "$src" || return 1
	fi
	ninja -C "$xbuild" -j2 src/agent/livefix src/user/liblf_user.a src/common/liblf_common.a
}
if ! cross_agent >"$W/cross.log" 2>&1; then
	tail -n 30 "$W/cross.log"
	fail cross-build "meson/ninja for aarch64 failed"
	exit 1
fi
echo "PASS: cross-build"
xstrip=$W/livefix.stripped
aarch64-linux-gnu-strip -o "$xstrip" "$xbuild/src/agent/livefix" &&
	echo "user-arm64: livefix for aarch64: $(stat -c %s "$xstrip") bytes stripped" \
		"($(stat -c %s "$xbuild/src/agent/livefix") with debug info)" >&2

# ---- 3. test programs, patches and signed bundles for aarch64 ----
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
	bundles
	# arch-aarch64.c's encoders against the assembler's words (arch-test.c).
	$XCC -O2 -static -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/include" -I"$src/src/user" \
		-o arch-test "$A/arch-test.c" "$xbuild/src/user/liblf_user.a" "$xbuild/src/common/liblf_common.a"
}
# A root of trust made on the host, as a release engineer would: the VM pins
# root.json and applies bundles signed by the targets key, and refuses one
# signed by a key without that role. The private keys stay on the host.
bundles() {
	local role
	mkdir -p "$W/keys"
	for role in root targets snapshot timestamp; do
		"$LB" keygen --role $role -o "$W/keys/$role.key" >/dev/null
	done
	"$LB" repo init "$W/keys/repo" --root-key "$W/keys/root.key" --targets-key "$W/keys/targets.key.pub" \
		--snapshot-key "$W/keys/snapshot.key.pub" --timestamp-key "$W/keys/timestamp.key.pub" >/dev/null
	cp "$W/keys/repo/root.json" root.json
	"$LB" bundle --kind user --payload simple-pie.o --target-elf target-pie --level 1 \
		--cve CVE-2026-0001:high --key "$W/keys/targets.key" -o simple.lfb
	"$LB" bundle --kind user --payload simple-pie.o --target-elf target-pie --level 1 \
		--key "$W/keys/snapshot.key" -o wrongrole.lfb
	# What the VM compares with: the build-id the kept bundle is named after,
	# and the version the host's agent of the same tree prints.
	aarch64-linux-gnu-readelf -n target-pie | awk '/Build ID:/ { print $3 }' >target-pie.build-id
	"$build/src/agent/livefix" version >version.txt
}
if ! (build_all) >"$W/build.log" 2>&1; then
	tail -n 30 "$W/build.log"
	fail build "aarch64 test programs or patches did not build"
	exit 1
fi
echo "PASS: cross-build-targets-and-patches"

# ---- 4. the portal on the host, the bundle rolled out ----
export LIVEFIX_BUILD=$build LIVEFIX_SRC=$src
# shellcheck source=tests/user-arm64/fleet.sh
. "$A/fleet.sh"
if [ ! -x "$FV_PORTAL" ]; then
	echo "SKIP: fleet (livefix-portal not built)"
elif ! command -v openssl >/dev/null || ! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
	echo "SKIP: fleet (openssl, curl or python3 missing: scripts/deps.sh installs them)"
elif fleet=1 && af_setup >"$W/fleet-setup.log" 2>&1; then
	echo "PASS: fleet/portal-up-user-bundle-rolled-out"
else
	tail -n 20 "$W/fleet-setup.log" "$AF/portal.log" 2>/dev/null
	echo "FAIL: fleet/portal-up-user-bundle-rolled-out (see above)"
	fv_portal_stop
	fleet=
fi

# ---- 5. the VM ----
# The agent as a device runs it: stripped, its libraries beside libc where
# the dynamic loader looks, its state directory, the kernel's config in
# /boot for livefix doctor.
initramfs() {
	local root=$W/root lib so f
	mkdir -p "$root"/{bin,boot,dev,proc,sys,run,tmp,lib/aarch64-linux-gnu,lf/bin,var/lib/livefix}
	chmod 755 "$root"
	install -m 755 "$ARM64_BUSYBOX" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 755 "$src/tests/kernel/vm-init.sh" "$root/init"
	install -m 644 "$A/vm-cases.sh" "$root/lf/main.sh"
	install -m 755 "$xstrip" "$root/lf/bin/livefix"
	cp -a "$W/t" "$root/lf/t"
	install -m 644 "$(dirname "$ARM64_VMLINUZ")/config-$ARM64_RELEASE" "$root/boot/"
	install -m 755 $XLIB/ld-linux-aarch64.so.1 "$root/lib/"
	install -m 755 $XLIB/libc.so.6 "$root/lib/aarch64-linux-gnu/"
	lib=$root/lib/aarch64-linux-gnu
	for so in $(aarch64-linux-gnu-readelf -d "$xstrip" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		case $so in libc.so.6 | ld-linux-aarch64.so.1) continue ;; esac
		f=$(find "$ARM64_SYSROOT/lib" "$ARM64_SYSROOT/usr/lib" -name "$so" | head -n1)
		[ -n "$f" ] || { echo "$so: not in $ARM64_SYSROOT"; return 1; }
		cp -L "$f" "$lib/"
	done
	if [ -n "$fleet" ]; then af_initramfs "$root" || return 1; fi
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$W/initrd"
}
if ! initramfs >"$W/initramfs.log" 2>&1; then
	cat "$W/initramfs.log"
	fail vm "initramfs not built"
	exit 1
fi

# The payload takes about a minute under TCG; 2 vCPUs so that threads
# really run in parallel with the agent. QEMU's user network: the guest is
# 10.0.2.15, the host's loopback (the portal) is 10.0.2.2.
boot() {
	timeout -k 5 600 qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg -smp 2 -m 512 \
		-nographic -no-reboot -monitor none -serial "file:$W/console.log" \
		-netdev user,id=n0 -device virtio-net-device,netdev=n0 \
		-kernel "$ARM64_VMLINUZ" -initrd "$W/initrd" \
		-append "console=ttyAMA0 quiet loglevel=1 panic=-1" </dev/null
}
t0=$(date +%s)
boot &
qpid=$!
[ -n "$fleet" ] && af_watch $qpid "$W/console.log"
wait $qpid
rc=$?
t1=$(date +%s)
echo "user-arm64: $ARM64_RELEASE booted, cases ran in $((t1 - t0)) s (qemu exit $rc)" >&2

# ---- 6. results ----
sed -n 's/\r$//; s/^LF-RESULT: //p' "$W/console.log"
[ -n "$fleet" ] && af_after "$W/console.log"
sed -n 's/\r$//; s/^LF-PAUSE: /user-arm64: pause, /p' "$W/console.log" >&2
keep=$cache/arm64/last-console.log	# every agent command and its output
cp "$W/console.log" "$keep" 2>/dev/null
if ! grep -q '^LF-DONE' "$W/console.log"; then
	tail -n 40 "$W/console.log" >&2
	fail vm "the cases did not finish (qemu exit $rc; console kept in $keep)"
fi
exit 0
