#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the VM: time applying lp_cmdline_l1 with the agent and the plain
# kernel way, alternating so drift hits both alike. One warm-up of each is
# not reported. Lines "BENCH: agent|baseline|startup|floor <ns> <exit code>" go to
# the host; startup (`livefix version`) is what starting the agent costs.
. /lf/vm-lib.sh

n=15
for w in $(cat /proc/cmdline); do
	case $w in lf.n=*) n=${w#lf.n=} ;; esac
done

emit() { echo "BENCH: $*"; echo "BENCH: $*" >&3; }

i=0
while [ "$i" -le "$n" ]; do
	r=$(lfhelper time livefix kernel load "$M/lp_cmdline_l1.ko")
	[ "$i" -gt 0 ] && emit agent "$r"
	timeout 60 livefix kernel unload lp_cmdline_l1 >/dev/null 2>&1
	lp_cleanup
	r=$(lfhelper baseline "$M/lp_cmdline_l1.ko" lp_cmdline_l1)
	[ "$i" -gt 0 ] && emit baseline "$r"
	lp_cleanup
	r=$(lfhelper time livefix version)
	[ "$i" -gt 0 ] && emit startup "$r"
	r=$(lfhelper time /lf/bin/dynfloor)
	[ "$i" -gt 0 ] && emit floor "$r"
	i=$((i + 1))
done
echo "BENCH: done" >&3
