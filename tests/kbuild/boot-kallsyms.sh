#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boots a kernel image under QEMU without KASLR with a busybox initramfs and
# prints "<lines> <md5>" of the first N lines of its /proc/kallsyms, so the
# caller can compare them with the table livefix decoded from the image.
# Also writes WORKDIR/identity: the hex of /sys/kernel/notes (the build-id
# note) and the sha1 of /proc/version, for the image identity checks.
# Usage: boot-kallsyms.sh VMLINUZ N WORKDIR [ARM64_BUSYBOX]
# With a static aarch64 busybox, the image is an arm64 one, booted with
# qemu-system-aarch64 (-M virt, TCG).
set -euo pipefail
image=$1 n=$2 dir=$3 arm64_busybox=${4:-}
rm -rf "$dir"; mkdir -p "$dir/root/bin" "$dir/root/dev" "$dir/root/proc" "$dir/root/sys"
chmod 755 "$dir/root"
cp "${arm64_busybox:-/bin/busybox}" "$dir/root/bin/busybox"
mknod -m 600 "$dir/root/dev/console" c 5 1
cat >"$dir/root/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
echo 0 >/proc/sys/kernel/kptr_restrict
echo "NOTES \$(/bin/busybox hexdump -v -e '1/1 "%02x"' /sys/kernel/notes)"
echo "PROCVERSION \$(/bin/busybox sha1sum /proc/version)"
echo "KALLSYMS \$(/bin/busybox head -n $n /proc/kallsyms | /bin/busybox wc -l) \$(/bin/busybox head -n $n /proc/kallsyms | /bin/busybox md5sum)"
/bin/busybox poweroff -f
INIT
chmod 755 "$dir/root/init"
(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$dir/initrd.gz")
accel=tcg
if [ -n "$arm64_busybox" ]; then
	timeout 180 qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg -m 512 -smp 1 \
		-nographic -no-reboot -monitor none -kernel "$image" -initrd "$dir/initrd.gz" \
		-append "console=ttyAMA0 quiet panic=-1 nokaslr rdinit=/init" </dev/null \
		>"$dir/serial.log" 2>&1 || true
else
	timeout 180 qemu-system-x86_64 -accel "$accel" -m 512 -smp 1 -nographic -no-reboot \
		-kernel "$image" -initrd "$dir/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 nokaslr rdinit=/init" </dev/null >"$dir/serial.log" 2>&1 || true
fi
grep -ao -E '^(NOTES|PROCVERSION) [0-9a-f]*' "$dir/serial.log" >"$dir/identity" || true
line=$(grep -ao 'KALLSYMS [0-9]* [0-9a-f]*' "$dir/serial.log" | tail -1)
[ -n "$line" ] || exit 1
set -- $line
echo "$2 $3"
