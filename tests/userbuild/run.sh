#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of `livefix-build user`: a test program and a small
# shared library are built from tests/userbuild/prog with a
# compile_commands.json, started, and patched live by `livefix user apply`
# with what the builder made from a source fix; the output is checked,
# the patch reverted, the output checked again. Refusals are checked by
# exit code and message. Then the real-world case (cve-expat.sh).
# Prints PASS:/FAIL:/SKIP: lines.
set -u
src=${LIVEFIX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LIVEFIX_BUILD:-$src/build/main}
L=$build/src/agent/livefix
LB=$build/src/builder/livefix-build
T=$src/tests/userbuild
W=$(mktemp -d /tmp/livefix-userbuild.XXXXXX)
export LIVEFIX_RUNTIME_DIR=$W/run
pids=()

cleanup() {
	local p
	exec 2>/dev/null
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }

if [ "$(uname -m)" != x86_64 ]; then
	echo "SKIP: userbuild (x86_64 only for now)"
	exit 0
fi

S=$W/src B=$W/build
# ---- the "product": its source tree, build directory and compile database ----
build_prog() { # CFLAGS-of-calc.c (what really ran) ; the database always says -O2
	set -e
	rm -rf "$B" && mkdir -p "$B" && cd "$B"
	cat >compile_commands.json <<JSON
[
 {"directory": "$B", "file": "$S/calc.c",
  "arguments": ["gcc", "-O2", "-g", "-fPIE", "-I$S", "-c", "$S/calc.c", "-o", "calc.o"]},
 {"directory": "$B", "file": "$S/main.c",
  "arguments": ["gcc", "-O2", "-g", "-fPIE", "-I$S", "-c", "$S/main.c", "-o", "main.o"]},
 {"directory": "$B", "file": "../src/lib/tlib.c",
  "command": "gcc -O2 -g -fPIC -c ../src/lib/tlib.c -o tlib.o"}
]
JSON
	gcc $1 -g -fPIE -I"$S" -c "$S/calc.c" -o calc.o
	gcc -O2 -g -fPIE -I"$S" -c "$S/main.c" -o main.o
	gcc -O2 -g -fPIC -c ../src/lib/tlib.c -o tlib.o
	gcc -shared -Wl,--build-id -o libtlib.so tlib.o
	gcc -pie -Wl,--build-id -o ubt main.o calc.o -L. -ltlib -Wl,-rpath,"$B"
}
cp -r "$T/prog" "$S"
cp -r "$S" "$W/pristine"
if ! (build_prog -O2) >"$W/prog.log" 2>&1; then
	cat "$W/prog.log"
	fail build "test program did not build"
	exit 1
fi

ub() { # name target patch [more options] -> $W/name.o, log in $W/name.build
	local name=$1 target=$2 patch=$3
	shift 3
	"$LB" user --target "$target" --source "$S" --patch "$T/patches/$patch.patch" \
		--compile-commands "$B/compile_commands.json" --id "$name" \
		--work-dir "$W/work-$name" -o "$W/$name.o" "$@" >"$W/$name.build" 2>&1
}

# ---- the running process ----
start() { # out
	"$B/ubt" "$W/$1" &
	tp=$!
	disown "$tp"
	pids+=("$tp")
	for _ in $(seq 100); do
		[ -s "$W/$1" ] && [ "$(wc -l <"$W/$1")" -ge 3 ] && return 0
		sleep 0.02
	done
	return 1
}
line() { tail -n 2 "$W/$1" | head -n 1; }
wait_for() { # out regex
	for _ in $(seq 150); do
		line "$1" | grep -Eq "$2" && return 0
		sleep 0.02
	done
	return 1
}
ORIG='^c=14 m=original s=1 v=[0-9]+ a=80 k=3 l=107 '

# build, apply, see, revert, see the original again
roundtrip() { # name target patch regex-patched
	local name=$1 target=$2 patch=$3 re=$4 log=$W/$1.apply
	if ! ub "$name" "$target" "$patch"; then
		fail "$name" "build: $(tr '\n' ' ' <"$W/$name.build")"; return 1
	fi
	wait_for out "$ORIG" || { fail "$name" "not original before: $(line out)"; return 1; }
	if ! "$L" user apply "$W/$name.o" --pid "$tp" >"$log" 2>&1; then
		fail "$name" "apply: $(tr '\n' ' ' <"$log")"; return 1
	fi
	wait_for out "$re" || { fail "$name" "patched output not seen: $(line out)"; return 1; }
	PATCHED_LINE=$(line out)
	if ! "$L" user revert "$name" --pid "$tp" >>"$log" 2>&1; then
		fail "$name" "revert: $(tail -1 "$log")"; return 1
	fi
	wait_for out "$ORIG" || { fail "$name" "original not back after revert: $(line out)"; return 1; }
	pass "$name"
}

if ! start out; then
	fail start "test program printed nothing"
	exit 1
fi

roundtrip simple "$B/ubt" simple '^c=21 m=original '
roundtrip new-function "$B/ubt" newfunc '^c=36 m=original '
roundtrip string-literal "$B/ubt" string '^c=14 m=patched '
# The patched counter_step() must use the running counter (v keeps
# growing from where it was), not a fresh copy of its own.
before=$(line out | sed -E 's/.* v=([0-9]+) .*/\1/')
if roundtrip static-local "$B/ubt" static-local ' s=100 v=[0-9]+ '; then
	v=$(echo "$PATCHED_LINE" | sed -E 's/.* v=([0-9]+) .*/\1/')
	if [ "$v" -gt "$before" ]; then pass static-local-bound
	else fail static-local-bound "counter restarted: $v after $before"; fi
fi
# A header change: scale() is inlined into apply_scale(); every unit that
# includes calc.h is rebuilt and only the caller that changed is patched.
if roundtrip inlined-header "$B/ubt" inlined ' a=90 '; then
	if grep -q '^unit main.c' "$W/inlined-header.build" && grep -q 'changed  apply_scale' "$W/inlined-header.build"
	then pass inlined-header-units
	else fail inlined-header-units "$(tr '\n' ' ' <"$W/inlined-header.build")"; fi
fi
roundtrip shared-library "$B/libtlib.so" lib ' l=207 '

# Levels: level 2 (a cumulative fix) replaces level 1 in one step.
levels() {
	ub lvl-1 "$B/ubt" simple --level 1 && ub lvl-2 "$B/ubt" newfunc --level 2 ||
		{ echo "build: $(cat "$W/lvl-1.build" "$W/lvl-2.build" | tr '\n' ' ')"; return 1; }
	"$L" user apply "$W/lvl-1.o" --pid "$tp" >/dev/null 2>&1 && wait_for out '^c=21 ' ||
		{ echo "level 1: $(line out)"; return 1; }
	"$L" user apply "$W/lvl-2.o" --pid "$tp" >"$W/lvl.apply" 2>&1 && wait_for out '^c=36 ' ||
		{ echo "level 2: $(tr '\n' ' ' <"$W/lvl.apply") $(line out)"; return 1; }
	"$L" user list --pid "$tp" | grep -q 'lvl-1' && { echo "level 1 still listed"; return 1; }
	"$L" user revert lvl-2 --pid "$tp" >/dev/null 2>&1 && wait_for out "$ORIG" ||
		{ echo "revert: $(line out)"; return 1; }
}
if r=$(levels); then pass levels; else fail levels "$r"; fi

# A stripped library: the builder reads the symbols from its separate debug
# file (.gnu_debuglink); the running process maps the same build.
strip_lib() {
	set -e
	mkdir -p "$W/stripped"
	cd "$W/stripped"
	objcopy --only-keep-debug "$B/libtlib.so" libtlib.so.debug
	objcopy --strip-all --add-gnu-debuglink=libtlib.so.debug "$B/libtlib.so" libtlib.so
	! readelf -SW libtlib.so | grep -q '\.symtab'
}
if (strip_lib) >"$W/strip.log" 2>&1; then
	if roundtrip stripped-debuglink "$W/stripped/libtlib.so" lib ' l=207 '; then
		if grep -q "symbols: $W/stripped/libtlib.so.debug" "$W/stripped-debuglink.build"
		then pass stripped-debuglink-symbols
		else fail stripped-debuglink-symbols "$(tr '\n' ' ' <"$W/stripped-debuglink.build")"; fi
	fi
else
	fail stripped-debuglink "$(tr '\n' ' ' <"$W/strip.log")"
fi

# ---- refusals ----
ub layout "$B/ubt" layout; rc=$?
if [ $rc = 6 ] && grep -q 'REFUSED  config: data layout changed' "$W/layout.build" && [ ! -e "$W/layout.o" ]
then pass refused-data-layout
else fail refused-data-layout "exit $rc: $(tr '\n' ' ' <"$W/layout.build")"; fi

# A fix to the library, built for the executable: not this target's code.
ub wrong-target "$B/ubt" lib; rc=$?
if [ $rc = 4 ] && grep -q 'unit lib/tlib.c: none of its functions is in' "$W/wrong-target.build" &&
	grep -q 'nothing to redirect' "$W/wrong-target.build"
then pass refused-other-target
else fail refused-other-target "exit $rc: $(tr '\n' ' ' <"$W/wrong-target.build")"; fi

# The source tree was never written.
if diff -r "$W/pristine" "$S" >/dev/null; then pass source-untouched
else fail source-untouched "$(diff -r "$W/pristine" "$S" | head -3)"; fi

# --cflags instead of a compile database
if "$LB" user --target "$B/ubt" --source "$S" --patch "$T/patches/simple.patch" \
	--cflags "-O2 -g -fPIE -I$S" --id cflags-1 -o "$W/cflags.o" >"$W/cflags.build" 2>&1 &&
	"$L" user apply "$W/cflags.o" --pid "$tp" >/dev/null 2>&1 && wait_for out '^c=21 ' &&
	"$L" user revert cflags-1 --pid "$tp" >/dev/null 2>&1 && wait_for out "$ORIG"
then pass cflags
else fail cflags "$(tr '\n' ' ' <"$W/cflags.build")"; fi

# A signed bundle straight from the builder, applied by `livefix apply`
# to every process that maps the target
bundle() {
	"$LB" keygen --role targets -o "$W/tk.key" >/dev/null || { echo "keygen"; return 1; }
	"$LB" user --target "$B/ubt" --source "$S" --patch "$T/patches/simple.patch" \
		--compile-commands "$B/compile_commands.json" --id lfb-1 --cve CVE-2099-0001:high \
		--key "$W/tk.key" -o "$W/simple.lfb" >"$W/lfb.build" 2>&1 ||
		{ echo "build: $(tr '\n' ' ' <"$W/lfb.build")"; return 1; }
	grep -q 'simple.lfb: .* 1 payload(s), 1 signature(s)' "$W/lfb.build" ||
		{ echo "said: $(tr '\n' ' ' <"$W/lfb.build")"; return 1; }
	"$L" apply --state-dir "$W/state" --key "$W/tk.key.pub" "$W/simple.lfb" >"$W/lfb.apply" 2>&1 ||
		{ echo "apply: $(tr '\n' ' ' <"$W/lfb.apply")"; return 1; }
	wait_for out '^c=21 m=original ' || { echo "patched output not seen: $(line out)"; return 1; }
	"$L" user revert lfb-1 --pid "$tp" >/dev/null 2>&1 || { echo "revert failed"; return 1; }
	wait_for out "$ORIG" || { echo "after revert: $(line out)"; return 1; }
}
if r=$(bundle); then pass signed-bundle; else fail signed-bundle "$r"; fi

# The shipped calc.c was built with -O0, the database says -O2: the rebuilt
# original is not the running code, and the builder must say which function.
kill -9 "$tp" 2>/dev/null
if (build_prog -O0) >"$W/prog0.log" 2>&1; then
	ub fidelity "$B/ubt" simple; rc=$?
	if [ $rc = 4 ] && grep -q 'DIFFERS  compute (replaced)' "$W/fidelity.build" && [ ! -e "$W/fidelity.o" ]
	then pass refused-fidelity
	else fail refused-fidelity "exit $rc: $(tr '\n' ' ' <"$W/fidelity.build")"; fi
else
	fail refused-fidelity "-O0 build failed"
fi

# ---- the real-world case ----
LIVEFIX_BUILD=$build LIVEFIX_SRC=$src bash "$T/cve-expat.sh"
