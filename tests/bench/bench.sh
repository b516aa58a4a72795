# bench.sh - outbox benchmark, run by `make bench` (not part of make check).
#
# POSIX sh.  Uses the helpers of tests/integration/lib.sh ($TESTLIB): a
# temporary directory, fakesmtpd servers, mkmsg.  Installs nothing; a figure
# whose tool is missing (strace, /usr/bin/time and python3) is skipped with
# a note.  Every rate is the median of BENCH_RUNS runs.
#
# Knobs (environment):
#   BENCH_N         messages per submission run (default 1000, 4 KiB each)
#   BENCH_PAR       parallel submitters (default 8)
#   BENCH_LAT_N     messages for the 50 ms latency delivery (default 100)
#   BENCH_LAT_MS    reply latency of the slow server (default 50)
#   BENCH_RUNS      runs per figure (default 3, at least 1)
#   BENCH_STRACE_N  messages in the traced fsync batch (default 100)
#   BENCH_BIG       size of the big message in bytes (default 20 MiB)
#   BENCH_D_N       messages for the daemon's 1/4/8-connection delivery
#                   (default 400, against the ${BENCH_LAT_MS} ms server)
#   BENCH_DUE_SIZES queue sizes for the due-lookup timing
#                   (default "1000 100000")
#   BENCH_L_N       messages sent to the listener per run (default 2000)
#   KEEP=1          keep the work directory

: "${TESTLIB:?TESTLIB is not set (run through make bench)}"
# shellcheck source=../integration/lib.sh disable=SC2154
. "$TESTLIB"

N=${BENCH_N:-1000}
PAR=${BENCH_PAR:-8}
LAT_N=${BENCH_LAT_N:-100}
LAT_MS=${BENCH_LAT_MS:-50}
RUNS=${BENCH_RUNS:-3}
STRACE_N=${BENCH_STRACE_N:-100}
BIG=${BENCH_BIG:-20971520}
D_N=${BENCH_D_N:-400}
DUE_SIZES=${BENCH_DUE_SIZES:-"1000 100000"}
[ "$RUNS" -ge 1 ] || RUNS=1
LOG=$T/bench.err		# outbox's own log lines go here
SENDER=sender@test.example
RCPT=rcpt@test.example

now_ns()
{
	date +%s%N
}

# rate COUNT START_NS END_NS -> per second, one decimal
rate()
{
	awk -v n="$1" -v a="$2" -v b="$3" \
	    'BEGIN { d = (b - a) / 1e9; if (d <= 0) d = 1e-9;
		printf "%.1f\n", n / d }'
}

# median of the numbers on stdin
median()
{
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# report LABEL UNIT VALUES-FILE [TARGET-TEXT]
report()
{
	_r_med=$(median <"$3")
	_r_all=$(tr '\n' ' ' <"$3")
	printf '%-56s %10s %s   (runs: %s)%s\n' "$1" "$_r_med" "$2" \
	    "${_r_all% }" "${4:+  target: $4}"
}

note()
{
	printf '%-56s %s\n' "$1" "$2"
}

reset_queue()
{
	rm -rf "$T/queue"
	mkdir -p "$T/queue" || fail "mkdir $T/queue"
}

# bench_conf FILE PORT: a config relaying to 127.0.0.1:PORT
bench_conf()
{
	{
		echo "queue_dir $T/queue"
		echo "helo_name test.example"
		echo "log stderr"
		echo "relay 127.0.0.1:$2"
		echo "max_message_size 64M"
		echo "deliver_on_submit no"
		echo "tls off"
		echo "retry_initial 1s"
	} >"$1"
}

# submit_seq COUNT: one outbox sendmail process per message
submit_seq()
{
	_s_i=0
	while [ "$_s_i" -lt "$1" ]; do
		"$OUTBOX" sendmail -f "$SENDER" "$RCPT" <"$MSG4K" 2>>"$LOG" ||
		    return 1
		_s_i=$((_s_i + 1))
	done
	return 0
}

# submit_par COUNT WAYS
submit_par()
{
	_p_per=$(($1 / $2))
	_p_pids=""
	_p_j=0
	while [ "$_p_j" -lt "$2" ]; do
		submit_seq "$_p_per" &
		_p_pids="$_p_pids $!"
		_p_j=$((_p_j + 1))
	done
	_p_bad=0
	for _p_pid in $_p_pids; do
		wait "$_p_pid" || _p_bad=1
	done
	return "$_p_bad"
}

# flush_timed SERVER EXPECTED RESULT-FILE: time one `outbox flush`, check
# the server got EXPECTED more messages, append the rate to RESULT-FILE.
flush_timed()
{
	_f_before=$(count_delivered "$1")
	_f_conns0=$(find "$T/$1/" -name 'transcript.*' | wc -l)
	_f_t0=$(now_ns)
	"$OUTBOX" flush 2>>"$LOG"
	_f_rc=$?
	_f_t1=$(now_ns)
	_f_got=$(($(count_delivered "$1") - _f_before))
	_f_conns=$(($(find "$T/$1/" -name 'transcript.*' | wc -l) - _f_conns0))
	if [ "$_f_rc" -ne 0 ] || [ "$_f_got" -ne "$2" ]; then
		echo "bench: flush to $1: exit $_f_rc, delivered $_f_got of $2" >&2
		tail -n 5 "$LOG" >&2
		return 1
	fi
	rate "$2" "$_f_t0" "$_f_t1" >>"$3"
	echo "$_f_conns" >>"$T/conns.$1"
	return 0
}

# maxrss OUT-FILE CMD...: run CMD, append its peak RSS (KiB; for a tree,
# the largest process) to OUT-FILE; returns CMD's exit status.
if /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
	RSS_TOOL="/usr/bin/time -f %M"
	maxrss()
	{
		_m_out=$1
		shift
		/usr/bin/time -a -f %M -o "$_m_out" "$@"
	}
elif command -v python3 >/dev/null 2>&1; then
	RSS_TOOL="python3 getrusage(RUSAGE_CHILDREN)"
	cat >"$T/rss.py" <<'EOF'
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:], close_fds=False)
with open(sys.argv[1], "a") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc if rc >= 0 else 128 - rc)
EOF
	maxrss()
	{
		python3 "$T/rss.py" "$@"
	}
else
	RSS_TOOL=""
fi

kib_fmt()
{
	awk -v k="$1" 'BEGIN { printf "%.1f MiB (%d KiB)", k / 1024, k }'
}

# ---- set-up ------------------------------------------------------------
[ -x "$OUTBOX" ] || fail "no outbox binary at $OUTBOX"
REAL_DELIVER=${OUTBOX_DELIVER:-$(dirname "$OUTBOX")/outbox-deliver}
[ -x "$REAL_DELIVER" ] || fail "no outbox-deliver at $REAL_DELIVER"

# The test server writes two files per message it accepts; on this
# machine's ext4 that costs it about 1.2 ms of CPU per message, more than
# outbox spends on it.  Its records go to tmpfs when there is one, so that
# the delivery figures measure outbox and not the test server's disk.  The
# queue stays under $T, on disk: its fsyncs are real.
if [ -d /dev/shm ] && [ -w /dev/shm ] &&
    _shm=$(mktemp -d /dev/shm/outbox-bench.XXXXXX); then
	LIB_CLEAN_DIRS="$LIB_CLEAN_DIRS $_shm"
	mkdir "$_shm/srv" "$_shm/slow" &&
	    ln -s "$_shm/srv" "$T/srv" && ln -s "$_shm/slow" "$T/slow" ||
	    fail "cannot set up the server directories in $_shm"
	SRV_FS="tmpfs"
else
	SRV_FS="disk (no writable /dev/shm)"
fi
start_server srv
start_server slow --latency "$LAT_MS"
bench_conf "$T/fast.conf" "$srv_PORT"
bench_conf "$T/slow.conf" "$slow_PORT"
OUTBOX_CONF=$T/fast.conf
export OUTBOX_CONF

# A 4096-octet message: headers from mkmsg, body filling the rest.
_hdr=$(mkmsg 1 0 | wc -c)
MSG4K=$T/msg4k
mkmsg 1 $((4096 - _hdr)) >"$MSG4K"
[ "$(wc -c <"$MSG4K")" -eq 4096 ] || fail "cannot build a 4 KiB message"

reset_queue
if ! "$OUTBOX" sendmail -f "$SENDER" "$RCPT" <"$MSG4K" 2>>"$LOG"; then
	cat "$LOG" >&2
	fail "outbox sendmail does not work; nothing to measure"
fi

echo "outbox benchmark: $(uname -sr), $(nproc 2>/dev/null || echo '?') CPUs," \
    "queue in $T (medians of $RUNS runs), test server records on $SRV_FS"
echo

# For scale: how fast this machine starts a trivial C program.
_t0=$(now_ns)
_i=0
while [ "$_i" -lt 500 ]; do
	/bin/true
	_i=$((_i + 1))
done
note "reference: /bin/true start+exit" "$(rate 500 "$_t0" "$(now_ns)") per second"

# ---- 1-3: submission and delivery rates -------------------------------
: >"$T/r.seq"
: >"$T/r.par"
: >"$T/r.del0"
: >"$T/r.dellat"
run=1
while [ "$run" -le "$RUNS" ]; do
	# 1. sequential, then deliver the same messages (0 ms server)
	reset_queue
	OUTBOX_CONF=$T/fast.conf
	_t0=$(now_ns)
	submit_seq "$N" || fail "sequential submission failed (see $LOG)"
	rate "$N" "$_t0" "$(now_ns)" >>"$T/r.seq"
	flush_timed srv "$N" "$T/r.del0" || fail "delivery (0 ms) failed"

	# 2. parallel
	reset_queue
	_t0=$(now_ns)
	submit_par "$N" "$PAR" || fail "parallel submission failed (see $LOG)"
	rate $((N / PAR * PAR)) "$_t0" "$(now_ns)" >>"$T/r.par"

	# 3b. delivery with reply latency
	reset_queue
	OUTBOX_CONF=$T/slow.conf
	submit_seq "$LAT_N" || fail "submission failed (see $LOG)"
	flush_timed slow "$LAT_N" "$T/r.dellat" ||
	    fail "delivery (${LAT_MS} ms) failed"
	run=$((run + 1))
done
OUTBOX_CONF=$T/fast.conf

report "1. sequential submissions ($N x 4 KiB, 1 proc each)" "msg/s" \
    "$T/r.seq" ">= 450 msg/s"
report "2. ${PAR}-way parallel submissions" "msg/s" "$T/r.par"
report "3a. delivery, 1 connection, 0 ms latency ($N msgs)" "msg/s" \
    "$T/r.del0" ">= 2000 msg/s"
report "3b. delivery, ${LAT_MS} ms reply latency ($LAT_N msgs)" "msg/s" \
    "$T/r.dellat" "pipelining + reuse (nullmailer: 3 msg/s)"
note "    connections used per flush (0 ms / ${LAT_MS} ms)" \
    "$(sort -u "$T/conns.srv" | tr '\n' ' ')/ $(sort -u "$T/conns.slow" | tr '\n' ' ')"

# ---- 4: fsync calls per message ----------------------------------------
if ! command -v strace >/dev/null 2>&1; then
	note "4. fsync+fdatasync per submitted message" "skipped: no strace"
elif ! strace -o /dev/null true 2>/dev/null; then
	note "4. fsync+fdatasync per submitted message" \
	    "skipped: strace cannot trace here (ptrace not permitted?)"
else
	reset_queue
	# A first message creates the queue; trace the steady state.
	submit_seq 1 || fail "submission failed"
	strace -f -c -o "$T/strace.out" \
	    -e trace=fsync,fdatasync,msync,sync_file_range,syncfs,sync \
	    sh -c '
		i=0
		while [ "$i" -lt "$1" ]; do
			"$OUTBOX" sendmail -f "$2" "$3" <"$4" 2>>"$5" || exit 1
			i=$((i + 1))
		done' sh "$STRACE_N" "$SENDER" "$RCPT" "$MSG4K" "$LOG" ||
	    fail "traced submission failed"
	# strace -c: "% time seconds usecs/call calls [errors] syscall"
	_sync=$(awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 }
	    END { print n + 0 }' "$T/strace.out")
	_other=$(awk '$NF == "msync" || $NF == "sync_file_range" ||
	    $NF == "syncfs" || $NF == "sync" { s = s " " $NF "=" $4 }
	    END { print s }' "$T/strace.out")
	note "4. fsync+fdatasync per submitted message" \
	    "$(awk -v a="$_sync" -v n="$STRACE_N" \
	    'BEGIN { printf "%.2f", a / n }') calls  ($_sync over $STRACE_N msgs${_other:+; also$_other})"
fi

# ---- 5: peak RSS with a big message -----------------------------------
if [ -z "$RSS_TOOL" ]; then
	note "5. peak RSS" "skipped: neither /usr/bin/time nor python3"
else
	reset_queue
	OUTBOX_CONF=$T/fast.conf
	mkmsg big "$((BIG - $(mkmsg big 0 | wc -c)))" >"$T/big"
	: >"$T/rss.send"
	maxrss "$T/rss.send" "$OUTBOX" sendmail -f "$SENDER" "$RCPT" \
	    <"$T/big" 2>>"$LOG" || fail "submitting the big message failed"
	# Measure outbox-deliver on its own through a wrapper.
	: >"$T/rss.deliver"
	: >"$T/rss.flush"
	{
		echo '#!/bin/sh'
		if [ "$RSS_TOOL" = "/usr/bin/time -f %M" ]; then
			echo "exec /usr/bin/time -a -f %M -o '$T/rss.deliver'" \
			    "'$REAL_DELIVER' \"\$@\""
		else
			echo "exec python3 '$T/rss.py' '$T/rss.deliver'" \
			    "'$REAL_DELIVER' \"\$@\""
		fi
	} >"$T/deliver-wrap"
	chmod +x "$T/deliver-wrap"
	_before=$(count_delivered srv)
	OUTBOX_DELIVER=$T/deliver-wrap maxrss "$T/rss.flush" \
	    "$OUTBOX" flush 2>>"$LOG" || fail "flushing the big message failed"
	[ "$(count_delivered srv)" -eq $((_before + 1)) ] ||
	    fail "the big message was not delivered"
	_eml=$(ls -t "$T"/srv/msg.*.eml | head -n 1)
	sed '1,/^$/d' "$T/big" >"$T/big.body"
	if sed '1,/^\r$/d' "$_eml" | uncrlf | cmp -s - "$T/big.body"; then
		_intact="body intact"
	else
		_intact="BODY DIFFERS"
	fi
	rm -f "$T/big" "$T/big.body"
	_send=$(sort -n "$T/rss.send" | tail -n 1)
	_flush=$(sort -n "$T/rss.flush" | tail -n 1)
	_del=$(sort -n "$T/rss.deliver" | tail -n 1)
	note "5. peak RSS, $BIG-octet message (via $RSS_TOOL)" \
	    "target: <= 8 MiB each"
	note "   outbox sendmail" "$(kib_fmt "$_send")"
	note "   outbox flush (largest of it and its children)" "$(kib_fmt "$_flush")"
	if [ -n "$_del" ]; then
		note "   outbox-deliver alone" "$(kib_fmt "$_del")  ($_intact)"
	else
		note "   outbox-deliver alone" "not seen (OUTBOX_DELIVER not used?)  ($_intact)"
	fi
fi
# ---- 6: the daemon, 1 / 4 / 8 connections, reply latency ----------------
# D_N messages queued with no daemon, then `outbox run` with
# max_connections C: the time until the server has them all.
for C in 1 4 8; do
	: >"$T/r.daemon$C"
	run=1
	while [ "$run" -le "$RUNS" ]; do
		reset_queue
		bench_conf "$T/d.conf" "$slow_PORT"
		echo "max_connections $C" >>"$T/d.conf"
		OUTBOX_CONF=$T/d.conf
		submit_par "$D_N" 4 || fail "submission failed (see $LOG)"
		_before=$(count_delivered slow)
		_want=$((_before + D_N / 4 * 4))
		_t0=$(now_ns)
		"$OUTBOX" run 2>>"$LOG" &
		_dpid=$!
		_i=0
		while [ "$(count_delivered slow)" -lt "$_want" ]; do
			_i=$((_i + 1))
			[ "$_i" -le 6000 ] || fail "daemon: not delivered in 60 s"
			sleep 0.01
		done
		rate $((D_N / 4 * 4)) "$_t0" "$(now_ns)" >>"$T/r.daemon$C"
		kill "$_dpid"
		wait "$_dpid" || fail "daemon exit status $?"
		run=$((run + 1))
	done
	report "6. daemon delivery, $C connection(s), ${LAT_MS} ms ($((D_N / 4 * 4)) msgs)" \
	    "msg/s" "$T/r.daemon$C"
done
OUTBOX_CONF=$T/fast.conf

# ---- 7: finding what is due, as the queue grows --------------------------
if [ -z "${BENCH_DUE:-}" ] || [ ! -x "$BENCH_DUE" ]; then
	note "7. due lookup" "skipped: no bench_due (run through make bench)"
else
	for _n in $DUE_SIZES; do
		rm -rf "$T/dueq"
		mkdir "$T/dueq"
		# shellcheck disable=SC2046
		set -- $("$BENCH_DUE" "$T/dueq" "$_n") ||
		    fail "bench_due $_n failed"
		note "7. $1 queued: queue_due (daemon's look)" "$2 us (median of 2001)"
		note "   $1 queued: claim+release one due message" "$3 us (2 synced txns)"
	done
	rm -rf "$T/dueq"
fi

# ---- 8: the SMTP listener: accepted messages/s, fsyncs per message -------
# `outbox run` with "listen" and a relay that refuses (the relay list then
# backs off: the figure is the listener's).  C clients, each one SMTP
# session sending L_N / C messages of 4 KiB; the listener process is
# traced for its syncs during the last run (group commit: one sync serves
# every message whose dot came in the same round).
L_N=${BENCH_L_N:-2000}
if ! command -v python3 >/dev/null 2>&1; then
	note "8. listener" "skipped: no python3"
else
	LP=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	for C in 1 8 32; do
		: >"$T/r.listen$C"
		run=1
		while [ "$run" -le "$RUNS" ]; do
			reset_queue
			bench_conf "$T/l.conf" 9
			{
				echo "listen 127.0.0.1:$LP"
				echo "retry_initial 1h"
				echo "listen_max_per_client 64"
			} >>"$T/l.conf"
			OUTBOX_CONF=$T/l.conf
			"$OUTBOX" run 2>>"$LOG" &
			_dpid=$!
			_i=0
			while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $LP)).close()" 2>/dev/null; do
				_i=$((_i + 1))
				[ "$_i" -le 500 ] || fail "listener: not up in 10 s"
				sleep 0.02
			done
			_lpid=$(pgrep -P "$_dpid" | head -1)
			if [ "$run" -eq "$RUNS" ] && [ -n "$_lpid" ] &&
			    command -v strace >/dev/null 2>&1; then
				strace -f -c -o "$T/lstrace.$C" -p "$_lpid" \
				    -e trace=fsync,fdatasync 2>/dev/null &
				_spid=$!
				sleep 0.3
			else
				_spid=""
			fi
			python3 - "$LP" "$C" "$L_N" "$MSG4K" >>"$T/r.listen$C" \
			    2>>"$LOG" <<'PY' || fail "listener load failed (see $LOG)"
import smtplib, sys, threading, time
port, c, n, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
per = n // c
errs = []
def client():
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
        for i in range(per):
            s.sendmail("sender@test.example", ["rcpt@test.example"], body)
        s.quit()
    except Exception as e:
        errs.append(repr(e))
ts = [threading.Thread(target=client) for i in range(c)]
t0 = time.monotonic()
for t in ts: t.start()
for t in ts: t.join()
d = time.monotonic() - t0
if errs:
    sys.exit(errs[0])
print("%.1f" % (per * c / d))
PY
			if [ -n "$_spid" ]; then
				kill -INT "$_spid" 2>/dev/null
				wait "$_spid" 2>/dev/null
			fi
			kill "$_dpid"
			wait "$_dpid" || fail "daemon exit status $?"
			run=$((run + 1))
		done
		report "8. listener accepting, $C client(s) ($L_N msgs of 4 KiB)" \
		    "msg/s" "$T/r.listen$C"
		if [ -s "$T/lstrace.$C" ]; then
			_sync=$(awk '$NF == "fsync" || $NF == "fdatasync" \
			    { n += $4 } END { print n + 0 }' "$T/lstrace.$C")
			note "   fsync+fdatasync per accepted message, $C client(s)" \
			    "$(awk -v a="$_sync" -v n="$L_N" \
			    'BEGIN { printf "%.2f", a / n }') ($_sync over $L_N msgs)"
		fi
	done
	OUTBOX_CONF=$T/fast.conf
fi
exit 0
