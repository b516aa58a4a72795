#!/bin/sh
# pipelining: with 50 ms of latency per reply, 20 queued messages go over
# one connection in far less time than one round trip per command would
# take (RFC 2920); without PIPELINING offered, nothing is pipelined and
# everything is still delivered.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

N=20
LAT=50
start_server srv --latency "$LAT"
write_conf

submit() {
	i=1
	while [ "$i" -le "$N" ]; do
		printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <pipe-%s-%d@example.org>\nFrom: sender@example.org\nSubject: %d\n\nmessage %d\n' \
		    "$1" "$i" "$i" "$i" |
		    sendmail -f sender@example.org rcpt@example.org ||
		    fail "sendmail $i exited $?"
		i=$((i + 1))
	done
}

# each_once NAME TAG: every pipe-TAG-i delivered exactly once by NAME.
each_once() {
	python3 - "$N" "$2" $(delivered_files "$1") <<'PY' || fail "$1: not every message delivered exactly once"
import collections, re, sys
n, tag, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
c = collections.Counter()
for f in files:
    m = re.search(rb'(?m)^Message-ID: <pipe-(\w+)-(\d+)@', open(f, 'rb').read())
    c[(m.group(1).decode(), int(m.group(2)))] += 1
want = {(tag, i): 1 for i in range(1, n + 1)}
got = {k: v for k, v in c.items() if k[0] == tag}
if got != want:
    sys.exit('got %s' % sorted(got.items()))
PY
}

submit a
start=$(date +%s%N)
ob flush >&2 || fail "flush exited $?"
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
echo "flush of $N messages at ${LAT} ms latency: $ms ms"
assert_eq "$(queue_count)" 0 "queue after flush"
each_once srv a
tr="$T/srv"
assert_eq "$(cat "$tr"/transcript.* | grep -Eic '^(EHLO|HELO) ')" 1 "connections (EHLO commands)"
assert_eq "$(cat "$tr"/transcript.* | grep -ic '^MAIL FROM:')" "$N" "MAIL commands"
if grep -h '!VIOLATION' "$tr"/transcript.* >&2; then
	fail "the server saw protocol violations"
fi
[ "$ms" -lt $((N * 4 * LAT)) ] ||
    fail "flush took $ms ms: not pipelined (one round trip per command is $((N * 4 * LAT)) ms)"

# ---- a server without PIPELINING: one command at a time ----------------------
stop_server srv
start_server nopipe --latency 10 --ext "8BITMIME,SIZE 52428800,ENHANCEDSTATUSCODES"
write_conf "relay 127.0.0.1:$nopipe_PORT"
N=5
submit b
ob flush >&2 || fail "flush exited $?"
assert_eq "$(queue_count)" 0 "queue after the unpipelined flush"
each_once nopipe b
tr="$T/nopipe"
if grep -h '!VIOLATION' "$tr"/transcript.* >&2; then
	fail "commands pipelined to a server that did not offer PIPELINING"
fi
exit 0
