#!/bin/sh
# concurrent_submit: 8 submitters x 200 messages at once, all accepted;
# every message delivered exactly once.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

W=8
N=200
start_server srv
write_conf

# submitter W: N messages with unique Message-IDs; failures go to a file
# (fail would only end this subshell).
submitter() {
	i=1
	while [ "$i" -le "$N" ]; do
		printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <c%d.%d@example.org>\nFrom: sender@example.org\nSubject: %d/%d\n\nbody of %d/%d\n' \
		    "$1" "$i" "$1" "$i" "$1" "$i" |
		    "$OUTBOX" sendmail -f sender@example.org rcpt@example.org \
		    2>> "$T/err.$1" || echo "$1.$i exit $?" >> "$T/fail.$1"
		i=$((i + 1))
	done
}

pids=
w=1
while [ "$w" -le "$W" ]; do
	submitter "$w" &
	pids="$pids $!"
	w=$((w + 1))
done
# shellcheck disable=SC2086
wait $pids
if cat "$T"/fail.* > "$T/fail" 2>/dev/null && [ -s "$T/fail" ]; then
	head "$T/fail" "$T"/err.* >&2
	fail "$(wc -l < "$T/fail") submissions failed"
fi
assert_eq "$(queue_count)" $((W * N)) "messages queued"
ob queue --json > "$T/q.json" || fail "queue --json exited $?"
python3 -c '
import json, sys
ids = [m["id"] for m in json.load(open(sys.argv[1]))]
if len(set(ids)) != len(ids):
    sys.exit("duplicate queue ids")' "$T/q.json" || fail "queue ids not unique"

# One flush should do; allow a few, bounded.
k=0
while [ "$(queue_count)" -gt 0 ] && [ "$k" -lt 3 ]; do
	ob flush >&2 || fail "flush exited $?"
	k=$((k + 1))
done
assert_eq "$(queue_count)" 0 "queue after $k flushes"

python3 - "$W" "$N" $(delivered_files srv) <<'PY' || fail "deliveries not exactly once"
import collections, re, sys
w, n, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
c = collections.Counter()
for f in files:
    m = re.search(rb'(?im)^Message-ID: <(c\d+\.\d+)@example\.org>\r$', open(f, 'rb').read())
    c[m.group(1).decode() if m else '?'] += 1
want = {'c%d.%d' % (i, j) for i in range(1, w + 1) for j in range(1, n + 1)}
missing = want - set(c)
dups = {k: v for k, v in c.items() if v != 1}
extra = set(c) - want
if missing or dups or extra:
    sys.exit('missing %d %s, duplicated %s, unexpected %s' % (
        len(missing), sorted(missing)[:5], sorted(dups.items())[:5], sorted(extra)[:5]))
PY
if grep -h '!VIOLATION' "$T/srv"/transcript.* >&2; then
	fail "the server saw protocol violations"
fi
exit 0
