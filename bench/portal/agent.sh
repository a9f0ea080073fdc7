#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device agent's footprint against swupdate and rauc from Debian, in the
# same run: stripped binary size, and memory while idle (VmRSS, RssAnon,
# Private_Dirty and Pss) --
#  - livefix daemon enrolled with a portal on loopback (check-in interval
#    10 s), measured 3 s after its fourth check-in; beside it, at the same
#    time, a second device's daemon with LIVEFIX_NO_TRIM=1 (no idle trim);
#  - sleep, a program that only waits, linked with the same libc (no trim);
#  - swupdate waiting for an update over its IPC socket (its daemon mode;
#    a throwaway certificate, as Debian's build insists on signed images);
#  - rauc service on a private D-Bus system bus with a noop bootloader.
# swupdate and rauc and the libraries they need that are not installed are
# fetched with apt-get download and unpacked with dpkg-deb -x into the
# cache; they run from there (LD_LIBRARY_PATH); BENCH_BASELINES=0 skips
# them. Prints figures only. About 40 s.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${LIVEFIX_BUILD:-${BUILD:-$src/build}/main}
[ -x "$build/src/agent/livefix" ] || build=$src/build/main
cache=${LIVEFIX_CACHE:-$build/../cache}
agent=$build/src/agent/livefix
portal=$build/src/portal/livefix-portal
LB=$build/src/builder/livefix-build
W=$(mktemp -d /tmp/lf-agentbench.XXXXXX)
pids=()
cleanup() {
	exec 2>/dev/null
	for p in "${pids[@]}"; do pkill -KILL -P "$p"; kill -KILL "$p"; wait "$p"; done
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null; }
anon() { awk '/^RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null; }
stripped() { strip -o "$W/s.tmp" "$1" 2>/dev/null && stat -c %s "$W/s.tmp"; }
# From smaps_rollup: Pss (shared pages divided among the processes mapping
# them) and Private_Dirty (pages only this process holds and wrote).
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
pdirty() { awk '/^Private_Dirty:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
# Where a process's resident memory is, by mapping (the five largest).
largest() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / {name = $6 ? $6 : "[anon]"; sub(".*/", "", name)}
	/^Rss:/ {rss[name] += $2} END {for (n in rss) if (rss[n]) print rss[n], n}' "/proc/$1/smaps" |
	sort -rn | head -5 | awk '{printf "%s%s %s KB", (NR > 1 ? ", " : ""), $2, $1}'
}
# RSS summed over a program's processes (swupdate forks helpers).
rss_all() { local t=0 p; for p in $(pgrep -f "^$1"); do t=$((t + $(rss "$p"))); done; echo $t; }
anon_all() { local t=0 p; for p in $(pgrep -f "^$1"); do t=$((t + $(anon "$p"))); done; echo $t; }
pss_all() { local t=0 p; for p in $(pgrep -f "^$1"); do t=$((t + $(pss "$p"))); done; echo $t; }
pdirty_all() { local t=0 p; for p in $(pgrep -f "^$1"); do t=$((t + $(pdirty "$p"))); done; echo $t; }
print_agent() {
	local rev
	rev=$(cd "$src" && git describe --always 2>/dev/null)
	echo
	echo "| program | stripped size | idle VmRSS | RssAnon | Private_Dirty | Pss | notes |"
	echo "|---|---|---|---|---|---|---|"
	printf '| livefix %s daemon | %s KB | %s KB | %s KB | %s KB | %s KB | idle trim; peak %s KB; %d idle check-ins over TLS 1.3 |\n' \
		"$rev" $((agent_size / 1024)) "$rss_trim" "$anon_trim" "$pdirty_trim" "$pss_trim" "$hwm_trim" \
		$((${seen[trim]} - 1))
	printf '| livefix %s daemon, LIVEFIX_NO_TRIM=1 | %s KB | %s KB | %s KB | %s KB | %s KB | no trim; peak %s KB; %d idle check-ins |\n' \
		"$rev" $((agent_size / 1024)) "$rss_notrim" "$anon_notrim" "$pdirty_notrim" "$pss_notrim" "$hwm_notrim" \
		$((${seen[notrim]} - 1))
	printf '| sleep (coreutils) | %s KB | %s KB | %s KB | %s KB | %s KB | reference: a program that only waits, same libc, no trim |\n' \
		$(($(stripped "$(command -v sleep)") / 1024)) "$rss_sleep" "$anon_sleep" "$pdirty_sleep" "$pss_sleep"
}

# --- livefix daemon, idle, against a portal -------------------------------
D=$W/portal
admin=$("$portal" init --data "$D" 2>/dev/null)
for r in root targets; do "$LB" keygen --role $r -o $r.key >/dev/null 2>&1; done
"$LB" repo init repo --root-key root.key --targets-key targets.key.pub \
	--snapshot-key "$D/keys/snapshot.key.pub" --timestamp-key "$D/keys/timestamp.key.pub" >/dev/null 2>&1
head -c 3000 /dev/urandom >p.ko
"$LB" bundle --kind kernel --payload p.ko --arch x86_64 --kernel-release 6.1.0-56-amd64 \
	--build-id 3fa9c2d1e0b1a2b3c4d5e6f708192a3b4c5d6e7f --level 1 --key targets.key -o p1.lfb >/dev/null
"$LB" repo add repo --key targets.key p1.lfb >/dev/null 2>&1
"$portal" publish --data "$D" --repo repo --feed production >/dev/null 2>&1
timeout -s KILL 300 "$portal" serve --data "$D" --listen 127.0.0.1:0 --checkin-interval 10 >serve.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$D/portal.port" ] && break; sleep 0.1; done
base=https://127.0.0.1:$(cat "$D/portal.port")
sleep 0.5
key=$(curl -s --max-time 5 --cacert "$D/tls/cert.pem" -H "Authorization: Bearer $admin" \
	-H 'Content-Type: application/json' --data-binary '{"group":"default"}' "$base/api/v1/enrolment-keys" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["enrolment_key"])')
# A device whose kernel the bundle is not for: every check-in stays idle.
S=$W/sys
mkdir -p "$S/proc/sys/kernel/random" "$S/sys/kernel" "$S/etc"
echo x86_64 >"$S/proc/sys/kernel/arch"
echo 6.1.0-99-amd64 >"$S/proc/sys/kernel/osrelease"
echo bench >"$S/proc/sys/kernel/hostname"
echo "Linux version 6.1.0-99-amd64 #1 SMP" >"$S/proc/version"
cat /proc/sys/kernel/random/uuid >"$S/proc/sys/kernel/random/boot_id"
echo "100.0 100.0" >"$S/proc/uptime"
printf 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12"\n' >"$S/etc/os-release"
export LIVEFIX_SYSROOT=$S
# Two devices at once: the daemon as shipped, and one with LIVEFIX_NO_TRIM=1
# (the same binary, without the idle trim) as the baseline.
for v in trim notrim; do
	LIVEFIX_STATE_DIR=$W/state-$v "$agent" register "$base" --enrol-key "$key" --root repo/root.json \
		--ca "$D/tls/cert.pem" >reg.out 2>&1 || { echo "bench: agent: register failed: $(cat reg.out)"; exit 0; }
done
declare -A dpid seen prev at done_
for v in trim notrim; do
	nt=; [ $v = notrim ] && nt=1
	LIVEFIX_STATE_DIR=$W/state-$v LIVEFIX_NO_TRIM=$nt timeout -s KILL 120 "$agent" daemon >daemon-$v.log 2>&1 &
	t=$!
	pids+=($t)
	for _ in $(seq 50); do dpid[$v]=$(pgrep -P "$t" -x livefix) && break; sleep 0.1; done # the agent, not timeout
	seen[$v]=0 prev[$v]= done_[$v]=
done
last() { LIVEFIX_STATE_DIR=$W/state-$1 "$agent" status --json 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin).get("last_checkin", 0))' 2>/dev/null; }
# Each daemon is measured 3 s after its fourth observed check-in: waiting,
# half-way to the next one (interval 10 s).
measure() { # variant
	local p=${dpid[$1]}
	eval "rss_$1=$(rss "$p") hwm_$1=$(hwm "$p") anon_$1=$(anon "$p")"
	eval "pss_$1=$(pss "$p") pdirty_$1=$(pdirty "$p")"
	eval "maps_$1=\$(largest $p)"
}
for _ in $(seq 400); do # at most 80 s
	for v in trim notrim; do
		[ -n "${done_[$v]}" ] && continue
		l=$(last $v)
		if [ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != "${prev[$v]}" ]; then
			seen[$v]=$((${seen[$v]} + 1)) prev[$v]=$l at[$v]=$SECONDS
		fi
		[ "${seen[$v]}" -ge 4 ] && [ $((SECONDS - ${at[$v]})) -ge 3 ] && { measure $v; done_[$v]=1; }
	done
	[ -n "${done_[trim]}" ] && [ -n "${done_[notrim]}" ] && break
	sleep 0.2
done
[ -n "${done_[trim]}" ] && [ -n "${done_[notrim]}" ] ||
	{ echo "bench: agent: the daemons did not check in 4 times: $(tail -2 daemon-trim.log daemon-notrim.log)"; exit 0; }
# A process that only waits, with the same libc and loader, untrimmed: a reference.
sleep 20 &
sp=$!
pids+=($sp)
sleep 1
rss_sleep=$(rss $sp) pss_sleep=$(pss $sp) anon_sleep=$(anon $sp) pdirty_sleep=$(pdirty $sp)
agent_size=$(stripped "$agent")
echo "bench: agent: $((${seen[trim]} - 1)) and $((${seen[notrim]} - 1)) idle check-ins after the first observed (interval 10 s)"
echo "bench: agent: largest resident mappings, trimmed: $maps_trim"
echo "bench: agent: largest resident mappings, LIVEFIX_NO_TRIM=1: $maps_notrim"
echo "bench: agent: idle VmRSS with the trim / without: $((rss_trim * 100 / rss_notrim))%; Pss $((pss_trim * 100 / pss_notrim))%"

if [ "${BENCH_BASELINES:-1}" = 0 ]; then
	print_agent
	exit 0
fi

# --- swupdate and rauc from Debian ----------------------------------------
debs=$cache/debs
mkdir -p "$debs"
fetch() { # package...
	local p
	for p in "$@"; do
		ls "$debs/${p}_"*.deb >/dev/null 2>&1 && continue
		(cd "$debs" && timeout 120 apt-get download "$p" >/dev/null 2>&1) || echo "bench: apt-get download $p failed"
	done
}
fetch swupdate rauc liblua5.3-0 libconfig9 librsync2 libgpiod2 libwebsockets17 liburiparser1 \
	libzck1 libjson-glib-1.0-0 libb2-1
root=$cache/debroot
if [ ! -x "$root/usr/bin/rauc" ] || [ ! -x "$root/usr/bin/swupdate" ]; then
	mkdir -p "$root"
	for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root"; done
fi
export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu
swu=$root/usr/bin/swupdate rauc=$root/usr/bin/rauc
swu_rss=- rauc_rss=- swu_note= rauc_note= swu_anon=- swu_pdirty=- swu_pss=- rauc_anon=- rauc_pdirty=- rauc_pss=-
if [ -x "$swu" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout swu.key -out swu.pem -days 2 -subj /CN=bench >/dev/null 2>&1
	timeout -s KILL 60 "$swu" -l 2 -k swu.pem >swu.log 2>&1 &
	pids+=($!)
	sleep 4
	swu_rss=$(rss_all "$swu") swu_note="$(pgrep -fc "^$swu") processes, summed"
	swu_anon=$(anon_all "$swu") swu_pdirty=$(pdirty_all "$swu") swu_pss=$(pss_all "$swu")
	[ "$swu_rss" = 0 ] && swu_rss=- swu_note="did not stay up: $(tail -1 swu.log)"
fi
if [ -x "$rauc" ] && command -v dbus-daemon >/dev/null; then
	cat >bus.conf <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$W/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow own="*"/><allow send_destination="*"/><allow user="*"/></policy>
</busconfig>
EOF
	cp swu.pem rauc.pem 2>/dev/null || openssl req -x509 -newkey rsa:2048 -nodes -keyout rauc.key -out rauc.pem -days 2 -subj /CN=bench >/dev/null 2>&1
	touch slot0
	printf '[system]\ncompatible=bench\nbootloader=noop\n[keyring]\npath=%s/rauc.pem\n[slot.rootfs.0]\ndevice=%s/slot0\ntype=raw\nbootname=A\n' "$W" "$W" >system.conf
	timeout -s KILL 60 dbus-daemon --config-file=bus.conf --nofork >bus.log 2>&1 &
	pids+=($!)
	sleep 0.5
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$W/bus timeout -s KILL 60 "$rauc" --conf=system.conf service >rauc.log 2>&1 &
	pids+=($!)
	sleep 3
	rauc_rss=$(rss_all "$rauc") rauc_note="rauc service, private system bus"
	rauc_anon=$(anon_all "$rauc") rauc_pdirty=$(pdirty_all "$rauc") rauc_pss=$(pss_all "$rauc")
	[ "$rauc_rss" = 0 ] && rauc_rss=- rauc_note="did not stay up: $(tail -1 rauc.log)"
fi

print_agent
printf '| swupdate (Debian %s) | %s KB | %s KB | %s KB | %s KB | %s KB | %s |\n' \
	"$(dpkg-deb -f "$debs"/swupdate_*.deb Version 2>/dev/null)" $(($(stripped "$swu" || echo 0) / 1024)) \
	"$swu_rss" "$swu_anon" "$swu_pdirty" "$swu_pss" "$swu_note"
printf '| rauc (Debian %s) | %s KB | %s KB | %s KB | %s KB | %s KB | %s |\n' \
	"$(dpkg-deb -f "$debs"/rauc_*.deb Version 2>/dev/null)" $(($(stripped "$rauc" || echo 0) / 1024)) \
	"$rauc_rss" "$rauc_anon" "$rauc_pdirty" "$rauc_pss" "$rauc_note"
exit 0
