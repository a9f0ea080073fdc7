# SPDX-License-Identifier: Apache-2.0
# Host side of the arm64 fleet case, sourced by run.sh after the test
# programs are built (in $W/t): a livefix-portal on SQLite at
# https://127.0.0.1:PORT (10.0.2.2:PORT from the guest), a build host's
# repository signed with offline root and targets keys holding a userspace
# bundle for the aarch64 target-pie, published and rolled out to the
# default group; the VM's configuration (portal URL, enrolment key, the
# portal's certificate, the pinned root), libcurl with the libraries it
# needs and the virtio network modules go into the initramfs. While the VM
# runs, the host watches the portal, withdraws the bundle, and checks the
# portal's view of the device after. Helpers from tests/fleet/vm-lib.sh.
# shellcheck shell=bash

# shellcheck source=tests/fleet/vm-lib.sh
. "$src/tests/fleet/vm-lib.sh"

AF=$W/fleet

af_check() { # name reason command...: PASS when the command succeeds
	local name=$1 why=$2
	shift 2
	if "$@"; then echo "PASS: fleet/$name"; else echo "FAIL: fleet/$name ($why)"; fi
}

# Portal, offline keys, the bundle published and rolled out; the VM's
# configuration in $AF/cfg. Sets AF_BUNDLE.
af_setup() {
	local d=$AF/build-host cfg=$AF/cfg key
	mkdir -p "$d" "$cfg" || return 1
	FV_PORTAL_TIMEOUT=900 fv_portal_start "$AF" || return 1
	FV_REPO=$d/repo
	(
		set -e
		cd "$d"
		for r in root targets; do "$FV_LB" keygen --role $r -o $r.key >/dev/null; done
		"$FV_LB" bundle --kind user --payload "$W/t/simple-pie.o" --target-elf "$W/t/target-pie" \
			--level 1 --cve CVE-2026-0101:high --key targets.key -o fleet.lfb >/dev/null
		"$FV_LB" repo init repo --root-key root.key --targets-key targets.key.pub \
			--snapshot-key "$FV_DATA/keys/snapshot.key.pub" \
			--timestamp-key "$FV_DATA/keys/timestamp.key.pub" >/dev/null
	) || return 1
	fv_publish "$d/fleet.lfb" || return 1
	AF_BUNDLE=$(fv_bundle_id 1)
	[ -n "$AF_BUNDLE" ] || return 1
	fv_api POST /api/v1/rollouts "{\"bundle\":\"$AF_BUNDLE\",\"feed\":\"production\",\"group\":\"default\",\"canary_percent\":0}" |
		grep -q '"id"' || return 1
	key=$(fv_enrol_key default)
	[ -n "$key" ] || return 1
	echo "https://$FV_HOST_IP:$FV_PORT" >"$cfg/url"
	echo "$key" >"$cfg/enrol-key"
	cp "$FV_DATA/tls/cert.pem" "$cfg/ca.pem"
	cp "$FV_REPO/root.json" "$cfg/root.json"
}

# Into the initramfs root: the configuration, the NIC's modules, and
# libcurl.so.4 with every library in its NEEDED closure, found in the
# sysroot or the cross toolchain's libc (already in the image: skipped).
af_initramfs() { # root
	local root=$1 lib=$1/lib/aarch64-linux-gnu todo so f n=0 copied=0
	mkdir -p "$root/lf/fleet" "$root/lf/net" || return 1
	cp "$AF/cfg/"* "$root/lf/fleet/" && cp "$ARM64_NETMODS/"*.ko "$root/lf/net/" || return 1
	install -m 644 "$A/vm-fleet.sh" "$root/lf/fleet.sh" || return 1
	todo=libcurl.so.4
	while [ -n "$todo" ] && [ $n -lt 200 ]; do
		set -- $todo
		so=$1
		shift
		todo=$*
		n=$((n + 1))
		[ -e "$lib/$so" ] || [ -e "$root/lib/$so" ] && continue
		f=$(find "$ARM64_SYSROOT/lib" "$ARM64_SYSROOT/usr/lib" "$XLIB" -name "$so" 2>/dev/null | head -n1)
		[ -n "$f" ] || { echo "$so (for libcurl): not in $ARM64_SYSROOT or $XLIB"; return 1; }
		cp -L "$f" "$lib/" || return 1
		copied=$((copied + 1))
		todo="$todo $(aarch64-linux-gnu-readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
	done
	[ -z "$todo" ] || { echo "libcurl's NEEDED closure did not end"; return 1; }
	echo "fleet: libcurl.so.4 and what it needs: $copied libraries copied" >&2
}

# While the VM runs: wait for it to say it is patched, check the portal's
# view, withdraw the bundle. Returns when the VM has been told (or gave up).
af_watch() { # qemu-pid console
	local q=$1 con=$2 dev id
	for _ in $(seq 480); do
		grep -Eq '^LF-FLEET-(PATCHED|DONE)' "$con" 2>/dev/null && break
		kill -0 "$q" 2>/dev/null || return
		sleep 0.5
	done
	grep -q '^LF-FLEET-PATCHED' "$con" || return	# the VM said why
	dev=$(fv_device armdevice)
	af_check "portal-shows-device-arch-aarch64" "$(echo "$dev" | head -c 300)" \
		[ "$(echo "$dev" | fv_js 'd["arch"], d["hostname"]')" = "('aarch64', 'armdevice')" ]
	id=$(cat "$W/t/target-pie.build-id")
	af_check "portal-device-api-shows-user-patch-level-1" "$(echo "$dev" | fv_js 'd["patches"]')" \
		[ "$(echo "$dev" | fv_js "[(p['level'], p['bundle'], p['state']) for p in d['patches'] if p['kind'] == 'user' and p['target'] == '$id']")" = "[(1, '$AF_BUNDLE', 'applied')]" ]
	af_check "device-list-counts-one-user-patch" "$(fv_api GET /api/v1/devices | head -c 300)" \
		[ "$(fv_api GET /api/v1/devices | fv_js "[x['user_patches'] for x in d if x['hostname'] == 'armdevice']")" = "[1]" ]
	af_check "withdraw-signed-by-targets-key-devices-revert" "withdraw failed" \
		[ "$(fv_withdraw "$AF_BUNDLE" | fv_js 'd["devices_revert"]')" = True ]
}

# After the VM: the portal heard of the revert, and no longer counts the patch.
af_after() { # console
	local dev id
	grep -q '^LF-FLEET-PATCHED' "$1" || return 0
	dev=$(fv_device armdevice)
	id=$(cat "$W/t/target-pie.build-id")
	af_check "portal-records-withdrawal-revert-event" "$(echo "$dev" | fv_js 'd["recent_events"][:3]')" \
		[ "$(echo "$dev" | fv_js "[e['type'] for e in d['recent_events'] if e['bundle'] == '$AF_BUNDLE'][:1]")" = "['reverted']" ]
	af_check "portal-device-api-shows-user-patch-reverted" "$(echo "$dev" | fv_js 'd["patches"]')" \
		[ "$(echo "$dev" | fv_js "[(p['level'], p['state']) for p in d['patches'] if p['kind'] == 'user' and p['target'] == '$id']")" = "[(0, 'reverted')]" ]
	af_check "device-list-counts-no-user-patch" "$(fv_api GET /api/v1/devices | head -c 300)" \
		[ "$(fv_api GET /api/v1/devices | fv_js "[x['user_patches'] for x in d if x['hostname'] == 'armdevice']")" = "[0]" ]
}
