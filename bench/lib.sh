# Shared shell functions of the benchmarks in bench/. Sourced, not run.
# Needs root (Dovecot's private instance, chown of the mail files) and Debian 12.
#
# Environment:
#   CANARY_BUILD   build directory holding canaryd and canary (default /tmp/build-bench)
#   BENCH_CACHE    where generated messages are kept between runs (default /tmp/canary-bench-cache)
#   BENCH_ROUTING  1 (default): use conf/routing.conf and one key per section, as in
#                  production; 0: everything to one default section
#   BENCH_KEEP     1: keep the work directory (Dovecot config, logs, databases)

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$bench_dir/.." && pwd)
CANARY_BUILD=${CANARY_BUILD:-/tmp/build-bench}
BENCH_CACHE=${BENCH_CACHE:-/tmp/canary-bench-cache}
BENCH_ROUTING=${BENCH_ROUTING:-1}
BENCH_USER=reprisals
BENCH_PASSWORD=bench-password
canary="$CANARY_BUILD/canary"
canaryd="$CANARY_BUILD/canaryd"
work=""              # set by bench_init
dovecot_pid=""
dovecot_port=""

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# Install what the benchmarks need, once.
bench_deps() {
	[ "$(id -u)" = 0 ] || die "run as root (a private Dovecot, chown of mail files)"
	local missing=()
	command -v mbsync >/dev/null || missing+=(isync)
	command -v fetchmail >/dev/null || missing+=(fetchmail)
	[ -x /usr/bin/time ] || missing+=(time)
	command -v dovecot >/dev/null || missing+=(dovecot-imapd)
	command -v python3 >/dev/null || missing+=(python3)
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
			|| { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
			|| die "apt-get install ${missing[*]} failed"
	fi
	[ -x "$canaryd" ] && [ -x "$canary" ] || die "no canaryd/canary in $CANARY_BUILD; build first:
  cmake -S $top -B $CANARY_BUILD -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $CANARY_BUILD -j2"
}

# Make the work directory and arrange for cleanup on exit.
bench_init() {
	bench_deps
	work=$(mktemp -d /tmp/canary-bench.XXXXXX)
	chmod 0755 "$work"   # Dovecot's unprivileged processes walk it
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	local rc=$?
	dovecot_stop
	if [ -n "$work" ] && [ -d "$work" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
	fi
	return $rc
}

# Print "cores, load average, other jobs" for the report.
bench_machine() {
	printf 'machine: %s cores, %s MB RAM, load average %s; %s; Dovecot %s\n' \
		"$(nproc)" "$(free -m | awk '/^Mem:/ {print $2}')" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$(. /etc/os-release; echo "$PRETTY_NAME")" \
		"$(dovecot --version | cut -d' ' -f1)"
}

# --- generated messages -------------------------------------------------------

# bench_messages N: print the cache directory holding N generated .eml files,
# generating them on first use.
bench_messages() {
	local n=$1 dir="$BENCH_CACHE/msgs-$1"
	if [ ! -f "$dir/.done" ]; then
		say "generating $n messages into $dir (once)"
		rm -rf "$dir"
		mkdir -p "$BENCH_CACHE"
		python3 "$bench_dir/generate.py" "$dir" -n "$n" >&2
		touch "$dir/.done"
	fi
	printf '%s\n' "$dir"
}

# bench_big BYTES: a cache directory holding one message of about BYTES bytes.
bench_big() {
	local dir="$BENCH_CACHE/big-$1"
	if [ ! -f "$dir/.done" ]; then
		rm -rf "$dir"
		python3 "$bench_dir/generate.py" "$dir" --big "$1" >&2
		touch "$dir/.done"
	fi
	printf '%s\n' "$dir"
}

# bench_seed_template SRC NAME: lay out the .eml files of SRC as a Maildir "new/"
# directory under $work/seed-NAME (owned by the mail uid), so that each reset is
# one hard-linked copy. Prints the directory. Files are named as Dovecot names
# the mail it delivers (LDA, LMTP, APPEND): with their size (S=) and their size
# with CRLF line ends (W=, what RFC822.SIZE reports). Without W=, Dovecot reads
# every file to answer RFC822.SIZE (0.63 s against 0.06 s for 10,000 messages,
# bench/README.md, step 9), which no real inbox it delivered to makes it do.
bench_seed_template() {
	local src=$1 dst="$work/seed-$2"
	rm -rf "$dst"
	python3 - "$src" "$dst" "$(id -u nobody)" "$(id -g nobody)" <<'PY'
import os, shutil, sys
src, dst, uid, gid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(dst)
for i, name in enumerate(sorted(f for f in os.listdir(src) if f.endswith(".eml")), 1):
    with open(os.path.join(src, name), "rb") as f:
        data = f.read()
    bare_lf = data.count(b"\n") - data.count(b"\r\n")
    out = os.path.join(dst, "1767225600.M%dP1.bench,S=%d,W=%d" % (i, len(data), len(data) + bare_lf))
    shutil.copyfile(os.path.join(src, name), out)
    os.chown(out, uid, gid)
os.chown(dst, uid, gid)
PY
	printf '%s\n' "$dst"
}

# --- a private Dovecot on 127.0.0.1 ------------------------------------------

dovecot_start() {
	local d="$work/dovecot"
	mkdir -p "$d/run" "$d/state" "$d/home"
	chmod 0755 "$d"
	mail_uid=$(id -u nobody) mail_gid=$(id -g nobody)
	chown "$mail_uid:$mail_gid" "$d/home"
	dovecot_port=10993
	while (exec 3<>"/dev/tcp/127.0.0.1/$dovecot_port") 2>/dev/null; do dovecot_port=$((dovecot_port + 1)); done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
	echo "$BENCH_USER:{PLAIN}$BENCH_PASSWORD:$mail_uid:$mail_gid::$d/home::" > "$d/passwd"
	cat > "$d/dovecot.conf" <<CONF
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
listen = 127.0.0.1
protocols = imap
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
ssl = required
ssl_cert = <$d/cert.pem
ssl_key = <$d/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = optimized
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/passwd
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $dovecot_port
    ssl = yes
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
CONF
	dovecot_conf="$d/dovecot.conf"
	dovecot_cert="$d/cert.pem"
	dovecot_maildir="$d/home/Maildir"
	dovecot -F -c "$dovecot_conf" &
	dovecot_pid=$!
	local _
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$dovecot_port") 2>/dev/null && { say "Dovecot on 127.0.0.1:$dovecot_port"; return 0; }
		kill -0 "$dovecot_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$d/dovecot.log" >&2 2>/dev/null || true
	die "Dovecot did not start"
}

dovecot_stop() {
	if [ -n "$dovecot_pid" ]; then
		kill "$dovecot_pid" 2>/dev/null || true
		wait "$dovecot_pid" 2>/dev/null || true
		dovecot_pid=""
	fi
}

# mailbox_reset SEED: empty the account (every folder, Dovecot's indexes) and
# put the messages of SEED (from bench_seed_template) into INBOX/new, then let
# Dovecot index them once, so that every client starts from the same state.
# No client may be connected.
mailbox_reset() {
	local seed=$1
	rm -rf "$dovecot_maildir"
	mkdir -p "$dovecot_maildir/cur" "$dovecot_maildir/tmp"
	# Hard links: Dovecot never rewrites a Maildir file, it only renames and unlinks.
	cp -al "$seed" "$dovecot_maildir/new" 2>/dev/null || cp -a "$seed" "$dovecot_maildir/new"
	chown "$mail_uid:$mail_gid" "$dovecot_maildir" "$dovecot_maildir"/*
	doveadm -c "$dovecot_conf" mailbox status -u "$BENCH_USER" messages INBOX >/dev/null
	sync
}

# mailbox_count FOLDER: number of messages in FOLDER (0 when missing).
mailbox_count() {
	doveadm -c "$dovecot_conf" mailbox status -u "$BENCH_USER" messages "$1" 2>/dev/null |
		sed -n 's/.*messages=\([0-9]*\).*/\1/p' | grep . || echo 0
}

# --- canary keys and configuration -------------------------------------------

# canary_setup: keys under $work/canary/keys (throwaway passphrase), password
# file, and canary_config DB to write a configuration.
canary_setup() {
	local c="$work/canary" s sections
	mkdir -p "$c/keys"
	echo "bench passphrase" > "$c/passphrase"
	echo "$BENCH_PASSWORD" > "$c/imap-password"
	chmod 0600 "$c/imap-password"
	sections="custodian triage"
	if [ "$BENCH_ROUTING" = 1 ]; then
		cp "$top/conf/routing.conf" "$c/routing.conf"
		sections="custodian $(sed -n 's/^\[section \(.*\)\]$/\1/p' "$c/routing.conf" | tr '\n' ' ')"
	fi
	say "making keys: $sections"
	for s in $sections; do
		[ -f "$c/keys/$s.pub" ] || "$canary" keygen --out "$c/keys" "$s" --passphrase-file "$c/passphrase" >/dev/null
	done
	"$canary" keygen --pseudonym-key "$c/keys/pseudonym.key" >/dev/null
}

# canary_config DB: write $work/canary/canary.conf with database DB; prints its path.
canary_config() {
	local c="$work/canary" conf="$work/canary/canary.conf"
	{
		cat <<CONF
[store]
database = $1

[keys]
custodian_public = keys/custodian.pub
default_section_public = keys/triage.pub
pseudonym_key = keys/pseudonym.key

[logging]
level = warning
CONF
		# canary import needs no [imap]; canaryd does.
		if [ -n "$dovecot_port" ]; then
			cat <<CONF

[imap]
url = imaps://127.0.0.1:$dovecot_port/INBOX
username = $BENCH_USER
password_file = imap-password
ca_file = $dovecot_cert
CONF
		fi
		if [ "$BENCH_ROUTING" = 1 ]; then printf '\n[routing]\nrules = routing.conf\n'; fi
	} > "$conf"
	printf '%s\n' "$conf"
}

# --- measuring ----------------------------------------------------------------

# measure OUT LOG CMD...: run CMD under /usr/bin/time; append "wall user sys maxrss_kb"
# to OUT (also when CMD fails), CMD's output to LOG. Returns CMD's status.
measure() {
	local out=$1 log=$2 t rc=0
	shift 2
	t=$(mktemp "$work/time.XXXXXX")
	/usr/bin/time -f "%e %U %S %M" -o "$t" "$@" >>"$log" 2>&1 || rc=$?
	tail -n 1 "$t" >> "$out"   # "Command exited with non-zero status N" comes first
	rm -f "$t"
	if [ $rc -ne 0 ]; then
		echo "bench: '$*' exited $rc; last lines of $log:" >&2
		tail -n 20 "$log" >&2
	fi
	return $rc
}

# summarize OUT: "median_wall median_cpu median_rss_kb max_rss_kb runs" of a measure file.
summarize() {
	python3 - "$1" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
wall = statistics.median(r[0] for r in rows)
cpu = statistics.median(r[1] + r[2] for r in rows)
rss = statistics.median(r[3] for r in rows)
print("%.2f %.2f %d %d %d" % (wall, cpu, rss, max(r[3] for r in rows), len(rows)))
PY
}

# mb KB: kilobytes as megabytes with one decimal.
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
