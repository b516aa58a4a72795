#!/bin/sh
# hostile_peer: relays that misbehave in every way a peer can.  Each time
# outbox defers cleanly within its timeouts (2 s here), never hangs, never
# crashes, and the message stays queued until a sane relay takes it.
# Modes of the test relay (a small Python server; stalled_peer.sh has the
# slow-trickle and write-blocking cases):
#   stall-mail / stall-rcpt / stall-data  no reply to that command
#   long-ehlo   EHLO lines of 20,000 octets (RFC 5321 4.5.3.1.5: 512)
#   long-rcpt   a 9,000-octet 4xx reply to RCPT
#   split       every reply sent a few octets at a time, with pauses
#   garbage     binary junk instead of a greeting
#   junk-reply  junk instead of the reply to MAIL
#   close-mid   closes in the middle of the multi-line EHLO reply
#   close-dot   closes after reading the final dot, before replying
#   421-greet / 421-mail / 421-rcpt / 421-dot   421 at that point
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

cat > "$T/hostile.py" <<'PY'
import os, socket, sys, time
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(120)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)

def send(c, b):
    if mode == "split":
        for i in range(0, len(b), 3):
            c.sendall(b[i:i + 3])
            time.sleep(0.01)
    else:
        c.sendall(b)

def serve(c):
    if mode == "garbage":
        c.sendall(os.urandom(300) + b"\r\n")
        time.sleep(3)
        return
    if mode == "421-greet":
        c.sendall(b"421 4.3.2 go away\r\n")
        return
    send(c, b"220 hostile ESMTP\r\n")
    buf = b""
    while True:
        while b"\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        line, buf = buf.split(b"\n", 1)
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            if mode == "long-ehlo":
                send(c, b"250-" + b"x" * 20000 + b"\r\n250-" + b"y" * 20000 + b"\r\n250 PIPELINING\r\n")
            elif mode == "close-mid":
                c.sendall(b"250-hostile\r\n250-PIPEL")
                return
            else:
                send(c, b"250-hostile\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n")
        elif verb == b"MAIL":
            if mode == "stall-mail":
                time.sleep(600)
            elif mode == "junk-reply":
                c.sendall(b"\x00\xff\xfe junk \x01\r\n")
            elif mode == "421-mail":
                c.sendall(b"421 4.3.2 closing\r\n")
                return
            else:
                send(c, b"250 2.1.0 ok\r\n")
        elif verb == b"RCPT":
            if mode == "stall-rcpt":
                time.sleep(600)
            elif mode == "long-rcpt":
                send(c, b"450 4.2.1 " + b"z" * 9000 + b"\r\n")
            elif mode == "421-rcpt":
                c.sendall(b"421 4.3.2 closing\r\n")
                return
            else:
                send(c, b"250 2.1.5 ok\r\n")
        elif verb == b"DATA":
            if mode == "stall-data":
                time.sleep(600)
            send(c, b"354 go\r\n")
            data = buf
            while b"\r\n.\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            buf = data.split(b"\r\n.\r\n", 1)[1]
            if mode == "close-dot":
                return
            if mode == "421-dot":
                c.sendall(b"421 4.3.2 closing\r\n")
                return
            send(c, b"451 4.3.0 not today\r\n")
        elif verb == b"QUIT":
            send(c, b"221 bye\r\n")
            return
        else:
            send(c, b"250 ok\r\n")

while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        sys.exit(0)
    if os.fork() == 0:
        try:
            serve(c)
        except OSError:
            pass
        os._exit(0)
    c.close()
PY

MODES="stall-mail stall-rcpt stall-data long-ehlo long-rcpt split garbage
    junk-reply close-mid close-dot 421-greet 421-mail 421-rcpt 421-dot"
PIDS=""
for mode in $MODES; do
	python3 "$T/hostile.py" "$mode" "$T/$mode.port" </dev/null \
	    >>"$T/$mode.log" 2>&1 &
	PIDS="$PIDS $!"
done
trap '_t_rc=$?; kill $PIDS 2>/dev/null; (exit $_t_rc); _lib_cleanup' EXIT
for mode in $MODES; do
	wait_for test -s "$T/$mode.port" || fail "hostile server $mode did not start"
done

write_conf
mkmsg hostile 2000 > "$T/m"
sendmail -f sender@example.org rcpt@example.org < "$T/m" || fail "sendmail: $?"
for mode in $MODES; do
	write_conf "relay 127.0.0.1:$(cat "$T/$mode.port")" \
	    "greeting_timeout 2s" "command_timeout 2s" "data_timeout 2s" \
	    "connect_timeout 2s"
	t0=$(date +%s%N)
	rc=0
	# --all: a relay that failed backs off, and every case must be tried
	timeout 20 "$OUTBOX" flush --all > "$T/$mode.out" 2>&1 || rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	case $rc in
	0|75) ;;
	124) fail "$mode: flush hung (killed after 20 s)" ;;
	*) cat "$T/$mode.out" >&2; fail "$mode: flush exited $rc" ;;
	esac
	grep -q "AddressSanitizer\|runtime error\|panic" "$T/$mode.out" &&
	    fail "$mode: $(cat "$T/$mode.out")"
	[ "$ms" -lt 9000 ] || fail "$mode: took ${ms} ms (timeouts are 2 s)"
	assert_eq "$(queue_states | awk '{ print $3 }')" pending \
	    "$mode: the message after the flush"
	echo "$mode: deferred in ${ms} ms: $(ob queue --json |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["recipients"][0]["last_result"])')" >&2
done

# the message is intact: a sane relay takes it
start_server srv
write_conf
ob flush --all >&2 || fail "flush to the test server exited $?"
assert_eq "$(count_delivered srv)" 1 "delivered in the end"
assert_eq "$(queue_count)" 0 "queue at the end"
exit 0
