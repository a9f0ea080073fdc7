#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Userspace live patching benchmark: the stop-the-world pause of apply and
# revert for targets with 1, 8 and 100 threads (median and max over RUNS of
# each), and the per-call cost of a redirected function against the same
# function unpatched, measured in the same process. Prints figures only.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
L=${LIVEFIX:-$build/main/src/agent/livefix}
B=$top/bench/user-apply
RUNS=${RUNS:-50}
W=$(mktemp -d /tmp/livefix-bench.XXXXXX)
tp=
cleanup() { [ -n "$tp" ] && kill -9 "$tp" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

gcc -O2 -Wl,--build-id -o "$W/target" "$B/target.c" -lpthread
"$top/tests/user/mkpatch.sh" "$W/work.o" "$W/target" bench-work 1 "$B/work.c" "func work work_v2"

start() { # nthreads mode
	"$W/target" "$W/out" "$1" "$2" &
	tp=$!
	for _ in $(seq 200); do grep -q ready "$W/out" 2>/dev/null && return; sleep 0.01; done
	echo "target did not start" >&2
	exit 1
}
stop() { kill -9 "$tp"; wait "$tp" 2>/dev/null || true; tp=; }

stats() { # file with one number per line (ns) -> "median max" in ms
	sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		printf "%.3f %.3f", m / 1e6, v[NR] / 1e6 }'
}
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[0][sys.argv[1]])' "$1"; }

echo "== livefix user: stop-the-world pause, $RUNS applies and $RUNS reverts per target"
printf '%-8s %-22s %-22s %-20s\n' threads "apply median/max ms" "revert median/max ms" "inject median ms"
for n in 1 2 8 100; do
	start "$n" sleep
	: >"$W/apply" >"$W/revert" >"$W/inject"
	for _ in $(seq "$RUNS"); do
		"$L" user apply "$W/work.o" --pid "$tp" --json >"$W/a.json"
		field pause_ns <"$W/a.json" >>"$W/apply"
		field inject_ns <"$W/a.json" >>"$W/inject"
		"$L" user revert bench-work --pid "$tp" --json >"$W/r.json"
		field pause_ns <"$W/r.json" >>"$W/revert"
	done
	read -r am ax <<<"$(stats "$W/apply")"
	read -r rm rx <<<"$(stats "$W/revert")"
	read -r im _ <<<"$(stats "$W/inject")"
	printf '%-8s %-22s %-22s %-20s\n' "$n" "$am / $ax" "$rm / $rx" "$im"
	stop
done

echo "== livefix user: per-call cost of a redirected function (jmp rel32), same process"
start 2 measure
rounds() { # n -> the ns/call of the next n rounds, one per line
	local from
	from=$(wc -l <"$W/out")
	while [ $(($(wc -l <"$W/out") - from)) -lt "$1" ]; do sleep 0.05; done
	tail -n +"$((from + 1))" "$W/out" | head -n "$1"
}
# Alternate three times so that drift on a shared machine hits both sides.
# Other work on the machine only ever adds time, so the low percentiles are
# the truest figures; the median is shown too.
: >"$W/plain" >"$W/patched"
for _ in 1 2 3; do
	rounds 20 >>"$W/plain"
	"$L" user apply "$W/work.o" --pid "$tp" --retries 500 >/dev/null
	rounds 20 >>"$W/patched"
	"$L" user revert bench-work --pid "$tp" --retries 500 >/dev/null
done
pct() { # file -> "min p10 median"
	sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.3f %.3f %.3f", v[1], v[int(NR / 10) + 1], v[int((NR + 1) / 2)] }'
}
read -r bmin b10 bmed <<<"$(pct "$W/plain")"
read -r amin a10 amed <<<"$(pct "$W/patched")"
printf '%-10s %-8s %-8s %-8s (ns/call, 60 rounds of 2^22 calls each)\n' "" min p10 median
printf '%-10s %-8s %-8s %-8s\n' unpatched "$bmin" "$b10" "$bmed" patched "$amin" "$a10" "$amed"
awk -v b="$b10" -v a="$a10" 'BEGIN { printf "overhead at p10 %+.3f ns/call, ratio %.3f\n", a - b, a / b }'
stop
