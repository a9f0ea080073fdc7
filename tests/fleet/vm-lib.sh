# SPDX-License-Identifier: Apache-2.0
# Host side of a QEMU VM device against a real portal, sourced after
# tests/kernel/lib.sh by tests/fleet/run.sh and scripts/demo.sh:
#   portal on 127.0.0.1:PORT (its certificate also names 10.0.2.2, the host
#   as QEMU's user network shows it to the guest) -> a repository signed with
#   offline keys holding the test livepatch modules as kernel bundles for the
#   cached Debian kernel -> an initramfs with the agent, libcurl and what it
#   links, the portal's CA, the pinned root and an enrolment key -> a boot.
# The guest's NIC is QEMU's default (e1000 on user networking); the payload
# loads e1000.ko from the same kernel package.
# shellcheck shell=bash

FV_LB=$LIVEFIX_BUILD/src/builder/livefix-build
FV_PORTAL=$LIVEFIX_BUILD/src/portal/livefix-portal
FV_HOST_IP=10.0.2.2
FV_PID= FV_PORTAL_PID=

fv_log() { echo "fleet-vm: $*" >&2; }

# A self-signed P-256 certificate for the portal naming both addresses.
fv_cert() { # dir
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=livefix-portal -keyout "$1/key.pem" -out "$1/cert.pem" \
		-addext "subjectAltName=IP:$FV_HOST_IP,IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
}

# Portal API as the admin: fv_api METHOD PATH [BODY [CONTENT-TYPE]]; body on stdout.
fv_api() {
	local args=(-s --max-time 10 --cacert "$FV_DATA/tls/cert.pem" -X "$1"
		-H "Authorization: Bearer $FV_ADMIN")
	[ -n "${3-}" ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
	curl "${args[@]}" "$FV_BASE$2"
}
fv_js() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null; }

# Starts a portal in work/portal (extra init options, e.g. --db URL); sets
# FV_DATA, FV_ADMIN, FV_PORT, FV_BASE, FV_PID (the timeout that runs it) and
# FV_PORTAL_PID (the portal).
fv_portal_start() { # work [init options...]
	local work=$1
	shift
	FV_DATA=$work/portal
	mkdir -p "$work/tls"
	fv_cert "$work/tls" || { fv_log "openssl could not make a certificate"; return 1; }
	FV_ADMIN=$("$FV_PORTAL" init --data "$FV_DATA" --tls-cert "$work/tls/cert.pem" \
		--tls-key "$work/tls/key.pem" "$@" 2>"$work/portal-init.log") ||
		{ cat "$work/portal-init.log" >&2; return 1; }
	# Under a time bound (FV_PORTAL_TIMEOUT seconds, 0: none) so it never outlives a run.
	timeout -s KILL "${FV_PORTAL_TIMEOUT:-900}" "$FV_PORTAL" serve --data "$FV_DATA" --listen 127.0.0.1:0 \
		--checkin-interval 60 >"$work/portal.log" 2>&1 &
	FV_PID=$!
	for _ in $(seq 50); do FV_PORTAL_PID=$(pgrep -P "$FV_PID" -x livefix-portal) && break; sleep 0.1; done
	for _ in $(seq 100); do
		if [ -s "$FV_DATA/portal.port" ]; then
			FV_PORT=$(cat "$FV_DATA/portal.port")
			FV_BASE=https://127.0.0.1:$FV_PORT
			fv_api GET /healthz >/dev/null && return 0
		fi
		sleep 0.1
	done
	cat "$work/portal.log" >&2
	return 1
}

fv_portal_stop() {
	[ -n "$FV_PID" ] || return 0
	# The portal stops cleanly on SIGTERM; then its timeout exits too.
	kill -TERM "${FV_PORTAL_PID:-$FV_PID}" 2>/dev/null
	wait "$FV_PID" 2>/dev/null
	FV_PID= FV_PORTAL_PID=
}

# Offline keys, kernel bundles of lp_cmdline_l1/l2 for the cached kernel
# (identity read from its image), a repository with level 1 published to
# the portal's feed "production"; l2.lfb is left beside the repository.
# Sets FV_REPO and FV_B1 (the level-1 bundle id).
fv_repo() { # work (with modules/ from lf_prepare)
	local work=$1 d=$1/build-host l
	FV_REPO=$d/repo
	rm -rf "$d" && mkdir -p "$d" || return 1
	(
		set -e
		cd "$d"
		for r in root targets; do "$FV_LB" keygen --role $r -o $r.key >/dev/null; done
		for l in 1 2; do
			"$FV_LB" bundle --kind kernel --payload "$work/modules/lp_cmdline_l$l.ko" \
				--target-kernel-image "$KERNEL_VMLINUZ" --level $l \
				--cve CVE-2026-000$l:high --key targets.key -o l$l.lfb >/dev/null
		done
		"$FV_LB" repo init repo --root-key root.key --targets-key targets.key.pub \
			--snapshot-key "$FV_DATA/keys/snapshot.key.pub" \
			--timestamp-key "$FV_DATA/keys/timestamp.key.pub" >/dev/null
	) >&2 || return 1
	fv_publish "$d/l1.lfb" || return 1
	FV_B1=$(fv_bundle_id 1)
}

fv_bundle_id() { # level: the id livefix-build gave it, read from the signed targets
	python3 - "$FV_REPO/targets/production.json" "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["signed"]["targets"]
print([v["custom"]["id"] for v in t.values() if v["custom"]["level"] == int(sys.argv[2])][0])
PY
}

# Adds a bundle to the repository (targets keys) and publishes it with its facts.
fv_publish() { # bundle.lfb
	"$FV_LB" repo add "$FV_REPO" --key "$FV_REPO/../targets.key" "$1" >/dev/null || return 1
	python3 - "$FV_REPO" "$1" <<'PY' || return 1
import hashlib, json, os, sys
repo, lfb = sys.argv[1], sys.argv[2]
sha = hashlib.sha256(open(lfb, "rb").read()).hexdigest()
t = json.load(open(os.path.join(repo, "targets/production.json")))["signed"]["targets"]
c = t["bundles/%s.lfb" % sha]["custom"]
json.dump([{"id": c["id"], "kind": c["kind"], "level": c["level"], "sha256": sha,
            "length": os.path.getsize(lfb), "target": c["target"],
            "cves": [{"id": "CVE-2026-%04d" % c["level"], "severity": "high"}]}],
          open(os.path.join(repo, "bundles.json"), "w"))
PY
	cp "$FV_REPO/targets/production.json" "$FV_REPO/targets.json"
	"$FV_PORTAL" publish --data "$FV_DATA" --repo "$FV_REPO" --feed production >/dev/null 2>&1
}

# Withdraws a bundle: marked by the offline targets keys, uploaded, and
# withdrawn in the portal (which halts its rollouts). The answer on stdout.
fv_withdraw() { # bundle-id
	"$FV_LB" repo withdraw "$FV_REPO" --key "$FV_REPO/../targets.key" "$1" >/dev/null || return 1
	fv_api PUT /api/v1/feeds/production/files/targets.json "@$FV_REPO/targets/production.json" \
		application/octet-stream >/dev/null
	fv_api POST "/api/v1/feeds/production/bundles/$1/withdraw"
}

# The initramfs of a VM device: tests/kernel's image plus libcurl (the agent
# loads it at run time, so ldd of the agent does not list it) and its
# libraries, e1000.ko, and the device's configuration under /lf/fleet.
fv_initramfs() { # work payload out enrol-key
	local work=$1 payload=$2 out=$3 cfg=$1/fleet-cfg lib curl pairs=() kroot
	curl=$(ldconfig -p | sed -n 's/.*libcurl.so.4 (libc6,x86-64) => //p' | head -n1)
	[ -n "$curl" ] || { fv_log "libcurl.so.4 not found (scripts/deps.sh)"; return 1; }
	for lib in "$curl" $(ldd "$curl" | grep -o '/[^ ]*'); do
		pairs+=("$(readlink -f "$lib")=$lib")
	done
	kroot=${KERNEL_VMLINUZ%/boot/*}
	pairs+=("$kroot/lib/modules/$KERNEL_RELEASE/kernel/drivers/net/ethernet/intel/e1000/e1000.ko=/lf/net/e1000.ko")
	rm -rf "$cfg" && mkdir -p "$cfg" || return 1
	echo "https://$FV_HOST_IP:$FV_PORT" >"$cfg/url"
	echo "$4" >"$cfg/enrol-key"
	cp "$FV_DATA/tls/cert.pem" "$cfg/ca.pem"
	cp "$FV_REPO/root.json" "$cfg/root.json"
	for lib in url enrol-key ca.pem root.json; do pairs+=("$cfg/$lib=/lf/fleet/$lib"); done
	pairs+=("$LF_SRC/tests/fleet/vm-device-lib.sh=/lf/fleet/device-lib.sh")
	lf_initramfs "$work" "$payload" "$out" "${pairs[@]}"
}

# A device of the portal's group, enrolled by the VM itself.
fv_enrol_key() { # group
	fv_api POST /api/v1/enrolment-keys "{\"group\":\"$1\"}" | fv_js 'd["enrolment_key"]'
}

# The portal's view of the device with this host name, as JSON on stdout.
fv_device() { # hostname
	local id
	id=$(fv_api GET /api/v1/devices | fv_js "[x['id'] for x in d if x['hostname'] == '$1'][0]")
	[ -n "$id" ] && fv_api GET "/api/v1/devices/$id"
}
