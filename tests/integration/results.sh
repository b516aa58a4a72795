#!/bin/sh
# results: per-recipient outcomes 250 / 451 / 550.  The 550 comes back
# to the sender as a DSN (RFC 3464) with the null sender; the deferred
# recipient waits for its backoff, and the retry sends only it: delivered
# and failed recipients are never sent again.
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
# The 550 is reported to the sender in a DSN queued with the result and
# delivered in the same run, with the null sender.
ob flush >&2 || fail "first flush exited $?"
assert_eq "$(count_delivered srv)" 2 "deliveries after the first flush"
orig="" dsn=""
for eml in $(delivered_files srv); do
	if grep -q '^MAIL FROM:<>' "${eml%.eml}.env"; then dsn=$eml; else orig=$eml; fi
done
[ -n "$orig" ] && [ -n "$dsn" ] || fail "expected the message and a DSN"
assert_eq "$(grep '^RCPT TO:' "${orig%.eml}.env")" "RCPT TO:<ok@example.org>" \
    "accepted recipients of the first delivery"
assert_eq "$(grep '^RCPT TO:' "${dsn%.eml}.env")" \
    "RCPT TO:<sender@example.org>" "the DSN goes to the envelope sender"
python3 - "$dsn" <<'PY' || fail "the DSN is not what RFC 3464 asks for"
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.compat32)
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status', m.get_param('report-type')
parts = m.get_payload()
types = [p.get_content_type() for p in parts]
assert types == ['text/plain', 'message/delivery-status', 'text/rfc822-headers'], types
assert 'bad@example.org' in parts[0].get_payload(), 'text part names no recipient'
ds = parts[1].get_payload()
blocks = [b.items() if hasattr(b, 'items') else b for b in ds]
fields = {}
for b in ds:
    for k, v in b.items():
        fields.setdefault(k.lower(), []).append(' '.join(v.split()))
assert fields['reporting-mta'] == ['dns; test.example'], fields
assert fields['final-recipient'] == ['rfc822; bad@example.org'], fields
assert fields['action'] == ['failed'], fields
assert fields['status'] == ['5.1.1'], fields
assert fields['diagnostic-code'] == ['smtp; 550 5.1.1 unknown user'], fields
assert 'remote-mta' in fields and 'arrival-date' in fields and 'last-attempt-date' in fields, fields
hdrs = parts[2].get_payload()
assert 'Message-ID: <results@example.org>' in hdrs, hdrs
assert 'three outcomes' not in hdrs, 'the body was returned'
assert m['Auto-Submitted'] == 'auto-replied', m['Auto-Submitted']
PY
assert_eq "$(rcpt_cmds srv)" "RCPT TO:<bad@example.org>
RCPT TO:<later@example.org>
RCPT TO:<ok@example.org>
RCPT TO:<sender@example.org>" "RCPT commands of the first flush"
assert_eq "$(queue_count)" 1 "queue after the first flush"
assert_eq "$(queue_states | awk '{ print $2, $3, $4 }' | sort | tr '\n' ' ')" \
    "bad@example.org failed 1 later@example.org pending 1 ok@example.org delivered 1 " \
    "recipient states after the first flush"

# ---- a plain flush leaves the deferred recipient to its backoff ------------
ob flush >&2 || fail "flush during the backoff exited $?"
assert_eq "$(mail_cmds srv)" 2 "MAIL commands after a flush during the backoff"

# ---- flush --all, against a server that now takes everything ----------------
stop_server srv
start_server srv2
write_conf "relay 127.0.0.1:$srv2_PORT"
ob flush --all >&2 || fail "second flush exited $?"
assert_eq "$(count_delivered srv2)" 1 "deliveries of the second flush"
eml=$(delivered_files srv2)
assert_eq "$(grep '^RCPT TO:' "${eml%.eml}.env")" \
    "RCPT TO:<later@example.org>" "envelope of the retry"
assert_eq "$(rcpt_cmds srv2)" "RCPT TO:<later@example.org>" \
    "RCPT commands of the second flush"
cmp "$eml" "$orig" || fail "the retry's bytes differ"
# every recipient delivered or bounced: the message is gone
assert_eq "$(queue_count)" 0 "queue after the retry"

# ---- third flush: nothing is due, nothing is sent ------------------------------
ob flush --all >&2 || fail "third flush exited $?"
assert_eq "$(mail_cmds srv2)" 1 "MAIL commands after the third flush"
exit 0
