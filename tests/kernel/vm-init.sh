#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the kernel test VM: mount what a device has (devtmpfs is not
# mounted by this kernel, /run must be a tmpfs for the agent's state), run
# the payload /lf/main.sh, power off. A payload that hangs is ended by the
# host's timeout; a kernel crash ends QEMU at once (panic=-1, -no-reboot).
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
export PATH=/lf/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
# Results channel, see lf_boot in lib.sh; absent when only one serial port.
if (: >/dev/ttyS1) 2>/dev/null; then exec 3>/dev/ttyS1; else exec 3>/dev/null; fi
sh /lf/main.sh
echo "vm: payload exited with $?"
sync
poweroff -f
