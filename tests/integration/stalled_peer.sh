#!/bin/sh
# stalled_peer: a relay that stops making progress must not hold a
# delivery forever; each wait ends within its timeout, the message stays
# queued, and a later flush to a sane relay delivers it.  Modes of the
# test relay (a small Python server):
#   greet  trickles an endless greeting, one "220-" line every 0.2 s
#   ehlo   greets, then trickles an endless EHLO reply ("250-" lines)
#   body   answers up to 354, then stops reading the message
#   dot    reads the whole message, then never answers the final dot
# The timeouts bound the wait for a whole reply, not each line (RFC 5321
# 4.5.3.2), and a write that cannot proceed.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

cat > "$T/stall.py" <<'PY'
import socket, sys, time, os
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(120)		# never outlive the test by much
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)

def lines(c):
    buf = b""
    while True:
        while b"\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        line, buf = buf.split(b"\n", 1)
        yield line.rstrip(b"\r"), buf

def serve(c):
    if mode == "greet":
        for i in range(100000):
            c.sendall(b"220-still talking %d\r\n" % i)
            time.sleep(0.2)
    c.sendall(b"220 stall ESMTP\r\n")
    it = lines(c)
    for line, rest in it:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            if mode == "ehlo":
                for i in range(100000):
                    c.sendall(b"250-still talking %d\r\n" % i)
                    time.sleep(0.2)
            c.sendall(b"250-stall\r\n250 PIPELINING\r\n")
        elif verb == b"DATA":
            c.sendall(b"354 go\r\n")
            if mode == "body":
                time.sleep(600)	# never read again
            data = rest
            while b"\r\n.\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            time.sleep(600)		# mode dot: no reply
        elif verb == b"QUIT":
            c.sendall(b"221 bye\r\n")
            return
        else:
            c.sendall(b"250 ok\r\n")

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

PIDS=""
for mode in greet ehlo body dot; do
	python3 "$T/stall.py" "$mode" "$T/$mode.port" </dev/null \
	    >>"$T/$mode.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for test -s "$T/$mode.port" || fail "stall server $mode did not start"
done
# stop the stall servers too, keeping the exit status for the report
trap '_t_rc=$?; kill $PIDS 2>/dev/null; (exit $_t_rc); _lib_cleanup' EXIT
start_server srv

# big enough that "body" fills both socket buffers and blocks our write
mkmsg big $((12 * 1024 * 1024)) > "$T/big"
mkmsg small 500 > "$T/small"
n=0
for mode in greet ehlo body dot; do
	write_conf "greeting_timeout 2s" "command_timeout 2s" \
	    "data_timeout 2s" "connect_timeout 2s" "max_message_size 64M"
	sed -i "/^relay /d" "$T/outbox.conf"	# only the stalling relay
	echo "relay 127.0.0.1:$(cat "$T/$mode.port")" >> "$T/outbox.conf"
	msg=$T/small
	[ "$mode" = body ] && msg=$T/big
	sendmail -f sender@test.example rcpt@test.example < "$msg" ||
	    fail "sendmail exited $?"
	"$OUTBOX" flush 2> "$T/$mode.err" &
	fpid=$!
	# a correct flush ends after ~2 s; give it 20 before calling it hung
	i=0
	while kill -0 "$fpid" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	if kill -0 "$fpid" 2>/dev/null; then
		pkill -9 -P "$fpid" 2>/dev/null
		kill -9 "$fpid" 2>/dev/null
		fail "$mode: flush still waiting after 20 s on a stalled relay"
	fi
	rc=0
	wait "$fpid" || rc=$?
	cat "$T/$mode.err" >&2
	case $mode in
	greet|ehlo)	# the relay is skipped: nothing could be tried
		assert_eq "$rc" 75 "$mode: flush exit status" ;;
	*)		# a session was had; the recipient is deferred
		assert_eq "$rc" 0 "$mode: flush exit status" ;;
	esac
	grep -q 'timeout' "$T/$mode.err" || fail "$mode: no timeout reported"
	assert_eq "$(queue_states | awk '{ print $3 }')" "pending" \
	    "$mode: the message is still queued"
	write_conf "max_message_size 64M"	# a sane relay delivers it
	ob flush --all >&2 || fail "flush to the test server exited $?"
	assert_eq "$(queue_count)" 0 "$mode: queue after the good flush"
	n=$((n + 1))
	assert_eq "$(count_delivered srv)" "$n" "$mode: delivered in the end"
done
exit 0
