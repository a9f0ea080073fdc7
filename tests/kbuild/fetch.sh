#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What `livefix-build kernel` needs to rebuild a Debian kernel, fetched once:
# the image and headers come from scripts/kernel-cache.sh (the same copy the
# kernel suite boots), and the linux-source tarball of exactly the same
# version goes where `livefix-build kernel --source-package` looks for it.
# Prints shell assignments:
#   KB_ABI KB_VERSION KB_DIR KB_IMAGE KB_SYSTEM_MAP KB_CONFIG KB_KVARS KB_SOURCE_TAR
set -euo pipefail
cache=${LIVEFIX_CACHE:?LIVEFIX_CACHE not set}
top=$(cd "$(dirname "$0")/../.." && pwd)

eval "$("$top/scripts/kernel-cache.sh")"
abi=$KERNEL_RELEASE version=$KERNEL_VERSION
dir=$cache/kbuild/pkg/$version
if [ ! -f "$dir/.done" ]; then
	mkdir -p "$dir/debs"
	(
		cd "$dir/debs"
		p="linux-source-6.1=$version"
		ls linux-source-6.1_*.deb >/dev/null 2>&1 ||
			apt-get download -q "$p" >&2 || { apt-get update -q >&2; apt-get download -q "$p" >&2; }
	)
	rm -rf "$dir/source"
	dpkg-deb -x "$dir"/debs/linux-source-6.1_*.deb "$dir/source"
	touch "$dir/.done"
fi
root=$(dirname "$(dirname "$KERNEL_VMLINUZ")")
echo "KB_ABI=$abi"
echo "KB_VERSION=$version"
echo "KB_DIR=$dir"
echo "KB_IMAGE=$KERNEL_VMLINUZ"
echo "KB_SYSTEM_MAP=$root/boot/System.map-$abi"
echo "KB_CONFIG=$KERNEL_HEADERS/.config"
echo "KB_KVARS=$KERNEL_HEADERS/.kernelvariables"
echo "KB_SOURCE_TAR=$(ls "$dir"/source/usr/src/linux-source-6.1.tar.xz)"
