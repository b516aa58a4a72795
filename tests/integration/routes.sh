#!/bin/sh
# routes: mail goes by its sender.  The default route forces the relay
# account's envelope sender (from_address) and From: (rewrite_from, the
# author kept in Reply-To); a [sender @domain] section sends that domain's
# mail to its own relay untouched; a bounce (null sender) keeps its null
# sender.  And a configuration given only by OUTBOX_<KEY> variables, with
# no file at all, works (containers).
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server a --rcpt-reply "gone@example.org=550 5.1.1 no such user"
start_server b
write_conf "relay 127.0.0.1:$a_PORT" "from_address acct@a.example" \
    "rewrite_from yes" \
    "[sender @b.example]" "relay 127.0.0.1:$b_PORT" "tls off"

printf 'From: Author <user@x.example>\nSubject: one\n\nvia a\n' |
    sendmail -f user@x.example rcpt@example.org || fail "sendmail 1: $?"
printf 'From: Bob <bob@b.example>\nSubject: two\n\nvia b\n' |
    sendmail -f bob@b.example rcpt@example.org || fail "sendmail 2: $?"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(count_delivered a)" 1 "messages through relay a"
assert_eq "$(count_delivered b)" 1 "messages through relay b"
ea=$(delivered_files a)
eb=$(delivered_files b)
grep -q '^MAIL FROM:<acct@a.example>' "${ea%.eml}.env" ||
    fail "from_address not used: $(grep MAIL "${ea%.eml}.env")"
grep -q '^From: acct@a.example' "$ea" || fail "From: not rewritten"
grep -q '^Reply-To: Author <user@x.example>' "$ea" ||
    fail "the author is not in Reply-To"
grep -q '^MAIL FROM:<bob@b.example>' "${eb%.eml}.env" ||
    fail "the b.example route changed the sender"
grep -q '^From: Bob <bob@b.example>' "$eb" || fail "From: changed on route b"
# the queue kept the real sender: our own bounce goes to the author
printf 'From: Author <user@x.example>\nSubject: three\n\nto nobody\n' |
    sendmail -f user@x.example gone@example.org || fail "sendmail 3: $?"
ob flush >&2 || fail "flush 2 exited $?"
dsn=$(dsn_files a)
[ -n "$dsn" ] || fail "no DSN"
grep -q '^RCPT TO:<user@x.example>' "${dsn%.eml}.env" ||
    fail "the DSN did not go to the author"
grep -q '^MAIL FROM:<>' "${dsn%.eml}.env" || fail "the DSN's sender was forced"

# ---- nothing but the environment -------------------------------------------
mkdir "$T/envq"
rc=0
env -u OUTBOX_CONF OUTBOX_QUEUE_DIR="$T/envq" OUTBOX_HELO_NAME=env.example \
    OUTBOX_RELAY="127.0.0.1:$b_PORT" OUTBOX_TLS=off OUTBOX_DELIVER_ON_SUBMIT=no \
    sh -c 'printf "Subject: env\n\nfrom the environment\n" |
	"$OUTBOX" sendmail -f env@env.example rcpt@example.org &&
	"$OUTBOX" flush && "$OUTBOX" config' > "$T/env.out" 2>&1 || rc=$?
cat "$T/env.out" >&2
assert_eq "$rc" 0 "sendmail and flush configured by the environment"
assert_eq "$(count_delivered b)" 2 "delivered with the environment's relay"
grep -qx "relay 127.0.0.1:$b_PORT" "$T/env.out" ||
    fail "outbox config does not show the environment's relay"
rc=0
env -u OUTBOX_CONF OUTBOX_QUEUE_DIR="$T/envq" OUTBOX_RELAY_RATE=fast \
    "$OUTBOX" config > /dev/null 2> "$T/env.err" || rc=$?
assert_eq "$rc" 78 "a bad value in the environment"
grep -q "environment: OUTBOX_RELAY_RATE: invalid rate" "$T/env.err" ||
    fail "unclear: $(cat "$T/env.err")"
exit 0
