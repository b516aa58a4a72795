#!/bin/sh
# relay_auth: SMTP AUTH (RFC 4954) to a relay over STARTTLS with every
# mechanism, the strongest one chosen; the test server checks the
# credentials, and none of them ever appears in what it received in
# clear.  A wrong password or a server that cannot prove it knows the
# password (SCRAM) defers the mail, never bounces it; credentials are
# never sent before TLS unless allowed; a password file readable by others
# is refused; "authentication required" defers.
. "$TESTLIB"
. "$(dirname "$TESTLIB")/certs.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

C=$T/certs
make_certs "$C"
PASS='s3cret-pa55'
TOKEN='ya29.token-for-the-test'
printf '%s\n' "$PASS" > "$T/pass"
chmod 600 "$T/pass"

srv() {		# srv NAME MECHS [options]
	_n=$1 _m=$2
	shift 2
	start_server "$_n" --tls-cert "$C/good.pem" --tls-key "$C/good.key" \
	    --auth-mechs "$_m" --auth-user me@example.org "$@"
}
conf() {	# conf NAME [LINES]
	eval "_p=\$${1}_PORT"
	shift
	write_conf "relay localhost:$_p" "tls starttls" "tls_ca_file $C/ca.pem" \
	    "auth_user me@example.org" "$@"
}
n=0
send() {
	n=$((n + 1))
	mkmsg "auth$n" 200 | sendmail -f sender@example.org rcpt@example.org ||
	    fail "sendmail exited $?"
}
# clean NAME: no credential in what server NAME received in clear
clean() {
	python3 - "$T/$1" "$PASS" "$TOKEN" <<'PY' || fail "$1: a credential went in clear"
import base64, glob, sys
d, secrets = sys.argv[1], sys.argv[2:]
data = b''.join(open(f, 'rb').read() for f in glob.glob(d + '/transcript-clear.*'))
for s in secrets:
    s = s.encode()
    for form in (s, base64.b64encode(s)):
        assert form not in data, form
    for blob in (b'\0me@example.org\0' + s, b'user=me@example.org\x01auth=Bearer ' + s):
        assert base64.b64encode(blob) not in data
PY
}
# last MECH NAME: the last delivery to NAME authenticated with MECH
last() {
	env=$(ls -t "$T/$2"/msg.*.env | head -1)
	grep -q "^AUTH: $1 me@example.org" "$env" || fail "$2: not AUTH $1: $(grep AUTH "$env")"
}
pending_with() {	# pending_with WHAT TEXT
	assert_eq "$(queue_states | awk '{ print $3 }')" pending "$1: state"
	ob queue --json | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]["recipients"][0]["last_result"] or ""; sys.exit(0 if sys.argv[1] in r else "want %r in %r" % (sys.argv[1], r))' "$2" ||
	    fail "$1: last result"
	for id in $(queue_states | awk '{ print $1 }'); do ob delete "$id" >/dev/null; done
}

# ---- each mechanism ----------------------------------------------------------
for m in PLAIN LOGIN SCRAM-SHA-256; do
	srv "m$n" "$m" --auth-pass "$PASS" --auth-require
	eval "_s=m$n"
	conf "$_s" "auth_password_file $T/pass"
	send
	ob flush >&2 || fail "$m: flush exited $?"
	assert_eq "$(count_delivered "$_s")" 1 "$m: delivered"
	last "$m" "$_s"
	clean "$_s"
done
for m in XOAUTH2 OAUTHBEARER; do
	srv "t$n" "$m" --auth-pass "$TOKEN" --auth-require
	eval "_s=t$n"
	lm=$(echo "$m" | tr 'A-Z' 'a-z')
	conf "$_s" "auth_mech $lm" "auth_password_command printf '%s\\n' '$TOKEN'"
	send
	ob flush >&2 || fail "$m: flush exited $?"
	assert_eq "$(count_delivered "$_s")" 1 "$m: delivered"
	last "$m" "$_s"
	clean "$_s"
done

# ---- the strongest both sides have -----------------------------------------
srv all "LOGIN PLAIN SCRAM-SHA-256" --auth-pass "$PASS"
conf all "auth_password_file $T/pass"
send
ob flush >&2 || fail "flush exited $?"
last SCRAM-SHA-256 all
conf all "auth_password_file $T/pass" "auth_mech login"
send
ob flush >&2 || fail "flush exited $?"
last LOGIN all
clean all

# ---- failures defer, never bounce (and the relay backs off: --all) ------------
printf 'wrong\n' > "$T/wrong"
chmod 600 "$T/wrong"
conf all "auth_password_file $T/wrong"
send
rc=0; ob flush --all 2> "$T/f.err" || rc=$?
assert_eq "$rc" 75 "flush with a wrong password"
grep -q "authentication failed: 535" "$T/f.err" || fail "no clear log line: $(cat "$T/f.err")"
assert_eq "$(dsn_files all | wc -l | tr -d ' ')" 0 "bounces for a wrong password"
pending_with "wrong password" "authentication failed: 535"

srv liar SCRAM-SHA-256 --auth-pass "$PASS" --scram-bad-signature
conf liar "auth_password_file $T/pass"
send
ob flush --all 2>/dev/null
assert_eq "$(count_delivered liar)" 0 "mail to a server that failed SCRAM's proof"
pending_with "bad server signature" "server signature does not verify"

chmod 644 "$T/pass"
conf all "auth_password_file $T/pass"
send
ob flush --all 2> "$T/f.err"
grep -q "chmod 600" "$T/f.err" || fail "a readable password file: $(cat "$T/f.err")"
pending_with "readable password file" "chmod 600"
chmod 600 "$T/pass"

# ---- no credentials in clear ---------------------------------------------------
start_server clear --auth-mechs PLAIN --auth-user me@example.org \
    --auth-pass "$PASS" --auth-clear
write_conf "relay 127.0.0.1:$clear_PORT" "tls off" "auth_user me@example.org" \
    "auth_password_file $T/pass"
send
ob flush --all 2>/dev/null
assert_eq "$(count_delivered clear)" 0 "AUTH in clear without auth_allow_plaintext"
clean clear
pending_with "AUTH in clear" "not sending credentials in clear"
write_conf "relay 127.0.0.1:$clear_PORT" "tls off" "auth_user me@example.org" \
    "auth_password_file $T/pass" "auth_allow_plaintext yes"
send
ob flush --all >&2 || fail "flush with auth_allow_plaintext exited $?"
assert_eq "$(count_delivered clear)" 1 "AUTH in clear when allowed"

# ---- authentication required but not configured: deferred ---------------------
srv req PLAIN --auth-pass "$PASS" --auth-require
write_conf "relay localhost:$req_PORT" "tls starttls" "tls_ca_file $C/ca.pem"
send
ob flush --all 2>/dev/null
assert_eq "$(dsn_files req | wc -l | tr -d ' ')" 0 "bounces for a 530"
pending_with "530" "530"
exit 0
