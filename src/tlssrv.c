/* tlssrv.c - the server side of TLS (tlssrv.h).
 *
 * Sessions are GNUTLS_NONBLOCK on the listener's non-blocking sockets:
 * every call returns at once, and GNUTLS_E_AGAIN becomes "call again when
 * the socket is ready for tlssrv_want()" (gnutls_record_get_direction),
 * so one slow client never holds the listener's loop.  The same priority
 * strings as the client (TLS 1.2 and 1.3, or 1.3 only); no client
 * certificates are asked for.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "tlssrv.h"

struct tlssrv {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
};

struct tlssrv_sess {
	gnutls_session_t s;
	int		 want;
	int		 again;		/* a record send is half done */
	char		 info[128];
};

int
tlssrv_new(struct tlssrv **tp, const char *cert, const char *key,
    int min_version, struct ob_err *err)
{
	struct tlssrv *t = xcalloc(1, sizeof *t);
	const char *prio = min_version == 13 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3"
	    : "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	int r;

	*tp = NULL;
	if ((r = gnutls_certificate_allocate_credentials(&t->cred)) < 0) {
		ob_err_set(err, OB_TEMP, 0, "TLS credentials: %s",
		    gnutls_strerror(r));
		goto fail;
	}
	r = gnutls_certificate_set_x509_key_file(t->cred, cert, key,
	    GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		ob_err_set(err, OB_PERM, 0, "listen_tls_cert %s / "
		    "listen_tls_key %s: %s", cert, key, gnutls_strerror(r));
		goto fail;
	}
	if ((r = gnutls_priority_init(&t->prio, prio, NULL)) < 0) {
		ob_err_set(err, OB_PERM, 0, "TLS priority: %s",
		    gnutls_strerror(r));
		goto fail;
	}
	*tp = t;
	return 0;
fail:
	tlssrv_free(t);
	return -1;
}

void
tlssrv_free(struct tlssrv *t)
{
	if (t == NULL)
		return;
	if (t->prio != NULL)
		gnutls_priority_deinit(t->prio);
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
}

struct tlssrv_sess *
tlssrv_sess_new(struct tlssrv *t, int fd)
{
	struct tlssrv_sess *s = xcalloc(1, sizeof *s);

	if (gnutls_init(&s->s, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_priority_set(s->s, t->prio) < 0 ||
	    gnutls_credentials_set(s->s, GNUTLS_CRD_CERTIFICATE, t->cred) <
	    0) {
		if (s->s != NULL)
			gnutls_deinit(s->s);
		free(s);
		return NULL;
	}
	gnutls_certificate_server_set_request(s->s, GNUTLS_CERT_IGNORE);
	gnutls_transport_set_int(s->s, fd);
	gnutls_handshake_set_timeout(s->s, 0);	/* the caller's deadline */
	s->want = POLLIN;
	return s;
}

void
tlssrv_sess_free(struct tlssrv_sess *s)
{
	if (s == NULL)
		return;
	(void)gnutls_bye(s->s, GNUTLS_SHUT_WR);	/* best effort */
	gnutls_deinit(s->s);
	free(s);
}

static void
set_want(struct tlssrv_sess *s)
{
	s->want = gnutls_record_get_direction(s->s) ? POLLOUT : POLLIN;
}

int
tlssrv_handshake(struct tlssrv_sess *s, char *why, size_t n)
{
	int r = gnutls_handshake(s->s);

	if (r == GNUTLS_E_SUCCESS) {
		const char *cipher = gnutls_cipher_get_name(
		    gnutls_cipher_get(s->s));
		const char *ver = gnutls_protocol_get_name(
		    gnutls_protocol_get_version(s->s));

		(void)ob_snprintf(s->info, sizeof s->info, "%s %s",
		    ver != NULL ? ver : "?", cipher != NULL ? cipher : "?");
		return 1;
	}
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		set_want(s);
		return 0;
	}
	(void)ob_snprintf(why, n, "TLS handshake: %s", gnutls_strerror(r));
	return -1;
}

int
tlssrv_want(const struct tlssrv_sess *s)
{
	return s->want;
}

ssize_t
tlssrv_read(struct tlssrv_sess *s, void *p, size_t n)
{
	ssize_t r = gnutls_record_recv(s->s, p, n);

	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		set_want(s);
		return -2;
	}
	/* a peer closing without close_notify: SMTP has QUIT of its own */
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	return -1;
}

/* After GNUTLS_E_AGAIN a send must be finished with NULL, 0 (the data
 * is GnuTLS's already); the caller's buffer only grows at its end, so
 * the octets it counts off its front are the ones that were sent. */
ssize_t
tlssrv_write(struct tlssrv_sess *s, const void *p, size_t n)
{
	ssize_t r;

	if (n > 16384)
		n = 16384;		/* one record */
	r = s->again ? gnutls_record_send(s->s, NULL, 0) :
	    gnutls_record_send(s->s, p, n);
	if (r >= 0) {
		s->again = 0;
		return r;
	}
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		s->again = 1;
		set_want(s);
		return -2;
	}
	return -1;
}

size_t
tlssrv_pending(struct tlssrv_sess *s)
{
	return gnutls_record_check_pending(s->s);
}

const char *
tlssrv_info(struct tlssrv_sess *s)
{
	return s->info;
}
