#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetch (once) what the aarch64 test VM boots: Debian's newest
# linux-image-6.1.0-NN-arm64 and busybox-static:arm64, and the sysroot the
# full agent is cross-built against (the arm64 -dev and runtime packages of
# libelf, zlib and libsodium, and libcurl's headers: http.c loads libcurl
# at run time), with libcurl itself and the libraries it links for the
# fleet case, and the kernel's virtio network modules (the VM's NIC),
# unpacked under $LIVEFIX_CACHE/arm64/. Nothing is installed and the host's package set and
# lists are untouched: a private APT configuration (architecture arm64, its
# own lists, cache and an empty dpkg status) over the host's sources.
#
# As in scripts/kernel-cache.sh, the ABI number (NN) is found at run time:
# the archive keeps only the newest one in bookworm-security.
#
# Output (sourceable, also written to $LIVEFIX_CACHE/arm64/arm64.env):
#   ARM64_RELEASE  e.g. 6.1.0-56-arm64
#   ARM64_VMLINUZ  the bootable image (gzip-compressed Image)
#   ARM64_BUSYBOX  a static aarch64 busybox
#   ARM64_SYSROOT  the unpacked libraries, for aarch64-linux-gnu.ini
#   ARM64_NETMODS  virtio_mmio.ko, virtio_net.ko and what it needs
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${LIVEFIX_CACHE:-$top/build/cache}/arm64
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
apt=$cache/apt

say() { echo "arm64-cache: $*" >&2; }
die() { say "$*"; exit 1; }

apt_opts=(
	-o APT::Architecture=arm64 -o APT::Architectures::=arm64
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
	-o Dir::State::status="$apt/status" -o APT::Sandbox::User=root
	-o Debug::NoLocking=1 -q
)

update_lists() {
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
	: >>"$apt/status"
	say "reading the arm64 package lists (private, under $apt)"
	apt-get "${apt_opts[@]}" update >&2 || die "apt-get update for arm64 failed"
	touch "$apt/updated"
}

candidate() {
	apt-cache "${apt_opts[@]}" show --no-all-versions "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n1
}

newest_abi() {
	apt-cache "${apt_opts[@]}" pkgnames linux-image-6.1.0- 2>/dev/null |
		sed -n 's/^linux-image-6\.1\.0-\([0-9]\{1,4\}\)-arm64$/\1/p' | sort -rn | head -n1
}

fetch_deb() { # dir package version
	local dir=$1 pkg=$2 ver=$3 file
	file=$(ls "$dir/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$file" ]; then
		say "downloading $pkg=$ver (arm64)"
		(cd "$dir" && apt-get "${apt_opts[@]}" download "$pkg:arm64=$ver" >&2) ||
			die "apt-get download $pkg=$ver failed"
		file=$(ls "$dir/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
	fi
	[ -n "$file" ] || die "no .deb of $pkg in $dir"
	echo "$file"
}

# The agent's libraries and what they pull (apt-cache depends), except libc6:
# the cross toolchain's libc6-dev-arm64-cross provides it. Of libcurl only
# the headers: the agent loads libcurl with dlopen (src/common/http.c).
sysroot_pkgs=(libelf-dev libelf1 zlib1g-dev zlib1g libsodium-dev libsodium23 libcurl4-openssl-dev)
# libcurl.so.4 for the VM and the libraries its NEEDED entries pull in, as
# apt-cache depends --recurse lists them (less libc6 and libgcc-s1, which
# the cross toolchain provides, and libsasl2's plugins, which nothing
# links); run.sh copies only the NEEDED closure into the initramfs.
sysroot_pkgs+=(libcurl4 libbrotli1 libcom-err2 libffi8 libgmp10 libgnutls30 libgssapi-krb5-2
	libhogweed6 libidn2-0 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 libldap-2.5-0
	libnettle8 libnghttp2-14 libp11-kit0 libpsl5 librtmp1 libsasl2-2 libssh2-1 libssl3
	libtasn1-6 libunistring2 libzstd1)
# The VM's NIC is a virtio-net-device on the virt machine's MMIO transport;
# these drivers are modules in Debian's arm64 kernel.
net_mods=(failover net_failover virtio_net virtio_mmio)

sysroot() { # -> the unpacked sysroot
	local dir=$cache/sysroot pkg want=""
	for pkg in "${sysroot_pkgs[@]}"; do
		want="$want $pkg=$(candidate "$pkg")"
	done
	case $want in
	*=\ * | *=)
		[ -f "$dir/complete" ] || die "not every one of ${sysroot_pkgs[*]} is in the arm64 lists"
		say "the arm64 lists lack some of ${sysroot_pkgs[*]}; reusing the cached sysroot"
		want=$(cat "$dir/complete")
		;;
	esac
	if [ ! -f "$dir/complete" ] || [ "$(cat "$dir/complete")" != "$want" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/debs" "$dir/root"
		for pkg in $want; do
			dpkg-deb -x "$(fetch_deb "$dir/debs" "${pkg%%=*}" "${pkg#*=}")" "$dir/root"
		done
		# libz.so -> /lib/aarch64-linux-gnu/libz.so.1.2.13: relative, into the sysroot.
		find "$dir/root" -type l -lname '/*' | while read -r link; do
			ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir/root$(readlink "$link")")" "$link"
		done
		echo "$want" >"$dir/complete"
	fi
	echo "$dir/root"
}

main() {
	local abi rel ver dir root bb sys mod f
	# Lists older than a day are refreshed: the newest ABI moves.
	if [ ! -f "$apt/updated" ] || [ -n "$(find "$apt/updated" -mmin +1440)" ]; then
		update_lists || true
	fi
	abi=$(newest_abi || true)
	if [ -z "$abi" ]; then
		[ -f "$cache/arm64.env" ] || die "no linux-image-6.1.0-NN-arm64 in the archive"
		say "archive has no arm64 kernel; reusing the cached one"
		cat "$cache/arm64.env"
		return 0
	fi
	rel=6.1.0-$abi-arm64
	ver=$(candidate "linux-image-$rel")
	dir=$cache/$rel
	root=$dir/root
	if [ ! -f "$dir/complete" ] || [ "$(cat "$dir/complete")" != "$ver" ] ||
	   [ ! -f "$dir/net/virtio_net.ko" ]; then
		mkdir -p "$dir/debs"
		rm -rf "$root"
		mkdir -p "$root"
		dpkg-deb -x "$(fetch_deb "$dir/debs" "linux-image-$rel" "$ver")" "$root"
		dpkg-deb -x "$(fetch_deb "$dir/debs" busybox-static "$(candidate busybox-static)")" "$root"
		[ -f "$root/boot/vmlinuz-$rel" ] || die "$root/boot/vmlinuz-$rel missing"
		rm -rf "$dir/net" && mkdir -p "$dir/net"
		for mod in "${net_mods[@]}"; do
			f=$(find "$root/lib/modules" "$root/usr/lib/modules" -name "$mod.ko" 2>/dev/null | head -n1 || true)
			[ -n "$f" ] || die "$mod.ko not in linux-image-$rel"
			cp "$f" "$dir/net/"
		done
		rm -rf "$root/lib/modules" "$root/usr/lib/modules"	# the rest: an initramfs needs none
		echo "$ver" >"$dir/complete"
	fi
	bb=$root/bin/busybox
	[ -x "$bb" ] || die "$bb missing"
	sys=$(sysroot)
	cat >"$cache/arm64.env.tmp" <<-EOF
		ARM64_RELEASE=$rel
		ARM64_VMLINUZ=$root/boot/vmlinuz-$rel
		ARM64_BUSYBOX=$bb
		ARM64_SYSROOT=$sys
		ARM64_NETMODS=$dir/net
	EOF
	mv "$cache/arm64.env.tmp" "$cache/arm64.env"
	cat "$cache/arm64.env"
}

exec 9>"$cache/lock"
flock -w 900 9 || die "$cache/lock: busy for 15 minutes"
main "$@"
