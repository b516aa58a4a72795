#!/bin/sh
# docker_env: the configuration contrib/docker/Dockerfile gives its image
# works: `outbox run` with no configuration file and only the image's
# OUTBOX_* environment (its ENV lines, read from the Dockerfile itself;
# the queue directory and port moved into the test's own, the relay
# given as `docker run -e` would) takes a message over SMTP and delivers
# it.  (The image itself is not built: there is no docker here.)
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed"

df=$(dirname "$TESTLIB")/../../contrib/docker/Dockerfile
[ -f "$df" ] || fail "no Dockerfile at $df"
start_server srv
P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T/queue"

# the ENV instructions of the final stage, as NAME=VALUE lines
python3 - "$df" > "$T/env" <<'PY' || fail "cannot read the Dockerfile's ENV"
import shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stage = text.split("\nFROM ")[-1]
for line in stage.splitlines():
    if line.startswith("ENV "):
        for kv in shlex.split(line[4:]):
            print(kv)
PY
grep -q '^OUTBOX_LISTEN=' "$T/env" || fail "the Dockerfile sets no OUTBOX_LISTEN"
grep -q '^OUTBOX_QUEUE_DIR=' "$T/env" || fail "the Dockerfile sets no queue dir"

# the image's environment, with this test's queue, port and relay
python3 - "$T/env" "$T/queue" "$P" "$srv_PORT" "$OUTBOX" "$T/daemon.log" \
    "$T/pid" <<'PY' || fail "could not start outbox run"
import os, subprocess, sys
envfile, q, port, relay, outbox, log, pidf = sys.argv[1:]
env = {"PATH": "/usr/bin:/bin"}
for line in open(envfile):
    k, v = line.rstrip("\n").split("=", 1)
    env[k] = v
env["OUTBOX_QUEUE_DIR"] = q
env["OUTBOX_LISTEN"] = "127.0.0.1:" + port
env["OUTBOX_RELAY"] = "127.0.0.1:" + relay	# docker run -e ...
env["OUTBOX_TLS"] = "off"			# the test relay speaks plain SMTP
env["OUTBOX_CONF"] = ""				# no file: the default path
p = subprocess.Popen([outbox, "run"], env=env, stdin=subprocess.DEVNULL,
                     stdout=open(log, "a"), stderr=subprocess.STDOUT,
                     start_new_session=True)
open(pidf, "w").write(str(p.pid))
PY
DAEMON_PID=$(cat "$T/pid")
_lib_daemon=$DAEMON_PID
wait_for python3 -c "import socket; socket.create_connection(('127.0.0.1', $P)).close()" ||
    fail "the image's configuration does not listen: $(cat "$T/daemon.log")"

swaks --server 127.0.0.1 --port "$P" --from app@example.org \
    --to you@example.org --header "Message-ID: <docker@test>" \
    > "$T/swaks.out" 2>&1 || fail "swaks: $(cat "$T/swaks.out")"
delivered()
{
	[ "$(count_delivered srv)" -eq 1 ]
}
wait_for delivered || fail "not delivered: $(cat "$T/daemon.log")"
grep -q 'Message-ID: <docker@test>' "$(delivered_files srv)" ||
    fail "another message delivered"
# not our child (python started it): stop it and see it go
kill "$DAEMON_PID"
gone()
{
	! kill -0 "$DAEMON_PID" 2>/dev/null
}
wait_for gone || fail "the daemon did not stop"
_lib_daemon=""
grep -q 'daemon stopped' "$T/daemon.log" || fail "no clean stop"
