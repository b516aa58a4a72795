#!/bin/sh
# flush_quiet: `outbox flush` with the log on stderr (the default) says
# nothing when everything was delivered and it is not on a terminal
# (cron mails only trouble); a deferral or failure shows its delivery
# line and a summary; on a terminal (a pty from script(1)) a progress
# line and the summary replace the per-delivery lines; -v shows them all.
. "$TESTLIB"

start_server srv --rcpt-reply 'later@example.org=451 4.2.0 try later' \
    --rcpt-reply 'gone@example.org=550 5.1.1 no such user'
write_conf

# all delivered, no terminal: nothing at all
for i in 1 2 3; do
	mkmsg "q$i" 100 | sendmail -f s@example.org "ok$i@example.org" ||
	    fail "sendmail"
done
"$OUTBOX" flush > "$T/f1.out" 2> "$T/f1.err" < /dev/null ||
    fail "flush exited $?: $(cat "$T/f1.err")"
assert_eq "$(count_delivered srv)" 3 "delivered"
assert_eq "$(cat "$T/f1.out" "$T/f1.err")" "" "a clean flush's output"

# a deferral and a failure: their lines and the summary
mkmsg later 100 | sendmail -f s@example.org later@example.org || fail "sendmail"
mkmsg gone 100 | sendmail -f s@example.org gone@example.org || fail "sendmail"
mkmsg fine 100 | sendmail -f s@example.org fine@example.org || fail "sendmail"
"$OUTBOX" flush > "$T/f2.out" 2> "$T/f2.err" < /dev/null || :
grep -q 'to=<later@example.org>.*status=deferred' "$T/f2.err" ||
    fail "no deferral line: $(cat "$T/f2.err")"
grep -q 'to=<gone@example.org>.*status=failed' "$T/f2.err" ||
    fail "no failure line: $(cat "$T/f2.err")"
grep -q 'fine@example.org' "$T/f2.err" &&
    fail "a delivery line in a quiet flush: $(cat "$T/f2.err")"
# the bounce to s@ goes out in the same run
grep -q 'flush: 4 messages in .*: 2 recipients delivered, 1 deferred, 1 failed, 1 bounce queued' \
    "$T/f2.err" || fail "no summary: $(cat "$T/f2.err")"

# on a terminal: a progress line, then the summary, no delivery lines
if command -v script >/dev/null 2>&1; then
	for i in 1 2 3 4 5; do
		mkmsg "t$i" 100 | sendmail -f s@example.org "tty$i@example.org" ||
		    fail "sendmail"
	done
	script -qec "'$OUTBOX' flush" "$T/tty.out" > /dev/null 2>&1 < /dev/null ||
	    fail "flush on a pty: $(cat "$T/tty.out")"
	tr '\r' '\n' < "$T/tty.out" > "$T/tty.txt"
	grep -q 'flush: [0-9]* of 5 messages' "$T/tty.txt" ||
	    fail "no progress line: $(cat -A "$T/tty.out")"
	grep -q 'flush: 5 messages in .*: 5 recipients delivered' "$T/tty.txt" ||
	    fail "no summary on the terminal: $(cat -A "$T/tty.out")"
	grep -q 'status=sent' "$T/tty.txt" &&
	    fail "delivery lines on the terminal: $(cat -A "$T/tty.out")"
else
	echo "no script(1): the terminal case is skipped"
fi

# -v: every line
mkmsg v 100 | sendmail -f s@example.org v@example.org || fail "sendmail"
"$OUTBOX" -v flush > /dev/null 2> "$T/f3.err" < /dev/null ||
    fail "flush -v: $(cat "$T/f3.err")"
grep -q 'to=<v@example.org>.*status=sent' "$T/f3.err" ||
    fail "flush -v without the delivery line: $(cat "$T/f3.err")"
