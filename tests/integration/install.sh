#!/bin/sh
# install: `make install DESTDIR=...` puts outbox, outbox-deliver, both man
# pages and the example configuration in place; with
# --enable-sendmail-links also sendmail, mailq and newaliases, which work
# by their names (a message submitted as `sendmail` is listed by `mailq`;
# `newaliases` says there is nothing to rebuild); `make uninstall` takes
# it all away again.  (Issue 8, first slice: the setgid submission and
# the non-root user come next.)
. "$TESTLIB"

b=$(cd "$(dirname "$OUTBOX")/.." && pwd)
[ -f "$b/Makefile" ] || skip "no build directory around $OUTBOX"
root=$T/root
${MAKE:-make} -s -C "$b" install DESTDIR="$root" > "$T/install.log" 2>&1 ||
    fail "make install: $(tail -5 "$T/install.log")"

bin=$(find "$root" -path '*/bin/outbox' -type f | head -1)
[ -n "$bin" ] && [ -x "$bin" ] || fail "no outbox installed: $(find "$root")"
bindir=$(dirname "$bin")
find "$root" -path '*/outbox/outbox-deliver' -type f -perm -u+x | grep -q . ||
    fail "no outbox-deliver in libexec"
find "$root" -path '*/man8/outbox.8' | grep -q . || fail "no outbox(8)"
find "$root" -path '*/man5/outbox.conf.5' | grep -q . || fail "no outbox.conf(5)"
ex=$(find "$root" -name outbox.conf.example)
[ -n "$ex" ] || fail "no example configuration"
# the example is a configuration outbox reads without a complaint
mkdir -p "$T/queue"
{ cat "$ex"; echo "queue_dir $T/queue"; echo "log stderr"; } > "$T/example.conf"
OUTBOX_CONF=$T/example.conf "$bin" config --check > "$T/check.out" 2>&1 ||
    fail "the example configuration: $(cat "$T/check.out")"

# configured with --enable-sendmail-links
if grep -q '^SENDMAIL_LINKS = yes' "$b/Makefile"; then
	sm=$(find "$root" -path '*/sbin/sendmail')
	[ -L "$sm" ] || fail "no sbin/sendmail link"
	# the link names the installed path (outside DESTDIR)
	assert_eq "$root$(readlink "$sm")" "$bin" "sendmail link target"
	[ -L "$bindir/mailq" ] && [ -L "$bindir/newaliases" ] ||
	    fail "no mailq/newaliases links"
	write_conf
	# sendmail by its name: a link of our own to the installed binary
	ln -s "$bin" "$T/sendmail"
	printf 'Subject: installed\n\nhello\n' |
	    "$T/sendmail" -f a@example.org b@example.org ||
	    fail "sendmail (installed) exited $?"
	"$bindir/mailq" > "$T/mailq.out" 2>&1 || fail "mailq exited $?"
	grep -q '<b@example.org>' "$T/mailq.out" ||
	    fail "mailq does not list the message: $(cat "$T/mailq.out")"
	"$bindir/newaliases" > "$T/na.out" 2>&1 || fail "newaliases exited $?"
	grep -q 'nothing to rebuild' "$T/na.out" ||
	    fail "newaliases: $(cat "$T/na.out")"
else
	echo "built without --enable-sendmail-links: the links are not checked"
fi

${MAKE:-make} -s -C "$b" uninstall DESTDIR="$root" > "$T/uninstall.log" 2>&1 ||
    fail "make uninstall: $(tail -5 "$T/uninstall.log")"
left=$(find "$root" \( -type f -o -type l \))
assert_eq "$left" "" "files left after make uninstall"
