#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions per idle check-in, counted by callgrind (user space of the
# portal process only; deterministic, unlike throughput on a shared machine).
# The portal runs under valgrind with BENCH_DEVICES enrolled devices; after
# a warm-up the counters are zeroed, BENCH_CHECKINS idle check-ins are sent
# one after another over one keep-alive TLS connection, each with the next
# device's credential, and the counters are dumped. Prints the figure;
# BENCH_KEEP=FILE keeps the dump (callgrind_annotate FILE). BENCH_DB=postgresql runs against a throwaway cluster.
#   BENCH_DEVICES (10000)  BENCH_CHECKINS (1000)  BENCH_DB (sqlite)
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${LIVEFIX_BUILD:-$src/build/main}
portal=$build/src/portal/livefix-portal
cluster=$src/tests/portal/pg_cluster.sh
devices=${BENCH_DEVICES:-10000}
checkins=${BENCH_CHECKINS:-1000}
db=${BENCH_DB:-sqlite}
command -v valgrind >/dev/null || { echo "callgrind: no valgrind (apt-get install valgrind)"; exit 1; }

work=$(mktemp -d /tmp/lfportal-cg.XXXXXX)
pid=
pgdir=
cleanup() {
	exec 2>/dev/null
	[ -n "$pid" ] && kill -TERM "$pid" && wait "$pid"
	[ -n "$pgdir" ] && "$cluster" stop "$pgdir"
	rm -rf "$work"
}
trap cleanup EXIT

url=
if [ "$db" = postgresql ]; then
	pgdir=$(mktemp -d /tmp/lfpg.XXXXXX)
	url=$("$cluster" start "$pgdir") || { echo "callgrind: postgresql did not start"; exit 1; }
fi
data=$work/data
"$portal" init --data "$data" ${url:+--db "$url"} >/dev/null 2>&1 || { echo "callgrind: init failed"; exit 1; }
mkdir -p "$work/repo"
for role in root targets snapshot timestamp; do
	echo "{\"signed\":{\"_type\":\"$role\",\"version\":1},\"signatures\":[]}" >"$work/repo/$role.json"
done
"$portal" publish --data "$data" --repo "$work/repo" --feed production >/dev/null || exit 1

# The same idle inventory as run.sh, and devices whose stored digest matches it.
python3 - "$work" "$devices" <<'PY' || exit 1
import hashlib, json, sys
out, n = sys.argv[1], int(sys.argv[2])
inv = {"hostname": "bench", "arch": "x86_64", "distro": "debian 12",
    "agent_version": "0.1.0", "doctor": "ok", "policy_state": "idle",
    "kernel": {"release": "6.1.0-56-amd64", "build_id": "kb1", "level": 0}}
ih = hashlib.sha256(json.dumps(inv, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
with open(out + "/tokens", "w") as t, open(out + "/devices.tsv", "w") as d:
    for i in range(n):
        tok = "lfd_bench%034d" % i
        t.write(tok + "\n")
        d.write("bench%08d\t%s\t%s\n" % (i, hashlib.sha256(tok.encode()).hexdigest(), ih))
PY
insert_sql="INSERT INTO devices (uid, group_id, hostname, kernel_build_id, kernel_level,
 inventory_hash, enrolled) SELECT uid, 1, 'bench', 'kb1', 0, inventory_hash, 1 FROM bench;
INSERT INTO device_credentials (device_id, token_hash, created)
 SELECT d.id, b.token_hash, 1 FROM bench b JOIN devices d ON d.uid = b.uid;"
if [ -n "$url" ]; then
	psql -q -v ON_ERROR_STOP=1 "$url" >/dev/null <<SQL || exit 1
CREATE TEMP TABLE bench (uid TEXT, token_hash TEXT, inventory_hash TEXT);
\copy bench FROM '$work/devices.tsv'
BEGIN;
$insert_sql
COMMIT;
ANALYZE;
SQL
else
	python3 - "$data/portal.db" "$work/devices.tsv" "$insert_sql" <<'PY' || exit 1
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TEMP TABLE bench (uid TEXT, token_hash TEXT, inventory_hash TEXT)")
with open(sys.argv[2]) as f:
    db.executemany("INSERT INTO bench VALUES (?, ?, ?)", (l.rstrip("\n").split("\t") for l in f))
db.executescript("BEGIN;" + sys.argv[3] + "COMMIT;")
db.close()
PY
fi

timeout -s KILL 1200 valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
	"$portal" serve --data "$data" --listen 127.0.0.1:0 --threads 2 \
	--checkin-interval 3600 ${url:+--db "$url"} >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -s "$data/portal.port" ] && break; sleep 0.1; done
[ -s "$data/portal.port" ] || { cat "$work/serve.log"; exit 1; }
vg=$(pgrep -P "$pid" | head -1) # valgrind runs the portal under timeout

# client N: N sequential idle check-ins on one connection; prints the last answer.
client() {
	python3 - "$data/tls/cert.pem" "$(cat "$data/portal.port")" "$work/tokens" "$1" <<'PY'
import http.client, json, ssl, sys
cert, port, tokfile, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
tokens = [l.strip() for l in open(tokfile)]
ctx = ssl.create_default_context(cafile=cert)
ctx.check_hostname = False
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
path = "/api/v1/devices/self/checkin"
inv = {"hostname": "bench", "arch": "x86_64", "distro": "debian 12",
    "agent_version": "0.1.0", "doctor": "ok", "policy_state": "idle", "uptime": 86400,
    "kernel": {"release": "6.1.0-56-amd64", "build_id": "kb1", "level": 0},
    "timestamp_etag": "", "policy_etag": ""}
def post(tok, body):
    c.request("POST", path, body, {"Authorization": "Bearer " + tok,
                                    "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit("callgrind: check-in answered %d: %s" % (r.status, data))
    return json.loads(data)
first = post(tokens[-1], json.dumps(inv, separators=(",", ":")))
inv["timestamp_etag"] = first.get("timestamp_etag", "")
inv["policy_etag"] = first["policy_etag"]
body = json.dumps(inv, separators=(",", ":"))
for i in range(n):
    last = post(tokens[i % len(tokens)], body)
if last.get("update") or "policy" in last:
    sys.exit("callgrind: check-ins were not idle: %s" % last)
print(json.dumps(last, separators=(",", ":")), len(body))
PY
}

client 50 >/dev/null || exit 1
callgrind_control -z "$vg" >/dev/null || exit 1
last=$(client "$checkins") || exit 1
callgrind_control -d "$vg" >/dev/null || exit 1
sleep 1
dump=$(ls -t "$work"/cg."$vg"* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
echo "callgrind: $db, $devices devices, $checkins idle check-ins (body ${last##* } bytes)"
echo "callgrind: answer ${last% *}"
echo "callgrind: $((total / checkins)) instructions per idle check-in (portal process, user space)"
# An idle check-in must not store the inventory again (same digest as run.sh's).
if [ -z "$url" ]; then
	stored=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM devices WHERE inventory IS NOT NULL").fetchone()[0])' "$data/portal.db")
	echo "callgrind: devices whose inventory was written again: $stored (0 expected)"
fi
[ -n "${BENCH_KEEP-}" ] && cp "$dump" "$BENCH_KEEP" && echo "callgrind: dump kept in $BENCH_KEEP"
exit 0
