#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the VM: the narrated demo of scripts/demo.sh. Every command is shown
# before it runs; a step whose exit code is not the expected one is counted,
# and the count goes to the host on the results port.
. /lf/vm-lib.sh

unexpected=0

say() {
	echo
	echo "---------------------------------------------------------------------"
	for l in "$@"; do echo "  $l"; done
	echo
}

# Show and run a command; WANT is the exit code it should have.
run() { # want command...
	want=$1
	shift
	echo "device# $*"
	"$@"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "  (unexpected: exit code $rc, the demo expected $want)"
		unexpected=$((unexpected + 1))
	fi
}

REL=$(uname -r)
say "livefix demo: fixing a running Linux kernel without rebooting it." \
	"This virtual machine runs Debian's own kernel $REL, unmodified," \
	"started a few seconds ago. Think of it as one device of a fleet."

say "1. Can this kernel be live patched? 'livefix doctor' checks what the" \
	"kernel offers (livepatch support, sysfs, privileges) and exits 0 if" \
	"kernel live patches can be applied."
run 0 livefix doctor

say "2. The 'vulnerable' behaviour. For the demo, the bug is in the kernel" \
	"function that prints /proc/cmdline (cmdline_proc_show)."
run 0 cat /proc/cmdline
say "A vulnerability scanner asks 'livefix uname' for the effective kernel" \
	"version: no live patch yet, so it is the plain release."
run 0 livefix uname

say "3. Apply the fix: lp_cmdline_l1.ko is a standard kernel livepatch module," \
	"patch level 1. The agent checks it was built for exactly this kernel," \
	"loads it, and waits until every task has switched to the new code."
run 0 livefix kernel load /lf/modules/lp_cmdline_l1.ko

say "4. The fixed behaviour, in the same running kernel: no reboot happened" \
	"(look at the uptime, in seconds)."
run 0 cat /proc/cmdline
run 0 cat /proc/uptime
run 0 livefix uname
run 0 livefix kernel list

say "5. Patches are cumulative. Level 2 contains the level 1 fix plus a" \
	"second one (in /proc/version) and replaces level 1 atomically."
run 0 cat /proc/version
run 0 livefix kernel load /lf/modules/lp_cmdline_l2.ko
run 0 cat /proc/cmdline
run 0 cat /proc/version
run 0 livefix uname
run 0 livefix kernel list

say "6. A patch built for another kernel is refused before anything is" \
	"loaded (exit code 4: not for this machine)."
run 4 livefix kernel load /lf/modules/lp_badmagic.ko

say "7. Remove the live patch: the kernel behaves as it did at boot."
run 0 livefix kernel unload lp_cmdline_l2
run 0 cat /proc/cmdline
run 0 livefix uname

if [ "$unexpected" -eq 0 ]; then
	say "Done: every step behaved as expected. The VM powers off now."
	echo "DEMO: ok" >&3
else
	say "Done, but $unexpected step(s) did not behave as expected (see above)."
	echo "DEMO: $unexpected unexpected" >&3
fi
