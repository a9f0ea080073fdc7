#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Trust end-to-end suite: livefix-build makes keys, bundles and a repository;
# the agent (livefix, and livefix-test with crash points) must accept the
# honest ones and refuse every attack, served from a directory or over HTTP
# on loopback by evil_httpd. For each refusal it checks the exit code, that
# the message names the attack, that nothing was applied and that the state
# directory is byte-for-byte unchanged.
set -u
: "${LIVEFIX_BUILD:?}"
A=$LIVEFIX_BUILD/src/agent/livefix
AT=$LIVEFIX_BUILD/src/agent/livefix-test
LB=$LIVEFIX_BUILD/src/builder/livefix-build
HTTPD=$LIVEFIX_BUILD/tests/trust/evil_httpd
W=$(mktemp -d /tmp/lf-trust.XXXXXX)
HTTPD_PID=
cleanup() {
	[ -n "$HTTPD_PID" ] && kill "$HTTPD_PID" 2>/dev/null && wait "$HTTPD_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
q() { "$@" >/dev/null 2>&1; }

BID=3fa9c2d1e0b1a2b3c4d5e6f708192a3b4c5d6e7f
REL=6.1.0-56-amd64
export LIVEFIX_SYSROOT=$W/sys LIVEFIX_STATE_DIR=$W/state
export LIVEFIX_TEST_KERNEL_LOADER=$W/loader.sh

# ---- fixtures --------------------------------------------------------------
mksys() { # dir arch release build-id(or "") proc-version-text
	mkdir -p "$1/proc/sys/kernel" "$1/sys/kernel"
	echo "$2" >"$1/proc/sys/kernel/arch"
	echo "$3" >"$1/proc/sys/kernel/osrelease"
	echo "$5" >"$1/proc/version"
	if [ -n "$4" ]; then
		python3 -c "import struct,sys; b=bytes.fromhex('$4'); sys.stdout.buffer.write(struct.pack('<III',4,len(b),3)+b'GNU\0'+b)" >"$1/sys/kernel/notes"
	fi
}
mksys sys x86_64 $REL $BID "Linux version $REL (debian-kernel@lists.debian.org) #1 SMP"
mkdir -p sys/proc/sys/kernel/random && echo 11111111-1111-4111-8111-111111111111 >sys/proc/sys/kernel/random/boot_id
mksys sys-nonotes x86_64 $REL "" "Linux version $REL (debian-kernel@lists.debian.org) #1 SMP"
PVSHA=$(printf '%s\n' "Linux version $REL (debian-kernel@lists.debian.org) #1 SMP" | sha1sum | cut -c1-40)
cat >loader.sh <<EOF
#!/bin/sh
echo "load \$(sha256sum <"\$1" | cut -c1-64)" >>$W/loaded.log
EOF
chmod +x loader.sh
head -c 3000 /dev/urandom >livepatch.ko
for r in root root2 targets targets2 snapshot timestamp evil; do
	role=$r; case $r in root2) role=root ;; targets2) role=targets ;; evil) role=targets ;; esac
	q "$LB" keygen --role $role -o $r.key || fail "keygen $r" "exit $?"
done
[ "$(stat -c %a root.key)" = 600 ] && [ -f root.key.pub ] && pass "keygen: private key 0600, public key beside it" ||
	fail "keygen: private key 0600, public key beside it" "mode $(stat -c %a root.key)"

bundle() { # out extra-args...
	local out=$1; shift
	"$LB" bundle --kind kernel --payload livepatch.ko --arch x86_64 --kernel-release $REL \
		--cve CVE-2026-0001:high -o "$out" "$@" >/dev/null
}
bundle p1.lfb --build-id $BID --level 1 --key targets.key
bundle p2.lfb --build-id $BID --level 2 --key targets.key --supersedes kernel-${BID:0:16}-1
bundle punsigned.lfb --build-id $BID --level 1 --unsigned
bundle pwrongrole.lfb --build-id $BID --level 1 --key snapshot.key 2>/dev/null # warns: wrong role
bundle pother.lfb --build-id 77c1000000000000000000000000000000000001 --level 1 --key targets.key
"$LB" bundle --kind kernel --payload livepatch.ko --arch aarch64 --kernel-release $REL \
	--build-id $BID --level 1 --key targets.key -o parch.lfb >/dev/null
bundle prelease.lfb --build-id $BID --level 1 --key targets.key --kernel-release 6.1.0-55-amd64
bundle ppv.lfb --proc-version-sha1 "$PVSHA" --level 1 --key targets.key
bundle ppvother.lfb --proc-version-sha1 "${PVSHA:0:39}0" --level 1 --key targets.key --id other-pv
# Identity read from copies of the device's files instead of typed in.
"$LB" bundle --kind kernel --payload livepatch.ko --arch x86_64 --kernel-release $REL \
	--target-kernel-notes sys/sys/kernel/notes --proc-version sys/proc/version --level 1 \
	--key targets.key -o pnotes.lfb >/dev/null
"$LB" bundle --kind user --payload livepatch.ko --target-elf "$LB" --level 1 --key targets.key \
	-o puser.lfb >/dev/null
# Tampering: one byte of the manifest, one byte of the payload, one byte more.
python3 - <<'EOF'
d = bytearray(open("p1.lfb", "rb").read())
i = d.index(b'"level":1') + 8
t = bytearray(d); t[i] = ord("7"); open("ptampered.lfb", "wb").write(t)
t = bytearray(d); t[-10] ^= 0xff; open("ppayload.lfb", "wb").write(t)
open("ptrailing.lfb", "wb").write(d + b"x")
EOF
[ -s ptampered.lfb ] && [ -s puser.lfb ] && [ -s ppv.lfb ] && pass "bundle: fixtures built" ||
	fail "bundle: fixtures built" "livefix-build bundle failed"

state_sum() { (cd "$LIVEFIX_STATE_DIR" 2>/dev/null && find . -type f ! -name lock -print0 | sort -z |
	xargs -0r sha256sum) | sha256sum | cut -c1-16; }
loaded() { [ -f loaded.log ] && wc -l <loaded.log || echo 0; }
fresh_state() { rm -rf "$LIVEFIX_STATE_DIR"; q "$A" trust init "${1:-repo/root.json}"; }

# refuse NAME RC PATTERN CMD...: exit code, message, nothing applied, state unchanged.
refuse() {
	local name=$1 want=$2 pat=$3; shift 3
	local before after lbefore rc
	before=$(state_sum); lbefore=$(loaded)
	"$@" >out.txt 2>err.txt; rc=$?
	after=$(state_sum)
	if [ $rc != "$want" ]; then fail "$name" "exit $rc, want $want: $(head -c 300 err.txt)"
	elif ! grep -q -- "$pat" err.txt; then fail "$name" "message lacks '$pat': $(head -c 300 err.txt)"
	elif [ "$before" != "$after" ]; then fail "$name" "state directory changed"
	elif [ "$lbefore" != "$(loaded)" ]; then fail "$name" "something was loaded"
	else pass "$name"; fi
}
# accept NAME PATTERN CMD...: exit 0 and stdout matches.
accept() {
	local name=$1 pat=$2 rc; shift 2
	"$@" >out.txt 2>err.txt; rc=$?
	if [ $rc != 0 ]; then fail "$name" "exit $rc: $(head -c 300 err.txt)"
	elif ! grep -q -- "$pat" out.txt; then fail "$name" "output lacks '$pat': $(head -c 300 out.txt)"
	else pass "$name"; fi
}

# ---- repository ------------------------------------------------------------
q "$LB" repo init repo --root-key root.key --targets-key targets.key.pub \
	--snapshot-key snapshot.key.pub --timestamp-key timestamp.key.pub || fail "repo init" "exit $?"
q "$LB" repo add repo --key targets.key p1.lfb || fail "repo add" "exit $?"
SIGN=(--snapshot-key snapshot.key --timestamp-key timestamp.key)
q "$LB" repo sign repo "${SIGN[@]}" || fail "repo sign" "exit $?"
[ -f repo/timestamp.json ] && [ -f repo/targets/production.json ] && pass "repo: init, add, sign" ||
	fail "repo: init, add, sign" "files missing"
refuse "repo add: refuses a bundle the devices would refuse" 3 "do not hold this role" \
	"$LB" repo add repo --key targets.key pwrongrole.lfb
refuse "repo sign: refuses a key without the role" 3 "does not hold the snapshot role" \
	"$LB" repo sign repo --snapshot-key targets.key --timestamp-key timestamp.key

# ---- trust init --------------------------------------------------------------
rm -rf state
python3 - <<'EOF'
import json
d = json.load(open("repo/root.json"))
u = dict(d); u["signatures"] = []
json.dump(u, open("root-unsigned.json", "w"))
t = json.loads(json.dumps(d)); t["signed"]["version"] = 5
json.dump(t, open("root-tampered.json", "w"))
EOF
refuse "trust init: refuses an unsigned root" 3 "unsigned" "$A" trust init root-unsigned.json
refuse "trust init: refuses a tampered root" 3 "bad signature" "$A" trust init root-tampered.json
q "$LB" repo init repo-t2 --root-key root.key --root-key root2.key --root-threshold 2 \
	--targets-key targets.key.pub --snapshot-key snapshot.key.pub --timestamp-key timestamp.key.pub
python3 - <<'EOF'
import json
d = json.load(open("repo-t2/root.json")); d["signatures"] = d["signatures"][:1]
json.dump(d, open("root-under.json", "w"))
EOF
refuse "trust init: refuses a root under its own threshold" 3 "threshold is 2" "$A" trust init root-under.json
q "$LB" repo init repo-exp --root-key root.key --targets-key targets.key.pub \
	--snapshot-key snapshot.key.pub --timestamp-key timestamp.key.pub --expires -1h
refuse "trust init: refuses an expired root" 3 "expired" "$A" trust init repo-exp/root.json
accept "trust init: pins a valid root" "pinned root" "$A" trust init repo/root.json
refuse "trust init: will not silently replace a pinned root" 1 "already pinned" "$A" trust init repo-t2/root.json

# ---- apply from a file -----------------------------------------------------
accept "apply file: valid bundle (dry run)" "would-apply: kernel patch" "$A" apply --dry-run p1.lfb
refuse "apply file: unsigned bundle" 3 "unsigned" "$A" apply --dry-run punsigned.lfb
refuse "apply file: tampered manifest" 3 "bad signature" "$A" apply --dry-run ptampered.lfb
refuse "apply file: payload hash mismatch" 3 "sha256 mismatch" "$A" apply --dry-run ppayload.lfb
refuse "apply file: data after the declared end" 3 "header declares" "$A" apply --dry-run ptrailing.lfb
refuse "apply file: bundle signed by a key of the wrong role" 3 "do not hold this role" "$A" apply --dry-run pwrongrole.lfb
refuse "apply file: bundle for another kernel build" 4 "bundle is for build-id 77c1" "$A" apply --dry-run pother.lfb
refuse "apply file: bundle for another arch" 4 "bundle is for arch aarch64" "$A" apply --dry-run parch.lfb
refuse "apply file: bundle for another kernel release" 4 "bundle is for release 6.1.0-55" "$A" apply --dry-run prelease.lfb
refuse "apply file: userspace bundle whose payload is no patch object" 4 "payload is not a patch object" "$A" apply puser.lfb
accept "apply file: /proc/version fallback without notes" "would-apply" "$A" apply --dry-run --sysroot sys-nonotes ppv.lfb
accept "bundle: identity from --target-kernel-notes and --proc-version" "would-apply" "$A" apply --dry-run pnotes.lfb
accept "bundle: ... and its /proc/version hash alone" "would-apply" "$A" apply --dry-run --sysroot sys-nonotes pnotes.lfb
refuse "apply file: /proc/version of another build" 4 "/proc/version sha1" \
	env LIVEFIX_SYSROOT=$W/sys-nonotes "$A" apply --dry-run ppvother.lfb
refuse "apply file: nothing to compare the build-id with" 4 "no build-id or /proc/version" \
	env LIVEFIX_SYSROOT=$W/sys-nonotes "$A" apply --dry-run pother.lfb
rm -rf state-k
refuse "apply file: no root pinned and no key" 3 "no trusted root" "$A" apply --dry-run --state-dir state-k p1.lfb
accept "apply file: with a trusted targets key (--key)" "would-apply" "$A" apply --dry-run --state-dir state-k --key targets.key.pub p1.lfb
refuse "apply file: --key of another role" 3 "do not hold this role" "$A" apply --dry-run --state-dir state-k --key evil.key.pub p1.lfb
flock state/lock sleep 3 & sleep 0.5
refuse "apply: one command at a time (state lock)" 5 "another livefix command" "$A" apply --dry-run p1.lfb
wait
printf '#!/bin/sh\nexit 5\n' >failing-loader.sh; chmod +x failing-loader.sh
refuse "apply file: a failing loader's exit code, nothing recorded" 5 "kernel loader failed" \
	env LIVEFIX_TEST_KERNEL_LOADER=$W/failing-loader.sh "$AT" apply p1.lfb

# ---- apply from a repository directory ---------------------------------------
fresh_state
accept "apply --repo DIR: valid repository (dry run)" "would-apply: kernel patch" "$A" apply --dry-run --repo repo
accept "apply --repo DIR: trusted versions kept" "timestamp 1, snapshot 1, targets 1" "$A" trust status
cp repo/targets/production.json targets-v1.json; cp repo/snapshot.json snapshot-v1.json
cp repo/timestamp.json timestamp-v1.json
q "$LB" repo add repo --key targets.key p2.lfb && q "$LB" repo sign repo "${SIGN[@]}"
accept "apply --repo DIR: applies the newest level" "applied: kernel patch kernel-${BID:0:16}-2 level 2" \
	"$AT" apply --repo repo
[ "$(loaded)" = 1 ] && grep -q "\"level\": 2" state/applied.json && pass "apply --repo DIR: loader called once, level 2 recorded" ||
	fail "apply --repo DIR: loader called once, level 2 recorded" "loaded $(loaded)"
accept "apply --repo DIR: nothing new, nothing loaded" "up-to-date" "$AT" apply --repo repo
[ "$(loaded)" = 1 ] && pass "apply --repo DIR: up to date does not reload" || fail "apply --repo DIR: up to date does not reload" "loaded $(loaded)"
refuse "apply file: downgrade below the applied level" 3 "downgrade" "$AT" apply p1.lfb


# ---- attacks on the metadata (repository directory) ---------------------------
# repo-v2: timestamp 2, snapshot 2, targets 2 (p1, p2). The device trusts it,
# then r, a copy with one attack applied, is offered.
cp -a repo repo-v2
trust_v2() { fresh_state; q "$A" apply --dry-run --repo repo-v2; }
mkr() { rm -rf r; cp -a repo-v2 r; }

trust_v2; mkr; cp timestamp-v1.json r/timestamp.json
refuse "rollback: older timestamp" 3 "timestamp version 1 is older than trusted version 2 (rollback attack)" "$A" apply --dry-run --repo r
trust_v2; mkr; cp snapshot-v1.json r/snapshot.json; q "$LB" repo sign r --timestamp-only --timestamp-key timestamp.key
refuse "rollback: older snapshot" 3 "names snapshot version 1, older than trusted 2 (rollback attack)" "$A" apply --dry-run --repo r
trust_v2; mkr; cp targets-v1.json r/targets/production.json; q "$LB" repo sign r "${SIGN[@]}"
refuse "rollback: older targets, re-signed with the online keys" 3 "targets/production.json version 1 is older than trusted 2 (rollback attack)" "$A" apply --dry-run --repo r

fresh_state; mkr; cp targets-v1.json r/targets/production.json; cp targets-v1.json r/targets/production/2.json
refuse "mix-and-match: targets not the one snapshot names" 3 "does not match the one snapshot declares" "$A" apply --dry-run --repo r
fresh_state; mkr; cp snapshot-v1.json r/snapshot.json; cp snapshot-v1.json r/2.snapshot.json
refuse "mix-and-match: snapshot not the one timestamp names" 3 "does not match the one timestamp declares" "$A" apply --dry-run --repo r

# Consistent snapshots: the repository is re-signed between the client's
# fetch of timestamp.json and of the snapshot it names.
trust_v2; mkr; q "$LB" repo sign r "${SIGN[@]}"; cp r/timestamp.json ts3.json
q "$LB" repo sign r "${SIGN[@]}"; cp ts3.json r/timestamp.json
accept "consistent snapshot: repository updated during a client's update" "would-apply" "$A" apply --dry-run --repo r
trust_v2; mkr; q "$LB" repo sign r --timestamp-only --timestamp-key timestamp.key --timestamp-expires -1m
refuse "freeze: expired timestamp" 3 "timestamp version 3 expired" "$A" apply --dry-run --repo r
trust_v2; mkr; q "$LB" repo sign r "${SIGN[@]}" --snapshot-expires -1m
refuse "freeze: expired snapshot" 3 "snapshot version 3 expired" "$A" apply --dry-run --repo r
trust_v2; mkr; q "$LB" repo add r --key targets.key --expires -1m p2.lfb; q "$LB" repo sign r "${SIGN[@]}"
refuse "freeze: expired targets" 3 "targets version 3 expired" "$A" apply --dry-run --repo r
trust_v2; mkr; q "$LB" repo rotate-root r --root-key root.key --expires -1m
refuse "freeze: expired root" 3 "root version 2 expired" "$A" apply --dry-run --repo r

fresh_state; mkr; q "$LB" repo sign r --snapshot-key targets.key --timestamp-key timestamp.key --unchecked
refuse "wrong role: snapshot signed by the targets key" 3 "snapshot: 0 valid signature(s).*do not hold this role" "$A" apply --dry-run --repo r
fresh_state; mkr; q "$LB" repo sign r --timestamp-only --timestamp-key snapshot.key --unchecked
refuse "wrong role: timestamp signed by the snapshot key" 3 "timestamp: 0 valid signature(s).*do not hold this role" "$A" apply --dry-run --repo r
q "$LB" repo init repo-th --root-key root.key --targets-key targets.key.pub --targets-key targets2.key.pub \
	--targets-threshold 2 --snapshot-key snapshot.key.pub --timestamp-key timestamp.key.pub
q "$LB" repo add repo-th --key targets.key --unchecked p1.lfb; q "$LB" repo sign repo-th "${SIGN[@]}"
fresh_state repo-th/root.json
refuse "threshold: targets signed by 1 of 2 required keys" 3 "targets: 1 valid signature(s) of the trusted keys, threshold is 2" "$A" apply --dry-run --repo repo-th
bundle p1both.lfb --build-id $BID --level 2 --key targets.key --key targets2.key
q "$LB" repo add repo-th --key targets.key --key targets2.key --unchecked p1both.lfb; q "$LB" repo sign repo-th "${SIGN[@]}"
accept "threshold: targets signed by 2 of 2 keys" "would-apply" "$A" apply --dry-run --repo repo-th
refuse "threshold: bundle signed by 1 of 2 targets keys" 3 "bundle manifest: 1 valid signature(s) of the trusted keys, threshold is 2" "$A" apply --dry-run p1.lfb

# A stolen portal: the attacker holds the snapshot and timestamp keys.
bundle pevil.lfb --build-id $BID --level 9 --key evil.key --id evil
trust_v2; mkr; q "$LB" repo add r --key snapshot.key --unchecked pevil.lfb; q "$LB" repo sign r "${SIGN[@]}"
refuse "stolen online keys: targets signed with the snapshot key" 3 "targets: 0 valid signature(s).*do not hold this role" "$A" apply --dry-run --repo r
trust_v2; mkr; q "$LB" repo add r --key targets.key --unchecked pevil.lfb 2>/dev/null
python3 - <<'EOF'
import json
# Re-list the evil bundle under a targets file the attacker cannot sign:
# keep the real signatures, change the body (evil bundle replaces level 2).
d = json.load(open("repo-v2/targets/production.json"))
e = json.load(open("r/targets/production.json"))
d["signed"]["targets"] = e["signed"]["targets"]
json.dump(d, open("r/targets/production.json", "w"))
json.dump(d, open("r/targets/production/2.json", "w"))
EOF
q "$LB" repo sign r "${SIGN[@]}"
refuse "stolen online keys: edited targets keep old signatures" 3 "targets: bad signature" "$A" apply --dry-run --repo r
trust_v2; mkr; cp pevil.lfb "r/$(cd repo-v2 && ls bundles/*.lfb | while read -r f; do grep -q "\"level\":2" "$f" && echo "$f"; done | head -1)"
refuse "stolen online keys: bundle file swapped" 3 "does not match the one targets declares" "$A" apply --dry-run --repo r
fresh_state; mkr; q "$LB" repo add r --feed testing --key targets.key p1.lfb
cp r/targets/testing.json r/targets/production.json; mkdir -p r/targets/production
cp r/targets/testing.json r/targets/production/1.json; q "$LB" repo sign r "${SIGN[@]}"
refuse "stolen online keys: another feed's targets served as production" 3 "feed 'testing' is not version .* of feed 'production'" "$A" apply --dry-run --repo r
fresh_state; mkr
refuse "feeds: a feed the repository does not have" 1 "feed 'testing' is not in the repository" "$A" apply --dry-run --repo r --feed testing
trust_v2
accept "trust status --json" '"targets": 2' "$A" trust status --json

# Root rotation.
trust_v2; mkr; q "$LB" repo rotate-root r --root-key root.key --new-root-key root2.key
accept "root rotation: chain signed by old and new keys" "would-apply" "$A" apply --dry-run --repo r
accept "root rotation: the new root is trusted" "root 2," "$A" trust status
q "$LB" repo rotate-root r --root-key root2.key --targets-key targets2.key.pub
bundle p3.lfb --build-id $BID --level 3 --key targets2.key
q "$LB" repo add r --key targets2.key p3.lfb; q "$LB" repo sign r "${SIGN[@]}"
rm -rf r-old; cp -a r r-old; cp repo-v2/targets/production.json r-old/targets/
q "$LB" repo sign r-old "${SIGN[@]}"
refuse "root rotation: trusted targets signed by the rotated-out key are not reused" 3 \
	"targets: 0 valid signature" "$A" apply --dry-run --repo r-old
accept "root rotation: second rotation, new targets key" "would-apply: kernel patch kernel-${BID:0:16}-3" "$A" apply --dry-run --repo r
accept "root rotation: root 3 trusted" "root 3," "$A" trust status
refuse "root rotation: bundle signed by the rotated-out targets key" 3 "do not hold this role" "$A" apply --dry-run p2.lfb
trust_v2; mkr; q "$LB" repo rotate-root r --root-key evil.key --new-root-key evil.key
refuse "root rotation: new root not signed by the previous root" 3 "by the previous root's keys" "$A" apply --dry-run --repo r
trust_v2; mkr; q "$LB" repo rotate-root r --root-key root.key --new-root-key root2.key
python3 - <<'EOF'
import json
d = json.load(open("r/2.root.json"))
keep = d["signed"]["roles"]["root"]["keyids"][0]
d["signatures"] = [s for s in d["signatures"] if s["keyid"] != keep]
json.dump(d, open("r/2.root.json", "w"))
EOF
refuse "root rotation: new root not signed by its own keys" 3 "by its own keys" "$A" apply --dry-run --repo r

# ---- over HTTP, from a hostile server ------------------------------------------
rm -rf srv; cp -a repo-v2 srv; : >ctl
q "$LB" repo rotate-root srv --root-key root.key --new-root-key root2.key
"$HTTPD" "$W/srv" port ctl 600 2>httpd.log &
HTTPD_PID=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat port)
evil() { echo "$1" >ctl; }
fresh_state
accept "http: valid repository" "would-apply" "$A" apply --dry-run --repo "$URL"
accept "http: applies over HTTP" '"status": "applied"' "$AT" apply --json --repo "$URL/"
"$AT" apply --json --repo "$URL" >out.txt 2>&1
bytes=$(python3 -c "import json; print(json.load(open('out.txt'))['bytes_transferred'])" 2>/dev/null)
if grep -q up-to-date out.txt && [ -n "$bytes" ] && [ "$bytes" -le 1024 ]; then
	pass "http: a check that finds nothing new costs $bytes bytes (<= 1024)"
else fail "http: a check that finds nothing new costs <= 1024 bytes" "$(head -c 200 out.txt)"; fi

timed_refuse() { # name rc pattern max-seconds cmd...
	local name=$1 rc=$2 pat=$3 max=$4 t0; shift 4
	t0=$(date +%s)
	refuse "$name" "$rc" "$pat" "$@"
	[ $(($(date +%s) - t0)) -le "$max" ] || fail "$name: bounded time" "took $(($(date +%s) - t0)) s"
}
fresh_state; evil "endless timestamp.json"
timed_refuse "endless data: timestamp (unknown length, capped)" 3 "longer than the maximum 16384 bytes, download stopped (endless data attack)" 20 "$A" apply --dry-run --repo "$URL"
fresh_state; evil "endless snapshot.json"
timed_refuse "endless data: snapshot" 3 "longer than the declared .* bytes, download stopped (endless data attack)" 20 "$A" apply --dry-run --repo "$URL"
fresh_state; evil "endless targets/"
timed_refuse "endless data: targets" 3 "endless data attack" 20 "$A" apply --dry-run --repo "$URL"
fresh_state; evil "endless bundles/"
timed_refuse "endless data: bundle" 3 "endless data attack" 20 "$A" apply --dry-run --repo "$URL"
fresh_state; evil "endless 2.root.json"
timed_refuse "endless data: root (unknown length, capped)" 3 "longer than the maximum 65536 bytes" 20 "$A" apply --dry-run --repo "$URL"
fresh_state; evil "trickle timestamp.json"
timed_refuse "slow retrieval: timestamp" 5 "slow retrieval attack" 20 "$A" apply --dry-run --repo "$URL" --min-rate 1000 --slow-timeout 2
fresh_state; evil "trickle bundles/"
timed_refuse "slow retrieval: bundle" 5 "slow retrieval attack" 20 "$A" apply --dry-run --repo "$URL" --min-rate 1000 --slow-timeout 2
fresh_state; evil "wrong snapshot.json"
refuse "wrong content: snapshot" 3 "does not match the one timestamp declares" "$A" apply --dry-run --repo "$URL"
fresh_state; evil "wrong bundles/"
refuse "wrong content: bundle" 3 "does not match the one targets declares" "$A" apply --dry-run --repo "$URL"
fresh_state; evil "wrong timestamp.json"
refuse "wrong content: timestamp" 3 "timestamp" "$A" apply --dry-run --repo "$URL"
fresh_state; evil "missing timestamp.json"
refuse "missing timestamp" 1 "timestamp.json: not found" "$A" apply --dry-run --repo "$URL"
evil ""

# ---- livefix boot: re-apply the cached level after a reboot, offline ---------
reboot() { echo "$1" >sys/proc/sys/kernel/random/boot_id; }
fresh_state; rm -f loaded.log; reboot 11111111-1111-4111-8111-111111111111
accept "boot: nothing recorded, nothing to do" "no kernel patch to re-apply" "$AT" boot
q "$AT" apply p1.lfb
accept "boot: same boot, already applied" "already applied in this boot" "$AT" boot
[ "$(loaded)" = 1 ] && pass "boot: same boot loads nothing" || fail "boot: same boot loads nothing" "loaded $(loaded)"
reboot 22222222-2222-4222-8222-222222222222
accept "boot: after a reboot the cached level is re-applied" "re-applied kernel patch" "$AT" boot
[ "$(loaded)" = 2 ] && [ "$(sort -u loaded.log | wc -l)" = 1 ] && pass "boot: the same module was loaded again" ||
	fail "boot: the same module was loaded again" "loaded $(loaded): $(cat loaded.log)"
accept "boot: ... and only once per boot" "already applied in this boot" "$AT" boot
reboot 33333333-3333-4333-8333-333333333333
accept "apply: a record from an earlier boot is not up-to-date" "applied: kernel patch" "$AT" apply p1.lfb
reboot 44444444-4444-4444-8444-444444444444
cached=$(ls state/bundles/*.lfb | head -n1)
cp "$cached" cached.bak
python3 -c "import sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[-5]^=1; open(p,'wb').write(d)" "$cached"
refuse "boot: a damaged cache is refused" 3 "is damaged" "$AT" boot
cp cached.bak "$cached"
mksys sys-upgraded x86_64 6.1.0-57-amd64 77c1000000000000000000000000000000000002 "Linux version 6.1.0-57-amd64 #1 SMP"
mkdir -p sys-upgraded/proc/sys/kernel/random && echo 55555555-5555-4555-8555-555555555555 >sys-upgraded/proc/sys/kernel/random/boot_id
before=$(loaded)
accept "boot: an upgraded kernel is left alone" "not re-applied" "$AT" boot --sysroot sys-upgraded
[ "$(loaded)" = "$before" ] && pass "boot: ... and nothing loaded" || fail "boot: ... and nothing loaded" "loaded $(loaded)"
rm -rf state-k; mkdir -p state-k
q env LIVEFIX_STATE_DIR=$W/state-k "$AT" apply --key targets.key.pub p1.lfb
reboot 66666666-6666-4666-8666-666666666666
refuse "boot: without a pinned root the key is needed" 3 "no trusted root" env LIVEFIX_STATE_DIR=$W/state-k "$AT" boot
accept "boot: ... and --key verifies the cache" "re-applied kernel patch" env LIVEFIX_STATE_DIR=$W/state-k "$AT" boot --key targets.key.pub
reboot 11111111-1111-4111-8111-111111111111

# ---- power cuts: SIGKILL at every step of apply --repo, then run again -------
for step in commit-root verified-metadata commit-targets commit-snapshot commit-timestamp \
	before-load after-load cache-bundle after-record; do
	name="power cut at $step"
	fresh_state; rm -f loaded.log
	{ LIVEFIX_TEST_CRASH_AT=$step "$AT" apply --repo "$URL" >out.txt 2>err.txt; rc=$?; } 2>/dev/null
	if [ $rc != 137 ]; then fail "$name" "not killed (exit $rc): $(head -c 200 err.txt)"; continue; fi
	if ! q "$A" trust status; then fail "$name" "state unreadable after the cut"; continue; fi
	if [ -f state/applied.json ] && [ "$(loaded)" = 0 ]; then fail "$name" "recorded but not loaded"; continue; fi
	if "$AT" apply --repo "$URL" >out.txt 2>err.txt &&
	   "$A" trust status | grep -q "root 2, timestamp 2, snapshot 2, targets 2" &&
	   "$A" trust status | grep -q "level 2" && [ "$(loaded)" -ge 1 ]; then
		case $step in after-load|cache-bundle|after-record) pass "$name" ;;
		*) [ "$(loaded)" = 1 ] && pass "$name" || fail "$name" "loaded $(loaded) times" ;; esac
	else
		fail "$name" "rerun: $(head -c 200 err.txt) $(head -c 200 out.txt)"
	fi
done
