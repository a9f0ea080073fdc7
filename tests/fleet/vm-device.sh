#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the VM device of tests/fleet/run.sh: enrol with the portal on the
# host, take the rollout's level-1 kernel bundle and apply it live to this
# running Debian kernel, then wait for the host to withdraw it and check the
# patch is taken out again. Results go to the host on the results port.
. /lf/vm-lib.sh
. /lf/fleet/device-lib.sh

ORIG=$(cat /proc/cmdline)
if fleet_net_up vmdevice; then
	lf_result PASS "vm device: network up (e1000, user networking)"
else
	lf_result FAIL "vm device: network up" "$(short "$(ip addr 2>&1)")"
fi
if fleet_register; then
	lf_result PASS "vm device: registers with the portal at 10.0.2.2 over TLS 1.3"
else
	lf_result FAIL "vm device: registers with the portal" "$(short "$err")"
fi
agent daemon --once
if [ $rc = 0 ] && wait_for 100 transition_done lp_cmdline_l1 && grep -q livefix-level-1 /proc/cmdline; then
	lf_result PASS "vm device: the rolled-out kernel bundle is verified and applied live"
else
	lf_result FAIL "vm device: kernel bundle applied live" "rc $rc $(short "$err") $(cat /proc/cmdline)"
fi
agent status --json
if printf '%s' "$out" | tr -d ' \n' | grep -q '"applied":{[^}]*"level":1'; then
	lf_result PASS "vm device: livefix status shows level 1 applied"
else
	lf_result FAIL "vm device: livefix status shows level 1 applied" "$(short "$out")"
fi
# The host sees the device patched, then withdraws level 1.
echo "VM-PATCHED" >&3
if fleet_update_until 90 lp_gone lp_cmdline_l1 && [ "$(cat /proc/cmdline)" = "$ORIG" ]; then
	lf_result PASS "vm device: the withdrawn patch is unloaded live, /proc/cmdline as at boot"
else
	lf_result FAIL "vm device: withdrawn patch unloaded" "$(short "$err $(patch_names)")"
fi
agent update
echo "VM-DONE" >&3
