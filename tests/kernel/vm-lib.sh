# SPDX-License-Identifier: Apache-2.0
# Helpers for the scripts that run inside the test VM (busybox sh).
# shellcheck shell=sh

M=/lf/modules
LP=/sys/kernel/livepatch

# A result goes to the console, for people reading the log, and to fd 3
# (ttyS1), which the host reads.
lf_result() { # PASS|FAIL|SKIP name [reason]
	if [ -n "${3:-}" ]; then
		line="$1: $2 ($3)"
	else
		line="$1: $2"
	fi
	echo "$line"
	echo "$line" >&3
}

# One line, at most 300 characters, for a reason in parentheses.
short() {
	printf '%s' "$*" | tr '\n\r()' '|  []' | cut -c1-300
}

# Run the agent under a time bound. Sets out (stdout), err (stderr), rc.
# The command and what it printed also go to the console log.
agent() {
	out=$(timeout 90 livefix "$@" 2>/tmp/agent.err)
	rc=$?
	err=$(cat /tmp/agent.err)
	log_run "livefix $*"
	return $rc
}

log_run() { # command-text
	echo "vm$ $1  => exit $rc"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  | /'
	[ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/  ! /'
	return 0
}

is_loaded() { grep -q "^$1 " /proc/modules; }
module_names() { cut -d' ' -f1 /proc/modules | sort; }
patch_names() { ls "$LP" 2>/dev/null | sort; }

# Wait up to N tenths of a second for a command to succeed.
wait_for() { # tenths command...
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	"$@"
}

lp_gone() { [ ! -d "$LP/$1" ]; }
not_loaded() { ! is_loaded "$1"; }
transition_done() { [ "$(cat "$LP/$1/transition" 2>/dev/null)" = 0 ]; }

# Put the kernel back as it was, with sysfs and rmmod only (not the agent,
# which may be what is broken): disable every patch, wait for the reversal
# and for its sysfs directory to go, then remove the modules.
lp_cleanup() {
	for p in $(patch_names); do
		echo 0 >"$LP/$p/enabled" 2>/dev/null
	done
	for p in $(patch_names); do
		wait_for 150 lp_gone "$p" || echo "vm: cleanup: $p still in $LP"
	done
	[ -e /proc/lf_sleeper ] && echo 1 >/proc/lf_sleeper
	for m in lp_cmdline_l1 lp_cmdline_l2 lp_sleeper lf_sleeper; do
		is_loaded "$m" && rmmod "$m" 2>/dev/null
	done
	return 0
}
