#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The differ's speed on a large generated pair (2000 functions, one in 50
# changed, string offsets shifted), against loading the same two objects
# with libelf alone, median of several rounds, measured in one process by
# livefix-diff --time. Prints figures; never fails on time.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
tool=$build/main/src/diff/livefix-diff
functions=${FUNCTIONS:-2000}
rounds=${ROUNDS:-21}
[ -x "$tool" ] || { echo "bench/diff: build first (make): $tool missing" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$top/bench/diff/gen.py" "$functions" >"$work/orig.c"
python3 "$top/bench/diff/gen.py" "$functions" --patched >"$work/patched.c"
for side in orig patched; do
	gcc -O2 -ffunction-sections -fdata-sections -c "$work/$side.c" -o "$work/$side.o"
done

echo "== bench diff: $functions functions, $(stat -c %s "$work/orig.o") + $(stat -c %s "$work/patched.o") bytes of objects"
"$tool" "$work/orig.o" "$work/patched.o" | tail -1
"$tool" --time "$rounds" "$work/orig.o" "$work/patched.o"
