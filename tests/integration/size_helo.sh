#!/bin/sh
# size_helo: a message over the server's SIZE is failed (552) without a
# MAIL command being sent (RFC 1870); a server answering EHLO with 5xx
# gets HELO, and the message is delivered without ESMTP parameters.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server small --ext "PIPELINING,8BITMIME,SIZE 4000,ENHANCEDSTATUSCODES"
start_server old --no-ehlo
write_conf "relay 127.0.0.1:$small_PORT"

hdr() {
	printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <%s@example.org>\nFrom: sender@example.org\nSubject: %s\n\n' "$1" "$1"
}
{ hdr size-big; awk 'BEGIN { for (i = 0; i < 100; i++) printf "%099d\n", i }'; } > "$T/big.msg"
{ hdr size-small; echo "a small body"; } > "$T/small.msg"
sendmail -f sender@example.org big@example.org < "$T/big.msg" || fail "sendmail exited $?"
sendmail -f sender@example.org small@example.org < "$T/small.msg" || fail "sendmail exited $?"
ob flush >&2 || fail "flush exited $?"

# the small message, and the oversized one's DSN to its sender
assert_eq "$(count_delivered small)" 2 "deliveries to the SIZE 4000 server"
dsn=$(dsn_files small)
[ -n "$dsn" ] || fail "no DSN for the oversized message"
for eml in $(delivered_files small); do
	[ "$eml" = "$dsn" ] && continue
	grep -q 'size-small' "$eml" || fail "the wrong message was delivered"
done
tr="$T/small"
assert_eq "$(cat "$tr"/transcript.* | grep -ic '^MAIL FROM:')" 2 \
    "MAIL commands (none for the oversized message, one for its DSN)"
grep -qi '^RCPT TO:<big@example.org>' "$tr"/transcript.* &&
    fail "RCPT sent for the oversized message"
dsn_check "$dsn" failed big@example.org 5.3.4
assert_eq "$(queue_count)" 0 "queue after the oversized message's DSN"

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
