#!/bin/sh
# dns_lookup: dns.c against a real DNS server (dnsmasq on a loopback
# port), through tests/dnsprobe: MX preference order, ties shuffled,
# implicit MX, null MX alone and next to real ones, NXDOMAIN, NODATA,
# SERVFAIL / REFUSED / timeout classified temporary with the name and
# record type in the text, CNAMEs followed, AAAA before A, ip_version,
# address literals, and a server given as [::1]:PORT.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"
# shellcheck source=tests/integration/dnsmasq.sh
. "$(dirname "$TESTLIB")/dnsmasq.sh"
DNSPROBE=${DNSPROBE:-$(dirname "$FAKESMTPD")/dnsprobe}
[ -x "$DNSPROBE" ] || fail "no dnsprobe at $DNSPROBE"

start_dnsmasq dns \
    --mx-host=a.test,mx1.a.test,10 --mx-host=a.test,mx2.a.test,20 \
    --host-record=mx1.a.test,127.0.0.2,::1 \
    --host-record=mx2.a.test,127.0.0.3 \
    --mx-host=tie.test,t1.tie.test,10 --mx-host=tie.test,t2.tie.test,10 \
    --mx-host=tie.test,first.tie.test,5 \
    --host-record=implicit.test,127.0.0.4 \
    --dns-rr=null.test,15,000000 \
    --dns-rr=nullmix.test,15,000000 --mx-host=nullmix.test,mx1.a.test,10 \
    --txt-record=txt.test,"no mail here" \
    --cname=mxalias.test,a.test --cname=www.test,mx1.a.test \
    --cname=c1.test,c2.test --cname=c2.test,mx2.a.test

# shellcheck disable=SC2154 # dns_PORT: set by start_dnsmasq
SERVER=127.0.0.1:$dns_PORT

# probe WANT_RC WANT_OUTPUT [dnsprobe args]: run a lookup, compare
probe()
{
	_p_rc=$1
	_p_want=$2
	shift 2
	_p_got=$("$DNSPROBE" --server "$SERVER" --timeout 2000 "$@" \
	    2>>"$T/probe.err") && _p_st=0 || _p_st=$?
	assert_eq "$_p_got" "$_p_want" "dnsprobe $*"
	assert_eq "$_p_st" "$_p_rc" "dnsprobe $* exit status"
}

nl='
'
# MX in preference order; TTLs come through
probe 0 "OK${nl}10 mx1.a.test 300${nl}20 mx2.a.test 300" mx a.test
# a trailing dot and other case change nothing
probe 0 "OK${nl}10 mx1.a.test 300${nl}20 mx2.a.test 300" mx A.Test.
# a CNAME at the domain is followed
probe 0 "OK${nl}10 mx1.a.test 300${nl}20 mx2.a.test 300" mx mxalias.test
# no MX, an address: the implicit MX (RFC 5321 5.1)
probe 0 "OK${nl}0 implicit.test 300" mx implicit.test
# null MX (RFC 7505): permanent, 5.1.10; ignored next to a real MX
probe 1 "NULLMX${nl}perm 5.1.10 MX lookup of null.test: null MX: the domain accepts no mail (RFC 7505)" \
    mx null.test
probe 0 "OK${nl}10 mx1.a.test 300" mx nullmix.test
# NXDOMAIN: permanent, 5.1.2
probe 1 "NXDOMAIN${nl}perm 5.1.2 MX lookup of nosuch.test: NXDOMAIN (no such domain)" \
    mx nosuch.test
# the name exists, with neither MX nor address
probe 1 "NODATA${nl}perm 5.4.4 MX lookup of txt.test: no MX records and no address records" \
    mx txt.test
# server failures are temporary and name the lookup
probe 1 "TEMP${nl}temp 4.4.3 MX lookup of x.sf.test: SERVFAIL" mx x.sf.test
probe 1 "TEMP${nl}temp 4.4.3 MX lookup of rf.test: REFUSED" mx rf.test
start=$(date +%s)
probe 1 "TEMP${nl}temp 4.4.3 MX lookup of x.to.test: timed out" \
    --timeout 1000 mx x.to.test
probe 1 "TEMP${nl}temp 4.4.3 A lookup of mx.to.test: timed out" \
    --timeout 1000 --ip 4 addrs mx.to.test
[ $(( $(date +%s) - start )) -le 6 ] || fail "the timeouts took too long"
# not a domain name: no lookup
probe 1 "BADNAME${nl}perm 5.1.2 MX lookup of bad..test: not a valid domain name" \
    mx bad..test

# equal preferences are shuffled, the lower one always comes first
seen1=0 seen2=0 i=0
while [ "$i" -lt 40 ]; do
	out=$("$DNSPROBE" --server "$SERVER" mx tie.test) || fail "tie.test: $out"
	assert_eq "$(echo "$out" | sed -n 2p)" "5 first.tie.test 300" "tie first"
	case $(echo "$out" | sed -n 3p) in
	"10 t1.tie.test 300") seen1=$((seen1 + 1)) ;;
	"10 t2.tie.test 300") seen2=$((seen2 + 1)) ;;
	*) fail "tie.test: $out" ;;
	esac
	i=$((i + 1))
done
if [ "$seen1" -eq 0 ] || [ "$seen2" -eq 0 ]; then
	fail "ties not shuffled: t1 first $seen1 times, t2 $seen2 times of 40"
fi

# addresses: AAAA then A; one family with --ip
probe 0 "OK${nl}6 ::1 300${nl}4 127.0.0.2 300" addrs mx1.a.test
probe 0 "OK${nl}4 127.0.0.2 300" --ip 4 addrs mx1.a.test
probe 0 "OK${nl}6 ::1 300" --ip 6 addrs mx1.a.test
probe 1 "NODATA${nl}perm 5.4.4 AAAA lookup of mx2.a.test: no address records" \
    --ip 6 addrs mx2.a.test
probe 1 "NXDOMAIN${nl}perm 5.1.2 AAAA lookup of nosuch.test: NXDOMAIN (no such domain)" \
    addrs nosuch.test
# CNAMEs, one and two hops
probe 0 "OK${nl}6 ::1 300${nl}4 127.0.0.2 300" addrs www.test
probe 0 "OK${nl}4 127.0.0.3 300" addrs c1.test
probe 1 "TEMP${nl}temp 4.4.3 AAAA lookup of x.sf.test: SERVFAIL" \
    addrs x.sf.test
# literals need no server at all
SERVER=127.0.0.1:9
probe 0 "OK${nl}4 127.0.0.9 0" addrs "[127.0.0.9]"
probe 0 "OK${nl}6 ::1 0" addrs "[IPv6:::1]"
# nothing listening: temporary
port=$(_dnsmasq_port)
SERVER=127.0.0.1:$port
probe 1 "TEMP${nl}temp 4.4.3 MX lookup of a.test: no answer from the DNS server (Connection refused)" \
    mx a.test

# the server given as an IPv6 address
if [ "$DNSMASQ_V6" = 1 ]; then
	SERVER="[::1]:$dns_PORT"
	probe 0 "OK${nl}10 mx1.a.test 300${nl}20 mx2.a.test 300" mx a.test
	probe 0 "OK${nl}6 ::1 300${nl}4 127.0.0.2 300" addrs mx1.a.test
else
	echo "no ::1 here: the IPv6 server case is not run" >&2
fi
exit 0
