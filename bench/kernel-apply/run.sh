#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: what the agent adds to applying a kernel live patch.
#
# In one VM, N repetitions (default 15, LIVEFIX_BENCH_N) of
#   agent:    `livefix kernel load lp_cmdline_l1.ko`, from its start to its
#             exit (it returns once the transition has ended)
#   baseline: `insmod lp_cmdline_l1.ko`, then a tight poll of
#             /sys/kernel/livepatch/lp_cmdline_l1/transition until 0
# timed inside the VM with CLOCK_MONOTONIC (lfhelper), unloading in between,
# and, to tell process start-up from the load itself, `livefix version`.
# Prints medians, maxima, the difference and ratio of the medians. Under TCG
# absolute times are several times a real machine's; the ratio is the figure
# to read. Never fails on time; fails only when nothing could be measured.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
build=$(mkdir -p "$build" && cd "$build" && pwd)
export LIVEFIX_SRC=$top LIVEFIX_BUILD=${LIVEFIX_BUILD:-$build/main}
export LIVEFIX_CACHE=${LIVEFIX_CACHE:-$build/cache}
# shellcheck source=tests/kernel/lib.sh
. "$top/tests/kernel/lib.sh"

n=${LIVEFIX_BENCH_N:-15}
work=$LIVEFIX_BUILD/bench-kernel-apply
[ -x "$LF_AGENT" ] || { echo "kernel-apply: no agent at $LF_AGENT; run make first" >&2; exit 1; }
lf_prepare "$work" || exit 1
# The floor of starting any dynamically linked program in this VM: an empty
# main() linked against libc only.
printf 'int main(void) { return 0; }\n' >"$work/dynfloor.c"
gcc-12 -O2 -o "$work/dynfloor" "$work/dynfloor.c" || exit 1
lf_initramfs "$work" "$top/bench/kernel-apply/vm-bench.sh" "$work/bench.cpio" \
	"$work/dynfloor=/lf/bin/dynfloor" || exit 1
chmod 755 "$work/dynfloor"
echo "kernel-apply: booting $KERNEL_RELEASE (accel $LF_QEMU_ACCEL), $n repetitions"
lf_boot "$work/bench.cpio" "$work/console.log" "$work/results.txt" 300 "lf.n=$n"
qrc=$?

python3 - "$work/results.txt" "$n" "$LF_QEMU_ACCEL" "$qrc" <<'PY' || { echo "kernel-apply: serial log: $work/console.log" >&2; exit 1; }
import statistics, sys
path, n, accel, qrc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
runs = {"agent": [], "baseline": [], "startup": [], "floor": []}
errors = {k: 0 for k in runs}
for line in open(path, errors="replace"):
    f = line.split()
    if len(f) == 4 and f[0] == "BENCH:" and f[1] in runs:
        if f[3] == "0":
            runs[f[1]].append(int(f[2]) / 1e6)
        else:
            errors[f[1]] += 1
if not runs["agent"] or not runs["baseline"]:
    sys.exit(f"kernel-apply: no measurements (qemu exit {qrc}, failed runs {errors})")
print(f"kernel-apply: {n} repetitions, accel {accel}, times in ms")
for k, label in (("agent", "livefix kernel load"), ("baseline", "finit_module + poll (in-process)"),
                 ("startup", "livefix version (startup)"), ("floor", "empty dynamic program")):
    v = runs[k]
    if not v:
        print(f"  {label:25s} no measurements ({errors[k]} failed)")
        continue
    print(f"  {label:25s} median {statistics.median(v):7.1f}  max {max(v):7.1f}"
          f"  ({len(v)} runs, {errors[k]} failed)")
a, b = statistics.median(runs["agent"]), statistics.median(runs["baseline"])
print(f"  median difference {a - b:+.1f} ms, ratio agent/baseline {a / b:.2f}")
if runs["floor"] and runs["startup"]:
    f, s = statistics.median(runs["floor"]), statistics.median(runs["startup"])
    print(f"  of the difference: exec of any dynamic program {f:.1f} ms, the agent's own start-up"
          f" {s - f:+.1f} ms, its checks and polling {a - b - s:+.1f} ms")
PY
