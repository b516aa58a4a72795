#!/bin/sh
# tls_basic.sh - src/tls.c against tests/fakesmtpd's GnuTLS server, driven
# by tests/tlsprobe: every certificate case gives its own error text, the
# good ones work over STARTTLS (RFC 3207) and implicit TLS (RFC 8314),
# a pin, a client certificate, TLS 1.3 minimum, a handshake timeout, and
# the server side the other tests rely on (transcript-clear, "TLS:" in the
# envelope record, EHLO forgotten after STARTTLS, downgrade replies).
. "$TESTLIB"
. "$(dirname "$TESTLIB")/certs.sh"

TLSPROBE=${TLSPROBE:-$(dirname "$FAKESMTPD")/tlsprobe}
[ -x "$TLSPROBE" ] || fail "no tlsprobe at $TLSPROBE"
C=$T/certs
make_certs "$C"

# probe ARGS...: run tlsprobe; its stdout in $out, exit status in $prc
probe()
{
	prc=0
	out=$("$TLSPROBE" --timeout 5000 "$@" 2>"$T/probe.err") || prc=$?
	cat "$T/probe.err" >&2
}

# expect_error WHAT TEXT ARGS...: the handshake fails with exactly TEXT
expect_error()
{
	_ee_what=$1
	_ee_text=$2
	shift 2
	probe "$@"
	assert_eq "$out" "error: $_ee_text" "$_ee_what"
	assert_eq "$prc" 2 "$_ee_what: exit status"
}

# expect_ok WHAT ARGS...: the handshake works; the tls: line is in $out
expect_ok()
{
	_eo_what=$1
	shift
	probe "$@"
	assert_eq "$prc" 0 "$_eo_what: exit status (output: $out)"
	case $out in
	"tls: TLSv1."[23]" "*", subject CN=localhost, expires "*) ;;
	*) fail "$_eo_what: unexpected output '$out'" ;;
	esac
}

srv_for()	# srv_for NAME CERT [fakesmtpd options]
{
	_sf_n=$1
	_sf_c=$2
	shift 2
	start_server "$_sf_n" --tls-cert "$C/$_sf_c.pem" \
	    --tls-key "$C/$_sf_c.key" "$@"
}

# --- the good certificate over STARTTLS, by name and by address ---------
srv_for good good
expect_ok "good cert" --ca "$C/ca.pem" --mail localhost "$good_PORT"
case $out in
*"
sent: 250 "*) ;;
*) fail "message over TLS not accepted: $out" ;;
esac
env=$(find "$T/good" -name 'msg.*.env')
grep -qx 'TLS: TLSv1.3' "$env" || fail "envelope record: $(cat "$env")"
clear=$(find "$T/good" -name 'transcript-clear.*')
assert_eq "$(cat "$clear")" "EHLO probe.test
STARTTLS" "commands received in clear"
grep -q '^MAIL' "$(echo "$clear" | sed 's/-clear//')" ||
    fail "the full transcript lacks MAIL"
expect_ok "good cert, IP literal (IP SAN, no SNI)" --ca "$C/ca.pem" \
    127.0.0.1 "$good_PORT"

# --- each verification failure names its cause ---------------------------
srv_for expired expired
expect_error "expired" "certificate has expired" \
    --ca "$C/ca.pem" localhost "$expired_PORT"
expect_ok "expired, verification off" --ca "$C/ca.pem" --no-verify \
    localhost "$expired_PORT"
case $out in *", unverified") ;; *) fail "not marked unverified: $out" ;; esac
srv_for future future
expect_error "not yet valid" "certificate is not yet valid" \
    --ca "$C/ca.pem" localhost "$future_PORT"
srv_for wrong wrong-host
expect_error "wrong host" "certificate is for other.example, not localhost" \
    --ca "$C/ca.pem" localhost "$wrong_PORT"
expect_error "wrong name asked" \
    "certificate is for localhost, 127.0.0.1, not other.example" \
    --ca "$C/ca.pem" --name other.example 127.0.0.1 "$good_PORT"
srv_for self self-signed
expect_error "self-signed" "self-signed certificate" \
    --ca "$C/ca.pem" localhost "$self_PORT"
srv_for unknown unknown-ca
expect_error "unknown CA" "unknown issuer" \
    --ca "$C/ca.pem" localhost "$unknown_PORT"
expect_ok "unknown CA, its CA given" --ca "$C/other-ca.pem" \
    localhost "$unknown_PORT"

# --- fingerprint pinning --------------------------------------------------
fp=$(cert_sha256 "$C/good.pem")
[ ${#fp} -eq 64 ] || fail "cert_sha256 gave '$fp'"
FP=$(printf '%s' "$fp" | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//')
expect_ok "pin, lower-case hex" --ca "$C/ca.pem" --fingerprint "$fp" \
    localhost "$good_PORT"
expect_ok "pin, colons" --ca "$C/ca.pem" --fingerprint "$FP" \
    localhost "$good_PORT"
expect_error "pin mismatch" "fingerprint mismatch (got $FP)" \
    --ca "$C/ca.pem" --fingerprint "$(cert_sha256 "$C/expired.pem")" \
    localhost "$good_PORT"
sfp=$(cert_sha256 "$C/self-signed.pem")
expect_ok "pinned self-signed, chain not checked" --no-verify \
    --fingerprint "$sfp" localhost "$self_PORT"
case $out in *", unverified") fail "a pin is a verification: $out" ;; esac
expect_error "pinned self-signed, chain checked too" \
    "self-signed certificate" --ca "$C/ca.pem" --fingerprint "$sfp" \
    localhost "$self_PORT"
expect_error "pin mismatch without chain check" \
    "fingerprint mismatch (got $FP)" --no-verify \
    --fingerprint "$sfp" localhost "$good_PORT"

# --- configuration errors (tls_client_new) ---------------------------------
probe --ca "$T/missing.pem" localhost "$good_PORT"
assert_eq "$out" "config: tls_ca_file $T/missing.pem: No such file or directory" \
    "missing CA file"
probe --ca "$C/ca.pem" --fingerprint "12:34" localhost "$good_PORT"
case $out in "config: tls_fingerprint: "*) ;; *) fail "short pin: $out" ;; esac
probe --ca "$C/ca.pem" --fingerprint "${fp}00" localhost "$good_PORT"
case $out in "config: tls_fingerprint: "*) ;; *) fail "long pin: $out" ;; esac
probe --ca "$C/good.key" localhost "$good_PORT"
case $out in "config: tls_ca_file $C/good.key: "*) ;;
*) fail "a key as CA file: $out" ;; esac
probe --ca "$C/ca.pem" --min 11 localhost "$good_PORT"
case $out in "config: tls_min_version 11: "*) ;; *) fail "min 11: $out" ;; esac

# --- implicit TLS (RFC 8314) -----------------------------------------------
srv_for imp good --implicit-tls
expect_ok "implicit TLS" --ca "$C/ca.pem" --implicit --mail \
    localhost "$imp_PORT"
clear=$(find "$T/imp" -name 'transcript-clear.*')
[ -f "$clear" ] || fail "implicit TLS: no transcript-clear file"
[ -s "$clear" ] && fail "implicit TLS: lines in clear: $(cat "$clear")"
grep -qx 'TLS: TLSv1.3' "$T"/imp/msg.*.env || fail "implicit: not TLS"
srv_for impexp expired --implicit-tls
expect_error "implicit TLS, expired" "certificate has expired" \
    --ca "$C/ca.pem" --implicit localhost "$impexp_PORT"

# --- versions ----------------------------------------------------------------
srv_for old good --tls-priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2'
expect_ok "TLS 1.2 server" --ca "$C/ca.pem" localhost "$old_PORT"
case $out in "tls: TLSv1.2 "*) ;; *) fail "not TLS 1.2: $out" ;; esac
probe --ca "$C/ca.pem" --min 13 localhost "$old_PORT"
assert_eq "$prc" 2 "min 1.3 against a 1.2 server"
case $out in "error: TLS handshake with localhost failed: "*) ;;
*) fail "min 1.3 against 1.2: $out" ;; esac
expect_ok "min 1.3" --ca "$C/ca.pem" --min 13 localhost "$good_PORT"

# --- client certificate --------------------------------------------------------
srv_for cli good --tls-client-ca "$C/ca.pem"
expect_ok "client certificate" --ca "$C/ca.pem" --cert "$C/client.pem" \
    --key "$C/client.key" --mail localhost "$cli_PORT"
grep -qx 'TLS-Client: CN=outbox test client' "$T"/cli/msg.*.env ||
    fail "client cert not seen: $(cat "$T"/cli/msg.*.env)"
# TLS 1.3 (RFC 8446 4.4.2.4): the server refuses after the client's
# Finished, so the client's handshake passes and its first I/O fails.
probe --ca "$C/ca.pem" localhost "$cli_PORT"
case $prc:$out in
2:"error: TLS handshake with localhost failed: "*) ;;
3:*"
tls-error: "?*) ;;
*) fail "no client certificate: $prc $out" ;;
esac
grep -qx '!TLS handshake failed: Certificate is required.' \
    "$T"/cli/transcript.* || fail "server did not refuse the session"
assert_eq "$(cat "$T"/cli/transcript.* | grep -c '^MAIL')" 1 \
    "MAIL commands accepted with and without a client certificate"

# --- downgrades and broken servers: never clear text ----------------------------
start_server no454 --starttls-reply '454 4.7.0 TLS not available'
probe --ca "$C/ca.pem" localhost "$no454_PORT"
assert_eq "$out" "protocol: STARTTLS: 454 4.7.0 TLS not available" "454"
srv_for nostls good --no-starttls
probe --ca "$C/ca.pem" localhost "$nostls_PORT"
assert_eq "$out" "protocol: STARTTLS not offered" "no STARTTLS"
start_server broken --starttls-break
probe --ca "$C/ca.pem" localhost "$broken_PORT"
assert_eq "$prc" 2 "broken handshake: exit status ($out)"
# the junk may arrive with the 220 (refused before the handshake) or
# after it (the handshake fails): both end the session, neither in clear
case $out in "error: TLS handshake with localhost failed: "*) ;;
"error: localhost sent data in clear after its STARTTLS reply: refusing TLS") ;;
*) fail "broken handshake: $out" ;; esac

# --- RFC 3207 4.2 in the test server: EHLO again or 503 ---------------------
probe --ca "$C/ca.pem" --skip-ehlo localhost "$good_PORT"
case $out in *"protocol: MAIL FROM:<probe@test.example>: 503 "*) ;;
*) fail "MAIL without EHLO after STARTTLS: $out" ;; esac
grep -qx '!VIOLATION no EHLO after STARTTLS' "$T"/good/transcript.* ||
    fail "violation not recorded"

# --- a server that never answers the ClientHello: the timeout holds --------------
python3 - "$T/mute.port" <<'PY' &
import os, socket, sys, time
s = socket.socket()
s.settimeout(20)	# never outlive a failed test by much
s.bind(('127.0.0.1', 0))
s.listen(4)
open(sys.argv[1] + '.tmp', 'w').write('%d\n' % s.getsockname()[1])
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
c, _ = s.accept()
time.sleep(10)
PY
mute_pid=$!
wait_for test -s "$T/mute.port" || fail "mute server did not start"
start=$(date +%s)
out=$("$TLSPROBE" --timeout 700 --ca "$C/ca.pem" --implicit localhost \
    "$(cat "$T/mute.port")") && fail "mute server: $out"
kill "$mute_pid" 2>/dev/null; wait "$mute_pid" 2>/dev/null
assert_eq "$out" "error: timeout during TLS handshake with localhost" \
    "handshake timeout"
[ $(( $(date +%s) - start )) -le 3 ] || fail "timeout took too long"
exit 0
