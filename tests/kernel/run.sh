#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Kernel suite: the livefix agent against a real Debian kernel in QEMU.
#
# Builds the test modules against the cached kernel headers, packs an
# initramfs with busybox, the agent and its shared libraries, the modules and
# vm-tests.sh, boots it once, and relays the PASS/FAIL lines the VM writes.
# A test case without a result (crash, hang, agent killed the VM) is a FAIL;
# the serial console log of a failed run is kept and its path printed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/kernel/lib.sh
. "$here/lib.sh"

work=$LIVEFIX_BUILD/kernel-tests
boot_timeout=${LIVEFIX_KERNEL_TIMEOUT:-300}
mapfile -t cases < <(sed -n 's/^run_test \([a-z0-9-]*\) .*/\1/p' "$here/vm-tests.sh")

fail_all() { # reason
	local c
	for c in "${cases[@]}"; do echo "FAIL: $c ($1)"; done
	exit 1
}

[ -x "$LF_AGENT" ] || echo "FAIL: agent (no agent binary at $LF_AGENT)"
lf_prepare "$work" || fail_all "harness setup failed, see above"
mapfile -t extra < <(lf_signed_repos "$work") || fail_all "signed repositories could not be built"
lf_initramfs "$work" "$here/vm-tests.sh" "$work/tests.cpio" "${extra[@]}" || fail_all "initramfs build failed"

console=$work/console.log results=$work/results.txt
echo "kernel: booting $KERNEL_RELEASE (accel $LF_QEMU_ACCEL, timeout ${boot_timeout}s)"
start=$SECONDS
lf_boot "$work/tests.cpio" "$console" "$results" "$boot_timeout"
qrc=$?
echo "kernel: VM ran $((SECONDS - start)) s, qemu exit $qrc"

touch "$results"
failed=0
for c in "${cases[@]}"; do
	line=$(tr -d '\r' <"$results" | grep -E "^(PASS|FAIL|SKIP): $c( \(|$)" | head -n1)
	if [ -z "$line" ]; then
		if ((qrc == 124)); then
			line="FAIL: $c (no result: VM timed out after ${boot_timeout}s)"
		elif grep -q 'Kernel panic' "$console" 2>/dev/null; then
			line="FAIL: $c (no result: kernel panic)"
		else
			line="FAIL: $c (no result: VM ended early, qemu exit $qrc)"
		fi
	fi
	echo "$line"
	[[ $line == FAIL:* ]] && failed=1
done
if grep -qE '(BUG:|Oops|Call Trace:|Kernel panic)' "$console" 2>/dev/null; then
	echo "FAIL: kernel-log (oops, BUG or panic in the serial log)"
	failed=1
fi

if ((failed)); then
	keep=$work/logs/failed-$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$keep"
	cp "$console" "$keep/console.log" 2>/dev/null
	cp "$results" "$keep/results.txt"
	echo "kernel: serial log of the failed run: $keep/console.log"
	exit 1
fi
exit 0
