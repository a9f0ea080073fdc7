#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the VM of `make demo` (scripts/demo.sh): one device of the fleet,
# narrated. It enrols with the portal running on the host, checks in, gets
# the kernel fix its rollout offers, applies it live and reports back.
. /lf/vm-lib.sh
. /lf/fleet/device-lib.sh

unexpected=0
say() {
	echo
	echo "---------------------------------------------------------------------"
	for l in "$@"; do echo "  $l"; done
	echo
}
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

say "This virtual machine is a device of the fleet: Debian's own kernel" \
	"$(uname -r), unmodified, booted a few seconds ago. Its network is" \
	"QEMU's: the portal on the host answers at 10.0.2.2."
fleet_net_up demo-device || unexpected=$((unexpected + 1))
run 0 cat /proc/cmdline

say "A. Enrol: an enrolment key (bound to the group 'default') buys a" \
	"device credential; the device pins the maker's root of trust and the" \
	"portal's certificate."
run 0 livefix register "$(cat $FLEET/url)" --enrol-key "$(cat $FLEET/enrol-key)" \
	--root $FLEET/root.json --ca $FLEET/ca.pem

say "B. One cycle of the daemon: check in with the inventory, learn that" \
	"the rollout offers a fix for this kernel build, verify the signed" \
	"metadata and bundle (TUF), load the livepatch, report 'applied'."
run 0 livefix daemon --once

say "C. The fix is live in the running kernel: no reboot (see the uptime)."
run 0 cat /proc/cmdline
run 0 cat /proc/uptime
run 0 livefix uname
run 0 livefix status

if [ "$unexpected" -eq 0 ]; then
	echo "DEMO: ok" >&3
else
	echo "DEMO: $unexpected unexpected step(s)" >&3
fi
say "The device powers off now; the portal keeps what it reported."
