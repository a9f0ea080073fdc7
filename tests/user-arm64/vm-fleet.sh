# SPDX-License-Identifier: Apache-2.0
# The fleet loop on the arm64 VM, sourced by vm-cases.sh (its helpers) when
# run.sh put a portal's configuration in /lf/fleet: bring up QEMU's user
# network (virtio-net on the MMIO transport; the host is 10.0.2.2), register
# with the portal over HTTPS with an enrolment key, take the rollout's
# userspace bundle into a running test program, check in again, then tell
# the host ("LF-FLEET-PATCHED" on the console), which withdraws the bundle,
# and update until the patch is taken out of the running process.
# shellcheck shell=sh

F=/lf/fleet
FS=/var/lib/livefix-fleet	# its own state: the cases after pin another root

# fleet_agent args...: livefix under a time bound, with the fleet's state dir.
fleet_agent() {
	LIVEFIX_STATE_DIR=$FS timeout 120 $L "$@" >$O/fa.out 2>$O/fa.err
	frc=$?
	echo "vm$ livefix $*  => exit $frc"
	sed 's/^/vm:   | /' $O/fa.out $O/fa.err
	return $frc
}

fleet_net_up() {
	hostname armdevice
	for m in failover net_failover virtio_net virtio_mmio; do
		insmod /lf/net/$m.ko || { echo "insmod $m failed"; return 1; }
	done
	ip link set lo up
	for _ in $(seq 100); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 &&
		ip route add default via 10.0.2.2 || { ip addr; return 1; }
}

# Updates (check-in, then the update the portal asks for) until the
# condition holds, at most n times, a second apart.
fleet_update_until() { # n command...
	i=$1
	shift
	while [ "$i" -gt 0 ]; do
		"$@" && return 0
		fleet_agent update
		sleep 1
		i=$((i - 1))
	done
	"$@"
}
fleet_patched() { line out-f | grep -Eq '^c=21 .* w=ok e=0 ' && listed $fp simple-pie; }
fleet_reverted() { line out-f | grep -Eq "$ORIG" && no_patch $fp; }

fleet() {
	if fleet_net_up >$O/net.log 2>&1; then
		pass fleet/network-up-virtio-net
	else
		fail fleet/network-up-virtio-net "$(cat $O/net.log)"
		return
	fi
	if ! start out-f $T/target-pie $O/out-f 2 || ! wait_for out-f "$ORIG"; then
		fail fleet/target-starts "$(line out-f)"
		return
	fi
	fp=$tp
	if fleet_agent register "$(cat $F/url)" --enrol-key "$(cat $F/enrol-key)" \
		--root $F/root.json --ca $F/ca.pem && grep -q '^registered with https://10.0.2.2:' $O/fa.out; then
		pass fleet/registers-over-https-with-enrolment-key
	else
		fail fleet/registers-over-https-with-enrolment-key "exit $frc: $(cat $O/fa.out $O/fa.err)"
		kill -9 $fp
		return
	fi
	# The first check-in learns of the rollout and updates; the program
	# changes while it runs.
	if fleet_update_until 20 fleet_patched && running $fp out-f; then
		pass fleet/rolled-out-user-bundle-applied-live
	else
		fail fleet/rolled-out-user-bundle-applied-live "$(line out-f); $(cat $O/fa.out $O/fa.err)"
	fi
	# The next check-in carries the inventory with the userspace patch.
	fleet_agent update
	echo "LF-FLEET-PATCHED"
	# The host checks the portal, then withdraws the bundle.
	if fleet_update_until 120 fleet_reverted && running $fp out-f; then
		pass fleet/withdrawn-bundle-reverted-in-running-process
	else
		fail fleet/withdrawn-bundle-reverted-in-running-process \
			"$(line out-f); $($L user list --pid $fp); $(cat $O/fa.out $O/fa.err)"
	fi
	fleet_agent update	# the inventory without it
	fleet_agent status
	kill -9 $fp
}
if [ -f $F/url ]; then
	fleet
	echo "LF-FLEET-DONE"
fi
