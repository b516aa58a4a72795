#!/bin/sh
# send_basic: recipients on the command line, one flush per message.
# Delivered bytes equal the submitted bytes apart from the Date,
# Message-ID and From fields outbox adds, each only when it is missing;
# LF and CRLF input both go out CRLF, never CR CR LF.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv
write_conf

# check.py EML SUBMITTED ADDED...: the delivered message EML is the
# canonical form of SUBMITTED (every line end CRLF, a run of CRs before LF
# dropped, a last unterminated line ended) plus exactly one field of each
# name in ADDED, and nothing else.  Prints the added fields' values.
cat > "$T/check.py" <<'PY'
import re, sys
eml, sub, added = sys.argv[1], sys.argv[2], [a.lower() for a in sys.argv[3:]]
got = open(eml, 'rb').read()
raw = open(sub, 'rb').read()
want = re.sub(rb'\r*\n', b'\r\n', raw)
if not want.endswith(b'\r\n'):
    want += b'\r\n'
def die(m):
    sys.exit('%s: %s' % (eml, m))
if b'\r\r\n' in got:
    die('CR CR LF in delivered bytes')
if re.search(rb'[^\r]\n|^\n', got) or re.search(rb'\r(?!\n)', got):
    die('bare LF or bare CR in delivered bytes')
end = got.find(b'\r\n\r\n')
if end < 0:
    die('no empty line after the header section')
head, body = got[:end + 2], got[end + 2:]
fields = re.findall(rb'[^ \t][^\r]*\r\n(?:[ \t][^\r]*\r\n)*', head)
if b''.join(fields) != head:
    die('header section does not split into fields')
kept, seen = [], {}
for f in fields:
    name = f.split(b':', 1)[0].strip().lower().decode()
    if name in added and name not in seen:
        seen[name] = f.split(b':', 1)[1].strip().decode('latin-1')
        continue
    kept.append(f)
for a in added:
    if a not in seen:
        die('field %s was not added' % a)
rest = b''.join(kept) + body
if rest != want:
    import difflib
    for l in difflib.unified_diff(want.decode('latin-1').splitlines(True),
            rest.decode('latin-1').splitlines(True), 'submitted', 'delivered'):
        sys.stderr.write(repr(l) + '\n')
    die('delivered bytes differ from the submitted ones')
# every name that was not to be added appears as often as submitted
for name in ('date', 'message-id', 'from'):
    n_sub = len(re.findall(rb'(?im)^' + name.encode() + rb'[ \t]*:', want.split(b'\r\n\r\n')[0]))
    n_got = len(re.findall(rb'(?im)^' + name.encode() + rb'[ \t]*:', head))
    if n_got != n_sub + (1 if name in added else 0):
        die('%s: %d in delivered, %d submitted' % (name, n_got, n_sub))
for a in added:
    print('%s=%s' % (a, seen[a]))
PY

# rcpts ENV: the RCPT lines of an envelope file, sorted.
rcpts() {
	grep '^RCPT TO:' "$1" | sort
}

# ---- 1: LF input, no Date/Message-ID/From: all three are added. -------
printf 'To: Rcpt One <rcpt1@example.org>\nSubject: basic LF\nX-Long: a\n folded\n\tfield\n\nline one\n\n  indented line\ntrailing space \nlast line\n' > "$T/m1"
sendmail -f sender@example.org rcpt1@example.org rcpt2@example.net \
    < "$T/m1" || fail "sendmail exited $?"
assert_eq "$(queue_count)" 1 "queue after submission"
deliver_one
grep -q '^MAIL FROM:<sender@example.org>' "$env" ||
    fail "envelope sender: $(grep '^MAIL' "$env")"
assert_eq "$(grep -c '^MAIL FROM:' "$env")" 1 "MAIL lines"
assert_eq "$(rcpts "$env")" "RCPT TO:<rcpt1@example.org>
RCPT TO:<rcpt2@example.net>" "envelope recipients"
python3 "$T/check.py" "$eml" "$T/m1" date message-id from > "$T/added" ||
    fail "message 1 delivered wrongly"
grep -q '^from=.*sender@example\.org' "$T/added" ||
    fail "added From does not name the -f sender: $(grep ^from= "$T/added")"
grep -Eq '^message-id=<[^<>@ ]+@[^<>@ ]+>$' "$T/added" ||
    fail "added Message-ID malformed: $(grep ^message-id= "$T/added")"
python3 -c '
import sys, email.utils
v = [l.split("=", 1)[1].strip() for l in open(sys.argv[1]) if l.startswith("date=")][0]
if email.utils.parsedate_to_datetime(v) is None: sys.exit("bad Date " + v)
' "$T/added" || fail "added Date does not parse"

# ---- 2: CRLF input with all three fields: byte-identical. ------------
printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\r\nMessage-ID: <basic2@example.org>\r\nFrom: Someone Else <else@example.org>\r\nTo: rcpt3@example.org\r\nSubject: basic CRLF\r\n\r\nbody line 1\r\n\r\nbody line 3\r\n' > "$T/m2"
sendmail -f other@example.org rcpt3@example.org < "$T/m2" ||
    fail "sendmail exited $?"
deliver_one
cmp "$eml" "$T/m2" || fail "message 2 is not byte-identical"
grep -q '^MAIL FROM:<other@example.org>' "$env" ||
    fail "envelope sender of message 2: $(grep '^MAIL' "$env")"
assert_eq "$(rcpts "$env")" "RCPT TO:<rcpt3@example.org>" "recipients 2"

# ---- 3: From present, Date and Message-ID missing; CR CR LF input, no
# final newline.  Only Date and Message-ID are added. -------------------
printf 'From: Writer <writer@example.org>\r\r\nTo: rcpt4@example.org\nSubject: partial\r\n\r\nline with CR CR LF\r\r\nline with LF\nno final newline' > "$T/m3"
sendmail -f writer@example.org rcpt4@example.org < "$T/m3" ||
    fail "sendmail exited $?"
deliver_one
python3 "$T/check.py" "$eml" "$T/m3" date message-id > /dev/null ||
    fail "message 3 delivered wrongly"

# ---- 4: no -f: the sender is the invoking user at helo_name; -F names it.
user=$(id -un)
printf 'Subject: no sender\n\nhello\n' > "$T/m4"
sendmail -F 'Test Person' rcpt5@example.org < "$T/m4" ||
    fail "sendmail exited $?"
deliver_one
grep -q "^MAIL FROM:<$user@test.example>" "$env" ||
    fail "default envelope sender: $(grep '^MAIL' "$env")"
python3 "$T/check.py" "$eml" "$T/m4" date message-id from > "$T/added" ||
    fail "message 4 delivered wrongly"
grep -q "^from=.*Test Person.*<$user@test\.example>" "$T/added" ||
    fail "added From: $(grep ^from= "$T/added")"

assert_eq "$(count_delivered srv)" 4 "deliveries in total"
assert_eq "$(queue_count)" 0 "queue at the end"
exit 0
