#!/bin/sh
# send_t: sendmail -t takes the recipients from To, Cc and Bcc (display
# names, quoted local parts, comments, groups, folded fields), adds the
# command-line recipients to them, and removes Bcc from what is delivered.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv
write_conf

# strip_bcc.py IN OUT: IN without its Bcc fields (continuations included),
# line ends made CRLF: what the relay must receive.
cat > "$T/strip_bcc.py" <<'PY'
import re, sys
raw = re.sub(rb'\r*\n', b'\r\n', open(sys.argv[1], 'rb').read())
head, sep, body = raw.partition(b'\r\n\r\n')
fields = re.findall(rb'[^ \t][^\r]*\r\n(?:[ \t][^\r]*\r\n)*', head + b'\r\n')
keep = [f for f in fields if not re.match(rb'(?i)(resent-)?bcc[ \t]*:', f)]
open(sys.argv[2], 'wb').write(b''.join(keep) + b'\r\n' + body)
PY

# deliver_one: flush, then exactly one new delivery; sets eml and env.
deliver_one() {
	delivered_files srv | sort > "$T/before"
	ob flush >&2 || fail "flush exited $?"
	assert_eq "$(queue_count)" 0 "queue after flush"
	delivered_files srv | sort > "$T/after"
	comm -13 "$T/before" "$T/after" > "$T/new"
	assert_eq "$(wc -l < "$T/new")" 1 "new deliveries"
	eml=$(cat "$T/new")
	env=${eml%.eml}.env
}

# ---- 1: every kind of address list, plus one command-line recipient. --
cat > "$T/m1" <<'MSG'
Date: Mon, 24 Nov 2025 13:00:00 +0000
Message-ID: <send-t-1@example.org>
From: Sender <sender@example.org>
To: "Doe, John" <john@example.org>, plain@example.org (Plain Person),
 undisclosed-recipients:;
Cc: Team: alice@example.net, "Bob B." <bob@example.net>;,
	"john smith"@example.com
Subject: -t with every kind of list
Bcc: hidden1@example.org,
 Hidden Two <hidden2@example.org>,
	(a comment) hidden3@example.org
X-After-Bcc: kept

Body of the -t message.
Bcc: this is body text, not a header
MSG
sendmail -t -i -f sender@example.org extra@example.org < "$T/m1" ||
    fail "sendmail -t exited $?"
assert_eq "$(queue_count)" 1 "queue after submission"
deliver_one
python3 "$T/strip_bcc.py" "$T/m1" "$T/want1"
cmp "$eml" "$T/want1" || fail "delivered bytes != submitted minus Bcc"
sed '/^\r$/q' "$eml" | grep -qi '^bcc' && fail "a Bcc field was delivered"
grep -q 'hidden' "$eml" && fail "a Bcc address leaked into the message"
grep -q '^MAIL FROM:<sender@example.org>' "$env" ||
    fail "envelope sender: $(grep '^MAIL' "$env")"
grep '^RCPT TO:' "$env" | sort > "$T/got1"
sort > "$T/exp1" <<'EOR'
RCPT TO:<"john smith"@example.com>
RCPT TO:<alice@example.net>
RCPT TO:<bob@example.net>
RCPT TO:<extra@example.org>
RCPT TO:<hidden1@example.org>
RCPT TO:<hidden2@example.org>
RCPT TO:<hidden3@example.org>
RCPT TO:<john@example.org>
RCPT TO:<plain@example.org>
EOR
diff "$T/exp1" "$T/got1" >&2 || fail "envelope recipients differ"

# ---- 2: only a Bcc: it is removed and nothing is put in its place. ----
printf 'Date: Mon, 24 Nov 2025 13:00:01 +0000\nMessage-ID: <send-t-2@example.org>\nFrom: sender@example.org\nSubject: Bcc only\nBCC: secret@example.org\n\nquiet\n' > "$T/m2"
sendmail -t -f sender@example.org < "$T/m2" || fail "sendmail -t exited $?"
deliver_one
python3 "$T/strip_bcc.py" "$T/m2" "$T/want2"
cmp "$eml" "$T/want2" || fail "message 2: delivered != submitted minus Bcc"
assert_eq "$(grep '^RCPT TO:' "$env")" "RCPT TO:<secret@example.org>" \
    "recipients of message 2"

# ---- 3: -t with no recipient anywhere: EX_USAGE, nothing queued. ------
printf 'From: sender@example.org\nSubject: nobody\n\nx\n' > "$T/m3"
rc=0
sendmail -t -f sender@example.org < "$T/m3" 2> "$T/err3" || rc=$?
assert_eq "$rc" 64 "exit status of -t without recipients"
assert_eq "$(queue_count)" 0 "queue after the refused message"

assert_eq "$(count_delivered srv)" 2 "deliveries in total"
exit 0
