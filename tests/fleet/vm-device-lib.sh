# SPDX-License-Identifier: Apache-2.0
# Inside a VM device (busybox sh), after /lf/vm-lib.sh: bring up the network
# QEMU's user networking offers (the host is 10.0.2.2) and talk to the portal
# configured in /lf/fleet by tests/fleet/vm-lib.sh.
# shellcheck shell=sh

FLEET=/lf/fleet
export LIVEFIX_STATE_DIR=/var/lib/livefix

fleet_net_up() { # hostname
	hostname "$1"
	insmod /lf/net/e1000.ko || return 1
	ip link set lo up
	wait_for 50 test -e /sys/class/net/eth0 || return 1
	ip link set eth0 up &&
		ip addr add 10.0.2.15/24 dev eth0 &&
		ip route add default via 10.0.2.2
}

fleet_register() {
	agent register "$(cat $FLEET/url)" --enrol-key "$(cat $FLEET/enrol-key)" \
		--root $FLEET/root.json --ca $FLEET/ca.pem
}

# livefix update every second until the condition holds, at most n times.
fleet_update_until() { # n command...
	i=$1
	shift
	while [ "$i" -gt 0 ]; do
		"$@" && return 0
		agent update
		sleep 1
		i=$((i - 1))
	done
	"$@"
}
