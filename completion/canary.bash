# bash completion for canary(1). Knows no subcommand or option itself: it reads
# them from "canary --help" ("  NAME  summary" lines under "Commands:") and from
# "canary COMMAND --help" (GLib's option list and usage line), so commands
# added later complete too. Needs bash 4; does not need the bash-completion package.

# Prints the help of the canary being completed ($1), untranslated.
_canary_help()
{
	local program=$1
	shift
	[[ $program == \~/* ]] && program=$HOME/${program#\~/}
	LC_ALL=C command "$program" "$@" --help 2>/dev/null
}

# Prints the subcommands, one per line.
_canary_commands()
{
	_canary_help "$1" | awk '/^Commands:/ { in_list = 1; next }
		in_list && /^  [^ ]/ { print $1 } in_list && /^$/ { exit }'
}

# Prints "NAME ARG" per option of a subcommand ("--config FILE", "--json -",
# "-c FILE"): ARG is the placeholder GLib shows for its value, "-" for none.
_canary_options()
{
	_canary_help "$1" "$2" | awk '/^  +-/ {
		arg = "-"
		for (i = 1; i <= NF; i++) {
			word = $i
			sub(/,$/, "", word)
			if (word !~ /^-/)
				break
			if (split(word, parts, "=") == 2)
				arg = parts[2]
			names[++n] = parts[1]
		}
		for (i = 1; i <= n; i++)
			print names[i], arg
		n = 0
	}'
}

# Prints the positional parameters of a subcommand's usage line
# ("canary status [OPTION?] REF open|closed" -> "REF", "open|closed").
_canary_parameters()
{
	_canary_help "$1" "$2" | awk '/^  canary / {
		for (i = 3; i <= NF; i++)
			if ($i !~ /^\[OPTION/)
				print $i
		exit
	}'
}

# Sets COMPREPLY for a value of kind $1 (FILE, DIR, PATH, S, a|b, ...).
_canary_complete_value()
{
	local kind=${1//[][]/} cur=$2
	kind=${kind%...}
	case $kind in
	DIR)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		;;
	FILE | PATH | MESSAGE)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	*\|*)
		mapfile -t COMPREPLY < <(compgen -W "${kind//|/ }" -- "$cur")
		;;
	*)
		COMPREPLY=() # a case reference, a date, a name: nothing to offer
		;;
	esac
}

_canary()
{
	local program=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
	COMPREPLY=()
	# "canary --host [USER@]HOST COMMAND ...": the host, then as "canary COMMAND ...".
	if [[ ${COMP_WORDS[1]-} == --host ]] && ((COMP_CWORD >= 2)); then
		if ((COMP_CWORD == 2)); then
			mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
			return 0
		fi
		COMP_WORDS=("${COMP_WORDS[0]}" "${COMP_WORDS[@]:3}")
		((COMP_CWORD -= 2))
	fi
	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W "$(_canary_commands "$program") --help --version --host" -- "$cur")
		return 0
	fi
	local command=${COMP_WORDS[1]}
	local -A takes
	local name arg
	while read -r name arg; do
		takes[$name]=$arg
	done < <(_canary_options "$program" "$command")

	# "--config=FI" arrives as three words, "--config", "=" and "FI".
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	if [[ $cur == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]} cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 2)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	if [[ $prev == -* && ${takes[$prev]:--} != - ]]; then
		_canary_complete_value "${takes[$prev]}" "$cur"
		return 0
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "${!takes[*]}" -- "$cur")
		return 0
	fi

	# Which positional parameter this word is: skip options and their values.
	local i n=0 word
	for ((i = 2; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ $word == -* ]]; then
			[[ ${takes[$word]:--} != - && ${COMP_WORDS[i + 1]-} != = ]] && ((i++))
		elif [[ $word == = ]]; then
			((i++))
		else
			((n++))
		fi
	done
	local -a parameters
	mapfile -t parameters < <(_canary_parameters "$program" "$command")
	((${#parameters[@]} > 0)) || return 0
	local parameter=${parameters[n]-}
	if [[ -z $parameter && ${parameters[-1]} == *... ]]; then
		parameter=${parameters[-1]}
	fi
	[[ -n $parameter ]] && _canary_complete_value "$parameter" "$cur"
	return 0
}
complete -F _canary canary
