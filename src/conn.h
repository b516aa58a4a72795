/* conn.h - TCP connections with deadlines: connect, buffered line reads,
 * whole writes.  All waiting in outbox's network code happens here, in
 * poll() against a monotonic deadline (no alarm(), no longjmp).
 *
 * The byte transport is a small set of functions (struct conn_io) so that
 * TLS can be slid under an open connection after STARTTLS without the
 * callers changing: the default transport is the plain socket.
 */
#ifndef OUTBOX_CONN_H
#define OUTBOX_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct conn;

/* A transport.  read/write behave like read(2)/write(2) on a non-blocking
 * descriptor: -1 with errno EAGAIN means "poll for WANT_IN/WANT_OUT and
 * call again"; pending says how many bytes are buffered inside the
 * transport (TLS records already decrypted), so poll is skipped. */
struct conn_io {
	ssize_t	(*read)(void *ctx, void *p, size_t n);
	ssize_t	(*write)(void *ctx, const void *p, size_t n);
	size_t	(*pending)(void *ctx);
	int	(*want)(void *ctx);	/* POLLIN/POLLOUT for the last EAGAIN */
	void	*ctx;
};

/* conn_connect: resolve HOST (a name or an address literal) and connect to
 * PORT, trying each address in turn, each within TIMEOUT_MS.  TCP_NODELAY
 * is set: outbox buffers its own writes (DESIGN.md performance notes).
 * 0, or -1 with ERR (OB_TEMP) saying which address failed and why. */
int	conn_connect(struct conn **cp, const char *host, int port,
	    int64_t timeout_ms, struct ob_err *err);
/* conn_set_deadline: an absolute ob_mono_ms() limit for every later wait
 * (the whole attempt), on top of each call's own timeout; 0 = none. */
void	conn_set_deadline(struct conn *c, int64_t deadline);
/* conn_write: send all N bytes within TIMEOUT_MS.  0, or -1 with ERR. */
int	conn_write(struct conn *c, const void *p, size_t n, int64_t timeout_ms,
	    struct ob_err *err);
/* conn_read_line: the next line, its LF or CRLF removed, into LINE
 * (cleared first).  A line longer than MAX keeps its first MAX octets and
 * the rest is read and dropped.  The whole line must arrive within
 * TIMEOUT_MS.  1 = a line, 0 = EOF before any byte of it, -1 = error or
 * timeout (ERR, OB_TEMP). */
int	conn_read_line(struct conn *c, struct buf *line, size_t max,
	    int64_t timeout_ms, struct ob_err *err);
/* conn_set_io: replace the transport (TLS after STARTTLS).  Bytes already
 * buffered must have been consumed: the caller checks conn_buffered(). */
void	conn_set_io(struct conn *c, const struct conn_io *io);
size_t	conn_buffered(const struct conn *c);
int	conn_fd(const struct conn *c);
/* conn_peer: "192.0.2.1:25" or "[2001:db8::1]:25" (borrowed). */
const char *conn_peer(const struct conn *c);
void	conn_close(struct conn *c);			/* NULL is fine */

#endif
