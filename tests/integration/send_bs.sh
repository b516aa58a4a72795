#!/bin/sh
# send_bs: `sendmail -bs` speaks SMTP on stdin/stdout with the listener's
# engine: the replies of a whole (pipelined) session, two messages queued
# with their envelopes and DSN parameters, a bad recipient refused without
# harm to the others, the body delivered unstuffed with a Received: field
# on top, and recipients on the command line refused.
. "$TESTLIB"

start_server srv
write_conf

crlf > "$T/session" <<'EOF'
EHLO client.example
MAIL FROM:<alice@example.org> RET=HDRS ENVID=env+2B1
RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.org
RCPT TO:<not an address>
RCPT TO:<carol@example.org>
DATA
Subject: first
Message-ID: <bs1@test>

..a line that began with a dot
.
MAIL FROM:<>
RCPT TO:<dave@example.org>
DATA
Subject: second
Message-ID: <bs2@test>

body two
.
QUIT
EOF
rc=0
"$OUTBOX" sendmail -bs < "$T/session" > "$T/replies" 2> "$T/bs.err" || rc=$?
assert_eq "$rc" 0 "sendmail -bs exit status"
# the reply codes, in order (the EHLO lines collapsed to their code)
codes=$(tr -d '\r' < "$T/replies" | awk '
	/^[0-9][0-9][0-9]-/ { next }		# continuation lines
	{ printf "%s ", substr($0, 1, 3) }')
assert_eq "$codes" "220 250 250 250 553 250 354 250 250 250 354 250 221 " \
    "reply codes"
grep -q '^250-PIPELINING' "$T/replies" || fail "EHLO: no PIPELINING"
grep -q '^250-8BITMIME' "$T/replies" || fail "EHLO: no 8BITMIME"
grep -q '^250[ -]DSN' "$T/replies" || fail "EHLO: no DSN"
if grep -q 'STARTTLS\|AUTH' "$T/replies"; then
	fail "-bs offers STARTTLS or AUTH on a pipe"
fi
ids=$(tr -d '\r' < "$T/replies" | sed -n 's/^250 2\.0\.0 .*queued as \([0-9A-Z]*\).*/\1/p')
assert_eq "$(echo "$ids" | wc -l | tr -d ' ')" 2 "queue ids in the replies"

# the envelopes and DSN parameters as queued
assert_eq "$(queue_count)" 2 "messages queued"
queue_json | python3 -c '
import json, sys
q = json.load(sys.stdin)
msgs = q["messages"] if isinstance(q, dict) else q
by = {m["sender"]: m for m in msgs}
a = by["alice@example.org"]
assert [r["address"] for r in a["recipients"]] == ["bob@example.org", "carol@example.org"], a
b = by[""]
assert [r["address"] for r in b["recipients"]] == ["dave@example.org"], b
' || fail "queued envelopes: $(queue_json)"

# delivered: the body unstuffed, a Received: field first
ob flush || fail "flush exited $?"
assert_eq "$(queue_count)" 0 "queue after flush"
assert_eq "$(count_delivered srv)" 2 "messages delivered"
f=$(grep -l 'Message-ID: <bs1@test>' "$T"/srv/msg.*.eml) ||
    fail "first message not delivered"
head -1 "$f" | grep -q '^Received: from client\.example (user ' ||
    fail "no Received: field first: $(head -3 "$f")"
grep -q "by test.example (outbox) with ESMTP id" "$f" ||
    fail "Received: clause: $(head -4 "$f")"
tr -d '\r' < "$f" | grep -qx '\.a line that began with a dot' ||
    fail "dot not unstuffed: $(cat "$f")"
env=${f%.eml}.env
grep -q 'RCPT TO:<bob@example.org>' "$T"/srv/transcript.* ||
    fail "bob not sent"

# recipients on the command line are refused with -bs
rc=0
"$OUTBOX" sendmail -bs someone@example.org < /dev/null > /dev/null \
    2> "$T/usage.err" || rc=$?
assert_eq "$rc" 64 "-bs with command-line recipients"

# the client closing in the middle of DATA queues nothing
crlf > "$T/cut" <<'EOF'
HELO c
MAIL FROM:<a@example.org>
RCPT TO:<b@example.org>
DATA
Subject: cut

never finished
EOF
rc=0
"$OUTBOX" sendmail -bs < "$T/cut" > "$T/replies2" 2>> "$T/bs.err" || rc=$?
assert_eq "$rc" 0 "-bs exit status after a cut session"
assert_eq "$(queue_count)" 0 "messages queued from a cut session"
