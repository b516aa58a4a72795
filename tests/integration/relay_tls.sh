#!/bin/sh
# relay_tls: delivery to a relay over TLS, secure by default.  The default
# ("tls auto", a port other than 465) requires STARTTLS and a verified
# certificate: a relay that does not offer STARTTLS, answers it with 454,
# breaks the handshake, or shows a certificate that is expired, for
# another host, self-signed or from an unknown CA gets nothing - the mail
# is deferred with the reason, never sent in clear.  Implicit TLS, a pin,
# tls_verify off, TLS 1.3 minimum and opportunistic TLS do what they say.
. "$TESTLIB"
. "$(dirname "$TESTLIB")/certs.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

C=$T/certs
make_certs "$C"

srv() {		# srv NAME CERT [fakesmtpd options]
	_n=$1 _c=$2
	shift 2
	start_server "$_n" --tls-cert "$C/$_c.pem" --tls-key "$C/$_c.key" "$@"
}
# conf NAME [LINES]: relay to server NAME by name, TLS keys as given
conf() {
	eval "_p=\$${1}_PORT"
	shift
	write_conf "relay localhost:$_p" "tls auto" "tls_ca_file $C/ca.pem" \
	    "retry_initial 1s" "$@"
}
n=0
send() {	# send: one message, due now
	n=$((n + 1))
	mkmsg "tls$n" 200 | sendmail -f sender@example.org rcpt@example.org ||
	    fail "sendmail exited $?"
}
# deferred WHAT TEXT: the last flush delivered nothing and the message is
# pending with TEXT in its last result; the queue is emptied for the next
deferred() {
	assert_eq "$(queue_states | awk '{ print $3 }')" "pending" "$1: state"
	ob queue --json > "$T/q.json"
	python3 - "$T/q.json" "$2" <<'PY' || fail "$1: last result"
import json, sys
q = json.load(open(sys.argv[1]))
r = q[0]['recipients'][0]['last_result'] or ''
assert sys.argv[2] in r, 'want %r in %r' % (sys.argv[2], r)
PY
	for id in $(queue_states | awk '{ print $1 }'); do
		ob delete "$id" >/dev/null || fail "delete $id"
	done
}

# ---- required STARTTLS with the good certificate ---------------------------
srv good good
conf good
send
ob flush >&2 || fail "flush to the good relay exited $?"
assert_eq "$(count_delivered good)" 1 "delivered over STARTTLS"
env=$(delivered_files good | sed 's/\.eml$/.env/')
grep -q '^TLS: TLSv1\.[23]' "$env" || fail "not delivered over TLS: $(cat "$env")"
# in clear, only the greeting's EHLO and STARTTLS
assert_eq "$(cat "$T"/good/transcript-clear.* | tr -d '\r' | sed 's/ .*//' | tr '\n' ' ')" \
    "EHLO STARTTLS " "commands sent in clear"

# ---- no downgrade ------------------------------------------------------------
start_server plain			# no STARTTLS at all
conf plain
send
rc=0; ob flush 2> "$T/f.err" || rc=$?
assert_eq "$rc" 75 "flush to a relay without STARTTLS"
assert_eq "$(count_delivered plain)" 0 "sent in clear to a relay without STARTTLS"
deferred "no STARTTLS" "does not offer STARTTLS"

srv refuse good --starttls-reply "454 4.7.0 TLS not available"
conf refuse
send
ob flush 2>/dev/null
assert_eq "$(count_delivered refuse)" 0 "sent in clear after a 454"
deferred "STARTTLS 454" "STARTTLS refused (454 4.7.0 TLS not available)"

srv broken good --starttls-break
conf broken
send
ob flush 2>/dev/null
assert_eq "$(count_delivered broken)" 0 "sent after a broken handshake"
deferred "broken handshake" "TLS"

# ---- certificates that must not be trusted -------------------------------
for case in "expired:certificate has expired" \
    "wrong-host:certificate is for other.example, not localhost" \
    "self-signed:self-signed certificate" "unknown-ca:unknown issuer"; do
	name=${case%%:*}
	why=${case#*:}
	srv "c$n" "$name"
	conf "c$n"
	eval "_s=c$n"
	send
	ob flush 2>/dev/null
	assert_eq "$(count_delivered "$_s")" 0 "delivered despite a $name certificate"
	deferred "$name certificate" "$why"
done

# ---- what the configuration may relax or tighten ---------------------------
srv selfok self-signed
conf selfok "tls_verify no"
send
ob flush >&2 || fail "flush with tls_verify no exited $?"
assert_eq "$(count_delivered selfok)" 1 "tls_verify no"

pin=$(cert_sha256 "$C/self-signed.pem")
srv pinned self-signed
conf pinned "tls_verify no" "tls_fingerprint $pin"
send
ob flush >&2 || fail "flush with the right pin exited $?"
assert_eq "$(count_delivered pinned)" 1 "the right pin"
conf pinned "tls_verify no" "tls_fingerprint $(echo "$pin" | tr '0-9A-F' 'A-F0-9' | cut -c1-64)"
send
ob flush 2>/dev/null
assert_eq "$(count_delivered pinned)" 1 "a wrong pin"
deferred "wrong pin" "fingerprint mismatch"

srv implicit good --implicit-tls
conf implicit "tls implicit"
send
ob flush >&2 || fail "flush over implicit TLS exited $?"
assert_eq "$(count_delivered implicit)" 1 "implicit TLS"
[ -e "$(ls "$T"/implicit/transcript-clear.* 2>/dev/null | head -1)" ] &&
    [ -s "$(ls "$T"/implicit/transcript-clear.* | head -1)" ] &&
    fail "implicit TLS: something was sent in clear"

srv old good --tls-priority "NORMAL:-VERS-ALL:+VERS-TLS1.2"
conf old "tls_min_version 1.3"
send
ob flush 2>/dev/null
assert_eq "$(count_delivered old)" 0 "TLS 1.2 server with tls_min_version 1.3"
deferred "TLS 1.2 only" "TLS"

srv needcert good --tls-client-ca "$C/ca.pem"
conf needcert "tls_cert_file $C/client.pem" "tls_key_file $C/client.key"
send
ob flush >&2 || fail "flush with a client certificate exited $?"
assert_eq "$(count_delivered needcert)" 1 "with a client certificate"
grep -q '^TLS-Client: ' "$(delivered_files needcert | sed 's/\.eml$/.env/')" ||
    fail "the server did not see our client certificate"
conf needcert
send
ob flush 2>/dev/null
assert_eq "$(count_delivered needcert)" 1 "delivered without the client certificate"
deferred "no client certificate" ""

conf plain "tls opportunistic"
send
ob flush >&2 || fail "opportunistic flush to a plain relay exited $?"
assert_eq "$(count_delivered plain)" 1 "opportunistic, no STARTTLS: in clear"
conf good "tls opportunistic"
send
ob flush >&2 || fail "opportunistic flush to a TLS relay exited $?"
assert_eq "$(count_delivered good)" 2 "opportunistic, STARTTLS offered"
env=$(ls -t "$T"/good/msg.*.env | head -1)
grep -q '^TLS: TLSv1\.[23]' "$env" || fail "opportunistic: not over TLS"
exit 0
