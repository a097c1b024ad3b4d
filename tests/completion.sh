#!/usr/bin/env bash
# completion.sh: completion/canary.bash completes subcommands, options and
# their values from the help of the canary it is given, without the
# bash-completion package. Usage: completion.sh SOURCE_DIR CANARY
set -u

source_dir=$1
canary=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# A canary on PATH, as users type it.
mkdir "$work/bin"
ln -s "$(realpath "$canary")" "$work/bin/canary"
PATH=$work/bin:$PATH
# shellcheck source=/dev/null
source "$source_dir/completion/canary.bash"

# Files to complete: a dir with one file, one directory and a name with a space.
mkdir -p "$work/files/keys.d"
touch "$work/files/canary.conf" "$work/files/keys.txt" "$work/files/my key.key"
cd "$work/files" || exit 1

# expect "WANTED REPLY" WORDS...: completes the last of WORDS and compares the
# sorted replies, space separated.
expect()
{
	local wanted=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_canary
	local got
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd ' ')
	if [[ $got == "$wanted" ]]; then
		echo "ok: '$*' -> '$got'"
	else
		echo "FAIL: '$*' -> '$got', wanted '$wanted'"
		failures=$((failures + 1))
	fi
}

expect "list" canary li
expect "check-config" canary check
expect "--version" canary --v
expect "--host" canary --ho
expect "list" canary --host ana@intake.example.org li
expect "--status" canary --host intake list --sta
expect "--status" canary list --sta
expect "--passphrase-file" canary list --pass
expect "--json" canary stats --j
expect "" canary stats --nonesuch
expect "--config --help --key --passphrase-file -c -h -k -p" canary show -
# Values: files after FILE options, directories after DIR, nothing after others.
expect "canary.conf" canary list --config ca
expect "canary.conf" canary list -c ca
expect "canary.conf" canary list --config = ca
expect "canary.conf keys.d keys.txt my key.key" canary list --config =
expect "keys.d keys.txt" canary show R-2026-000001 --key keys
expect "keys.d" canary keygen --out k
expect "keys.d" canary attachment -o ""
expect "" canary list --status ""
expect "" canary list --since 2026
# Positional parameters from the usage line: PATH... and MESSAGE are files,
# "open|closed" its words, a REF nothing.
expect "keys.d keys.txt" canary import keys
expect "keys.d keys.txt" canary import canary.conf keys
expect "keys.d keys.txt" canary route -c canary.conf keys
expect "" canary show k
expect "closed" canary status R-2026-000001 c
expect "closed" canary status --note-file = "note.txt" R-2026-000001 c
expect "" canary status R-2026-000001 closed k
expect "--again" canary send --ag
expect "--draft" canary send R-2026-000001 --dr

# Every subcommand "canary --help" lists is offered, and nothing else.
commands=$(LC_ALL=C canary --help | awk '/^Commands:/ { f = 1; next } f && /^  [^ ]/ { print $1 }' |
	sort | paste -sd ' ')
[[ $(wc -w <<<"$commands") -ge 15 ]] || {
	echo "FAIL: canary --help lists only: $commands"
	failures=$((failures + 1))
}
# shellcheck disable=SC2086 # one word per command
expect "$(printf '%s\n' $commands --help --version --host | sort | paste -sd ' ')" canary ""

# A subcommand added later completes without touching the script: a canary
# that knows "health" (with a --format=F option) is completed from its help.
cat >"$work/bin/canary-next" <<'EOF'
#!/bin/sh
if [ "$1" = health ]; then
	printf 'Usage:\n  canary health [OPTION?]\n\nApplication Options:\n'
	printf '  -c, --config=FILE     Configuration file\n  --format=F   Output format\n'
else
	printf 'Usage: canary COMMAND [OPTIONS...]\n\nCommands:\n'
	printf '  list           List cases\n  health         Say how canaryd is doing\n\n'
	printf 'Every command takes -c FILE and --help.\n'
fi
EOF
chmod +x "$work/bin/canary-next"
expect "health" canary-next he
expect "--format" canary-next health --fo
expect "canary.conf" canary-next health --config ca

if ((failures > 0)); then
	echo "$failures failure(s)"
	exit 1
fi
echo "all completions as expected"
