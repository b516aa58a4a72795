#!/bin/sh
# setgid: outbox built --with-submit-group, installed into a DESTDIR and
# put in place as a package would, used by an ordinary user the test
# creates (not in the group):
# - the user submits through the installed sendmail (with umask 077) and
#   lists with mailq: their own message only, the others counted;
# - the queue's files stay the group's, mode 0660;
# - OUTBOX_CONF, -C, OUTBOX_<KEY> and OUTBOX_DELIVER change nothing: the
#   message lands in the system queue, no other program runs;
# - the relay's password file is never opened by the user's process
#   (strace), and the user cannot read it;
# - commands that need the queue's rights are refused (77), and so is
#   reading the queue directory;
# - a running daemon is rung and delivers the user's message; `sendmail
#   -q` rings it too, and without a daemon says what to do (69);
# - root's flush delivers with the password (AUTH seen by the server).
. "$TESTLIB"

[ "$(id -u)" = 0 ] || skip "needs root: creates a user and a group"
command -v useradd >/dev/null && command -v setpriv >/dev/null ||
    skip "needs useradd and setpriv"
src=$(cd "$(dirname "$TESTLIB")/../.." && pwd)
[ -x "$src/configure" ] || skip "no configure script in $src"

# ---- a user and a group of our own -------------------------------------
sfx=$$
grp=obg$sfx
usr=obu$sfx
groupadd "$grp" || fail "groupadd $grp"
useradd -M -N -g nogroup -s /bin/sh "$usr" ||
    { groupdel "$grp"; fail "useradd $usr"; }
uid=$(id -u "$usr")
ugid=$(id -g "$usr")
_setgid_cleanup()
{
	userdel "$usr" 2>/dev/null
	groupdel "$grp" 2>/dev/null
}
# lib.sh's EXIT trap runs ours first
trap '_setgid_cleanup; _lib_cleanup' EXIT
chmod 755 "$T"

# as_user CMD...: CMD as the user (no supplementary groups), umask 077
as_user()
{
	setpriv --reuid="$uid" --regid="$ugid" --clear-groups \
	    sh -c 'umask 077; exec "$@"' sh "$@"
}

# ---- build, install into DESTDIR, put in place ------------------------
inst=$T/inst
mkdir -p "$T/build"
(cd "$T/build" && CFLAGS="-O1 -g0" "$src/configure" -q --prefix="$inst" \
    --with-submit-group="$grp" --enable-sendmail-links) \
    > "$T/build.log" 2>&1 || fail "configure: $(tail -5 "$T/build.log")"
${MAKE:-make} -s -C "$T/build" -j2 install DESTDIR="$T/dest" \
    >> "$T/build.log" 2>&1 || fail "make install: $(tail -5 "$T/build.log")"
grep -q "is setgid $grp" "$T/build.log" ||
    fail "the install did not make outbox setgid: $(tail -5 "$T/build.log")"
# what a package manager does: the DESTDIR tree in place, modes kept
cp -a "$T/dest$inst" "$inst" || fail "cp -a"
ob_bin=$inst/bin/outbox
spool=$inst/var/spool/outbox
assert_eq "$(stat -c '%a %G' "$ob_bin")" "2755 $grp" "installed outbox"
assert_eq "$(stat -c '%a %G' "$spool")" "2770 $grp" "queue directory"
[ "$(readlink "$inst/sbin/sendmail")" = "$ob_bin" ] ||
    fail "sbin/sendmail does not point at bin/outbox"

# ---- the system's configuration, and a secret only root reads ---------
start_server srv --auth-mechs PLAIN --auth-user me@example.org \
    --auth-pass 's3cret-pw' --auth-clear --auth-require
mkdir -p "$inst/etc/outbox"
printf 's3cret-pw\n' > "$inst/etc/outbox/password"
chmod 600 "$inst/etc/outbox/password"
cat > "$inst/etc/outbox.conf" <<EOF
helo_name test.example
log stderr
# root's submissions below must not deliver at once (the test counts)
deliver_on_submit no
relay 127.0.0.1:$srv_PORT
tls off
auth_user me@example.org
auth_password_file $inst/etc/outbox/password
auth_allow_plaintext yes
EOF
chmod 644 "$inst/etc/outbox.conf"
# and the user's attempts to use another queue and another program
evil=$T/evil
mkdir -p "$evil/queue"
printf '#!/bin/sh\ntouch %s/ran\n' "$evil" > "$evil/deliver"
chmod 755 "$evil/deliver"
printf 'queue_dir %s/queue\nlog stderr\n' "$evil" > "$evil/outbox.conf"
chmod -R a+rwX "$evil"
unset OUTBOX_CONF OUTBOX_DELIVER

listing()	# the root's JSON view of the system queue
{
	"$ob_bin" queue --json
}
count_msgs()
{
	listing | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# ---- the user submits --------------------------------------------------
printf 'To: a@example.org\nSubject: from a user\n\nhello\n' |
    as_user env OUTBOX_CONF="$evil/outbox.conf" \
    OUTBOX_QUEUE_DIR="$evil/queue" OUTBOX_DELIVER="$evil/deliver" \
    "$inst/sbin/sendmail" -t -C "$evil/outbox.conf" \
    > "$T/u1.out" 2> "$T/u1.err" ||
    fail "the user's sendmail exited $?: $(cat "$T/u1.err")"
grep -q "ignored" "$T/u1.err" ||
    fail "no warning that -C is ignored: $(cat "$T/u1.err")"
assert_eq "$(count_msgs)" 1 "messages in the system queue"
[ -z "$(ls -A "$evil/queue")" ] || fail "the user's queue was used: $(ls "$evil/queue")"
[ ! -e "$evil/ran" ] || fail "OUTBOX_DELIVER ran"
listing | python3 -c '
import json, sys
m = json.load(sys.stdin)[0]
assert m["owner"] == int(sys.argv[1]), m
assert m["recipients"][0]["address"] == "a@example.org", m
' "$uid" || fail "the queued message: $(listing)"
# the queue's files: the group's, group-writable, despite umask 077
for f in "$spool"/*.mdb; do
	assert_eq "$(stat -c '%G %a' "$f")" "$grp 660" "$f"
done

# the relay's password: not readable by the user, never opened for them
as_user cat "$inst/etc/outbox/password" > /dev/null 2>&1 &&
    fail "the user can read the password file"
if command -v strace >/dev/null 2>&1; then
	printf 'Subject: traced\n\nx\n' |
	    strace -f -o "$T/trace" -e trace=open,openat,execve \
	    setpriv --reuid="$uid" --regid="$ugid" --clear-groups \
	    "$inst/sbin/sendmail" b@example.org > /dev/null 2>&1 ||
	    fail "traced sendmail failed"
	grep -q "outbox.conf" "$T/trace" || fail "strace saw nothing: $(head "$T/trace")"
	if grep "password" "$T/trace"; then
		fail "the user's sendmail opened the password file"
	fi
	# exactly one program: no outbox-deliver started for the user
	assert_eq "$(grep -c 'execve(' "$T/trace")" 2 "programs run (setpriv, sendmail)"
	assert_eq "$(count_msgs)" 2 "messages after the traced one"
else
	echo "no strace: the open() check is skipped"
	printf 'Subject: traced\n\nx\n' |
	    as_user "$inst/sbin/sendmail" b@example.org || fail "sendmail"
fi

# ---- mailq for the user: theirs only ----------------------------------
printf 'Subject: root\n\nfrom root\n' | "$inst/sbin/sendmail" root@example.org ||
    fail "root's sendmail"
as_user "$inst/bin/mailq" > "$T/mailq.out" 2>&1 ||
    fail "the user's mailq exited $?: $(cat "$T/mailq.out")"
grep -q '<a@example.org>' "$T/mailq.out" || fail "mailq: $(cat "$T/mailq.out")"
grep -q 'root@example.org' "$T/mailq.out" &&
    fail "mailq shows root's message to the user: $(cat "$T/mailq.out")"
grep -q '1 message of other users not shown' "$T/mailq.out" ||
    fail "mailq does not count the hidden one: $(cat "$T/mailq.out")"
as_user "$ob_bin" queue --json > "$T/uq.json" 2>&1 || fail "queue --json: $(cat "$T/uq.json")"
python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
assert len(v) == 2 and all(m["owner"] == int(sys.argv[2]) for m in v), v
' "$T/uq.json" "$uid" || fail "the user's JSON listing: $(cat "$T/uq.json")"

# ---- what the user may not do ------------------------------------------
for cmd in "flush" "run" "retry --all" "stats" "delete --bounce X" "test x@y"; do
	rc=0
	# shellcheck disable=SC2086 # words of the command
	as_user "$ob_bin" $cmd > "$T/deny.out" 2>&1 || rc=$?
	assert_eq "$rc" 77 "outbox $cmd as the user"
	grep -q "needs the queue's rights" "$T/deny.out" ||
	    fail "outbox $cmd: $(cat "$T/deny.out")"
done
as_user ls "$spool" > /dev/null 2>&1 && fail "the user can list the queue directory"
rc=0
as_user "$inst/sbin/sendmail" -q > "$T/q.out" 2>&1 || rc=$?
assert_eq "$rc" 69 "sendmail -q without a daemon"
grep -q "outbox flush" "$T/q.out" || fail "sendmail -q: $(cat "$T/q.out")"

# ---- root's flush delivers, with AUTH ----------------------------------
"$ob_bin" flush > "$T/flush.out" 2>&1 || fail "flush: $(cat "$T/flush.out")"
assert_eq "$(count_delivered srv)" 3 "delivered by root's flush"
assert_eq "$(count_msgs)" 0 "left in the queue"
grep -q "AUTH PLAIN" "$T"/srv/transcript.* ||
    fail "no AUTH at the server"

# ---- with a daemon: the user's submission rings it ---------------------
setsid "$ob_bin" run >> "$T/daemon.log" 2>&1 &
DAEMON_PID=$!
_lib_daemon=$DAEMON_PID
wait_for test -S "$spool/daemon.sock" ||
    fail "the daemon did not start: $(cat "$T/daemon.log")"
assert_eq "$(stat -c '%G %a' "$spool/daemon.sock")" "$grp 660" "doorbell"
printf 'Subject: rung\n\nding\n' | as_user "$inst/sbin/sendmail" c@example.org ||
    fail "sendmail with a daemon"
delivered4() { [ "$(count_delivered srv)" -ge 4 ]; }
wait_for delivered4 ||
    fail "the daemon did not deliver the user's message: $(cat "$T/daemon.log")"
as_user "$inst/sbin/sendmail" -q || fail "sendmail -q with a daemon exited $?"
stop_daemon
assert_eq "$(count_delivered srv)" 4 "delivered in all"
