#!/bin/sh
# admin: the queue administration commands.  show describes a fresh and a
# deferred message exactly; hold keeps a message from flush, release lets
# it go; a deferred message waits out its backoff until `retry` makes it
# due; delete removes a message unsent; delete --bounce sends the sender a
# DSN (null sender, Action: failed) in its place; bad ids are 64, unknown
# ones 66, and a message being delivered is not deleted (75).
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv --rcpt-reply "later@example.org=451 4.3.0 try again later"
# an hour of backoff: a deferred recipient is not due again in this test
write_conf "retry_initial 1h" "retry_max 2h" "deliver_on_submit no"

# last_id: the id of the newest message in the queue
last_id() {
	queue_json |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])'
}
# held ID: the "held" value of message ID in queue --json
held() {
	queue_json | python3 -c '
import json, sys
q = {m["id"]: m for m in json.load(sys.stdin)}
print(q[sys.argv[1]]["held"])' "$1"
}
# expect_rc WANT WHAT CMD...: run outbox CMD, its stdout into $T/out
expect_rc() {
	_er_want=$1 _er_what=$2
	shift 2
	_er_rc=0
	ob "$@" > "$T/out" || _er_rc=$?
	assert_eq "$_er_rc" "$_er_want" "exit status of $_er_what"
}
# has LINE FILE WHAT: FILE holds exactly the line LINE
has() {
	grep -Fqx -- "$1" "$2" || {
		cat "$2" >&2
		fail "$3: no line '$1'"
	}
}
rcpts_of() {
	cat "$T/$1"/transcript.* 2>/dev/null | grep -ci "^RCPT TO:<$2>"
}

# ---- show: a fresh message -------------------------------------------------
{
	printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\n'
	printf 'Message-ID: <adm-1@example.org>\n'
	printf 'From: a@example.org\nSubject: admin one\n\nfirst\n'
} > "$T/m1"
sendmail -f a@example.org x1@example.org < "$T/m1" || fail "sendmail 1: $?"
id1=$(last_id)
size1=$(queue_json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["size"])')
expect_rc 0 "show of a fresh message" show "$id1"
has "Queue ID:     $id1" "$T/out" "show"
has "Sender:       <a@example.org>" "$T/out" "show"
has "Size:         $size1 octets" "$T/out" "show"
has "Flags:        none" "$T/out" "show"
iso='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
grep -Eqx "Arrival:      $iso \([0-9]+s ago\)" "$T/out" ||
    fail "show: arrival line"
# the header section exactly, indented, LF line ends, the body left out
sed -n '/^Header:$/,/^$/p' "$T/out" > "$T/hdr"
cat > "$T/hdr.want" <<'EOF'
Header:
    Date: Mon, 24 Nov 2025 13:00:00 +0000
    Message-ID: <adm-1@example.org>
    From: a@example.org
    Subject: admin one

EOF
assert_file_eq "$T/hdr" "$T/hdr.want" "show: header section"
grep -q first "$T/out" && fail "show printed the body"
tr -d '\n' < "$T/out" | grep -q "$(printf '\r')" && fail "show printed a CR"
sed -n '/^Recipients:/,$p' "$T/out" > "$T/rc"
cat > "$T/rc.want" <<'EOF'
Recipients:   1
  <x1@example.org>
    State:        pending
    Attempts:     0
    Next attempt: now
EOF
assert_file_eq "$T/rc" "$T/rc.want" "show: recipients of a fresh message"

# ---- bad and unknown ids ---------------------------------------------------
expect_rc 66 "show of an unknown id" show 0000000000000
grep -q "no message 0000000000000 in the queue" "$T/ob.err" ||
    fail "show of an unknown id: message"
expect_rc 64 "show of a malformed id" show not-an-id
expect_rc 64 "show without an id" show
expect_rc 64 "show of two ids" show "$id1" "$id1"
expect_rc 64 "hold without an id" hold
expect_rc 64 "delete with a bad option" delete --force "$id1"
expect_rc 64 "retry --all with an id" retry --all "$id1"
# a malformed id anywhere: nothing at all is done
expect_rc 64 "hold of a good and a malformed id" hold "$id1" bad
assert_eq "$(held "$id1")" False "held after a refused hold"

# ---- hold / release --------------------------------------------------------
expect_rc 0 "hold" hold "$id1"
assert_eq "$(cat "$T/out")" "$id1: held" "output of hold"
assert_eq "$(held "$id1")" True "queue --json held after hold"
expect_rc 0 "hold again" hold "$id1"
assert_eq "$(cat "$T/out")" "$id1: already held" "output of a second hold"
ob flush >&2 || fail "flush of a held message exited $?"
assert_eq "$(count_delivered srv)" 0 "deliveries of a held message"
assert_eq "$(rcpts_of srv x1@example.org)" 0 "RCPTs of a held message"
expect_rc 0 "show of a held message" show "$id1"
has "Flags:        held" "$T/out" "show held"
has "    Next attempt: none while held" "$T/out" "show held"
expect_rc 69 "retry of a held message" retry "$id1"
grep -q "$id1 is held; release it first" "$T/ob.err" ||
    fail "retry of a held message: message"
# an unknown id does not stop the others; the exit status says it
expect_rc 66 "release of a message and an unknown id" \
    release 0000000000000 "$id1"
assert_eq "$(cat "$T/out")" "$id1: released" "output of release"
assert_eq "$(held "$id1")" False "queue --json held after release"
ob flush >&2 || fail "flush after release exited $?"
assert_eq "$(count_delivered srv)" 1 "deliveries after release"
assert_eq "$(queue_count)" 0 "queue after the released message went"

# ---- show: a deferred message; backoff; retry -------------------------------
printf 'Subject: two\n\nsecond\n' |
    sendmail -f b@example.org later@example.org ||
    fail "sendmail 2: $?"
id2=$(last_id)
printf 'Subject: three\n\nthird\n' |
    sendmail -f c@example.org later@example.org ||
    fail "sendmail 3: $?"
id3=$(last_id)
ob flush >&2 || fail "flush of the deferred messages exited $?"
assert_eq "$(rcpts_of srv later@example.org)" 2 "RCPTs of the first flush"
expect_rc 0 "show of a deferred message" show "$id2"
has "Sender:       <b@example.org>" "$T/out" "show deferred"
has "    State:        pending" "$T/out" "show deferred"
has "    Attempts:     1" "$T/out" "show deferred"
has "    Last result:  451 4.3.0 try again later" "$T/out" "show deferred"
grep -Eqx "    Server:       127\.0\.0\.1" "$T/out" ||
    fail "show deferred: no Server line naming 127.0.0.1"
grep -Eqx "    Last attempt: $iso \([0-9]+s ago\)" "$T/out" ||
    fail "show deferred: last attempt"
# retry_initial 1h, +-10 %: due in 54 to 66 minutes
grep -Eqx "    Next attempt: $iso \(in (5[3-9]m( [0-9]+s)?|1h( [0-6]m)?)\)" \
    "$T/out" || fail "show deferred: next attempt not about an hour away"

expect_rc 0 "hold of the third" hold "$id3"
# backoff: the next plain flush leaves them alone
ob flush >&2 || fail "second flush exited $?"
assert_eq "$(rcpts_of srv later@example.org)" 2 "RCPTs of a flush in backoff"

# the relay now takes everything
stop_server srv
srv_PORT=
start_server srv2
write_conf "retry_initial 1h" "retry_max 2h" "deliver_on_submit no" \
    "relay 127.0.0.1:$srv2_PORT"
ob flush >&2 || fail "flush in backoff exited $?"
assert_eq "$(count_delivered srv2)" 0 "deliveries of a flush in backoff"

expect_rc 0 "retry" retry "$id2"
assert_eq "$(cat "$T/out")" "$id2: due now" "output of retry"
expect_rc 0 "retry --all" retry --all
assert_eq "$(cat "$T/out")" "1 message due now; 1 held message left alone" \
    "output of retry --all"
expect_rc 66 "retry of an unknown id" retry 0000000000000
ob flush >&2 || fail "flush after retry exited $?"
assert_eq "$(count_delivered srv2)" 1 "deliveries after retry"
assert_eq "$(rcpts_of srv2 later@example.org)" 1 "RCPTs after retry"
eml=$(delivered_files srv2)
grep -q '^Subject: two' "$eml" || fail "retry delivered the wrong message"

# ---- delete ------------------------------------------------------------------
expect_rc 64 "delete of a good and a malformed id" delete "$id3" bad
assert_eq "$(queue_count)" 1 "queue after a refused delete"
expect_rc 0 "delete" delete "$id3"
assert_eq "$(cat "$T/out")" "$id3: deleted" "output of delete"
assert_eq "$(queue_count)" 0 "queue after delete"
expect_rc 66 "delete of a deleted message" delete "$id3"
ob flush >&2 || fail "flush after delete exited $?"
assert_eq "$(count_delivered srv2)" 1 "deliveries after delete"

# ---- delete --bounce -----------------------------------------------------
printf 'Message-ID: <adm-4@example.org>\nSubject: four\n\nfourth\n' |
    sendmail -f sender@example.org r1@example.org r2@example.org ||
    fail "sendmail 4: $?"
id4=$(last_id)
expect_rc 0 "delete --bounce" delete --bounce "$id4"
grep -Eqx "$id4: deleted, bounce [0-9A-Z]{13} queued for <sender@example.org>" \
    "$T/out" || fail "output of delete --bounce: $(cat "$T/out")"
dsn=$(sed 's/.* bounce \([0-9A-Z]*\) .*/\1/' "$T/out")
assert_eq "$(queue_states)" "$dsn sender@example.org pending 0" \
    "queue after delete --bounce: the DSN only"
delivered_files srv2 > "$T/before"
ob flush >&2 || fail "flush of the DSN exited $?"
assert_eq "$(queue_count)" 0 "queue after the DSN went"
delivered_files srv2 > "$T/after"
eml=$(comm -13 "$T/before" "$T/after")
if [ -z "$eml" ] || [ "$(printf '%s\n' "$eml" | wc -l)" -ne 1 ]; then
	fail "the DSN was not delivered exactly once"
fi
env=${eml%.eml}.env
assert_eq "$(sed -n 1p "$env" | cut -d " " -f 1,2)" "MAIL FROM:<>" \
    "DSN envelope sender"
assert_eq "$(grep '^RCPT TO:' "$env")" "RCPT TO:<sender@example.org>" \
    "DSN envelope recipient"
uncrlf < "$eml" > "$T/dsn"
for line in "Action: failed" "Status: 5.0.0" \
    "Final-Recipient: rfc822; r1@example.org" \
    "Final-Recipient: rfc822; r2@example.org" \
    "Message-ID: <adm-4@example.org>"; do
	grep -Fqx "$line" "$T/dsn" || fail "DSN: no line '$line'"
done
assert_eq "$(grep -c '^Action: failed$' "$T/dsn")" 2 "Action lines in the DSN"
grep -q "multipart/report" "$T/dsn" || fail "DSN: not a multipart/report"
grep -q "deleted from the queue by the administrator" "$T/dsn" ||
    fail "DSN: no reason"
grep -q "^fourth" "$T/dsn" && fail "DSN: returned the body (RET was not FULL)"

# a null-sender message: deleted, nobody told
printf 'Subject: five\n\nfifth\n' | sendmail -f '<>' r5@example.org ||
    fail "sendmail 5: $?"
id5=$(last_id)
expect_rc 0 "delete --bounce of a null-sender message" delete --bounce "$id5"
assert_eq "$(cat "$T/out")" "$id5: deleted, no bounce (null sender)" \
    "output of delete --bounce, null sender"
assert_eq "$(queue_count)" 0 "queue after delete --bounce, null sender"

# ---- a message being delivered is not deleted ----------------------------
stop_server srv2
start_server slow --latency 300
write_conf "retry_initial 1h" "deliver_on_submit no" \
    "relay 127.0.0.1:$slow_PORT"
printf 'Subject: six\n\nsixth\n' | sendmail -f f@example.org r6@example.org ||
    fail "sendmail 6: $?"
id6=$(last_id)
ob flush >&2 &
flush_pid=$!
leased() {
	"$OUTBOX" show "$id6" 2>/dev/null |
	    grep -q '^Delivery: *being delivered by pid'
}
wait_for leased || fail "the message was never seen being delivered"
expect_rc 75 "delete of a message being delivered" delete "$id6"
grep -Eq "$id6 is being delivered \(pid [0-9]+\); try again" "$T/ob.err" ||
    fail "delete of a message being delivered: message"
wait "$flush_pid" || fail "the slow flush exited $?"
assert_eq "$(count_delivered slow)" 1 "the message being delivered went"
assert_eq "$(queue_count)" 0 "queue at the end"
exit 0
