#!/bin/sh
# listen: `outbox run` with "listen" takes mail over SMTP, swaks being the
# client: a message queued and delivered to the relay; a client outside
# listen_allow refused at the greeting (554) and nothing queued; a
# 1,000,000-octet command line and binary garbage answered with errors
# while a parallel session completes; 50 concurrent clients sending 20
# messages each, every one delivered exactly once; too many connections
# from one address refused with 421.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed"

# a TCP port free on 127.0.0.1 now
P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

start_server srv
write_conf "listen 127.0.0.1:$P" "listen_allow 127.0.0.1/32" \
    "listen_max_per_client 60" "deliver_on_submit no" "retry_initial 1s"
start_daemon
wait_for python3 -c "import socket; socket.create_connection(('127.0.0.1', $P)).close()" ||
    fail "the listener does not answer on port $P"

# delivered N: server srv has N messages
delivered()
{
	[ "$(count_delivered srv)" -eq "$1" ]
}

# ---- one message, swaks ---------------------------------------------------
swaks --server 127.0.0.1 --port "$P" --from alice@example.org \
    --to bob@example.org --header "Message-ID: <swaks1@test>" \
    --body "hello over SMTP" > "$T/swaks1.out" 2>&1 ||
    fail "swaks: $(cat "$T/swaks1.out")"
grep -q '^<- *250 2\.0\.0 Ok: queued as' "$T/swaks1.out" ||
    fail "no 250 queued: $(cat "$T/swaks1.out")"
wait_for delivered 1 || fail "the message was not delivered"
f=$(delivered_files srv)
grep -q 'Message-ID: <swaks1@test>' "$f" || fail "wrong message delivered"
grep -q '^Received: from .* (\[127\.0\.0\.1\])' "$f" ||
    fail "no Received: field: $(head -5 "$f")"
grep -q 'RCPT TO:<bob@example.org>' "$T"/srv/transcript.* ||
    fail "envelope recipient lost"

# ---- a client outside listen_allow: 554, nothing queued ----------------
rc=0
swaks --server 127.0.0.1 --port "$P" --local-interface 127.0.0.2 \
    --from mallory@example.net --to victim@example.com \
    > "$T/swaks2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a client outside listen_allow could send"
grep -q '<\*\* *554 5\.7\.1' "$T/swaks2.out" ||
    fail "no 554 greeting: $(cat "$T/swaks2.out")"
# and by hand: no command gets it a transaction
python3 - "$P" > "$T/relay.out" <<'PY' || fail "relay attempt: $(cat "$T/relay.out")"
import socket, sys
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.settimeout(10)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"EHLO x\r\nMAIL FROM:<m@example.net>\r\nRCPT TO:<v@example.com>\r\n"
          b"DATA\r\nSubject: relay\r\n\r\nspam\r\n.\r\nQUIT\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
codes = [l[:3] for l in data.decode().split("\r\n") if l]
print(" ".join(codes))
assert codes[0] == "554", codes
assert "250" not in codes[1:] and "354" not in codes, codes
PY
sleep 0.3
assert_eq "$(queue_count)" 0 "messages queued from outside listen_allow"
assert_eq "$(count_delivered srv)" 1 "messages delivered"

# ---- garbage on one session, a good one beside it -----------------------
python3 - "$P" > "$T/garbage.out" 2>&1 <<'PY' || fail "garbage: $(cat "$T/garbage.out")"
import os, socket, sys, threading
port = int(sys.argv[1])

def reply(f):
    lines = []
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("connection closed; got %r" % lines)
        lines.append(l)
        if l[3:4] == b" ":
            return lines

bad = socket.create_connection(("127.0.0.1", port), timeout=20)
bf = bad.makefile("rb")
reply(bf)
bad.sendall(b"EHLO bad\r\n")
reply(bf)
# a 1,000,000-octet command line, sent slowly enough to interleave
def send_big():
    chunk = b"A" * 10000
    for i in range(100):
        bad.sendall(chunk)
    bad.sendall(b"\r\n")
t = threading.Thread(target=send_big)
t.start()
# meanwhile a whole good session
good = socket.create_connection(("127.0.0.1", port), timeout=20)
gf = good.makefile("rb")
reply(gf)
for cmd in (b"EHLO good\r\n", b"MAIL FROM:<g@example.org>\r\n",
            b"RCPT TO:<r@example.org>\r\n", b"DATA\r\n"):
    good.sendall(cmd)
    reply(gf)
good.sendall(b"Message-ID: <parallel@test>\r\n\r\nfine\r\n.\r\n")
r = reply(gf)
assert r[0].startswith(b"250 "), r
good.sendall(b"QUIT\r\n")
reply(gf)
t.join()
r = reply(bf)
assert r[0].startswith(b"500 5.5.2"), r
# binary junk: errors, then the session still works
bad.sendall(bytes(range(1, 256)).replace(b"\n", b"") + b"\r\n")
r = reply(bf)
assert r[0][:1] == b"5", r
bad.sendall(b"NOOP\r\n")
r = reply(bf)
assert r[0].startswith(b"250"), r
bad.sendall(b"QUIT\r\n")
print("ok")
PY
wait_for delivered 2 || fail "the parallel session's message was not delivered"

# ---- too many connections from one address: 421 ------------------------
python3 - "$P" > "$T/many.out" 2>&1 <<'PY' || fail "limit: $(cat "$T/many.out")"
import socket, sys
port = int(sys.argv[1])
socks = []
for i in range(60):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    assert s.recv(512).startswith(b"220"), i
    socks.append(s)
s = socket.create_connection(("127.0.0.1", port), timeout=20)
g = s.recv(512)
assert g.startswith(b"421 4.7.0"), g
for s in socks:
    s.close()
print("ok")
PY

# ---- 50 clients x 20 messages, concurrently ----------------------------
python3 - "$P" > "$T/load.out" 2>&1 <<'PY' || fail "load: $(cat "$T/load.out")"
import smtplib, sys, threading
port = int(sys.argv[1])
errors = []

def client(c):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        for m in range(20):
            msg = ("From: c%d@example.org\r\nMessage-ID: <load-%d-%d@test>\r\n"
                   "Subject: load\r\n\r\nmessage %d of client %d\r\n"
                   % (c, c, m, m, c))
            s.sendmail("c%d@example.org" % c, ["r%d@example.org" % m], msg)
        s.quit()
    except Exception as e:
        errors.append("client %d: %r" % (c, e))

ts = [threading.Thread(target=client, args=(c,)) for c in range(50)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if errors:
    raise SystemExit("\n".join(errors[:5]))
print("ok")
PY
WAIT_TIMEOUT=60 wait_for delivered 1002 ||
    fail "$(count_delivered srv) of 1002 delivered"
n=$(delivered_msgids srv | grep -c '^<load-')
assert_eq "$n" 1000 "load messages delivered"
assert_eq "$(delivered_msgids srv | grep '^<load-' | sort -u | wc -l | tr -d ' ')" \
    1000 "distinct load messages"

stop_daemon
assert_eq "$DAEMON_RC" 0 "daemon exit status"
assert_eq "$(queue_count)" 0 "messages left in the queue"
