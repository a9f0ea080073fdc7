#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Verification benchmark: time to verify a bundle and one metadata update
# (medians, with sha256 of the same bytes as the baseline in the same run),
# and the bytes an update check that finds nothing new transfers over HTTP.
# Prints figures; never fails on time.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${LIVEFIX_BUILD:-$top/${BUILD:-build}/main}
LB=$build/src/builder/livefix-build
AT=$build/src/agent/livefix-test
HTTPD=$build/tests/trust/evil_httpd
W=$(mktemp -d /tmp/lf-bench.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"

cc -O2 -std=c17 -D_GNU_SOURCE -I"$top/include" "$top/bench/verify/bench_verify.c" \
	"$build/src/trust/liblf_trust.a" "$build/src/common/liblf_common.a" -lsodium -lelf \
	-o bench_verify

for r in root targets snapshot timestamp; do "$LB" keygen --role $r -o $r.key >/dev/null; done
head -c $((1 << 20)) /dev/urandom >livepatch.ko
BID=3fa9c2d1e0b1a2b3c4d5e6f708192a3b4c5d6e7f
"$LB" bundle --kind kernel --payload livepatch.ko --arch x86_64 --kernel-release 6.1.0-56-amd64 \
	--build-id $BID --level 1 --cve CVE-2026-0001:high --key targets.key -o p1.lfb >/dev/null
"$LB" repo init repo --root-key root.key --targets-key targets.key.pub \
	--snapshot-key snapshot.key.pub --timestamp-key timestamp.key.pub >/dev/null
"$LB" repo add repo --key targets.key p1.lfb >/dev/null
"$LB" repo sign repo --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null

echo "== verification (1 MiB payload, Ed25519 + SHA-256, libsodium)"
./bench_verify p1.lfb targets.key.pub repo/root.json repo/timestamp.json repo/snapshot.json \
	repo/targets/production.json 201

echo "== update check over HTTP (loopback)"
mkdir -p sys/proc/sys/kernel sys/sys/kernel
echo x86_64 >sys/proc/sys/kernel/arch
echo 6.1.0-56-amd64 >sys/proc/sys/kernel/osrelease
echo "Linux version 6.1.0-56-amd64" >sys/proc/version
python3 -c "import struct,sys; b=bytes.fromhex('$BID'); sys.stdout.buffer.write(struct.pack('<III',4,len(b),3)+b'GNU\0'+b)" >sys/sys/kernel/notes
printf '#!/bin/sh\nexit 0\n' >loader.sh && chmod +x loader.sh
: >ctl
"$HTTPD" "$W/repo" port ctl 120 2>/dev/null &
pid=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
export LIVEFIX_STATE_DIR=$W/state LIVEFIX_SYSROOT=$W/sys LIVEFIX_TEST_KERNEL_LOADER=$W/loader.sh
"$build/src/agent/livefix" trust init repo/root.json >/dev/null
bytes() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d['status'], d['bytes_transferred'], d['requests'])"; }
URL=http://127.0.0.1:$(cat port)
set -- $("$AT" apply --json --repo "$URL" | bytes)
echo "first update (applies level 1): $2 bytes in $3 requests ($1)"
set -- $("$AT" apply --json --repo "$URL" | bytes)
echo "check with nothing new: $2 bytes in $3 request(s) ($1; goal <= 1024)"
"$LB" repo sign repo --timestamp-only --timestamp-key timestamp.key >/dev/null
set -- $("$AT" apply --json --repo "$URL" | bytes)
echo "check after a timestamp-only re-sign: $2 bytes in $3 request(s) ($1)"
