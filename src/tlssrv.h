/* tlssrv.h - the server side of TLS on GnuTLS, for the SMTP listener's
 * STARTTLS (RFC 3207): non-blocking, driven by the caller's poll() loop.
 */
#ifndef OUTBOX_TLSSRV_H
#define OUTBOX_TLSSRV_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct tlssrv;		/* credentials: a certificate and its key */
struct tlssrv_sess;	/* one session on one socket */

/* tlssrv_new: load CERT (PEM, the chain) and KEY (PEM).  MIN_VERSION 12
 * or 13.  0, or -1 with ERR (OB_PERM) naming the file and the problem. */
int	tlssrv_new(struct tlssrv **tp, const char *cert, const char *key,
	    int min_version, struct ob_err *err);
void	tlssrv_free(struct tlssrv *t);			/* NULL is fine */

/* tlssrv_sess_new: a session on the non-blocking socket FD (which the
 * caller keeps and closes, after tlssrv_sess_free). */
struct tlssrv_sess *tlssrv_sess_new(struct tlssrv *t, int fd);
void	tlssrv_sess_free(struct tlssrv_sess *s);	/* NULL is fine */

/* tlssrv_handshake: go on with the handshake: 1 done, 0 call again when
 * the socket is ready for tlssrv_want(), -1 failed (WHY says why). */
int	tlssrv_handshake(struct tlssrv_sess *s, char *why, size_t n);
/* tlssrv_want: POLLIN or POLLOUT, what the last 0 / -2 waits for. */
int	tlssrv_want(const struct tlssrv_sess *s);

/* tlssrv_read / tlssrv_write: > 0 octets, 0 the peer closed (read), -1
 * an error, -2 try again when the socket is ready for tlssrv_want(). */
ssize_t	tlssrv_read(struct tlssrv_sess *s, void *p, size_t n);
ssize_t	tlssrv_write(struct tlssrv_sess *s, const void *p, size_t n);
/* tlssrv_pending: octets GnuTLS already decrypted and holds: read them
 * before waiting on the socket again. */
size_t	tlssrv_pending(struct tlssrv_sess *s);

/* tlssrv_info: "TLSv1.3 AES-256-GCM", for logs.  Borrowed. */
const char *tlssrv_info(struct tlssrv_sess *s);

#endif
