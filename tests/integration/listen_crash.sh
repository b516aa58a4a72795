#!/bin/sh
# listen_crash: what the listener answered 250 survives a SIGKILL of the
# daemon, its listener and workers at once (the relay is down, so the
# message stays queued); a message cut off mid-DATA by the same SIGKILL
# is not queued, half or whole, and the next daemon starts clean; the
# listener also serves IPv6 (when the machine has ::1).
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed"

P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
v6=0
if python3 -c 'import socket, sys; s = socket.socket(socket.AF_INET6); s.bind(("::1", int(sys.argv[1])))' "$P" 2>/dev/null; then
	v6=1
fi
lines="listen 127.0.0.1:$P"
[ "$v6" = 0 ] || lines="$lines|listen [::1]:$P"
# the relay refuses: what is accepted stays queued
IFS='|'
# shellcheck disable=SC2086 # split on | only
write_conf "relay 127.0.0.1:9" "retry_initial 1h" \
    "listen_allow 127.0.0.1/32 ::1" $lines
unset IFS

up()
{
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $P)).close()" 2>/dev/null
}

start_daemon
wait_for up || fail "the listener does not answer"

# ---- 250, then SIGKILL of everything: still queued ----------------------
swaks --server 127.0.0.1 --port "$P" --from a@example.org \
    --to b@example.org --header "Message-ID: <kept@test>" \
    > "$T/s1.out" 2>&1 || fail "swaks: $(cat "$T/s1.out")"
grep -q '^<- *250 2\.0\.0 Ok: queued as' "$T/s1.out" ||
    fail "no 250: $(cat "$T/s1.out")"
kill -9 "-$DAEMON_PID" 2>/dev/null	# its whole process group
wait "$DAEMON_PID" 2>/dev/null
_lib_daemon=""
assert_eq "$(queue_count)" 1 "messages queued after SIGKILL"

# ---- SIGKILL in the middle of DATA: nothing of it queued ---------------
start_daemon
wait_for up || fail "the listener does not answer after a restart"
python3 - "$P" > "$T/cut.out" 2>&1 <<'PY' || fail "cut: $(cat "$T/cut.out")"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l or l[3:4] == b" ":
            return l
reply()
for c in (b"EHLO c\r\n", b"MAIL FROM:<a@example.org>\r\n",
          b"RCPT TO:<b@example.org>\r\n", b"DATA\r\n"):
    s.sendall(c)
    r = reply()
assert r.startswith(b"354"), r
# more than one queue chunk of body, no final dot
s.sendall(b"Subject: cut\r\n\r\n" + (b"x" * 998 + b"\r\n") * 2000)
print("sent")
PY
kill -9 "-$DAEMON_PID" 2>/dev/null
wait "$DAEMON_PID" 2>/dev/null
_lib_daemon=""
assert_eq "$(queue_count)" 1 "messages queued after a cut DATA"
start_daemon		# its queue_gc removes the cut message's chunks
wait_for up || fail "the listener does not answer after the second restart"
assert_eq "$(queue_count)" 1 "messages queued after the restart"
"$OUTBOX" queue --json | grep -q '"size"' || fail "queue unreadable"

# ---- IPv6 -----------------------------------------------------------------
if [ "$v6" = 1 ]; then
	swaks -6 --server ::1 --port "$P" --from a@example.org \
	    --to c@example.org > "$T/s6.out" 2>&1 ||
	    fail "swaks over IPv6: $(cat "$T/s6.out")"
	grep -q '^<- *250 2\.0\.0 Ok: queued as' "$T/s6.out" ||
	    fail "no 250 over IPv6: $(cat "$T/s6.out")"
	assert_eq "$(queue_count)" 2 "messages queued after IPv6"
fi
stop_daemon
assert_eq "$DAEMON_RC" 0 "daemon exit status"
