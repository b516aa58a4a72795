#!/bin/sh
# trickle: a server that never finishes a multi-line reply, sending one
# more "220-" or "250-" line every 0.2 s, must not hold a delivery
# forever.  The timeouts bound the wait for a whole reply, not for each
# line (RFC 5321 4.5.3.2): the flush gives up after about greeting_timeout
# (or command_timeout), the message stays queued, and a later flush to a
# sane relay delivers it.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

# trickle.py MODE PORTFILE: MODE greet trickles the greeting; MODE ehlo
# greets, then trickles the EHLO reply.
cat > "$T/trickle.py" <<'PY'
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
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        sys.exit(0)
    if os.fork() == 0:
        try:
            if mode == "ehlo":
                c.sendall(b"220 trickle ESMTP\r\n")
                c.recv(1000)
                code = b"250"
            else:
                code = b"220"
            for i in range(100000):
                c.sendall(code + b"-still talking %d\r\n" % i)
                time.sleep(0.2)
        except OSError:
            pass
        os._exit(0)
    c.close()
PY

start_trickle()	# NAME MODE
{
	python3 "$T/trickle.py" "$2" "$T/$1.port" </dev/null \
	    >>"$T/$1.log" 2>&1 &
	eval "$1_TPID=\$!"
	wait_for test -s "$T/$1.port" || fail "trickle server $1 did not start"
}
start_trickle tg greet
start_trickle te ehlo
# stop the trickle servers too, keeping the exit status for the report
trap '_t_rc=$?; kill $tg_TPID $te_TPID 2>/dev/null; (exit $_t_rc); _lib_cleanup' EXIT
start_server srv

mkmsg t1 500 > "$T/m1"
for mode in tg te; do
	write_conf "greeting_timeout 2s" "command_timeout 2s" \
	    "connect_timeout 2s"
	# only the trickling relay
	sed -i "/^relay /d" "$T/outbox.conf"
	echo "relay 127.0.0.1:$(cat "$T/$mode.port")" >> "$T/outbox.conf"
	sendmail -f sender@test.example rcpt@test.example < "$T/m1" ||
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
		kill -9 "$fpid" 2>/dev/null
		pkill -9 -P "$fpid" 2>/dev/null
		fail "$mode: flush still waiting after 20 s on a trickled reply"
	fi
	rc=0
	wait "$fpid" || rc=$?
	cat "$T/$mode.err" >&2
	assert_eq "$rc" 75 "$mode: flush exit status (relay unusable)"
	grep -q 'timeout' "$T/$mode.err" || fail "$mode: no timeout reported"
	assert_eq "$(queue_count)" 1 "$mode: message still queued"
	# a sane relay delivers it
	write_conf
	ob flush >&2 || fail "flush to the test server exited $?"
	assert_eq "$(queue_count)" 0 "$mode: queue after the good flush"
done
assert_eq "$(count_delivered srv)" 2 "messages delivered in the end"
exit 0
