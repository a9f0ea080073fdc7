#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fleet end-to-end: the build host signs root and targets offline with
# livefix-build, the portal holds the online snapshot and timestamp keys it
# created at init and re-signs those roles, and a device (livefix-test with
# the stand-in kernel loader and a fake /proc and /sys, as in tests/trust)
# applies from the portal over HTTPS, trusting the portal's self-signed
# certificate with --ca. Then the attacks: a portal whose online keys were
# replaced, and targets not signed by the offline key. On SQLite, then on a
# throwaway PostgreSQL cluster. Every server it starts is stopped on exit.
set -u
: "${LIVEFIX_BUILD:?}"
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
AT=$LIVEFIX_BUILD/src/agent/livefix-test
LB=$LIVEFIX_BUILD/src/builder/livefix-build
portal=$LIVEFIX_BUILD/src/portal/livefix-portal
cluster=$src/tests/portal/pg_cluster.sh
W=$(mktemp -d /tmp/lf-fleet.XXXXXX)
portal_pid= timer_pid=
pgdir=
cleanup() {
	exec 2>/dev/null
	[ -n "$portal_pid" ] && kill -9 "$portal_pid"
	[ -n "$timer_pid" ] && kill -9 "$timer_pid" && wait "$timer_pid"
	[ -n "$pgdir" ] && "$cluster" stop "$pgdir"
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
q() { "$@" >/dev/null 2>&1; }
for x in "$AT" "$LB" "$portal"; do
	[ -x "$x" ] || { echo "FAIL: fleet (not built: $x)"; exit 1; }
done

BID=3fa9c2d1e0b1a2b3c4d5e6f708192a3b4c5d6e7f
REL=6.1.0-56-amd64
export LIVEFIX_SYSROOT=$W/sys LIVEFIX_TEST_KERNEL_LOADER=$W/loader.sh
mkdir -p sys/proc/sys/kernel/random sys/sys/kernel
echo x86_64 >sys/proc/sys/kernel/arch
echo $REL >sys/proc/sys/kernel/osrelease
echo "Linux version $REL (debian-kernel@lists.debian.org) #1 SMP" >sys/proc/version
echo 11111111-1111-4111-8111-111111111111 >sys/proc/sys/kernel/random/boot_id
python3 -c "import struct,sys; b=bytes.fromhex('$BID'); sys.stdout.buffer.write(struct.pack('<III',4,len(b),3)+b'GNU\0'+b)" >sys/sys/kernel/notes
cat >loader.sh <<EOF
#!/bin/sh
echo "load \$(sha256sum <"\$1" | cut -c1-64)" >>$W/loaded.log
EOF
chmod +x loader.sh
loaded() { [ -f loaded.log ] && wc -l <loaded.log || echo 0; }
head -c 3000 /dev/urandom >livepatch.ko
for r in root targets evil; do
	role=$r; [ $r = evil ] && role=targets
	q "$LB" keygen --role $role -o $r.key || fail "keygen $r" "exit $?"
done
q "$LB" keygen --role snapshot -o attacker-snapshot.key
q "$LB" keygen --role timestamp -o attacker-timestamp.key
bundle() { # out level [options]
	local out=$1 level=$2; shift 2
	"$LB" bundle --kind kernel --payload livepatch.ko --arch x86_64 --kernel-release $REL \
		--build-id $BID --level "$level" --key targets.key -o "$out" "$@" >/dev/null
}
bundle p1.lfb 1
bundle p2.lfb 2 --supersedes kernel-${BID:0:16}-1

# Starts the portal on data dir $D with extra options under a 10-minute kill
# timer; sets base and portal_pid (the portal itself, the timer's child).
start_portal() {
	rm -f "$D/portal.port"
	timeout -s KILL 600 "$portal" serve --data "$D" --listen 127.0.0.1:0 "$@" >>"$D/serve.log" 2>&1 &
	timer_pid=$!
	portal_pid=
	for _ in $(seq 50); do
		portal_pid=$(pgrep -P "$timer_pid" -x livefix-portal) && break
		sleep 0.1
	done
	[ -n "$portal_pid" ] || return 1
	for _ in $(seq 100); do
		if [ -s "$D/portal.port" ]; then
			base=https://127.0.0.1:$(cat "$D/portal.port")
			curl -sf --max-time 5 --cacert "$D/tls/cert.pem" "$base/healthz" >/dev/null && return 0
		fi
		kill -0 "$portal_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$D/serve.log"
	return 1
}
stop_portal() {
	[ -n "$portal_pid" ] && kill -TERM "$portal_pid"
	[ -n "$timer_pid" ] && wait "$timer_pid" 2>/dev/null
	portal_pid= timer_pid=
}
# api METHOD PATH BODY: admin request; the body of the answer on stdout.
api() {
	curl -s --max-time 10 --cacert "$D/tls/cert.pem" -X "$1" -H "Authorization: Bearer $admin" \
		-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$base$2"
}
js() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
keyid() { python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read().strip()).hexdigest())' "$1"; }
# Version of the timestamp the portal serves now.
served_ts_version() {
	curl -s --max-time 5 --cacert "$D/tls/cert.pem" -H "Authorization: Bearer $(cat "$B/device.token")" \
		"$base/repo/production/timestamp.json" | js 'd["signed"]["version"]' 2>/dev/null
}
device_ts_version() { js 'd["signed"]["version"]' <"$B/state/trust/timestamp.json" 2>/dev/null; }
# dev NAME WANT-RC PATTERN [apply options...]: one apply from the portal.
dev() {
	local name=$1 want=$2 pat=$3 rc; shift 3
	LIVEFIX_STATE_DIR=$B/state "$AT" apply --repo "$base/repo/production" \
		--token-file "$B/device.token" "$@" >"$B/out" 2>"$B/err"
	rc=$?
	if [ $rc != "$want" ]; then fail "$P$name" "exit $rc, want $want: $(head -c 300 "$B/err")"
	elif ! grep -q -- "$pat" "$B/out" "$B/err"; then fail "$P$name" "output lacks '$pat': $(cat "$B/out" "$B/err" | head -c 300)"
	else pass "$P$name"; [ -n "${FLEET_DEBUG-}" ] && head -c 400 "$B/err"; return 0; fi
	return 1
}

flow() { # backend [db-url]
	local b=$1 db=${2-} admin base n0 v0 v1 bytes
	P="$b: "
	B=$W/$b D=$W/$b/portal
	mkdir -p "$B"
	admin=$("$portal" init --data "$D" ${db:+--db "$db"} 2>"$B/init.err")
	if grep -q "snapshot $D/keys/snapshot.key.pub $(keyid "$D/keys/snapshot.key.pub")" "$B/init.err" &&
	   grep -q "timestamp $D/keys/timestamp.key.pub $(keyid "$D/keys/timestamp.key.pub")" "$B/init.err" &&
	   [ "$(stat -c %a "$D/keys/snapshot.key")" = 600 ] && [ "${admin:0:4}" = lfa_ ]; then
		pass "${P}init creates the online keys and prints their public keys"
	else
		fail "${P}init creates the online keys and prints their public keys" "$(cat "$B/init.err")"
	fi

	# Build host: offline root and targets keys; the online keys are the portal's.
	q "$LB" repo init "$B/repo" --root-key root.key --targets-key targets.key.pub \
		--snapshot-key "$D/keys/snapshot.key.pub" --timestamp-key "$D/keys/timestamp.key.pub" ||
		fail "${P}repo init" "exit $?"
	q "$LB" repo add "$B/repo" --key targets.key p1.lfb || fail "${P}repo add" "exit $?"
	if "$portal" publish --data "$D" --repo "$B/repo" --feed production >"$B/publish.out" 2>&1; then
		pass "${P}publish the build host's repository (no snapshot/timestamp of its own)"
	else
		fail "${P}publish the build host's repository" "$(cat "$B/publish.out")"
	fi
	start_portal || { fail "${P}portal starts" "see above"; return; }

	# The device enrols for a credential, then pins the offline root.
	local key; key=$(api POST /api/v1/enrolment-keys '{"group":"default"}' | js 'd["enrolment_key"]')
	curl -s --max-time 10 --cacert "$D/tls/cert.pem" -H 'Content-Type: application/json' \
		--data-binary "{\"enrolment_key\":\"$key\",\"hostname\":\"dev1\"}" "$base/api/v1/enrol" |
		js 'd["credential"]' >"$B/device.token"
	LIVEFIX_STATE_DIR=$B/state q "$AT" trust init "$B/repo/root.json" || fail "${P}trust init" "exit $?"

	# The layout the TUF client reads (consistent snapshots: version-numbered names).
	local got; got=$(curl -s --max-time 5 --cacert "$D/tls/cert.pem" -H "Authorization: Bearer $(cat "$B/device.token")" \
		"$base/repo/production/targets/production/1.json" | sha256sum | cut -c1-64)
	[ "$got" = "$(sha256sum <"$B/repo/targets/production.json" | cut -c1-64)" ] &&
		pass "${P}portal serves targets/<feed>/N.json as the build host signed it" ||
		fail "${P}portal serves targets/<feed>/N.json as the build host signed it" "sha256 $got"

	n0=$(loaded)
	dev "apply without --ca: the self-signed certificate is refused" 1 "certificate" && [ "$(loaded)" = "$n0" ] ||
		fail "${P}nothing loaded without --ca" "loaded $(loaded)"
	if dev "apply --repo https://portal --ca cert.pem: patch applied" 0 "applied: kernel patch" --ca "$D/tls/cert.pem" &&
	   [ "$(loaded)" = $((n0 + 1)) ]; then
		pass "${P}stand-in loader called once"
	else
		fail "${P}stand-in loader called once" "loaded $(($(loaded) - n0)) times"
	fi
	LIVEFIX_CA=$D/tls/cert.pem dev "second apply (LIVEFIX_CA): up-to-date" 0 "up-to-date" --json
	bytes=$(js 'd["bytes_transferred"]' <"$B/out" 2>/dev/null)
	[ -n "$bytes" ] && [ "$bytes" -lt 4096 ] && [ "$(loaded)" = $((n0 + 1)) ] &&
		pass "${P}second apply transfers little and loads nothing ($bytes bytes)" ||
		fail "${P}second apply transfers little and loads nothing" "bytes '$bytes', loaded $(loaded)"

	# The timestamp re-signed by the portal on its own (refresh every second).
	stop_portal
	start_portal --refresh-interval 1 --timestamp-expiry 3600 || { fail "${P}portal restarts" "see above"; return; }
	v0=$(device_ts_version)
	for _ in $(seq 50); do
		v1=$(served_ts_version)
		[ -n "$v1" ] && [ "$v1" -gt "${v0:-0}" ] && break
		sleep 0.2
	done
	dev "portal re-signed the timestamp (v$v0 -> v${v1:-?}): device accepts it" 0 "up-to-date" --ca "$D/tls/cert.pem"
	[ "$(device_ts_version)" -gt "${v0:-0}" ] && [ "$(loaded)" = $((n0 + 1)) ] &&
		pass "${P}device now trusts the newer timestamp, nothing loaded" ||
		fail "${P}device now trusts the newer timestamp, nothing loaded" "v$(device_ts_version), loaded $(loaded)"

	# A portal whose online keys were replaced by keys root.json does not list.
	stop_portal
	cp "$D/keys/snapshot.key" "$B/snapshot.key.real"; cp "$D/keys/timestamp.key" "$B/timestamp.key.real"
	cp attacker-snapshot.key "$D/keys/snapshot.key"; cp attacker-timestamp.key "$D/keys/timestamp.key"
	start_portal --refresh-interval 1 || { fail "${P}portal restarts" "see above"; return; }
	v0=$(served_ts_version)
	for _ in $(seq 50); do v1=$(served_ts_version); [ -n "$v1" ] && [ "$v1" -gt "${v0:-0}" ] && break; sleep 0.2; done
	n0=$(loaded)
	local sum; sum=$(find "$B/state" -type f | sort | xargs sha256sum | sha256sum)
	dev "online keys replaced by attacker keys: refused (exit 3)" 3 "timestamp: 0 valid signature" --ca "$D/tls/cert.pem"
	[ "$(loaded)" = "$n0" ] && [ "$sum" = "$(find "$B/state" -type f | sort | xargs sha256sum | sha256sum)" ] &&
		pass "${P}refused: nothing loaded, device state unchanged" ||
		fail "${P}refused: nothing loaded, device state unchanged" "loaded $(loaded)"

	# Targets signed by a key that is not the offline targets key, re-signed
	# by the portal's real online keys all the same.
	stop_portal
	cp "$B/snapshot.key.real" "$D/keys/snapshot.key"; cp "$B/timestamp.key.real" "$D/keys/timestamp.key"
	cp -r "$B/repo" "$B/repo-evil"
	q "$LB" repo add "$B/repo-evil" --unchecked --key evil.key p2.lfb
	q "$portal" publish --data "$D" --repo "$B/repo-evil" --feed production || fail "${P}publish evil" "exit $?"
	start_portal || { fail "${P}portal restarts" "see above"; return; }
	dev "targets not signed by the offline key: refused (exit 3)" 3 "targets: 0 valid signature" --ca "$D/tls/cert.pem"
	[ "$(loaded)" = "$n0" ] && pass "${P}refused targets: nothing loaded" ||
		fail "${P}refused targets: nothing loaded" "loaded $(loaded)"

	# And the honest next level, signed offline, goes through.
	q "$LB" repo add "$B/repo" --key targets.key p2.lfb
	q "$portal" publish --data "$D" --repo "$B/repo" --feed production
	dev "honest level 2 after the refusals: applied" 0 "applied: kernel patch" --ca "$D/tls/cert.pem"
	[ "$(loaded)" = $((n0 + 1)) ] && pass "${P}level 2 loaded once" || fail "${P}level 2 loaded once" "loaded $(($(loaded) - n0))"
	stop_portal
}

# A QEMU VM running Debian's kernel as a device: it enrols with a portal on
# the host, applies the rolled-out kernel bundle live, and unloads it when
# the bundle is withdrawn. tests/fleet/vm-lib.sh (host), vm-device.sh (guest).
vm_flow() {
	local work=$W/vm res=$W/vm/results con=$W/vm/console.log qpid dev rc
	P="vm: "
	# shellcheck source=tests/kernel/lib.sh
	. "$src/tests/kernel/lib.sh"
	# shellcheck source=tests/fleet/vm-lib.sh
	. "$src/tests/fleet/vm-lib.sh"
	if ! lf_prepare "$work" >"$W/vm-prepare.log" 2>&1; then
		echo "SKIP: vm: a VM device (no kernel or modules: $(tail -1 "$W/vm-prepare.log"))"
		return
	fi
	fv_portal_start "$work" || { fail "vm: portal for the VM starts" "see above"; return; }
	portal_pid=$FV_PORTAL_PID timer_pid=$FV_PID
	fv_repo "$work" || { fail "vm: kernel bundles published" "livefix-build or publish failed"; return; }
	fv_api POST /api/v1/rollouts "{\"bundle\":\"$FV_B1\",\"feed\":\"production\",\"group\":\"default\",\"canary_percent\":0}" >/dev/null
	fv_initramfs "$work" "$src/tests/fleet/vm-device.sh" "$work/vm.cpio" "$(fv_enrol_key default)" ||
		{ fail "vm: initramfs with the agent and libcurl" "see above"; return; }
	lf_boot "$work/vm.cpio" "$con" "$res" 300 &
	qpid=$!
	for _ in $(seq 600); do grep -q VM-PATCHED "$res" 2>/dev/null && break; kill -0 $qpid 2>/dev/null || break; sleep 0.5; done
	dev=$(fv_device vmdevice)
	check_vm() { if "${@:3}"; then pass "vm: $1"; else fail "vm: $1" "$2"; fi; }
	check_vm "the portal shows the VM patched at kernel level 1, with its real build-id" "$(echo "$dev" | head -c 400)" \
		[ "$(echo "$dev" | fv_js 'd["kernel_level"], d["recent_events"][0]["type"], d["kernel_build_id"] == d["patches"][0]["target"]')" = "(1, 'applied', True)" ]
	rc=$(fv_withdraw "$FV_B1" | fv_js 'd["devices_revert"]')
	check_vm "withdrawing level 1: signed by the targets keys, the portal says devices revert" "$rc" [ "$rc" = True ]
	for _ in $(seq 400); do grep -q VM-DONE "$res" 2>/dev/null && break; kill -0 $qpid 2>/dev/null || break; sleep 0.5; done
	wait $qpid
	tr -d '\r' <"$res" | grep -E '^(PASS|FAIL|SKIP): ' || fail "vm: the VM reported results" "$(tail -20 "$con")"
	grep -q VM-DONE "$res" || { fail "vm: the VM ran to the end" "console: $(tail -c 1500 "$con" | tr '\n' '|')"; cp "$con" "$W/../lf-fleet-vm-console.log" 2>/dev/null; }
	dev=$(fv_device vmdevice)
	check_vm "the portal shows the VM reverted to no patch" "$(echo "$dev" | head -c 400)" \
		[ "$(echo "$dev" | fv_js 'd["kernel_level"], d["recent_events"][0]["type"]')" = "(0, 'reverted')" ]
	fv_portal_stop
	portal_pid= timer_pid=
}

flow sqlite
vm_flow
pgdir=$(mktemp -d /tmp/lfpg.XXXXXX)
if url=$("$cluster" start "$pgdir" 2>/dev/null); then
	flow postgresql "$url"
else
	echo "SKIP: postgresql (pg_cluster.sh start failed)"
fi
exit 0
