# dnsmasq.sh - sourced after lib.sh by tests that need a DNS server.
#
# POSIX sh, same conventions as lib.sh (helper variables prefixed _d).
# Provides:
#   start_dnsmasq NAME [dnsmasq options...]
#       dnsmasq on 127.0.0.1 and, when the machine has it, ::1, on a free
#       UDP/TCP port, authoritative for nothing but what the options say:
#       --no-resolv --no-hosts, and --local=/test/ so that any unknown name
#       under .test is NXDOMAIN.  Records come from the options:
#         --mx-host=a.test,mx1.a.test,10   --host-record=mx1.a.test,127.0.0.1,::1
#         --dns-rr=null.test,15,000000     (a null MX "0 .", RFC 7505)
#         --cname=alias.test,real.test
#       Names under sf.test answer SERVFAIL, under rf.test REFUSED, and
#       under to.test never (dnsmasq forwards them to a small upstream
#       that answers so; the client times out).
#       Sets ${NAME}_PORT and ${NAME}_PID; its log is $T/NAME.log.
#       DNSMASQ_V6=1 when it listens on ::1 too (same port).
#       Skips the test (77) when dnsmasq is not installed.
#   stop_dnsmasq NAME
# Every dnsmasq started here is stopped at exit: this file wraps lib.sh's
# cleanup in its own EXIT trap (a test that sets its own trap must call
# _dnsmasq_cleanup before _lib_cleanup, keeping the exit status).

DNSMASQ=${DNSMASQ:-}
if [ -z "$DNSMASQ" ]; then
	for _d in /usr/sbin/dnsmasq /sbin/dnsmasq $(command -v dnsmasq 2>/dev/null); do
		[ -x "$_d" ] && { DNSMASQ=$_d; break; }
	done
fi
_dnsmasq_names=""

_dnsmasq_up_pid=""

_dnsmasq_cleanup()
{
	for _dc_n in $_dnsmasq_names; do
		stop_dnsmasq "$_dc_n"
	done
	if [ -n "$_dnsmasq_up_pid" ]; then
		kill "$_dnsmasq_up_pid" 2>/dev/null
		wait "$_dnsmasq_up_pid" 2>/dev/null
		_dnsmasq_up_pid=""
	fi
}

# _dnsmasq_upstream: start (once) the upstream for sf.test, rf.test and
# to.test.  dnsmasq has no option to answer SERVFAIL itself, and an
# unreachable upstream only makes it stay silent.  Sets _dnsmasq_up_port.
_dnsmasq_upstream()
{
	[ -z "$_dnsmasq_up_pid" ] || return 0
	cat > "$T/dns-upstream.py" <<'PY'
import os, socket, sys
portfile = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(300)		# never outlive the test by much
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    try:
        q, peer = s.recvfrom(4096)
    except socket.timeout:
        sys.exit(0)
    if len(q) < 12:
        continue
    # the question name, label by label (no compression in a query)
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    name = ".".join(labels).lower()
    if name == "to.test" or name.endswith(".to.test"):
        continue			# never answered
    rcode = 5 if name == "rf.test" or name.endswith(".rf.test") else 2
    qd = q[12:i + 5]
    hdr = q[:2] + bytes([0x80 | (q[2] & 0x01), 0x80 | rcode]) + \
        b"\x00\x01" + b"\x00\x00" * 3
    s.sendto(hdr + qd, peer)
PY
	rm -f "$T/dns-upstream.port"
	python3 "$T/dns-upstream.py" "$T/dns-upstream.port" </dev/null \
	    >>"$T/dns-upstream.log" 2>&1 &
	_dnsmasq_up_pid=$!
	wait_for test -s "$T/dns-upstream.port" ||
	    fail "the DNS upstream did not start"
	_dnsmasq_up_port=$(cat "$T/dns-upstream.port")
}
# shellcheck disable=SC2154 # _dt_rc is set inside the trap
trap '_dt_rc=$?; _dnsmasq_cleanup; (exit $_dt_rc); _lib_cleanup' EXIT

# _dnsmasq_port: a port free for both UDP and TCP on 127.0.0.1 right now
# (there is a window before dnsmasq binds it; start_dnsmasq retries).
_dnsmasq_port()
{
	python3 - <<'PY'
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", p))
    except OSError:
        u.close()
        continue
    t.close()
    u.close()
    print(p)
    break
PY
}

# _dnsmasq_has_v6: the loopback has ::1
_dnsmasq_has_v6()
{
	python3 -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' \
	    2>/dev/null
}

start_dnsmasq()
{
	_ds_name=$1
	shift
	_lib_check_name "$_ds_name"
	[ -n "$DNSMASQ" ] || skip "dnsmasq is not installed"
	command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
	_dnsmasq_upstream
	_ds_up="127.0.0.1#$_dnsmasq_up_port"
	_ds_listen="--listen-address=127.0.0.1"
	# shellcheck disable=SC2034 # for the tests: can they ask over ::1?
	DNSMASQ_V6=0
	if _dnsmasq_has_v6; then
		_ds_listen="$_ds_listen --listen-address=::1"
		# shellcheck disable=SC2034
		DNSMASQ_V6=1
	fi
	_ds_try=0
	while :; do
		_ds_try=$((_ds_try + 1))
		_ds_port=$(_dnsmasq_port)
		[ -n "$_ds_port" ] || fail "no free port for dnsmasq"
		rm -f "$T/$_ds_name.pid"
		# --keep-in-foreground (not --no-daemon): the pid file is
		# written, and $! is dnsmasq itself
		# shellcheck disable=SC2086 # the listen list
		"$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts \
		    --no-poll --bind-interfaces $_ds_listen --port="$_ds_port" \
		    --pid-file="$T/$_ds_name.pid" --user="$(id -un)" \
		    --group="$(id -gn)" --log-facility=- --log-queries \
		    --local=/test/ --local-ttl=300 --server=/sf.test/"$_ds_up" \
		    --server=/rf.test/"$_ds_up" --server=/to.test/"$_ds_up" \
		    --conf-file=/dev/null "$@" \
		    </dev/null >>"$T/$_ds_name.log" 2>&1 &
		_ds_pid=$!
		_ds_i=0
		while [ ! -s "$T/$_ds_name.pid" ] && kill -0 "$_ds_pid" 2>/dev/null; do
			_ds_i=$((_ds_i + 1))
			[ "$_ds_i" -le 500 ] || fail "dnsmasq $_ds_name: not up in 10 s"
			sleep 0.02
		done
		if kill -0 "$_ds_pid" 2>/dev/null; then
			break
		fi
		wait "$_ds_pid" 2>/dev/null
		if [ "$_ds_try" -ge 5 ] || ! grep -q 'in use' "$T/$_ds_name.log"; then
			cat "$T/$_ds_name.log" >&2
			fail "dnsmasq $_ds_name exited at start"
		fi
	done
	eval "${_ds_name}_PID=\$_ds_pid"
	eval "${_ds_name}_PORT=\$_ds_port"
	_dnsmasq_names="$_dnsmasq_names $_ds_name"
}

stop_dnsmasq()
{
	_lib_check_name "$1"
	eval "_dt_pid=\${${1}_PID:-}"
	[ -n "$_dt_pid" ] || return 0
	kill "$_dt_pid" 2>/dev/null || :
	wait "$_dt_pid" 2>/dev/null || :
	eval "${1}_PID="
	_dt_new=""
	for _dt_n in $_dnsmasq_names; do
		[ "$_dt_n" = "$1" ] || _dt_new="$_dt_new $_dt_n"
	done
	_dnsmasq_names=$_dt_new
	return 0
}
