#!/bin/sh
# mx_delivery: direct delivery to the recipient domains' MX hosts (no relay
# line), against dnsmasq on a loopback port and fakesmtpd servers that all
# listen on the same port (mx_port) on different loopback addresses:
# preference order; the next MX after a refused connection and after a 421
# greeting; the implicit MX; null MX (5.1.10) and NXDOMAIN (5.1.2) bounced
# at once, by MX too, to the sender's domain; SERVFAIL deferred, never
# bounced; one transaction per domain for a message to several domains;
# opportunistic TLS (STARTTLS offered, not offered, a broken handshake
# retried in clear); a tls_policy file (verify with a certificate for
# another name: deferred, nothing in clear; verify with the right name;
# none; encrypt to a host without STARTTLS); IPv6 (::1) when the machine
# has it, and ip_version 4 for an IPv6-only domain.
#
#   domain        MX (pref) -> address       server
#   a.test        10 -> 127.0.0.2            a1
#                 20 -> 127.0.0.3            a2
#   b.test        10 -> 127.0.0.9            (nothing listens)
#                 20 -> 127.0.0.4            b2
#   c.test        10 -> 127.0.0.5            busy (421 greeting)
#                 20 -> 127.0.0.6            c2
#   impl.test     (no MX) A 127.0.0.7        impl
#   snd.test      10 -> 127.0.0.8            snd (the sender: DSNs land here)
#   tls.test      10 -> 127.0.0.10           tls (STARTTLS, self-signed)
#   notls.test    10 -> 127.0.0.11           notls (cert, --no-starttls)
#   brk.test      10 -> 127.0.0.12           brk (--starttls-break)
#   vfy.test      10 -> 127.0.0.13           vbad (CA-signed, other name)
#   vfy2.test     10 -> 127.0.0.14           vgood (CA-signed, mx.vfy2.test)
#   none.test     10 -> mx.tls.test          tls   (policy none)
#   enc.test      10 -> mx.notls.test        notls (policy encrypt)
#   v6.test       (no MX) AAAA ::1           v6
#   null.test     null MX "0 ."; nosuch.test NXDOMAIN; x.sf.test SERVFAIL
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"
# shellcheck source=tests/integration/dnsmasq.sh
. "$(dirname "$TESTLIB")/dnsmasq.sh"
# shellcheck source=tests/integration/certs.sh
. "$(dirname "$TESTLIB")/certs.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_dnsmasq dns \
    --mx-host=a.test,mx1.a.test,10 --mx-host=a.test,mx2.a.test,20 \
    --host-record=mx1.a.test,127.0.0.2 --host-record=mx2.a.test,127.0.0.3 \
    --mx-host=b.test,mx1.b.test,10 --mx-host=b.test,mx2.b.test,20 \
    --host-record=mx1.b.test,127.0.0.9 --host-record=mx2.b.test,127.0.0.4 \
    --mx-host=c.test,mx1.c.test,10 --mx-host=c.test,mx2.c.test,20 \
    --host-record=mx1.c.test,127.0.0.5 --host-record=mx2.c.test,127.0.0.6 \
    --host-record=impl.test,127.0.0.7 \
    --mx-host=snd.test,mx.snd.test,10 --host-record=mx.snd.test,127.0.0.8 \
    --dns-rr=null.test,15,000000 \
    --mx-host=tls.test,mx.tls.test,10 --host-record=mx.tls.test,127.0.0.10 \
    --mx-host=notls.test,mx.notls.test,10 \
    --host-record=mx.notls.test,127.0.0.11 \
    --mx-host=brk.test,mx.brk.test,10 --host-record=mx.brk.test,127.0.0.12 \
    --mx-host=vfy.test,mx.vfy.test,10 --host-record=mx.vfy.test,127.0.0.13 \
    --mx-host=vfy2.test,mx.vfy2.test,10 \
    --host-record=mx.vfy2.test,127.0.0.14 \
    --mx-host=none.test,mx.tls.test,10 --mx-host=enc.test,mx.notls.test,10 \
    --host-record=v6.test,::1

C=$T/certs
make_certs "$C"
# a certificate for the MX host name of vfy2.test, from the test CA
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --no-text \
    --outfile "$C/mxvfy2.key" 2>/dev/null || fail "certtool: key mxvfy2"
printf '%s\n' 'cn = "mx.vfy2.test"' 'dns_name = "mx.vfy2.test"' \
    'tls_www_server' 'signing_key' 'encryption_key' \
    'expiration_days = 3650' 'serial = 30' > "$C/mxvfy2.tmpl"
certtool --generate-certificate --no-text --load-privkey "$C/mxvfy2.key" \
    --load-ca-certificate "$C/ca.pem" --load-ca-privkey "$C/ca.key" \
    --template "$C/mxvfy2.tmpl" --outfile "$C/mxvfy2.pem" 2>"$T/certtool.err" ||
    fail "certtool: mxvfy2: $(cat "$T/certtool.err")"

# the servers: the first picks the port, the others share it
start_server a1 --addr 127.0.0.2
# shellcheck disable=SC2154 # a1_PORT: set by start_server
P=$a1_PORT
mx() {		# mx NAME ADDR [fakesmtpd options]
	_n=$1 _a=$2
	shift 2
	start_server "$_n" --addr "$_a" --port "$P" "$@"
}
mx a2 127.0.0.3
mx b2 127.0.0.4
mx busy 127.0.0.5 --greeting "421 4.3.2 busy, try another"
mx c2 127.0.0.6
mx impl 127.0.0.7
mx snd 127.0.0.8
mx tls 127.0.0.10 --tls-cert "$C/self-signed.pem" --tls-key "$C/self-signed.key"
mx notls 127.0.0.11 --tls-cert "$C/good.pem" --tls-key "$C/good.key" \
    --no-starttls
mx brk 127.0.0.12 --tls-cert "$C/good.pem" --tls-key "$C/good.key" \
    --starttls-break
mx vbad 127.0.0.13 --tls-cert "$C/wrong-host.pem" --tls-key "$C/wrong-host.key"
mx vgood 127.0.0.14 --tls-cert "$C/mxvfy2.pem" --tls-key "$C/mxvfy2.key"
if [ "$DNSMASQ_V6" = 1 ]; then
	mx v6 ::1
fi
ALL="a1 a2 b2 busy c2 impl snd tls notls brk vbad vgood"

# shellcheck disable=SC2154 # dns_PORT: set by start_dnsmasq
conf() {	# conf [LINES]: MX delivery through our dnsmasq and port
	write_conf "dns_server 127.0.0.1:$dns_PORT" "mx_port $P" "$@"
}
conf

n=0
send() {	# send RCPT...: one message from sender@snd.test; id in $msgid
	n=$((n + 1))
	msgid="mx$n"
	mkmsg "$msgid" 300 "$1" | sendmail -f sender@snd.test "$@" ||
	    fail "sendmail $* exited $?"
}
# flush: `outbox flush`, its status in $frc; then, while a bounce (null
# sender) waits in the queue, flush again (at most twice more)
flush() {
	frc=0
	ob flush 2>>"$T/flush.log" || frc=$?
	_f=0
	while [ "$_f" -lt 2 ] && [ "$(queue_json | python3 -c '
import json, sys
print(sum(1 for m in json.load(sys.stdin) if m["sender"] == "" and
    any(r["state"] == "pending" for r in m["recipients"])))')" != 0 ]; do
		echo "flush: a bounce is still queued, flushing again" >&2
		ob flush 2>>"$T/flush.log" || :
		_f=$((_f + 1))
	done
}
# total [EXCEPT]: messages received by all servers (but EXCEPT)
total() {
	_t=0
	for _s in $ALL; do
		[ "$_s" = "${1:-}" ] || _t=$((_t + $(count_delivered "$_s")))
	done
	echo "$_t"
}
snap() {	# snap NAME: remember what NAME has received so far
	delivered_files "$1" > "$T/snap.$1"
}
new_files() {	# new_files NAME: received since its snap
	delivered_files "$1" | comm -13 "$T/snap.$1" -
}
# rcpts ENV: the RCPT addresses of a record, sorted, space-separated
rcpts() {
	sed -n 's/^RCPT TO:<\([^>]*\)>.*/\1/p' "$1" | sort | tr '\n' ' '
}
# pending RCPT TEXT...: RCPT is queued, pending, its last result holding
# every TEXT; the message is then deleted
pending() {
	ob queue --json > "$T/q.json" || fail "queue --json"
	_id=$(python3 - "$T/q.json" "$@" <<'PY'
import json, sys
q = json.load(open(sys.argv[1]))
rcpt, texts = sys.argv[2], sys.argv[3:]
for m in q:
    for r in m['recipients']:
        if r['address'] == rcpt:
            assert r['state'] == 'pending', r
            lr = r['last_result'] or ''
            for t in texts:
                assert t in lr, 'want %r in %r' % (t, lr)
            print(m['id'])
            sys.exit(0)
sys.exit('%s is not in the queue: %r' % (rcpt, q))
PY
) || fail "$1: not pending as expected"
	ob delete "$_id" >/dev/null || fail "delete $_id"
}
# one_dsn RCPT STATUS: exactly one new DSN at snd, for RCPT alone, failed
# with STATUS
one_dsn() {
	_d=$(new_files snd)
	assert_eq "$(printf '%s' "$_d" | grep -c .)" 1 "new DSNs for $1"
	grep -q '^MAIL FROM:<>' "${_d%.eml}.env" || fail "$_d: not a DSN"
	assert_eq "$(rcpts "${_d%.eml}.env")" "sender@snd.test " \
	    "DSN recipients for $1"
	dsn_check "$_d" failed "$1" "$2"
	python3 - "$_d" <<'PY' || fail "the DSN for $1 reports other recipients"
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'),
    policy=email.policy.compat32)
blocks = m.get_payload()[1].get_payload()[1:]
assert len(blocks) == 1, [b.items() for b in blocks]
PY
}

# ---- 1. preference order -----------------------------------------------------
for i in 1 2 3 4 5; do
	send "r$i@a.test"
done
flush
assert_eq "$frc" 0 "flush to a.test"
assert_eq "$(count_delivered a1)" 5 "messages at a.test's MX 10"
assert_eq "$(count_delivered a2)" 0 "messages at a.test's MX 20"
assert_eq "$(find "$T/a2" -name 'transcript.*' | wc -l | tr -d ' ')" 0 \
    "connections to a.test's MX 20"
assert_eq "$(queue_count)" 0 "queue after a.test"
assert_eq "$(for f in $(delivered_files a1); do rcpts "${f%.eml}.env"; done |
    sort | tr -d '\n')" "r1@a.test r2@a.test r3@a.test r4@a.test r5@a.test " \
    "a.test recipients"

# ---- 2. refused at MX 10: MX 20 ----------------------------------------------
send r@b.test
flush
assert_eq "$(count_delivered b2)" 1 "b.test: delivered to MX 20 after a refusal"
assert_eq "$(queue_count)" 0 "queue after b.test"

# ---- 3. 421 greeting at MX 10: MX 20 -----------------------------------------
send r@c.test
flush
assert_eq "$(count_delivered c2)" 1 "c.test: delivered to MX 20 after a 421"
assert_eq "$(count_delivered busy)" 0 "c.test: the 421 server took a message"
[ "$(find "$T/busy" -name 'transcript.*' | wc -l)" -ge 1 ] ||
    fail "c.test: MX 10 (421) was never tried"
assert_eq "$(queue_count)" 0 "queue after c.test"

# ---- 4. implicit MX ----------------------------------------------------------
send r@impl.test
flush
assert_eq "$(count_delivered impl)" 1 "impl.test: delivered to its A record"
assert_eq "$(rcpts "$(delivered_files impl | sed 's/\.eml$/.env/')")" \
    "r@impl.test " "impl.test envelope"
assert_eq "$(queue_count)" 0 "queue after impl.test"

# ---- 5. null MX: bounced at once with 5.1.10 ---------------------------------
snap snd
before=$(total snd)
send r@null.test
flush
assert_eq "$(total snd)" "$before" "null.test: something was sent"
one_dsn r@null.test 5.1.10
assert_eq "$(queue_count)" 0 "queue after null.test"

# ---- 6. NXDOMAIN: bounced at once with 5.1.2 ---------------------------------
snap snd
send r@nosuch.test
flush
assert_eq "$(total snd)" "$before" "nosuch.test: something was sent"
one_dsn r@nosuch.test 5.1.2
assert_eq "$(queue_count)" 0 "queue after nosuch.test"

# ---- 7. SERVFAIL: deferred, never bounced ------------------------------------
snap snd
send r@x.sf.test
flush
# (the status of flush is not asserted: 75 is for "no relay could be
# reached", and a domain's DNS failure is not that)
echo "flush with a SERVFAIL domain exited $frc" >&2
assert_eq "$(count_delivered snd)" "$(wc -l < "$T/snap.snd" | tr -d ' ')" \
    "x.sf.test: a DSN was sent"
assert_eq "$(total snd)" "$before" "x.sf.test: something was sent"
pending r@x.sf.test MX x.sf.test
assert_eq "$(queue_count)" 0 "queue after x.sf.test"

# ---- 8. one message, three domains: one transaction each, one DSN ------------
snap a1
snap b2
snap snd
send u1@a.test u2@a.test u3@a.test v@b.test w@null.test
flush
new=$(new_files a1)
assert_eq "$(printf '%s' "$new" | grep -c .)" 1 "a.test transactions"
assert_eq "$(rcpts "${new%.eml}.env")" "u1@a.test u2@a.test u3@a.test " \
    "a.test recipients in one transaction"
new=$(new_files b2)
assert_eq "$(printf '%s' "$new" | grep -c .)" 1 "b.test transactions"
assert_eq "$(rcpts "${new%.eml}.env")" "v@b.test " "b.test recipients"
one_dsn w@null.test 5.1.10
assert_eq "$(count_delivered a2)" 0 "messages at a.test's MX 20"
assert_eq "$(queue_count)" 0 "queue after the three-domain message"

# ---- 9. opportunistic TLS ----------------------------------------------------
conf "tls auto"
send r@tls.test
send r@notls.test
send r@brk.test
flush
assert_eq "$(count_delivered tls)" 1 "tls.test (STARTTLS, self-signed)"
env=$(delivered_files tls | sed 's/\.eml$/.env/')
grep -q '^TLS: TLSv1\.[23]' "$env" ||
    fail "tls.test: not delivered over TLS: $(cat "$env")"
assert_eq "$(count_delivered notls)" 1 "notls.test (no STARTTLS)"
env=$(delivered_files notls | sed 's/\.eml$/.env/')
grep -q '^TLS: none' "$env" || fail "notls.test: $(cat "$env")"
assert_eq "$(count_delivered brk)" 1 "brk.test (broken handshake)"
env=$(delivered_files brk | sed 's/\.eml$/.env/')
grep -q '^TLS: none' "$env" || fail "brk.test: $(cat "$env")"
grep -q '^!TLS broken on purpose' "$T"/brk/transcript.* ||
    fail "brk.test: STARTTLS was never tried"
assert_eq "$(find "$T/brk" -name 'transcript.*' | wc -l | tr -d ' ')" 2 \
    "brk.test: connections (the broken one, then one in clear)"
assert_eq "$(queue_count)" 0 "queue after the opportunistic TLS cases"

# ---- 10. tls_policy ----------------------------------------------------------
printf '%s\n' '# per-domain TLS' 'vfy.test verify' 'vfy2.test   verify  # CA' \
    'none.test none' 'enc.test encrypt' > "$T/tls_policy"
conf "tls auto" "tls_policy $T/tls_policy" "tls_ca_file $C/ca.pem"
send r@vfy.test
flush
echo "flush with vfy.test's bad certificate exited $frc" >&2
assert_eq "$(count_delivered vbad)" 0 "vfy.test: delivered despite the name"
grep -q '^STARTTLS' "$T"/vbad/transcript-clear.* 2>/dev/null ||
    fail "vfy.test: STARTTLS was never tried"
grep -q '^MAIL' "$T"/vbad/transcript-clear.* 2>/dev/null &&
    fail "vfy.test: MAIL sent in clear"
pending r@vfy.test vfy.test certificate
send r@vfy2.test
flush
assert_eq "$(count_delivered vgood)" 1 "vfy2.test: verified certificate"
env=$(delivered_files vgood | sed 's/\.eml$/.env/')
grep -q '^TLS: TLSv1\.[23]' "$env" || fail "vfy2.test: $(cat "$env")"
snap tls
send r@none.test
flush
new=$(new_files tls)
assert_eq "$(printf '%s' "$new" | grep -c .)" 1 "none.test: delivered"
grep -q '^TLS: none' "${new%.eml}.env" ||
    fail "none.test (policy none): $(cat "${new%.eml}.env")"
before=$(count_delivered notls)
send r@enc.test
flush
assert_eq "$(count_delivered notls)" "$before" \
    "enc.test (encrypt): delivered in clear"
pending r@enc.test enc.test STARTTLS
assert_eq "$(queue_count)" 0 "queue after the tls_policy cases"

# ---- 11. IPv6 ----------------------------------------------------------------
if [ "$DNSMASQ_V6" = 1 ]; then
	conf
	send r@v6.test
	flush
	assert_eq "$(count_delivered v6)" 1 "v6.test: delivered over ::1"
	assert_eq "$(queue_count)" 0 "queue after v6.test"
	conf "ip_version 4"
	snap snd
	send s@v6.test
	flush
	assert_eq "$(count_delivered v6)" 1 "v6.test with ip_version 4: delivered"
	# not delivered: deferred or failed (with a DSN), whichever it is
	if [ "$(queue_count)" = 0 ]; then
		d=$(new_files snd)
		assert_eq "$(printf '%s' "$d" | grep -c .)" 1 \
		    "v6.test with ip_version 4: failed, DSNs"
		echo "v6.test with ip_version 4: failed, bounced:" \
		    "$(grep -i '^Status:' "$d" | tr -d '\r')" >&2
	else
		pending s@v6.test v6.test
		echo "v6.test with ip_version 4: deferred" >&2
	fi
else
	echo "no ::1 here: the IPv6 cases are not run" >&2
fi
exit 0
