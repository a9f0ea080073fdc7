# SPDX-License-Identifier: Apache-2.0
# Sourced by run.sh (its helpers, $W, $L, $S): thread-local storage and
# IFUNC symbols reached from patched code. tls-target.c's three threads each
# set their own TLS values; every thread must see its own after the patch.
TORIG='^p=100,200,300 l=11,22,33 s=5 '
ORIG_RE=$TORIG	# what roundtrip expects back after a revert

tls_build() {
	set -e
	cd "$W"
	local mk=$S/mkpatch.sh P=$S/patches
	gcc -O2 -fPIC -shared -Wl,--build-id -o libtlsl.so "$S/tls-lib.c"
	gcc -O2 -g -fPIE -pie -Wl,--build-id -o tls-target "$S/tls-target.c" -L. -ltlsl \
		-Wl,-rpath,"$W" -lpthread
	gcc -O2 -g -fPIE -pie -DTLS_DLOPEN_ONLY -Wl,--build-id -o tls-dl "$S/tls-target.c" -lpthread
	$mk tls-gd.o tls-target tls-gd 1 $P/tls-exe.c "func probe probe_v2"
	PATCH_CFLAGS=-ftls-model=initial-exec $mk tls-ie.o tls-target tls-ie 1 $P/tls-exe.c "func probe probe_v2"
	PATCH_CFLAGS=-ftls-model=local-exec $mk tls-le.o tls-target tls-le 1 $P/tls-exe.c "func probe probe_v2"
	$mk tlsl-gd.o libtlsl.so tlsl-gd 1 $P/tls-lib.c "func lprobe lprobe_v2"
	PATCH_CFLAGS=-ftls-model=local-dynamic $mk tlsl-ld.o libtlsl.so tlsl-ld 1 $P/tls-lib.c "func lprobe lprobe_v2"
	PATCH_CFLAGS=-ftls-model=initial-exec $mk tlsl-ie.o libtlsl.so tlsl-ie 1 $P/tls-lib.c "func lprobe lprobe_v2"
	$mk ifunc.o tls-target ifunc-1 1 $P/ifunc.c "func slen slen_v2"
	$mk ifunc-dl.o tls-dl ifunc-dl 1 $P/ifunc.c "func slen slen_v2"
	PATCH_CFLAGS=-mtls-dialect=gnu2 $mk tls-desc.o tls-target tls-desc 1 $P/tls-exe.c "func probe probe_v2"
	$mk tls-new.o tls-target tls-new 1 $P/tls-new.c "func probe probe_v2"
	# The relocation types each case is about, or the case proves nothing.
	readelf -rW tls-gd.o | grep -q R_X86_64_TLSGD
	readelf -rW tls-ie.o | grep -q R_X86_64_GOTTPOFF
	readelf -rW tls-le.o | grep -q R_X86_64_TPOFF32
	readelf -rW tlsl-ld.o | grep -q R_X86_64_TLSLD
	readelf -rW tlsl-ld.o | grep -q R_X86_64_DTPOFF32
	readelf -rW tlsl-ie.o | grep -q R_X86_64_GOTTPOFF
	readelf -rW tls-desc.o | grep -q R_X86_64_GOTPC32_TLSDESC
	readelf -sW "$(ldd tls-target | awk '/libc.so/ { print $3 }')" | grep -Eq 'IFUNC .* strlen@@'
}

if ! (tls_build) >"$W/tls-build.log" 2>&1; then
	fail tls/build "$(tail -3 "$W/tls-build.log" | tr '\n' ' ')"
elif start out-tls ./tls-target "$W/out-tls"; then
	tp_tls=$tp
	wait_for out-tls "$TORIG" || fail tls/original "$(line out-tls)"
	roundtrip tls/exe-global-dynamic $tp_tls out-tls tls-gd.o tls-gd '^p=1100,1200,1300 l=11,22,33 s=5 w=yyy '
	roundtrip tls/exe-initial-exec $tp_tls out-tls tls-ie.o tls-ie '^p=1100,1200,1300 '
	roundtrip tls/exe-local-exec $tp_tls out-tls tls-le.o tls-le '^p=1100,1200,1300 '
	roundtrip tls/library-global-dynamic $tp_tls out-tls tlsl-gd.o tlsl-gd '^p=100,200,300 l=1010,2020,3030 '
	roundtrip tls/library-local-dynamic $tp_tls out-tls tlsl-ld.o tlsl-ld '^p=100,200,300 l=1010,2020,3030 '
	roundtrip tls/library-initial-exec $tp_tls out-tls tlsl-ie.o tlsl-ie '^p=100,200,300 l=1010,2020,3030 '
	roundtrip ifunc/strlen-memcpy $tp_tls out-tls ifunc.o ifunc-1 '^p=100,200,300 l=11,22,33 s=50 '
	for c in desc:tls-desc:'TLS relocation type .* not supported' new:tls-new:'new thread-local data is not supported'; do
		IFS=: read -r name obj why <<<"$c"
		"$L" user apply $obj.o --pid $tp_tls >"$W/$obj.log" 2>&1
		rc=$?
		if [ $rc = 4 ] && [ "$(wc -l <"$W/$obj.log")" = 1 ] && grep -q "$why" "$W/$obj.log" &&
		   no_patch $tp_tls && running $tp_tls out-tls && wait_for out-tls "$TORIG"; then
			pass tls/refuse-$name
		else
			fail tls/refuse-$name "exit $rc: $(cat "$W/$obj.log")"
		fi
	done
	kill -9 $tp_tls
else
	fail tls/start "target did not start"
fi

# ---- a library opened with dlopen: its TLS is dynamic, not static ----
if [ -f "$W/tls-dl" ] && start out-tdl ./tls-dl "$W/out-tdl" D; then
	tp_dl=$tp
	if wait_for out-tdl '^p=100,200,300 l=11,22,33 '; then
		roundtrip tls/dlopened-library-global-dynamic $tp_dl out-tdl tlsl-gd.o tlsl-gd ' l=1010,2020,3030 '
		"$L" user apply tlsl-ie.o --pid $tp_dl >"$W/tdl-ie.log" 2>&1
		rc=$?
		if [ $rc = 6 ] && [ "$(wc -l <"$W/tdl-ie.log")" = 1 ] && grep -q 'not in static TLS' "$W/tdl-ie.log" &&
		   no_patch $tp_dl && running $tp_dl out-tdl; then
			pass tls/refuse-initial-exec-into-dlopened
		else
			fail tls/refuse-initial-exec-into-dlopened "exit $rc: $(cat "$W/tdl-ie.log")"
		fi
		# This program never calls memcpy: its IFUNC is bound through libc's own slots or the agent's.
		roundtrip ifunc/unresolved-in-program $tp_dl out-tdl ifunc-dl.o ifunc-dl ' s=50 '
	else
		fail tls/dlopened-library-global-dynamic "library not loaded: $(line out-tdl)"
	fi
	kill -9 $tp_dl
fi
unset ORIG_RE
