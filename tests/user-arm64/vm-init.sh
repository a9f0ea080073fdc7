#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the aarch64 test VM: mount what the agent reads (/proc, /dev,
# /run for its lock), run the cases on the console (the virt machine has
# one UART: results are "LF-RESULT:" lines there), power off. A hang is
# ended by the host's timeout; a kernel crash ends QEMU (panic=-1).
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
export PATH=/lf/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
echo "vm: $(uname -r) $(uname -m), $(nproc) cpus"
sh /lf/cases.sh
echo "vm: cases exited with $?"
sync
poweroff -f
