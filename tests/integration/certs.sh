# certs.sh - test certificates, made fresh by each test that needs them.
#
# Sourced after lib.sh (POSIX sh; helper variables prefixed _mc).
# Provides:
#   make_certs DIR    creates in DIR, with certtool (gnutls-bin) and ECDSA
#                     P-256 keys (fast: the whole set takes well under 1 s):
#     ca.pem ca.key             the test CA
#     other-ca.pem other-ca.key a second CA nobody trusts
#     good.pem good.key         localhost + IP 127.0.0.1, signed by the CA
#     expired.pem expired.key   same names, valid 2020-01-01..2021-01-01
#     future.pem future.key     same names, valid only from 2099
#     wrong-host.pem .key       for other.example only, signed by the CA
#     self-signed.pem .key      localhost, signed by itself
#     unknown-ca.pem .key       localhost, signed by other-ca
#     client.pem client.key     a TLS client certificate, signed by the CA
#   cert_sha256 PEM   the SHA-256 fingerprint of PEM's certificate (DER),
#                     as lower-case hex without colons
# Skips the test (exit 77) when certtool is missing.

make_certs()
{
	_mc_d=$1
	command -v certtool >/dev/null 2>&1 || skip "certtool not installed"
	mkdir -p "$_mc_d" || fail "mkdir $_mc_d"

	_mc_key() {
		certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		    --no-text --outfile "$_mc_d/$1.key" 2>/dev/null ||
		    fail "certtool: key $1"
	}
	# _mc_tmpl NAME TEXT...: the template file $_mc_d/NAME.tmpl
	_mc_tmpl() {
		_mc_t=$_mc_d/$1.tmpl
		shift
		printf '%s\n' "$@" >"$_mc_t" || fail "cannot write $_mc_t"
	}
	# _mc_sign NAME ISSUER: NAME.pem from NAME.key and NAME.tmpl
	_mc_sign() {
		certtool --generate-certificate --no-text \
		    --load-privkey "$_mc_d/$1.key" \
		    --load-ca-certificate "$_mc_d/$2.pem" \
		    --load-ca-privkey "$_mc_d/$2.key" \
		    --template "$_mc_d/$1.tmpl" \
		    --outfile "$_mc_d/$1.pem" 2>"$_mc_d/$1.err" ||
		    fail "certtool: cert $1: $(cat "$_mc_d/$1.err")"
	}
	_mc_self() {
		certtool --generate-self-signed --no-text \
		    --load-privkey "$_mc_d/$1.key" \
		    --template "$_mc_d/$1.tmpl" \
		    --outfile "$_mc_d/$1.pem" 2>"$_mc_d/$1.err" ||
		    fail "certtool: self-signed $1: $(cat "$_mc_d/$1.err")"
	}

	for _mc_n in ca other-ca good expired future wrong-host self-signed \
	    unknown-ca client; do
		_mc_key "$_mc_n"
	done

	_mc_tmpl ca 'cn = "outbox test CA"' 'ca' 'cert_signing_key' \
	    'crl_signing_key' 'expiration_days = 3650' 'serial = 1'
	_mc_self ca
	_mc_tmpl other-ca 'cn = "some other CA"' 'ca' 'cert_signing_key' \
	    'expiration_days = 3650' 'serial = 2'
	_mc_self other-ca

	# A server certificate for localhost: the SAN carries the names
	# (RFC 6125 6.4.4: the CN is only looked at without a SAN).
	_mc_server='tls_www_server'
	_mc_tmpl good 'cn = "localhost"' 'dns_name = "localhost"' \
	    'ip_address = "127.0.0.1"' "$_mc_server" 'signing_key' \
	    'encryption_key' 'expiration_days = 3650' 'serial = 10'
	_mc_sign good ca
	_mc_tmpl expired 'cn = "localhost"' 'dns_name = "localhost"' \
	    'ip_address = "127.0.0.1"' "$_mc_server" 'signing_key' \
	    'activation_date = "2020-01-01 00:00:00"' \
	    'expiration_date = "2021-01-01 00:00:00"' 'serial = 11'
	_mc_sign expired ca
	_mc_tmpl future 'cn = "localhost"' 'dns_name = "localhost"' \
	    'ip_address = "127.0.0.1"' "$_mc_server" 'signing_key' \
	    'activation_date = "2099-01-01 00:00:00"' \
	    'expiration_date = "2100-01-01 00:00:00"' 'serial = 12'
	_mc_sign future ca
	_mc_tmpl wrong-host 'cn = "other.example"' \
	    'dns_name = "other.example"' "$_mc_server" 'signing_key' \
	    'expiration_days = 3650' 'serial = 13'
	_mc_sign wrong-host ca
	_mc_tmpl self-signed 'cn = "localhost"' 'dns_name = "localhost"' \
	    'ip_address = "127.0.0.1"' "$_mc_server" 'signing_key' \
	    'expiration_days = 3650' 'serial = 14'
	_mc_self self-signed
	_mc_tmpl unknown-ca 'cn = "localhost"' 'dns_name = "localhost"' \
	    'ip_address = "127.0.0.1"' "$_mc_server" 'signing_key' \
	    'expiration_days = 3650' 'serial = 15'
	_mc_sign unknown-ca other-ca
	_mc_tmpl client 'cn = "outbox test client"' 'tls_www_client' \
	    'signing_key' 'expiration_days = 3650' 'serial = 16'
	_mc_sign client ca
	rm -f "$_mc_d"/*.tmpl "$_mc_d"/*.err
}

# cert_sha256 PEM: lower-case hex SHA-256 of the DER certificate.
cert_sha256()
{
	certtool --fingerprint --hash sha256 --infile "$1" 2>/dev/null
}
