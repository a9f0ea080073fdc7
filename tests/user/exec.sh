# SPDX-License-Identifier: Apache-2.0
# Sourced by run.sh after tls.sh (its helpers and programs): livefix daemon
# patches processes that start after a userspace bundle was applied, at
# exec time (proc connector) and when a library is dlopen'ed later (scan).
# Prints the window each new process ran unpatched, from the daemon's log.
LB=$build/src/builder/livefix-build
XS=$W/xstate
XA=("$L" apply --state-dir "$XS" --key "$W/xk.key.pub")
XORIG='^p=100,200,300 l=11,22,33 s=5 '

exec_bundles() {
	"$LB" keygen --role targets -o "$W/xk.key" &&
	"$LB" bundle --kind user --payload atstart.o --target-elf target-pie --level 1 \
		--key "$W/xk.key" -o "$W/xstart.lfb" &&
	"$LB" bundle --kind user --payload tls-gd.o --target-elf tls-target --level 1 \
		--key "$W/xk.key" -o "$W/xexe.lfb" &&
	"$LB" bundle --kind user --payload tlsl-gd.o --target-elf libtlsl.so --level 1 \
		--key "$W/xk.key" -o "$W/xlib.lfb"
}

daemon_start() { # log [env...]
	local log=$1; shift
	env "$@" "$L" daemon --state-dir "$XS" --user-scan 1 2>"$W/$log" &
	xd=$!
	pids+=("$xd")
	for _ in $(seq 100); do	# up once it has loaded the store
		grep -q 'kept for new processes' "$W/$log" && return 0
		sleep 0.05
	done
	return 1
}
daemon_stop() { kill -TERM "$xd" 2>/dev/null; wait "$xd" 2>/dev/null; }

# A new process of the patched program shows the patched output, and the daemon says when.
new_process_patched() { # name daemon-log out program... -> sets $xp
	local name=$1 log=$2 out=$3
	shift 3
	start "$out" "$@" || { fail "$name" "target did not start"; return 1; }
	xp=$tp
	if ! wait_for "$out" '^p=1100,1200,1300 '; then
		fail "$name" "not patched: $(line "$out"); daemon: $(tail -2 "$W/$log" | tr '\n' ' ')"
		return 1
	fi
	running $xp "$out" || { fail "$name" "target not running"; return 1; }
	return 0
}

if [ ! -f "$W/tls-target" ] || ! (cd "$W" && exec_bundles) >"$W/xbuild.log" 2>&1; then
	fail exec/build "$(tail -3 "$W/xbuild.log" 2>/dev/null | tr '\n' ' ')"
elif ! daemon_start xd1.log; then
	fail exec/daemon "did not start: $(cat "$W/xd1.log")"
else
	# A bundle applied with the daemon running: the running process first.
	start out-xa ./tls-target "$W/out-xa" && xa=$tp
	if "${XA[@]}" "$W/xexe.lfb" >"$W/xa.log" 2>&1 && wait_for out-xa '^p=1100,1200,1300 ' &&
	   [ -s "$XS/user/$(readelf -n tls-target | awk '/Build ID:/ { print $3 }').lfb" ]; then
		pass exec/bundle-applied-and-kept
	else
		fail exec/bundle-applied-and-kept "$(cat "$W/xa.log") $(line out-xa)"
	fi
	# New processes, five times: each is patched at its exec.
	ok=0
	for i in 1 2 3 4 5; do
		if new_process_patched exec/new-process-$i xd1.log out-xn$i ./tls-target "$W/out-xn$i"; then
			grep -q "pid $xp: applied [^ ]* level 1 (patch tls-gd) at exec" "$W/xd1.log" && ok=$((ok + 1))
			# How many lines it printed before the patch (one every 3 ms).
			echo "$(grep -cv '^p=1100' "$W/out-xn$i")" >>"$W/xunpatched"
			kill -9 $xp
		fi
	done
	[ $ok = 5 ] && pass exec/new-processes-patched-at-exec ||
		fail exec/new-processes-patched-at-exec "$ok of 5: $(tail -3 "$W/xd1.log" | tr '\n' ' ')"
	ms=$(grep -o 'at exec, [0-9.]* ms after exec' "$W/xd1.log" | awk '{ print $3 }' | sort -n |
	     awk '{ v[NR] = $1 } END { if (NR) printf "median %s ms, min %s, max %s (%d processes)", v[int((NR + 1) / 2)], v[1], v[NR], NR }')
	ld=$(grep -o 'loader done at [0-9.]* ms' "$W/xd1.log" | awk '{ print $4 }' | sort -n |
	     awk '{ v[NR] = $1 } END { if (NR) printf "median %s ms", v[int((NR + 1) / 2)] }')
	echo "# exec-time window (exec to patched, daemon's log): $ms; loader done: $ld;" \
	     "unpatched lines printed: $(sort -n "$W/xunpatched" 2>/dev/null | tr '\n' ' ')"

	# A library opened with dlopen long after the exec: found by the periodic scan.
	if "${XA[@]}" "$W/xlib.lfb" >"$W/xl.log" 2>&1 && wait_for out-xa ' l=1010,2020,3030 '; then
		if start out-xdl ./tls-dl "$W/out-xdl" D; then
			xdl=$tp
			for _ in 1 2 3; do wait_for out-xdl ' l=1010,2020,3030 ' && break; done
			if line out-xdl | grep -q ' l=1010,2020,3030 ' &&
			   grep -q "pid $xdl: applied [^ ]* level 1 (patch tlsl-gd) (found by scan" "$W/xd1.log"; then
				pass exec/dlopened-library-patched
			else
				fail exec/dlopened-library-patched "$(line out-xdl); $(tail -2 "$W/xd1.log" | tr '\n' ' ')"
			fi
			kill -9 $xdl
		fi
	else
		fail exec/dlopened-library-patched "library bundle: $(cat "$W/xl.log")"
	fi
	daemon_stop

	# A new daemon (a restart) knows the applied patches from the state directory.
	if daemon_start xd2.log && new_process_patched exec/after-daemon-restart xd2.log out-xr ./tls-target "$W/out-xr"; then
		grep -q "pid $xp: applied [^ ]* level 1 (patch tls-gd) at exec" "$W/xd2.log" && pass exec/after-daemon-restart ||
			fail exec/after-daemon-restart "$(tail -2 "$W/xd2.log" | tr '\n' ' ')"
		kill -9 $xp
	fi
	daemon_stop

	# Without the proc connector: the /proc scan every second finds it.
	if daemon_start xd3.log LIVEFIX_TEST_NO_PROC_CONNECTOR=1 &&
	   new_process_patched exec/without-proc-connector xd3.log out-xs ./tls-target "$W/out-xs"; then
		grep -q 'exec events unavailable' "$W/xd3.log" && grep -q "pid $xp: applied [^ ]* level 1 (patch tls-gd) (found by scan" "$W/xd3.log" &&
			pass exec/without-proc-connector || fail exec/without-proc-connector "$(cat "$W/xd3.log" | tr '\n' ' ')"
		kill -9 $xp
	fi
	daemon_stop
	# A process that is inside the patched function when it starts: refused
	# at exec, retried by the daemon, patched once the function is left (its
	# thread then exits: glibc's single-threaded flag stays 0, so the process
	# counts as loaded by its age, 5 s).
	if "${XA[@]}" "$W/xstart.lfb" >"$W/xst.log" 2>&1 && daemon_start xd4.log LIVEFIX_DEBUG=1 &&
	   start out-xw ./target-pie "$W/out-xw" 0 W; then
		xw=$tp
		active() { "$L" user list --pid $xw | awk '$2 == "atstart-1" && $4 == "applied"' | grep -q .; }
		for _ in $(seq 300); do active && break; sleep 0.05; done # at most 15 s
		if active && running $xw out-xw &&
		   grep -q "pid $xw: [^ ]* not applied yet: .*busy_at_start.*attempt 1" "$W/xd4.log" &&
		   grep -q "pid $xw: applied [^ ]* level 1 (patch atstart-1) (found by scan" "$W/xd4.log"; then
			pass exec/busy-at-exec-retried
		else
			fail exec/busy-at-exec-retried "$(cat "$W/xst.log" "$W/xd4.log" | tr '\n' ' ')"
		fi
		kill -9 $xw
	else
		fail exec/busy-at-exec-retried "$(cat "$W/xst.log" "$W/xd4.log" 2>/dev/null | tr '\n' ' ')"
	fi
	daemon_stop
	# The first process kept both patches through all of this.
	wait_for out-xa '^p=1100,1200,1300 l=1010,2020,3030 ' && running $xa out-xa &&
		pass exec/first-process-unchanged || fail exec/first-process-unchanged "$(line out-xa)"
	kill -9 $xa
fi
