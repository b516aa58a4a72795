#!/bin/sh
# auth_server.sh - the AUTH side of tests/fakesmtpd (RFC 4954), driven by
# a client written here in python (its own base64, PBKDF2 and HMAC, so the
# server is checked against an independent implementation): each of
# PLAIN, LOGIN, SCRAM-SHA-256 (RFC 5802/7677), XOAUTH2 and OAUTHBEARER
# (RFC 7628) with good and bad credentials, with and without an initial
# response; cancel, bad base64, AUTH twice, unknown mechanism, AUTH in a
# transaction; AUTH refused in clear; --auth-require, --auth-clear,
# --auth-reply, --scram-bad-signature; the "AUTH:" line of the envelope
# record; the transcripts: redacted for humans, raw in transcript-clear,
# and no credential in either after STARTTLS.
#
# One python process runs every session (python starts slowly): the test
# queues sessions with `session`, runs them with `run_sessions`, then
# compares each one's output and the server's records.
. "$TESTLIB"
. "$(dirname "$TESTLIB")/certs.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
C=$T/certs
make_certs "$C"
USER_=alice@example.com
PASS='s3cret,PW=x'		# ',' and '=' exercise SCRAM's escaping
MECHS='PLAIN LOGIN SCRAM-SHA-256 XOAUTH2 OAUTHBEARER'

# The client: python3 cli.py SESSIONS OUTDIR.  SESSIONS has one session a
# line: NAME, PORT, then steps, separated by tabs; the output of session
# NAME goes to OUTDIR/NAME: one line per reply (the last line of a
# multi-line one; a 334 shows its decoded challenge, SCRAM's server-first
# as "334 server-first ok" once checked, its server-final as "334 v=ok"
# or "334 v=BAD").  Steps:
#   starttls (prints nothing) | ehlo (prints the AUTH capability or
#   "no AUTH") | mail (MAIL, RCPT, DATA, the message)
#   auth:MECH[:USER[:SECRET[:noir]]]  noir: no initial response
#   raw:LINE  sends LINE, prints the reply
# Each credential the client sends in an auth: step (base64 response or
# initial response) is appended to OUTDIR/.sent, for the checks at the end.
cat >"$T/cli.py" <<'PY'
import base64, hashlib, hmac, os, socket, ssl, sys

ca, user0, pass0 = os.environ['CA'], os.environ['USER_'], os.environ['PASS']
outdir = sys.argv[2]
log = open(os.path.join(outdir, '.sent'), 'a')
b64 = lambda b: base64.b64encode(b).decode()


class Session:
    def __init__(self, port):
        self.port = port
        self.s = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.f = self.s.makefile('rb')
        self.out = []

    def send(self, line, cred=None):
        if cred is not None:	# the part of LINE that is a credential
            log.write(cred + '\n')
            log.flush()
        self.s.sendall(line.encode('latin-1') + b'\r\n')

    def read(self):
        lines = []
        while True:
            l = self.f.readline()
            if not l:
                raise EOFError('connection closed')
            l = l.decode('latin-1').rstrip('\r\n')
            lines.append(l)
            if len(l) < 4 or l[3] != '-':
                return lines

    def show(self, line):
        self.out.append(line)
        return line

    def cmd(self, line):
        self.send(line)
        return self.show(self.read()[-1])

    def scram(self, user, pw, ir):
        cnonce = b64(os.urandom(18))
        u = user.replace('=', '=3D').replace(',', '=2C')
        bare = 'n=%s,r=%s' % (u, cnonce)
        first = b64(('n,,' + bare).encode())
        if ir:
            self.send('AUTH SCRAM-SHA-256 ' + first, first)
        else:
            self.send('AUTH SCRAM-SHA-256')
            l = self.read()[-1]
            if l != '334 ':
                return self.show(l)
            self.send(first, first)
        l = self.read()[-1]
        if not l.startswith('334 '):
            return self.show(l)
        sfirst = challenge(l).decode()
        a = dict(kv.split('=', 1) for kv in sfirst.split(','))
        salt = base64.b64decode(a['s'], validate=True)
        assert a['r'].startswith(cnonce) and len(a['r']) > len(cnonce), a
        assert a['i'] == '4096' and len(salt) == 16, a
        self.show('334 server-first ok')
        sp = hashlib.pbkdf2_hmac('sha256', pw.encode(), salt, 4096)
        ck = hmac.new(sp, b'Client Key', 'sha256').digest()
        stored = hashlib.sha256(ck).digest()
        cfwp = 'c=%s,r=%s' % (b64(b'n,,'), a['r'])
        am = ','.join((bare, sfirst, cfwp)).encode()
        csig = hmac.new(stored, am, 'sha256').digest()
        proof = bytes(x ^ y for x, y in zip(ck, csig))
        final = b64((cfwp + ',p=' + b64(proof)).encode())
        self.send(final, final)
        l = self.read()[-1]
        if not l.startswith('334 '):
            return self.show(l)
        sk = hmac.new(sp, b'Server Key', 'sha256').digest()
        want = 'v=' + b64(hmac.new(sk, am, 'sha256').digest())
        good = challenge(l).decode() == want
        self.show('334 v=ok' if good else '334 v=BAD')
        self.send('' if good else '*')
        self.show(self.read()[-1])

    def auth(self, mech, user, secret, flags):
        ir = flags != 'noir'
        if mech == 'SCRAM-SHA-256':
            return self.scram(user, secret, ir)
        if mech == 'LOGIN':
            u = b64(user.encode())
            self.send('AUTH LOGIN' + (' ' + u if ir else ''),
                      u if ir else None)
            while True:
                l = self.read()[-1]
                if not l.startswith('334 '):
                    return self.show(l)
                p = challenge(l).decode()
                self.show('334 ' + p)
                r = b64((user if p == 'Username:' else secret).encode())
                self.send(r, r)
        resp = {
            'PLAIN': '\0%s\0%s' % (user, secret),
            'XOAUTH2': 'user=%s\x01auth=Bearer %s\x01\x01' % (user, secret),
            'OAUTHBEARER': 'n,a=%s,\x01host=localhost\x01port=%d\x01'
                           'auth=Bearer %s\x01\x01' % (user, self.port,
                                                       secret),
        }[mech]
        r = b64(resp.encode())
        if ir:
            self.send('AUTH %s %s' % (mech, r), r)
        else:
            self.send('AUTH ' + mech)
            l = self.read()[-1]
            if l != '334 ':
                return self.show(l)
            self.send(r, r)
        l = self.read()[-1]
        if l.startswith('334 '):	# the JSON error of a wrong token
            self.show('334 ' + challenge(l).decode())
            self.send('AQ==' if mech == 'OAUTHBEARER' else '')
            l = self.read()[-1]
        self.show(l)

    def step(self, step):
        if step == 'starttls':
            self.send('STARTTLS')
            l = self.read()[-1]
            assert l.startswith('220 '), l
            ctx = ssl.create_default_context(cafile=ca)
            self.s = ctx.wrap_socket(self.s, server_hostname='localhost')
            self.f = self.s.makefile('rb')
        elif step == 'ehlo':
            self.send('EHLO client.test')
            a = [l[4:] for l in self.read() if l[4:].startswith('AUTH ')]
            self.show(a[0] if a else 'no AUTH')
        elif step == 'mail':
            for c in ('MAIL FROM:<a@test.example>',
                      'RCPT TO:<b@test.example>', 'DATA'):
                if self.cmd(c)[0] not in '23':
                    break
            else:
                self.cmd('Subject: t\r\n\r\nbody\r\n.')
        elif step.startswith('auth:'):
            p = step.split(':') + ['', '', '']
            self.auth(p[1], p[2] or user0, p[3] or pass0, p[4])
        elif step.startswith('raw:'):
            self.cmd(step[4:])
        else:
            raise ValueError('bad step ' + step)


def challenge(line):
    assert line.startswith('334 '), line
    return base64.b64decode(line[4:], validate=True)


for spec in open(sys.argv[1]):
    name, port, *steps = spec.rstrip('\n').split('\t')
    try:
        c = Session(int(port))
        c.show(c.read()[-1])
        for st in steps:
            c.step(st)
        c.send('QUIT')
        c.read()
    except Exception as e:
        c.out.append('ERROR: %r' % e)
    with open(os.path.join(outdir, name), 'w') as f:
        f.write(''.join(l + '\n' for l in c.out))
PY

mkdir -p "$T/want" "$T/got" || fail "mkdir"
: >"$T/sessions"
# session NAME SERVER STEP...: queue a session with server SERVER; its
# expected output is read from stdin
session()
{
	_s_name=$1
	eval "_s_port=\${${2}_PORT}"
	shift 2
	cat >"$T/want/$_s_name" || fail "cannot write want/$_s_name"
	{
		printf '%s\t%s' "$_s_name" "$_s_port"
		printf '\t%s' "$@"
		printf '\n'
	} >>"$T/sessions"
}

run_sessions()
{
	CA=$C/ca.pem USER_=$USER_ PASS=$PASS python3 "$T/cli.py" \
	    "$T/sessions" "$T/got" || fail "the python client failed"
	_r_bad=0
	while IFS="	" read -r _r_name _r_rest; do
		cmp -s "$T/want/$_r_name" "$T/got/$_r_name" && continue
		echo "session $_r_name ($_r_rest): expected, got:" >&2
		diff "$T/want/$_r_name" "$T/got/$_r_name" >&2
		_r_bad=$((_r_bad + 1))
	done <"$T/sessions"
	[ "$_r_bad" -eq 0 ] || fail "$_r_bad sessions went wrong"
}

TLSOPTS="--tls-cert $C/good.pem --tls-key $C/good.key"
ACCOUNT="--auth-user $USER_ --auth-pass $PASS"
# shellcheck disable=SC2086 # word splitting of TLSOPTS/ACCOUNT is meant
{
	start_server srv $TLSOPTS --auth-mechs "$MECHS" $ACCOUNT
	start_server inclear $TLSOPTS --auth-mechs "$MECHS" $ACCOUNT
	start_server req $TLSOPTS --auth-mechs "$MECHS" $ACCOUNT \
	    --auth-require
	start_server clr --auth-mechs 'PLAIN LOGIN' $ACCOUNT --auth-clear
	start_server sig $TLSOPTS --auth-mechs SCRAM-SHA-256 $ACCOUNT \
	    --scram-bad-signature
	start_server rep $TLSOPTS --auth-mechs "$MECHS" $ACCOUNT \
	    --auth-reply '454 4.7.0 Temporary authentication failure'
}
G='220 fakesmtpd ESMTP'
OK='235 2.7.0 Authentication successful'
BAD='535 5.7.8 Authentication credentials invalid'
MAILOK='250 2.1.0 ok
250 2.1.5 ok
354 End data with <CR><LF>.<CR><LF>'

# --- not offered in clear (and the 503 for trying); offered after TLS -----
session inclear inclear ehlo 'raw:AUTH PLAIN AHgAeQ==' <<EOF
$G
no AUTH
503 5.5.1 AUTH not offered
EOF

# --- each mechanism: good credentials, then a message (srv: 1..5) ---------
session good-PLAIN srv starttls ehlo auth:PLAIN mail <<EOF
$G
AUTH $MECHS
$OK
$MAILOK
250 2.0.0 queued as 1
EOF
session good-LOGIN srv starttls ehlo auth:LOGIN mail <<EOF
$G
AUTH $MECHS
334 Password:
$OK
$MAILOK
250 2.0.0 queued as 2
EOF
session good-SCRAM srv starttls ehlo auth:SCRAM-SHA-256 mail <<EOF
$G
AUTH $MECHS
334 server-first ok
334 v=ok
$OK
$MAILOK
250 2.0.0 queued as 3
EOF
session good-XOAUTH2 srv starttls ehlo auth:XOAUTH2 mail <<EOF
$G
AUTH $MECHS
$OK
$MAILOK
250 2.0.0 queued as 4
EOF
session good-OAUTHBEARER srv starttls ehlo auth:OAUTHBEARER mail <<EOF
$G
AUTH $MECHS
$OK
$MAILOK
250 2.0.0 queued as 5
EOF

# --- without an initial response: an empty 334 first -----------------------
session noir-PLAIN srv starttls auth:PLAIN:::noir <<EOF
$G
$OK
EOF
session noir-LOGIN srv starttls auth:LOGIN:::noir <<EOF
$G
334 Username:
334 Password:
$OK
EOF
session noir-SCRAM srv starttls auth:SCRAM-SHA-256:::noir <<EOF
$G
334 server-first ok
334 v=ok
$OK
EOF
session noir-XOAUTH2 srv starttls auth:XOAUTH2:::noir <<EOF
$G
$OK
EOF
session noir-OAUTHBEARER srv starttls auth:OAUTHBEARER:::noir <<EOF
$G
$OK
EOF

# --- wrong credentials: 535 (the OAuth ones after a JSON error) ------------
session bad-PLAIN srv starttls auth:PLAIN::wrong <<EOF
$G
$BAD
EOF
session bad-PLAIN-user srv starttls auth:PLAIN:bob@example.com <<EOF
$G
$BAD
EOF
session bad-LOGIN srv starttls auth:LOGIN::wrong <<EOF
$G
334 Password:
$BAD
EOF
session bad-SCRAM srv starttls auth:SCRAM-SHA-256::wrong <<EOF
$G
334 server-first ok
$BAD
EOF
session bad-SCRAM-user srv starttls auth:SCRAM-SHA-256:bob <<EOF
$G
334 server-first ok
$BAD
EOF
session bad-XOAUTH2 srv starttls auth:XOAUTH2::wrong <<EOF
$G
334 {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}
$BAD
EOF
# a failed AUTH leaves no AUTH line in the record (srv: 6)
session bad-OAUTHBEARER srv starttls auth:OAUTHBEARER::wrong ehlo mail <<EOF
$G
334 {"status":"invalid_token","schemes":"bearer","scope":"https://mail.google.com/"}
$BAD
AUTH $MECHS
$MAILOK
250 2.0.0 queued as 6
EOF

# --- protocol errors ---------------------------------------------------------
session cancel srv starttls 'raw:AUTH PLAIN' 'raw:*' <<EOF
$G
334 
501 5.7.0 Authentication canceled
EOF
session b64-ir srv starttls 'raw:AUTH PLAIN AHg=AHk=' <<EOF
$G
501 5.5.2 Cannot decode response
EOF
session b64-line srv starttls 'raw:AUTH PLAIN' 'raw:AHgAeQ' <<EOF
$G
334 
501 5.5.2 Cannot decode response
EOF
session malformed srv starttls 'raw:AUTH PLAIN dXNlcg==' <<EOF
$G
501 5.5.2 Malformed authentication response
EOF
session unknown srv starttls 'raw:AUTH CRAM-MD5' <<EOF
$G
504 5.5.4 Unrecognized authentication type
EOF
session syntax srv starttls 'raw:AUTH' <<EOF
$G
501 5.5.4 Syntax: AUTH mechanism [initial-response]
EOF
session twice srv starttls auth:PLAIN auth:SCRAM-SHA-256 <<EOF
$G
$OK
503 5.5.1 Already authenticated
EOF
session in-txn srv starttls ehlo 'raw:MAIL FROM:<a@test.example>' \
    auth:PLAIN <<EOF
$G
AUTH $MECHS
250 2.1.0 ok
503 5.5.1 AUTH not permitted during a mail transaction
EOF

# --- --auth-require: MAIL before AUTH is refused ---------------------------
session require req starttls ehlo 'raw:MAIL FROM:<a@test.example>' \
    auth:PLAIN 'raw:MAIL FROM:<a@test.example>' <<EOF
$G
AUTH $MECHS
530 5.7.0 Authentication required
$OK
250 2.1.0 ok
EOF

# --- --auth-clear: offered in clear ----------------------------------------
session clear clr ehlo auth:LOGIN:::noir <<EOF
$G
AUTH PLAIN LOGIN
334 Username:
334 Password:
$OK
EOF

# --- --scram-bad-signature: the client cancels, no AUTH in the record --------
session badsig sig starttls auth:SCRAM-SHA-256 ehlo mail <<EOF
$G
334 server-first ok
334 v=BAD
501 5.7.0 Authentication canceled
AUTH SCRAM-SHA-256
$MAILOK
250 2.0.0 queued as 1
EOF

# --- --auth-reply replaces the 235 -------------------------------------------
session reply rep starttls auth:SCRAM-SHA-256 auth:LOGIN:::noir <<EOF
$G
334 server-first ok
334 v=ok
454 4.7.0 Temporary authentication failure
334 Username:
334 Password:
454 4.7.0 Temporary authentication failure
EOF

run_sessions

# --- what the servers recorded ---------------------------------------------
grep -qx '!VIOLATION AUTH not offered' "$T"/inclear/transcript.* ||
    fail "no violation recorded for AUTH in clear"
assert_eq "$(cat "$T"/srv/msg.*.env | grep '^AUTH:' | sort)" \
"AUTH: LOGIN $USER_
AUTH: OAUTHBEARER $USER_
AUTH: PLAIN $USER_
AUTH: SCRAM-SHA-256 $USER_
AUTH: XOAUTH2 $USER_" "AUTH lines in the envelope records"
assert_eq "$(find "$T/srv" -name 'msg.*.env' | wc -l | tr -d ' ')" 6 \
    "records"
grep -q '^AUTH:' "$T"/sig/msg.*.env && fail "authenticated with a bad v="
grep -qx "!AUTH OAUTHBEARER host=localhost port=$srv_PORT" \
    "$T"/srv/transcript.* || fail "OAUTHBEARER host/port not noted"

# --auth-clear: transcript-clear keeps the lines raw, the transcript not
tc=$(find "$T/clr" -name 'transcript-clear.*')
u64=$(printf '%s' "$USER_" | base64)
p64=$(printf '%s' "$PASS" | base64)
assert_eq "$(cat "$tc")" "EHLO client.test
AUTH LOGIN
$u64
$p64
QUIT" "raw lines in transcript-clear"
assert_eq "$(grep -v '^!' "$(echo "$tc" | sed 's/-clear//')")" \
"EHLO client.test
AUTH LOGIN
****
****
QUIT" "redacted transcript"

# No credential in any transcript of the TLS servers: every session there
# began with STARTTLS, so transcript-clear holds that alone, and none of
# the credentials the client sent turns up in transcript.* (redacted) or
# anywhere else.  (The --auth-clear server is left out: checked above.)
for d in srv req sig rep; do
	for tc in "$T/$d"/transcript-clear.*; do
		assert_eq "$(cat "$tc")" STARTTLS "$tc"
	done
	cat "$T/$d"/transcript*
done >"$T/all-transcripts"
grep -F -- "$PASS" "$T/all-transcripts" && fail "the password in a transcript"
n=$(wc -l <"$T/got/.sent")
[ "$n" -ge 30 ] || fail "only $n credentials sent"
grep -F -f "$T/got/.sent" "$T/all-transcripts" &&
    fail "a credential in a transcript"
exit 0
