#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian 12 packages livefix needs to build and test.
# Idempotent: only missing packages are installed, and nothing runs when all
# are present. Works as root or through sudo. `deps.sh bench` adds the
# packages the benchmarks need.
set -euo pipefail

packages=(
	# toolchain and build
	gcc-12 make meson ninja-build pkg-config
	# libraries
	libelf-dev libsodium-dev libcurl4-openssl-dev libssl-dev
	libmicrohttpd-dev libsqlite3-dev libpq-dev zlib1g-dev
	# kernel images: XZ, ZSTD, GZIP payloads
	liblzma-dev libzstd-dev patch
	libgnutls28-dev libjansson-dev
	# tests
	libcmocka-dev clang-14 libclang-rt-14-dev
	# portal tests: a throwaway PostgreSQL cluster, the curl CLI
	postgresql curl procps openssl
	# dashboard test: a real browser driven by playwright-core (from npm)
	chromium nodejs
	# kernel tests: QEMU, initramfs, kbuild for out-of-tree modules
	qemu-system-x86 busybox-static cpio kmod bc flex bison
	# kernel module tests: a small ISO 9660 image for isofs; libcrypto for module signing
	genisoimage libssl-dev
	# kernel and package handling
	dpkg-dev xz-utils zstd ca-certificates python3 file
	# differ tests: aarch64 object pairs (binutils for readelf/objdump/ld)
	binutils gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
	# userbuild tests: the real-world case builds libexpat with its CMake build
	cmake
	# userspace aarch64 tests: cross C library, the arm64 VM
	libc6-dev-arm64-cross qemu-system-arm
)
# Debian's nodejs needs its npm package; a nodejs that bundles npm conflicts with it.
command -v npm >/dev/null || packages+=(npm)

# Benchmarks only (`scripts/deps.sh bench`): the load generator and the
# static-file baseline of bench/portal.
if [[ ${1:-} == bench ]]; then
	packages+=(wrk nginx)
fi

missing=()
for p in "${packages[@]}"; do
	[[ $p == \#* ]] && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

sudo=""
if ((EUID != 0)); then
	command -v sudo >/dev/null || {
		echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	}
	sudo="sudo"
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet.
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
	$sudo apt-get update -q
	$sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
