# SPDX-License-Identifier: Apache-2.0
# Host side of the real-kernel harness, sourced by tests/kernel/run.sh,
# scripts/demo.sh and bench/kernel-apply/run.sh:
#   kernel (cache) -> test modules -> initramfs (busybox, agent, modules,
#   a payload script) -> one QEMU boot under a timeout.
# Inside the VM, /init (vm-init.sh) mounts the usual file systems and runs
# /lf/main.sh, the payload, then powers off.
# shellcheck shell=bash

LF_SRC=${LIVEFIX_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LF_KDIR=$LF_SRC/tests/kernel
LIVEFIX_BUILD=${LIVEFIX_BUILD:-$LF_SRC/build/main}
LIVEFIX_CACHE=${LIVEFIX_CACHE:-$(dirname "$LIVEFIX_BUILD")/cache}
LF_AGENT=$LIVEFIX_BUILD/src/agent/livefix

lf_log() { echo "kernel: $*" >&2; }

# Fetch or reuse the kernel; sets KERNEL_RELEASE, KERNEL_VMLINUZ, KERNEL_HEADERS.
lf_kernel() {
	local env
	env=$(LIVEFIX_CACHE=$LIVEFIX_CACHE "$LF_SRC/scripts/kernel-cache.sh") || return 1
	eval "$env"
	[ -f "$KERNEL_VMLINUZ" ] && [ -d "$KERNEL_HEADERS" ]
}

# Build the test modules against the cached headers in a copy of their
# sources (kbuild writes next to them), then derive the bad inputs.
lf_build_modules() { # work-dir
	local dir=$1/modules
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$LF_KDIR"/modules/Kbuild "$LF_KDIR"/modules/*.c "$dir"/
	make -s -C "$KERNEL_HEADERS" M="$dir" -j2 >"$1/modules.log" 2>&1 || {
		cat "$1/modules.log" >&2
		return 1
	}
	local m
	for m in lp_cmdline_l1 lp_cmdline_l2 lf_sleeper lp_sleeper; do
		[ -f "$dir/$m.ko" ] || { lf_log "$dir/$m.ko not built"; return 1; }
	done
	lf_bad_inputs "$dir"
}

# Inputs the agent must refuse, made from a good module:
#   lp_badmagic.ko  l1 with the vermagic release replaced by another string
#                   of the same length (ELF stays valid, kernel is "other")
#   lp_truncated.ko the first 1000 bytes of l1
#   lp_notelf.ko    text
lf_bad_inputs() { # module-dir
	local dir=$1
	python3 - "$dir/lp_cmdline_l1.ko" "$dir/lp_badmagic.ko" "$KERNEL_RELEASE" <<'PY' || return 1
import sys
src, dst, rel = sys.argv[1], sys.argv[2], sys.argv[3].encode()
data = open(src, "rb").read()
# Same length, certainly different: bump every digit of the version part,
# keep the flavour ("6.1.0-56-amd64" -> "7.2.1-67-amd64").
head, sep, flavour = rel.rpartition(b"-")
other = bytes((b - 48 + 1) % 10 + 48 if 48 <= b <= 57 else b for b in head) + sep + flavour
old = b"vermagic=" + rel + b" "
if data.count(old) != 1:
    sys.exit(f"{src}: expected one '{old.decode()}', found {data.count(old)}")
open(dst, "wb").write(data.replace(old, b"vermagic=" + other + b" "))
PY
	head -c 1000 "$dir/lp_cmdline_l1.ko" >"$dir/lp_truncated.ko"
	printf 'this is not an ELF object, only text named like a module\n' >"$dir/lp_notelf.ko"
}

lf_build_helper() { # work-dir
	gcc-12 -static -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-o "$1/lfhelper" "$LF_KDIR/lfhelper.c"
}

# Copy an executable and the shared libraries ldd finds for it into root.
lf_copy_with_libs() { # root binary dest-path
	local root=$1 bin=$2 dest=$3 lib
	install -D -m 755 "$bin" "$root$dest"
	ldd "$bin" 2>/dev/null | grep -q 'not found' && {
		lf_log "$bin: missing shared libraries: $(ldd "$bin" | grep 'not found' | tr -s ' \n' ' ')"
		return 1
	}
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
	done
}

# Build an initramfs: busybox, the agent (when present), lfhelper, the
# modules, vm-lib.sh and the payload as /lf/main.sh. Extra files can be
# given as src=dest pairs.
lf_initramfs() { # work-dir payload out [src=dest...]
	local work=$1 payload=$2 out=$3 root pair
	shift 3
	root=$(mktemp -d "$work/root.XXXXXX")
	chmod 755 "$root"
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,etc,var/lib,lf/bin,lf/modules}
	install -m 755 "$(command -v busybox)" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true
	install -m 755 "$LF_KDIR/vm-init.sh" "$root/init"
	install -m 644 "$LF_KDIR/vm-lib.sh" "$root/lf/vm-lib.sh"
	install -m 755 "$payload" "$root/lf/main.sh"
	install -m 755 "$work/lfhelper" "$root/lf/bin/lfhelper"
	cp "$work"/modules/*.ko "$root/lf/modules/"
	if [ -x "$LF_AGENT" ]; then
		lf_copy_with_libs "$root" "$LF_AGENT" /lf/bin/livefix || return 1
	fi
	for pair in "$@"; do
		install -D -m "$(stat -c %a "${pair%%=*}")" "${pair%%=*}" "$root${pair#*=}"
	done
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp" || return 1
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

# Accelerator: KVM only when it really boots our stock kernel (checked once
# per kernel release and remembered), TCG otherwise. LIVEFIX_ACCEL overrides.
lf_accel() { # work-dir
	local stamp=$LIVEFIX_CACHE/kernel/kvm-$KERNEL_RELEASE
	if [ -n "${LIVEFIX_ACCEL:-}" ]; then
		echo "$LIVEFIX_ACCEL"
		return 0
	fi
	if [ ! -w /dev/kvm ]; then
		echo tcg
		return 0
	fi
	if [ ! -f "$stamp" ]; then
		lf_log "probing KVM with $KERNEL_RELEASE (at most 20 s, once)"
		lf_kvm_probe "$1" >"$stamp" 2>/dev/null || echo tcg >"$stamp"
	fi
	cat "$stamp"
}

lf_kvm_probe() { # work-dir
	local probe=$1/kvm-probe
	mkdir -p "$probe"
	printf '#!/bin/sh\necho LF-KVM-PROBE-OK\n' >"$probe/payload.sh"
	lf_initramfs "$1" "$probe/payload.sh" "$probe/initrd" || return 1
	LF_QEMU_ACCEL=kvm lf_boot "$probe/initrd" "$probe/console.log" "$probe/results" 20 || true
	if grep -q LF-KVM-PROBE-OK "$probe/console.log" 2>/dev/null; then
		echo kvm
	else
		echo tcg
	fi
	rm -rf "$probe"
}

# Boot the kernel with an initramfs. The console (ttyS0) goes to a log file,
# the payload's results to a second serial port (ttyS1) so kernel messages
# can never split a result line. Returns qemu's status (124 on timeout).
lf_boot() { # initrd console-log results-file timeout-sec [extra-cmdline]
	rm -f "$2" "$3"
	timeout -k 5 "$4" qemu-system-x86_64 -accel "${LF_QEMU_ACCEL:-tcg}" \
		-smp 1 -m 512 -nographic -no-reboot -monitor none \
		-serial "file:$2" -serial "file:$3" \
		-kernel "$KERNEL_VMLINUZ" -initrd "$1" \
		-append "console=ttyS0 quiet panic=-1 ${5:-}" </dev/null
}

# Boot with the console on this terminal (the demo); the results port still
# goes to a file. The firmware stays quiet (SeaBIOS' serial console off, no
# network boot ROM) so the terminal shows the device, not screen resets;
# QEMU's one warning about that firmware setting's name is dropped.
lf_boot_interactive() { # initrd results-file timeout-sec
	rm -f "$2"
	timeout -k 5 "$3" qemu-system-x86_64 -accel "${LF_QEMU_ACCEL:-tcg}" \
		-smp 1 -m 512 -nographic -no-reboot \
		-fw_cfg name=etc/sercon-port,string=0 \
		-netdev user,id=n0 -device e1000,netdev=n0,romfile= \
		-serial mon:stdio -serial "file:$2" \
		-kernel "$KERNEL_VMLINUZ" -initrd "$1" \
		-append "console=ttyS0 quiet panic=-1" 2> >(grep -v 'fw_cfg item names' >&2)
}

# Prepare everything a boot needs; sets LF_WORK and LF_QEMU_ACCEL.
lf_prepare() { # work-dir
	LF_WORK=$1
	mkdir -p "$LF_WORK"
	lf_kernel || { lf_log "no kernel"; return 1; }
	lf_build_modules "$LF_WORK" || { lf_log "module build failed"; return 1; }
	lf_build_helper "$LF_WORK" || { lf_log "lfhelper build failed"; return 1; }
	LF_QEMU_ACCEL=$(lf_accel "$LF_WORK")
	export LF_QEMU_ACCEL
}

# Signed repositories for the trust path in the VM, made with livefix-build
# on the host as a device maker would: lp_cmdline_l1 in repo-l1, then l2
# added and re-signed in repo-l2, and other.lfb for another kernel build.
# Prints the src=dest pairs for lf_initramfs.
lf_signed_repos() { # work-dir
	local d=$1/trust lb=$LIVEFIX_BUILD/src/builder/livefix-build r f
	rm -rf "$d" && mkdir -p "$d" || return 1
	(
		set -e
		cd "$d"
		for r in root targets snapshot timestamp; do "$lb" keygen --role $r -o $r.key >/dev/null; done
		for l in 1 2; do
			"$lb" bundle --kind kernel --payload "$1/modules/lp_cmdline_l$l.ko" \
				--target-kernel-image "$KERNEL_VMLINUZ" --level $l --cve CVE-2026-000$l:high \
				--key targets.key -o l$l.lfb >/dev/null
		done
		"$lb" bundle --kind kernel --payload "$1/modules/lp_cmdline_l1.ko" --arch x86_64 \
			--kernel-release "$KERNEL_RELEASE" --build-id 77c1000000000000000000000000000000000001 \
			--level 1 --key targets.key -o other.lfb >/dev/null
		"$lb" repo init repo --root-key root.key --targets-key targets.key.pub \
			--snapshot-key snapshot.key.pub --timestamp-key timestamp.key.pub >/dev/null
		"$lb" repo add repo --key targets.key l1.lfb >/dev/null
		"$lb" repo sign repo --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
		cp -a repo repo-l1
		"$lb" repo add repo --key targets.key l2.lfb >/dev/null
		"$lb" repo sign repo --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
		mv repo repo-l2
	) >&2 || return 1
	for f in $(cd "$d" && find repo-l1 repo-l2 -type f) other.lfb; do
		echo "$d/$f=/lf/trust/$f"
	done
}
