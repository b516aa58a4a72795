# lib.sh - sourced by every integration test (and by tests/bench/bench.sh).
#
# POSIX sh (dash): no bashisms, no "local"; helper variables are prefixed
# with _l (one prefix per function so nested calls do not clobber).  Safe
# under "set -e" too.
# Environment (set by automake's AM_TESTS_ENVIRONMENT or by hand):
#   OUTBOX OUTBOX_DELIVER FAKESMTPD TESTLIB; KEEP=1 keeps the work dir.
# Provides:
#   $T                      work dir, removed on exit (unless KEEP=1)
#   start_server NAME [fakesmtpd options]   sets ${NAME}_PORT, ${NAME}_PID;
#                           records go to $T/NAME (see tests/fakesmtpd.c)
#   stop_server NAME
#   write_conf [LINE...]    $T/outbox.conf; exports OUTBOX_CONF
#   ob ARGS...              "$OUTBOX" ARGS; stderr also kept in $T/ob.err
#   sendmail ARGS...        ob sendmail ARGS
#   count_delivered NAME    number of complete records (msg.*.env)
#   delivered_files NAME    their .eml paths, one a line, sorted
#   delivered_msgids NAME   Message-ID values received, one a line, sorted
#   count_rejected NAME / count_dropped NAME
#   queue_json              "$OUTBOX" queue --json
#   queue_count             number of messages in the queue
#   queue_states            "ID ADDRESS STATE ATTEMPTS" per recipient
#   mkmsg N SIZE [TO]       a message with Message-ID <N@test>, SIZE body bytes
#   deliver_one             flush; exactly one new delivery in $eml/$env
#   crlf / uncrlf           filters: LF <-> CRLF line ends
#   start_daemon            `outbox run` in the background, in its own
#                           process group ($DAEMON_PID; log $T/daemon.log)
#   stop_daemon [SIG]       SIGTERM (or SIG) and wait (bounded); $DAEMON_RC
#   dsn_files NAME          .eml paths of DSNs (MAIL FROM:<>) NAME received
#   dsn_check EML ACTION RCPT STATUS [TEXT]  EML is an RFC 3464 report
#                           with that per-recipient block (TEXT: in the
#                           Diagnostic-Code)
#   fail MSG / skip WHY / assert_eq A B WHAT / assert_file_eq F1 F2 WHAT
#   wait_for CMD...         retry CMD until it succeeds (WAIT_TIMEOUT, 10 s)

: "${OUTBOX:?OUTBOX is not set (run through make check)}"
: "${FAKESMTPD:?FAKESMTPD is not set (run through make check)}"
export OUTBOX FAKESMTPD
[ -n "${OUTBOX_DELIVER:-}" ] && export OUTBOX_DELIVER

T=$(mktemp -d "${TMPDIR:-/tmp}/outbox-test.XXXXXX") || {
	echo "lib.sh: mktemp failed" >&2
	exit 99
}
_lib_servers=""			# NAME list, for cleanup
LIB_CLEAN_DIRS=""		# more directories to remove at exit
WAIT_TIMEOUT=${WAIT_TIMEOUT:-10}

_lib_cleanup()
{
	_lc_rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "${_lib_daemon:-}" ]; then
		# the daemon's workers are its children: its process group
		# (no "--": dash's kill takes "-PID" after a signal, not it)
		kill -9 "-$_lib_daemon" 2>/dev/null
		kill -9 "$_lib_daemon" 2>/dev/null
		wait "$_lib_daemon" 2>/dev/null
	fi
	for _lc_n in $_lib_servers; do
		stop_server "$_lc_n"
	done
	if [ "$_lc_rc" -ne 0 ] && [ "$_lc_rc" -ne 77 ]; then
		for _lc_f in "$T"/*/transcript.* "$T"/*.log; do
			[ -s "$_lc_f" ] || continue
			echo "--- last lines of $_lc_f" >&2
			tail -n 20 "$_lc_f" >&2
		done
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "test dir kept: $T $LIB_CLEAN_DIRS" >&2
	else
		# shellcheck disable=SC2086 # a list of mktemp paths
		rm -rf "$T" $LIB_CLEAN_DIRS
	fi
	exit "$_lc_rc"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

skip()
{
	echo "SKIP: $*" >&2
	exit 77
}

assert_eq()
{
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
}

assert_file_eq()
{
	cmp -s "$1" "$2" || {
		cmp "$1" "$2" >&2
		fail "${3:-files differ}: $1 != $2"
	}
}

# wait_for CMD...: run CMD every 20 ms until it succeeds; 1 on timeout.
wait_for()
{
	_lw_end=$(( $(date +%s) + WAIT_TIMEOUT ))
	until "$@"; do
		if [ "$(date +%s)" -gt "$_lw_end" ]; then
			echo "wait_for: timed out after ${WAIT_TIMEOUT}s: $*" >&2
			return 1
		fi
		sleep 0.02
	done
	return 0
}

_lib_check_name()
{
	case "$1" in
	'' | [0-9]* | *[!A-Za-z0-9_]*) fail "bad server name '$1'" ;;
	esac
}

# start_server NAME [fakesmtpd options...]
start_server()
{
	_ls_name=$1
	shift
	_lib_check_name "$_ls_name"
	mkdir -p "$T/$_ls_name" || fail "mkdir $T/$_ls_name"
	rm -f "$T/$_ls_name.port"
	"$FAKESMTPD" --dir "$T/$_ls_name" --port-file "$T/$_ls_name.port" \
	    "$@" </dev/null >>"$T/$_ls_name.log" 2>&1 &
	_ls_pid=$!
	eval "${_ls_name}_PID=\$_ls_pid"
	_lib_servers="$_lib_servers $_ls_name"
	_ls_i=0
	while [ ! -s "$T/$_ls_name.port" ]; do
		if ! kill -0 "$_ls_pid" 2>/dev/null; then
			cat "$T/$_ls_name.log" >&2
			fail "fakesmtpd $_ls_name exited at start"
		fi
		_ls_i=$((_ls_i + 1))
		[ "$_ls_i" -le 500 ] || fail "fakesmtpd $_ls_name: no port in 10 s"
		sleep 0.02
	done
	_ls_port=$(cat "$T/$_ls_name.port")
	eval "${_ls_name}_PORT=\$_ls_port"
}

# stop_server NAME: SIGTERM (the server kills its children), then reap.
stop_server()
{
	_lib_check_name "$1"
	eval "_lt_pid=\${${1}_PID:-}"
	[ -n "$_lt_pid" ] || return 0
	kill "$_lt_pid" 2>/dev/null || :
	wait "$_lt_pid" 2>/dev/null || :
	eval "${1}_PID="
	_lt_new=""
	for _lt_n in $_lib_servers; do
		[ "$_lt_n" = "$1" ] || _lt_new="$_lt_new $_lt_n"
	done
	_lib_servers=$_lt_new
	return 0
}

# write_conf [LINE...]: a config for $T, relaying to server "srv" if up.
write_conf()
{
	mkdir -p "$T/queue" || fail "mkdir $T/queue"
	{
		echo "queue_dir $T/queue"
		echo "helo_name test.example"
		echo "log stderr"
		# tests flush when they mean to; deliver_on_submit and the
		# daemon have their own tests
		echo "deliver_on_submit no"
		# the test servers speak plain SMTP unless a test gives
		# them certificates (and says tls ... itself)
		echo "tls off"
		if [ -n "${srv_PORT:-}" ]; then
			echo "relay 127.0.0.1:$srv_PORT"
		fi
		for _lc_line in "$@"; do
			printf '%s\n' "$_lc_line"
		done
	} >"$T/outbox.conf" || fail "cannot write $T/outbox.conf"
	OUTBOX_CONF=$T/outbox.conf
	export OUTBOX_CONF
}

# ob ARGS...: run outbox; its stderr goes to the test log and, for the
# last call to finish, to $T/ob.err (safe when run in parallel).
ob()
{
	_lo_err=$(mktemp "$T/.err.XXXXXX") || fail "mktemp"
	_lo_rc=0
	"$OUTBOX" "$@" 2>"$_lo_err" || _lo_rc=$?
	cat "$_lo_err" >&2
	mv -f "$_lo_err" "$T/ob.err"
	return "$_lo_rc"
}

sendmail()
{
	ob sendmail "$@"
}

count_delivered()
{
	_lib_check_name "$1"
	find "$T/$1/" -maxdepth 1 -name 'msg.*.env' | wc -l | tr -d ' '
}

count_rejected()
{
	_lib_check_name "$1"
	find "$T/$1/" -maxdepth 1 -name 'rejected.*.eml' | wc -l | tr -d ' '
}

count_dropped()
{
	_lib_check_name "$1"
	find "$T/$1/" -maxdepth 1 -name 'dropped.*.eml' | wc -l | tr -d ' '
}

delivered_files()
{
	_lib_check_name "$1"
	find "$T/$1/" -maxdepth 1 -name 'msg.*.env' | sort |
	    sed 's/\.env$/.eml/'
}

# Message-IDs of all delivered messages (header names are matched without
# regard to case; folded Message-ID headers are not expected here).
delivered_msgids()
{
	delivered_files "$1" | while IFS= read -r _ld_f; do
		sed -n '/^\r\{0,1\}$/q; s/^[Mm][Ee][Ss][Ss][Aa][Gg][Ee]-[Ii][Dd]:[ 	]*//p' \
		    "$_ld_f" | tr -d '\r'
	done | sort
}

# deliver_one: flush to server srv, expect an empty queue and exactly one
# new delivered file; sets eml and env to its .eml and .env paths.
deliver_one()
{
	delivered_files srv | sort > "$T/before"
	ob flush >&2 || fail "flush exited $?"
	assert_eq "$(queue_count)" 0 "queue after flush"
	delivered_files srv | sort > "$T/after"
	comm -13 "$T/before" "$T/after" > "$T/new"
	assert_eq "$(wc -l < "$T/new")" 1 "new deliveries"
	eml=$(cat "$T/new")
	env=${eml%.eml}.env
}

queue_json()
{
	"$OUTBOX" queue --json
}

queue_count()
{
	_lq_json=$("$OUTBOX" queue --json) || {
		echo "queue_count: outbox queue --json failed" >&2
		return 1
	}
	printf '%s' "$_lq_json" |
	    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

queue_states()
{
	_lq_json=$("$OUTBOX" queue --json) || {
		echo "queue_states: outbox queue --json failed" >&2
		return 1
	}
	printf '%s' "$_lq_json" | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    for r in m["recipients"]:
        print(m["id"], r["address"], r["state"], r["attempts"])'
}

# mkmsg N SIZE [TO]: headers (From, To, Subject, Date, Message-ID <N@test>,
# so outbox adds none) then SIZE bytes of body: LF-ended numbered lines of
# 76 octets (the last one shorter), none starting with a dot.
mkmsg()
{
	printf 'From: Sender <sender@test.example>\n'
	printf 'To: %s\n' "${3:-rcpt@test.example}"
	printf 'Subject: test message %s\n' "$1"
	printf 'Date: Tue, 24 Nov 2026 13:00:00 +0000\n'
	printf 'Message-ID: <%s@test>\n' "$1"
	printf '\n'
	awk -v size="$2" -v id="$1" 'BEGIN {
		fill = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		fill = fill fill
		n = 0
		while (size - n >= 76) {
			line = sprintf("%08d %s %s", ++i, id, fill)
			printf "%s\n", substr(line, 1, 75)
			n += 76
		}
		if (size > n) {
			line = sprintf("%08d %s %s", ++i, id, fill)
			printf "%s\n", substr(line, 1, size - n - 1)
		}
	}'
}

crlf()
{
	sed 's/\r$//; s/$/\r/'
}

uncrlf()
{
	sed 's/\r$//'
}

# dsn_files NAME: the DSNs server NAME received (null reverse-path).
dsn_files()
{
	for _df in $(delivered_files "$1"); do
		grep -q '^MAIL FROM:<>' "${_df%.eml}.env" && echo "$_df"
	done
	return 0
}

# dsn_check EML ACTION RCPT STATUS [TEXT]: EML is a multipart/report
# (RFC 3464) whose delivery-status part has a block for RCPT with that
# Action and Status (and TEXT in its Diagnostic-Code or the human part).
dsn_check()
{
	python3 - "$@" <<'PY' || fail "$1 is not the DSN expected ($2 $3 $4)"
import email, email.policy, sys
path, action, rcpt, status = sys.argv[1:5]
text = sys.argv[5] if len(sys.argv) > 5 else None
raw = open(path, 'rb').read()
assert b'\n' not in raw.replace(b'\r\n', b''), 'bare LF'
assert max(len(l) for l in raw.split(b'\r\n')) <= 998, 'line over 998'
m = email.message_from_bytes(raw, policy=email.policy.compat32)
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status'
assert m['Auto-Submitted'] == 'auto-replied'
parts = m.get_payload()
types = [p.get_content_type() for p in parts]
assert types[:2] == ['text/plain', 'message/delivery-status'], types
assert types[2] in ('text/rfc822-headers', 'message/rfc822'), types
blocks = parts[1].get_payload()
found = None
for b in blocks[1:]:
    f = {k.lower(): ' '.join(v.split()) for k, v in b.items()}
    if f.get('final-recipient', '').endswith(rcpt):
        found = f
assert found, 'no block for %s in %r' % (rcpt, [b.items() for b in blocks])
assert found['action'] == action, found
assert found['status'] == status, found
if text:
    human = parts[0].get_payload(decode=True).decode('ascii', 'replace')
    assert text in found.get('diagnostic-code', '') or text in human, (text, found)
PY
}

# start_daemon: `outbox run` in the background, in a process group of its
# own so that cleanup can kill it with its workers; waits for its doorbell.
start_daemon()
{
	rm -f "$T/queue/daemon.sock"
	setsid "$OUTBOX" run >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	_lib_daemon=$DAEMON_PID
	wait_for test -S "$T/queue/daemon.sock" ||
	    fail "the daemon did not start: $(cat "$T/daemon.log")"
}

# stop_daemon [SIG]: signal the daemon and wait for it (WAIT_TIMEOUT);
# its exit status goes to DAEMON_RC.
stop_daemon()
{
	kill -"${1:-TERM}" "$DAEMON_PID" 2>/dev/null
	_sd_i=0
	while kill -0 "$DAEMON_PID" 2>/dev/null; do
		_sd_i=$((_sd_i + 1))
		[ "$_sd_i" -le $((WAIT_TIMEOUT * 20)) ] ||
		    fail "the daemon did not stop in ${WAIT_TIMEOUT}s"
		sleep 0.05
	done
	DAEMON_RC=0
	wait "$DAEMON_PID" || DAEMON_RC=$?
	_lib_daemon=""
}
