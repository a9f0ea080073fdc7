#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetch (once) and unpack the newest Debian 6.1 amd64 kernel with its headers,
# so the kernel tests can build livepatch modules and boot the very kernel they
# were built for. Nothing is installed on the host: the .deb files are only
# downloaded and unpacked under $LIVEFIX_CACHE/kernel/.
#
# The ABI number (the NN of linux-image-6.1.0-NN-amd64) is found at run time:
# the archive keeps only the newest ABI in bookworm-security, so a hard-coded
# one would stop working within weeks. A later run reuses the files it finds.
#
# Output: writes $LIVEFIX_CACHE/kernel/kernel.env (sourceable) and prints it:
#   KERNEL_RELEASE  e.g. 6.1.0-56-amd64 (what `uname -r` prints in the VM)
#   KERNEL_VERSION  the Debian package version, e.g. 6.1.192-2
#   KERNEL_VMLINUZ  the bootable image
#   KERNEL_HEADERS  the directory to pass to `make -C` for out-of-tree modules
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${LIVEFIX_CACHE:-$top/build/cache}/kernel
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

say() { echo "kernel-cache: $*" >&2; }
die() { say "$*"; exit 1; }

# Candidate version of a package, empty when the archive has none.
candidate() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

# Newest ABI for which the image and both headers packages are available.
newest_abi() {
	local abi
	for abi in $(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
		sed -n 's/^linux-image-6\.1\.0-\([0-9]\{1,4\}\)-amd64$/\1/p' | sort -rn | uniq); do
		if [ -n "$(candidate "linux-image-6.1.0-$abi-amd64")" ] &&
		   [ -n "$(candidate "linux-headers-6.1.0-$abi-amd64")" ] &&
		   [ -n "$(candidate "linux-headers-6.1.0-$abi-common")" ]; then
			echo "$abi"
			return 0
		fi
	done
	return 1
}

find_abi() {
	local abi
	if abi=$(newest_abi); then
		echo "$abi"
		return 0
	fi
	# The package lists may be missing on a fresh machine: update them once.
	say "no linux-image-6.1.0-NN-amd64 known to apt; running apt-get update"
	apt-get update -q >&2 || say "apt-get update failed"
	newest_abi
}

# The linux-kbuild-6.1 version the headers depend on ("= V" or ">= V"): the
# one built from the same source upload.
kbuild_version() { # headers-package
	apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -n 's/^ *linux-kbuild-6\.1 *(>\{0,1\}= *\([^)]*\)).*/\1/p' | head -n1
}

# apt-get download PKG=VERSION into DIR unless a .deb of it is already there.
fetch_deb() { # dir package version
	local dir=$1 pkg=$2 ver=$3 file
	file=$(ls "$dir/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -n "$file" ]; then
		echo "$file"
		return 0
	fi
	say "downloading $pkg=$ver"
	(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
		die "apt-get download $pkg=$ver failed"
	file=$(ls "$dir/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$file" ] || die "apt-get download $pkg=$ver left no .deb in $dir"
	echo "$file"
}

write_env() { # env-file release version root
	local env=$1 rel=$2 ver=$3 root=$4
	cat >"$env.tmp" <<-EOF
		KERNEL_RELEASE=$rel
		KERNEL_VERSION=$ver
		KERNEL_VMLINUZ=$root/boot/vmlinuz-$rel
		KERNEL_HEADERS=$root/usr/src/linux-headers-$rel
	EOF
	mv "$env.tmp" "$env"
}

# Unpack the .debs into one root and point the headers at their own copies.
unpack() { # root debs...
	local root=$1 deb rel common mk
	shift
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp"
	for deb in "$@"; do
		dpkg-deb -x "$deb" "$root.tmp"
	done
	rel=$(basename "$(ls -d "$root.tmp"/usr/src/linux-headers-*-amd64 | head -n1)")
	rel=${rel#linux-headers-}
	common=${rel%-amd64}-common
	mk=$root.tmp/usr/src/linux-headers-$rel/Makefile
	# The arch headers include the common ones by absolute path; after the
	# rename below the unpacked copy lives at $root.
	grep -q "^include /usr/src/linux-headers-$common/Makefile" "$mk" ||
		die "$mk: no absolute include of linux-headers-$common"
	sed -i "s|^include /usr/src/linux-headers-$common/Makefile|include $root/usr/src/linux-headers-$common/Makefile|" "$mk"
	# Symlinks inside the packages are absolute (e.g. scripts -> /usr/lib/...).
	local link target
	while IFS= read -r link; do
		target=$(readlink "$link")
		case $target in /*) ln -sfn "$root$target" "$link" ;; esac
	done < <(find "$root.tmp/usr/src" "$root.tmp/usr/lib/linux-kbuild-6.1" -type l 2>/dev/null)
	rm -rf "$root"
	mv "$root.tmp" "$root"
}

main() {
	local abi rel ver kver dir root debs=()
	if ! abi=$(find_abi); then
		# Offline but already cached: use what we have.
		[ -f "$cache/kernel.env" ] || die "no linux-image-6.1.0-NN-amd64 in the configured archive"
		say "archive has no kernel; reusing the cached one"
		cat "$cache/kernel.env"
		return 0
	fi
	rel=6.1.0-$abi-amd64
	ver=$(candidate "linux-image-$rel")
	kver=$(kbuild_version "linux-headers-$rel")
	[ -n "$kver" ] || kver=$ver
	dir=$cache/$rel
	root=$dir/root
	if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "$ver" ] &&
	   grep -q "^include $root/" "$root/usr/src/linux-headers-$rel/Makefile" 2>/dev/null; then
		write_env "$cache/kernel.env" "$rel" "$ver" "$root"
		cat "$cache/kernel.env"
		return 0
	fi
	mkdir -p "$dir/debs"
	debs+=("$(fetch_deb "$dir/debs" "linux-image-$rel" "$ver")")
	debs+=("$(fetch_deb "$dir/debs" "linux-headers-$rel" "$(candidate "linux-headers-$rel")")")
	debs+=("$(fetch_deb "$dir/debs" "linux-headers-6.1.0-$abi-common" \
		"$(candidate "linux-headers-6.1.0-$abi-common")")")
	debs+=("$(fetch_deb "$dir/debs" linux-kbuild-6.1 "$kver")")
	say "unpacking $rel into $root"
	unpack "$root" "${debs[@]}"
	[ -f "$root/boot/vmlinuz-$rel" ] || die "$root/boot/vmlinuz-$rel missing after unpacking"
	echo "$ver" >"$dir/complete"
	write_env "$cache/kernel.env" "$rel" "$ver" "$root"
	cat "$cache/kernel.env"
}

# One run at a time per cache (make check and make demo may start together).
exec 9>"$cache/lock"
flock -w 900 9 || die "$cache/lock: busy for 15 minutes"
main "$@"
