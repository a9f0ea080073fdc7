#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What `livefix-build kernel --cross aarch64` needs for Debian's arm64 kernel,
# fetched once: the image from tests/user-arm64/arm64-cache.sh (the same copy
# the aarch64 VM boots, newest ABI found at run time), and beside it
# linux-headers-<abi>-arm64 and linux-headers-<abi>-common (the .config,
# .kernelvariables and Module.symvers), downloaded with the same private APT
# configuration (architecture arm64, its own lists): nothing is installed.
# The linux-source tarball is architecture independent: the amd64 fetch
# (fetch.sh) already holds it when the versions agree; otherwise
# --source-package fetches it.
# Prints shell assignments:
#   KA_ABI KA_VERSION KA_IMAGE KA_CONFIG KA_KVARS KA_HEADERS
set -euo pipefail
cache=${LIVEFIX_CACHE:?LIVEFIX_CACHE not set}
top=$(cd "$(dirname "$0")/../.." && pwd)

eval "$("$top/tests/user-arm64/arm64-cache.sh")"
apt=$cache/arm64/apt
apt_opts=(
	-o APT::Architecture=arm64 -o APT::Architectures::=arm64
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
	-o Dir::State::status="$apt/status" -o APT::Sandbox::User=root
	-o Debug::NoLocking=1 -q
)
rel=$ARM64_RELEASE                      # 6.1.0-NN-arm64
common=linux-headers-${rel%-arm64}-common
dir=$cache/arm64/$rel
version=$(cat "$dir/complete")          # the image package's version
hroot=$dir/headers
if [ ! -f "$hroot/.done" ] || [ "$(cat "$hroot/.done")" != "$version" ]; then
	mkdir -p "$dir/debs"
	for p in "linux-headers-$rel:arm64" "$common"; do
		n=${p%:arm64}
		ls "$dir/debs/${n}_"*.deb >/dev/null 2>&1 ||
			(cd "$dir/debs" && apt-get "${apt_opts[@]}" download "$p=$version" >&2)
	done
	rm -rf "$hroot"
	mkdir -p "$hroot"
	for n in "linux-headers-$rel" "$common"; do dpkg-deb -x "$(ls "$dir/debs/${n}_"*.deb)" "$hroot"; done
	# The arm64 headers include the common ones by an absolute path (/usr/src/...).
	sed -i "s|/usr/src/$common|$hroot/usr/src/$common|" \
		"$hroot/usr/src/linux-headers-$rel/Makefile"
	echo "$version" >"$hroot/.done"
fi
h=$hroot/usr/src/linux-headers-$rel
[ -f "$h/.config" ] && [ -f "$h/.kernelvariables" ] || { echo "fetch-arm64: $h incomplete" >&2; exit 1; }
echo "KA_ABI=$rel"
echo "KA_VERSION=$version"
echo "KA_IMAGE=$ARM64_VMLINUZ"
echo "KA_CONFIG=$h/.config"
echo "KA_KVARS=$h/.kernelvariables"
echo "KA_HEADERS=$h"
