#!/bin/sh
# listen_auth: the listener's STARTTLS and AUTH, swaks as the client, from
# an address outside listen_allow (127.0.0.2):
#  - without AUTH: MAIL gets 530, nothing queued (no open relay);
#  - AUTH in clear: not offered, refused (538), nothing queued;
#  - STARTTLS + AUTH PLAIN and AUTH LOGIN: queued and delivered, the
#    Received: field saying ESMTPSA;
#  - a wrong password: 535, nothing queued;
#  - a STARTTLS injection (commands sent in clear behind STARTTLS) is not
#    executed.
. "$TESTLIB"
# shellcheck source=tests/integration/certs.sh
. "$(dirname "$TESTLIB")/certs.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"

make_certs "$T/certs"
P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hash=$(openssl passwd -6 's3cret pass') || fail "openssl passwd"
printf '# test users\napp:%s\n' "$hash" > "$T/users"
chmod 600 "$T/users"

start_server srv
write_conf "listen 127.0.0.1:$P" "listen_allow 127.0.0.1/32" \
    "listen_tls_cert $T/certs/good.pem" "listen_tls_key $T/certs/good.key" \
    "listen_auth_users $T/users" "retry_initial 1s"
start_daemon
wait_for python3 -c "import socket; socket.create_connection(('127.0.0.1', $P)).close()" ||
    fail "the listener does not answer on port $P"

delivered()
{
	[ "$(count_delivered srv)" -eq "$1" ]
}

# swaks_from ARGS...: swaks from 127.0.0.2 (outside listen_allow)
swaks_from()
{
	swaks --server 127.0.0.1 --port "$P" --local-interface 127.0.0.2 \
	    --from app@example.org --to dest@example.org "$@"
}

# ---- no AUTH: 530 to MAIL -------------------------------------------------
rc=0
swaks_from > "$T/s1.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "mail without AUTH accepted: $(cat "$T/s1.out")"
grep -q '<\*\* *530 5\.7\.0' "$T/s1.out" || fail "no 530: $(cat "$T/s1.out")"
grep -q 'STARTTLS' "$T/s1.out" || fail "STARTTLS not offered"
if grep -q '250-AUTH' "$T/s1.out"; then
	fail "AUTH offered in clear"
fi

# ---- AUTH in clear: refused -------------------------------------------
rc=0
swaks_from --auth PLAIN --auth-user app --auth-password 's3cret pass' \
    > "$T/s2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "AUTH in clear accepted: $(cat "$T/s2.out")"
if grep -q '235 ' "$T/s2.out"; then
	fail "235 in clear: $(cat "$T/s2.out")"
fi
sleep 0.3
assert_eq "$(queue_count)" 0 "messages queued without authentication"

# ---- STARTTLS + AUTH PLAIN, AUTH LOGIN: delivered ----------------------
for mech in PLAIN LOGIN; do
	swaks_from --tls --auth "$mech" --auth-user app \
	    --auth-password 's3cret pass' \
	    --header "Message-ID: <auth-$mech@test>" \
	    > "$T/s3.$mech.out" 2>&1 ||
	    fail "AUTH $mech over TLS: $(cat "$T/s3.$mech.out")"
	grep -q '<~ *235 2\.7\.0' "$T/s3.$mech.out" ||
	    fail "no 235 for $mech: $(cat "$T/s3.$mech.out")"
	grep -q '<~ *250 2\.0\.0 Ok: queued as' "$T/s3.$mech.out" ||
	    fail "not queued ($mech): $(cat "$T/s3.$mech.out")"
done
wait_for delivered 2 || fail "$(count_delivered srv) of 2 delivered"
f=$(grep -l 'Message-ID: <auth-PLAIN@test>' "$T"/srv/msg.*.eml) ||
    fail "the PLAIN message is not there"
grep -q 'with ESMTPSA id' "$f" || fail "Received: $(head -4 "$f")"

# ---- a wrong password: 535, nothing queued -----------------------------
rc=0
swaks_from --tls --auth PLAIN --auth-user app --auth-password wrong \
    > "$T/s4.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a wrong password was accepted"
grep -q '<~\* *535 5\.7\.8' "$T/s4.out" || fail "no 535: $(cat "$T/s4.out")"

# ---- STARTTLS injection: the commands sent in clear are dropped ---------
python3 - "$P" "$T/certs/ca.pem" > "$T/inject.out" 2>&1 <<'PY' ||
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.settimeout(10)
s.connect(("127.0.0.1", port))
f = s.makefile("rb")
def reply(f):
    out = []
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("closed after %r" % out)
        out.append(l)
        if l[3:4] == b" ":
            return out
reply(f)
s.sendall(b"EHLO x\r\n")
reply(f)
# STARTTLS with a command behind it in the same packet (CVE-2011-0411)
s.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
r = reply(f)
assert r[0].startswith(b"220"), r
ctx = ssl.create_default_context(cafile=ca)
t = ctx.wrap_socket(s, server_hostname="localhost")
tf = t.makefile("rb")
t.sendall(b"EHLO x\r\n")
r = reply(tf)
assert r[0].startswith(b"250"), r
# had the injected MAIL been run, this RCPT would not get 503 / 530
t.sendall(b"RCPT TO:<dest@example.org>\r\n")
r = reply(tf)
assert r[0][:3] in (b"503", b"530"), r
t.sendall(b"QUIT\r\n")
print("ok")
PY
    fail "injection: $(cat "$T/inject.out")"

sleep 0.3
assert_eq "$(count_delivered srv)" 2 "messages delivered in all"
stop_daemon
assert_eq "$DAEMON_RC" 0 "daemon exit status"
assert_eq "$(queue_count)" 0 "messages left in the queue"
