#!/bin/sh
# exit_codes: every refusal of the command line has its sysexits code, a
# message on stderr, and leaves nothing queued; ignored sendmail flags are
# accepted; aliases rewrite local recipients; config errors are all
# reported as FILE:LINE: key: problem.
. "$TESTLIB"

start_server srv
write_conf

printf 'Subject: exit codes\n\nbody\n' > "$T/msg"

# expect CODE WHAT CMD...: run CMD with $T/msg on stdin; its status must be
# CODE and, for a failure, stderr must say something.
expect() {
	code=$1 what=$2
	shift 2
	rc=0
	"$@" < "$T/msg" > "$T/out" 2> "$T/err" || rc=$?
	if [ "$rc" -ne "$code" ]; then
		cat "$T/err" >&2
		fail "$what: exit $rc, expected $code"
	fi
	if [ "$code" -ne 0 ] && [ ! -s "$T/err" ]; then
		fail "$what: exit $rc but nothing on stderr"
	fi
}

# ---- usage errors: 64 ------------------------------------------------------
expect 64 "unknown flag" sendmail -Z rcpt@example.org
grep -qi usage "$T/err" || fail "no usage text for an unknown flag"
expect 64 "-q with an interval" sendmail -q30m
expect 64 "no recipients" sendmail
expect 64 "no recipients (only -f)" sendmail -f sender@example.org
assert_eq "$(queue_count)" 0 "queue after usage errors"

# ---- data errors: 65 -------------------------------------------------------
expect 65 "address with two @" sendmail 'bad@@example.org'
expect 65 "address with an unclosed quote" sendmail '"open@example.org'
printf 'To: <broken@\nSubject: x\n\nbody\n' > "$T/badhdr"
rc=0
sendmail -t < "$T/badhdr" 2> "$T/err" || rc=$?
assert_eq "$rc" 65 "exit status for an unparsable To with -t"
printf 'Subject: nul\n\nab\000cd\n' > "$T/nul"
rc=0
sendmail rcpt@example.org < "$T/nul" 2> "$T/err" || rc=$?
assert_eq "$rc" 65 "exit status for a NUL byte"
[ -s "$T/err" ] || fail "NUL byte refused without a message"
assert_eq "$(queue_count)" 0 "queue after data errors"

# ---- max_message_size 1K: over it 65, under it queued ----------------------
write_conf "max_message_size 1K"
awk 'BEGIN { printf "Subject: big\n\n"
	for (i = 0; i < 30; i++) printf "%070d\n", 0 }' > "$T/big"
rc=0
sendmail rcpt@example.org < "$T/big" 2> "$T/err" || rc=$?
assert_eq "$rc" 65 "exit status over max_message_size"
[ -s "$T/err" ] || fail "oversized message refused without a message"
assert_eq "$(queue_count)" 0 "queue after the oversized message"
expect 0 "small message under max_message_size" sendmail small@example.org
assert_eq "$(queue_count)" 1 "queue after the small message"

# ---- local recipients: 67 without aliases, rewritten with them ------------
write_conf
expect 67 "local recipient without aliases" sendmail root
expect 67 "local recipient among others" sendmail ok@example.org nosuchuser
assert_eq "$(queue_count)" 1 "queue after EX_NOUSER"
printf '# aliases\nroot: admin@example.org\ndefault: catch@example.org\n' > "$T/aliases"
write_conf "aliases $T/aliases"
expect 0 "aliased recipients" sendmail -f sender@example.org root cronuser remote@example.net
assert_eq "$(queue_count)" 2 "queue after the aliased message"
ob flush >&2 || fail "flush exited $?"
assert_eq "$(queue_count)" 0 "queue after flush"
assert_eq "$(count_delivered srv)" 2 "deliveries"
found=0
for f in $(delivered_files srv); do
	env=${f%.eml}.env
	grep -q 'RCPT TO:<remote@example.net>' "$env" || continue
	found=1
	assert_eq "$(grep '^RCPT TO:' "$env" | sort)" "RCPT TO:<admin@example.org>
RCPT TO:<catch@example.org>
RCPT TO:<remote@example.net>" "envelope after aliasing"
done
[ "$found" = 1 ] || fail "the aliased message was not delivered"

# ---- queue directory missing: 73 -------------------------------------------
printf 'queue_dir %s\nhelo_name test.example\nlog stderr\n' "$T/no/such/dir" > "$T/missing.conf"
expect 73 "queue_dir missing" "$OUTBOX" -C "$T/missing.conf" sendmail rcpt@example.org
[ -e "$T/no" ] && fail "a missing queue_dir was created"

# ---- config errors: 78, every one reported as FILE:LINE: key: problem ------
cat > "$T/bad.conf" <<CONF
queue_dir $T/queue
frobnicate yes
# a comment
connect_timeout banana
helo_name test.example
CONF
for cmd in "config --check" "config" "queue" "sendmail rcpt@example.org"; do
	# shellcheck disable=SC2086
	expect 78 "bad config ($cmd)" "$OUTBOX" -C "$T/bad.conf" $cmd
	grep -q "^$T/bad.conf:2: frobnicate: ." "$T/err" ||
	    fail "$cmd: unknown key not reported as FILE:LINE: key: problem"
	grep -q "^$T/bad.conf:4: connect_timeout: ." "$T/err" ||
	    fail "$cmd: bad value not reported as FILE:LINE: key: problem"
done
assert_eq "$(queue_count)" 0 "queue after config errors"
expect 78 "-C naming a missing file" "$OUTBOX" -C "$T/nonexistent.conf" config --check

# ---- a good config ---------------------------------------------------------
expect 0 "config --check" ob config --check
expect 0 "config" ob config
grep -q "^queue_dir $T/queue\$" "$T/out" || fail "config does not print queue_dir"
grep -q '^connect_timeout ' "$T/out" || fail "config does not print defaults"
grep -q '^relay 127.0.0.1:' "$T/out" || fail "config does not print the relay"
ob config > "$T/printed.conf"
expect 0 "reading back the printed config" "$OUTBOX" -C "$T/printed.conf" config --check

# ---- accepted and ignored flags ---------------------------------------------
expect 0 "ignored flags, separate arguments" sendmail -oi -odb -oem \
    -B 8BITMIME -N never -R hdrs -V x -X /dev/null -U -f sender@example.org \
    ign1@example.org
expect 0 "ignored flags, attached arguments" sendmail -odi -oQ/tmp -em \
    -B8BITMIME -Nsuccess,failure -Rfull -Venvid -X/dev/null -L tag -h 5 \
    -G -n -m -s -fsender@example.org -FName -- ign2@example.org
expect 0 "-r as -f" sendmail -r sender@example.org ign3@example.org
expect 0 "-bi (newaliases)" sendmail -bi
assert_eq "$(queue_count)" 3 "queue after the ignored-flag messages"
exit 0
