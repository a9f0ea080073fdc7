# SPDX-License-Identifier: Apache-2.0
# Sourced by run.sh after tls.sh (its helpers and programs): livefix apply
# --repo DIR applies the feed's userspace bundles for files of this device,
# through the same TUF verification as kernel bundles. A local signed
# repository is made with livefix-build, as tests/trust does.
LB=$build/src/builder/livefix-build
RS=$W/rstate
RA=("$L" apply --state-dir "$RS" --repo "$W/urepo")

repo_make() {
	set -e
	cd "$W"
	local role
	for role in root targets snapshot timestamp; do
		"$LB" keygen --role $role -o r$role.key >/dev/null
	done
	"$LB" repo init urepo --root-key rroot.key --targets-key rtargets.key.pub \
		--snapshot-key rsnapshot.key.pub --timestamp-key rtimestamp.key.pub >/dev/null
	# The program (running), its library at two levels (the higher wins), a
	# file found only on disk, and a file this device does not have.
	mkdir -p rdisk
	# Another build of the program (another build-id) that no process runs.
	gcc -O1 -fPIE -pie -Wl,--build-id -o rdisk/tls-disk-only "$S/tls-target.c" -L. -ltlsl \
		-Wl,-rpath,"$W" -lpthread
	printf 'int main(void) { return 0; }\n' | gcc -x c -O2 -Wl,--build-id -o rdisk/elsewhere -
	"$S/mkpatch.sh" disk.o rdisk/tls-disk-only disk-1 1 "$S/patches/tls-exe.c" "func probe probe_v2"
	"$LB" bundle --kind user --payload tls-ie.o --target-elf tls-target --level 1 --key rtargets.key -o r-exe.lfb
	"$LB" bundle --kind user --payload tlsl-gd.o --target-elf libtlsl.so --level 1 --key rtargets.key -o r-lib1.lfb
	"$LB" bundle --kind user --payload tlsl-ld.o --target-elf libtlsl.so --level 2 --id r-lib2 --key rtargets.key -o r-lib2.lfb
	"$LB" bundle --kind user --payload disk.o --target-elf rdisk/tls-disk-only --level 1 --key rtargets.key -o r-disk.lfb
	"$LB" bundle --kind user --payload tiny.o --target-elf rdisk/elsewhere --level 1 --key rtargets.key -o r-none.lfb
	"$LB" repo add urepo --key rtargets.key r-exe.lfb r-lib1.lfb r-lib2.lfb r-disk.lfb r-none.lfb >/dev/null
	"$LB" repo sign urepo --snapshot-key rsnapshot.key --timestamp-key rtimestamp.key >/dev/null
	rm rdisk/elsewhere	# the device does not have it
	"$L" trust init --state-dir "$RS" urepo/root.json >/dev/null
}

if [ ! -f "$W/tls-target" ] || ! (repo_make) >"$W/rbuild.log" 2>&1; then
	fail repo/build "$(tail -3 "$W/rbuild.log" 2>/dev/null | tr '\n' ' ')"
elif start out-rp ./tls-target "$W/out-rp"; then
	rp=$tp
	export LIVEFIX_USER_DIRS=$W/rdisk
	"${RA[@]}" --dry-run >"$W/r0.log" 2>&1
	if grep -q '^would-apply: userspace patch' "$W/r0.log" && wait_for out-rp "$TORIG" && no_patch $rp; then
		pass repo/dry-run-touches-nothing
	else
		fail repo/dry-run-touches-nothing "$(cat "$W/r0.log") $(line out-rp)"
	fi
	if "${RA[@]}" --json >"$W/r1.json" 2>"$W/r1.log" && python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["user"]) == 3, r
st = {x["level"]: x["status"] for x in r["user"]}
assert sorted(x["status"] for x in r["user"]) == ["applied", "applied", "kept"], r
assert 2 in st and st[2] == "applied", r   # the library at level 2, not 1
' "$W/r1.json" 2>"$W/r1.err" && wait_for out-rp '^p=1100,1200,1300 l=1010,2020,3030 '; then
		pass repo/user-bundles-applied-highest-level
	else
		fail repo/user-bundles-applied-highest-level "$(cat "$W/r1.log" "$W/r1.err") $(line out-rp)"
	fi
	"$L" user list --pid $rp | grep -q ' tlsl-ld ' && pass repo/library-level-2-running ||
		fail repo/library-level-2-running "$("$L" user list --pid $rp | tr '\n' ' ')"
	n=$(ls "$RS/user" 2>/dev/null | grep -c '\.lfb$')
	[ "$n" = 3 ] && [ -s "$RS/user/$(readelf -n rdisk/tls-disk-only | awk '/Build ID:/ { print $3 }').lfb" ] &&
		pass repo/disk-only-file-kept-for-exec || fail repo/disk-only-file-kept-for-exec "$(ls "$RS/user")"
	"${RA[@]}" >"$W/r2.log" 2>&1 && [ "$(grep -c '^up-to-date: userspace patch' "$W/r2.log")" = 3 ] &&
		pass repo/second-run-up-to-date || fail repo/second-run-up-to-date "$(cat "$W/r2.log")"
	# A targets role changed after signing (a user entry's level) is refused by TUF.
	cp -a "$W/urepo" "$W/urepo-bad"
	python3 - "$W/urepo-bad" <<'PY'
import glob, json, sys
for p in glob.glob(sys.argv[1] + "/targets/*.json") + glob.glob(sys.argv[1] + "/targets/*/*.json"):
	d = json.load(open(p))
	for t in d["signed"].get("targets", {}).values():
		if t.get("custom", {}).get("kind") == "user":
			t["custom"]["level"] += 10
	json.dump(d, open(p, "w"))
PY
	rm -rf "$RS.bad" && "$L" trust init --state-dir "$RS.bad" "$W/urepo/root.json" >/dev/null
	"$L" apply --state-dir "$RS.bad" --repo "$W/urepo-bad" >"$W/r3.log" 2>&1
	rc=$?
	if [ $rc = 3 ] && [ "$(wc -l <"$W/r3.log")" = 1 ] && [ ! -d "$RS.bad/user" ] &&
	   "$L" user list --pid $rp | grep -q ' tlsl-ld '; then
		pass repo/tampered-targets-refused
	else
		fail repo/tampered-targets-refused "exit $rc: $(cat "$W/r3.log")"
	fi
	# The program found only on disk starts later: livefix daemon patches it at exec.
	"$L" daemon --state-dir "$RS" 2>"$W/rd.log" &
	rd=$!
	pids+=("$rd")
	for _ in $(seq 100); do grep -q 'kept for new processes' "$W/rd.log" && break; sleep 0.05; done
	if start out-rdisk "$W/rdisk/tls-disk-only" "$W/out-rdisk" && wait_for out-rdisk '^p=1100,1200,1300 l=1010,2020,3030 ' &&
	   grep -q "pid $tp: applied [^ ]* level 1 (patch disk-1) at exec" "$W/rd.log"; then
		pass repo/disk-only-program-patched-at-exec
	else
		fail repo/disk-only-program-patched-at-exec "$(line out-rdisk); $(tr '\n' ' ' <"$W/rd.log")"
	fi
	kill -9 $tp 2>/dev/null
	kill -TERM $rd; wait $rd 2>/dev/null
	# The targets keys withdraw the library's level 2: the device reverts it
	# and, level 1 being still offered, goes back to it; what it keeps for
	# new processes is level 1 too.
	lib_kept=$RS/user/$(readelf -n "$W/libtlsl.so" | awk '/Build ID:/ { print $3 }').lfb
	if (cd "$W" && "$LB" repo withdraw urepo --key rtargets.key r-lib2 &&
	    "$LB" repo sign urepo --snapshot-key rsnapshot.key --timestamp-key rtimestamp.key) >"$W/rw.log" 2>&1 &&
	   "${RA[@]}" >"$W/r4.log" 2>&1 && grep -q '^reverted: withdrawn r-lib2 (level 2' "$W/r4.log" &&
	   "$L" user list --pid $rp | grep -q ' tlsl-gd ' && ! "$L" user list --pid $rp | grep -q ' tlsl-ld ' &&
	   cmp -s "$lib_kept" "$W/r-lib1.lfb" &&
	   wait_for out-rp '^p=1100,1200,1300 l=1010,2020,3030 '; then
		pass repo/withdrawn-user-bundle-reverted-to-level-1
	else
		fail repo/withdrawn-user-bundle-reverted-to-level-1 "$(cat "$W/rw.log" "$W/r4.log" | tr '\n' ' '); $("$L" user list --pid $rp | tr '\n' ' ')"
	fi
	# Reverted everywhere by hand: no longer kept, so new processes stay unpatched.
	if LIVEFIX_STATE_DIR=$RS "$L" user revert tlsl-gd >"$W/r5.log" 2>&1 && [ ! -e "$lib_kept" ] &&
	   ! "$L" user list --pid $rp | grep -q ' tlsl-gd '; then
		pass repo/revert-everywhere-forgets-kept-bundle
	else
		fail repo/revert-everywhere-forgets-kept-bundle "$(cat "$W/r5.log"); $(ls "$RS/user")"
	fi
	unset LIVEFIX_USER_DIRS
	kill -9 $rp
else
	fail repo/start "target did not start"
fi
