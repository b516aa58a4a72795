#!/bin/sh
# flush_forms: `sendmail -q`, `outbox flush` and `outbox flush --all`
# all deliver what is queued; a deferred recipient waits for its backoff
# (a plain flush leaves it alone), is tried again by `flush --all`, and is
# delivered alone once the server takes it.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv --rcpt-reply "later@test.example=451 4.3.0 try again"
start_server ok
write_conf

mkmsg q1 300 > "$T/m1"
sendmail -f sender@test.example rcpt@test.example < "$T/m1" ||
    fail "sendmail exited $?"
sendmail -q >&2 || fail "sendmail -q exited $?"
assert_eq "$(count_delivered srv)" 1 "delivered by sendmail -q"
assert_eq "$(queue_count)" 0 "queue after sendmail -q"

mkmsg q2 300 > "$T/m2"
sendmail -f sender@test.example rcpt@test.example later@test.example \
    < "$T/m2" || fail "sendmail exited $?"
ob flush --all >&2 || fail "flush --all exited $?"
assert_eq "$(count_delivered srv)" 2 "delivered by flush --all"
assert_eq "$(queue_states | awk '{ print $2, $3, $4 }' | sort | tr '\n' ' ')" \
    "later@test.example pending 1 rcpt@test.example delivered 1 " \
    "recipient states after a deferral"

# the next flush, to a server that accepts it: only the pending recipient
srv_PORT=""			# write_conf: no relay line for srv
write_conf "relay 127.0.0.1:$ok_PORT"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(count_delivered ok)" 0 "delivered while backing off (retry_initial 5m)"
ob flush --all >&2 || fail "flush --all exited $?"
assert_eq "$(count_delivered ok)" 1 "delivered on the second attempt"
env=$(delivered_files ok | sed 's/\.eml$/.env/')
grep -q '^RCPT TO:<later@test.example>' "$env" ||
    fail "the pending recipient was not sent"
grep -q '^RCPT TO:<rcpt@test.example>' "$env" &&
    fail "a delivered recipient was sent again"
assert_eq "$(queue_count)" 0 "queue at the end"
exit 0
