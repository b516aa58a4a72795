#!/bin/sh
# daemon: `outbox run` delivers a submission at once (the doorbell; the
# median latency is printed), a second daemon on the same queue refuses
# to start, a worker SIGKILLed mid-transaction costs nothing (its message
# is delivered by the next worker), SIGTERM during delivery loses nothing,
# and without a daemon deliver_on_submit delivers in the background.
# Then a race: daemon restarts, cron-style flushes and background
# deliveries over 500 messages: each delivered exactly once.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"

start_server fast
write_conf "relay 127.0.0.1:$fast_PORT" "retry_initial 1s" "shutdown_timeout 5s"
start_daemon

# ---- a second daemon refuses, clearly ---------------------------------------
rc=0
"$OUTBOX" run 2> "$T/second.err" || rc=$?
assert_eq "$rc" 69 "exit status of a second daemon"
grep -q "another outbox daemon (pid $DAEMON_PID) is already running" \
    "$T/second.err" || fail "unclear refusal: $(cat "$T/second.err")"

# ---- wake-up latency: sendmail's exit to the server's receipt -------------
python3 - "$OUTBOX" "$T/fast" 10 > "$T/latency" <<'PY' || fail "latency run"
import glob, os, subprocess, sys, time
outbox, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lat = []
for i in range(n):
    before = len(glob.glob(d + '/msg.*.env'))
    msg = b'From: a@example.org\nSubject: wake %d\n\nbody\n' % i
    subprocess.run([outbox, 'sendmail', '-f', 'a@example.org',
                    'r@example.org'], input=msg, check=True)
    t0 = time.monotonic()
    while len(glob.glob(d + '/msg.*.env')) == before:
        if time.monotonic() - t0 > 10:
            sys.exit('message %d not delivered in 10 s' % i)
        time.sleep(0.001)
    lat.append(time.monotonic() - t0)
lat.sort()
print('%.1f %.1f' % (lat[len(lat) // 2] * 1000, lat[-1] * 1000))
PY
read -r med max < "$T/latency"
echo "wake-up latency: median ${med} ms, max ${max} ms (10 messages)" >&2
python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 1000)" "$med" ||
    fail "median wake-up latency ${med} ms"
assert_eq "$(count_delivered fast)" 10 "messages delivered by the daemon"

# ---- SIGHUP: a bad file is reported and the old configuration kept; a
# good one is taken (here: a new relay) -------------------------------------
cp "$T/outbox.conf" "$T/good.conf"
echo "frobnicate yes" >> "$T/outbox.conf"
kill -HUP "$DAEMON_PID"
not_reloaded() { grep -q "configuration not reloaded" "$T/daemon.log"; }
wait_for not_reloaded || fail "a bad configuration was not reported"
grep -q "frobnicate: unknown key" "$T/daemon.log" ||
    fail "the reload error does not say what is wrong"
mkmsg hup1 100 | "$OUTBOX" -C "$T/good.conf" sendmail -f a@example.org r@example.org ||
    fail "sendmail with the good file exited $?"
hup1() { [ "$(count_delivered fast)" -eq 11 ]; }
wait_for hup1 || fail "the daemon stopped working after a bad reload"
start_server other
sed "s/^relay .*/relay 127.0.0.1:$other_PORT/" "$T/good.conf" > "$T/outbox.conf"
kill -HUP "$DAEMON_PID"
reloaded() { grep -q "configuration reloaded" "$T/daemon.log"; }
wait_for reloaded || fail "a good configuration was not taken"
mkmsg hup2 100 | sendmail -f a@example.org r@example.org
hup2() { [ "$(count_delivered other)" -eq 1 ]; }
wait_for hup2 || fail "the reloaded relay was not used"
stop_server other
stop_daemon
assert_eq "$DAEMON_RC" 0 "daemon exit status"

# ---- a worker SIGKILLed in the middle of a transaction ----------------------
start_server slow --latency 400
write_conf "relay 127.0.0.1:$slow_PORT" "retry_initial 1s"
start_daemon
mkmsg k1 200 | sendmail -f a@example.org r@example.org
worker=""
get_worker() {
	worker=$(pgrep -P "$DAEMON_PID" | head -1)
	[ -n "$worker" ]
}
wait_for get_worker || fail "no worker started"
sleep 0.9			# greeting and EHLO take 0.8 s
kill -9 "$worker"
has_k1() { grep -q 'Message-ID: <k1@test>' "$T"/slow/msg.*.eml 2>/dev/null; }
WAIT_TIMEOUT=15 wait_for has_k1 || fail "not delivered after its worker died"
grep -q "worker $worker killed by signal 9" "$T/daemon.log" ||
    fail "the daemon did not notice its worker's death"

# ---- SIGTERM during delivery: nothing lost -----------------------------------
i=1
while [ $i -le 6 ]; do
	mkmsg t$i 200 | sendmail -f a@example.org r@example.org
	i=$((i + 1))
done
sleep 1.5
stop_daemon TERM
assert_eq "$DAEMON_RC" 0 "exit status after SIGTERM during delivery"
n=$(($(count_delivered slow) - 1))
q=$(queue_count)
echo "at SIGTERM: $n of 6 delivered, $q queued" >&2
[ $((n + q)) -ge 6 ] || fail "messages lost at SIGTERM: $n delivered, $q queued"
pgrep -P "$DAEMON_PID" >/dev/null 2>&1 && fail "a worker outlived the daemon"
ob flush --all >&2 || fail "flush after SIGTERM exited $?"
assert_eq "$(queue_count)" 0 "queue after the flush"
stop_server slow

# ---- no daemon: deliver_on_submit -----------------------------------------
before=$(count_delivered fast)
write_conf "relay 127.0.0.1:$fast_PORT" "deliver_on_submit yes"
mkmsg bg 300 | sendmail -f a@example.org r@example.org ||
    fail "sendmail exited $?"
bg_done() { [ "$(count_delivered fast)" -gt "$before" ]; }
wait_for bg_done || fail "deliver_on_submit delivered nothing"
wait_for test "$(queue_count)" = 0 2>/dev/null
queue_empty() { [ "$(queue_count)" = 0 ]; }
wait_for queue_empty || fail "queue not empty after the background delivery"

# ---- the race: daemon (restarted), flushes, background deliveries ----------
N=500
before=$(count_delivered fast)
write_conf "relay 127.0.0.1:$fast_PORT" "deliver_on_submit yes" "max_connections 3"
start_daemon
submit() {		# submit FROM TO: messages race<FROM..TO>
	_i=$1
	while [ "$_i" -le "$2" ]; do
		mkmsg "race$_i" 100 | "$OUTBOX" sendmail -f a@example.org \
		    r@example.org || echo "sendmail $_i failed" >> "$T/race.err"
		_i=$((_i + 1))
	done
}
flusher() {
	while [ ! -e "$T/race.stop" ]; do
		"$OUTBOX" flush 2>/dev/null
		sleep 0.05
	done
}
flusher & fpid=$!
submit 1 150 & s1=$!
submit 151 300 & s2=$!
sleep 1
stop_daemon TERM		# the rest: background deliveries and flushes
wait $s1
submit 301 500 & s3=$!
sleep 0.5
start_daemon
wait $s2 $s3
touch "$T/race.stop"
wait $fpid
[ -s "$T/race.err" ] && fail "$(cat "$T/race.err")"
all_race() { [ "$(($(count_delivered fast) - before))" -ge "$N" ]; }
WAIT_TIMEOUT=60 wait_for all_race || fail "not every race message delivered"
stop_daemon
python3 - "$N" $(delivered_files fast) <<'PY' || fail "race: lost or duplicated"
import collections, re, sys
n, files = int(sys.argv[1]), sys.argv[2:]
c = collections.Counter()
for f in files:
    m = re.search(rb'(?m)^Message-ID: <race(\d+)@test>', open(f, 'rb').read())
    if m:
        c[int(m.group(1))] += 1
lost = [i for i in range(1, n + 1) if c[i] == 0]
dups = {k: v for k, v in c.items() if v > 1}
assert not lost and not dups, 'lost %s duplicated %s' % (lost, dups)
PY
assert_eq "$(queue_count)" 0 "queue after the race"
exit 0
