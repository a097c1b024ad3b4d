#!/usr/bin/env bash
# nspawn.sh: canary on a real Debian 12 booted with systemd as PID 1 in
# systemd-nspawn. Builds the Debian package as the README says (with a
# maintainer of its own, as a packager would set it), installs its
# dependencies in a fresh copy of a Debian 12 root, leaves the package and
# a configuration for the test's Dovecot on the host's 127.0.0.1 (the
# container shares the host's network) in it, boots the container and runs
# tests/nspawn/scenario.sh in it as a oneshot unit: dpkg installs, upgrades,
# purges and removes the package with systemd running, canaryd runs under
# the shipped unit, officers as real users. Then reads the scenario's
# results from the container's disk.
#
# Usage: nspawn.sh SOURCE_DIR CACHE_DIR TREE, run by check_nspawn (which starts
# the Dovecot) with, in the environment:
#   CANARY_NSPAWN_IMAP_URL, CANARY_NSPAWN_IMAP_USER, CANARY_NSPAWN_IMAP_PASSWORD,
#   CANARY_NSPAWN_CA_FILE (the server's certificate), CANARY_NSPAWN_CASES
#   (how many messages wait in the inbox).
# CACHE_DIR keeps the debootstrapped root between runs (a first run takes a
# few minutes, a rerun about one), and TREE gets the packages (shared with
# the package test); the container's root of the last failed run stays in
# CACHE_DIR/run.
set -euo pipefail

source_dir=$(realpath "$1")
cache=$(realpath -m "$2")
tree=$(realpath -m "$3")
tests=$source_dir/tests
base=$cache/debian12
run=$cache/run
boot_timeout=300

fail()
{
	echo "FAIL: $*"
	exit 1
}
step()
{
	echo "== $* ($(date -u +%T))"
}
nspawn()
{
	systemd-nspawn --quiet --register=no --keep-unit -D "$run" "$@"
}

# The URI of apt's own Debian source, as on this machine.
debian_mirror()
{
	local uri=""
	if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
		uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources | head -1)
	fi
	if [[ -z $uri && -f /etc/apt/sources.list ]]; then
		uri=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list)
	fi
	echo "${uri:-http://deb.debian.org/debian}"
}

# The .deb, as the README says, with the maintainer set the Debian way.
maintainer_name="canary nspawn test"
maintainer_email=nspawn-test@example.org
build_package()
{
	deb=$(DEBFULLNAME=$maintainer_name DEBEMAIL=$maintainer_email \
		"$source_dir/scripts/package" --out "$tree") || fail "scripts/package"
	local field
	field=$(dpkg-deb -f "$deb" Maintainer)
	[[ $field == "$maintainer_name <$maintainer_email>" ]] ||
		fail "Maintainer is '$field', not DEBFULLNAME <DEBEMAIL>"
	echo "ok: $(basename "$deb"), Maintainer: $field"
}

# A Debian 12 minbase root with systemd, made once and kept.
make_base()
{
	if [[ -f $base/.canary-base ]]; then
		echo "ok: cached in $base"
		return 0
	fi
	rm -rf "$base.tmp"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$base.tmp" \
		"$(debian_mirror)" >"$cache/debootstrap.log" 2>&1 || {
		tail -20 "$cache/debootstrap.log"
		fail "debootstrap"
	}
	touch "$base.tmp/.canary-base"
	mv "$base.tmp" "$base"
	echo "ok: debootstrapped into $base"
}

# apt-get in the container, keeping what it downloads for the next run;
# dpkg skips its fsync()s: the container's root is thrown away.
apt_in_container()
{
	nspawn --pipe --bind="$cache/apt-archives:/var/cache/apt/archives" \
		env DEBIAN_FRONTEND=noninteractive \
		apt-get -q -o DPkg::Options::=--force-unsafe-io "$@" </dev/null
}

# What the package depends on, through apt (the package itself is
# installed by the scenario, with systemd running), and the package in
# /root. The base's package lists may have aged: on a failure they are
# renewed once.
install_dependencies()
{
	rm -rf "$run"
	cp -a --reflink=auto "$base" "$run"
	mkdir -p "$cache/apt-archives/partial"
	cp "$deb" "$run/root/canary.deb"
	local depends
	depends=$(dpkg-deb -f "$deb" Depends)
	if ! apt_in_container satisfy -y --no-install-recommends "$depends" \
		>"$cache/install.log" 2>&1; then
		apt_in_container update >>"$cache/install.log" 2>&1 || true
		apt_in_container satisfy -y --no-install-recommends "$depends" \
			>>"$cache/install.log" 2>&1 || {
			cat "$cache/install.log"
			fail "apt-get satisfy the package's Depends in the container"
		}
	fi
	echo "ok: installed what canary depends on"
}

# What the admin will write (the scenario copies it to /etc/canary):
# canary.conf, routing.conf, the IMAP password (root's, 0600: canaryd gets
# it by LoadCredential=) and the certificate of the mail server. The keys
# are made by the scenario.
configure()
{
	local etc=$run/scenario/etc-canary
	install -d -m 0700 "$etc"
	sed -e "s|@IMAP_URL@|$CANARY_NSPAWN_IMAP_URL|" -e "s|@IMAP_USER@|$CANARY_NSPAWN_IMAP_USER|" \
		"$tests/nspawn/canary.conf.in" >"$etc/canary.conf"
	install -m 0644 "$tests/nspawn/routing.conf" "$etc/routing.conf"
	install -m 0644 "$CANARY_NSPAWN_CA_FILE" "$etc/imap-ca.pem"
	install -m 0600 /dev/null "$etc/imap-password"
	printf '%s\n' "$CANARY_NSPAWN_IMAP_PASSWORD" >"$etc/imap-password"
	install -D -m 0755 "$tests/nspawn/scenario.sh" "$run/usr/local/lib/canary-scenario/scenario.sh"
	install -m 0644 "$tests/nspawn/canary-scenario.service" "$run/etc/systemd/system/"
	ln -sf ../canary-scenario.service \
		"$run/etc/systemd/system/multi-user.target.wants/canary-scenario.service"
	printf 'CANARY_SCENARIO_CASES=%s\n' "$CANARY_NSPAWN_CASES" >"$run/scenario/env"
	echo "ok: configured for $CANARY_NSPAWN_IMAP_URL"
}

boot()
{
	local status=0
	timeout --kill-after=15 "$boot_timeout" systemd-nspawn --register=no --keep-unit -D "$run" -b \
		</dev/null >"$cache/boot.log" 2>&1 || status=$?
	if ((status == 124 || status == 137)); then
		tail -30 "$cache/boot.log"
		fail "the container did not power off within $boot_timeout s"
	fi
	echo "ok: booted and powered off"
}

report()
{
	local results=$run/scenario/results
	[[ -f $results ]] || {
		tail -40 "$cache/boot.log"
		fail "the scenario wrote no results"
	}
	sed 's/^/  /' "$results"
	if grep -q '^FAIL' "$results" || ! grep -qx 'done' "$results"; then
		local log
		for log in "$run"/scenario/dpkg-*.log; do
			[[ -f $log ]] || continue
			echo "-- $(basename "$log" .log) in the container:"
			sed 's/^/  | /' "$log" | tail -20
		done
		echo "-- canaryd's journal in the container:"
		sed 's/^/  | /' "$run/scenario/canaryd.log" 2>/dev/null | tail -40
		echo "-- the container's root is kept in $run"
		fail "the scenario failed"
	fi
}

mkdir -p "$cache"
step "the package"
build_package
step "a Debian 12 root"
make_base
step "its dependencies, installed in a copy of it"
install_dependencies
step "configuration and scenario"
configure
step "boot (at most $boot_timeout s)"
boot
step "results"
report
rm -rf "$run"
echo "all nspawn checks passed"
