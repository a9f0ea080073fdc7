#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make demo: the whole loop in a minute or two, narrated. A portal starts on
# SQLite, a kernel fix for Debian's stock kernel is signed on the "build
# host" and published, a rollout offers it to the group 'default', a QEMU VM
# running that kernel enrols as a device, applies the fix live and reports;
# then the portal's reports show the fleet patched. Prints the portal's URL
# and an admin token. DEMO_KEEP=1 keeps the portal running afterwards (until
# Ctrl-C); by default everything stops.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
build=$(mkdir -p "$build" && cd "$build" && pwd)
export LIVEFIX_SRC=$top LIVEFIX_BUILD=${LIVEFIX_BUILD:-$build/main}
export LIVEFIX_CACHE=${LIVEFIX_CACHE:-$build/cache}
# shellcheck source=tests/kernel/lib.sh
. "$top/tests/kernel/lib.sh"
# shellcheck source=tests/fleet/vm-lib.sh
. "$top/tests/fleet/vm-lib.sh"

work=$LIVEFIX_BUILD/demo
[ -x "$LF_AGENT" ] || { echo "demo: no agent at $LF_AGENT; run make first" >&2; exit 1; }
trap 'fv_portal_stop' EXIT
trap 'exit 130' INT TERM

say() {
	echo
	echo "=== $1"
	shift
	for l in "$@"; do echo "    $l"; done
}
pretty() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=1)[:1500])'; }

echo "demo: preparing the kernel (downloaded once) and the live patch modules..."
rm -rf "$work"
lf_prepare "$work" || exit 1
[ -n "${DEMO_KEEP:-}" ] && FV_PORTAL_TIMEOUT=0

say "1. The portal" "livefix-portal init + serve: SQLite in $work/portal, TLS 1.3, online keys."
fv_portal_start "$work" || { echo "demo: the portal did not start" >&2; exit 1; }
echo "    listening on $FV_BASE"

say "2. The build host" "A kernel fix (lp_cmdline_l1.ko, level 1, CVE-2026-0001) becomes a bundle" \
	"for exactly this kernel build ($KERNEL_RELEASE), signed with the offline" \
	"targets key, added to the repository and published to the feed 'production'."
fv_repo "$work" || { echo "demo: publishing failed" >&2; exit 1; }
fv_api GET /api/v1/feeds/production/bundles | fv_js '"\n".join("    bundle %s level %d for build-id %s" % (b["bundle_id"], b["level"], b["target"]) for b in d)'

say "3. The rollout" "The operator offers the fix to the group 'default': here the whole group" \
	"at once (canary_percent 0); a device applies only what its rollout offers."
fv_api POST /api/v1/rollouts "{\"bundle\":\"$FV_B1\",\"feed\":\"production\",\"group\":\"default\",\"canary_percent\":0}" |
	fv_js '"    rollout %d: %s, stage %s" % (d["id"], d["state"], d["stage"])'

say "4. A device" "A VM boots the same kernel with the agent inside; its console follows."
fv_initramfs "$work" "$top/tests/fleet/vm-demo.sh" "$work/demo.cpio" "$(fv_enrol_key default)" || exit 1
lf_boot_interactive "$work/demo.cpio" "$work/results.txt" 180
status=$(tr -d '\r' <"$work/results.txt" 2>/dev/null | sed -n 's/^DEMO: //p' | head -n1)

say "5. The fleet, as the portal reports it" "GET /api/v1/reports/fleet:"
fv_api GET /api/v1/reports/fleet | pretty
echo "    GET /api/v1/devices/<id> (the VM):"
fv_device demo-device | fv_js '"    %s: kernel %s level %s, CVEs fixed: %s, open: %s" % (d["hostname"], d["kernel_release"], d["kernel_level"], [c.get("cve", c.get("id")) for c in d["fixed_cves"]], [c.get("cve", c.get("id")) for c in d["open_cves"]])'

say "Explore the API" "URL:         $FV_BASE   (docs/api.yaml)" \
	"CA file:     $FV_DATA/tls/cert.pem" \
	"admin token: $FV_ADMIN" \
	"e.g. curl --cacert $FV_DATA/tls/cert.pem -H \"Authorization: Bearer $FV_ADMIN\" $FV_BASE/api/v1/devices"
if [ "$status" != ok ]; then
	echo "demo: the device did not finish as expected (${status:-no result})" >&2
	exit 1
fi
if [ -n "${DEMO_KEEP:-}" ]; then
	echo
	echo "demo: the portal keeps running (DEMO_KEEP=1); Ctrl-C stops it."
	wait "$FV_PID"
else
	echo
	echo "demo: stopping the portal (DEMO_KEEP=1 keeps it running)."
fi
exit 0
