#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Downloads, once, what `livefix-build kernel` needs to rebuild a Debian
# kernel: the image (vmlinuz), the headers (.config, .kernelvariables) and the
# linux-source tarball of exactly the same version. Newest ABI in the archive
# unless KBUILD_ABI=6.1.0-NN-amd64 is set. Prints shell assignments:
#   KB_ABI KB_VERSION KB_DIR KB_IMAGE KB_CONFIG KB_KVARS KB_SOURCE_TAR
set -euo pipefail
cache=${LIVEFIX_CACHE:?LIVEFIX_CACHE not set}

pick_abi() {
	apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
		awk '{print $1}' | sed 's/^linux-image-//' | sort -V | tail -1
}

abi=${KBUILD_ABI:-}
if [ -z "$abi" ]; then
	abi=$(pick_abi)
	if [ -z "$abi" ]; then
		apt-get update -q >&2
		abi=$(pick_abi)
	fi
fi
[ -n "$abi" ] || { echo "fetch.sh: no linux-image-6.1.0-NN-amd64 in the package lists" >&2; exit 1; }
version=$(apt-cache show "linux-image-$abi" | awk '/^Version:/{print $2; exit}')
dir=$cache/kbuild/pkg/$version
if [ ! -f "$dir/.done" ]; then
	mkdir -p "$dir/debs"
	(
		cd "$dir/debs"
		for p in "linux-image-$abi=$version" "linux-headers-$abi=$version" "linux-source-6.1=$version"; do
			ls "${p%%=*}"_*.deb >/dev/null 2>&1 && continue
			apt-get download -q "$p" >&2 || { apt-get update -q >&2; apt-get download -q "$p" >&2; }
		done
	)
	rm -rf "$dir/image" "$dir/headers" "$dir/source"
	dpkg-deb -x "$dir"/debs/linux-image-"$abi"_*.deb "$dir/image"
	dpkg-deb -x "$dir"/debs/linux-headers-"$abi"_*.deb "$dir/headers"
	dpkg-deb -x "$dir"/debs/linux-source-6.1_*.deb "$dir/source"
	touch "$dir/.done"
fi
hdr=$dir/headers/usr/src/linux-headers-$abi
tar=$(ls "$dir"/source/usr/src/linux-source-6.1.tar.xz)
echo "KB_ABI=$abi"
echo "KB_VERSION=$version"
echo "KB_DIR=$dir"
echo "KB_IMAGE=$dir/image/boot/vmlinuz-$abi"
echo "KB_SYSTEM_MAP=$dir/image/boot/System.map-$abi"
echo "KB_CONFIG=$hdr/.config"
echo "KB_KVARS=$hdr/.kernelvariables"
echo "KB_SOURCE_TAR=$tar"
