#!/usr/bin/env bash
# nspawn.sh: canary on a real Debian 12 booted with systemd as PID 1 in
# systemd-nspawn. Builds the Debian package as the README says, installs it
# in a fresh copy of a Debian 12 root, configures canaryd for the test's
# Dovecot on the host's 127.0.0.1 (the container shares the host's network),
# boots the container and runs tests/nspawn/scenario.sh in it as a oneshot
# unit: canaryd under the shipped unit, officers as real users. Then reads
# the scenario's results from the container's disk.
#
# Usage: nspawn.sh SOURCE_DIR CACHE_DIR TREE, run by check_nspawn (which starts
# the Dovecot) with, in the environment:
#   CANARY_NSPAWN_IMAP_URL, CANARY_NSPAWN_IMAP_USER, CANARY_NSPAWN_IMAP_PASSWORD,
#   CANARY_NSPAWN_CA_FILE (the server's certificate), CANARY_NSPAWN_CASES
#   (how many messages wait in the inbox).
# CACHE_DIR keeps the debootstrapped root between runs, and TREE the
# package's build tree (shared with the package test: a first run takes a
# few minutes, a rerun about one); the container's root of the last failed
# run stays in CACHE_DIR/run.
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

# The .deb, from a tree configured as the README says (prefix /usr, no
# test build); kept so that a rerun builds only what changed.
build_package()
{
	if [[ ! -f $tree/CMakeCache.txt ]]; then
		cmake -S "$source_dir" -B "$tree" -DCMAKE_INSTALL_PREFIX=/usr -DCANARY_TESTS=OFF >/dev/null
	fi
	cmake --build "$tree" -j2 >"$cache/package-build.log" 2>&1 || {
		tail -40 "$cache/package-build.log"
		fail "building the package's tree"
	}
	rm -f "$tree"/canary_*.deb
	(cd "$tree" && cpack -G DEB >"$cache/cpack.log" 2>&1) || {
		cat "$cache/cpack.log"
		fail "cpack -G DEB"
	}
	deb=$(ls "$tree"/canary_*.deb)
	echo "ok: $(basename "$deb")"
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

# dpkg -i's way, through apt so that the libraries come too. The base's
# package lists may have aged: on a failure they are renewed once.
install_package()
{
	rm -rf "$run"
	cp -a --reflink=auto "$base" "$run"
	mkdir -p "$cache/apt-archives/partial"
	cp "$deb" "$run/root/canary.deb"
	if ! apt_in_container install -y --no-install-recommends /root/canary.deb \
		>"$cache/install.log" 2>&1; then
		apt_in_container update >>"$cache/install.log" 2>&1 || true
		apt_in_container install -y --no-install-recommends /root/canary.deb \
			>>"$cache/install.log" 2>&1 || {
			cat "$cache/install.log"
			fail "apt-get install ./canary.deb in the container"
		}
	fi
	sed -n '/^canary:/s/^/  | /p' "$cache/install.log"
	echo "ok: installed"
}

# What an admin writes after installing: canary.conf, routing.conf, the
# IMAP password (root's, 0600: canaryd gets it by LoadCredential=) and the
# certificate of the mail server. The keys are made by the scenario.
configure()
{
	local etc=$run/etc/canary
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
	install -d -m 0755 "$run/scenario"
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
step "the package, installed in a copy of it"
install_package
step "configuration and scenario"
configure
step "boot (at most $boot_timeout s)"
boot
step "results"
report
rm -rf "$run"
echo "all nspawn checks passed"
