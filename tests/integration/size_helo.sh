#!/bin/sh
# size_helo: a message over the server's SIZE is failed (552) without a
# MAIL command being sent (RFC 1870); a server answering EHLO with 5xx
# gets HELO, and the message is delivered without ESMTP parameters.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server small --ext "PIPELINING,8BITMIME,SIZE 1000,ENHANCEDSTATUSCODES"
start_server old --no-ehlo
write_conf "relay 127.0.0.1:$small_PORT"

hdr() {
	printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <%s@example.org>\nFrom: sender@example.org\nSubject: %s\n\n' "$1" "$1"
}
{ hdr size-big; awk 'BEGIN { for (i = 0; i < 50; i++) printf "%099d\n", i }'; } > "$T/big.msg"
{ hdr size-small; echo "a small body"; } > "$T/small.msg"
sendmail -f sender@example.org big@example.org < "$T/big.msg" || fail "sendmail exited $?"
sendmail -f sender@example.org small@example.org < "$T/small.msg" || fail "sendmail exited $?"
ob flush >&2 || fail "flush exited $?"

assert_eq "$(count_delivered small)" 1 "deliveries to the SIZE 1000 server"
eml=$(delivered_files small)
grep -q 'size-small' "$eml" || fail "the wrong message was delivered"
tr="$T/small"
assert_eq "$(cat "$tr"/transcript.* | grep -ic '^MAIL FROM:')" 1 \
    "MAIL commands (none for the oversized message)"
grep -qi '^RCPT TO:<big@example.org>' "$tr"/transcript.* &&
    fail "RCPT sent for the oversized message"
ob queue --json > "$T/q.json" || fail "queue --json exited $?"
python3 - "$T/q.json" <<'PY' || fail "oversized message not failed with 552"
import json, sys
q = json.load(open(sys.argv[1]))
assert len(q) == 1, q
r = q[0]['recipients']
assert [x['address'] for x in r] == ['big@example.org'], r
r = r[0]
assert r['state'] == 'failed', r
assert r['last_result'] and ('552' in r['last_result'] or '5.3.4' in r['last_result']), r
PY

# ---- HELO fallback -------------------------------------------------------------
write_conf "relay 127.0.0.1:$old_PORT"
{ hdr helo; echo "to an old server"; } > "$T/helo.msg"
sendmail -f sender@example.org old@example.org < "$T/helo.msg" || fail "sendmail exited $?"
ob flush >&2 || fail "flush to the HELO server exited $?"
assert_eq "$(count_delivered old)" 1 "deliveries to the HELO server"
eml=$(delivered_files old)
python3 -c '
import re, sys
a = open(sys.argv[1], "rb").read()
b = re.sub(rb"\r*\n", b"\r\n", open(sys.argv[2], "rb").read())
sys.exit(a != b)' "$eml" "$T/helo.msg" || fail "HELO delivery: bytes differ"
tr="$T/old"
grep -qi '^EHLO test.example' "$tr"/transcript.* || fail "EHLO not tried first"
grep -qi '^HELO test.example' "$tr"/transcript.* || fail "no HELO after the EHLO refusal"
assert_eq "$(grep '^MAIL' "${eml%.eml}.env")" "MAIL FROM:<sender@example.org>" \
    "MAIL without ESMTP parameters"
if grep -h '!VIOLATION' "$tr"/transcript.* >&2; then
	fail "the HELO server saw protocol violations"
fi
exit 0
