#!/bin/sh
# dots: lines starting with "." survive the dot-stuffing round trip; with
# -i (or -oi) a line holding a single "." is kept, without it the line
# ends the message and what follows is not delivered.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv
write_conf

# to_crlf IN OUT: IN with every line ended by CRLF.
to_crlf() {
	python3 -c '
import re, sys
d = re.sub(rb"\r*\n", b"\r\n", open(sys.argv[1], "rb").read())
open(sys.argv[2], "wb").write(d)' "$1" "$2"
}

# The body: every dot pattern an SMTP client must stuff (RFC 5321 4.5.2).
head() {
	printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <dots-%s@example.org>\nFrom: sender@example.org\nTo: rcpt@example.org\nSubject: dots %s\n\n' "$1" "$1"
}
dotbody() {
	printf '.\n.leading dot\n..two leading dots\n...\n. space after a dot\n.\ttab\n .\nx.\n.\ntext after a lone dot\n\n.\n'
}

# ---- -i: every line kept, the lone dots included. ----------------------
{ head i; dotbody; } > "$T/m1"
sendmail -i -f sender@example.org rcpt@example.org < "$T/m1" ||
    fail "sendmail -i exited $?"
deliver_one
to_crlf "$T/m1" "$T/want1"
cmp "$eml" "$T/want1" || fail "-i: delivered bytes differ from the submitted"

# ---- -oi: the same. ----------------------------------------------------
{ head oi; dotbody; } > "$T/m2"
sendmail -oi -f sender@example.org rcpt@example.org < "$T/m2" ||
    fail "sendmail -oi exited $?"
deliver_one
to_crlf "$T/m2" "$T/want2"
cmp "$eml" "$T/want2" || fail "-oi: delivered bytes differ from the submitted"

# ---- CRLF input with -i: the same bytes. -------------------------------
to_crlf "$T/m1" "$T/m3"
sed 's/dots-i@/dots-crlf@/' "$T/m3" > "$T/want3"
sendmail -i -f sender@example.org rcpt@example.org < "$T/want3" ||
    fail "sendmail -i (CRLF) exited $?"
deliver_one
cmp "$eml" "$T/want3" || fail "CRLF -i: delivered bytes differ"

# ---- no -i: the lone "." ends the message. -----------------------------
{ head end; printf '.leading dot\n.. two dots\nbefore the end\n.\nafter the end\n.leading after\n'; } > "$T/m4"
{ head end; printf '.leading dot\n.. two dots\nbefore the end\n'; } > "$T/m4cut"
sendmail -f sender@example.org rcpt@example.org < "$T/m4" ||
    fail "sendmail without -i exited $?"
deliver_one
grep -q 'after the end' "$eml" && fail "text after the lone dot was delivered"
to_crlf "$T/m4cut" "$T/want4"
# ".. two dots" without -i: sendmail 8 un-stuffs it, Postfix keeps it;
# accept either, but nothing else may differ.
if ! cmp -s "$eml" "$T/want4"; then
	sed 's/^\.\. two/. two/' "$T/want4" > "$T/want4b"
	cmp "$eml" "$T/want4b" ||
	    fail "no -i: delivered bytes are not the part before the lone dot"
fi

assert_eq "$(count_delivered srv)" 4 "deliveries in total"
exit 0
