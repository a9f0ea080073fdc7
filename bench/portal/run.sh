#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Idle check-ins per second and latency of livefix-portal with many enrolled
# devices, on SQLite and on PostgreSQL, against nginx answering the same
# number of bytes over the same TLS 1.3 on loopback in the same run (the
# ceiling for any HTTPS server on this machine). Load from wrk, one device
# credential after another. Prints figures and ratios; never fails on time.
#   BENCH_DEVICES (100000)  BENCH_SECONDS (10)  BENCH_CONNECTIONS (64)
#   BENCH_WARMUP (seconds before each measured run: 1 per 10,000 devices, at least 2)
#   BENCH_POSTGRESQL=0: SQLite and nginx only; BENCH_SQLITE=0: PostgreSQL and nginx only
#   BENCH_AGENT=0: no agent footprint
#   BENCH_NOCACHE=0: skip the baseline runs with the check-in cache off
#   (--checkin-cache 0: every check-in reads the database)
#   BENCH_PERF=DIR: also `perf record -g` the portal during each measured run
#   (DIR/<backend>.data; read with perf report -i); figures then include its cost.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${LIVEFIX_BUILD:-${BUILD:-$src/build}/main}
[ -x "$build/src/portal/livefix-portal" ] || build=$src/build/main
portal=$build/src/portal/livefix-portal
cluster=$src/tests/portal/pg_cluster.sh
devices=${BENCH_DEVICES:-100000}
seconds=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-64}
warmup=${BENCH_WARMUP:-$(( (devices + 9999) / 10000 > 2 ? (devices + 9999) / 10000 : 2 ))}

"$src/scripts/deps.sh" bench || exit 1 # wrk and nginx
for tool in wrk nginx python3 curl; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench: no $tool"; exit 1; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/lfportal-bench.XXXXXX)
chmod 755 "$work"
pids=()
pgdir=
cleanup() {
	exec 2>/dev/null
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}"; done
	sleep 0.5
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -9 "${pids[$i]}"; done
	wait
	[ -n "$pgdir" ] && "$cluster" stop "$pgdir"
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The repository and the idle inventory every device sends.
mkdir -p "$work/repo"
for role in root targets snapshot timestamp; do
	echo "{\"signed\":{\"_type\":\"$role\",\"version\":1},\"signatures\":[]}" >"$work/repo/$role.json"
done
inventory() { # timestamp-etag policy-etag
	python3 - "$1" "$2" <<'PY'
import json, sys
print(json.dumps({"hostname": "bench", "arch": "x86_64", "distro": "debian 12",
    "agent_version": "0.1.0", "doctor": "ok", "policy_state": "idle", "uptime": 86400,
    "kernel": {"release": "6.1.0-56-amd64", "build_id": "kb1", "level": 0},
    "timestamp_etag": sys.argv[1], "policy_etag": sys.argv[2]}, separators=(",", ":")))
PY
}

# Devices go straight into the database: uid, credential hash, and the
# inventory hash of the idle body, so that every check-in is idle.
generate() { # out-dir
	python3 - "$1" "$devices" "$(inventory '' '')" <<'PY'
import hashlib, json, sys
out, n, inv = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
for k in ("uptime", "timestamp_etag", "policy_etag"):
    inv.pop(k)
ih = hashlib.sha256(json.dumps(inv, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
with open(out + "/tokens", "w") as t, open(out + "/devices.tsv", "w") as d:
    for i in range(n):
        tok = "lfd_bench%034d" % i
        t.write(tok + "\n")
        d.write("bench%08d\t%s\t%s\n" % (i, hashlib.sha256(tok.encode()).hexdigest(), ih))
PY
}

load_sql="CREATE TEMP TABLE bench (uid TEXT, token_hash TEXT, inventory_hash TEXT);"
insert_sql="INSERT INTO devices (uid, group_id, hostname, kernel_build_id, kernel_level,
 inventory_hash, enrolled) SELECT uid, 1, 'bench', 'kb1', 0, inventory_hash, 1 FROM bench;
INSERT INTO device_credentials (device_id, token_hash, created)
 SELECT d.id, b.token_hash, 1 FROM bench b JOIN devices d ON d.uid = b.uid;"

load_sqlite() { # data-dir
	python3 - "$1/portal.db" "$work/devices.tsv" "$insert_sql" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TEMP TABLE bench (uid TEXT, token_hash TEXT, inventory_hash TEXT)")
with open(sys.argv[2]) as f:
    db.executemany("INSERT INTO bench VALUES (?, ?, ?)", (l.rstrip("\n").split("\t") for l in f))
db.executescript("BEGIN;" + sys.argv[3] + "COMMIT;")
db.close()
PY
}

load_pg() { # url
	psql -q -v ON_ERROR_STOP=1 "$1" <<SQL
$load_sql
\copy bench FROM '$work/devices.tsv'
BEGIN;
$insert_sql
COMMIT;
ANALYZE;
SQL
}

req() { # data-dir token body -> body of the answer on stdout
	curl -s --max-time 10 --cacert "$1/tls/cert.pem" -H "Authorization: Bearer $2" \
		--data-binary "$3" "https://127.0.0.1:$(cat "$1/portal.port")/api/v1/devices/self/checkin"
}

start_portal() { # data-dir [db] [serve options...]
	local data=$1 db=${2-}
	shift $(($# < 2 ? $# : 2))
	rm -f "$data/portal.port"
	timeout -s KILL 3600 "$portal" serve --data "$data" --listen 127.0.0.1:0 --threads 2 \
		--checkin-interval 3600 ${db:+--db "$db"} "$@" >>"$data/serve.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		[ -s "$data/portal.port" ] && curl -s --max-time 2 --cacert "$data/tls/cert.pem" \
			"https://127.0.0.1:$(cat "$data/portal.port")/healthz" >/dev/null && return 0
		sleep 0.1
	done
	cat "$data/serve.log"
	return 1
}

# wrk NAME URL: runs the load and appends "NAME rps p50ms p99ms non2xx" to results.
run_wrk() {
	local name=$1 url=$2
	# Warm-up: long enough for every device to check in once since the
	# portal started (the steady state of a portal that has run for an
	# interval), so the measured run is idle check-ins of known devices.
	wrk -t1 -c"$conns" -d"${warmup}s" -s "$src/bench/portal/checkin.lua" "$url" >/dev/null 2>&1
	wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$src/bench/portal/checkin.lua" "$url" \
		>"$work/wrk-$name.txt" 2>&1
	python3 - "$name" "$work/wrk-$name.txt" >>"$work/results" <<'PY'
import re, sys
text = open(sys.argv[2]).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\b", text, re.M)
p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", text, re.M)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errs = re.search(r"Socket errors:.*", text)
if not (rps and p50 and p99):
    print(sys.argv[1], "0 0 0 0 wrk-failed")
    sys.stderr.write(text)
else:
    print(sys.argv[1], rps.group(1), "%.3f" % ms(*p50.groups()), "%.3f" % ms(*p99.groups()),
          bad.group(1) if bad else 0, "socket-errors" if errs else "")
PY
}

idle_body=
bench_backend() { # name [db-url [serve options...]]
	local name=$1 db=${2-} data=$work/$1 t0 t1 first ts pe port admin
	shift $(($# < 2 ? $# : 2))
	"$portal" init --data "$data" ${db:+--db "$db"} >"$work/$name.init" 2>&1 || { echo "bench: $name: init failed"; return 1; }
	admin=$(grep -o '^lfa_[A-Za-z0-9_-]*' "$work/$name.init")
	"$portal" publish --data "$data" --repo "$work/repo" --feed production >/dev/null || return 1
	t0=$(date +%s.%N)
	if [ -n "$db" ]; then load_pg "$db"; else load_sqlite "$data"; fi || { echo "bench: $name: load failed"; return 1; }
	t1=$(date +%s.%N)
	printf 'bench: %s: %d devices inserted in %.1f s\n' "$name" "$devices" "$(echo "$t1 - $t0" | bc)"
	start_portal "$data" "$db" "$@" || { echo "bench: $name: portal did not start"; return 1; }
	port=$(cat "$data/portal.port")
	first=$(req "$data" "$(head -1 "$work/tokens")" "$(inventory '' '')")
	ts=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("timestamp_etag",""))' "$first")
	pe=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["policy_etag"])' "$first")
	export BENCH_BODY=$(inventory "$ts" "$pe")
	idle_body=$(req "$data" "$(sed -n 2p "$work/tokens")" "$BENCH_BODY")
	echo "bench: $name: idle check-in: request body ${#BENCH_BODY} bytes, answer ${#idle_body} bytes: $idle_body"
	if [ -n "${BENCH_PERF-}" ]; then
		mkdir -p "$BENCH_PERF"
		(sleep 3; perf record -F 499 -g -o "$BENCH_PERF/$name.data" \
			-p "$(pgrep -P "${pids[-1]}" -x livefix-portal)" -- sleep $((seconds - 2)) \
			>/dev/null 2>&1) &
	fi
	run_wrk "$name" "https://127.0.0.1:$port/api/v1/devices/self/checkin"
	curl -s --max-time 5 --cacert "$data/tls/cert.pem" -H "Authorization: Bearer $admin" \
		"https://127.0.0.1:$port/metrics" 2>/dev/null | grep '^livefix_portal_checkin_cache_[a-z_]* ' |
		sed "s/^livefix_portal_checkin_cache_/bench: $name: cache /"
	kill -TERM "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null
	cert=$data/tls
}

bench_nginx() {
	local port conf=$work/nginx.conf
	port=$(free_port)
	mkdir -p "$work/nginx-tmp"
	cat >"$conf" <<NGINX
worker_processes 2;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $work/nginx-tmp/body;
	proxy_temp_path $work/nginx-tmp/proxy;
	fastcgi_temp_path $work/nginx-tmp/fastcgi;
	uwsgi_temp_path $work/nginx-tmp/uwsgi;
	scgi_temp_path $work/nginx-tmp/scgi;
	keepalive_requests 10000000;
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $cert/cert.pem;
		ssl_certificate_key $cert/key.pem;
		ssl_protocols TLSv1.3;
		location / {
			default_type application/json;
			return 200 '$idle_body';
		}
	}
}
NGINX
	timeout -s KILL 3600 "$nginx_bin" -c "$conf" -p "$work" >>"$work/nginx.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		curl -sk --max-time 2 -X POST -d x "https://127.0.0.1:$port/" >/dev/null && break
		sleep 0.1
	done
	echo "bench: nginx: static answer of ${#idle_body} bytes over the same TLS 1.3"
	run_wrk nginx "https://127.0.0.1:$port/api/v1/devices/self/checkin"
	kill -TERM "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null
}

echo "bench: $devices devices, ${seconds}s per run, $conns connections, wrk 1 thread, portal 2 threads"
generate "$work"
export BENCH_TOKENS=$work/tokens
: >"$work/results"
if [ "${BENCH_SQLITE:-1}" != 0 ]; then
	bench_backend sqlite
	[ "${BENCH_NOCACHE:-1}" != 0 ] && bench_backend sqlite-nocache "" --checkin-cache 0
fi
if [ "${BENCH_POSTGRESQL:-1}" != 0 ]; then
	pgdir=$(mktemp -d /tmp/lfpg.XXXXXX)
	if url=$("$cluster" start "$pgdir"); then
		bench_backend postgresql "$url"
		if [ "${BENCH_NOCACHE:-1}" != 0 ]; then
			psql -q "$url" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' >/dev/null
			bench_backend postgresql-nocache "$url" --checkin-cache 0
		fi
	else
		echo "bench: postgresql: cluster did not start"
	fi
fi
[ -n "$idle_body" ] && bench_nginx

python3 - "$work/results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
res = {r[0]: r for r in rows}
print("%-18s %12s %10s %10s %8s" % ("target", "checkins/s", "p50 ms", "p99 ms", "non-2xx"))
for r in rows:
    print("%-18s %12.0f %10.3f %10.3f %8s %s" % (r[0], float(r[1]), float(r[2]), float(r[3]), r[4], " ".join(r[5:])))
base = res.get("nginx")
if base and float(base[1]) > 0:
    for name in ("sqlite", "sqlite-nocache", "postgresql", "postgresql-nocache"):
        if name in res and float(res[name][1]) > 0:
            print("ratio %-18s throughput %.2f of nginx, p99 %.1fx nginx" %
                  (name, float(res[name][1]) / float(base[1]),
                   float(res[name][3]) / max(float(base[3]), 1e-9)))
PY
# The device side: the agent's size and idle memory against swupdate and rauc.
if [ "${BENCH_AGENT:-1}" != 0 ]; then
	echo
	"$src/bench/portal/agent.sh"
fi
exit 0
