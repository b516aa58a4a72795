#!/bin/sh
# relay_rate: a burst of 200 messages through the daemon with four
# connections never goes over relay_rate (50/s): the server sees at most
# 50 transactions begin (MAIL, as it timestamps them) in any one-second
# window, and the whole burst takes at least the 199 intervals of 20 ms
# the rate allows.  (When a message's data reaches the server depends on
# the machine's load; its MAIL is what the rate spaces.)
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"

start_server srv
write_conf "relay_rate 50/s" "max_connections 4"
i=1
while [ $i -le 200 ]; do
	mkmsg "r$i" 100 | sendmail -f sender@example.org rcpt@example.org ||
	    fail "sendmail $i exited $?"
	i=$((i + 1))
done
start_daemon
all() { [ "$(count_delivered srv)" -ge 200 ]; }
WAIT_TIMEOUT=30 wait_for all || fail "not all delivered: $(count_delivered srv)"
stop_daemon
assert_eq "$(count_delivered srv)" 200 "messages delivered"
python3 - "$T/srv" <<'PY' || fail "relay_rate was exceeded"
import glob, os, sys
t = []
for f in glob.glob(sys.argv[1] + '/msg.*.env'):
    for line in open(f):
        if line.startswith('Mail-Time: '):
            t.append(float(line.split()[1]))
t.sort()
assert len(t) == 200, len(t)
worst, j = 0, 0
for i in range(len(t)):
    while t[i] - t[j] >= 1.0:
        j += 1
    worst = max(worst, i - j + 1)
span = t[-1] - t[0]
print('200 messages in %.2f s, at most %d in any 1 s window' % (span, worst), file=sys.stderr)
assert worst <= 50, worst
assert span >= 199 * 0.020 - 0.05, span
PY
exit 0
