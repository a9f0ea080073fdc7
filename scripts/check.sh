#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make check: build (warnings are errors), run the unit tests and fuzz corpora
# under ASan+UBSan, then every end-to-end suite tests/*/run.sh, and close with
# one line "N passed, N failed, N skipped". Exits non-zero on any failure.
#
# An end-to-end suite is an executable tests/<suite>/run.sh. It gets
# LIVEFIX_BUILD (the release build), LIVEFIX_CACHE (downloads, kept between
# runs) and LIVEFIX_SRC in its environment and prints one line per test case:
#   PASS: name    FAIL: name (reason)    SKIP: name (reason)
# Anything else it prints is shown as is. A suite that exits non-zero without
# reporting a failure is counted as one failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
build=$(mkdir -p "$build" && cd "$build" && pwd)
export LIVEFIX_SRC=$top
export LIVEFIX_BUILD=$build/main
export LIVEFIX_CACHE=$build/cache
mkdir -p "$LIVEFIX_CACHE"

pass=0 fail=0 skip=0
failed=()

count() { # status name
	case $1 in
	PASS) pass=$((pass + 1)) ;;
	FAIL) fail=$((fail + 1)); failed+=("$2") ;;
	SKIP) skip=$((skip + 1)) ;;
	esac
}

setup() { # dir meson-options...
	local dir=$1; shift
	[ -f "$dir/build.ninja" ] || meson setup "$dir" "$top" --werror "$@" >"$dir.setup.log" 2>&1 || {
		cat "$dir.setup.log"; return 1; }
}

echo "== build (release, warnings are errors)"
if setup "$build/main" && ninja -C "$build/main"; then count PASS build/main; else count FAIL build/main; fi
echo "== build (ASan + UBSan)"
if setup "$build/asan" -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false &&
   ninja -C "$build/asan"; then
	count PASS build/asan
	echo "== unit tests and fuzz corpora (ASan + UBSan)"
	meson test -C "$build/asan" --print-errorlogs --no-rebuild --timeout-multiplier 4 >/dev/null 2>&1
	# Count every cmocka case (TAP) and every other test program once.
	while read -r status name; do count "$status" "$name"; echo "$status: $name"; done < <(
		python3 - "$build/asan/meson-logs/testlog.json" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    # meson names a test "<project>:<suite> / <name>"
    name = t["name"].split(":", 1)[-1].replace(" / ", "/")
    res, out = t["result"], t.get("stdout") or ""
    cases = re.findall(r"^(ok|not ok) \d+ - (.*?)(?:\s+# (SKIP).*)?$", out, re.M)
    if cases and t.get("protocol", "tap") in ("tap", "TAP") and re.search(r"^1\.\.\d+", out, re.M):
        for st, case, sk in cases:
            print(("SKIP" if sk else "PASS" if st == "ok" else "FAIL"), f"{name}/{case}")
        if res not in ("OK", "SKIP") and all(st == "ok" for st, _, _ in cases):
            print("FAIL", f"{name} (exit: {res})")
    else:
        print({"OK": "PASS", "SKIP": "SKIP", "EXPECTEDFAIL": "PASS"}.get(res, "FAIL"), name)
PY
	)
	if ((fail > 0)); then
		echo "-- failing unit test logs: $build/asan/meson-logs/testlog.txt"
	fi
else
	count FAIL build/asan
fi

# run_suite NAME SCRIPT BUILD-DIR: one end-to-end suite, its lines counted.
run_suite() {
	local name=$1 suite=$2 before=$fail log rc
	echo "== suite $name"
	if [ ! -x "$3/src/agent/livefix" ]; then
		count FAIL "$name (not built)"
		return
	fi
	log=$build/suite-${name//\//-}.log
	# A hung suite must not take CI's whole budget: bound each one.
	LIVEFIX_BUILD=$3 timeout -k 30 "${LIVEFIX_SUITE_TIMEOUT:-1500}" "$suite" > >(tee "$log") 2>&1
	rc=$?
	wait
	if ((rc == 124)); then
		echo "FAIL: suite timed out after ${LIVEFIX_SUITE_TIMEOUT:-1500} s" | tee -a "$log"
	fi
	while IFS= read -r line; do
		if [[ $line =~ ^(PASS|FAIL|SKIP):\ (.*)$ ]]; then
			count "${BASH_REMATCH[1]}" "$name/${BASH_REMATCH[2]}"
		fi
	done <"$log"
	if ((rc != 0 && fail == before)); then
		count FAIL "$name (suite exited $rc)"
	fi
}

for suite in "$top"/tests/*/run.sh; do
	[ -x "$suite" ] || continue
	run_suite "$(basename "$(dirname "$suite")")" "$suite" "$LIVEFIX_BUILD"
done
# The suites that drive the most parsing and ptrace code run once more
# against the ASan+UBSan build: a sanitizer report fails the program.
for name in ${LIVEFIX_SANITIZED_SUITES-trust user}; do
	[ -x "$top/tests/$name/run.sh" ] && run_suite "asan/$name" "$top/tests/$name/run.sh" "$build/asan"
done

if ((fail > 0)); then
	echo "== failed:"
	printf '  %s\n' "${failed[@]}"
fi
if ((skip > 0)); then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
((fail == 0))
