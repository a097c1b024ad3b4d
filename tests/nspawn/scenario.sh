#!/bin/bash
# scenario.sh: runs inside the booted Debian 12 container of tests/nspawn.sh,
# as the oneshot unit canary-scenario.service, with systemd as PID 1. It
# installs the package (/root/canary.deb; tests/nspawn.sh installed only its
# dependencies), so that its maintainer scripts run as on a real server:
# sysusers, tmpfiles, deb-systemd-helper and deb-systemd-invoke. Then it
# does what an admin and the officers do, as real users, under the shipped
# unit. The admin's configuration waits in /scenario/etc-canary.
#
# The scenario is the list of steps in STEPS below, run in order until the
# first one fails. Each writes one line to /scenario/results:
#   ok NAME | FAIL NAME: why | skip NAME: why
# and the last line is "done" once every step ran. To extend it, write a
# step_NAME function and add NAME to STEPS where it belongs.
# The steps are called by name, from STEPS: none is unreachable.
# shellcheck disable=SC2317
set -uo pipefail

results=/scenario/results
deb=/root/canary.deb
passphrase=/root/passphrase
# The officers' secret keys: made here for the test, on "their" machines
# (never under /etc/canary, where only .pub files live).
officer_keys=/root/officer-keys

STEPS=(
	install_without_configuration
	package_made_users_and_directories
	keys
	configure
	check_config
	reinstall_keeps_canaryd_disabled
	purge_keeps_keys
	install_starts_canaryd
	canaryd_sandboxed
	wait_for_cases
	officers
	store_private_to_canary
	whoami_officer
	officer_works_the_queue
	restart_keeps_runtime_directory
	upgrade_restarts_canaryd
	remove_stops_canaryd
)

# --- helpers ------------------------------------------------------------

# The step's failure message: the last call to fail wins.
why=""
fail()
{
	why="$*"
	return 1
}

# mode_owner PATH -> "755 root:root"
mode_owner()
{
	stat -c '%a %U:%G' "$1"
}

# expect_mode_owner PATH "MODE USER:GROUP"
expect_mode_owner()
{
	local got
	got=$(mode_owner "$1") || fail "$1 is missing" || return 1
	[[ $got == "$2" ]] || fail "$1 is $got, wanted $2"
}

# wait_until SECONDS COMMAND...: true once COMMAND succeeds, polled every
# 0.2 s; false when SECONDS pass first.
wait_until()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

as_canary()
{
	(cd / && runuser -u canary -- "$@")
}

canaryd_pid()
{
	systemctl show -P MainPID canaryd.service
}

# dpkg NAME ARGS...: runs dpkg as an admin would, its output kept in
# /scenario/dpkg-NAME.log (and in $dpkg_out); fails with that output.
dpkg_out=""
run_dpkg()
{
	local name=$1
	shift
	local status=0
	DEBIAN_FRONTEND=noninteractive dpkg --force-unsafe-io "$@" </dev/null \
		>"/scenario/dpkg-$name.log" 2>&1 || status=$?
	dpkg_out=$(cat "/scenario/dpkg-$name.log")
	((status == 0)) || fail "dpkg $*: exit $status: $dpkg_out"
}

# said TEXT: the last dpkg run printed TEXT.
said()
{
	grep -qF -- "$1" <<<"$dpkg_out" || fail "dpkg did not say '$1': $dpkg_out"
}

# not_enabled_or_active UNIT...: neither enabled nor running (nor listening).
not_enabled_or_active()
{
	local unit
	for unit in "$@"; do
		if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
			fail "$unit is enabled"
			return 1
		fi
		if systemctl is-active --quiet "$unit"; then
			fail "$unit is active"
			return 1
		fi
	done
}

# enabled_and_active UNIT...
enabled_and_active()
{
	local unit
	for unit in "$@"; do
		systemctl is-enabled --quiet "$unit" || fail "$unit is not enabled" || return 1
		systemctl is-active --quiet "$unit" || fail "$unit is not active" || return 1
	done
}

# --- steps --------------------------------------------------------------

# dpkg -i on a machine without configuration: postinst (systemd running)
# makes the user and directories, finds no keys and says what to do next,
# and neither enables nor starts canaryd.
step_install_without_configuration()
{
	run_dpkg install -i "$deb" || return 1
	said "canaryd is not started: its configuration is not ready yet" || return 1
	said "canary keygen --pseudonym-key" || return 1
	not_enabled_or_active canaryd.service canaryd.socket
}

# postinst's systemd-sysusers and systemd-tmpfiles made what the unit needs.
step_package_made_users_and_directories()
{
	getent passwd canary >/dev/null || fail "no user canary" || return 1
	getent group canary-officers >/dev/null || fail "no group canary-officers" || return 1
	(($(id -u canary) < 1000)) || fail "canary is not a system user" || return 1
	expect_mode_owner /var/lib/canary "700 canary:canary" || return 1
	expect_mode_owner /run/canary "755 canary:canary" || return 1
	if systemctl is-enabled --quiet canaryd.service; then
		fail "canaryd is enabled before it has keys"
	fi
}

# The custodian's, triage's and each section's key pair; only the .pub
# files go to /etc/canary/keys. The pseudonym key is canaryd's to read.
step_keys()
{
	install -d -m 0700 "$officer_keys" || return 1
	printf 'nspawn scenario passphrase, not secret\n' >"$passphrase"
	local name
	for name in custodian triage africa mena; do
		canary keygen --out "$officer_keys" -p "$passphrase" "$name" >/dev/null ||
			fail "canary keygen $name" || return 1
		install -m 0644 "$officer_keys/$name.pub" /etc/canary/keys/ || return 1
	done
	canary keygen --pseudonym-key /etc/canary/keys/pseudonym.key >/dev/null ||
		fail "canary keygen --pseudonym-key" || return 1
	chown canary:canary /etc/canary/keys/pseudonym.key &&
		chmod 0600 /etc/canary/keys/pseudonym.key
}

# What the admin writes after installing: canary.conf, routing.conf, the
# IMAP password (root's, 0600: canaryd gets it by LoadCredential=) and the
# certificate of the mail server (tests/nspawn.sh put them in /scenario).
step_configure()
{
	local file
	for file in canary.conf routing.conf imap-ca.pem; do
		install -m 0644 "/scenario/etc-canary/$file" /etc/canary/ || return 1
	done
	install -m 0600 /scenario/etc-canary/imap-password /etc/canary/
}

# As the postinst does it: as canaryd's user, with the credential's directory.
step_check_config()
{
	local out
	out=$(as_canary env CREDENTIALS_DIRECTORY=/etc/canary canary check-config 2>&1) ||
		fail "canary check-config: $out"
}

# A reinstall (the upgrade path) with a valid configuration: postinst
# validates it but never enables what the admin has not enabled.
step_reinstall_keeps_canaryd_disabled()
{
	run_dpkg reinstall -i --force-confold "$deb" || return 1
	said "canary: canaryd is disabled; start it with: systemctl enable --now canaryd" || return 1
	not_enabled_or_active canaryd.service canaryd.socket
}

# Purge takes the conffiles and keeps the admin's keys and password; the
# user stays; deb-systemd-helper forgets the units.
step_purge_keeps_keys()
{
	run_dpkg purge --purge canary || return 1
	said "kept /etc/canary" || return 1
	[[ -z $(dpkg-query -W -f='${Status}' canary 2>/dev/null) ]] || fail "canary is still known to dpkg" ||
		return 1
	[[ ! -e /etc/canary/canary.conf ]] || fail "canary.conf is still there" || return 1
	[[ -f /etc/canary/keys/pseudonym.key ]] || fail "the pseudonym key is gone" || return 1
	getent passwd canary >/dev/null || fail "the user canary is gone" || return 1
	[[ -z $(find /var/lib/systemd/deb-systemd-helper-enabled -name 'canaryd.*' 2>/dev/null) ]] ||
		fail "deb-systemd-helper still has state of canaryd's units"
}

# The admin puts the configuration in place first, then installs: postinst
# finds it valid and, this being a first install, enables and starts
# canaryd.socket and canaryd.service (deb-systemd-helper, deb-systemd-invoke).
step_install_starts_canaryd()
{
	step_configure || return 1
	run_dpkg install-configured -i --force-confold "$deb" || return 1
	if grep -q "not ready\|failed" <<<"$dpkg_out"; then
		fail "postinst did not start canaryd: $dpkg_out"
		return 1
	fi
	enabled_and_active canaryd.socket canaryd.service || return 1
	[[ -L /etc/systemd/system/multi-user.target.wants/canaryd.service ]] ||
		fail "canaryd.service is not wanted by multi-user.target"
}

# The shipped unit's sandbox, as the kernel sees the running canaryd.
step_canaryd_sandboxed()
{
	local pid status
	pid=$(canaryd_pid)
	[[ $pid -gt 0 ]] || fail "canaryd has no main pid" || return 1
	status=$(cat "/proc/$pid/status") || return 1
	grep -q "^Uid:[[:space:]]*$(id -u canary)[[:space:]]" <<<"$status" ||
		fail "canaryd does not run as canary" || return 1
	grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$status" || fail "NoNewPrivs is not set" || return 1
	grep -q '^Seccomp:[[:space:]]*2$' <<<"$status" || fail "no seccomp filter" || return 1
	grep -q '^CapEff:[[:space:]]*0*$' <<<"$status" || fail "canaryd has capabilities" || return 1
	# No user namespace of its own: officers' uids reach canaryd as they
	# are. (Its /proc/PID/ns/ links are closed: canaryd is not dumpable.)
	local map ours
	map=$(tr -s ' ' <"/proc/$pid/uid_map") || fail "cannot read canaryd's uid_map" || return 1
	ours=$(tr -s ' ' </proc/self/uid_map)
	[[ $map == "$ours" ]] ||
		fail "canaryd maps uids as '$map', not as the system '$ours' (PrivateUsers=?)"
}

open_cases()
{
	as_canary canary stats 2>/dev/null | awk '$1 == "all" { print $4 }'
}

all_cases_filed()
{
	[[ $(open_cases) == "$CANARY_SCENARIO_CASES" ]]
}

# canaryd filed every message the host's Dovecot holds, logged in with a
# password its user cannot read: the unit's LoadCredential= handed it over.
step_wait_for_cases()
{
	wait_until 60 all_cases_filed ||
		fail "after 60 s, $(open_cases) of $CANARY_SCENARIO_CASES cases are filed" || return 1
	if as_canary cat /etc/canary/imap-password >/dev/null 2>&1; then
		fail "canary can read /etc/canary/imap-password itself"
	fi
}

# Two real users: an officer (in canary-officers) and someone in no group.
step_officers()
{
	groupadd canary-africa || return 1
	useradd --create-home --groups canary-officers,canary-africa officer || return 1
	useradd --create-home outsider || return 1
	id -nG officer | grep -qw canary-officers || fail "officer is not in canary-officers"
}

# Nobody but canaryd's user reads the database, its WAL or the pseudonym key.
step_store_private_to_canary()
{
	local user path
	for user in officer outsider; do
		for path in /var/lib/canary/canary.db /var/lib/canary/canary.db-wal \
			/etc/canary/keys/pseudonym.key /etc/canary/imap-password; do
			if runuser -u "$user" -- cat "$path" >/dev/null 2>&1; then
				fail "$user can read $path"
				return 1
			fi
		done
	done
	as_canary cat /var/lib/canary/canary.db >/dev/null || fail "canary cannot read its database"
}

# canaryd names the caller as the kernel does (SO_PEERCRED, SO_PEERGROUPS).
step_whoami_officer()
{
	local out
	out=$(runuser -u officer -- canary whoami 2>&1) || fail "officer: canary whoami: $out" || return 1
	grep -qw officer <<<"$out" || fail "whoami does not name officer: $out" || return 1
	grep -qw canary-officers <<<"$out" || fail "whoami does not name canary-officers: $out" || return 1
	if out=$(runuser -u outsider -- canary whoami 2>&1); then
		fail "outsider (in no group) was answered: $out"
		return 1
	fi
}

# The reference of the one case of SECTION, asked by root through canaryd.
case_of()
{
	canary list --section "$1" --json 2>/dev/null | grep -o '"ref" *: *"[^"]*"' | head -1 |
		sed 's/.*"\([^"]*\)"$/\1/'
}

# The africa officer, through canaryd under the shipped unit, with the
# africa key in their own home: lists and opens africa's case, is refused
# mena's (exit 8, naming the group), and the history names them.
step_officer_works_the_queue()
{
	local africa mena out home
	africa=$(case_of africa) && [[ -n $africa ]] || fail "no africa case" || return 1
	mena=$(case_of mena) && [[ -n $mena ]] || fail "no mena case" || return 1
	home=$(getent passwd officer | cut -d: -f6)
	install -o officer -m 0600 "$officer_keys/africa.key" "$passphrase" "$home/" || return 1
	out=$(runuser -u officer -- canary list 2>&1) || fail "officer: canary list: $out" || return 1
	grep -q "$africa" <<<"$out" || fail "officer's list lacks africa's $africa: $out" || return 1
	if grep -q "$mena" <<<"$out"; then
		fail "officer's list shows mena's $mena: $out"
		return 1
	fi
	out=$(runuser -u officer -- canary show "$africa" --key "$home/africa.key" \
		--passphrase-file "$home/passphrase" 2>&1) || fail "officer: show $africa: $out" || return 1
	grep -q "Subject:" <<<"$out" || fail "show printed no subject: $out" || return 1
	local status=0
	out=$(runuser -u officer -- canary show "$mena" --key "$home/africa.key" \
		--passphrase-file "$home/passphrase" 2>&1) || status=$?
	[[ $status == 8 ]] || fail "officer: show mena: exit $status, wanted 8: $out" || return 1
	grep -q canary-mena <<<"$out" || fail "the refusal does not name canary-mena: $out" || return 1
	out=$(canary history "$africa" 2>&1) || fail "canary history: $out" || return 1
	grep -q "officer.*show\|show.*officer" <<<"$out" ||
		fail "the history does not name officer: $out" || return 1
}

# RuntimeDirectoryPreserve=yes: stopping canaryd leaves /run/canary (and a
# socket that canaryd.socket put there) as it was.
step_restart_keeps_runtime_directory()
{
	systemctl restart canaryd.service || fail "systemctl restart canaryd" || return 1
	expect_mode_owner /run/canary "755 canary:canary" || return 1
	local socket
	socket=$(stat -c '%F %a %G' /run/canary/control) || fail "no /run/canary/control" || return 1
	[[ $socket == "socket 660 canary-officers" ]] ||
		fail "/run/canary/control is $socket, wanted socket 660 canary-officers" || return 1
	systemctl is-active --quiet canaryd.service || fail "canaryd is not active after a restart"
}

# dpkg -i of the package again: preinst stops canaryd, postinst starts it
# again (it is enabled), under a new process.
step_upgrade_restarts_canaryd()
{
	local before after
	before=$(canaryd_pid)
	run_dpkg upgrade -i --force-confold "$deb" || return 1
	enabled_and_active canaryd.socket canaryd.service || return 1
	after=$(canaryd_pid)
	[[ $after -gt 0 && $after != "$before" ]] ||
		fail "canaryd was not restarted (pid $before, then $after)"
}

# dpkg -r: prerm stops the socket and the service and disables both; the
# case database stays.
step_remove_stops_canaryd()
{
	run_dpkg remove -r canary || return 1
	local unit
	for unit in canaryd.socket canaryd.service; do
		if systemctl is-active --quiet "$unit"; then
			fail "$unit is still active"
			return 1
		fi
	done
	[[ -z $(find /etc/systemd/system -name 'canaryd.*') ]] ||
		fail "links left: $(find /etc/systemd/system -name 'canaryd.*')" || return 1
	[[ -e /var/lib/canary/canary.db ]] || fail "the case database is gone"
}

# --- main ---------------------------------------------------------------

mkdir -p /scenario
: >"$results"
failed=""
for step in "${STEPS[@]}"; do
	why=""
	"step_$step"
	rc=$?
	case $rc in
	0) echo "ok $step" >>"$results" ;;
	2) ;; # the step wrote its own "skip" line
	*)
		echo "FAIL $step: ${why:-exit status $rc}" >>"$results"
		failed=yes
		break
		;;
	esac
done
[[ -n $failed ]] || echo "done" >>"$results"
# For the test's log: what canaryd said (UIDs only, never personal data).
journalctl -u canaryd.service --no-pager -o short-monotonic >/scenario/canaryd.log 2>&1
exit 0
