#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the VM booted with module.sig_enforce=1: the kernel must refuse an
# unsigned livepatch module, and refuse our signed one for its key only
# (Debian's kernel trusts its built-in keys, not the test's), which shows
# it found and parsed the appended PKCS#7 signature. The agent must say why.
. /lf/vm-lib.sh
K=/lf/kpatch

fail_with() { why=$*; return 1; }

# Loads a module that must be refused; checks the agent's words and the
# kernel's reason in dmesg.
refused() { # module kernel-reason
	dmesg -c >/dev/null
	if agent kernel load "$K/$1.ko"; then
		fail_with "$1 loaded under module.sig_enforce=1"
		return 1
	fi
	case $err in
	*"kernel refused the module signature"*) ;;
	*) fail_with "agent exit $rc said '$(short "$err")'"; return 1 ;;
	esac
	dmesg | grep -q "Loading of $2 is rejected" ||
		{ fail_with "dmesg: '$(short "$(dmesg | tail -n 3)")', want 'Loading of $2 is rejected'"; return 1; }
	grep -q "^$1 " /proc/modules && { fail_with "$1 is in /proc/modules"; return 1; }
	echo "vm: $1 refused: $err"
}

run_test() { # name module kernel-reason
	why=
	if [ "$(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)" != Y ]; then
		lf_result FAIL "$1" "module.sig_enforce is not in force"
	elif [ ! -f "$K/$2.ko" ]; then
		lf_result SKIP "$1" "$2.ko was not built"
	elif refused "$2" "$3"; then
		lf_result PASS "$1"
	else
		lf_result FAIL "$1" "$why"
	fi
}

run_test vm-sig-enforce-unsigned lf_cmdline "unsigned module"
run_test vm-sig-enforce-signed lf_signed "module with unavailable key"
echo "vm: done"
