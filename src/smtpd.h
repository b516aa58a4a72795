/* smtpd.h - SMTP server engine (RFC 5321): explicit states, no I/O inside.
 *
 * The engine consumes what the client sent (smtpd_input, any split), and
 * produces replies (smtpd_output) and events for its caller, which owns
 * the socket (or stdin/stdout for `sendmail -bs`), the queue, TLS and the
 * password check.  The same engine serves the listener (listen.c) and
 * `sendmail -bs`, so both speak exactly the same protocol.
 *
 * Driver loop:
 *   for (;;) {
 *     ev = smtpd_next(s, &e);          // may append replies to the output
 *     switch (ev) {
 *     case SMTPD_EV_NONE:   send and clear smtpd_output() (RFC 2920: the
 *                           replies to a pipelined group leave together,
 *                           once the input read so far is used up); if
 *                           smtpd_closing(): close; else read more input
 *                           (waiting at most smtpd_timeout_ms()) and
 *                           smtpd_input() it, or smtpd_eof() / a timeout:
 *                           smtpd_timeout()
 *     case SMTPD_EV_MAIL:   a transaction begins: e.sender, e.params
 *     case SMTPD_EV_DATA:   start storing a message: e.sender, e.rcpt
 *                           (e.nrcpt), DSN parameters; the caller writes
 *                           its trace header (Received:) first
 *     case SMTPD_EV_BODY:   e.data/e.len: the next body bytes in canonical
 *                           form (CRLF lines, dots unstuffed)
 *     case SMTPD_EV_DOT:    the body is complete: commit it, then call
 *                           smtpd_data_done() (maybe later: group commit;
 *                           until then smtpd_next() returns NONE and reads
 *                           no further command)
 *     case SMTPD_EV_ABORT:  the message being stored is abandoned (over
 *                           max_message_size, RSET-less loss, line too
 *                           long in the header ...): discard it
 *     case SMTPD_EV_STARTTLS: send the output (the 220), do the TLS
 *                           handshake, smtpd_tls_done()
 *     case SMTPD_EV_AUTH:   check e.user / e.pass, smtpd_auth_done()
 *     }
 *   }
 *
 * Limits are the engine's: command line length (RFC 5321 4.5.3.1.4: 512
 * octets with CRLF; longer lines get "500 5.5.2 line too long" and are
 * discarded up to their end, however long), text line length in DATA
 * (4.5.3.1.6: 1000 with CRLF; longer is accepted, never truncated),
 * recipients per message (max_rcpt: "452 4.5.3 too many recipients", RFC
 * 5321 4.5.3.1.10), message size (SIZE advertised, a larger SIZE= refused
 * at MAIL with 552 5.3.4, and the body counted while it streams: past the
 * limit, EV_ABORT and 552 after the dot), errors (max_errors bad commands:
 * "421 4.7.0 too many errors", then closing).
 *
 * Access: the caller says whether the client's address may submit
 * (allowed) and whether AUTH is offered (auth_mechs; only once TLS is up
 * unless auth_allow_plaintext).  A client that is neither allowed nor
 * authenticated gets "530 5.7.0 authentication required" to MAIL (when
 * AUTH can be had) or 554 at the greeting and nothing else (when it
 * cannot): there is no state in which such a client can queue mail.
 *
 * Replies carry RFC 3463 enhanced status codes (ENHANCEDSTATUSCODES is
 * advertised, RFC 2034).  EHLO advertises PIPELINING, SIZE n, 8BITMIME,
 * SMTPUTF8, DSN, ENHANCEDSTATUSCODES, STARTTLS (when tls_available and not
 * yet up), AUTH (per the rules above), CHUNKING never.
 */
#ifndef OUTBOX_SMTPD_H
#define OUTBOX_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SMTPD_CMD_MAX	512		/* octets of a command line with CRLF */
#define SMTPD_AUTH_MAX	12288		/* an AUTH line (RFC 4954 4) */

/* AUTH mechanisms offered (bits). */
#define SMTPD_AUTH_PLAIN	0x01
#define SMTPD_AUTH_LOGIN	0x02

struct smtpd_conf {
	const char	*hostname;	/* in the greeting and EHLO reply */
	const char	*client_addr;	/* printable, for the trace header */
	int		 allowed;	/* the client's address may submit */
	int		 tls_available;	/* STARTTLS can be offered */
	int		 tls_up;	/* TLS from the start (implicit) */
	unsigned	 auth_mechs;	/* SMTPD_AUTH_*; 0 = no AUTH */
	int		 auth_allow_plaintext;	/* AUTH before TLS */
	uint64_t	 max_message_size;	/* 0 = no limit */
	size_t		 max_rcpt;		/* per message; 0 = 100 */
	int		 max_errors;		/* 0 = 10 */
	int64_t		 command_timeout;	/* ms; 0 = 5 min (4.5.3.2.7) */
	int64_t		 data_timeout;		/* ms between DATA chunks;
						 * 0 = 3 min (4.5.3.2.5) */
};

enum smtpd_event {
	SMTPD_EV_NONE = 0,	/* send the output; read (or close) */
	SMTPD_EV_MAIL,
	SMTPD_EV_DATA,
	SMTPD_EV_BODY,
	SMTPD_EV_DOT,
	SMTPD_EV_ABORT,
	SMTPD_EV_STARTTLS,
	SMTPD_EV_AUTH
};

/* RET and NOTIFY as in queue.h's QRET_* / QN_* values (RFC 3461). */
struct smtpd_ev {
	const char	*helo;		/* the client's EHLO/HELO argument */
	const char	*sender;	/* "" = null sender */
	int		 ret;		/* 0 none, 1 FULL, 2 HDRS */
	const char	*envid;		/* xtext-decoded, or NULL */
	int		 body_8bit;	/* BODY=8BITMIME */
	int		 smtputf8;	/* SMTPUTF8 given */
	uint64_t	 size;		/* SIZE= given, or 0 */
	const char *const *rcpt;	/* accepted recipients */
	const unsigned	*notify;	/* per recipient: QN_* bits, 0 none */
	const char *const *orcpt;	/* per recipient: ORCPT or NULL */
	size_t		 nrcpt;
	const void	*data;		/* BODY */
	size_t		 len;
	const char	*user, *pass;	/* AUTH: borrowed, wiped after
					 * smtpd_auth_done */
	const char	*mech;		/* AUTH: "PLAIN" or "LOGIN" */
	const char	*why;		/* ABORT: for the log */
};

struct smtpd;

/* smtpd_new: a session; the greeting (220, or 554 for a client that may
 * not submit and cannot authenticate) is in the output at once.  CONF is
 * copied; its strings must outlive the engine. */
struct smtpd *smtpd_new(const struct smtpd_conf *conf);
void	smtpd_free(struct smtpd *s);			/* NULL is fine */

/* smtpd_input: append what the client sent (any split; copied; the
 * engine bounds what it keeps: a huge line costs no memory).  Complete
 * command lines may be processed at once (their replies appended to the
 * output, an event kept for smtpd_next); what cannot be processed yet is
 * kept, so feed at most one read buffer between smtpd_next loops.  Input
 * that arrives while the engine waits for the caller (after EV_DOT or
 * EV_AUTH) is kept up to 64 KiB; more gets "421 4.7.0" once the caller
 * answered. */
void	smtpd_input(struct smtpd *s, const void *data, size_t len);
/* smtpd_eof: the client closed its side (or the read failed). */
void	smtpd_eof(struct smtpd *s);
/* smtpd_timeout: the wait smtpd_timeout_ms() gave ran out: 421 4.4.2 and
 * closing (a message being stored is aborted). */
void	smtpd_timeout(struct smtpd *s);
int64_t	smtpd_timeout_ms(const struct smtpd *s);

/* smtpd_next: process input until there is an event for the caller, or
 * nothing more can be done (SMTPD_EV_NONE).  E is filled for the event;
 * its pointers are valid until the next smtpd_* call. */
enum smtpd_event smtpd_next(struct smtpd *s, struct smtpd_ev *e);

/* smtpd_output: replies to send.  The caller sends them and clears the
 * buffer (buf_clear) or consumes what it sent (buf_consume). */
struct buf *smtpd_output(struct smtpd *s);
/* smtpd_closing: 1 once the session is over (QUIT answered, 421 sent,
 * the client gone): send the output, then close. */
int	smtpd_closing(const struct smtpd *s);

/* smtpd_data_done: after SMTPD_EV_DOT: the message is on disk (OK 1:
 * "250 2.0.0 queued as ID"), or not (OK 0: CODE/STATUS/TEXT, e.g. 452
 * 4.3.1 "queue full", 451 4.3.0 ...).  ID may be NULL for OK 0. */
void	smtpd_data_done(struct smtpd *s, int ok, const char *id, int code,
	    const char *status, const char *text);
/* smtpd_tls_done: after SMTPD_EV_STARTTLS: the handshake worked (OK 1:
 * the session starts over, RFC 3207 4.2: no HELO, no transaction, input
 * received in clear after the STARTTLS line discarded) or failed (OK 0:
 * the engine closes). */
void	smtpd_tls_done(struct smtpd *s, int ok);
/* smtpd_auth_done: after SMTPD_EV_AUTH: the credentials are good (235
 * 2.7.0) or not (535 5.7.8; counts as an error). */
void	smtpd_auth_done(struct smtpd *s, int ok);

int	smtpd_tls_up(const struct smtpd *s);
const char *smtpd_auth_user(const struct smtpd *s);	/* NULL: none */
const char *smtpd_state_name(const struct smtpd *s);	/* for logs */
/* smtpd_mem: octets the engine holds in its buffers (input, output, body
 * piece), for tests and the fuzzer: a huge command line costs nothing. */
size_t	smtpd_mem(const struct smtpd *s);

#endif
