#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make demo: boot Debian's stock kernel in QEMU and watch the livefix agent
# live patch it, with explanations, in about a minute. Uses the kernel test
# harness (tests/kernel/lib.sh): the kernel is downloaded once into the build
# directory's cache, the test modules are built against its headers.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
build=$(mkdir -p "$build" && cd "$build" && pwd)
export LIVEFIX_SRC=$top LIVEFIX_BUILD=${LIVEFIX_BUILD:-$build/main}
export LIVEFIX_CACHE=${LIVEFIX_CACHE:-$build/cache}
# shellcheck source=tests/kernel/lib.sh
. "$top/tests/kernel/lib.sh"

work=$LIVEFIX_BUILD/demo
[ -x "$LF_AGENT" ] || { echo "demo: no agent at $LF_AGENT; run make first" >&2; exit 1; }
echo "demo: preparing the kernel (downloaded once) and the live patch modules..."
lf_prepare "$work" || exit 1
lf_initramfs "$work" "$top/tests/kernel/vm-demo.sh" "$work/demo.cpio" || exit 1
echo "demo: booting $KERNEL_RELEASE in QEMU (software emulation, a few seconds)"
lf_boot_interactive "$work/demo.cpio" "$work/results.txt" 180
qrc=$?
status=$(tr -d '\r' <"$work/results.txt" 2>/dev/null | sed -n 's/^DEMO: //p' | head -n1)
if [ "$status" = ok ]; then
	exit 0
fi
echo "demo: did not finish as expected (${status:-no result, qemu exit $qrc})" >&2
exit 1
