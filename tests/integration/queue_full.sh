#!/bin/sh
# queue_full: a submission that cannot be stored exits 75 (EX_TEMPFAIL)
# and leaves nothing behind, while what was queued before stays intact and
# is still delivered:
#  - the LMDB map reaches queue_max_size (map full);
#  - the queue directory is not writable by the submitter (as "nobody";
#    needs root and setpriv, else skipped);
#  - the filesystem is full (a 3 MiB tmpfs in a private mount namespace;
#    needs root and unshare, else skipped).
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv

# The queue's messages as "id size" lines, sorted.
listing()
{
	"$OUTBOX" queue --json | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    print(m["id"], m["size"])' | sort
}

# ---- map full: queue_max_size 4M -------------------------------------------
write_conf "queue_max_size 4M" "max_message_size 64M"
mkmsg small1 2000 > "$T/small1"
mkmsg big1 $((6 * 1024 * 1024)) > "$T/big1"
sendmail -f sender@test.example rcpt@test.example < "$T/small1" ||
    fail "small message refused: $?"
listing > "$T/before"
rc=0
sendmail -f sender@test.example rcpt@test.example < "$T/big1" || rc=$?
assert_eq "$rc" 75 "exit status when the queue is full"
grep -qi 'full' "$T/ob.err" || fail "no clear message for a full queue"
listing > "$T/after"
assert_file_eq "$T/after" "$T/before"
# the space is still usable for what fits
sendmail -f sender@test.example rcpt@test.example < "$T/small1" ||
    fail "a small message after the full one refused: $?"
assert_eq "$(queue_count)" 2 "messages queued"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(count_delivered srv)" 2 "delivered after a full queue"
assert_eq "$(queue_count)" 0 "queue after the flush"

# ---- queue directory not writable by the submitter --------------------------
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	echo "not root or no setpriv: skipping the read-only queue case" >&2
elif ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
    test -x "$OUTBOX" 2>/dev/null; then
	echo "nobody cannot run $OUTBOX: skipping the read-only queue case" >&2
else
	rm -rf "$T/roq"
	mkdir "$T/roq"
	write_conf "queue_dir $T/roq"
	# created by root (the queue exists), then closed to others
	sendmail -f sender@test.example rcpt@test.example < "$T/small1" ||
	    fail "cannot create the queue as root: $?"
	chmod 755 "$T/roq"
	chmod 644 "$T/roq"/*
	chmod 755 "$T"
	chmod 644 "$T/outbox.conf"
	rc=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$OUTBOX" -C "$T/outbox.conf" sendmail -f sender@test.example \
	    rcpt@test.example < "$T/small1" 2> "$T/ro.err" || rc=$?
	cat "$T/ro.err" >&2
	assert_eq "$rc" 75 "exit status for a queue the submitter cannot write"
	[ -s "$T/ro.err" ] || fail "no message for an unwritable queue"
	assert_eq "$(queue_count)" 1 "messages in the read-only queue"
	rm -rf "$T/roq"
	write_conf "queue_max_size 4M" "max_message_size 64M"
fi

# ---- filesystem full -------------------------------------------------------
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1 ||
    ! unshare -m true 2>/dev/null; then
	echo "no private mount namespace here: skipping the disk-full case" >&2
	exit 0
fi
mkdir "$T/fs"
mkmsg big2 $((5 * 1024 * 1024)) > "$T/big2"
mkmsg small2 1000 > "$T/small2"
mkmsg mid2 $((512 * 1024)) > "$T/mid2"
before=$(count_delivered srv)
# Everything that needs the small filesystem runs inside the namespace;
# results come back as files in $T.
cat > "$T/inside.sh" <<EOF
set -u
mount -t tmpfs -o size=3m tmpfs "$T/fs" || exit 90
printf 'queue_dir %s\nhelo_name test.example\nlog stderr\nrelay 127.0.0.1:%s\nmax_message_size 64M\ndeliver_on_submit no\ntls off\n' \
    "$T/fs" "$srv_PORT" > "$T/fs.conf"
C="$T/fs.conf"
"$OUTBOX" -C "\$C" sendmail -f sender@test.example rcpt@test.example \
    < "$T/small2" || exit 91
"$OUTBOX" -C "\$C" queue --json > "$T/fs.before" || exit 92
rc=0
"$OUTBOX" -C "\$C" sendmail -f sender@test.example rcpt@test.example \
    < "$T/big2" 2> "$T/fs.err" || rc=\$?
echo "\$rc" > "$T/fs.rc"
"$OUTBOX" -C "\$C" queue --json > "$T/fs.after" || exit 93
"$OUTBOX" -C "\$C" flush || exit 94
"$OUTBOX" -C "\$C" queue --json > "$T/fs.end" || exit 95
# fill the disk with 512 KiB messages until one is refused, deliver
# them, and the refused one fits: delivery freed the space (LMDB reuses
# the pages it freed)
n=0
while "$OUTBOX" -C "\$C" sendmail -f sender@test.example rcpt@test.example \
    < "$T/mid2" 2> "$T/fs.err2"; do
	n=\$((n + 1))
	[ \$n -lt 20 ] || exit 96
done
echo "\$n" > "$T/fs.filled"
"$OUTBOX" -C "\$C" flush || exit 97
rc=0
"$OUTBOX" -C "\$C" sendmail -f sender@test.example rcpt@test.example \
    < "$T/mid2" 2> "$T/fs.err3" || rc=\$?
echo "\$rc" > "$T/fs.rc2"
"$OUTBOX" -C "\$C" flush || exit 98
exit 0
EOF
rc=0
unshare -m sh "$T/inside.sh" >&2 || rc=$?
case $rc in
90) echo "cannot mount a tmpfs here: skipping the disk-full case" >&2
    exit 0 ;;
0) ;;
*) fail "disk-full scenario failed at step $rc" ;;
esac
cat "$T/fs.err" >&2
assert_eq "$(cat "$T/fs.rc")" 75 "exit status when the disk is full"
grep -q "no space left" "$T/fs.err" || fail "no clear message for a full disk"
cmp -s "$T/fs.before" "$T/fs.after" ||
    fail "the queue changed after a refused submission"
assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$T/fs.after")" \
    1 "messages queued on the full disk"
assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$T/fs.end")" \
    0 "messages left after the flush"
filled=$(cat "$T/fs.filled")
echo "the disk took $filled more 512 KiB messages, then: $(cat "$T/fs.err2")" >&2
[ "$filled" -ge 1 ] || fail "no 512 KiB message fitted at all"
grep -q "no space left" "$T/fs.err2" || fail "the disk did not fill: $(cat "$T/fs.err2")"
assert_eq "$(cat "$T/fs.rc2")" 0 \
    "a submission after delivery freed the space ($(cat "$T/fs.err3"))"
assert_eq "$(($(count_delivered srv) - before))" $((filled + 2)) \
    "delivered from the full disk"
exit 0
