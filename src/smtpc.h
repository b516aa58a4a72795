/* smtpc.h - SMTP client engine: explicit states, no I/O inside.
 *
 * The engine produces bytes to send (smtpc_output) and consumes reply
 * lines (smtpc_input); the caller (deliver.c) owns the socket and all
 * waiting.  One engine is one connection and carries any number of
 * transactions: MAIL/RCPT/DATA, pipelined when the server offers
 * PIPELINING (RFC 2920), RSET only after a transaction that did not end
 * with the final dot's reply.  With PIPELINING the next transaction's
 * commands may follow the final dot (smtpc_can_start), so a message costs
 * one round trip.  Results are per recipient.
 *
 * Driver loop (see deliver.c):
 *   for (;;) {
 *     send and clear smtpc_output() when it is non-empty (while streaming
 *       a body, only once it holds 64 KiB or more: the last body bytes and
 *       the final "." then leave in one write);
 *     switch (smtpc_want(c)) {
 *     case SMTPC_WANT_READ:  read one line, smtpc_input(c, line, len);
 *                            wait at most smtpc_timeout_ms(c)
 *     case SMTPC_WANT_TXN:   smtpc_start(c, txn) or smtpc_quit(c)
 *     case SMTPC_WANT_BODY:  smtpc_body(c, chunk, n) ...; smtpc_body_end(c)
 *     case SMTPC_DONE / SMTPC_FAILED: close.
 *   } }
 * A read error, EOF or timeout is reported with smtpc_lost(), which ends
 * the session and gives every unfinished recipient a temporary result.
 * smtpc_input() takes exactly one line per call; the caller reads lines
 * only while smtpc_want() is SMTPC_WANT_READ (a reply to a pipelined
 * batch is read line by line in that same loop).  Pass body chunks of at
 * most SMTPC_CHUNK_MAX octets and send the output once it holds
 * SMTPC_FLUSH_AT octets: the output buffer is bounded (SMTPC_OUT_MAX) and
 * overrunning it is a broken invariant (panic).
 *
 * TLS: with conf.tls MAY or REQUIRE and STARTTLS offered, the engine sends
 * STARTTLS and, on 220, wants SMTPC_WANT_TLS: the caller does the
 * handshake (tls.c) and calls smtpc_tls_done(), which re-enters EHLO and
 * forgets the old extensions (RFC 3207 4.2).  REQUIRE never falls back to
 * clear text: STARTTLS missing, refused or failed ends the session with a
 * temporary error.  Implicit TLS (RFC 8314) is the caller's: it sets
 * conf.tls_up.
 *
 * AUTH (RFC 4954): with conf.auth_user, after (the second) EHLO the engine
 * authenticates with auth.c's mechanisms before any MAIL; it refuses to
 * send credentials before TLS is up unless conf.auth_allow_plaintext.
 * Every AUTH failure is temporary (a wrong password must not bounce
 * mail).  Credentials are never logged.
 */
#ifndef OUTBOX_SMTPC_H
#define OUTBOX_SMTPC_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_reply.h"
#include "util.h"

#define SMTPC_FLUSH_AT	(64 * 1024)		/* send output at this size */
#define SMTPC_CHUNK_MAX	(1024 * 1024)		/* max octets per smtpc_body() */
#define SMTPC_OUT_MAX	(8 * SMTPC_CHUNK_MAX)	/* output buffer hard limit */

/* A transcript hook (`outbox test`): called with SMTPC_TRACE_OUT for each
 * command line queued (credentials already masked, as in the debug log:
 * "AUTH PLAIN ****", "****"; no body lines), SMTPC_TRACE_IN for each reply
 * line as received, before the engine acts on it (so smtpc_state_name()
 * still names the command it answers), and SMTPC_TRACE_AUTH with the
 * mechanism's name once the server accepted AUTH.  LINE has no CRLF and
 * is borrowed for the call; it may hold any octet but NUL. */
#define SMTPC_TRACE_OUT		0
#define SMTPC_TRACE_IN		1
#define SMTPC_TRACE_AUTH	2
typedef void smtpc_trace_fn(void *arg, int what, const char *line);

struct smtpc_conf {
	const char	*helo_name;
	int64_t		 greeting_timeout;	/* ms, RFC 5321 4.5.3.2.1 */
	int64_t		 command_timeout;	/* ms, EHLO/MAIL/RCPT/DATA/RSET/QUIT */
	int64_t		 data_timeout;		/* ms, the reply to the final dot */
	int		 no_pipelining;		/* 1: never pipeline */
	int		 tls;			/* SMTPC_TLS_* (STARTTLS) */
	int		 tls_up;		/* 1: TLS from the start */
	const char	*auth_user;		/* NULL: no AUTH */
	const char	*auth_secret;		/* password or OAuth token */
	int		 auth_mech;		/* enum auth_mech; AUTH_NONE:
						 * the strongest offered */
	int		 auth_token;		/* the secret is a token */
	int		 auth_allow_plaintext;
	const char	*auth_host;		/* OAUTHBEARER host/port */
	int		 auth_port;
	smtpc_trace_fn	*trace;			/* NULL: no transcript */
	void		*trace_arg;		/* passed back to trace */
};

#define SMTPC_TLS_OFF		0	/* never STARTTLS */
#define SMTPC_TLS_MAY		1	/* when offered (RFC 7435) */
#define SMTPC_TLS_REQUIRE	2	/* or fail the session */

/* One transaction.  The caller owns it and everything it points to, and
 * keeps it alive until smtpc_want() returns to SMTPC_WANT_TXN, SMTPC_DONE
 * or SMTPC_FAILED.  The engine fills the result fields. */
struct smtpc_txn {
	const char		*sender;	/* "" = null sender (MAIL FROM:<>) */
	const char *const	*rcpt;		/* addresses without brackets */
	size_t			 nrcpt;
	uint64_t		 size;		/* canonical size in octets */
	int			 eightbit;	/* the message has 8-bit octets */
	int			 eightbit_header; /* ... in its header */
	int			 convert;	/* 1: the body goes through mime8
						 * even when the server has
						 * 8BITMIME (tests); without it
						 * an 8-bit body always does */
	/* results */
	struct smtp_reply	*rcpt_result;	/* NRCPT entries, caller-allocated */
	int			 done;		/* every rcpt_result is final */
};

enum smtpc_want {
	SMTPC_WANT_READ,	/* waiting for a reply line */
	SMTPC_WANT_TXN,		/* idle: smtpc_start() or smtpc_quit() */
	SMTPC_WANT_BODY,	/* 354 received: stream the body */
	SMTPC_WANT_TLS,		/* 220 to STARTTLS: handshake, then
				 * smtpc_tls_done() */
	SMTPC_DONE,		/* QUIT sent and answered (or not needed) */
	SMTPC_FAILED,		/* session unusable; see smtpc_error() */
};

/* Extensions seen in the EHLO reply. */
#define SMTPC_EXT_PIPELINING	0x01
#define SMTPC_EXT_8BITMIME	0x02
#define SMTPC_EXT_SIZE		0x04
#define SMTPC_EXT_STARTTLS	0x08
#define SMTPC_EXT_AUTH		0x10
#define SMTPC_EXT_ENHANCED	0x20
#define SMTPC_EXT_SMTPUTF8	0x40
#define SMTPC_EXT_DSN		0x80

/* smtpc_new: a session that starts by waiting for the greeting.  CONF is
 * copied (its strings must outlive the engine).  helo_name must be 1-255
 * printable octets (conf validates it); otherwise "localhost" is used and
 * an error is logged. */
struct smtpc *smtpc_new(const struct smtpc_conf *conf);
void	smtpc_free(struct smtpc *c);			/* NULL is fine */

enum smtpc_want smtpc_want(const struct smtpc *c);
/* smtpc_output: bytes to send now.  The caller sends them and clears the
 * buffer (buf_clear) or consumes what it sent (buf_consume). */
struct buf *smtpc_output(struct smtpc *c);
/* smtpc_timeout_ms: the limit for the wait the engine is in now.  It
 * bounds the whole reply, not each line (RFC 5321 4.5.3.2): a server that
 * trickles an endless multi-line reply must still time out. */
int64_t	smtpc_timeout_ms(const struct smtpc *c);
/* smtpc_reply_open: 1 while a multi-line reply has begun and not ended
 * (the caller keeps that reply's deadline). */
int	smtpc_reply_open(const struct smtpc *c);

/* smtpc_input: one reply line without CRLF.  0, or -1 when the session
 * failed (malformed reply, 421, greeting or EHLO/HELO refused): then
 * smtpc_want() is SMTPC_FAILED and unfinished recipients have results. */
int	smtpc_input(struct smtpc *c, const char *line, size_t len);
/* smtpc_lost: the connection broke or a wait timed out; WHY is for logs
 * and results ("timeout waiting for the reply to DATA").  Unfinished
 * recipients get a local 4.4.2 result (451). */
void	smtpc_lost(struct smtpc *c, const char *why);

/* smtpc_can_start: 1 when smtpc_start() may be called now: the engine is
 * idle (SMTPC_WANT_TXN), or it waits for the reply to a final dot on a
 * server that offers PIPELINING and no transaction is queued behind it
 * yet.  In the second case the new transaction's MAIL, RCPT and DATA go
 * out right behind the dot (RFC 2920 3.1) and its replies are read after
 * the dot's: the first transaction's T->done is set first.  When the
 * session fails, both get results. */
int	smtpc_can_start(const struct smtpc *c);
/* smtpc_start: begin transaction T (when smtpc_can_start()).  A message
 * larger than the server's SIZE limit is refused here without a command
 * being sent (local 552 5.3.4 for every recipient, T->done set, and the
 * engine stays in SMTPC_WANT_TXN).  Addresses that cannot go on a command
 * line get local results and no command: a control octet or over 512
 * octets (501 5.1.7 sender, for every recipient / 501 5.1.3 recipient),
 * 8-bit octets without SMTPUTF8 offered (553 5.6.7); with it, MAIL gets
 * the SMTPUTF8 parameter.  When no recipient is left, T->done is set at
 * once, as for SIZE.  Without 8BITMIME offered (RFC 6152 3), an 8-bit
 * body is converted (CONVERT is implied) and EIGHTBIT_HEADER is refused
 * for every recipient (local 554 5.6.3).  Always check T->done after the
 * call. */
void	smtpc_start(struct smtpc *c, struct smtpc_txn *t);
/* smtpc_body: the next body bytes in canonical form (any split).  Dots
 * are stuffed here (RFC 5321 4.5.2) and, with T->convert, the text goes
 * through mime8 first.  0, or -1 (conversion failed, or an 8-bit octet
 * for a server without 8BITMIME: the state is SMTPC_FAILED, the caller
 * drops the connection without sending more; the accepted recipients
 * have permanent local 554 5.6.3 results, T->done is set). */
int	smtpc_body(struct smtpc *c, const void *data, size_t n);
/* smtpc_body_end: adds CRLF if the body did not end with one, and the
 * terminating ".".  Then the engine waits for the reply.  0, or -1 as for
 * smtpc_body (mime8 flush). */
int	smtpc_body_end(struct smtpc *c);
/* smtpc_tls_done: the handshake after STARTTLS worked (OK 1: EHLO again)
 * or failed (OK 0, WHY for logs and results: the session fails with a
 * temporary error). */
void	smtpc_tls_done(struct smtpc *c, int ok, const char *why);
/* smtpc_tls_up: 1 when the session is protected by TLS. */
int	smtpc_tls_up(const struct smtpc *c);
/* smtpc_auth_mech: the mechanism that authenticated, or NULL. */
const char *smtpc_auth_mech(const struct smtpc *c);
/* smtpc_quit: send QUIT (in SMTPC_WANT_TXN). */
void	smtpc_quit(struct smtpc *c);

unsigned smtpc_extensions(const struct smtpc *c);	/* SMTPC_EXT_* */
uint64_t smtpc_size_limit(const struct smtpc *c);	/* 0 = none given */
/* smtpc_error: why the session failed: the server's reply (e.g. the 421
 * greeting) or a local one (protocol error).  Borrowed. */
const struct smtp_reply *smtpc_error(const struct smtpc *c);
/* smtpc_state_name: current state, for traces ("RCPT"). */
const char *smtpc_state_name(const struct smtpc *c);

#endif
