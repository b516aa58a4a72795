#!/bin/sh
# run.sh - build the libFuzzer targets with clang and run each for a while.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS (default 10) is each target's -max_total_time (0: build only,
# then run each target once over its seed corpus); TARGET is a name
# such as "msg" or "fuzz_msg" (default: every tests/fuzz/fuzz_*.c).
# Environment:
#   SRCDIR      the source tree (default: the repository holding this script)
#   FUZZ_BUILD  where binaries, working corpora and findings go (default: a
#               new temporary directory, kept and printed at the end)
#   CC          a clang with libFuzzer (default clang)
#   FUZZ_MERGE  1: merge inputs that found new coverage back into the
#               checked-in corpus tests/fuzz/corpus/TARGET (default: no; the
#               run works on a copy)
#   FUZZ_JOBS   parallel compiler jobs (default 4)
#   FUZZ_ARGS   extra libFuzzer options for every run
# Prints per target: runs, execs/s, coverage, and "no findings" or the
# path of the crashing input.  Exits 1 when any target found something,
# 2 when a build failed.
set -u

secs=${1:-10}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$here/../.." && pwd)}
CC=${CC:-clang}
FUZZ_MERGE=${FUZZ_MERGE:-0}
FUZZ_ARGS=${FUZZ_ARGS:-}
FUZZ_JOBS=${FUZZ_JOBS:-4}
fdir=$SRCDIR/tests/fuzz
sdir=$SRCDIR/src

case $secs in
''|*[!0-9]*) echo "run.sh: SECONDS must be a number, not '$secs'" >&2; exit 2;;
esac

# The targets and what each links besides util.c and log.c.
srcs() {
	case $1 in
	fuzz_msg)	echo msg.c addr.c ;;
	fuzz_addr)	echo addr.c ;;
	fuzz_reply)	echo smtp_reply.c ;;
	fuzz_smtpc)	echo smtpc.c auth.c smtp_reply.c mime8.c ;;
	fuzz_conf)	echo conf.c tlspol.c ;;
	fuzz_dsn)	echo dsn.c ;;
	fuzz_mime8)	echo mime8.c ;;
	fuzz_auth)	echo auth.c ;;
	fuzz_tlspol)	echo tlspol.c ;;
	fuzz_smtpd)	echo smtpd.c addr.c ;;
	*)		return 1 ;;
	esac
}
libs() {
	case $1 in
	fuzz_smtpc|fuzz_auth)
		pkg-config --libs gnutls 2>/dev/null || echo -lgnutls ;;
	esac
}

if [ $# -eq 0 ]; then
	set --
	for f in "$fdir"/fuzz_*.c; do
		set -- "$@" "$(basename "$f" .c)"
	done
fi
targets=
for t in "$@"; do
	case $t in fuzz_*) ;; *) t=fuzz_$t ;; esac
	if ! srcs "$t" >/dev/null || [ ! -f "$fdir/$t.c" ]; then
		echo "run.sh: unknown target '$t'" >&2
		exit 2
	fi
	targets="$targets $t"
done

if [ -z "${FUZZ_BUILD:-}" ]; then
	FUZZ_BUILD=$(mktemp -d "${TMPDIR:-/tmp}/outbox-fuzz.XXXXXX") || exit 2
fi
mkdir -p "$FUZZ_BUILD/include" "$FUZZ_BUILD/findings" || exit 2

# What configure would put in config.h for these files.
cat > "$FUZZ_BUILD/include/config.h" <<'EOF'
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifndef _ALL_SOURCE
#define _ALL_SOURCE 1
#endif
#define PACKAGE "outbox"
#define PACKAGE_NAME "outbox"
#define PACKAGE_VERSION "fuzz"
#define VERSION "fuzz"
EOF

# The \" stay in the words on purpose: -DSYSCONFDIR="/etc" for the compiler.
# shellcheck disable=SC2089
CFLAGS="-g -O1 -fno-omit-frame-pointer -std=c11 \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
-I$FUZZ_BUILD/include -I$sdir $(pkg-config --cflags gnutls 2>/dev/null) \
-DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DLIBEXECDIR=\"/usr/libexec/outbox\""

# Build, FUZZ_JOBS at a time.
echo "building into $FUZZ_BUILD"
build_fail=0
n=0
for t in $targets; do
	files="$fdir/$t.c $sdir/util.c $sdir/log.c"
	for s in $(srcs "$t"); do files="$files $sdir/$s"; done
	# shellcheck disable=SC2086,SC2090,SC2046
	( $CC $CFLAGS -o "$FUZZ_BUILD/$t" $files $(libs "$t") \
	    > "$FUZZ_BUILD/$t.build.log" 2>&1 || echo failed \
	    > "$FUZZ_BUILD/$t.build.failed" ) &
	n=$((n + 1))
	if [ $n -ge "$FUZZ_JOBS" ]; then wait; n=0; fi
done
wait
for t in $targets; do
	if [ -f "$FUZZ_BUILD/$t.build.failed" ]; then
		echo "$t: BUILD FAILED"; cat "$FUZZ_BUILD/$t.build.log"
		build_fail=1
	elif [ -s "$FUZZ_BUILD/$t.build.log" ]; then
		echo "$t: build warnings:"; cat "$FUZZ_BUILD/$t.build.log"
	fi
done
[ $build_fail -eq 0 ] || exit 2

found=0
printf '%-12s %10s %9s %6s %7s  %s\n' target runs execs/s cov ft result
for t in $targets; do
	name=${t#fuzz_}
	seeds=$fdir/corpus/$name
	work=$FUZZ_BUILD/corpus/$name
	out=$FUZZ_BUILD/findings/$name-
	log=$FUZZ_BUILD/$t.log
	rm -rf "$work"
	mkdir -p "$work"
	[ -d "$seeds" ] && cp -p "$seeds"/* "$work"/ 2>/dev/null
	# The work copy is the corpus libFuzzer grows; the seeds are only read.
	if [ "$secs" -eq 0 ]; then
		limit=-runs=0		# the seeds only
	else
		limit=-max_total_time=$secs
	fi
	# shellcheck disable=SC2086
	(cd "$FUZZ_BUILD" && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	    "./$t" "$limit" -max_len=65536 -timeout=25 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out" \
	    $FUZZ_ARGS "$work" > "$log" 2>&1)
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	if [ $rc -eq 0 ] && [ -z "$art" ]; then
		res="no findings"
	else
		found=1
		res="FINDING (exit $rc): ${art:-see $log}"
	fi
	printf '%-12s %10s %9s %6s %7s  %s\n' "$t" "${runs:-?}" "${eps:-?}" \
	    "${cov:-?}" "${ft:-?}" "$res"
	if [ $rc -ne 0 ] || [ -n "$art" ]; then
		grep -m1 -E 'ERROR: |runtime error|==ERROR|deadly signal' \
		    "$log" | sed 's/^/    /'
	fi
	if [ "$FUZZ_MERGE" = 1 ]; then
		mkdir -p "$seeds"
		"$FUZZ_BUILD/$t" -merge=1 -max_len=65536 "$seeds" "$work" \
		    > "$FUZZ_BUILD/$t.merge.log" 2>&1 ||
		    echo "    merge failed: see $FUZZ_BUILD/$t.merge.log"
	fi
done
echo "logs, corpora and findings: $FUZZ_BUILD"
exit $found
