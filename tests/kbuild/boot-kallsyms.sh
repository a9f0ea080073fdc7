#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boots a kernel image under QEMU without KASLR with a busybox initramfs and
# prints "<lines> <md5>" of the first N lines of its /proc/kallsyms, so the
# caller can compare them with the table livefix decoded from the image.
# Usage: boot-kallsyms.sh VMLINUZ N WORKDIR
set -euo pipefail
image=$1 n=$2 dir=$3
rm -rf "$dir"; mkdir -p "$dir/root/bin" "$dir/root/dev" "$dir/root/proc"
chmod 755 "$dir/root"
cp /bin/busybox "$dir/root/bin/busybox"
mknod -m 600 "$dir/root/dev/console" c 5 1
cat >"$dir/root/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo 0 >/proc/sys/kernel/kptr_restrict
echo "KALLSYMS \$(/bin/busybox head -n $n /proc/kallsyms | /bin/busybox wc -l) \$(/bin/busybox head -n $n /proc/kallsyms | /bin/busybox md5sum)"
/bin/busybox poweroff -f
INIT
chmod 755 "$dir/root/init"
(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$dir/initrd.gz")
accel=tcg
timeout 180 qemu-system-x86_64 -accel "$accel" -m 512 -smp 1 -nographic -no-reboot \
	-kernel "$image" -initrd "$dir/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 nokaslr rdinit=/init" </dev/null >"$dir/serial.log" 2>&1 || true
line=$(grep -ao 'KALLSYMS [0-9]* [0-9a-f]*' "$dir/serial.log" | tail -1)
[ -n "$line" ] || exit 1
set -- $line
echo "$2 $3"
