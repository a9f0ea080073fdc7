#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds a livefix userspace patch object (docs/USERSPACE.md) from one C file:
#   mkpatch.sh OUT.o TARGET-ELF ID LEVEL SOURCE.c 'func OLD NEW' ['bind SYM TARGET'...]
# The code is compiled with -O2 -ffunction-sections -fdata-sections -fPIC, the
# .livefix.patch text section is assembled from the arguments (the target's
# GNU build-id read with readelf), and both are joined with ld -r. CC and LD
# select another toolchain (tests/user-arm64: aarch64-linux-gnu-gcc-12, -ld).
set -euo pipefail
out=$1 target=$2 id=$3 level=$4 src=$5
shift 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build_id=$(readelf -n "$target" | awk '/Build ID:/ { print $3; exit }')
[ -n "$build_id" ] || { echo "mkpatch: $target has no GNU build-id" >&2; exit 1; }
${CC:-gcc} -c -O2 -ffunction-sections -fdata-sections -fPIC ${PATCH_CFLAGS:-} -o "$tmp/code.o" "$src"
{
	echo '.section .note.GNU-stack,"",@progbits'
	echo '.section .livefix.patch,"",@progbits'
	printf '.ascii "%s\\n"\n' "livefix-patch 1" "id $id" "level $level" "target-build-id $build_id" "$@"
} >"$tmp/meta.s"
${CC:-gcc} -c -o "$tmp/meta.o" "$tmp/meta.s"
${LD:-ld} -r -o "$out" "$tmp/code.o" "$tmp/meta.o"
