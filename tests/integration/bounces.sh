#!/bin/sh
# bounces: sendmail's DSN flags are honoured (-R full returns the whole
# message, -V sets Original-Envelope-Id, -N never silences the bounce); a
# bounce that itself fails is reported to double_bounce_to, and that
# report is never reported on.  The relay list backs off as a whole: a
# message queued while it is down is not tried until --all or its time.
# A bounce that does not fit in the queue (map full) leaves its failure
# pending, to be reported by a later attempt: nothing is lost.
. "$TESTLIB"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

start_server srv \
    --rcpt-reply "gone@example.org=550 5.1.1 no such user" \
    --rcpt-reply "lost-sender@example.org=550 5.1.1 sender gone too" \
    --rcpt-reply "postmaster@example.org=550 5.7.1 not even postmaster"
write_conf "double_bounce_to postmaster@example.org"

msg() {
	printf 'From: sender@example.org\nMessage-ID: <%s@example.org>\nSubject: %s\n\nthe body of %s\n' "$1" "$1" "$1"
}

# ---- -R full -V: the whole message comes back, with the envelope id ------
msg full | sendmail -R full -V env-123 -f sender@example.org gone@example.org ||
    fail "sendmail -R full exited $?"
ob flush >&2 || fail "flush exited $?"
dsn=$(dsn_files srv)
assert_eq "$(echo "$dsn" | wc -l | tr -d ' ')" 1 "DSNs after the -R full message"
dsn_check "$dsn" failed gone@example.org 5.1.1 "no such user"
python3 - "$dsn" <<'PY' || fail "-R full / -V not honoured"
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.compat32)
parts = m.get_payload()
assert parts[2].get_content_type() == 'message/rfc822', parts[2].get_content_type()
inner = parts[2].get_payload()[0]
assert inner['Message-ID'] == '<full@example.org>', inner['Message-ID']
assert 'the body of full' in inner.get_payload(), inner.get_payload()
f = dict((k.lower(), v.strip()) for k, v in parts[1].get_payload()[0].items())
assert f.get('original-envelope-id') == 'env-123', f
PY

# ---- -N never: failed, not reported --------------------------------------
msg quiet | sendmail -N never -f sender@example.org gone@example.org ||
    fail "sendmail -N never exited $?"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(dsn_files srv | wc -l | tr -d ' ')" 1 "DSNs after the -N never message"
assert_eq "$(queue_count)" 0 "queue after the -N never failure"
rc=0
sendmail -N sometimes r@example.org < /dev/null 2> "$T/n.err" || rc=$?
assert_eq "$rc" 64 "exit status of a bad -N"

# ---- a bounce that fails goes to double_bounce_to; that one is final -------
msg double | sendmail -f lost-sender@example.org gone@example.org ||
    fail "sendmail exited $?"
ob flush >&2 || fail "flush exited $?"
# the DSN to lost-sender@ failed (550); its report went to postmaster@,
# which failed too: logged, nothing more
assert_eq "$(queue_count)" 0 "queue after the double bounce"
assert_eq "$(cat "$T"/srv/transcript.* | grep -c '^RCPT TO:<lost-sender@example.org>')" \
    1 "DSN attempts to the lost sender"
assert_eq "$(cat "$T"/srv/transcript.* | grep -c '^RCPT TO:<postmaster@example.org>')" \
    1 "reports to double_bounce_to"
grep -q "not bounced: it has the null sender" "$T/ob.err" ||
    fail "the failed double bounce was not logged"
stop_server srv

# ---- the relay list backs off as a whole ----------------------------------
start_server tmp
port=$tmp_PORT
stop_server tmp			# nothing listens there now: refused
write_conf "relay 127.0.0.1:$port" "retry_initial 1h"
mkmsg d1 100 | sendmail -f sender@example.org r@example.org
rc=0
ob flush 2>&1 || rc=$?
assert_eq "$rc" 75 "flush with the relay down"
mkmsg d2 100 | sendmail -f sender@example.org r@example.org
start_server back --port "$port"
rc=0
ob flush 2> "$T/backoff.err" || rc=$?
assert_eq "$rc" 75 "flush while the relay backs off"
grep -q "back off until" "$T/backoff.err" ||
    fail "no clear message: $(cat "$T/backoff.err")"
assert_eq "$(count_delivered back)" 0 "deliveries while backing off (d2 not tried)"
ob flush --all >&2 || fail "flush --all exited $?"
assert_eq "$(count_delivered back)" 2 "deliveries by flush --all"
mkmsg d3 100 | sendmail -f sender@example.org r@example.org
ob flush >&2 || fail "flush after recovery exited $?"
assert_eq "$(count_delivered back)" 3 "a plain flush after recovery delivers"
stop_server back

# ---- a bounce that does not fit: the failure waits, nothing is lost --------
start_server srv2 --rcpt-reply "gone@example.org=550 5.1.1 no such user"
mkdir "$T/q2"
write_conf "relay 127.0.0.1:$srv2_PORT" "queue_dir $T/q2" "queue_max_size 1M"
mkmsg big 600000 | sendmail -R full -f sender@example.org gone@example.org ||
    fail "sendmail of the big message exited $?"
ob flush 2> "$T/full.err" || fail "flush with a full map exited $?"
grep -q "bounce not queued" "$T/full.err" ||
    fail "no clear message: $(cat "$T/full.err")"
assert_eq "$(queue_states | awk '{ print $2, $3, $4 }')" \
    "gone@example.org pending 1" "the failure kept pending"
assert_eq "$(count_delivered srv2)" 0 "deliveries with the map full"
write_conf "relay 127.0.0.1:$srv2_PORT" "queue_dir $T/q2" "queue_max_size 64M"
ob flush --all >&2 || fail "flush with room exited $?"
assert_eq "$(dsn_files srv2 | wc -l | tr -d ' ')" 1 "DSNs once there is room"
dsn_check "$(dsn_files srv2)" failed gone@example.org 5.1.1
assert_eq "$(queue_count)" 0 "queue at the end"
exit 0
