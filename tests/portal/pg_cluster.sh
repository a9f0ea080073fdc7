#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A throwaway PostgreSQL cluster for tests, reachable only through a unix
# socket inside its own directory (no TCP port, so parallel tests never
# collide), with trust authentication for the user "livefix".
#   pg_cluster.sh start DIR   creates and starts; prints the connection URL
#   pg_cluster.sh stop DIR    stops it (fast shutdown) and removes DIR
# As root, the server runs as the "postgres" system user: initdb refuses root.
set -euo pipefail

bindir=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && bindir=$d
done
[ -n "$bindir" ] || { echo "pg_cluster.sh: no initdb (install postgresql)" >&2; exit 77; }

as_pg() {
	if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-} dir=${2:-}
[ -n "$dir" ] || { echo "usage: pg_cluster.sh start|stop DIR" >&2; exit 2; }

case $cmd in
start)
	mkdir -p "$dir"
	((EUID == 0)) && chown postgres: "$dir"
	as_pg "$bindir/initdb" -D "$dir/data" -U livefix --auth=trust -E UTF8 --no-sync \
		>"$dir/initdb.log" 2>&1
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c max_connections=200" \
		start >/dev/null
	echo "postgresql:///postgres?host=$dir&user=livefix"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: pg_cluster.sh start|stop DIR" >&2
	exit 2
	;;
esac
