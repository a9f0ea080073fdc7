# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/daemon/run.sh, flow.sh and userflow.sh: result lines,
# the portal's admin API, and stand-in devices. Expects W (the work
# directory); req needs data, base and admin; cycle and status call the
# script's own dev NAME COMMAND... (each script runs the agent its way).
# PASS/FAIL lines carry the prefix in P when it is set ("sqlite: ...").
pass() { echo "PASS: ${P:+$P: }$1"; }
fail() { echo "FAIL: ${P:+$P: }$1 (${2:-})"; }
check() { local name=$1 why=$2; shift 2; if "$@"; then pass "$name"; else fail "$name" "$why"; fi; }
q() { "$@" >/dev/null 2>&1; }

req() { # METHOD PATH [BODY|@FILE [TYPE]]: sets CODE and BODY, as the admin
	local args=(-s --max-time 10 --cacert "$data/tls/cert.pem" -X "$1" -o "$W/body" -w '%{http_code}'
		-H "Authorization: Bearer $admin")
	[ -n "${3-}" ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
	CODE=$(curl "${args[@]}" "$base$2")
	BODY=$(cat "$W/body" 2>/dev/null)
}
# js EXPR: a Python expression over the last answer's body, bound to d.
js() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$BODY" "$1" 2>/dev/null; }

# A device's sysroot under $W/NAME/sys: what the agent reads of the running
# kernel (release, arch, /proc/version, boot id, uptime, the build-id note),
# os-release, and /sys/kernel/livepatch unless the third argument is "no-klp".
mkdev() { # name kernel-build-id [no-klp]
	local d=$W/$1/sys
	mkdir -p "$d/proc/sys/kernel/random" "$d/sys/kernel" "$d/etc"
	[ "${3-}" = no-klp ] || mkdir -p "$d/sys/kernel/livepatch"
	echo x86_64 >"$d/proc/sys/kernel/arch"
	echo "$REL" >"$d/proc/sys/kernel/osrelease"
	echo "$1" >"$d/proc/sys/kernel/hostname"
	echo "Linux version $REL (debian-kernel@lists.debian.org) #1 SMP" >"$d/proc/version"
	cat /proc/sys/kernel/random/uuid >"$d/proc/sys/kernel/random/boot_id"
	echo "12345.67 20000.00" >"$d/proc/uptime"
	printf 'PRETTY_NAME="Debian GNU/Linux 12 (%s)"\nID=debian\n' "$1" >"$d/etc/os-release"
	python3 -c "import struct,sys; b=bytes.fromhex('$2'); sys.stdout.buffer.write(struct.pack('<III',4,len(b),3)+b'GNU\0'+b)" >"$d/sys/kernel/notes"
}
cycle() { local n; for n in "$@"; do dev "$n" daemon --once >"$W/$n.out" 2>&1; done; }
# status NAME EXPR: a Python expression over `livefix status --json`, bound to d.
status() { dev "$1" status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2" 2>/dev/null; }
uid() { sed -n 's/.* as device \(.*\)$/\1/p' "$W/$1.reg"; }

# A portal for the flow scripts, on SQLite or (dbopt) PostgreSQL, on a free
# port, killed after kill_after seconds; sets data, port, base, admin, spid
# (the timer) and ppid_ (the portal). Exits the script when it does not answer.
start_flow_portal() { # kill-after-seconds
	data=$W/portal
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	base=https://127.0.0.1:$port
	admin=$("$portal" init --data "$data" "${dbopt[@]}" 2>/dev/null)
	timeout -s KILL "$1" "$portal" serve --data "$data" --listen "127.0.0.1:$port" \
		--checkin-interval 600 >"$data/serve.log" 2>&1 &
	spid=$!
	for _ in $(seq 50); do ppid_=$(pgrep -P "$spid" -x livefix-portal) && break; sleep 0.1; done
	for _ in $(seq 100); do req GET /healthz && [ "$CODE" = 200 ] && break; sleep 0.1; done
	[ "$CODE" = 200 ] || { fail "portal starts" "$(tail -3 "$data/serve.log")"; exit 0; }
}
