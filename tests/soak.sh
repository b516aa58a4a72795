#!/bin/sh
# soak.sh - crash soak: messages are submitted while the daemon, its
# delivery workers and the submitters are SIGKILLed at random moments and
# the daemon restarted.  At the end every Message-ID was delivered at least
# once, and there are no more duplicates than kills (a duplicate needs a
# kill between a server's 250 and our commit, or between a submission's
# commit and its exit, after which the submitter tries again).
#
#   SOAK_N      messages (default 2000; `make check` runs 200)
#   SOAK_KILLS  kills at least (default 20)
#   SOAK_TIME   seconds allowed for everything to arrive (default 300)
# Run through make (TESTLIB, OUTBOX, FAKESMTPD set): `make soak`.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"
command -v pgrep >/dev/null 2>&1 || skip "pgrep is not installed"

N=${SOAK_N:-2000}
SENDER=soak-$$@example.org	# names our submitters for pgrep
KILLS=${SOAK_KILLS:-20}
LIMIT=${SOAK_TIME:-300}
start_server srv --latency 3
write_conf "max_connections 3" "retry_initial 1s" "retry_max 2s"

# submit FROM TO: messages soak<FROM..TO>, each tried until sendmail
# says it is queued (a killed sendmail is simply run again)
submit() {
	_i=$1
	while [ "$_i" -le "$2" ]; do
		mkmsg "soak$_i" 300 > "$T/m.$1"
		until "$OUTBOX" sendmail -f "$SENDER" r@example.org \
		    < "$T/m.$1" 2>/dev/null; do
			:
		done
		_i=$((_i + 1))
	done
}

start_daemon
per=$((N / 4))
submit 1 $per & s1=$!
submit $((per + 1)) $((2 * per)) & s2=$!
submit $((2 * per + 1)) $((3 * per)) & s3=$!
submit $((3 * per + 1)) "$N" & s4=$!

kills=0 dkills=0 wkills=0 skills=0
rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
while :; do
	busy=0
	for p in $s1 $s2 $s3 $s4; do
		kill -0 "$p" 2>/dev/null && busy=1
	done
	[ "$busy" = 0 ] && [ "$kills" -ge "$KILLS" ] && break
	# 30-330 ms between kills
	sleep "$(awk -v r="$(rand)" 'BEGIN { printf "%.3f", 0.03 + (r % 300) / 1000 }')"
	case $(($(rand) % 3)) in
	0)	# the daemon itself; a new one takes over
		kill -9 "$DAEMON_PID" 2>/dev/null && {
			kills=$((kills + 1)) dkills=$((dkills + 1))
			wait "$DAEMON_PID" 2>/dev/null
			start_daemon
		} ;;
	1)	# a delivery worker: a child of our daemon (never anything
		# outside this test: other tests may run beside it)
		v=$(pgrep -P "$DAEMON_PID" | head -1)
		[ -n "$v" ] && kill -9 "$v" 2>/dev/null &&
		    kills=$((kills + 1)) wkills=$((wkills + 1)) ;;
	2)	# a submitter in the middle of its work
		v=$(pgrep -f "sendmail -f $SENDER" | head -1)
		[ -n "$v" ] && kill -9 "$v" 2>/dev/null &&
		    kills=$((kills + 1)) skills=$((skills + 1)) ;;
	esac
done
wait $s1 $s2 $s3 $s4
echo "soak: $N messages, $kills kills (daemon $dkills, workers $wkills, submitters $skills)" >&2

all() { [ "$(count_delivered srv)" -ge "$N" ]; }
WAIT_TIMEOUT=$LIMIT wait_for all || {
	ob queue >&2
	fail "only $(count_delivered srv) of $N delivered in ${LIMIT}s"
}
python3 - "$N" "$kills" "$T/srv" <<'PY' || fail "soak: lost or too many duplicates"
import collections, glob, re, sys
n, kills, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = collections.Counter()
for f in glob.glob(d + '/msg.*.eml'):
    m = re.search(rb'(?m)^Message-ID: <soak(\d+)@test>', open(f, 'rb').read())
    c[int(m.group(1)) if m else 0] += 1
lost = [i for i in range(1, n + 1) if c[i] == 0]
dups = sum(v - 1 for k, v in c.items() if v > 1)
print('soak: %d distinct delivered, %d duplicates, %d unknown' % (len(c) - (1 if c[0] else 0), dups, c[0]), file=sys.stderr)
assert not lost, 'lost: %s' % lost[:20]
assert c[0] == 0, 'unknown messages'
assert dups <= kills, '%d duplicates for %d kills' % (dups, kills)
PY
stop_daemon
exit 0
