#!/bin/sh
# crash_after_submit: every process of a submission is SIGKILLed right
# after `sendmail` returned, and flushes are SIGKILLed in the middle of a
# run.  A clean flush afterwards delivers every message at least once;
# duplicates are possible only for a message whose 250 came just before a
# kill, so there are at most as many as there were killed flushes.
#
# Processes are killed by process group (each command runs under setsid),
# so only what this test started is ever touched.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"
SETSID=setsid
setsid -w true 2>/dev/null && SETSID="setsid -w"

M=8
start_server slow --latency 200
write_conf "relay 127.0.0.1:$slow_PORT"

# insession PGIDFILE CMD...: CMD in a new session; its id (= its process
# group) is written to PGIDFILE first.
insession() {
	$SETSID sh -c 'echo $$ > "$1"; shift; exec "$@"' sh "$@"
}

# ---- submissions, each followed by SIGKILL of its whole group -------------
i=1
while [ "$i" -le "$M" ]; do
	printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <crash-%d@example.org>\nFrom: sender@example.org\nSubject: crash %d\n\nbody %d\n' \
	    "$i" "$i" "$i" > "$T/m$i"
	rm -f "$T/pgid"
	insession "$T/pgid" "$OUTBOX" sendmail -f sender@example.org \
	    rcpt@example.org < "$T/m$i" || fail "sendmail $i exited $?"
	kill -9 -- "-$(cat "$T/pgid")" 2>/dev/null
	i=$((i + 1))
done
assert_eq "$(queue_count)" "$M" "messages queued"

# ---- flushes killed mid-run: during EHLO, and during transactions ---------
kills=0
for when in 0.3 0.9 1.5; do
	rm -f "$T/pgid"
	insession "$T/pgid" "$OUTBOX" flush 2>> "$T/flush.log" &
	bg=$!
	wait_for test -s "$T/pgid" || fail "the flush did not start"
	sleep "$when"
	kill -9 -- "-$(cat "$T/pgid")" 2>/dev/null && kills=$((kills + 1))
	wait "$bg" 2>/dev/null
done
[ "$kills" -ge 1 ] || fail "no flush was running long enough to be killed"
ob queue --json > "$T/q.json" || fail "queue --json after the kills: $?"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/q.json" ||
    fail "queue listing is not valid JSON after the kills"

# ---- a clean flush, to a fast server ------------------------------------------
stop_server slow
start_server fast
write_conf "relay 127.0.0.1:$fast_PORT"
ob flush >&2 || fail "clean flush exited $?"
assert_eq "$(queue_count)" 0 "queue after the clean flush"

python3 - "$M" "$kills" $(delivered_files slow) $(delivered_files fast) <<'PY' ||
import collections, re, sys
m, kills, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
c = collections.Counter()
for f in files:
    x = re.search(rb'(?im)^Message-ID: <crash-(\d+)@example\.org>\r$', open(f, 'rb').read())
    c[int(x.group(1)) if x else 0] += 1
lost = [i for i in range(1, m + 1) if c[i] < 1]
dups = sum(v - 1 for k, v in c.items() if v > 1)
if lost or c[0] or dups > kills:
    sys.exit('lost %s, unknown %d, %d duplicates for %d kills: %s'
             % (lost, c[0], dups, kills, dict(c)))
PY
    fail "not every message delivered, or too many duplicates"
exit 0
