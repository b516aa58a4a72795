#!/bin/sh
# valgrind.sh BUILDDIR [TEST...] - run integration tests with every outbox
# and outbox-deliver process (background deliveries, and the daemon's
# forked children: its workers and the SMTP listener) under valgrind
# memcheck, and fail on any invalid read or write, use of uninitialised
# memory, or definite leak.  The default set covers submission (sendmail,
# sendmail -bs), delivery with results and bounces, the admin commands,
# TLS and AUTH on both sides (relay client, listener), and MX delivery.
set -u
b=$(cd "${1:?usage: tests/valgrind.sh BUILDDIR [TEST...]}" && pwd)
shift
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- send_t results bounces admin relay_auth send_bs listen_auth \
    mx_delivery outbox_test stats flush_quiet
command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: no valgrind" >&2; exit 77; }
w=$(mktemp -d "${TMPDIR:-/tmp}/outbox-vg.XXXXXX")
trap 'rm -rf "$w"' EXIT
mkdir "$w/logs"
for prog in outbox outbox-deliver; do
	cat > "$w/$prog" <<EOF2
#!/bin/sh
exec valgrind -q --tool=memcheck --leak-check=full \\
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \\
    --track-origins=no --child-silent-after-fork=no \\
    --log-file="$w/logs/vg.%p" "$b/src/$prog" "\$@"
EOF2
	chmod +x "$w/$prog"
done
rc=0
for t in "$@"; do
	if OUTBOX="$w/outbox" OUTBOX_DELIVER="$w/outbox-deliver" \
	    FAKESMTPD="$b/tests/fakesmtpd" TLSPROBE="$b/tests/tlsprobe" \
	    TESTLIB="$top/tests/integration/lib.sh" WAIT_TIMEOUT=60 \
	    ${SHELL:-/bin/sh} "$top/tests/integration/$t.sh" \
	    > "$w/$t.out" 2>&1; then
		echo "valgrind: PASS $t"
	else
		echo "valgrind: FAIL $t (the test itself)"
		tail -n 30 "$w/$t.out"
		rc=1
	fi
done
# every report that is not empty is a finding
bad=0
for f in "$w"/logs/vg.*; do
	[ -s "$f" ] || continue
	bad=$((bad + 1))
	echo "======== $f"
	cat "$f"
done
n=$(ls "$w"/logs | wc -l)
echo "valgrind: $n processes checked, $bad with findings"
[ "$bad" -eq 0 ] || rc=1
exit $rc
