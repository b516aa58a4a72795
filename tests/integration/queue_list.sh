#!/bin/sh
# queue_list: `outbox queue`, `sendmail -bp`, mailq and `queue --json`
# describe known messages exactly; after a flush with one recipient 451,
# one 550 and one 250 the states, attempts and last results are right.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv \
    --rcpt-reply "later@example.org=451 4.3.0 try again later" \
    --rcpt-reply "gone@example.org=550 5.1.1 no such mailbox here"
write_conf

# ---- empty queue ----------------------------------------------------------
assert_eq "$(ob queue)" "Mail queue is empty" "listing of an empty queue"
assert_eq "$(ob queue --json | tr -d ' \n')" "[]" "JSON of an empty queue"

# ---- two known messages -----------------------------------------------------
printf 'Date: Mon, 24 Nov 2025 13:00:00 +0000\nMessage-ID: <ql-1@example.org>\nFrom: a@example.org\nSubject: one\n\nfirst\n' > "$T/m1"
printf 'Date: Mon, 24 Nov 2025 13:00:01 +0000\nMessage-ID: <ql-2@example.org>\nFrom: b@example.org\nSubject: two\n\nsecond message\nwith two lines\n' > "$T/m2"
sendmail -f a@example.org x1@example.org < "$T/m1" || fail "sendmail 1: $?"
sendmail -f '<>' ok@example.org later@example.org gone@example.org \
    < "$T/m2" || fail "sendmail 2: $?"
ob queue --json > "$T/q1.json" || fail "queue --json exited $?"
ob queue > "$T/q1.txt" || fail "queue exited $?"
sendmail -bp > "$T/bp.txt" || fail "sendmail -bp exited $?"
ln -s "$OUTBOX" "$T/mailq"
"$T/mailq" > "$T/mailq.txt" || fail "mailq exited $?"

# check.py JSON PHASE: the schema of CLI.md, exactly, and the values.
cat > "$T/check.py" <<'PY'
import json, os, re, sys
path, phase = sys.argv[1], sys.argv[2]
def die(m):
    sys.exit('%s (%s): %s' % (path, phase, m))
def size(p):
    return len(re.sub(rb'\r*\n', b'\r\n', open(p, 'rb').read()))
q = json.load(open(path))
if not isinstance(q, list):
    die('not a list')
MKEYS = {'id', 'sender', 'arrival', 'size', 'held', 'owner', 'recipients'}
RKEYS = {'address', 'state', 'attempts', 'next_attempt', 'last_result'}
ISO = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
for m in q:
    if set(m) != MKEYS:
        die('message keys %s' % sorted(m))
    if not isinstance(m['id'], str) or not re.match(r'^[0-9A-Za-z]+$', m['id']):
        die('bad id %r' % m['id'])
    if not isinstance(m['arrival'], str) or not ISO.match(m['arrival']):
        die('bad arrival %r' % m['arrival'])
    if m['held'] is not False:
        die('held %r' % m['held'])
    # sendmail records the submitting user's uid (ours)
    if m['owner'] != os.getuid():
        die('owner %r, not %d' % (m['owner'], os.getuid()))
    if type(m['size']) is not int:
        die('size %r' % m['size'])
    for r in m['recipients']:
        if set(r) != RKEYS:
            die('recipient keys %s' % sorted(r))
        if r['state'] not in ('pending', 'delivered', 'failed'):
            die('state %r' % r['state'])
        if type(r['attempts']) is not int:
            die('attempts %r' % r['attempts'])
        na = r['next_attempt']
        if na is not None and not (isinstance(na, str) and ISO.match(na)):
            die('next_attempt %r' % na)
        if r['last_result'] is not None and not isinstance(r['last_result'], str):
            die('last_result %r' % r['last_result'])
        if r['state'] != 'pending' and na is not None:
            die('next_attempt %r for a %s recipient' % (na, r['state']))
ids = [m['id'] for m in q]
if len(set(ids)) != len(ids):
    die('duplicate ids')
def rc(m):
    return {r['address']: r for r in m['recipients']}
if phase == 'before':
    if len(q) != 2:
        die('%d messages, expected 2' % len(q))
    a, b = sorted(q, key=lambda m: m['id'])
    if (a['sender'], b['sender']) != ('a@example.org', ''):
        die('senders %r %r (ids not in submission order?)' % (a['sender'], b['sender']))
    if a['size'] != size(sys.argv[3]) or b['size'] != size(sys.argv[4]):
        die('sizes %d %d, expected %d %d' % (a['size'], b['size'], size(sys.argv[3]), size(sys.argv[4])))
    if [r['address'] for r in a['recipients']] != ['x1@example.org']:
        die('recipients of 1: %r' % a['recipients'])
    if sorted(rc(b)) != ['gone@example.org', 'later@example.org', 'ok@example.org']:
        die('recipients of 2: %r' % b['recipients'])
    for m in q:
        for r in m['recipients']:
            if (r['state'], r['attempts'], r['last_result']) != ('pending', 0, None):
                die('fresh recipient %r' % r)
            if r['next_attempt'] is None:
                die('pending recipient without next_attempt')
    print(a['id'], b['id'])
else:
    if len(q) != 1:
        die('%d messages after the flush, expected 1 (message 1 is done)' % len(q))
    m = q[0]
    if m['id'] != sys.argv[3]:
        die('the message left is %s, expected %s' % (m['id'], sys.argv[3]))
    r = rc(m)
    want = {'ok@example.org': 'delivered', 'later@example.org': 'pending',
            'gone@example.org': 'failed'}
    for addr, st in want.items():
        if r[addr]['state'] != st:
            die('%s is %s, expected %s' % (addr, r[addr]['state'], st))
        if r[addr]['attempts'] != 1:
            die('%s attempts %r' % (addr, r[addr]['attempts']))
        if r[addr]['last_result'] is None:
            die('%s has no last_result' % addr)
    if not r['ok@example.org']['last_result'].startswith('250'):
        die('last_result of the delivered one: %r' % r['ok@example.org']['last_result'])
    if '451 4.3.0 try again later' not in r['later@example.org']['last_result']:
        die('last_result of the deferred one: %r' % r['later@example.org']['last_result'])
    if '550 5.1.1 no such mailbox here' not in r['gone@example.org']['last_result']:
        die('last_result of the failed one: %r' % r['gone@example.org']['last_result'])
    if r['later@example.org']['next_attempt'] is None:
        die('the deferred recipient has no next_attempt')
PY
ids=$(python3 "$T/check.py" "$T/q1.json" before "$T/m1" "$T/m2") ||
    fail "JSON listing before the flush"
id1=${ids% *}
id2=${ids#* }

# The table: each id, size, sender and recipient, state pending.
sz1=$(python3 -c 'import json,sys; print([m["size"] for m in json.load(open(sys.argv[1])) if m["id"] == sys.argv[2]][0])' "$T/q1.json" "$id1")
sz2=$(python3 -c 'import json,sys; print([m["size"] for m in json.load(open(sys.argv[1])) if m["id"] == sys.argv[2]][0])' "$T/q1.json" "$id2")
for f in q1.txt bp.txt mailq.txt; do
	grep -Eq "^$id1 .* $sz1 +<a@example.org>" "$T/$f" ||
	    fail "$f: no line for message 1 ($id1 $sz1 <a@example.org>)"
	grep -Eq "^$id2 .* $sz2 +<>" "$T/$f" ||
	    fail "$f: no line for message 2 ($id2 $sz2 <>)"
	for a in x1 ok later gone; do
		grep -q "pending .*<$a@example.org>" "$T/$f" ||
		    fail "$f: recipient $a not listed as pending"
	done
done
cmp "$T/q1.txt" "$T/bp.txt" || fail "sendmail -bp differs from outbox queue"
cmp "$T/q1.txt" "$T/mailq.txt" || fail "mailq differs from outbox queue"

# ---- after one flush: 250 / 451 / 550 ----------------------------------------
ob flush >&2 || fail "flush exited $?"
ob queue --json > "$T/q2.json" || fail "queue --json exited $?"
python3 "$T/check.py" "$T/q2.json" after "$id2" ||
    fail "JSON listing after the flush"
ob queue > "$T/q2.txt" || fail "queue exited $?"
grep -q "delivered .*<ok@example.org>" "$T/q2.txt" || fail "table: ok not delivered"
grep -q "pending .*<later@example.org>" "$T/q2.txt" || fail "table: later not pending"
grep -q "failed .*<gone@example.org>" "$T/q2.txt" || fail "table: gone not failed"
grep -q "451 4.3.0 try again later" "$T/q2.txt" || fail "table: no 451 reply text"
grep -q "550 5.1.1 no such mailbox here" "$T/q2.txt" || fail "table: no 550 reply text"
grep -q "$id1" "$T/q2.txt" && fail "table: the delivered message is still listed"
assert_eq "$(count_delivered srv)" 2 "deliveries"
exit 0
