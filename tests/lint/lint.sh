#!/bin/sh
# lint.sh - static analysis gate: cppcheck and clang-tidy, zero findings.
#
#   tests/lint/lint.sh BUILDDIR
#
# BUILDDIR is a configured build directory (it holds config.h; its Makefile
# gives GNUTLS_CFLAGS and CHECK_CFLAGS when present).  The configuration is
# checked in: .clang-tidy at the top of the tree and tests/lint/outbox.cfg
# (the cppcheck library file).
# Environment:
#   SRCDIR      the source tree (default: the repository holding this script)
#   CPPCHECK    cppcheck binary (default cppcheck; 2.10 is what CI uses)
#   CLANG_TIDY  clang-tidy binary (default clang-tidy; 14 is what CI uses)
#   LINT_JOBS   parallel clang-tidy processes (default: number of CPUs)
#   LINT_UNIT   0: leave tests/unit/*.c out of clang-tidy (default 1)
#   LINT_FUZZ   0: leave tests/fuzz/*.c out of clang-tidy (default 1;
#               cppcheck always reads them)
# Prints every finding and a per-check summary.  Exits 0 when both tools
# are clean, 1 on any finding, 2 when a tool is missing or BUILDDIR is wrong.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
builddir=$(cd "$1" 2>/dev/null && pwd) || {
	echo "lint: no such directory: $1" >&2
	exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$here/../.." && pwd)}
CPPCHECK=${CPPCHECK:-cppcheck}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
LINT_JOBS=${LINT_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
LINT_UNIT=${LINT_UNIT:-1}
LINT_FUZZ=${LINT_FUZZ:-1}

if [ ! -f "$builddir/config.h" ]; then
	echo "lint: $builddir/config.h missing: run configure there first" >&2
	exit 2
fi
for tool in "$CPPCHECK" "$CLANG_TIDY"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "lint: $tool not found" >&2
		exit 2
	fi
done

# A variable from the build's Makefile (empty when absent).
mkvar() {
	[ -f "$builddir/Makefile" ] || return 0
	sed -n "s/^$1 = *//p" "$builddir/Makefile" | head -n 1
}

gnutls_cflags=$(mkvar GNUTLS_CFLAGS)
if [ -z "$gnutls_cflags" ] && command -v pkg-config >/dev/null 2>&1; then
	gnutls_cflags=$(pkg-config --cflags gnutls 2>/dev/null)
fi
check_cflags=$(mkvar CHECK_CFLAGS)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/outbox-lint.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

cd "$SRCDIR" || exit 2
start=$(date +%s)
status=0

# ---- cppcheck ------------------------------------------------------------
cfiles="src/*.c tests/*.c tests/unit/*.c"
ls tests/fuzz/*.c >/dev/null 2>&1 && cfiles="$cfiles tests/fuzz/*.c"
echo "== cppcheck ($("$CPPCHECK" --version))"
# shellcheck disable=SC2086 # the globs are meant to expand
"$CPPCHECK" --quiet --enable=warning,performance,portability \
	--inline-suppr --std=c11 -I src -I "$builddir" \
	--library=tests/lint/outbox.cfg -j "$LINT_JOBS" \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	--error-exitcode=1 $cfiles >"$tmp/cppcheck.out" 2>&1
cc_rc=$?
cat "$tmp/cppcheck.out"
cc_n=$(grep -c ': \(error\|warning\|performance\|portability\|style\): ' \
	"$tmp/cppcheck.out")
if [ $cc_rc -ne 0 ] || [ "$cc_n" -ne 0 ]; then
	echo "cppcheck: $cc_n finding(s) (exit $cc_rc)"
	status=1
else
	echo "cppcheck: clean"
fi

# ---- clang-tidy ----------------------------------------------------------
# The flags the build uses (Makefile.am AM_CPPFLAGS and per-target CFLAGS);
# the union is harmless for every file.  The directory defines only need to
# be string literals.
tfiles="src/*.c tests/*.c"
[ "$LINT_UNIT" = 1 ] && tfiles="$tfiles tests/unit/*.c"
[ "$LINT_FUZZ" = 1 ] && ls tests/fuzz/*.c >/dev/null 2>&1 &&
	tfiles="$tfiles tests/fuzz/*.c"
echo "== clang-tidy ($("$CLANG_TIDY" --version | sed -n 's/.*LLVM version //p'))"
cat >"$tmp/flags" <<EOF
-DHAVE_CONFIG_H
-I$builddir
-I$SRCDIR/src
-DSYSCONFDIR="/usr/local/etc"
-DLOCALSTATEDIR="/usr/local/var"
-DLIBEXECDIR="/usr/local/libexec/outbox"
-DGOLDEN_DIR="$SRCDIR/tests/unit/golden"
-Wall
-Wextra
-Wshadow
-Wpointer-arith
-Wstrict-prototypes
-Wmissing-prototypes
-Wformat=2
-Wno-unused-parameter
EOF
for f in $gnutls_cflags $check_cflags; do
	echo "$f" >>"$tmp/flags"
done
# One clang-tidy per file (several files in one process trip a clang 14
# analyzer false positive), LINT_JOBS at a time, the largest files first;
# each writes its own log.
# (The file names are plain: ls and xargs are safe here.)
# shellcheck disable=SC2086,SC2011,SC2016
ls -S $tfiles | xargs -P "$LINT_JOBS" -n 1 sh -c '
	tmp=$1 tidy=$2 f=$3
	log="$tmp/tidy.$(echo "$f" | tr / _).log"
	# shellcheck disable=SC2046
	"$tidy" --quiet --header-filter="^$(pwd)/src/" "$f" -- \
		$(cat "$tmp/flags") >"$log" 2>&1
	echo $? >"$log.rc"
' lint "$tmp" "$CLANG_TIDY"
# A header finding shows up once per file including it: print each once.
cat "$tmp"/tidy.*.log | grep -v -e '^[0-9]* warnings\? generated' \
	-e '^[0-9]* warnings\? and [0-9]* errors\? generated' \
	-e '^Suppressed [0-9]* warnings' \
	-e '^Use -header-filter=' \
	-e '^Error while processing' >"$tmp/tidy.out"
grep -E ': (warning|error): ' "$tmp/tidy.out" | sort -u >"$tmp/tidy.findings"
cat "$tmp/tidy.out"
ct_n=$(wc -l <"$tmp/tidy.findings")
ct_fail=$(grep -lv '^0$' "$tmp"/tidy.*.rc 2>/dev/null | wc -l)
nfiles=$(find "$tmp" -name 'tidy.*.rc' | wc -l)
if [ "$ct_n" -ne 0 ] || [ "$ct_fail" -ne 0 ]; then
	echo "clang-tidy: $ct_n finding(s) in $nfiles files," \
		"$ct_fail file(s) failed; by check:"
	sed -n 's/.*\[\([^],]*\)[^]]*\]$/\1/p' "$tmp/tidy.findings" |
		sort | uniq -c | sort -rn
	status=1
else
	echo "clang-tidy: clean ($nfiles files)"
fi

echo "== lint: $( [ $status -eq 0 ] && echo clean || echo FAILED )" \
	"in $(( $(date +%s) - start ))s"
exit $status
