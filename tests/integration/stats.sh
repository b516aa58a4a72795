#!/bin/sh
# stats: `outbox stats` and the metrics file against a known queue.  One
# flush against a server answering 250 / 451 / 550 per recipient gives
# exactly 3 delivered (a.example, one address upper-case), 2 deferred
# (dst.example, and the bounce to the sender, which the server also
# defers) and 1 failed (bad.example); one more message is held.  Then
# `outbox stats --json` and the text output are checked number by number,
# the daemon's metrics file (metrics_interval 1s) holds the same numbers
# and is rewritten, written at a clean exit, always whole when the daemon
# is SIGKILLed, and a metrics file that cannot be written is logged once
# and stops nothing.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"

start_server srv \
    --rcpt-reply "later@dst.example=451 4.2.0 mailbox busy" \
    --rcpt-reply "bad@bad.example=550 5.1.1 unknown user" \
    --rcpt-reply "sender@src.example=451 4.2.0 try again"
write_conf "retry_initial 1h"

shift_m() { _n=$1; shift; mkmsg "$_n" 200 | sendmail -f sender@src.example "$@"; }
shift_m m1 ok1@a.example ok2@a.example || fail "sendmail m1 exited $?"
shift_m m2 later@dst.example || fail "sendmail m2 exited $?"
shift_m m3 bad@bad.example OK3@A.EXAMPLE || fail "sendmail m3 exited $?"
shift_m m4 held@h.example || fail "sendmail m4 exited $?"
held_id=$(queue_json | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m["recipients"][0]["address"] == "held@h.example":
        print(m["id"])')
[ -n "$held_id" ] || fail "no id for the message to hold"
ob hold "$held_id" >&2 || fail "hold exited $?"

# before any attempt: four messages, three due, nothing counted
ob stats --json > "$T/s0.json" || fail "stats --json exited $?"
python3 - "$T/s0.json" <<'PY' || fail "stats before the flush: $(cat "$T/s0.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["messages"] == {"total": 4, "due": 3, "waiting": 0, "held": 1,
                         "active": 0}, s["messages"]
assert s["recipients_pending"] == 6, s
assert s["totals"] == {"delivered": 0, "deferred": 0, "failed": 0}, s
assert s["destinations"] == [] and s["destinations_more"] == 0, s
PY

ob flush >&2 || fail "flush exited $?"
# the bounce to sender@src.example was tried in the same run, and deferred
assert_eq "$(queue_states | awk '$2 == "sender@src.example" { print $3, $4 }')" \
    "pending 1" "the bounce's attempts"

# ---- stats --json: every number --------------------------------------------
queue_json > "$T/q.json" || fail "queue --json exited $?"
ob stats --json > "$T/s.json" || fail "stats --json exited $?"
python3 - "$T/s.json" "$T/q.json" <<'PY' || fail "stats --json: $(cat "$T/s.json")"
import datetime, json, sys
s = json.load(open(sys.argv[1]))
q = json.load(open(sys.argv[2]))
assert s["messages"] == {"total": 3, "due": 0, "waiting": 2, "held": 1,
                         "active": 0}, s["messages"]
assert s["bounces"] == 1, s
assert s["recipients_pending"] == 3, s
assert s["bytes"] == sum(m["size"] for m in q), (s["bytes"], q)
oldest = min(m["arrival"] for m in q)
assert s["oldest_arrival"] == oldest, (s["oldest_arrival"], oldest)
gen = datetime.datetime.strptime(s["generated"], "%Y-%m-%dT%H:%M:%SZ")
old = datetime.datetime.strptime(oldest, "%Y-%m-%dT%H:%M:%SZ")
age = (gen - old).total_seconds()
assert abs(s["oldest_age"] - age) <= 1 and 0 <= s["oldest_age"] < 120, s
assert s["totals"] == {"delivered": 3, "deferred": 2, "failed": 1}, s
assert s["unreadable"] == 0, s
d = dict((x["destination"], x) for x in s["destinations"])
want = {
    "a.example": (3, 0, 0), "bad.example": (0, 0, 1),
    "dst.example": (0, 1, 0), "src.example": (0, 1, 0),
}
assert sorted(d) == sorted(want), sorted(d)
for name, (a, b, c) in want.items():
    for w in ("5m", "1h", "24h"):
        assert d[name][w] == {"delivered": a, "deferred": b, "failed": c}, \
            (name, w, d[name])
# by volume, then by name
assert [x["destination"] for x in s["destinations"]] == \
    ["a.example", "bad.example", "dst.example", "src.example"], s
assert s["destinations_more"] == 0, s
PY

# ---- the text form -----------------------------------------------------------
ob stats > "$T/s.txt" || fail "stats exited $?"
has() {
	grep -qxF "$1" "$T/s.txt" || fail "stats text lacks '$1': $(cat "$T/s.txt")"
}
has "Messages:           3 (due now 0, waiting for retry 2, held 1, being delivered 0)"
has "Bounces queued:     1"
has "Recipients pending: 3"
has "Recipients since the queue was created: 3 delivered, 2 deferred, 1 failed"
row() { printf '%-32s %16s %16s %16s' "$1" "$2" "$2" "$2"; }
has "$(row a.example 3/0/0)"
has "$(row bad.example 0/0/1)"
has "$(row dst.example 0/1/0)"
has "$(row src.example 0/1/0)"
grep -q '^Oldest message:     [0-9]*s old (arrived 20..-..-..T..:..:..Z)$' \
    "$T/s.txt" || fail "oldest message line: $(cat "$T/s.txt")"
rc=0
"$OUTBOX" stats --bogus 2> "$T/u.err" || rc=$?
assert_eq "$rc" 64 "exit status of a bad option"
grep -q 'usage: outbox stats \[--json\]' "$T/u.err" || fail "no usage message"

# ---- the metrics file ----------------------------------------------------------
# check_metrics FILE: FILE is whole and holds the numbers above
check_metrics() {
	python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "not whole"
lines = text.split("\n")[:-1]
assert lines[-1].startswith("outbox_metrics_generated_timestamp_seconds "), \
    "not whole: " + lines[-1]
v, types = {}, {}
for l in lines:
    if l.startswith("# TYPE "):
        _, _, name, t = l.split(" ")
        types[name] = t
        continue
    if l.startswith("#"):
        assert l.startswith("# HELP "), l
        continue
    m = re.match(r'^([a-z_]+)(\{[^}]*\})? (\S+)$', l)
    assert m, "bad sample line: " + l
    v[m.group(1) + (m.group(2) or "")] = float(m.group(3))
def eq(k, want):
    assert v.get(k) == want, (k, v.get(k), want)
for st, n in (("due", 0), ("waiting", 2), ("held", 1), ("active", 0)):
    eq('outbox_queue_messages{state="%s"}' % st, n)
eq("outbox_queue_bounces", 1)
eq("outbox_queue_recipients_pending", 3)
assert 0 <= v["outbox_queue_oldest_message_age_seconds"] < 300, v
assert v["outbox_queue_bytes"] > 0, v
for r, n in (("delivered", 3), ("deferred", 2), ("failed", 1)):
    eq('outbox_recipients_total{result="%s"}' % r, n)
want = {"a.example": (3, 0, 0), "bad.example": (0, 0, 1),
        "dst.example": (0, 1, 0), "src.example": (0, 1, 0)}
for d, ns in want.items():
    for w in ("5m", "1h", "24h"):
        for r, n in zip(("delivered", "deferred", "failed"), ns):
            eq('outbox_destination_recipients{destination="%s",result="%s",'
               'window="%s"}' % (d, r, w), n)
assert len([k for k in v if k.startswith("outbox_destination_")]) == 36, v
assert types["outbox_recipients_total"] == "counter", types
for g in ("outbox_queue_messages", "outbox_queue_bounces",
          "outbox_queue_recipients_pending", "outbox_queue_bytes",
          "outbox_queue_oldest_message_age_seconds",
          "outbox_destination_recipients",
          "outbox_metrics_generated_timestamp_seconds"):
    assert types[g] == "gauge", (g, types)
print("%.3f" % v["outbox_metrics_generated_timestamp_seconds"])
PY
}

write_conf "retry_initial 1h" "metrics_file $T/metrics.prom" \
    "metrics_interval 1s"
start_daemon
wait_for test -s "$T/metrics.prom" || fail "no metrics file"
t1=$(check_metrics "$T/metrics.prom") || fail "metrics: $(cat "$T/metrics.prom")"
assert_eq "$(stat -c %a "$T/metrics.prom")" 644 "mode of the metrics file"
# rewritten every interval (bounded wait)
newer() {
	_t=$(check_metrics "$T/metrics.prom") &&
	    python3 -c 'import sys; sys.exit(float(sys.argv[1]) <= float(sys.argv[2]))' "$_t" "$t1"
}
wait_for newer || fail "the metrics file was not rewritten"
stop_daemon
assert_eq "$DAEMON_RC" 0 "exit status of the daemon"

# written at a clean exit (the interval is too long to explain it)
write_conf "retry_initial 1h" "metrics_file $T/metrics.prom" \
    "metrics_interval 1h"
start_daemon
wait_for test -s "$T/metrics.prom" || fail "no metrics file at start"
rm -f "$T/metrics.prom"
stop_daemon
[ -s "$T/metrics.prom" ] || fail "no metrics file written at exit"
check_metrics "$T/metrics.prom" >/dev/null || fail "metrics at exit"

# SIGKILL at any time: the file is whole, old or new, never half
write_conf "retry_initial 1h" "metrics_file $T/metrics.prom" \
    "metrics_interval 1s"
for delay in 0.05 0.3 0.7 1.1 1.5 0.02; do
	start_daemon
	sleep "$delay"
	kill -9 "-$DAEMON_PID" 2>/dev/null
	stop_daemon KILL
	check_metrics "$T/metrics.prom" >/dev/null ||
	    fail "metrics file after SIGKILL at ${delay}s: $(cat "$T/metrics.prom")"
done

# a file that cannot be written: logged once, the daemon goes on
write_conf "retry_initial 1h" "metrics_file $T/no/such/dir/m.prom" \
    "metrics_interval 1s"
: > "$T/daemon.log"
start_daemon
sleep 3
kill -0 "$DAEMON_PID" || fail "the daemon stopped"
ob stats --json > /dev/null || fail "stats while the daemon runs"
stop_daemon
assert_eq "$DAEMON_RC" 0 "exit status of the daemon"
assert_eq "$(grep -c 'metrics not written' "$T/daemon.log")" 1 \
    "log lines of a failing metrics file"
grep -q "metrics file $T/no/such/dir/m.prom.tmp: No such file or directory" \
    "$T/daemon.log" || fail "unclear metrics error: $(cat "$T/daemon.log")"

# bad settings are configuration errors
rc=0
write_conf "metrics_interval 0"
"$OUTBOX" config --check 2> "$T/c.err" || rc=$?
assert_eq "$rc" 78 "exit status of metrics_interval 0"
grep -q 'metrics_interval: must be at least 1s' "$T/c.err" ||
    fail "unclear metrics_interval error: $(cat "$T/c.err")"
exit 0
