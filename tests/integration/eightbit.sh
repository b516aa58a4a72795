#!/bin/sh
# eightbit: an 8-bit body goes with BODY=8BITMIME, bytes intact, to a
# server offering 8BITMIME.  A server without it never receives an 8-bit
# octet (RFC 6152): 8-bit MIME parts are converted (quoted-printable or
# base64) and decode to the original; an 8-bit header cannot be converted
# and fails the recipient (5.6.3) instead of deferring it forever.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server s8
start_server s7 --ext "PIPELINING,SIZE 52428800"

# The messages, written by python so the 8-bit octets are exact.
python3 - "$T" <<'PY' || fail "cannot write the messages"
import sys
t = sys.argv[1]
head = ('Date: Mon, 24 Nov 2025 13:00:00 +0000\n'
        'Message-ID: <8bit-%s@example.org>\n'
        'From: sender@example.org\nTo: rcpt@example.org\n')
text = ('Gr\u00fc\u00dfe aus K\u00f6ln!\n'
        'trailing space, must survive quoted-printable \n'
        '= an equals sign, and tabs\tinside\n'
        + '\u00e9' * 60 + ' a long 8-bit line, over 76 octets once encoded\n'
        '.a dot line with \u00fc\n'
        'plain ASCII line\n').encode('utf-8')
single = (head % 'single' + 'Subject: single part\nMIME-Version: 1.0\n'
          'Content-Type: text/plain; charset=utf-8\n'
          'Content-Transfer-Encoding: 8bit\n\n').encode() + text
multi = (head % 'multi' + 'Subject: multipart\nMIME-Version: 1.0\n'
         'Content-Type: multipart/mixed; boundary="BOUND"\n\n'
         'preamble\n--BOUND\nContent-Type: text/plain; charset=us-ascii\n\n'
         'seven-bit part\n--BOUND\n'
         'Content-Type: text/plain; charset=utf-8\n'
         'Content-Transfer-Encoding: 8bit\n\n').encode() + text + \
        b'--BOUND--\nepilogue\n'
hdr = (head % 'hdr' + 'Subject: Gr\u00fc\u00dfe im Betreff\n'
       'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'
       'ascii body\n').encode('utf-8')
for name, data in (('single', single), ('multi', multi), ('hdr', hdr)):
    open('%s/%s' % (t, name), 'wb').write(data)
PY

# ---- to a server offering 8BITMIME: as is, with BODY=8BITMIME ---------------
write_conf "relay 127.0.0.1:$s8_PORT"
sendmail -i -f sender@example.org rcpt@example.org < "$T/single" ||
    fail "sendmail exited $?"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(count_delivered s8)" 1 "deliveries to the 8BITMIME server"
eml=$(delivered_files s8)
grep -q '^MAIL FROM:<sender@example.org>.* BODY=8BITMIME' "${eml%.eml}.env" ||
    fail "no BODY=8BITMIME: $(grep '^MAIL' "${eml%.eml}.env")"
grep -q VIOLATION "${eml%.eml}.env" && fail "8BITMIME server saw a violation"
python3 -c '
import re, sys
a = open(sys.argv[1], "rb").read()
b = re.sub(rb"\r*\n", b"\r\n", open(sys.argv[2], "rb").read())
sys.exit(a != b)' "$eml" "$T/single" || fail "8-bit bytes not delivered intact"

# ---- to a server without 8BITMIME: converted --------------------------------
write_conf "relay 127.0.0.1:$s7_PORT"
sendmail -i -f sender@example.org rcpt@example.org < "$T/single" ||
    fail "sendmail exited $?"
sendmail -i -f sender@example.org rcpt@example.org < "$T/multi" ||
    fail "sendmail exited $?"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(count_delivered s7)" 2 "deliveries to the 7-bit server"
assert_eq "$(queue_count)" 0 "queue after the 7-bit deliveries"
for eml in $(delivered_files s7); do
	env=${eml%.eml}.env
	grep -q VIOLATION "$env" && fail "7-bit server received 8-bit octets ($eml)"
	grep -q 'BODY=' "$env" && fail "BODY= sent to a server without 8BITMIME"
done
if grep -h '!VIOLATION' "$T/s7"/transcript.* >&2; then
	fail "the 7-bit server saw protocol violations"
fi
python3 - "$T" $(delivered_files s7) <<'PY' || fail "conversion is wrong"
import email, email.policy, quopri, re, sys
t, files = sys.argv[1], sys.argv[2:]
def canon(b):
    return re.sub(rb'\r*\n', b'\r\n', b)
def split(b):
    h, _, body = b.partition(b'\r\n\r\n')
    return re.findall(rb'[^ \t][^\r]*\r\n(?:[ \t][^\r]*\r\n)*', h + b'\r\n'), body
def fields_but_cte(fields):
    return [f for f in fields if not f.lower().startswith(b'content-transfer-encoding')]
def cte(fields):
    v = [f.split(b':', 1)[1].strip().lower() for f in fields
         if f.lower().startswith(b'content-transfer-encoding')]
    return v
got = {}
for f in files:
    b = open(f, 'rb').read()
    assert all(c < 128 for c in b), '%s: 8-bit octet delivered' % f
    assert all(len(l) <= 998 for l in b.split(b'\r\n')), 'line too long'
    m = re.search(rb'Message-ID: <8bit-(\w+)@', b)
    got[m.group(1).decode()] = b
# single part: headers the same but for CTE; the body decodes to the original
orig = canon(open(t + '/single', 'rb').read())
of, ob = split(orig)
gf, gb = split(got['single'])
assert fields_but_cte(of) == fields_but_cte(gf), (of, gf)
enc = cte(gf)
assert enc in ([b'quoted-printable'], [b'base64']), enc
if enc == [b'quoted-printable']:
    for l in gb.split(b'\r\n'):
        assert len(l) <= 76, 'quoted-printable line over 76: %r' % l
        assert not l.endswith((b' ', b'\t')), 'unencoded trailing space: %r' % l
    dec = quopri.decodestring(gb.replace(b'\r\n', b'\n'))
else:
    import base64
    dec = base64.b64decode(gb)
assert canon(dec) == ob, (dec, ob)
# multipart: parse both sides, compare the decoded payloads part by part
def parts(b):
    m = email.message_from_bytes(b, policy=email.policy.compat32)
    return [(p.get_content_type(), p.get_payload(decode=True))
            for p in m.walk() if not p.is_multipart()]
po, pg = parts(canon(open(t + '/multi', 'rb').read())), parts(got['multi'])
assert len(po) == len(pg) == 2, (po, pg)
for (ta, a), (tb, b) in zip(po, pg):
    assert ta == tb and canon(a) == canon(b), ((ta, a), (tb, b))
# the 7-bit part and the multipart structure are untouched
assert b'--BOUND\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nseven-bit part\r\n' in got['multi']
assert got['multi'].endswith(b'--BOUND--\r\nepilogue\r\n'), got['multi'][-40:]
PY

# ---- an 8-bit header to the 7-bit server: failed, 5.6.3 ----------------------
sendmail -i -f sender@example.org rcpt@example.org < "$T/hdr" ||
    fail "sendmail exited $?"
ob flush >&2 || fail "flush exited $?"
# the message failed (5.6.3) and its DSN (8-bit headers returned in part
# 3, converted for this 7-bit server) was delivered to the sender
assert_eq "$(count_delivered s7)" 3 "deliveries after the 8-bit header"
dsn=$(dsn_files s7)
[ -n "$dsn" ] || fail "no DSN for the 8-bit header"
grep -q '^RCPT TO:<sender@example.org>' "${dsn%.eml}.env" ||
    fail "the DSN did not go to the sender"
grep -q VIOLATION "${dsn%.eml}.env" && fail "the DSN broke the 7-bit rule"
dsn_check "$dsn" failed rcpt@example.org 5.6.3
assert_eq "$(queue_count)" 0 "queue after the 5.6.3 failure and its DSN"
exit 0
