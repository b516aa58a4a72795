#!/bin/sh
# results: per-recipient outcomes 250 / 451 / 550.  The next flush retries
# only the deferred recipient; delivered and failed recipients are never
# sent again.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv \
    --rcpt-reply "later@example.org=451 4.2.0 mailbox busy" \
    --rcpt-reply "bad@example.org=550 5.1.1 unknown user"
write_conf

# rcpt_cmds NAME: every RCPT command the server NAME received, sorted.
rcpt_cmds() {
	cat "$T/$1"/transcript.* 2>/dev/null |
	    grep -io '^RCPT TO:<[^>]*>' | sed 's/^[^<]*</RCPT TO:</' | sort
}
mail_cmds() {
	cat "$T/$1"/transcript.* 2>/dev/null | grep -ic '^MAIL FROM:'
}

printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <results@example.org>\nFrom: sender@example.org\nSubject: results\n\nthree outcomes\n' > "$T/m"
sendmail -f sender@example.org ok@example.org later@example.org \
    bad@example.org < "$T/m" || fail "sendmail exited $?"

# ---- first flush: 250, 451, 550 -----------------------------------------------
ob flush >&2 || fail "first flush exited $?"
assert_eq "$(count_delivered srv)" 1 "deliveries after the first flush"
env=$(delivered_files srv)
env=${env%.eml}.env
assert_eq "$(grep '^RCPT TO:' "$env")" "RCPT TO:<ok@example.org>" \
    "accepted recipients of the first delivery"
assert_eq "$(rcpt_cmds srv)" "RCPT TO:<bad@example.org>
RCPT TO:<later@example.org>
RCPT TO:<ok@example.org>" "RCPT commands of the first flush"
assert_eq "$(queue_count)" 1 "queue after the first flush"

# ---- second flush, against a server that now takes everything ------------------
stop_server srv
start_server srv2
write_conf "relay 127.0.0.1:$srv2_PORT"
ob flush >&2 || fail "second flush exited $?"
assert_eq "$(count_delivered srv2)" 1 "deliveries of the second flush"
eml=$(delivered_files srv2)
assert_eq "$(grep '^RCPT TO:' "${eml%.eml}.env")" \
    "RCPT TO:<later@example.org>" "envelope of the retry"
assert_eq "$(rcpt_cmds srv2)" "RCPT TO:<later@example.org>" \
    "RCPT commands of the second flush"
cmp "$eml" "$(delivered_files srv)" || fail "the retry's bytes differ"

ob queue --json > "$T/q.json" || fail "queue --json exited $?"
python3 - "$T/q.json" <<'PY' || fail "queue state after the retry"
import json, sys
q = json.load(open(sys.argv[1]))
assert len(q) == 1, 'the failed recipient keeps the message listed: %r' % q
r = {x['address']: x for x in q[0]['recipients']}
want = {'ok@example.org': ('delivered', 1), 'later@example.org': ('delivered', 2),
        'bad@example.org': ('failed', 1)}
got = {a: (x['state'], x['attempts']) for a, x in r.items()}
assert got == want, got
assert '550 5.1.1 unknown user' in r['bad@example.org']['last_result'], r
PY

# ---- third flush: nothing is due, nothing is sent ------------------------------
ob flush >&2 || fail "third flush exited $?"
assert_eq "$(mail_cmds srv2)" 1 "MAIL commands after the third flush"
assert_eq "$(count_delivered srv2)" 1 "deliveries after the third flush"
exit 0
