#!/usr/bin/env bash
# package.sh: builds the Debian package from debian/ as the README says
# (scripts/package), runs lintian on it (any error or warning fails),
# installs it on this machine with dpkg, checks every file, owner and mode,
# that canaryd is not started without keys, that an edited conffile survives
# a reinstall, and that purge removes the package but never a case database.
# Needs root and dpkg; in CI it runs on a throwaway Debian 12 machine, and it
# leaves the machine as it found it, also when it fails.
# Usage: package.sh SOURCE_DIR [TREE]   Exits 77 (skipped) when it cannot run.
# TREE: where the packages go (scripts/package --out; shared with
# check_nspawn, one at a time; default: a scratch directory).
set -euo pipefail

source_dir=$(realpath "$1")
tree=${2:-}
skip()
{
	echo "SKIP: $*"
	exit 77
}
[[ $(id -u) -eq 0 ]] || skip "needs root: it installs the package with dpkg -i"
for tool in dpkg dpkg-deb dpkg-buildpackage dh lintian cmake runuser; do
	command -v "$tool" >/dev/null || skip "no $tool (scripts/deps installs dpkg-dev, debhelper, lintian)"
done
# The machine must not hold a canary already: the test removes all it makes.
if dpkg-query -W canary >/dev/null 2>&1; then
	skip "a canary package is installed here"
fi
for path in /etc/canary /var/lib/canary /run/canary; do
	[[ ! -e $path ]] || skip "$path exists here"
done
if getent passwd canary >/dev/null || getent group canary >/dev/null ||
	getent group canary-officers >/dev/null; then
	skip "a user canary or a group canary or canary-officers exists here"
fi

work=$(mktemp -d)
# Leave the machine as found: no package, user, group or directory of ours.
cleanup()
{
	dpkg --purge canary >/dev/null 2>&1 || true
	deb-systemd-helper purge canaryd.socket canaryd.service >/dev/null 2>&1 || true
	rm -rf /etc/canary /var/lib/canary /run/canary "$work"
	userdel canary 2>/dev/null || true
	groupdel canary 2>/dev/null || true
	groupdel canary-officers 2>/dev/null || true
}
trap cleanup EXIT

fail()
{
	echo "FAIL: $*"
	exit 1
}
check()
{
	local what=$1
	shift
	"$@" >/dev/null || fail "$what"
	echo "ok: $what"
}
# mode_owner PATH -> "755 root:root"
mode_owner()
{
	stat -c '%a %U:%G' "$1"
}

version=$(sed -n 's/^project(canary VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
# debian/rules runs it on the package's own tree after building.
release_check=$source_dir/debian/check-release-build
echo "== a tree configured for /usr/local is refused as the package's"
cmake -S "$source_dir" -B "$work/local" -DCANARY_TESTS=OFF >/dev/null
if "$release_check" "$work/local" "$version" >"$work/refused.log" 2>&1; then
	fail "debian/check-release-build accepted a /usr/local tree"
fi
check "it says why" grep -q "CMAKE_INSTALL_PREFIX=/usr" "$work/refused.log"

echo "== a test build (CANARY_TEST_KDF: cheap keys) is refused as the package's"
cmake -S "$source_dir" -B "$work/testkdf" -DCMAKE_INSTALL_PREFIX=/usr -DCANARY_TEST_KDF=ON \
	-DCANARY_TESTS=OFF >/dev/null
if "$release_check" "$work/testkdf" "$version" >"$work/refused-kdf.log" 2>&1; then
	fail "debian/check-release-build accepted a test build"
fi
check "it says why" grep -q "test build (CANARY_TEST_KDF=ON)" "$work/refused-kdf.log"

echo "== scripts/package refuses a maintainer that is not NAME <USER@HOST.DOMAIN>"
for bad in "root@localhost" "canary <root@localhost>" "<canary@example.org>"; do
	if "$source_dir/scripts/package" --maintainer "$bad" --out "$work/refused" >/dev/null 2>&1; then
		fail "scripts/package accepted the maintainer '$bad'"
	fi
	echo "ok: refused '$bad'"
done

echo "== scripts/package"
tree=${tree:-$work/packages}
deb=$("$source_dir/scripts/package" --out "$tree") || fail "scripts/package"
check "the package is canary_${version}_$(dpkg --print-architecture).deb" \
	test "$deb" = "$tree/canary_${version}_$(dpkg --print-architecture).deb" -a -f "$deb"
check "the build log says it is a release build" \
	grep -q "is a release build of $version" "$tree/build.log"
check "nothing was written next to the source tree" \
	test -z "$(find "$(dirname "$source_dir")" -maxdepth 1 -name 'canary_*' -newer "$work/refused.log")"
maintainer=$(sed -n 's/^Maintainer: //p' "$source_dir/debian/control")
check "Maintainer is debian/control's, $maintainer" test "$(dpkg-deb -f "$deb" Maintainer)" = "$maintainer"
check "Maintainer is not root or localhost" test -z "$(grep -Eo 'root@|localhost' <<<"$maintainer" || true)"

echo "== lintian: no error, no warning"
changes=${deb%.deb}.changes
status=0
lintian --fail-on error,warning --display-info --pedantic "$changes" >"$work/lintian.log" 2>&1 ||
	status=$?
grep -v '^running with root privileges' "$work/lintian.log" | sed 's/^/  | /' || true
if grep -q '^[EW]: ' "$work/lintian.log"; then
	grep '^[EW]: ' "$work/lintian.log"
	fail "lintian found the errors or warnings above"
fi
((status == 0)) || fail "lintian failed (exit $status)"
echo "ok: lintian $(lintian --version | awk '{ print $2 }') on $(basename "$changes") and its packages"

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libgmime-3.0-0 libsodium23 libsqlite3-0 libcurl4 libsystemd0 libpasswdqc1 libytnef0; do
	check "Depends names $lib" grep -q "$lib" <<<"$depends"
done
# postinst runs systemd-sysusers (dh_installsysusers).
check "Depends names systemd-sysusers' packages" \
	grep -q "systemd | systemd-standalone-sysusers" <<<"$depends"
check "the man pages are compressed" \
	test -z "$(dpkg-deb -c "$deb" | grep -E '/man/man[0-9]/[^/]+[0-9]$' || true)"

# ssh is for officers' own machines ("canary --host"), not for the server.
check "Depends does not name openssh-client" test -z "$(grep -o openssh <<<"$depends" || true)"
check "Suggests names openssh-client" grep -q openssh-client <<<"$(dpkg-deb -f "$deb" Suggests)"

echo "== dpkg -i, without keys"
dpkg -i "$deb" >"$work/install.log" 2>&1 || {
	cat "$work/install.log"
	fail "dpkg -i"
}
sed 's/^/  | /' "$work/install.log"
check "installed" test "$(dpkg-query -W -f='${Status}' canary)" = "install ok installed"
mapfile -t files < <(dpkg -L canary)
for path in /usr/bin/canary /usr/sbin/canaryd /etc/canary/canary.conf /etc/canary/routing.conf \
	/etc/canary/keys /lib/systemd/system/canaryd.service /lib/systemd/system/canaryd.socket \
	/usr/lib/sysusers.d/canary.conf /usr/lib/tmpfiles.d/canary.conf \
	/usr/share/man/man1/canary.1.gz /usr/share/man/man5/canary.conf.5.gz \
	/usr/share/man/man5/canary-routing.conf.5.gz /usr/share/man/man7/canary-control.7.gz \
	/usr/share/man/man8/canaryd.8.gz /usr/share/bash-completion/completions/canary \
	/usr/share/doc/canary/copyright /usr/share/doc/canary/changelog.gz; do
	check "dpkg -L lists $path" grep -qxF "$path" < <(printf '%s\n' "${files[@]}")
done
# Every file the package holds: there, root's, and no mode looser than needed.
for path in "${files[@]}"; do
	[[ $path == /. ]] && continue
	# /lib is a link to usr/lib on a merged-/usr system (Debian 12's).
	[[ -L $path && -d $path && $path != /etc/* && $path != /usr/* ]] && continue
	want="644 root:root"
	if [[ -d $path || $path == /usr/bin/* || $path == /usr/sbin/* ]]; then
		want="755 root:root"
	fi
	[[ -e $path ]] || fail "$path is listed but missing"
	[[ $(mode_owner "$path") == "$want" ]] || fail "$path is $(mode_owner "$path"), wanted $want"
done
echo "ok: all ${#files[@]} paths of the package exist with their modes and owners"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' canary)
for path in "${files[@]}"; do
	[[ $path == /etc/canary/* && -f $path ]] || continue
	check "$path is a conffile" grep -q "^ $path " <<<"$conffiles"
done

check "user canary is a system user" test "$(id -u canary)" -lt 1000
check "canary's home is /var/lib/canary" test "$(getent passwd canary | cut -d: -f6)" = /var/lib/canary
check "canary cannot log in" grep -q "nologin\|/bin/false" <<<"$(getent passwd canary | cut -d: -f7)"
check "/var/lib/canary is 0700 canary:canary" test "$(mode_owner /var/lib/canary)" = "700 canary:canary"
check "/run/canary is 0755 canary:canary" test "$(mode_owner /run/canary)" = "755 canary:canary"
check "the group canary-officers is a system group" test "$(getent group canary-officers | cut -d: -f3)" -lt 1000
check "canary is not an officer" test -z "$(getent group canary-officers | cut -d: -f4)"
check "canary --version" test "$(/usr/bin/canary --version)" = "canary $version"
check "canary looks for /etc/canary/canary.conf" grep -q "/etc/canary/canary.conf" \
	<<<"$(/usr/bin/canary check-config --help)"
# canaryd has no --version (yet): its --help must run with its libraries.
check "canaryd --help runs" /usr/sbin/canaryd --help
check "completion script parses" bash -n /usr/share/bash-completion/completions/canary
check "postinst says the configuration is not ready" grep -q "configuration is not ready" "$work/install.log"
check "postinst names a missing key" grep -q "keys/custodian.pub: no such file" "$work/install.log"
check "postinst says what to do next" grep -q "canary keygen --pseudonym-key" "$work/install.log"

# canaryd must be neither enabled nor running: it has no keys.
not_started()
{
	[[ ! -e /etc/systemd/system/multi-user.target.wants/canaryd.service ]] || return 1
	[[ ! -e /etc/systemd/system/sockets.target.wants/canaryd.socket ]] || return 1
	for exe in /proc/[0-9]*/exe; do
		[[ $(readlink "$exe" 2>/dev/null) != /usr/sbin/canaryd ]] || return 1
	done
}
check "canaryd is not enabled or running" not_started

echo "== keys and an edited conffile, then dpkg -i again (upgrade path)"
printf 'package test passphrase, not secret\n' >"$work/passphrase"
# The installed canary ignores the test suites' variable: MODERATE Argon2id.
CANARY_TEST_FAST_KDF=1 /usr/bin/canary keygen --out /etc/canary/keys custodian \
	-p "$work/passphrase" >/dev/null
# Payload: salt (16) | opslimit (u64 LE) | memlimit (u64 LE) | ...
limits=$(sed -n 2p /etc/canary/keys/custodian.key | base64 -d | od -An -tu8 -j16 -N16 | xargs)
check "keygen wrote Argon2id MODERATE ($limits), CANARY_TEST_FAST_KDF=1 notwithstanding" \
	test "$limits" = "3 268435456"
/usr/bin/canary keygen --pseudonym-key /etc/canary/keys/pseudonym.key >/dev/null
chown canary:canary /etc/canary/keys/pseudonym.key
chmod 0600 /etc/canary/keys/pseudonym.key
rm /etc/canary/keys/custodian.key # a secret key never stays on the server
install -m 0600 /dev/null /etc/canary/imap-password
echo secret >/etc/canary/imap-password
# One queue, sealed to the custodian's key, instead of the shipped routing.
sed -i -e 's/^rules = routing.conf/# rules = routing.conf/' \
	-e 's|^# default_section_public = .*|default_section_public = keys/custodian.pub|' \
	/etc/canary/canary.conf
cp /etc/canary/canary.conf "$work/edited.conf"
dpkg -i --force-confold "$deb" >"$work/reinstall.log" 2>&1 || {
	cat "$work/reinstall.log"
	fail "dpkg -i again"
}
sed 's/^/  | /' "$work/reinstall.log"
check "the edited canary.conf survives" cmp -s /etc/canary/canary.conf "$work/edited.conf"
check "no .dpkg-dist or .dpkg-new left" test -z "$(find /etc/canary -name '*.dpkg-*')"
if grep -q "configuration is not ready" "$work/reinstall.log"; then
	cat "$work/reinstall.log"
	fail "postinst did not accept a valid configuration"
fi
# A reinstall never enables what the admin has not enabled.
check "postinst validated the configuration as canary" \
	grep -q "configuration is valid\|canaryd is disabled" "$work/reinstall.log"
check "/var/lib/canary is still 0700 canary:canary" test "$(mode_owner /var/lib/canary)" = "700 canary:canary"

echo "== dpkg --purge keeps the case database"
# canaryd's user files a case, as the daemon would.
mkdir -m 0755 "$work/mail"
cp "$source_dir/tests/data/mail/charset-utf8-8bit.eml" "$work/mail/"
chmod 0755 "$work"
(cd / && runuser -u canary -- env CREDENTIALS_DIRECTORY=/etc/canary \
	/usr/bin/canary import "$work/mail/charset-utf8-8bit.eml" >/dev/null)
check "a case database exists" test -e /var/lib/canary/canary.db
dpkg --purge canary >"$work/purge.log" 2>&1 || {
	cat "$work/purge.log"
	fail "dpkg --purge"
}
sed 's/^/  | /' "$work/purge.log"
check "purged" test -z "$(dpkg-query -W -f='${Status}' canary 2>/dev/null)"
for path in "${files[@]}"; do
	[[ -d $path ]] && continue # directories shared with other packages stay
	[[ ! -e $path ]] || fail "$path is still there after purge"
done
echo "ok: every file of the package is gone"
check "the case database is kept" test -e /var/lib/canary/canary.db
check "purge says it kept it" grep -q "kept /var/lib/canary" "$work/purge.log"
check "the admin's keys are kept" test -f /etc/canary/keys/pseudonym.key
# Debian leaves system users on purge: their uid may still own files (here the
# database), which a new user given that uid would otherwise own.
check "user canary is kept, as Debian does" getent passwd canary

echo "== install and purge without a database: nothing left"
rm -rf /var/lib/canary/* /etc/canary
dpkg -i "$deb" >/dev/null 2>&1 || fail "dpkg -i after purge"
check "the existing user is reused" test "$(getent passwd canary | wc -l)" -eq 1
dpkg --purge canary >"$work/purge2.log" 2>&1 || fail "second dpkg --purge"
check "/var/lib/canary is gone" test ! -e /var/lib/canary
check "/run/canary is gone" test ! -e /run/canary
check "the group canary-officers is kept, as Debian does" getent group canary-officers
check "/etc/canary is gone" test ! -e /etc/canary
check "deb-systemd-helper keeps no state of canaryd's units" \
	test -z "$(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
		-name 'canaryd.*' 2>/dev/null)"
echo "all package checks passed"
