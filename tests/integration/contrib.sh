#!/bin/sh
# contrib: the operations files in contrib/ are checked for real.
#  - systemd: `systemd-analyze verify` on the three units (their Exec paths
#    rewritten to the built binaries, their man pages found in doc/), with
#    any warning about them a failure; the hardening's exposure score; the
#    layout the code assumes (user, group, umask, queue path, commands).
#    Then the units' own command lines are run: ExecStart of
#    outbox-flush.service delivers a queued message and prints nothing;
#    ExecStart of outbox.service delivers, survives ExecReload (SIGHUP) and
#    stops with exit 0 on SIGTERM (what `systemctl stop` sends).
#  - cron: the cron.d file's name, variables and fields parse as cron
#    reads them; it runs the same command as outbox-flush.service, as the
#    same user, at the timer's interval; run through its SHELL and PATH it
#    delivers and stays quiet.
#  - syslog: every journald key is one journald knows; the rsyslog snippet
#    passes `rsyslogd -N1` and, with rsyslogd running on a socket of its
#    own, drops outbox's lines and keeps the others; every log identifier
#    the code uses is matched; the journalctl commands in the README parse.
#  - mkdeb (when dpkg-deb is there): the package builds from `make install
#    DESTDIR=...`, and dpkg-deb -I / -c show the control fields, the
#    maintainer scripts (which parse) and every file with its mode.
# What a tool missing here cannot check is said on stdout, and the rest is
# still checked.
. "$TESTLIB"

src=$(cd "$(dirname "$TESTLIB")/../.." && pwd)
c=$src/contrib
sd=$c/systemd
for f in "$sd/outbox.service" "$sd/outbox-flush.service" \
    "$sd/outbox-flush.timer" "$c/cron/outbox" "$c/syslog/README" \
    "$c/syslog/journald-outbox.conf" "$c/syslog/rsyslog-outbox.conf"; do
	[ -f "$f" ] || fail "missing $f"
done

# unit_get FILE KEY: the values of KEY in FILE (uncommented), one a line
unit_get()
{
	sed -n "s/^$2=//p" "$1"
}

# ---- systemd: the layout the code assumes ---------------------------------
for u in outbox.service outbox-flush.service; do
	f=$sd/$u
	assert_eq "$(unit_get "$f" User)" outbox "$u User"
	assert_eq "$(unit_get "$f" Group)" outbox "$u Group"
	assert_eq "$(unit_get "$f" UMask)" 0007 "$u UMask"
	assert_eq "$(unit_get "$f" ReadWritePaths)" /var/spool/outbox \
	    "$u ReadWritePaths"
	assert_eq "$(unit_get "$f" ProtectSystem)" strict "$u ProtectSystem"
	assert_eq "$(unit_get "$f" NoNewPrivileges)" yes "$u NoNewPrivileges"
	# no capabilities: the key is there, uncommented, and empty
	assert_eq "$(grep -c '^CapabilityBoundingSet=$' "$f")" 1 \
	    "$u: one empty CapabilityBoundingSet="
	assert_eq "$(unit_get "$f" RestrictAddressFamilies)" \
	    "AF_UNIX AF_INET AF_INET6" "$u RestrictAddressFamilies"
done
f=$sd/outbox.service
assert_eq "$(unit_get "$f" Type)" simple "outbox.service Type"
assert_eq "$(unit_get "$f" ExecStart)" "/usr/bin/outbox run" \
    "outbox.service ExecStart"
assert_eq "$(unit_get "$f" ExecReload)" '/bin/kill -HUP $MAINPID' \
    "outbox.service ExecReload"
assert_eq "$(unit_get "$f" Restart)" on-failure "outbox.service Restart"
grep -q '^#AmbientCapabilities=CAP_NET_BIND_SERVICE$' "$f" ||
    fail "outbox.service: no commented AmbientCapabilities for port 25"
f=$sd/outbox-flush.service
assert_eq "$(unit_get "$f" Type)" oneshot "outbox-flush.service Type"
flush_cmd=$(unit_get "$f" ExecStart)
assert_eq "$flush_cmd" "/usr/bin/outbox flush" "outbox-flush.service ExecStart"
f=$sd/outbox-flush.timer
assert_eq "$(unit_get "$f" Unit)" outbox-flush.service "timer Unit"
assert_eq "$(unit_get "$f" OnUnitActiveSec)" 5min "timer interval"
[ -n "$(unit_get "$f" OnBootSec)" ] || fail "timer: no OnBootSec"
for f in "$sd/outbox-flush.service" "$sd/outbox-flush.timer" \
    "$sd/outbox.service"; do
	grep -qi 'not both' "$f" ||
	    fail "$(basename "$f"): no word on not enabling both"
done

# ---- systemd: the units' own command lines work ----------------------------
# unit_cmd FILE KEY: its command line with the installed paths replaced by
# the built ones
unit_cmd()
{
	unit_get "$1" "$2" | sed -e "s|/usr/bin/outbox|$OUTBOX|" \
	    -e "s|/usr/libexec/outbox/outbox-deliver|${OUTBOX_DELIVER:-}|"
}

start_server srv
# as contrib/syslog says: the log to syslog (with no syslog daemon here,
# its lines are dropped), so the units' and cron's output is only what the
# command itself prints
write_conf "log syslog"
mkmsg u1 300 r1@example.org |
    "$OUTBOX" sendmail -f a@example.org r1@example.org || fail "submit u1"
# exactly as systemd runs it: no terminal, stdout and stderr captured
cmd=$(unit_cmd "$sd/outbox-flush.service" ExecStart)
rc=0
$cmd > "$T/flush.out" 2>&1 < /dev/null || rc=$?
assert_eq "$rc" 0 "outbox-flush.service ExecStart ($cmd) exit status"
assert_eq "$(count_delivered srv)" 1 "delivered by the flush unit's command"
assert_eq "$(cat "$T/flush.out")" "" "output of the flush unit's command"

# the daemon's command line, its reload and its stop
cmd=$(unit_cmd "$sd/outbox.service" ExecStart)
rm -f "$T/queue/daemon.sock"
# shellcheck disable=SC2086 # the unit's words
setsid $cmd >> "$T/daemon.log" 2>&1 < /dev/null &
DAEMON_PID=$!
_lib_daemon=$DAEMON_PID
wait_for test -S "$T/queue/daemon.sock" ||
    fail "outbox.service ExecStart ($cmd) did not start: $(cat "$T/daemon.log")"
mkmsg u2 300 r2@example.org |
    "$OUTBOX" sendmail -f a@example.org r2@example.org || fail "submit u2"
wait_for sh -c "[ \$(ls '$T'/srv/msg.*.env 2>/dev/null | wc -l) -ge 2 ]" ||
    fail "the unit's daemon did not deliver"
reload=$(unit_get "$sd/outbox.service" ExecReload | sed "s/\\\$MAINPID/$DAEMON_PID/")
$reload || fail "ExecReload ($reload) failed"
sleep 0.3
kill -0 "$DAEMON_PID" 2>/dev/null ||
    fail "the daemon did not survive ExecReload: $(cat "$T/daemon.log")"
mkmsg u3 300 r3@example.org |
    "$OUTBOX" sendmail -f a@example.org r3@example.org || fail "submit u3"
wait_for sh -c "[ \$(ls '$T'/srv/msg.*.env 2>/dev/null | wc -l) -ge 3 ]" ||
    fail "the daemon did not deliver after the reload"
stop_daemon TERM
assert_eq "$DAEMON_RC" 0 "exit status of the daemon on SIGTERM (systemctl stop)"

# ---- systemd: systemd-analyze --------------------------------------------
if ! command -v systemd-analyze > /dev/null 2>&1; then
	echo "systemd-analyze is not installed: the units are not verified"
	echo "by systemd; checking that their Exec paths exist instead"
	for f in "$sd"/*.service; do
		for p in $(unit_cmd "$f" 'Exec[A-Za-z]*' | cut -d' ' -f1); do
			p=${p#[-@:+!]}
			[ -x "$p" ] || fail "$(basename "$f"): $p is not executable"
		done
	done
else
	u=$T/units
	mkdir -p "$u" "$T/man/man8" "$T/man/man5"
	for f in "$sd"/*; do
		sed -e "s|/usr/bin/outbox|$OUTBOX|" "$f" > "$u/$(basename "$f")"
	done
	# Documentation=man:... is checked against the pages in doc/
	cp "$src/doc/outbox.8" "$T/man/man8/"
	cp "$src/doc/outbox.conf.5" "$T/man/man5/"
	rc=0
	(cd "$u" && MANPATH=$T/man systemd-analyze verify ./outbox.service \
	    ./outbox-flush.service ./outbox-flush.timer) > "$T/verify.out" 2>&1 ||
	    rc=$?
	# an unknown key or a bad value is only a warning: any line that
	# names one of our units fails the test
	if [ "$rc" -ne 0 ] || grep -q 'outbox' "$T/verify.out"; then
		fail "systemd-analyze verify (exit $rc): $(cat "$T/verify.out")"
	fi
	[ -s "$T/verify.out" ] &&
	    echo "systemd-analyze verify said (about other units): $(cat "$T/verify.out")"
	echo "systemd-analyze verify: the three units are clean"
	# a unit with a mistake is caught: the check can fail
	printf 'ProtectSytem=strict\n' >> "$u/outbox.service"
	(cd "$u" && MANPATH=$T/man systemd-analyze verify ./outbox.service) \
	    > "$T/verify2.out" 2>&1
	grep -q "Unknown key 'ProtectSytem'" "$T/verify2.out" ||
	    fail "systemd-analyze verify missed a misspelt key: $(cat "$T/verify2.out")"
	sed -i '$d' "$u/outbox.service"
	# the exposure score of the hardening (0 best, 10 worst); 1.5 when
	# written: fail if it gets much worse
	if systemd-analyze security --offline=yes "$u/outbox.service" \
	    > "$T/security.out" 2>&1; then
		score=$(sed -n 's/.*Overall exposure level for outbox.service: \([0-9.]*\).*/\1/p' \
		    "$T/security.out")
		[ -n "$score" ] || fail "no score: $(tail -3 "$T/security.out")"
		echo "systemd-analyze security: outbox.service exposure $score"
		awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
		    fail "outbox.service exposure $score > 2.5: $(grep '✗' "$T/security.out")"
	else
		echo "systemd-analyze security --offline is not supported here:"
		echo "  $(tail -1 "$T/security.out")"
	fi
fi

# ---- cron ------------------------------------------------------------------
cf=$c/cron/outbox
# run-parts naming: cron ignores files in cron.d with dots and the like
case "$(basename "$cf")" in
*[!A-Za-z0-9_-]*) fail "cron.d file name $(basename "$cf") is ignored by cron" ;;
esac
# cron ignores a last line without a newline
[ "$(tail -c 1 "$cf" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "the cron file does not end with a newline"
# cron_check FILE: every line blank, a comment, NAME=value, or a job of
# 5 time fields, a user and a command, the fields as cron(8) takes them;
# exactly one job.  Prints what is wrong; 1 then.
cron_check()
{
	awk -v F="$1" '
function bad(why) { printf "%s:%d: %s: %s\n", F, NR, why, $0; err = 1 }
function num(v, lo, hi) { return v ~ /^[0-9]+$/ && v + 0 >= lo && v + 0 <= hi }
function field(s, lo, hi, names,    n, i, p, r, st, a) {
	n = split(s, p, ",")
	for (i = 1; i <= n; i++) {
		st = split(p[i], a, "/")
		if (st > 2 || (st == 2 && !num(a[2], 1, hi)))
			return 0
		r = a[1]
		if (r == "*")
			continue
		if (names != "" && index(names, " " tolower(r) " "))
			continue
		if (split(r, a, "-") == 2) {
			if (!num(a[1], lo, hi) || !num(a[2], lo, hi) || a[1] + 0 > a[2] + 0)
				return 0
		} else if (!num(r, lo, hi))
			return 0
	}
	return 1
}
/^[ \t]*(#|$)/ { next }
/^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { next }
{
	if (NF < 7) { bad("want 5 time fields, a user and a command"); next }
	if (!field($1, 0, 59, "")) bad("bad minute field")
	if (!field($2, 0, 23, "")) bad("bad hour field")
	if (!field($3, 1, 31, "")) bad("bad day-of-month field")
	if (!field($4, 1, 12, " jan feb mar apr may jun jul aug sep oct nov dec ")) bad("bad month field")
	if (!field($5, 0, 7, " sun mon tue wed thu fri sat ")) bad("bad day-of-week field")
	jobs++
}
END { if (jobs != 1) { printf "%s: %d jobs, want 1\n", F, jobs; err = 1 }; exit err }
' "$1"
}
cron_check "$cf" > "$T/cron.check" || fail "the cron file: $(cat "$T/cron.check")"
# the check can fail: broken lines are refused
for l in '*/5 * * 13 * outbox x' '*/0 * * * * outbox x' '5-2 * * * * outbox x' \
    '* * * * outbox x' '60 * * * * outbox x' '* * 0 * * outbox x'; do
	printf '%s\n' "$l" > "$T/badcron"
	if cron_check "$T/badcron" > /dev/null; then
		fail "cron_check took '$l'"
	fi
done
job=$(grep -v '^[[:space:]]*#' "$cf" | grep -v '^[A-Za-z_][A-Za-z0-9_]*[[:space:]]*=' |
    grep -v '^[[:space:]]*$')
set -f
# shellcheck disable=SC2086 # fields
set -- $job
set +f
assert_eq "$1 $2 $3 $4 $5" "*/5 * * * *" "cron schedule (the timer's 5 minutes)"
assert_eq "$6" outbox "cron user"
shift 6
assert_eq "$*" "$flush_cmd" "cron command (as outbox-flush.service's ExecStart)"
# run as cron does: its SHELL, its PATH, no terminal, output captured (cron
# would mail it): a flush that delivers says nothing
cshell=$(sed -n 's/^SHELL=//p' "$cf")
cpath=$(sed -n 's/^PATH=//p' "$cf")
[ -x "$cshell" ] || fail "cron SHELL $cshell"
mkmsg c1 300 r4@example.org |
    "$OUTBOX" sendmail -f a@example.org r4@example.org || fail "submit c1"
n0=$(count_delivered srv)
cmd=$(printf '%s' "$*" | sed "s|/usr/bin/outbox|$OUTBOX|")
rc=0
env -i PATH="$cpath" OUTBOX_CONF="$OUTBOX_CONF" \
    ${OUTBOX_DELIVER:+OUTBOX_DELIVER="$OUTBOX_DELIVER"} \
    "$cshell" -c "$cmd" > "$T/cron.out" 2>&1 < /dev/null || rc=$?
assert_eq "$rc" 0 "the cron command's exit status"
assert_eq "$(count_delivered srv)" $((n0 + 1)) "delivered by the cron command"
assert_eq "$(cat "$T/cron.out")" "" "what cron would mail after a good run"

# ---- syslog ------------------------------------------------------------------
# the identifiers the code logs under, from the source
idents=$(sed -n -e 's/.*cmd_conf([^,]*, "\([^"]*\)").*/\1/p' \
    -e 's/.*log_init("\([^"]*\)".*/\1/p' "$src"/src/*.c | sort -u)
[ -n "$idents" ] || fail "no log identifiers found in $src/src"
for id in $idents; do
	grep -q "\"$id\"" "$c/syslog/rsyslog-outbox.conf" ||
	    fail "rsyslog-outbox.conf does not match identifier $id"
	grep -m 1 '^    journalctl -t' "$c/syslog/README" |
	    grep -Eq -- "-t $id( |\$)" ||
	    fail "contrib/syslog/README's first journalctl misses -t $id"
done
echo "log identifiers in the code: $(echo "$idents" | tr "\n" " ")"

# journald: every key in its section is one systemd-journald knows (its
# key table, "Journal.Key", is in the binary)
jd=$(for d in /lib/systemd /usr/lib/systemd; do
	[ -x "$d/systemd-journald" ] && echo "$d/systemd-journald" && break
done)
jf=$c/syslog/journald-outbox.conf
assert_eq "$(grep '^\[' "$jf")" "[Journal]" "journald drop-in sections"
if [ -n "$jd" ]; then
	for k in $(sed -n 's/^\([A-Za-z]*\)=.*/\1/p' "$jf"); do
		grep -q -a "Journal\.$k" "$jd" ||
		    fail "journald-outbox.conf: $k is not a journald key ($jd)"
	done
	grep -q -a "Journal\.Storaeg" "$jd" && fail "self-check: bogus key found"
	echo "journald-outbox.conf: keys known to $jd"
else
	echo "systemd-journald is not installed: journald keys not checked"
fi
assert_eq "$(unit_get "$jf" Storage)" persistent "journald Storage"

# journalctl: each command of the README parses (against an empty journal)
if command -v journalctl > /dev/null 2>&1; then
	mkdir -p "$T/journal"
	sed -n 's/^    \(journalctl .*\)/\1/p' "$c/syslog/README" | sed 's/  *#.*//' |
	while IFS= read -r line; do
		eval "set -- ${line#journalctl }"
		journalctl --directory="$T/journal" --no-pager "$@" \
		    > "$T/jc.out" 2>&1 || true
		if grep -Eqi 'unrecognized|invalid|failed to parse|unknown' "$T/jc.out"; then
			fail "README: '$line': $(cat "$T/jc.out")"
		fi
	done
	echo "journalctl: the README's commands parse"
else
	echo "journalctl is not installed: the README's commands not checked"
fi

# rsyslog: syntax, then the filter at work on a socket of its own
rs=$c/syslog/rsyslog-outbox.conf
if command -v rsyslogd > /dev/null 2>&1; then
	cat > "$T/rsyslog.conf" <<EOF
global(workDirectory="$T")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/log.sock")
\$IncludeConfig $rs
mail.* action(type="omfile" file="$T/mail.log")
user.* action(type="omfile" file="$T/user.log")
EOF
	rsyslogd -N1 -f "$T/rsyslog.conf" > "$T/rsn.out" 2>&1 ||
	    fail "rsyslogd -N1: $(cat "$T/rsn.out")"
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" \
	    > "$T/rsyslogd.log" 2>&1 &
	rpid=$!
	wait_for test -S "$T/log.sock" || {
		kill "$rpid" 2>/dev/null
		fail "rsyslogd did not start: $(cat "$T/rsyslogd.log")"
	}
	for id in $idents outbox-deliver other; do
		logger -u "$T/log.sock" -t "$id" -p mail.info "mail line from $id"
		logger -u "$T/log.sock" -t "$id" -p user.info "user line from $id"
	done
	wait_for grep -q 'user line from other' "$T/user.log" 2>/dev/null
	sleep 0.2
	kill "$rpid"
	wait "$rpid" 2>/dev/null
	assert_eq "$(sed 's/.*: //' "$T/mail.log")" "mail line from other" \
	    "mail.* lines rsyslog still writes"
	# other facilities are not touched
	assert_eq "$(wc -l < "$T/user.log")" $(($(echo "$idents" | wc -l) + 2)) \
	    "user.* lines rsyslog writes"
	echo "rsyslog-outbox.conf: outbox's mail lines dropped, others kept"
else
	echo "rsyslogd is not installed: rsyslog-outbox.conf not checked" \
	    "(apt-get install rsyslog)"
fi

# ---- mkdeb -----------------------------------------------------------------
if [ ! -f "$c/mkdeb" ]; then
	echo "no contrib/mkdeb: the package is not checked"
	exit 0
fi
command -v dpkg-deb > /dev/null 2>&1 || {
	echo "dpkg-deb is not installed: contrib/mkdeb is not checked"
	exit 0
}
[ -x "$src/configure" ] || {
	echo "no $src/configure: contrib/mkdeb is not checked"
	exit 0
}
# it configures and builds the source tree again, out of tree (about 15 s)
sh "$c/mkdeb" -o "$T/deb" > "$T/mkdeb.log" 2>&1 ||
    fail "contrib/mkdeb: $(tail -5 "$T/mkdeb.log")"
deb=$(ls "$T"/deb/outbox_*.deb 2>/dev/null)
[ -n "$deb" ] && [ "$(echo "$deb" | wc -l)" -eq 1 ] ||
    fail "contrib/mkdeb made no single .deb: $(ls "$T/deb")"
dpkg-deb -I "$deb" > "$T/info" || fail "dpkg-deb -I"
for k in Package Version Architecture Maintainer Depends Description; do
	grep -q "^ $k: " "$T/info" || fail "control: no $k: $(cat "$T/info")"
done
grep -q '^ Package: outbox$' "$T/info" || fail "control: Package"
grep -q '^ Provides:.*mail-transport-agent' "$T/info" ||
    fail "control: no Provides: mail-transport-agent"
grep -q '^ Conflicts:.*mail-transport-agent' "$T/info" ||
    fail "control: no Conflicts: mail-transport-agent"
grep -q '^ Depends:.*adduser' "$T/info" || fail "control: adduser not in Depends"
mkdir -p "$T/ctl"
dpkg-deb -e "$deb" "$T/ctl" || fail "dpkg-deb -e"
for s in postinst postrm; do
	[ -x "$T/ctl/$s" ] || fail "no executable $s"
	sh -n "$T/ctl/$s" || fail "$s: syntax error"
done
grep -q 'adduser --system.*--group.*outbox' "$T/ctl/postinst" ||
    fail "postinst does not create the system user and group outbox"
grep -q 'dpkg-statoverride --update --add root outbox 2755 /usr/bin/outbox' \
    "$T/ctl/postinst" || fail "postinst: no setgid override of /usr/bin/outbox"
grep -q 'dpkg-statoverride --update --add outbox outbox 2770 /var/spool/outbox' \
    "$T/ctl/postinst" || fail "postinst: no override of the queue directory"
grep -q 'conffiles' "$T/info" || fail "no conffiles"
dpkg-deb -c "$deb" > "$T/contents" || fail "dpkg-deb -c"
# mode owner path, for the files that matter
want="-rwxr-xr-x root/root ./usr/bin/outbox
-rwxr-xr-x root/root ./usr/libexec/outbox/outbox-deliver
-rw-r--r-- root/root ./usr/share/man/man8/outbox.8.gz
-rw-r--r-- root/root ./usr/share/man/man5/outbox.conf.5.gz
-rw-r--r-- root/root ./etc/outbox.conf
-rw-r--r-- root/root ./lib/systemd/system/outbox.service
-rw-r--r-- root/root ./lib/systemd/system/outbox-flush.service
-rw-r--r-- root/root ./lib/systemd/system/outbox-flush.timer
-rw-r--r-- root/root ./usr/share/doc/outbox/examples/cron.d-outbox
-rw-r--r-- root/root ./usr/share/doc/outbox/copyright
drwxr-xr-x root/root ./var/spool/outbox/"
echo "$want" | while read -r mode owner path; do
	awk -v m="$mode" -v o="$owner" -v p="$path" \
	    '$1 == m && $2 == o && $NF == p { f = 1 } END { exit !f }' \
	    "$T/contents" || fail "package: want $mode $owner $path; has:
$(grep -F "$path" "$T/contents")"
done
# no file of the build machine leaks in, and nothing is setuid in the
# archive itself (the setgid bit comes from dpkg-statoverride)
grep -Eq ' \./(tmp|home|root|work)/' "$T/contents" && fail "stray paths: $(cat "$T/contents")"
awk '$1 ~ /s/ { print; f = 1 } END { exit !f }' "$T/contents" &&
    fail "setuid/setgid modes in the archive"
# the example cron file is not active: it is the contrib one
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/outbox/examples/cron.d-outbox |
    cmp -s - "$cf" || fail "the packaged cron example differs from contrib/cron/outbox"
echo "contrib/mkdeb: $(basename "$deb") checked ($(wc -l < "$T/contents") entries)"
