#!/bin/sh
# outbox_test: `outbox test [--from SENDER] ADDRESS` (issue 8) against real
# servers: a relay with STARTTLS and AUTH PLAIN (the test CA's certificate
# for localhost) gets exactly one message with the envelope, To and
# Subject asked for, and the printed certificate subject, issuer and
# expiry are what openssl says of the certificate; a wrong password exits
# 75 with a hint, delivers nothing and never shows the password; a port
# with nothing listening: 75; a 550 to RCPT: 69; a certificate for another
# name: 75 and what to change; a relay list: the dead first relay shown,
# the second used; the MX route through dnsmasq reaches the MX host; bad
# arguments 64, a bad configuration 78.  Nothing is ever queued.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"
# shellcheck source=tests/integration/certs.sh
. "$(dirname "$TESTLIB")/certs.sh"
# shellcheck source=tests/integration/dnsmasq.sh
. "$(dirname "$TESTLIB")/dnsmasq.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"

C=$T/certs
make_certs "$C"
PASS='s3cret-pa55-0bt'
printf '%s\n' "$PASS" > "$T/pass"
chmod 600 "$T/pass"
printf 'wrong-one\n' > "$T/wrong"
chmod 600 "$T/wrong"
B64=$(printf '\0me@example.org\0%s' "$PASS" | base64 | tr -d '\n')

# obt NAME ARGS...: `outbox test ARGS`; stdout in $T/NAME.out, stderr in
# $T/NAME.err, the status in $rc
obt() {
	_o=$1
	shift
	rc=0
	"$OUTBOX" test "$@" >"$T/$_o.out" 2>"$T/$_o.err" || rc=$?
	cat "$T/$_o.err" >&2
}
# secret_free NAME: neither the password nor its PLAIN blob was shown
secret_free() {
	! grep -qF "$PASS" "$T/$1.out" "$T/$1.err" ||
	    fail "$1: the password was printed"
	! grep -qF "$B64" "$T/$1.out" "$T/$1.err" ||
	    fail "$1: the AUTH PLAIN blob was printed"
}
last_line() {
	tail -n 1 "$T/$1.out"
}
empty_queue() {
	assert_eq "$(queue_count)" 0 "queue after $1"
}
# field NAME KEY: the value printed as "===   KEY: value"
field() {
	sed -n "s/^===   $2: *//p" "$T/$1.out"
}

# ---- STARTTLS + AUTH: delivered, certificate shown as openssl sees it ------
start_server tls --tls-cert "$C/good.pem" --tls-key "$C/good.key" \
    --auth-mechs PLAIN --auth-user me@example.org --auth-pass "$PASS" \
    --auth-require
# shellcheck disable=SC2154 # tls_PORT: set by start_server
conf_tls() {	# conf_tls PASSWORD-FILE [LINES]
	_pf=$1
	shift
	write_conf "relay localhost:$tls_PORT" "tls starttls" \
	    "tls_ca_file $C/ca.pem" "auth_user me@example.org" \
	    "auth_password_file $_pf" "$@"
}
conf_tls "$T/pass"
obt ok --from sender@example.org rcpt@example.net
assert_eq "$rc" 0 "outbox test over STARTTLS and AUTH: exit status"
assert_eq "$(count_delivered tls)" 1 "messages delivered"
env=$(delivered_files tls | sed 's/\.eml$/.env/')
grep -q '^MAIL FROM:<sender@example.org>' "$env" || fail "envelope sender: $(cat "$env")"
assert_eq "$(grep -c '^RCPT TO:' "$env")" 1 "recipients"
grep -q '^RCPT TO:<rcpt@example.net>' "$env" || fail "envelope recipient: $(cat "$env")"
grep -q '^TLS: TLSv1\.[23]' "$env" || fail "not sent over TLS: $(cat "$env")"
grep -q '^AUTH: PLAIN me@example.org' "$env" || fail "not authenticated: $(cat "$env")"
eml=$(delivered_files tls)
grep -q '^Subject: outbox test message from test\.example' "$eml" ||
    fail "subject: $(grep -i '^subject' "$eml")"
grep -q '^To: <rcpt@example.net>' "$eml" || fail "To: $(grep -i '^to:' "$eml")"
grep -q '^From: <sender@example.org>' "$eml" || fail "From: $(grep -i '^from:' "$eml")"
grep -q '^Message-ID: <.*@test\.example>' "$eml" || fail "no Message-ID"
grep -q '^Date: ' "$eml" || fail "no Date"
grep -q 'outbox test' "$eml" || fail "the body does not say where it came from"
# every step shown, in order
python3 - "$T/ok.out" <<'PY' || fail "steps: $(cat "$T/ok.out")"
import sys
lines = open(sys.argv[1]).read().splitlines()
want = ["=== Route: relay localhost:", "=== Connecting to localhost port",
        "<-  220 ", " -> EHLO test.example", " -> STARTTLS", "<-  220 ",
        "=== TLS: TLSv1.", "===   subject: ", "===   expires: ",
        "===   verified: yes", " -> EHLO test.example", " -> AUTH PLAIN ****",
        "<-  235 ", "=== AUTH PLAIN as me@example.org: accepted",
        " -> MAIL FROM:<sender@example.org>", " -> RCPT TO:<rcpt@example.net>",
        " -> DATA", "<-  354 ", " -> .", "<-  250 ", "=== Delivered: 250 "]
i = 0
for l in lines:
    if i < len(want) and l.startswith(want[i]):
        i += 1
assert i == len(want), "missing %r" % want[i]
PY
# the certificate as openssl sees it
want=$(openssl x509 -in "$C/good.pem" -noout -subject -nameopt RFC2253 |
    sed 's/^subject= *//')
assert_eq "$(field ok subject)" "$want" "certificate subject"
want=$(openssl x509 -in "$C/good.pem" -noout -issuer -nameopt RFC2253 |
    sed 's/^issuer= *//')
assert_eq "$(field ok issuer)" "$want" "certificate issuer"
end=$(openssl x509 -in "$C/good.pem" -noout -enddate | sed 's/^notAfter=//')
want=$(date -u -d "$end" '+%Y-%m-%d %H:%M:%S UTC')
assert_eq "$(field ok expires | sed 's/ (.*//')" "$want" "certificate expiry"
# (the run was a moment ago: a day may have ended since)
days=$(( ($(date -u -d "$end" +%s) - $(date -u +%s)) / 86400 ))
got=$(field ok expires | sed 's/.*(in \([0-9]*\) days)/\1/')
[ "$got" = "$days" ] || [ "$got" = "$((days + 1))" ] ||
    fail "days left: expected $days, got '$got'"
assert_eq "$(field ok verified)" "yes (chain, and name localhost)" "verified"
secret_free ok
empty_queue "a delivered test"

# ---- the default sender is the user at helo_name, as sendmail uses -------
obt dflt rcpt@example.net
assert_eq "$rc" 0 "outbox test without --from"
assert_eq "$(count_delivered tls)" 2 "messages delivered"
grep -q "^MAIL FROM:<$(id -un)@test.example>" \
    "$(delivered_files tls | tail -n 1 | sed 's/\.eml$/.env/')" ||
    fail "default sender: $(grep MAIL "$T/dflt.out")"

# ---- a wrong password: 75, nothing delivered, the password never shown -----
conf_tls "$T/wrong"
obt wrongpw --from sender@example.org rcpt@example.net
assert_eq "$rc" 75 "wrong password: exit status"
assert_eq "$(count_delivered tls)" 2 "delivered with a wrong password"
last_line wrongpw | grep -q '^=== Failed: AUTH failed: 535 5\.7\.8 .*: check auth_user and auth_password_file$' ||
    fail "wrong password: last line: $(last_line wrongpw)"
! grep -qF 'wrong-one' "$T/wrongpw.out" "$T/wrongpw.err" ||
    fail "the wrong password was printed"
grep -q '^ -> AUTH PLAIN \*\*\*\*$' "$T/wrongpw.out" || fail "AUTH line not masked"
secret_free wrongpw
empty_queue "a wrong password"

# ---- a certificate for another name: 75 and what to change ----------------
start_server other --tls-cert "$C/wrong-host.pem" --tls-key "$C/wrong-host.key"
# shellcheck disable=SC2154 # other_PORT: set by start_server
write_conf "relay localhost:$other_PORT" "tls starttls" "tls_ca_file $C/ca.pem"
obt badname rcpt@example.net
assert_eq "$rc" 75 "wrong certificate name: exit status"
assert_eq "$(count_delivered other)" 0 "delivered despite the certificate"
assert_eq "$(last_line badname)" "=== Failed: certificate not valid for localhost: set relay to the name on the certificate, or tls_verify no" \
    "wrong name: last line"
grep -q '^=== Error: .*certificate is for other.example, not localhost' "$T/badname.out" ||
    fail "wrong name: last line: $(last_line badname)"
assert_eq "$(field badname names)" "other.example" "names shown on failure"
empty_queue "a wrong certificate"

# ---- nothing listening: 75 -------------------------------------------------
start_server gone
# shellcheck disable=SC2154 # gone_PORT: set by start_server
DEAD=$gone_PORT
stop_server gone
write_conf "relay 127.0.0.1:$DEAD"
obt dead rcpt@example.net
assert_eq "$rc" 75 "nothing listening: exit status"
last_line dead | grep -q "^=== Failed: .*127.0.0.1.*: check the relay's host and port" ||
    fail "nothing listening: last line: $(last_line dead)"
empty_queue "a dead relay"

# ---- a peer that accepts and never greets: 75 within the timeout ------------
cat > "$T/mute.py" <<'PY'
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
s.settimeout(60)		# never outlive the test by much
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
time.sleep(60)			# say nothing
PY
python3 "$T/mute.py" "$T/mute.port" </dev/null >/dev/null 2>&1 &
MUTE=$!
wait_for test -s "$T/mute.port" || fail "the mute server did not start"
write_conf "relay 127.0.0.1:$(cat "$T/mute.port")" "greeting_timeout 1s"
t0=$(date +%s)
obt mute rcpt@example.net
kill "$MUTE" 2>/dev/null
assert_eq "$rc" 75 "a mute server: exit status"
[ $(( $(date +%s) - t0 )) -le 10 ] || fail "a mute server held outbox test too long"
last_line mute | grep -q '^=== Failed: .*timeout after 1s.*: the server did not answer in time' ||
    fail "a mute server: last line: $(last_line mute)"
empty_queue "a mute server"

# ---- a relay list: the dead first one shown, the second one used ------------
start_server plain
# shellcheck disable=SC2154 # plain_PORT: set by start_server
write_conf "relay 127.0.0.1:$DEAD" "relay 127.0.0.1:$plain_PORT"
obt list rcpt@example.net
assert_eq "$rc" 0 "relay list: exit status"
grep -q "^=== Relay 1 of 2: 127.0.0.1:$DEAD" "$T/list.out" || fail "relay 1 not shown"
grep -q "^=== Relay 2 of 2: 127.0.0.1:$plain_PORT" "$T/list.out" || fail "relay 2 not shown"
grep -q '^=== Error: ' "$T/list.out" || fail "relay 1's failure not shown"
assert_eq "$(count_delivered plain)" 1 "delivered through relay 2"
empty_queue "a relay list"

# ---- 550 to RCPT: 69 ------------------------------------------------------------
start_server rej --rcpt-reply 'nobody@example.net=550 5.1.1 no such user'
# shellcheck disable=SC2154 # rej_PORT: set by start_server
write_conf "relay 127.0.0.1:$rej_PORT"
obt rcpt550 nobody@example.net
assert_eq "$rc" 69 "550 to RCPT: exit status"
assert_eq "$(count_delivered rej)" 0 "delivered despite the 550"
last_line rcpt550 | grep -q '^=== Failed: the server refused the recipient: 550 5.1.1 no such user: check the address' ||
    fail "550: last line: $(last_line rcpt550)"
empty_queue "a 550"

# ---- bad arguments 64, bad configuration 78 -------------------------------------
obt noarg
assert_eq "$rc" 64 "no address"
obt local root
assert_eq "$rc" 64 "an address without a domain"
obt junk 'a b c@'
assert_eq "$rc" 64 "a malformed address"
obt two a@example.net b@example.net
assert_eq "$rc" 64 "two addresses"
obt opt --bogus a@example.net
assert_eq "$rc" 64 "an unknown option"
write_conf "relay 127.0.0.1:$plain_PORT" "no_such_key 1"
obt badconf rcpt@example.net
assert_eq "$rc" 78 "a bad configuration"
chmod 644 "$T/pass"
conf_tls "$T/pass"
obt readable rcpt@example.net
assert_eq "$rc" 78 "a password file readable by others"
grep -q 'chmod 600' "$T/readable.out" || fail "readable password file: $(last_line readable)"
chmod 600 "$T/pass"
assert_eq "$(count_delivered plain)" 1 "deliveries after the errors"
empty_queue "errors"

# ---- the MX route, through dnsmasq ----------------------------------------------
if [ -z "$DNSMASQ" ]; then
	echo "dnsmasq is not installed: MX route not tested" >&2
	exit 0
fi
start_dnsmasq dns --mx-host=mx.test,mx1.mx.test,10 \
    --mx-host=mx.test,mx2.mx.test,20 --host-record=mx1.mx.test,127.0.0.2 \
    --host-record=mx2.mx.test,127.0.0.3
start_server mx1 --addr 127.0.0.2
# shellcheck disable=SC2154 # mx1_PORT: set by start_server
P=$mx1_PORT
start_server mx2 --addr 127.0.0.3 --port "$P"
# shellcheck disable=SC2154 # dns_PORT: set by start_dnsmasq
write_conf "dns_server 127.0.0.1:$dns_PORT" "mx_port $P" "tls auto"
obt mx --from sender@example.org user@mx.test
assert_eq "$rc" 0 "MX route: exit status"
grep -q '^=== Route: MX hosts' "$T/mx.out" || fail "MX route not named"
grep -q '^=== DNS: MX mx.test: 10 mx1.mx.test, 20 mx2.mx.test$' "$T/mx.out" ||
    fail "MX records: $(grep DNS "$T/mx.out")"
grep -q '^=== DNS: mx1.mx.test A 127.0.0.2$' "$T/mx.out" ||
    fail "address: $(grep DNS "$T/mx.out")"
assert_eq "$(count_delivered mx1)" 1 "delivered to the first MX"
assert_eq "$(count_delivered mx2)" 0 "delivered to the second MX"
grep -q '^RCPT TO:<user@mx.test>' "$(delivered_files mx1 | sed 's/\.eml$/.env/')" ||
    fail "MX envelope"
obt nxdomain user@nosuch.test
assert_eq "$rc" 69 "MX route, NXDOMAIN: exit status"
empty_queue "the MX route"
exit 0
