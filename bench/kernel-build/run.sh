#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# How long a one-file kernel fix takes to rebuild, verify and turn into a
# livepatch module with `livefix-build kernel`, with a warm build tree (prepared earlier) and a
# cold one (prepared in this run), against the full-rebuild approach
# (`make -j2 vmlinux` of the same tree, as kpatch-build/klp-build do twice).
# Also, warm: a fix to a loadable module and vmlinux at once (isofs-module.patch,
# 3 units, one verified against the shipped isofs.ko).
#
# The full build takes about an hour on 2 cores, so it is opt-in
# (BENCH_FULL=1). Without it, the full build is estimated: units in vmlinux
# (counted from `make -n -k vmlinux`) times the measured wall time per unit of
# a uniform sample of them (every k-th, about 40 units, built at -j2). Prints
# figures; never fails on time.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
build=$(mkdir -p "$build" && cd "$build" && pwd) # absolute: the cold cache links into it
bin=$build/main/src/builder/livefix-build
export LIVEFIX_CACHE=${LIVEFIX_CACHE:-$build/cache}
runs=${BENCH_RUNS:-3}
work=$(mktemp -d /tmp/livefix-bench-kbuild.XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -x "$bin" ] || { echo "bench kernel-build: build first (make)"; exit 0; }
eval "$("$top/tests/kbuild/fetch.sh")" || { echo "bench kernel-build: cannot fetch the kernel"; exit 0; }

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

kernel() { # cache-dir keep-dir [patch functions]
	"$bin" kernel --source-package "$KB_VERSION" --config "$KB_CONFIG" --kernelvariables "$KB_KVARS" \
		--image "$KB_IMAGE" --patch "$top/tests/kbuild/data/${3:-cmdline}.patch" -o "$work/x.ko" \
		--cache "$1" --keep-work "$2" >"$2.out" 2>&1
	[ $? = 0 ] && grep -q ', 0 differ' "$2.out" && grep -q "^module .*: ${4:-1} functions redirected" "$2.out"
}

echo "== kernel-build: $KB_ABI ($KB_VERSION), one-file fix fs/proc/cmdline.c, $(nproc) CPUs"
kernel "$LIVEFIX_CACHE" "$work/prime" || { echo "first run failed:"; tail -5 "$work/prime.out"; exit 0; }

for ((i = 1; i <= runs; i++)); do
	t=$(now); kernel "$LIVEFIX_CACHE" "$work/warm$i" || echo "warm run $i failed"
	since "$t"
done >"$work/warm.times"
warm=$(median <"$work/warm.times")
printf 'warm tree: rebuild orig + verify + rebuild patched + diff + module: median %.1f s of %d runs\n' "$warm" "$runs"
for ((i = 1; i <= runs; i++)); do
	t=$(now); kernel "$LIVEFIX_CACHE" "$work/mod$i" isofs-module 3 || echo "module run $i failed"
	since "$t"
done >"$work/mod.times"
printf 'warm tree, isofs module + vmlinux (3 units, 3 functions): median %.1f s of %d runs\n' \
	"$(median <"$work/mod.times")" "$runs"

# Cold: a fresh O= tree (the source stays unpacked in the shared cache).
cold_cache=$work/cache
mkdir -p "$cold_cache/kbuild"
ln -s "$LIVEFIX_CACHE/kbuild/pkg" "$cold_cache/kbuild/pkg"
ln -s "$LIVEFIX_CACHE/kbuild/src" "$cold_cache/kbuild/src"
t=$(now); kernel "$cold_cache" "$work/cold" || echo "cold run failed"
cold=$(since "$t")
prep=$(grep -o 'prepared ([0-9.]* s)' "$work/cold.out" | grep -o '[0-9.]*')
printf 'cold tree: %.1f s (of which prepare: %s s)\n' "$cold" "${prep:-?}"

tree=$(grep -o '/[^ ]*/kbuild/tree/[0-9a-f]*' "$work/cold.out" | head -1)
# Without a prepared O= tree, make would build in the shared source itself.
if [ -z "$tree" ] || [ ! -d "$tree" ]; then
	echo "full rebuild: not estimated (no prepared tree from the cold run)"
	exit 0
fi
src=$LIVEFIX_CACHE/kbuild/src/$KB_VERSION/linux-source-6.1
if [ "${BENCH_FULL:-0}" = 1 ]; then
	t=$(now)
	# -k: every object is compiled; certs/ (Debian's signing key) and the final link fail.
	make -s -k -C "$src" O="$tree" -j2 vmlinux >"$work/full.log" 2>&1
	full=$(since "$t")
	printf 'full build (make -k -j2 vmlinux, all objects): %.0f s measured\n' "$full"
else
	# -k: Debian's config names signing keys this tree does not have (certs/).
	timeout 600 make -n -k -C "$src" O="$tree" vmlinux 2>/dev/null |
		grep -o ' -c -o [^ ]*\.o' | awk '{print $3}' | sort -u >"$work/units"
	nunits=$(wc -l <"$work/units")
	# A uniform sample (every k-th unit of the sorted list), built at -j2.
	step=$((nunits / ${BENCH_SAMPLE:-40})); ((step < 1)) && step=1
	awk -v s="$step" 'NR % s == 0' "$work/units" >"$work/sample"
	t=$(now)
	timeout 1200 make -s -k -C "$src" O="$tree" -j2 $(cat "$work/sample") >"$work/partial.log" 2>&1
	part=$(since "$t")
	built=$(while read -r u; do [ -f "$tree/$u" ] && echo "$u"; done <"$work/sample" | wc -l)
	((built > 0)) || { echo "sample build produced no objects (see make output above)"; exit 0; }
	per=$(echo "$part / $built" | bc -l)
	full=$(echo "$per * $nunits" | bc -l)
	printf 'sample build (make -j2, every %dth unit of vmlinux): %d units in %.1f s = %.2f s per unit\n' \
		"$step" "$built" "$part" "$per"
	# Without the final links, kallsyms passes and BTF (pahole), which a full build adds.
	printf 'full build (make -j2 vmlinux): ESTIMATED %.0f s = %d units (make -n -k) x %.2f s, compile only (BENCH_FULL=1 measures)\n' \
		"$full" "$nunits" "$per"
fi
printf 'ratio: full rebuild / livefix warm = %.0fx, / livefix cold = %.0fx (kpatch-build and klp-build build twice: x2)\n' \
	"$(echo "$full / $warm" | bc -l)" "$(echo "$full / $cold" | bc -l)"
