#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Portals talking to portals, and the portal's keys, on loopback:
#  - export from portal A, import into portal B (air gap): refused without a
#    trusted root, refused when tampered, with a foreign root or as a
#    rollback (and then nothing changes on B); accepted, and a device of B
#    applies the bundle A published;
#  - a mirror portal M following A with the TUF client: a new publication on
#    A reaches a device of M;
#  - the serving process's memory does not hold the online keys; the signer
#    process's does (the search works), and it runs under its seccomp filter.
# The device is livefix-test with the stand-in kernel loader and a fake
# /proc and /sys, as in tests/fleet. Run by tests/portal/run.sh.
set -u
: "${LIVEFIX_BUILD:?}"
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
AT=$LIVEFIX_BUILD/src/agent/livefix-test
LB=$LIVEFIX_BUILD/src/builder/livefix-build
portal=$LIVEFIX_BUILD/src/portal/livefix-portal
W=$(mktemp -d /tmp/lf-airgap.XXXXXX)
timers=()
cleanup() {
	exec 2>/dev/null
	for t in "${timers[@]}"; do pkill -KILL -P "$t"; kill -KILL "$t"; wait "$t"; done
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1

pass() { echo "PASS: airgap: $1"; }
fail() { echo "FAIL: airgap: $1 ($2)"; }
q() { "$@" >/dev/null 2>&1; }
check() { # name detail command...
	local name=$1 detail=$2; shift 2
	if "$@"; then pass "$name"; else fail "$name" "$detail"; fi
}
for x in "$AT" "$LB" "$portal"; do
	[ -x "$x" ] || { echo "FAIL: airgap (not built: $x)"; exit 1; }
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
for r in root targets foreign; do
	role=$r; [ $r = foreign ] && role=root
	q "$LB" keygen --role $role -o $r.key || fail "keygen $r" "exit $?"
done
for l in 1 2 3; do
	"$LB" bundle --kind kernel --payload livepatch.ko --arch x86_64 --kernel-release $REL \
		--build-id $BID --level $l --key targets.key -o p$l.lfb \
		$([ $l -gt 1 ] && echo "--supersedes kernel-${BID:0:16}-$((l - 1))") >/dev/null ||
		fail "bundle p$l" "exit $?"
done

# start NAME CMD [options]: a portal on DATA=$W/NAME under a 10-minute kill
# timer; sets base_NAME and pid_NAME.
start() {
	local name=$1 cmd=$2 d=$W/$1 pid= t; shift 2
	rm -f "$d/portal.port"
	timeout -s KILL 600 "$portal" "$cmd" --data "$d" --listen 127.0.0.1:0 "$@" >>"$d/serve.log" 2>&1 &
	t=$!
	timers+=("$t")
	for _ in $(seq 50); do pid=$(pgrep -P "$t" -x livefix-portal) && break; sleep 0.1; done
	for _ in $(seq 100); do
		if [ -n "$pid" ] && [ -s "$d/portal.port" ] &&
		   curl -sf --max-time 5 --cacert "$d/tls/cert.pem" "https://127.0.0.1:$(cat "$d/portal.port")/healthz" >/dev/null; then
			eval "base_$name=https://127.0.0.1:$(cat "$d/portal.port") pid_$name=$pid"
			return 0
		fi
		sleep 0.1
	done
	cat "$d/serve.log"
	return 1
}
# get NAME TOKEN PATH: GET from portal NAME, body on stdout.
get() {
	local b; eval "b=\$base_$1"
	curl -s --max-time 10 --cacert "$W/$1/tls/cert.pem" -H "Authorization: Bearer $2" "$b$3"
}
post() { # NAME TOKEN PATH BODY
	local b; eval "b=\$base_$1"
	curl -s --max-time 10 --cacert "$W/$1/tls/cert.pem" -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "$4" "$b$3"
}
js() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# enrol NAME ADMIN: a device of portal NAME, state in $W/dev-NAME, root pinned.
enrol() {
	local key b dd=$W/dev-$1; eval "b=\$base_$1"
	mkdir -p "$dd"
	key=$(post "$1" "$2" /api/v1/enrolment-keys '{"group":"default"}' | js 'd["enrolment_key"]')
	curl -s --max-time 10 --cacert "$W/$1/tls/cert.pem" -H 'Content-Type: application/json' \
		--data-binary "{\"enrolment_key\":\"$key\",\"hostname\":\"dev-$1\"}" "$b/api/v1/enrol" |
		js 'd["credential"]' >"$dd/token"
	LIVEFIX_STATE_DIR=$dd/state q "$AT" trust init "$W/repo/root.json"
}
# apply NAME: the device of portal NAME applies from it; output in $W/dev-NAME/out.
apply() {
	local b dd=$W/dev-$1; eval "b=\$base_$1"
	LIVEFIX_STATE_DIR=$dd/state "$AT" apply --repo "$b/repo/production" --ca "$W/$1/tls/cert.pem" \
		--token-file "$dd/token" >"$dd/out" 2>&1
}
served_sha() { get "$1" "$2" /repo/production/timestamp.json | sha256sum | cut -c1-64; }

# --- portal A: the build host's repository, published ---------------------
adminA=$("$portal" init --data "$W/A" 2>/dev/null)
adminB=$("$portal" init --data "$W/B" 2>/dev/null)
adminM=$("$portal" init --data "$W/M" 2>/dev/null)
q "$LB" repo init "$W/repo" --root-key root.key --targets-key targets.key.pub \
	--snapshot-key "$W/A/keys/snapshot.key.pub" --timestamp-key "$W/A/keys/timestamp.key.pub" ||
	fail "repo init" "exit $?"
q "$LB" repo add "$W/repo" --key targets.key p1.lfb || fail "repo add p1" "exit $?"
q "$portal" publish --data "$W/A" --repo "$W/repo" --feed production || fail "publish p1 on A" "exit $?"

"$portal" export --data "$W/A" "$W/E1" >export.out 2>&1
check "export writes the served layout of every feed" "$(cat export.out; ls -R "$W/E1" 2>&1 | head -20)" \
	test -f "$W/E1/production/root.json" -a -f "$W/E1/production/timestamp.json" -a \
	-f "$W/E1/production/targets/production.json" -a -f "$W/E1/production/1.root.json" -a \
	-f "$W/E1/production/bundles/$(sha256sum <p1.lfb | cut -c1-64).lfb"
"$portal" export --data "$W/A" "$W/E1" >export2.out 2>&1
check "export refuses an existing directory" "exit $?" grep -q "exists" export2.out

# --- import into B: the refusals first, each leaving B unchanged ----------
imp() { # name want-rc pattern dir [options]
	local name=$1 want=$2 pat=$3 dir=$4 rc; shift 4
	"$portal" import --data "$W/B" "$@" "$dir" >imp.out 2>&1
	rc=$?
	if [ $rc != "$want" ]; then fail "$name" "exit $rc, want $want: $(head -c 400 imp.out)"
	elif ! grep -q -- "$pat" imp.out; then fail "$name" "output lacks '$pat': $(head -c 400 imp.out)"
	else pass "$name"; fi
}
nfiles() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM repo_files").fetchone()[0])' "$W/B/portal.db" 2>/dev/null || echo "?"; }
imp "import without a trusted root is refused" 1 "trusts no root" "$W/E1"
cp -r "$W/E1" "$W/Ebad"
b=$(ls "$W/Ebad/production/bundles/"*.lfb)
python3 -c "import sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[-10]^=1; open(p,'wb').write(d)" "$b"
imp "tampered bundle in an export is refused (exit 3)" 3 "does not match" "$W/Ebad" --root "$W/repo/root.json"
check "nothing half-imported after the refusal" "$(nfiles) files" [ "$(nfiles)" = 0 ]
rm -rf "$W/Ebad"; cp -r "$W/E1" "$W/Ebad"
sed -i 's/"level":1/"level":9/' "$W/Ebad/production/targets/production/1.json" "$W/Ebad/production/targets/production.json"
imp "tampered targets in an export are refused (exit 3)" 3 "refused" "$W/Ebad" --root "$W/repo/root.json"
rm -rf "$W/Ebad"; cp -r "$W/E1" "$W/Ebad"
q "$LB" repo init "$W/foreign" --root-key foreign.key --targets-key targets.key.pub \
	--snapshot-key "$W/A/keys/snapshot.key.pub" --timestamp-key "$W/A/keys/timestamp.key.pub"
cp "$W/foreign/root.json" "$W/Ebad/production/root.json"
imp "export under a foreign root is refused (exit 3)" 3 "foreign root" "$W/Ebad" --root "$W/repo/root.json"
imp "a foreign root given with --root does not verify the export (exit 3)" 3 "refused" "$W/E1" --root "$W/foreign/root.json"
check "still nothing imported" "$(nfiles) files" [ "$(nfiles)" = 0 ]

imp "import verifies from --root and stores every feed" 0 "feed production: imported root v1" "$W/E1" --root "$W/repo/root.json"
imp "importing the same export again: up to date" 0 "up to date" "$W/E1"
start B serve || fail "portal B starts" "see above"
check "B serves A's signed timestamp byte for byte" "" \
	[ "$(get B "$adminB" /repo/production/timestamp.json | sha256sum)" = "$(sha256sum <"$W/E1/production/timestamp.json")" ]
enrol B "$adminB"
n0=$(loaded)
apply B
check "a device of B applies the bundle published on A" "$(head -c 300 "$W/dev-B/out")" \
	grep -q "applied: kernel patch" "$W/dev-B/out"
check "stand-in loader called once" "loaded $(($(loaded) - n0))" [ "$(loaded)" = $((n0 + 1)) ]

# --- the next level, and a rollback to the old export ----------------------
q "$LB" repo add "$W/repo" --key targets.key p2.lfb
q "$portal" publish --data "$W/A" --repo "$W/repo" --feed production
q "$portal" export --data "$W/A" "$W/E2"
imp "a newer export is imported while B serves" 0 "targets v2, 1 new bundle" "$W/E2"
apply B
check "the device of B applies level 2" "$(head -c 300 "$W/dev-B/out")" grep -q "applied: kernel patch" "$W/dev-B/out"
before=$(served_sha B "$adminB")
imp "re-importing the older export is refused as a rollback (exit 3)" 3 "rollback" "$W/E1"
check "B still serves the newer timestamp" "" [ "$(served_sha B "$adminB")" = "$before" ]

# --- B's own timestamp refresh leaves imported feeds alone -----------------
kill -TERM "$pid_B"; sleep 0.5
start B serve --refresh-interval 1 || fail "portal B restarts" "see above"
sleep 2.5
check "B's refresh does not re-sign an imported feed with its own keys" "" \
	[ "$(served_sha B "$adminB")" = "$before" ]

# --- the keys: not in the serving process, in the signer ------------------
start A serve || fail "portal A starts" "see above"
cat >memscan.py <<'EOF'
import json, re, sys
key = json.load(open(sys.argv[2]))["private"]
needles = [bytes.fromhex(key[:64]), key[:64].encode()]
found = 0
with open(f"/proc/{sys.argv[1]}/maps") as maps, open(f"/proc/{sys.argv[1]}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        lo, hi, perms = int(m[1], 16), int(m[2], 16), m[3]
        # Skip unreadable and huge reservations (a sanitizer's shadow memory).
        if perms[0] != "r" or "[vvar]" in line or "[vsyscall]" in line or hi - lo > 1 << 32:
            continue
        tail = b""
        for at in range(lo, hi, 1 << 24):
            try:
                mem.seek(at); data = tail + mem.read(min(1 << 24, hi - at))
            except OSError:
                break
            found += sum(data.count(n) for n in needles)
            tail = data[-63:]
print(found)
EOF
# A signature forces the signer to use its keys (a publish is separate: POST a file).
post A "$adminA" /api/v1/feeds >/dev/null 2>&1 '{}'
curl -s --max-time 10 --cacert "$W/A/tls/cert.pem" -X PUT -H "Authorization: Bearer $adminA" \
	--data-binary @"$W/repo/targets/production.json" "$base_A/api/v1/feeds/production/files/targets.json" >/dev/null
signer=$(pgrep -P "$pid_A" -x livefix-signer)
for role in snapshot timestamp; do
	n=$(python3 memscan.py "$pid_A" "$W/A/keys/$role.key" 2>&1)
	check "the serving process's memory holds no $role key bytes" "found: $n" [ "$n" = 0 ]
	n=$(python3 memscan.py "$signer" "$W/A/keys/$role.key" 2>&1)
	check "the signer process (pid ${signer:-?}) holds the $role key: the search works" "found: $n" \
		[ -n "$signer" ] && [ "$n" -gt 0 ] 2>/dev/null
done
# The signer serves under its seccomp filter (mode 2); A goes on signing below.
sc=$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/${signer:-0}/status" 2>/dev/null)
nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/${signer:-0}/status" 2>/dev/null)
check "the signer process of a serving portal runs under a seccomp filter (Seccomp: 2)" \
	"Seccomp '$sc' NoNewPrivs '$nnp'" [ "$sc" = 2 -a "$nnp" = 1 ]

# --- mirror: M follows A -------------------------------------------------
viewer=$("$portal" token create --data "$W/A" --role viewer 2>/dev/null)
echo "$viewer" >viewer.token
start M mirror --upstream "$base_A" --ca "$W/A/tls/cert.pem" --token-file viewer.token \
	--root "$W/repo/root.json" --interval 1 || fail "mirror M starts" "see above"
tsv() { get "$1" "$2" /repo/production/timestamp.json | js 'd["signed"]["version"]' 2>/dev/null; }
for _ in $(seq 50); do [ "$(served_sha M "$adminM")" = "$(served_sha A "$adminA")" ] && break; sleep 0.2; done
check "mirror serves A's timestamp after its first pass" "M v$(tsv M "$adminM"), A v$(tsv A "$adminA")" \
	[ "$(served_sha M "$adminM")" = "$(served_sha A "$adminA")" ]
enrol M "$adminM"
apply M
check "a device of the mirror applies level 2" "$(head -c 300 "$W/dev-M/out")" grep -q "applied: kernel patch" "$W/dev-M/out"
q "$LB" repo add "$W/repo" --key targets.key p3.lfb
q "$portal" publish --data "$W/A" --repo "$W/repo" --feed production
for _ in $(seq 50); do [ "$(served_sha M "$adminM")" = "$(served_sha A "$adminA")" ] && break; sleep 0.2; done
check "mirror follows a new publication on A" "M v$(tsv M "$adminM"), A v$(tsv A "$adminA")" \
	[ "$(served_sha M "$adminM")" = "$(served_sha A "$adminA")" ]
n0=$(loaded)
apply M
check "the device of the mirror applies level 3, published on A" "$(head -c 300 "$W/dev-M/out")" \
	grep -q "applied: kernel patch" "$W/dev-M/out"
check "the mirror's bundle list has the three bundles" "" \
	[ "$(get M "$adminM" /api/v1/feeds/production/bundles | js 'len(d)')" = 3 ]
exit 0
