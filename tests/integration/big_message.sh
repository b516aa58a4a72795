#!/bin/sh
# big_message: a 20 MiB message of random printable lines (some starting
# with ".", some holding only ".") is delivered intact: the delivered
# bytes hash to the canonical form of the submitted ones.  The message has
# Date, Message-ID and From, so nothing is added.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv
write_conf

python3 - "$T/big" "$T/big.sha" "$T/big.size" <<'PY' || fail "cannot generate the message"
import hashlib, random, sys
rnd = random.Random(20)
printable = bytes(range(32, 127))
table = bytes(printable[i % len(printable)] for i in range(256))
pool = rnd.randbytes(1 << 20).translate(table)
out = bytearray(b'Date: Mon, 24 Nov 2025 13:00:00 +0000\n'
                b'Message-ID: <big-20MiB@example.org>\n'
                b'From: sender@example.org\nTo: rcpt@example.org\n'
                b'Subject: twenty MiB\n\n')
while len(out) < 20 * 1024 * 1024:
    r = rnd.random()
    if r < 0.01:
        line = b'.'
    elif r < 0.02:
        line = b'..'
    else:
        k = rnd.randint(0, 998)
        at = rnd.randrange(0, len(pool) - k)
        line = pool[at:at + k]
        if r < 0.07:
            line = b'.' + line[1:]
    out += line + b'\n'
open(sys.argv[1], 'wb').write(out)
canon = bytes(out).replace(b'\n', b'\r\n')
open(sys.argv[2], 'w').write(hashlib.sha256(canon).hexdigest() + '\n')
open(sys.argv[3], 'w').write('%d\n' % len(canon))
PY

sendmail -i -f sender@example.org rcpt@example.org < "$T/big" ||
    fail "sendmail exited $?"
ob queue --json > "$T/q.json" || fail "queue --json exited $?"
assert_eq "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["size"])' "$T/q.json")" \
    "$(cat "$T/big.size")" "queued size"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(queue_count)" 0 "queue after flush"
assert_eq "$(count_delivered srv)" 1 "deliveries"
eml=$(delivered_files srv)
got=$(python3 -c '
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
print(h.hexdigest())' "$eml")
assert_eq "$got" "$(cat "$T/big.sha")" "sha256 of the delivered message"
assert_eq "$(grep -c '^MAIL FROM:<sender@example.org>' "${eml%.eml}.env")" 1 "MAIL line"
if grep -h '!VIOLATION' "$T/srv"/transcript.* >&2; then
	fail "the server saw protocol violations"
fi
exit 0
