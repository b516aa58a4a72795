/* tls.h - the TLS client (GnuTLS, sealed inside: no gnutls type leaks out).
 *
 * Two handles: struct tls_client holds the credentials (trust anchors,
 * client certificate, policy), loaded once per process; struct
 * tls_session is one handshake on one connection, slid under the conn as
 * its transport (conn_set_io).  Policy about clear text (STARTTLS missing,
 * opportunistic TLS) is the caller's: these functions only succeed or fail,
 * never fall back.
 */
#ifndef OUTBOX_TLS_H
#define OUTBOX_TLS_H

#include <stdint.h>

#include "conn.h"
#include "util.h"

struct tls_conf {
	const char	*ca_file;	/* NULL: the system trust store */
	int		 verify;	/* 1: chain + host name; 0: none.  A
					   zeroed struct means 0: set it! */
	int		 min_version;	/* 12 or 13 (TLS 1.2 / 1.3); 0 = 12 */
	const char	*fingerprint;	/* NULL, or the SHA-256 of the server's
					   end-entity certificate (DER) in
					   hex, colons optional, any case;
					   checked on top of the chain unless
					   verify is 0 */
	const char	*cert_file;	/* client certificate (PEM) or NULL */
	const char	*key_file;	/* its key (PEM); NULL: in cert_file */
};

struct tls_client;
struct tls_session;

/* tls_client_new: load CONF's credentials (the strings are copied or used
 * at once: CONF may go away after).  0, or -1 with ERR OB_PERM naming the
 * bad key or file (unreadable, no certificate in it, bad fingerprint
 * syntax, unknown min_version). */
int	tls_client_new(struct tls_client **tc, const struct tls_conf *conf,
	    struct ob_err *err);
void	tls_client_free(struct tls_client *tc);		/* NULL is fine */

/* tls_start: the TLS handshake, as client, on connected C (after the
 * STARTTLS 220 reply, or at once for implicit TLS, RFC 8314 3.3).  SNI is
 * HOST unless HOST is an IP literal; the whole handshake must end within
 * TIMEOUT_MS.  The server's certificate is then checked as the tls_conf
 * said.  C must hold no unread bytes (conn_buffered() == 0): bytes that
 * came in clear after the STARTTLS reply are an injection attempt and
 * fail the call.
 * On success C's transport is TLS (conn_set_io), *SP is the session
 * (the caller's: tls_session_free it BEFORE conn_close, and do no I/O on C
 * after freeing it) and 0 is returned.  On failure C is unchanged (but
 * unusable: the server is mid-handshake; close it), *SP is NULL, and -1
 * with ERR OB_TEMP, one of:
 *   "timeout during TLS handshake with HOST"
 *   "TLS handshake with HOST failed: <GnuTLS text>"
 *   "certificate has expired", "certificate is not yet valid",
 *   "certificate is for NAMES, not HOST", "unknown issuer",
 *   "self-signed certificate" (several joined by "; "), or GnuTLS's text
 *   for rarer verification failures
 *   "fingerprint mismatch (got AB:CD:...)" */
int	tls_start(struct tls_client *tc, struct conn *c, const char *host,
	    int64_t timeout_ms, struct tls_session **sp, struct ob_err *err);

/* tls_info: "TLSv1.3 AES-256-GCM, subject CN=localhost, expires
 * 2036-11-22" for logs (", unverified" is added when verify was 0 and no
 * fingerprint was pinned).  Borrowed, valid until tls_session_free. */
const char *tls_info(const struct tls_session *s);
/* tls_version: "TLSv1.3" or "TLSv1.2" (borrowed, static). */
const char *tls_version(const struct tls_session *s);
/* tls_last_error: GnuTLS's text for the last fatal error of the
 * transport (conn reports those as EIO), or "" (borrowed). */
const char *tls_last_error(const struct tls_session *s);

/* What the server showed in a handshake (`outbox test`).  Strings are
 * "" when unknown; subject and issuer are RFC 4514 DNs as GnuTLS prints
 * them ("CN=localhost,O=Example"). */
struct tls_peer {
	char	 version[16];	/* "TLSv1.3" */
	char	 cipher[48];	/* "AES-256-GCM" */
	char	 subject[256];	/* of the end-entity certificate */
	char	 issuer[256];
	char	 names[256];	/* its DNS/IP subjectAltNames, or its CN */
	int64_t	 not_after;	/* expiry, seconds since the epoch; -1 */
	int	 checked;	/* the chain and name (or a pin) were
				 * checked and passed */
};

/* tls_peer: the handshake of session S into P. */
void	tls_peer(const struct tls_session *s, struct tls_peer *p);
/* tls_client_last_peer: what the server of TC's last tls_start showed
 * when its handshake completed, also when the certificate check then
 * failed (p->checked 0); 0, or -1 when the last handshake did not get
 * that far (P untouched). */
int	tls_client_last_peer(const struct tls_client *tc, struct tls_peer *p);

/* tls_session_free: send close_notify if the socket takes it at once (no
 * waiting), then free.  NULL is fine. */
void	tls_session_free(struct tls_session *s);

#endif
