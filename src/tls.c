/* tls.c - the TLS client on GnuTLS: credentials, handshake, verification,
 * and the conn transport that carries SMTP over the session.
 *
 * Invariants: the socket stays non-blocking; every wait is a poll() on it
 * bounded by the caller's timeout (the handshake here, the records in
 * conn.c), so GnuTLS never blocks.  GNUTLS_E_AGAIN and _INTERRUPTED are
 * turned into errno EAGAIN/EINTR in one place (tls_io_result), with the
 * direction GnuTLS waits for kept for conn's poll.  A session is handed to
 * the caller only after its certificate passed every check asked for; a
 * failed check leaves the conn's transport untouched.
 *
 * Left to others: whether TLS is required, opportunistic or off, STARTTLS
 * itself and the EHLO after it (smtpc/deliver), and what to do on failure
 * (defer; never clear text, issue 4).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "conn.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define TLS_PIN_LEN	32	/* SHA-256 */

struct tls_client {
	gnutls_certificate_credentials_t cred;
	const char	*priority;
	int		 verify;
	int		 has_pin;
	unsigned char	 pin[TLS_PIN_LEN];
	int		 has_last;	/* last: the last handshake's peer */
	struct tls_peer	 last;
};

struct tls_session {
	gnutls_session_t s;
	struct conn_io	 io;
	int		 want;		/* POLLIN/POLLOUT after the last AGAIN */
	char		 info[256];
	char		 lasterr[128];
	int		 checked;	/* verified or pinned */
};

static const char *const tls_prio12 =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
static const char *const tls_prio13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3";

static int	check_readable(const char *key, const char *path,
		    struct ob_err *err);
static int	hexval(int ch);
static int	parse_pin(const char *s, unsigned char *pin);
static int	is_ip_literal(const char *host);
static int	handshake(struct tls_session *ts, const char *host,
		    int64_t timeout_ms, struct ob_err *err);
static int	verify_peer(struct tls_client *tc, struct tls_session *ts,
		    const char *host, struct ob_err *err);
static void	cert_names(gnutls_x509_crt_t crt, char *dst, size_t n);
static void	make_info(struct tls_session *ts, int verified);
static void	peer_fill(gnutls_session_t gs, struct tls_peer *p);
static ssize_t	tls_io_result(struct tls_session *ts, ssize_t r, int rd);
static ssize_t	tls_io_read(void *ctx, void *p, size_t n);
static ssize_t	tls_io_write(void *ctx, const void *p, size_t n);
static size_t	tls_io_pending(void *ctx);
static int	tls_io_want(void *ctx);

/* check_readable: open(2) PATH so the error names the real cause (GnuTLS
 * only says "Error while reading file"). */
static int
check_readable(const char *key, const char *path, struct ob_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return ob_err_set(err, OB_PERM, 0, "%s %s: %s", key, path,
		    strerror(errno));
	close(fd);
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* parse_pin: 64 hex digits, a colon allowed between any two bytes, any
 * case.  0, or -1 on bad syntax. */
static int
parse_pin(const char *s, unsigned char *pin)
{
	size_t i = 0;
	int hi, lo;

	while (*s != '\0') {
		if (i == TLS_PIN_LEN)
			return -1;
		if (i > 0 && *s == ':')
			s++;
		if ((hi = hexval(s[0])) == -1 || (lo = hexval(s[1])) == -1)
			return -1;
		pin[i++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return i == TLS_PIN_LEN ? 0 : -1;
}

int
tls_client_new(struct tls_client **tcp, const struct tls_conf *conf,
    struct ob_err *err)
{
	struct tls_client *tc;
	int r;

	*tcp = NULL;
	tc = xcalloc(1, sizeof *tc);
	tc->verify = conf->verify != 0;
	switch (conf->min_version) {
	case 0:
	case 12:
		tc->priority = tls_prio12;
		break;
	case 13:
		tc->priority = tls_prio13;
		break;
	default:
		ob_err_set(err, OB_PERM, 0, "tls_min_version %d: want 1.2 or "
		    "1.3", conf->min_version);
		goto fail;
	}
	if (conf->fingerprint != NULL) {
		if (parse_pin(conf->fingerprint, tc->pin) == -1) {
			ob_err_set(err, OB_PERM, 0, "tls_fingerprint: want the "
			    "SHA-256 of the certificate, 64 hex digits "
			    "(colons optional)");
			goto fail;
		}
		tc->has_pin = 1;
	}
	if ((r = gnutls_certificate_allocate_credentials(&tc->cred)) < 0) {
		ob_err_set(err, OB_TEMP, 0, "TLS credentials: %s",
		    gnutls_strerror(r));
		goto fail;
	}
	if (conf->ca_file != NULL) {
		if (check_readable("tls_ca_file", conf->ca_file, err) == -1)
			goto fail;
		r = gnutls_certificate_set_x509_trust_file(tc->cred,
		    conf->ca_file, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			ob_err_set(err, OB_PERM, 0, "tls_ca_file %s: %s",
			    conf->ca_file, r == 0 ? "no certificate in it" :
			    gnutls_strerror(r));
			goto fail;
		}
	} else if (tc->verify) {
		r = gnutls_certificate_set_x509_system_trust(tc->cred);
		if (r < 0) {
			ob_err_set(err, OB_PERM, 0, "system trust store: %s",
			    gnutls_strerror(r));
			goto fail;
		}
		if (r == 0)
			log_warn("tls: the system trust store is empty; "
			    "set tls_ca_file");
	}
	if (conf->cert_file != NULL || conf->key_file != NULL) {
		const char *cf = conf->cert_file, *kf = conf->key_file;

		if (cf == NULL) {
			ob_err_set(err, OB_PERM, 0, "tls_key_file needs "
			    "tls_cert_file");
			goto fail;
		}
		if (kf == NULL)
			kf = cf;
		if (check_readable("tls_cert_file", cf, err) == -1 ||
		    check_readable("tls_key_file", kf, err) == -1)
			goto fail;
		r = gnutls_certificate_set_x509_key_file(tc->cred, cf, kf,
		    GNUTLS_X509_FMT_PEM);
		if (r < 0) {
			ob_err_set(err, OB_PERM, 0, "tls_cert_file %s / "
			    "tls_key_file %s: %s", cf, kf, gnutls_strerror(r));
			goto fail;
		}
	}
	*tcp = tc;
	return 0;
fail:
	tls_client_free(tc);
	return -1;
}

void
tls_client_free(struct tls_client *tc)
{
	if (tc == NULL)
		return;
	if (tc->cred != NULL)
		gnutls_certificate_free_credentials(tc->cred);
	explicit_bzero(tc->pin, sizeof tc->pin);
	free(tc);
}

/* is_ip_literal: RFC 6066 3: "Literal IPv4 and IPv6 addresses are not
 * permitted in HostName". */
static int
is_ip_literal(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* handshake: drive gnutls_handshake on the non-blocking socket until done
 * or TIMEOUT_MS has passed. */
static int
handshake(struct tls_session *ts, const char *host, int64_t timeout_ms,
    struct ob_err *err)
{
	int64_t end = ob_mono_ms() + timeout_ms, now;
	struct pollfd pfd;
	int r, ms;

	for (;;) {
		r = gnutls_handshake(ts->s);
		if (r == GNUTLS_E_SUCCESS)
			return 0;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED &&
		    gnutls_error_is_fatal(r))
			break;
		now = ob_mono_ms();
		if (now >= end)
			return ob_err_set(err, OB_TEMP, 0, "timeout during TLS "
			    "handshake with %s", host);
		if (r != GNUTLS_E_AGAIN)
			continue;	/* interrupted, a warning alert: go on */
		ms = end - now > 86400000 ? 86400000 : (int)(end - now);
		pfd.fd = gnutls_transport_get_int(ts->s);
		pfd.events = gnutls_record_get_direction(ts->s) ? POLLOUT :
		    POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, ms) == -1 && errno != EINTR)
			return ob_err_set(err, OB_TEMP, 0, "poll: %s",
			    strerror(errno));
	}
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		return ob_err_set(err, OB_TEMP, 0, "TLS handshake with %s "
		    "failed: the server sent the alert \"%s\"", host,
		    gnutls_alert_get_name(gnutls_alert_get(ts->s)));
	return ob_err_set(err, OB_TEMP, 0, "TLS handshake with %s failed: %s",
	    host, gnutls_strerror(r));
}

/* cert_names: the DNS and IP subjectAltNames of CRT, or its CN when it
 * has none (RFC 6125 6.4.4), comma-separated; "..." when they do not fit
 * in N. */
static void
cert_names(gnutls_x509_crt_t crt, char *dst, size_t n)
{
	char name[256], ip[INET6_ADDRSTRLEN];
	size_t len, used = 0;
	unsigned i, critical, found = 0;
	int type, w;

	dst[0] = '\0';
	for (i = 0;; i++) {
		len = sizeof name - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &len,
		    &critical);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME)
			name[len < sizeof name ? len : sizeof name - 1] = '\0';
		else if (type == GNUTLS_SAN_IPADDRESS && (len == 4 ||
		    len == 16)) {
			if (inet_ntop(len == 4 ? AF_INET : AF_INET6, name, ip,
			    sizeof ip) == NULL)
				continue;
			memcpy(name, ip, strlen(ip) + 1);
		} else
			continue;	/* other types, too long, errors */
		w = ob_snprintf(dst + used, n - used, "%s%s",
		    found ? ", " : "", name);
		if (w == -1)
			goto truncated;
		used += (size_t)w;
		found++;
	}
	if (found == 0) {
		len = sizeof name - 1;
		if (gnutls_x509_crt_get_dn_by_oid(crt,
		    GNUTLS_OID_X520_COMMON_NAME, 0, 0, name, &len) < 0)
			ob_snprintf(name, sizeof name, "no name");
		else
			name[len < sizeof name ? len : sizeof name - 1] = '\0';
		if (ob_snprintf(dst, n, "%s", name) == -1)
			goto truncated;
	}
	return;
truncated:
	if (n >= 4)
		memcpy(dst + n - 4, "...", 4);
}

/* verify_peer: the chain and the name (unless verify is 0), then the pin.
 * Every reason found is reported, joined by "; ". */
static int
verify_peer(struct tls_client *tc, struct tls_session *ts, const char *host,
    struct ob_err *err)
{
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t txt = { NULL, 0 };
	unsigned char fp[TLS_PIN_LEN];
	unsigned status = 0, nchain = 0, rest;
	size_t fplen = sizeof fp, i;
	char names[160], hex[3 * TLS_PIN_LEN];
	struct buf why;
	int r, rc = -1;

	buf_init(&why, sizeof err->text - 1);
	chain = gnutls_certificate_get_peers(ts->s, &nchain);
	if (chain == NULL || nchain == 0) {
		ob_err_set(err, OB_TEMP, 0, "%s sent no certificate", host);
		goto out;
	}
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		ob_err_set(err, OB_TEMP, 0, "cannot parse the certificate of "
		    "%s", host);
		goto out;
	}
	if (tc->verify) {
		r = gnutls_certificate_verify_peers3(ts->s, host, &status);
		if (r < 0) {
			ob_err_set(err, OB_TEMP, 0, "certificate of %s: %s",
			    host, gnutls_strerror(r));
			goto out;
		}
		rest = status & ~(unsigned)GNUTLS_CERT_INVALID;
		if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
			/* issued by itself: a self-signed certificate */
			buf_addstr(&why, gnutls_x509_crt_check_issuer(crt, crt)
			    ? "self-signed certificate" : "unknown issuer");
			rest &= ~(unsigned)GNUTLS_CERT_SIGNER_NOT_FOUND;
		}
		if (status & GNUTLS_CERT_EXPIRED) {
			buf_printf(&why, "%scertificate has expired",
			    why.len ? "; " : "");
			rest &= ~(unsigned)GNUTLS_CERT_EXPIRED;
		}
		if (status & GNUTLS_CERT_NOT_ACTIVATED) {
			buf_printf(&why, "%scertificate is not yet valid",
			    why.len ? "; " : "");
			rest &= ~(unsigned)GNUTLS_CERT_NOT_ACTIVATED;
		}
		if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
			cert_names(crt, names, sizeof names);
			buf_printf(&why, "%scertificate is for %s, not %s",
			    why.len ? "; " : "", names, host);
			rest &= ~(unsigned)GNUTLS_CERT_UNEXPECTED_OWNER;
		}
		if (rest != 0 && gnutls_certificate_verification_status_print(
		    rest, GNUTLS_CRT_X509, &txt, 0) >= 0)
			buf_printf(&why, "%s%s", why.len ? "; " : "",
			    (const char *)txt.data);
		else if (status != 0 && why.len == 0)
			buf_addstr(&why, "certificate verification failed");
		if (status != 0) {
			ob_err_set(err, OB_TEMP, 0, "%s", why.p);
			goto out;
		}
	}
	if (tc->has_pin) {
		if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &chain[0], fp,
		    &fplen) < 0 || fplen != sizeof fp) {
			ob_err_set(err, OB_TEMP, 0, "cannot hash the "
			    "certificate of %s", host);
			goto out;
		}
		if (memcmp(fp, tc->pin, sizeof fp) != 0) {
			for (i = 0; i < sizeof fp; i++)
				ob_snprintf(hex + 3 * i, sizeof hex - 3 * i,
				    "%02X%s", fp[i], i + 1 < sizeof fp ? ":" :
				    "");
			ob_err_set(err, OB_TEMP, 0, "fingerprint mismatch "
			    "(got %s)", hex);
			goto out;
		}
	}
	rc = 0;
out:
	gnutls_free(txt.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	buf_free(&why);
	return rc;
}

/* make_info: "TLSv1.3 AES-256-GCM, subject CN=x, expires 2027-01-01". */
static void
make_info(struct tls_session *ts, int verified)
{
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dn = { NULL, 0 };
	const char *cipher;
	unsigned nchain = 0;
	char day[16] = "?";
	struct tm tm;
	time_t t;
	struct buf b;

	buf_init(&b, sizeof ts->info - 1);
	cipher = gnutls_cipher_get_name(gnutls_cipher_get(ts->s));
	buf_printf(&b, "%s %s", tls_version(ts), cipher ? cipher : "?");
	chain = gnutls_certificate_get_peers(ts->s, &nchain);
	if (chain != NULL && nchain > 0 && gnutls_x509_crt_init(&crt) >= 0 &&
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) >= 0) {
		if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0)
			buf_printf(&b, ", subject %.120s",
			    (const char *)dn.data);
		t = gnutls_x509_crt_get_expiration_time(crt);
		if (t != (time_t)-1 && gmtime_r(&t, &tm) != NULL)
			strftime(day, sizeof day, "%Y-%m-%d", &tm);
		buf_printf(&b, ", expires %s", day);
	}
	if (!verified)
		buf_addstr(&b, ", unverified");
	ob_snprintf(ts->info, sizeof ts->info, "%s", b.p ? b.p : "");
	gnutls_free(dn.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	buf_free(&b);
}

/* peer_fill: what GS's server showed: protocol, cipher, certificate. */
static void
peer_fill(gnutls_session_t gs, struct tls_peer *p)
{
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dn = { NULL, 0 };
	const char *cipher;
	unsigned nchain = 0;
	time_t t;

	memset(p, 0, sizeof *p);
	p->not_after = -1;
	switch (gnutls_protocol_get_version(gs)) {
	case GNUTLS_TLS1_3: ob_snprintf(p->version, sizeof p->version,
	    "TLSv1.3"); break;
	case GNUTLS_TLS1_2: ob_snprintf(p->version, sizeof p->version,
	    "TLSv1.2"); break;
	default: ob_snprintf(p->version, sizeof p->version, "TLS?"); break;
	}
	cipher = gnutls_cipher_get_name(gnutls_cipher_get(gs));
	(void)ob_snprintf(p->cipher, sizeof p->cipher, "%s",
	    cipher != NULL ? cipher : "?");
	chain = gnutls_certificate_get_peers(gs, &nchain);
	if (chain == NULL || nchain == 0 || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0)
		goto out;
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0)
		(void)ob_snprintf(p->subject, sizeof p->subject, "%.*s",
		    (int)dn.size, (const char *)dn.data);
	gnutls_free(dn.data);
	dn.data = NULL;
	if (gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) >= 0)
		(void)ob_snprintf(p->issuer, sizeof p->issuer, "%.*s",
		    (int)dn.size, (const char *)dn.data);
	gnutls_free(dn.data);
	cert_names(crt, p->names, sizeof p->names);
	t = gnutls_x509_crt_get_expiration_time(crt);
	if (t != (time_t)-1)
		p->not_after = (int64_t)t;
out:
	gnutls_x509_crt_deinit(crt);
}

void
tls_peer(const struct tls_session *s, struct tls_peer *p)
{
	peer_fill(s->s, p);
	p->checked = s->checked;
}

int
tls_client_last_peer(const struct tls_client *tc, struct tls_peer *p)
{
	if (!tc->has_last)
		return -1;
	*p = tc->last;
	return 0;
}

int
tls_start(struct tls_client *tc, struct conn *c, const char *host,
    int64_t timeout_ms, struct tls_session **sp, struct ob_err *err)
{
	struct tls_session *ts;
	const char *where = NULL;
	int r;

	*sp = NULL;
	tc->has_last = 0;
	if (conn_buffered(c) > 0)	/* RFC 3207 5 / CVE-2011-0411 style */
		return ob_err_set(err, OB_TEMP, 0, "%s sent data in clear "
		    "after its STARTTLS reply: refusing TLS", host);
	ts = xcalloc(1, sizeof *ts);
	/* GNUTLS_NO_SIGNAL: send with MSG_NOSIGNAL (SIGPIPE). */
	if ((r = gnutls_init(&ts->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	    GNUTLS_NO_SIGNAL)) < 0) {
		ts->s = NULL;
		ob_err_set(err, OB_TEMP, 0, "gnutls_init: %s",
		    gnutls_strerror(r));
		goto fail;
	}
	if ((r = gnutls_priority_set_direct(ts->s, tc->priority, &where)) < 0)
		panic("tls: priority string \"%s\" at \"%s\": %s",
		    tc->priority, where ? where : "?", gnutls_strerror(r));
	if ((r = gnutls_credentials_set(ts->s, GNUTLS_CRD_CERTIFICATE,
	    tc->cred)) < 0) {
		ob_err_set(err, OB_TEMP, 0, "gnutls_credentials_set: %s",
		    gnutls_strerror(r));
		goto fail;
	}
	if (!is_ip_literal(host) && (r = gnutls_server_name_set(ts->s,
	    GNUTLS_NAME_DNS, host, strlen(host))) < 0) {
		ob_err_set(err, OB_TEMP, 0, "SNI %s: %s", host,
		    gnutls_strerror(r));
		goto fail;
	}
	/* our own deadline (handshake()) replaces GnuTLS's 40 s default */
	gnutls_handshake_set_timeout(ts->s, 0);
	gnutls_transport_set_int(ts->s, conn_fd(c));
	if (handshake(ts, host, timeout_ms, err) == -1)
		goto fail;
	peer_fill(ts->s, &tc->last);
	tc->has_last = 1;
	if (verify_peer(tc, ts, host, err) == -1) {
		/* tell the server why, if the socket takes it at once */
		gnutls_alert_send(ts->s, GNUTLS_AL_FATAL,
		    GNUTLS_A_BAD_CERTIFICATE);
		goto fail;
	}
	make_info(ts, tc->verify || tc->has_pin);
	tc->last.checked = tc->verify || tc->has_pin;
	ts->checked = tc->last.checked;
	ts->io.read = tls_io_read;
	ts->io.write = tls_io_write;
	ts->io.pending = tls_io_pending;
	ts->io.want = tls_io_want;
	ts->io.ctx = ts;
	conn_set_io(c, &ts->io);
	*sp = ts;
	return 0;
fail:
	/* no close_notify: there is no session to close */
	if (ts->s != NULL)
		gnutls_deinit(ts->s);
	free(ts);
	return -1;
}

const char *
tls_info(const struct tls_session *s)
{
	return s->info;
}

const char *
tls_version(const struct tls_session *s)
{
	switch (gnutls_protocol_get_version(s->s)) {
	case GNUTLS_TLS1_3:
		return "TLSv1.3";
	case GNUTLS_TLS1_2:
		return "TLSv1.2";
	default:
		return "TLS?";		/* the priority allows no other */
	}
}

const char *
tls_last_error(const struct tls_session *s)
{
	return s->lasterr;
}

void
tls_session_free(struct tls_session *s)
{
	if (s == NULL)
		return;
	/* Best effort: on a non-blocking socket this returns AGAIN rather
	 * than wait; SMTP has ended with QUIT anyway (RFC 3207 4.1). */
	gnutls_bye(s->s, GNUTLS_SHUT_WR);
	gnutls_deinit(s->s);
	free(s);
}

/* ---- the conn transport ------------------------------------------------ */

/* tls_io_result: map a gnutls_record_* result R to read(2)/write(2)
 * conventions.  RD: a read, where the peer closing the socket without
 * close_notify is plain EOF (SMTP has its own end, QUIT/221). */
static ssize_t
tls_io_result(struct tls_session *ts, ssize_t r, int rd)
{
	if (r >= 0)
		return r;
	switch (r) {
	case GNUTLS_E_AGAIN:
		ts->want = gnutls_record_get_direction(ts->s) ? POLLOUT :
		    POLLIN;
		errno = EAGAIN;
		return -1;
	case GNUTLS_E_INTERRUPTED:
		errno = EINTR;
		return -1;
	case GNUTLS_E_PREMATURE_TERMINATION:
		if (rd)
			return 0;
		break;
	case GNUTLS_E_REHANDSHAKE:
		/* A TLS 1.2 HelloRequest: refused by ignoring it (RFC 5246
		 * 7.4.1.1 allows that); call again. */
		errno = EINTR;
		return -1;
	default:
		if (!gnutls_error_is_fatal((int)r)) {
			errno = EINTR;	/* a warning alert: call again */
			return -1;
		}
		break;
	}
	ob_snprintf(ts->lasterr, sizeof ts->lasterr, "%s",
	    gnutls_strerror((int)r));
	errno = EIO;
	return -1;
}

static ssize_t
tls_io_read(void *ctx, void *p, size_t n)
{
	struct tls_session *ts = ctx;

	return tls_io_result(ts, gnutls_record_recv(ts->s, p, n), 1);
}

/* After AGAIN, conn.c calls again with the same P and N, as GnuTLS wants
 * (gnutls_record_send(3)). */
static ssize_t
tls_io_write(void *ctx, const void *p, size_t n)
{
	struct tls_session *ts = ctx;

	return tls_io_result(ts, gnutls_record_send(ts->s, p, n), 0);
}

static size_t
tls_io_pending(void *ctx)
{
	struct tls_session *ts = ctx;

	return gnutls_record_check_pending(ts->s);
}

static int
tls_io_want(void *ctx)
{
	struct tls_session *ts = ctx;

	return ts->want;
}
