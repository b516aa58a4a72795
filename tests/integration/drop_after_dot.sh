#!/bin/sh
# drop_after_dot: the server closes the connection after the final dot,
# before its reply.  The message stays queued (the run itself completed:
# flush exits 0, CLI.md), the next flush delivers it, and the relay ends
# up with exactly one accepted copy.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv --drop-after-dot 1
write_conf

printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <drop-1@example.org>\nFrom: sender@example.org\nSubject: dropped once\n\nthe reply to my dot never came\n' > "$T/m1"
sendmail -f sender@example.org rcpt@example.org < "$T/m1" ||
    fail "sendmail exited $?"

rc=0
ob flush >&2 || rc=$?
assert_eq "$rc" 0 "flush status after a dropped connection"
assert_eq "$(count_delivered srv)" 0 "accepted copies after the drop"
assert_eq "$(queue_count)" 1 "queue after the drop"
ls "$T/srv"/dropped.*.eml > /dev/null 2>&1 ||
    fail "the server did not see the dot (no dropped.* record)"
ob queue --json > "$T/q.json" || fail "queue --json exited $?"
python3 - "$T/q.json" <<'PY' || fail "queue state after the drop"
import json, sys
q = json.load(open(sys.argv[1]))
assert len(q) == 1, q
r = q[0]['recipients']
assert len(r) == 1 and r[0]['state'] == 'pending', r
assert r[0]['attempts'] == 1, r
assert r[0]['last_result'], 'no reason recorded: %r' % r
PY

ob flush --all >&2 || fail "second flush exited $?"
assert_eq "$(queue_count)" 0 "queue after the second flush"
assert_eq "$(count_delivered srv)" 1 "accepted copies in total"
eml=$(delivered_files srv)
cmp "$eml" "$(ls "$T/srv"/dropped.*.eml)" ||
    fail "the redelivered bytes differ from the dropped ones"

# ---- a drop in the middle of a connection carrying three messages ----------
stop_server srv
start_server mid --drop-after-dot 2
write_conf "relay 127.0.0.1:$mid_PORT"
for i in 1 2 3; do
	printf 'Date: Mon, 24 Nov 2025 13:00:0%d +0000\nMessage-ID: <drop-mid-%d@example.org>\nFrom: sender@example.org\nSubject: %d of 3\n\nbody %d\n' "$i" "$i" "$i" "$i" |
	    sendmail -f sender@example.org rcpt@example.org ||
	    fail "sendmail $i exited $?"
done
ob flush >&2 || fail "flush with a drop in the middle exited $?"
[ "$(queue_count)" -ge 1 ] || fail "the dropped message left the queue"
ob flush --all >&2 || fail "second flush exited $?"
assert_eq "$(queue_count)" 0 "queue at the end"
assert_eq "$(count_delivered mid)" 3 "accepted copies of three messages"
for i in 1 2 3; do
	assert_eq "$(cat $(delivered_files mid) | grep -c "^Message-ID: <drop-mid-$i@")" 1 \
	    "copies of message $i"
done
exit 0
