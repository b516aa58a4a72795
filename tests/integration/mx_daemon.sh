#!/bin/sh
# mx_daemon: `outbox run` with no relay delivers to MX hosts.
#  - the daemon's DNS cache: a second worker, for a second message to the
#    same domain, asks the DNS server nothing (dnsmasq's query log counts);
#  - mx_domain_connections: with 4 workers and a limit of 1, the MX host
#    never sees two connections from us at once (its connection times),
#    and every one of 60 messages arrives exactly once;
#  - per-domain concurrency costs no throughput to other domains: mail for
#    a second domain arrives while the first is saturated.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"
# shellcheck source=tests/integration/dnsmasq.sh
. "$(dirname "$TESTLIB")/dnsmasq.sh"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed"
command -v pgrep >/dev/null 2>&1 || skip "pgrep is not installed"

start_server mxd --latency 20
# shellcheck disable=SC2154 # set by start_server
P=$mxd_PORT
start_server mxe --addr 127.0.0.2 --port "$P"
start_dnsmasq dns --mx-host=d.test,mx.d.test,10 \
    --host-record=mx.d.test,127.0.0.1 \
    --mx-host=e.test,mx.e.test,10 --host-record=mx.e.test,127.0.0.2

# delivered NAME N: server NAME has N messages (a function: wait_for
# evaluates it again each time)
delivered()
{
	[ "$(count_delivered "$1")" -eq "$2" ]
}

# no_worker: the daemon has no child left
no_worker()
{
	! pgrep -P "$DAEMON_PID" >/dev/null
}

# shellcheck disable=SC2154 # set by start_dnsmasq
write_conf "dns_server 127.0.0.1:$dns_PORT" "mx_port $P" \
    "max_connections 4" "mx_domain_connections 1" "retry_initial 1s" \
    "shutdown_timeout 5s"
start_daemon

# ---- the DNS cache lives in the daemon, across workers --------------------
mkmsg c1 100 r@d.test | sendmail -f s@e.test r@d.test || fail "sendmail c1"
wait_for delivered mxd 1 || fail "c1 not delivered"
# the first worker has exited (and handed its answers back) once the
# daemon reaped it: wait until no worker runs
wait_for no_worker ||
    fail "the first worker did not end"
mkmsg c2 100 r@d.test | sendmail -f s@e.test r@d.test || fail "sendmail c2"
wait_for delivered mxd 2 || fail "c2 not delivered"
nmx=$(grep -c 'query\[MX\] d\.test ' "$T/dns.log")
na=$(grep -c 'query\[A\] mx\.d\.test ' "$T/dns.log")
assert_eq "$nmx" 1 "MX queries for d.test (the second worker used the cache)"
assert_eq "$na" 1 "A queries for mx.d.test"

# ---- at most mx_domain_connections at once per domain ---------------------
i=0
pids=""
while [ $i -lt 60 ]; do
	i=$((i + 1))
	mkmsg "k$i" 200 r@d.test | sendmail -f s@e.test r@d.test &
	pids="$pids $!"
	if [ $((i % 10)) -eq 0 ]; then
		for p in $pids; do
			wait "$p" || fail "a sendmail failed"
		done
		pids=""
		# a message for the other domain in the middle of the flood
		mkmsg "e$i" 100 x@e.test | sendmail -f s@d.test x@e.test ||
		    fail "sendmail e$i"
	fi
done
WAIT_TIMEOUT=60 wait_for delivered mxd 62 ||
    fail "d.test: $(count_delivered mxd) of 62 delivered"
wait_for delivered mxe 6 ||
    fail "e.test: $(count_delivered mxe) of 6 delivered"
dups=$(delivered_msgids mxd | uniq -d | wc -l | tr -d ' ')
assert_eq "$dups" 0 "messages delivered twice to d.test"
assert_eq "$(delivered_msgids mxd | wc -l | tr -d ' ')" 62 "distinct messages"

# the largest number of connections open at once, from open/close times
max=$(cat "$T"/mxd/conn.* | awk '
	$1 == "open" { ev[n++] = $2 " 1" }
	$1 == "close" { ev[n++] = $2 " -1" }
	END { for (i = 0; i < n; i++) print ev[i] }' | sort -n -k1,1 -k2,2n |
    awk '{ c += $2; if (c > m) m = c } END { print m + 0 }')
nconn=$(find "$T/mxd" -name 'conn.*' | wc -l | tr -d ' ')
echo "d.test: 62 messages over $nconn connections, at most $max at once"
assert_eq "$max" 1 "connections to d.test at once (mx_domain_connections 1)"

stop_daemon
assert_eq "$DAEMON_RC" 0 "daemon exit status"
assert_eq "$(queue_count)" 0 "messages left in the queue"
