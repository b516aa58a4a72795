#!/bin/sh
# backoff: under the daemon, a recipient answered 451 twice is delivered
# on the third attempt, the gaps growing (retry_initial 1s: ~1s, ~2s);
# the other recipient, accepted at once, gets exactly one copy.  A
# recipient never accepted gets a delay warning (Action: delayed) and,
# after queue_lifetime, a bounce with status 4.4.7.  A failing message
# with the null sender is not bounced.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"

start_server srv \
    --rcpt-reply "later@example.org#2=451 4.3.0 busy, try later" \
    --rcpt-reply "never@example.org=451 4.2.1 mailbox full" \
    --rcpt-reply "gone@example.org=550 5.1.1 no such user"
# never@: tried at 0, ~1, ~3 s (warned: past delay_warning), then at the
# 4 s lifetime: 4.4.7.  later@ is delivered at ~3 s, never warned.
write_conf "retry_initial 1s" "retry_max 1h" "queue_lifetime 4s" \
    "delay_warning 2s"
start_daemon

msg() {
	printf 'From: sender@example.org\nMessage-ID: <%s@example.org>\nSubject: %s\n\nbody\n' "$1" "$1"
}
msg two | sendmail -f sender@example.org ok@example.org later@example.org ||
    fail "sendmail exited $?"
msg dead | sendmail -f sender@example.org never@example.org ||
    fail "sendmail exited $?"
msg nobounce | sendmail -f '<>' gone@example.org || fail "sendmail exited $?"

# ---- 451, 451, 250 ----------------------------------------------------------
later_done() {
	grep -q '^RCPT TO:<later@example.org>' "$T"/srv/msg.*.env 2>/dev/null
}
WAIT_TIMEOUT=15 wait_for later_done || fail "later@example.org was not delivered"
python3 - "$T/srv/rcpt-reply.0" <<'PY' || fail "the retry gaps are wrong"
import sys
t = [float(l) for l in open(sys.argv[1])]
assert len(t) == 3, 'attempts: %r' % t
g1, g2 = t[1] - t[0], t[2] - t[1]
# retry_initial 1s, then 2s, each +-10 % (and a little scheduling slack)
assert 0.85 <= g1 <= 1.6, 'first gap %.3f' % g1
assert 1.75 <= g2 <= 2.7, 'second gap %.3f' % g2
assert g2 > g1, (g1, g2)
print('gaps %.3fs %.3fs' % (g1, g2), file=sys.stderr)
PY
assert_eq "$(cat "$T"/srv/transcript.* | grep -c '^RCPT TO:<ok@example.org>')" \
    1 "copies sent to the recipient accepted at once"

# ---- delay warning, then expiry (4.4.7) --------------------------------------
two_dsns() {
	[ "$(dsn_files srv | wc -l)" -ge 2 ]
}
WAIT_TIMEOUT=20 wait_for two_dsns ||
    fail "no warning and bounce for never@example.org"
set -- $(dsn_files srv)
warn="" bounce=""
for f; do
	if grep -q '^Action: delayed' "$f"; then warn=$f; else bounce=$f; fi
done
[ -n "$warn" ] || fail "no delay warning"
[ -n "$bounce" ] || fail "no bounce after queue_lifetime"
dsn_check "$warn" delayed never@example.org 4.2.1 "mailbox full"
grep -q '^Will-Retry-Until: ' "$warn" || fail "warning without Will-Retry-Until"
dsn_check "$bounce" failed never@example.org 4.4.7 "mailbox full"
for f; do
	grep -q '^RCPT TO:<sender@example.org>' "${f%.eml}.env" ||
	    fail "a DSN went elsewhere than the sender"
done

# ---- nothing else: no DSN for the null-sender message, one warning ---------
sleep 1
stop_daemon
assert_eq "$DAEMON_RC" 0 "daemon exit status after SIGTERM"
assert_eq "$(dsn_files srv | wc -l | tr -d ' ')" 2 "DSNs sent in all"
grep -q "not bounced: it has the null sender" "$T/daemon.log" ||
    fail "the null-sender failure was not logged"
assert_eq "$(queue_count)" 0 "queue at the end"
exit 0
