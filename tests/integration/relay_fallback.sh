#!/bin/sh
# relay_fallback: relays are tried in order; one that refuses the
# connection and one that greets with 421 are skipped for the next, and
# then back off on their own: the next flush goes straight to the relay
# that works.  When none can be reached, flush exits EX_TEMPFAIL and the
# message stays queued with the attempt and our reason recorded.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

# A port nobody listens on: bound by the kernel's choice, then closed.
closed=$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()') || fail "no free port"

start_server busy --greeting "421 4.3.2 too busy, try later"
start_server good
write_conf "relay 127.0.0.1:$closed" "relay 127.0.0.1:$busy_PORT" \
    "relay 127.0.0.1:$good_PORT"

printf 'Subject: fallback\n\nto the third relay\n' > "$T/m1"
sendmail -f sender@example.org rcpt@example.org < "$T/m1" ||
    fail "sendmail exited $?"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(count_delivered good)" 1 "deliveries to the third relay"
assert_eq "$(count_delivered busy)" 0 "deliveries to the 421 relay"
assert_eq "$(queue_count)" 0 "queue after delivery"

# ---- the failed relays back off: straight to the third one -----------------
printf 'Subject: straight\n\nno detour\n' > "$T/m0"
sendmail -f sender@example.org rcpt@example.org < "$T/m0" ||
    fail "sendmail exited $?"
ob flush >&2 || fail "second flush exited $?"
assert_eq "$(count_delivered good)" 2 "deliveries to the third relay"
assert_eq "$(ls "$T"/busy/transcript.* | wc -l | tr -d ' ')" 1 \
    "connections to the 421 relay while it backs off"

# ---- every relay failing --------------------------------------------------
stop_server good
printf 'Subject: nowhere\n\nno relay takes this\n' > "$T/m2"
sendmail -f sender@example.org rcpt2@example.org < "$T/m2" ||
    fail "sendmail exited $?"
rc=0
ob flush >&2 || rc=$?
assert_eq "$rc" 75 "flush status when no relay can be reached"
assert_eq "$(queue_count)" 1 "queue after the failed flush"
ob queue --json > "$T/q.json" || fail "queue --json exited $?"
python3 - "$T/q.json" <<'PY' || fail "attempt not recorded"
import json, sys
q = json.load(open(sys.argv[1]))
assert len(q) == 1, q
r = q[0]['recipients']
assert [x['address'] for x in r] == ['rcpt2@example.org'], r
r = r[0]
assert r['state'] == 'pending', r
assert r['attempts'] == 1, r
assert r['last_result'], r
PY

# ---- the relay comes back: the next flush delivers it -------------------------
start_server good
write_conf "relay 127.0.0.1:$good_PORT"
ob flush --all >&2 || fail "flush after recovery exited $?"
assert_eq "$(queue_count)" 0 "queue after recovery"
n=0
for f in $(delivered_files good); do
	grep -q 'no relay takes this' "$f" && n=$((n + 1))
done
assert_eq "$n" 1 "deliveries of the second message"
exit 0
