#!/usr/bin/env bash
# install.sh: "cmake --install" of the build tree (any prefix, the default
# /usr/local included) puts canary.conf where the installed canary looks for
# it, and the bash completion where bash-completion loads it from.
# Usage: install.sh BUILD_DIR
set -euo pipefail

build=$1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$build" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")

fail()
{
	echo "FAIL: $*"
	exit 1
}
canary=$stage$prefix/bin/canary
[[ -x $canary ]] || fail "no $prefix/bin/canary"
[[ -x $stage$prefix/sbin/canaryd ]] || fail "no $prefix/sbin/canaryd"
# "--config=FILE  Configuration file (default: $CANARY_CONFIG, else /x/canary.conf)"
config=$("$canary" check-config --help | sed -n 's/.*else \(.*canary\.conf\)).*/\1/p')
[[ -n $config ]] || fail "canary check-config --help names no default configuration"
[[ -f $stage$config ]] || fail "canary looks for $config, which is not installed"
[[ -f $(dirname "$stage$config")/routing.conf ]] || fail "no routing.conf beside $config"
[[ -d $(dirname "$stage$config")/keys ]] || fail "no keys/ beside $config"
completion=$stage$prefix/share/bash-completion/completions/canary
[[ -f $completion ]] || fail "no $prefix/share/bash-completion/completions/canary"
bash -n "$completion" || fail "the installed completion does not parse"
echo "ok: prefix $prefix, configuration $config, completion installed"
