/* smtpd.c - SMTP server engine (RFC 5321): explicit states, no I/O inside.
 *
 * The caller appends what the client sent (smtpd_input) and pulls events
 * (smtpd_next); replies accumulate in s->out until the caller sends them.
 * Commands are taken from the input in order, one line at a time, so a
 * pipelined group (RFC 2920) is answered in order; a command that needs
 * the caller (DATA's dot, STARTTLS, AUTH) stops the processing until the
 * caller answers (smtpd_data_done, smtpd_tls_done, smtpd_auth_done).
 *
 * States: CONNECT (no HELO yet), READY (HELO, no transaction), MAIL (a
 * transaction: MAIL accepted, RCPTs collected), AUTH_* (reading an AUTH
 * response line; AUTH_WAIT: EV_AUTH given, waiting for auth_done), BODY
 * (reading DATA), DOT (EV_DOT given, waiting for data_done), TLS (EV_STARTTLS
 * given, waiting for tls_done), CLOSED.  sd_set() is the one place that
 * changes the state; commands come from the verb table sd_cmds[].
 *
 * Invariants:
 *  - memory is bounded: a command line longer than its limit is dropped
 *    as it arrives (s->toolong), even when a huge line comes in one
 *    smtpd_input; body bytes go out in pieces of at most SD_PIECE; input
 *    arriving while the engine waits for the caller is capped (SD_HOLD);
 *  - a client that is neither allowed nor authenticated never gets a 250
 *    to MAIL: there is no path to EV_DATA for it;
 *  - input that arrives after STARTTLS and before the handshake is
 *    discarded (RFC 3207 4.2, CVE-2011-0411);
 *  - every reply line is "DDD text\r\n" of at most 512 octets, printable
 *    ASCII only (caller-supplied text is sanitised);
 *  - credentials are wiped (explicit_bzero) once auth_done was called,
 *    and the input line that carried them is wiped once read.
 *
 * Left to others: sockets, TLS, timers (the caller, via conn.c/tls.c),
 * checking passwords (auth), storing messages and the trace header (the
 * queue), access decisions (the caller fills conf.allowed).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "smtpd.h"
#include "util.h"

enum sd_state {
	SD_CONNECT, SD_READY, SD_MAIL, SD_AUTH_PLAIN, SD_AUTH_USER,
	SD_AUTH_PASS, SD_AUTH_WAIT, SD_BODY, SD_DOT, SD_TLS, SD_CLOSED,
	SD__N
};

static const char *const sd_name[SD__N] = {
	"CONNECT", "READY", "MAIL", "AUTH_PLAIN", "AUTH_USER",
	"AUTH_PASS", "AUTH_WAIT", "BODY", "DOT", "TLS", "CLOSED"
};

#define SD_LINE_MAX	(SMTPD_CMD_MAX - 2)	/* command text, no CRLF */
#define SD_AUTH_LINE	(SMTPD_AUTH_MAX - 2)	/* AUTH line text */
#define SD_REPLY_MAX	(SMTPD_CMD_MAX - 2)	/* reply text, no CRLF */
#define SD_PIECE	(16 * 1024)		/* EV_BODY piece */
#define SD_HOLD		(64 * 1024)		/* input held while waiting */
#define SD_ENVID_MAX	100			/* RFC 3461 4.4 */
#define SD_ORCPT_MAX	500			/* RFC 3461 4.2 */

#define SD_DEF_RCPT	100
#define SD_DEF_ERRORS	10
#define SD_DEF_CMD_MS	(5 * 60 * 1000)		/* RFC 5321 4.5.3.2.7 */
#define SD_DEF_DATA_MS	(3 * 60 * 1000)		/* RFC 5321 4.5.3.2.5 */

/* RET and NOTIFY values, as queue.h's QRET_* and QN_* (not included:
 * the engine must not pull in the queue). */
#define SD_RET_FULL	1
#define SD_RET_HDRS	2
#define SD_N_NEVER	0x01
#define SD_N_SUCCESS	0x02
#define SD_N_FAILURE	0x04
#define SD_N_DELAY	0x08

/* Body parser: where in a line the next octet falls. */
enum sd_bstate {
	BS_BOL,		/* at the start of a line */
	BS_MID,		/* inside a line */
	BS_CR,		/* after a CR inside a line (held back) */
	BS_DOT,		/* after a "." at the start of a line */
	BS_DOTCR	/* after "." CR at the start of a line */
};

struct smtpd {
	struct smtpd_conf	 conf;
	enum sd_state		 state;
	int			 refuse;	/* 554 greeting: QUIT only */
	int			 tls_up;
	int			 errors;
	char			*helo;
	char			*auth_user;	/* authenticated as */

	struct buf		 in;		/* unprocessed input from ioff */
	size_t			 ioff;
	int			 toolong;	/* the head line overflowed */
	int			 flood;		/* too much input held */
	struct buf		 out;		/* replies */

	/* the transaction */
	char			*sender;	/* NULL: none */
	int			 ret;
	char			*envid;
	int			 body8;
	int			 utf8;
	uint64_t		 size;
	char			**rcpt;
	unsigned		*notify;
	char			**orcpt;
	size_t			 nrcpt, rcap;

	/* DATA */
	enum sd_bstate		 bs;
	uint64_t		 stored;	/* octets as stored */
	int			 too_big;	/* past max_message_size */
	int			 body_end;	/* the final dot was seen */
	struct buf		 piece;		/* the next EV_BODY */
	const char		*abort_why;	/* EV_ABORT to give */
	enum smtpd_event	 pending;	/* found by smtpd_input */

	/* AUTH */
	const char		*mech;
	char			*cred_user, *cred_pass;
};

/* What a verb needs before its function runs. */
#define SDC_NOARG	0x01	/* arguments: 501 */
#define SDC_ARG		0x02	/* an argument is required: 501 */
#define SDC_REFUSED	0x04	/* allowed in the 554 state */

struct sd_cmd {
	const char	*verb;
	int		 flags;
	const char	*syntax;
	enum smtpd_event (*run)(struct smtpd *, char *, struct smtpd_ev *);
};

static void	sd_set(struct smtpd *s, enum sd_state st);
static void	sd_vreply(struct smtpd *s, const char *fmt, va_list ap)
		    __attribute__((format(printf, 2, 0)));
static void	sd_reply(struct smtpd *s, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sd_err(struct smtpd *s, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sd_close(struct smtpd *s, const char *why);
static void	sd_txn_end(struct smtpd *s);
static void	sd_cred_wipe(struct smtpd *s);
static void	sd_compact(struct smtpd *s);
static int	sd_line_state(const struct smtpd *s);
static size_t	sd_limit(const struct smtpd *s);
static char	*sd_getline(struct smtpd *s, size_t *lenp, int *toolong);
static enum smtpd_event sd_lines(struct smtpd *s, struct smtpd_ev *e);
static enum smtpd_event sd_command(struct smtpd *s, char *line, size_t n,
		    struct smtpd_ev *e);
static enum smtpd_event sd_auth_line(struct smtpd *s, char *line,
		    size_t n, struct smtpd_ev *e);
static int	sd_body(struct smtpd *s, struct smtpd_ev *e,
		    enum smtpd_event *ev);
static void	sd_octet(struct smtpd *s, unsigned char c);
static void	sd_fill(struct smtpd *s, struct smtpd_ev *e);

static enum smtpd_event sd_ehlo(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_helo(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_mail(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_rcpt(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_data(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_rset(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_noop(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_help(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_vrfy(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_expn(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_quit(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_bdat(struct smtpd *, char *, struct smtpd_ev *);
static enum smtpd_event sd_starttls(struct smtpd *, char *,
		    struct smtpd_ev *);
static enum smtpd_event sd_auth(struct smtpd *, char *, struct smtpd_ev *);

static const struct sd_cmd sd_cmds[] = {
	{ "EHLO", SDC_ARG, "EHLO hostname", sd_ehlo },
	{ "HELO", SDC_ARG, "HELO hostname", sd_helo },
	{ "MAIL", SDC_ARG, "MAIL FROM:<address>", sd_mail },
	{ "RCPT", SDC_ARG, "RCPT TO:<address>", sd_rcpt },
	{ "DATA", SDC_NOARG, "DATA", sd_data },
	{ "RSET", SDC_NOARG | SDC_REFUSED, "RSET", sd_rset },
	{ "NOOP", SDC_REFUSED, "NOOP", sd_noop },
	{ "HELP", SDC_REFUSED, "HELP", sd_help },
	{ "VRFY", SDC_ARG, "VRFY address", sd_vrfy },
	{ "EXPN", 0, "EXPN list", sd_expn },
	{ "QUIT", SDC_NOARG | SDC_REFUSED, "QUIT", sd_quit },
	{ "BDAT", 0, "BDAT size", sd_bdat },
	{ "STARTTLS", SDC_NOARG, "STARTTLS", sd_starttls },
	{ "AUTH", SDC_ARG, "AUTH mechanism [initial-response]", sd_auth },
};

/* ---- helpers ------------------------------------------------------------ */

static int
sd_auth_offered(const struct smtpd *s)
{
	return s->conf.auth_mechs != 0 &&
	    (s->tls_up || s->conf.auth_allow_plaintext);
}

/* sd_auth_possible: AUTH can be had in this session, now or after
 * STARTTLS.  (Stricter than "auth_mechs != 0": mechanisms that can never
 * be offered do not save a client from the 554 greeting.) */
static int
sd_auth_possible(const struct smtpd *s)
{
	return s->conf.auth_mechs != 0 && (s->tls_up ||
	    s->conf.tls_available || s->conf.auth_allow_plaintext);
}

static void
sd_set(struct smtpd *s, enum sd_state st)
{
	if (s->state != st && log_verbose())
		log_debug("smtpd: %s -> %s", sd_name[s->state], sd_name[st]);
	s->state = st;
}

static void
sd_vreply(struct smtpd *s, const char *fmt, va_list ap)
{
	char line[SD_REPLY_MAX + 1];
	size_t i, n;
	int r;

	r = vsnprintf(line, sizeof line, fmt, ap);
	if (r < 0)
		panic("smtpd: reply format");
	n = strlen(line);
	/* Caller-supplied text (hostname, queue id, failure text) must not
	 * break the reply syntax. */
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] >= 0x7f)
			line[i] = '?';
	(void)buf_add(&s->out, line, n);
	(void)buf_add(&s->out, "\r\n", 2);
}

static void
sd_reply(struct smtpd *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sd_vreply(s, fmt, ap);
	va_end(ap);
}

/* sd_err: an error reply that counts; at max_errors the session ends
 * with 421 (the state is CLOSED on return then). */
static void
sd_err(struct smtpd *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sd_vreply(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= s->conf.max_errors) {
		sd_reply(s, "421 4.7.0 %s too many errors",
		    s->conf.hostname);
		log_info("smtpd: client=%s too many errors",
		    s->conf.client_addr ? s->conf.client_addr : "?");
		sd_close(s, NULL);
	}
}

static void
sd_txn_end(struct smtpd *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpt[i]);
		free(s->orcpt[i]);
	}
	free(s->rcpt);
	free(s->orcpt);
	free(s->notify);
	s->rcpt = s->orcpt = NULL;
	s->notify = NULL;
	s->nrcpt = s->rcap = 0;
	free(s->sender);
	free(s->envid);
	s->sender = s->envid = NULL;
	s->ret = s->body8 = s->utf8 = 0;
	s->size = 0;
}

static void
sd_wipe_free(char *p)
{
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void
sd_cred_wipe(struct smtpd *s)
{
	sd_wipe_free(s->cred_user);
	sd_wipe_free(s->cred_pass);
	s->cred_user = s->cred_pass = NULL;
	s->mech = NULL;
}

/* sd_compact: drop the processed input, wiping what it leaves behind
 * (it may have held AUTH data). */
static void
sd_compact(struct smtpd *s)
{
	size_t rest;

	if (s->ioff == 0)
		return;
	rest = s->in.len - s->ioff;
	memmove(s->in.p, s->in.p + s->ioff, rest);
	memset(s->in.p + rest, 0, s->ioff);
	s->in.len = rest;
	s->ioff = 0;
}

static void
sd_drop_input(struct smtpd *s)
{
	s->ioff = s->in.len;
	sd_compact(s);
}

/* sd_close: the session is over.  A message being stored is abandoned
 * (EV_ABORT with WHY, given by the next smtpd_next). */
static void
sd_close(struct smtpd *s, const char *why)
{
	if (s->state == SD_BODY) {
		buf_clear(&s->piece);
		/* No ABORT when the caller never saw the DATA (it was found
		 * by smtpd_input), or saw the ABORT for the size already. */
		if (!s->too_big && s->pending != SMTPD_EV_DATA)
			s->abort_why = why ? why : "session closed";
	}
	s->pending = SMTPD_EV_NONE;
	sd_txn_end(s);
	sd_drop_input(s);
	sd_set(s, SD_CLOSED);
}

/* sd_line_state: the engine reads lines (commands or AUTH responses). */
static int
sd_line_state(const struct smtpd *s)
{
	switch (s->state) {
	case SD_CONNECT:
	case SD_READY:
	case SD_MAIL:
	case SD_AUTH_PLAIN:
	case SD_AUTH_USER:
	case SD_AUTH_PASS:
		return 1;
	default:
		return 0;
	}
}

/* sd_limit: the longest line kept in this state, without CRLF.  Commands
 * get SMTPD_AUTH_MAX too, since "AUTH PLAIN initial-response" may be that
 * long (RFC 4954 4); other verbs are held to 512 after reading. */
static size_t
sd_limit(const struct smtpd *s)
{
	(void)s;
	return SD_AUTH_LINE;
}

/* sd_getline: the next complete line, NUL-terminated in place without
 * its CRLF (or bare LF: be lenient), or NULL when none is complete yet.
 * *TOOLONG says the line went over the limit (its text is then gone). */
static char *
sd_getline(struct smtpd *s, size_t *lenp, int *toolong)
{
	char *p, *lf;
	size_t avail = s->in.len - s->ioff, n, limit = sd_limit(s);

	*toolong = 0;
	if (avail == 0)
		return NULL;
	p = s->in.p + s->ioff;
	lf = memchr(p, '\n', avail);
	if (lf == NULL) {
		/* +1: a CR that may still be followed by its LF */
		if (avail > limit + 1) {
			s->toolong = 1;
			sd_drop_input(s);
		}
		return NULL;
	}
	n = (size_t)(lf - p);
	s->ioff += n + 1;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	p[n] = '\0';
	if (s->toolong || n > limit) {
		s->toolong = 0;
		*toolong = 1;
		n = 0;
		p[0] = '\0';
	}
	*lenp = n;
	return p;
}

/* ---- public API --------------------------------------------------------- */

struct smtpd *
smtpd_new(const struct smtpd_conf *conf)
{
	struct smtpd *s = xcalloc(1, sizeof *s);

	s->conf = *conf;
	if (s->conf.hostname == NULL || s->conf.hostname[0] == '\0')
		s->conf.hostname = "localhost";
	if (s->conf.max_rcpt == 0)
		s->conf.max_rcpt = SD_DEF_RCPT;
	if (s->conf.max_errors <= 0)
		s->conf.max_errors = SD_DEF_ERRORS;
	if (s->conf.command_timeout <= 0)
		s->conf.command_timeout = SD_DEF_CMD_MS;
	if (s->conf.data_timeout <= 0)
		s->conf.data_timeout = SD_DEF_DATA_MS;
	s->tls_up = conf->tls_up;
	s->state = SD_CONNECT;
	buf_init(&s->in, 0);
	buf_init(&s->out, 0);
	buf_init(&s->piece, SD_PIECE + 8);
	/* RFC 5321 3.1: a server may answer the connection with 554; it
	 * then waits for QUIT, answering 503 to anything else. */
	s->refuse = !s->conf.allowed && !sd_auth_possible(s);
	if (s->refuse)
		sd_reply(s, "554 5.7.1 %s: not accepting mail from you",
		    s->conf.hostname);
	else
		sd_reply(s, "220 %s ESMTP outbox ready", s->conf.hostname);
	return s;
}

void
smtpd_free(struct smtpd *s)
{
	if (s == NULL)
		return;
	sd_txn_end(s);
	sd_cred_wipe(s);
	if (s->in.p != NULL)
		explicit_bzero(s->in.p, s->in.cap);
	buf_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->piece);
	free(s->helo);
	free(s->auth_user);
	free(s);
}

/* smtpd_input: lines are processed as they arrive, as long as nothing
 * waits for the caller (an event not yet taken, DATA's body, a pending
 * answer): so every command line, however long and wherever it sits in
 * the input, is cut to its limit before it is stored, and a huge line
 * costs no memory.  What cannot be processed yet is stored as it is
 * (bounded by the caller's read size, or SD_HOLD while waiting). */
void
smtpd_input(struct smtpd *s, const void *data, size_t len)
{
	struct smtpd_ev dummy;
	enum smtpd_event ev;
	const char *d = data, *lf;
	size_t head, keep, room, limit;

	while (len > 0) {
		/* Closed: nothing more is read.  TLS: what came in clear
		 * after STARTTLS must not be taken as sent under TLS (RFC
		 * 3207 4.2). */
		if (s->state == SD_CLOSED || s->state == SD_TLS)
			return;
		sd_compact(s);
		if (!sd_line_state(s) && s->state != SD_BODY) {
			/* Waiting for the caller (DOT, AUTH_WAIT): keep a
			 * bounded amount of pipelined input. */
			if (s->in.len + len > SD_HOLD) {
				s->flood = 1;
				return;
			}
			(void)buf_add(&s->in, d, len);
			return;
		}
		if (!sd_line_state(s) || s->pending != SMTPD_EV_NONE ||
		    s->abort_why != NULL || s->flood ||
		    memchr(s->in.p ? s->in.p : "", '\n', s->in.len) != NULL) {
			(void)buf_add(&s->in, d, len);
			return;
		}
		/* The head of this input continues the line being read, in
		 * a state known now: keep at most the limit of it. */
		limit = sd_limit(s);
		lf = memchr(d, '\n', len);
		head = lf ? (size_t)(lf - d) : len;
		room = s->in.len < limit + 2 ? limit + 2 - s->in.len : 0;
		keep = s->toolong ? 0 : head < room ? head : room;
		(void)buf_add(&s->in, d, keep);
		if (keep < head) {
			s->toolong = 1;
			s->ioff = s->in.len;
			sd_compact(s);
		}
		if (lf == NULL)
			return;
		(void)buf_add(&s->in, lf, 1);
		d = lf + 1;
		len -= head + 1;
		/* A complete line: process it (and any event it gives is
		 * kept for smtpd_next). */
		ev = sd_lines(s, &dummy);
		if (ev != SMTPD_EV_NONE)
			s->pending = ev;
	}
}

void
smtpd_eof(struct smtpd *s)
{
	if (s->state == SD_CLOSED)
		return;
	sd_close(s, "client closed the connection during DATA");
}

void
smtpd_timeout(struct smtpd *s)
{
	if (s->state == SD_CLOSED)
		return;
	sd_reply(s, "421 4.4.2 %s timeout", s->conf.hostname);
	sd_close(s, "timeout during DATA");
}

int64_t
smtpd_timeout_ms(const struct smtpd *s)
{
	return s->state == SD_BODY ? s->conf.data_timeout :
	    s->conf.command_timeout;
}

struct buf *
smtpd_output(struct smtpd *s)
{
	return &s->out;
}

int
smtpd_closing(const struct smtpd *s)
{
	return s->state == SD_CLOSED;
}

int
smtpd_tls_up(const struct smtpd *s)
{
	return s->tls_up;
}

const char *
smtpd_auth_user(const struct smtpd *s)
{
	return s->auth_user;
}

const char *
smtpd_state_name(const struct smtpd *s)
{
	return sd_name[s->state];
}

size_t
smtpd_mem(const struct smtpd *s)
{
	return s->in.cap + s->out.cap + s->piece.cap;
}

/* sd_lines: process the complete lines of the input while the engine
 * reads lines; the first event, or NONE when no complete line is left
 * or the state changed. */
static enum smtpd_event
sd_lines(struct smtpd *s, struct smtpd_ev *e)
{
	enum smtpd_event ev;
	char *line;
	size_t n;
	int toolong;

	while (sd_line_state(s) && !s->flood) {
		line = sd_getline(s, &n, &toolong);
		if (line == NULL)
			return SMTPD_EV_NONE;
		if (toolong) {
			if (s->state >= SD_AUTH_PLAIN) {
				sd_cred_wipe(s);
				sd_set(s, SD_READY);
			}
			sd_err(s, "500 5.5.2 line too long");
			continue;
		}
		if (s->state >= SD_AUTH_PLAIN)
			ev = sd_auth_line(s, line, n, e);
		else
			ev = sd_command(s, line, n, e);
		if (ev != SMTPD_EV_NONE)
			return ev;
	}
	return SMTPD_EV_NONE;
}

/* sd_refill: E for an event found while smtpd_input processed lines;
 * what it points to has not changed since (processing stopped there). */
static void
sd_refill(struct smtpd *s, enum smtpd_event ev, struct smtpd_ev *e)
{
	switch (ev) {
	case SMTPD_EV_MAIL:
	case SMTPD_EV_DATA:
		sd_fill(s, e);
		break;
	case SMTPD_EV_AUTH:
		e->helo = s->helo;
		e->user = s->cred_user;
		e->pass = s->cred_pass;
		e->mech = s->mech;
		break;
	case SMTPD_EV_STARTTLS:
		break;
	default:
		panic("smtpd: event %d kept", (int)ev);
	}
}

enum smtpd_event
smtpd_next(struct smtpd *s, struct smtpd_ev *e)
{
	enum smtpd_event ev;

	memset(e, 0, sizeof *e);
	buf_clear(&s->piece);
	if (s->pending != SMTPD_EV_NONE) {
		ev = s->pending;
		s->pending = SMTPD_EV_NONE;
		sd_refill(s, ev, e);
		return ev;
	}
	for (;;) {
		if (s->abort_why != NULL) {
			e->why = s->abort_why;
			s->abort_why = NULL;
			return SMTPD_EV_ABORT;
		}
		if (s->flood && sd_line_state(s)) {
			sd_reply(s, "421 4.7.0 %s too much pipelined input",
			    s->conf.hostname);
			sd_close(s, NULL);
			continue;
		}
		switch (s->state) {
		case SD_CLOSED:
		case SD_AUTH_WAIT:
		case SD_DOT:
		case SD_TLS:
			sd_compact(s);
			return SMTPD_EV_NONE;
		case SD_BODY:
			if (sd_body(s, e, &ev) == 1)
				return ev;
			if (s->state == SD_BODY && s->abort_why == NULL) {
				sd_compact(s);
				return SMTPD_EV_NONE;
			}
			continue;
		case SD_CONNECT:
		case SD_READY:
		case SD_MAIL:
		case SD_AUTH_PLAIN:
		case SD_AUTH_USER:
		case SD_AUTH_PASS:
			ev = sd_lines(s, e);
			if (ev != SMTPD_EV_NONE)
				return ev;
			if (sd_line_state(s) && !s->flood) {
				sd_compact(s);
				return SMTPD_EV_NONE;
			}
			continue;
		default:
			panic("smtpd: bad state %d", (int)s->state);
		}
	}
}

/* ---- commands ----------------------------------------------------------- */

static enum smtpd_event
sd_command(struct smtpd *s, char *line, size_t n, struct smtpd_ev *e)
{
	const struct sd_cmd *c = NULL;
	char *arg;
	size_t i, vlen;

	/* Only AUTH may be longer than 512 (RFC 5321 4.5.3.1.4, RFC 4954
	 * 4); the text of other long lines is not looked at. */
	if (n > SD_LINE_MAX && !(ob_strncasecmp(line, "AUTH ", 5) == 0 &&
	    s->state < SD_AUTH_PLAIN)) {
		sd_err(s, "500 5.5.2 line too long");
		return SMTPD_EV_NONE;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] == 0x7f) {
			sd_err(s, "500 5.5.2 bad character in command");
			return SMTPD_EV_NONE;
		}
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	for (vlen = 0; vlen < n && line[vlen] != ' '; vlen++)
		;
	arg = line + vlen;
	while (*arg == ' ')
		arg++;
	for (i = 0; i < sizeof sd_cmds / sizeof sd_cmds[0]; i++)
		if (strlen(sd_cmds[i].verb) == vlen &&
		    ob_strncasecmp(line, sd_cmds[i].verb, vlen) == 0) {
			c = &sd_cmds[i];
			break;
		}
	if (c == NULL) {
		sd_err(s, "500 5.5.2 command not recognized");
		return SMTPD_EV_NONE;
	}
	if (s->refuse && !(c->flags & SDC_REFUSED)) {
		sd_err(s, "503 5.7.1 %s: not accepting mail from you, "
		    "send QUIT", s->conf.hostname);
		return SMTPD_EV_NONE;
	}
	if (((c->flags & SDC_NOARG) && *arg != '\0') ||
	    ((c->flags & SDC_ARG) && *arg == '\0')) {
		sd_err(s, "501 5.5.4 Syntax: %s", c->syntax);
		return SMTPD_EV_NONE;
	}
	return c->run(s, arg, e);
}

/* sd_printable: printable ASCII, no space (an EHLO argument). */
static int
sd_printable(const char *p, int space_ok)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			if (!(space_ok && *p == ' '))
				return 0;
		}
	return 1;
}

static enum smtpd_event
sd_hello(struct smtpd *s, char *arg, int ehlo)
{
	const char *kw[12];
	char size[40];
	char auth[32];
	size_t n = 0, i;

	/* The argument goes into the trace header: printable ASCII only.
	 * Anything after a space (old clients add junk) is kept. */
	if (!sd_printable(arg, 1) || arg[0] == ' ') {
		sd_err(s, "501 5.5.4 Syntax: %s hostname",
		    ehlo ? "EHLO" : "HELO");
		return SMTPD_EV_NONE;
	}
	free(s->helo);
	s->helo = xstrdup(arg);
	sd_txn_end(s);		/* RFC 5321 4.1.4: EHLO resets */
	sd_set(s, SD_READY);
	if (!ehlo) {
		sd_reply(s, "250 %s", s->conf.hostname);
		return SMTPD_EV_NONE;
	}
	kw[n++] = "PIPELINING";
	if (s->conf.max_message_size > 0) {
		(void)ob_snprintf(size, sizeof size, "SIZE %" PRIu64,
		    s->conf.max_message_size);
		kw[n++] = size;
	} else
		kw[n++] = "SIZE";
	kw[n++] = "8BITMIME";
	kw[n++] = "SMTPUTF8";
	kw[n++] = "DSN";
	kw[n++] = "ENHANCEDSTATUSCODES";
	if (s->conf.tls_available && !s->tls_up)
		kw[n++] = "STARTTLS";
	if (sd_auth_offered(s)) {
		(void)ob_snprintf(auth, sizeof auth, "AUTH%s%s",
		    (s->conf.auth_mechs & SMTPD_AUTH_PLAIN) ? " PLAIN" : "",
		    (s->conf.auth_mechs & SMTPD_AUTH_LOGIN) ? " LOGIN" : "");
		if (strcmp(auth, "AUTH") != 0)
			kw[n++] = auth;
	}
	sd_reply(s, "250-%s", s->conf.hostname);
	for (i = 0; i < n; i++)
		sd_reply(s, "250%c%s", i + 1 == n ? ' ' : '-', kw[i]);
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_ehlo(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)e;
	return sd_hello(s, arg, 1);
}

static enum smtpd_event
sd_helo(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)e;
	return sd_hello(s, arg, 0);
}

/* sd_path: parse "FROM:<path> params" (PREFIX "FROM:" or "TO:") in place.
 * Case-insensitive prefix, spaces allowed after the colon (lenient, as
 * Postfix), angle brackets required.  A source route "<@a,@b:u@c>" is
 * dropped (RFC 5321 4.1.1.3, appendix C: servers ignore it).  0 with
 * *ADDR ("" for "<>") and *PARAMS, or -1. */
static int
sd_path(char *arg, const char *prefix, char **addr, char **params)
{
	size_t plen = strlen(prefix);
	char *p, *q, *colon;
	int quoted = 0;

	if (ob_strncasecmp(arg, prefix, plen) != 0)
		return -1;
	p = arg + plen;
	while (*p == ' ')
		p++;
	if (*p != '<')
		return -1;
	for (q = p + 1; *q != '\0'; q++) {
		if (*q == '"')
			quoted = !quoted;
		else if (*q == '\\' && quoted && q[1] != '\0')
			q++;
		else if (*q == '>' && !quoted)
			break;
	}
	if (*q != '>')
		return -1;
	*q++ = '\0';
	if (*q != '\0' && *q != ' ')
		return -1;
	while (*q == ' ')
		q++;
	*params = q;
	p++;
	if (*p == '@') {
		colon = strchr(p, ':');
		if (colon == NULL || colon[1] == '\0')
			return -1;
		p = colon + 1;
	}
	*addr = p;
	return 0;
}

/* sd_param: the next "KEY[=VALUE]" of *PP (split in place), or NULL at
 * the end.  *VAL is NULL when there is no "=". */
static char *
sd_param(char **pp, char **val)
{
	char *p = *pp, *k, *eq;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	k = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	eq = strchr(k, '=');
	if (eq != NULL) {
		*eq = '\0';
		*val = eq + 1;
	} else
		*val = NULL;
	return k;
}

static int
sd_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')		/* lenient */
		return c - 'a' + 10;
	return -1;
}

/* sd_xtext: decode xtext (RFC 3461 4: xchar is "!".."~" but "+" and "=",
 * "+HH" a hex octet) into DST of N octets.  The decoded text must be
 * printable US-ASCII (with space).  0, or -1. */
static int
sd_xtext(const char *src, char *dst, size_t n)
{
	size_t o = 0;
	int c, h, l;

	for (; *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c == '+') {
			if ((h = sd_hex(src[1])) < 0 ||
			    (l = sd_hex(src[2])) < 0)
				return -1;
			c = h * 16 + l;
			src += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=')
			return -1;
		if (c < 0x20 || c > 0x7e || o + 1 >= n)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

static int
sd_has8(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return 1;
	return 0;
}

/* sd_keyword: esmtp-keyword (RFC 5321 4.1.2). */
static int
sd_keyword(const char *k)
{
	const char *p;

	if (*k == '\0')
		return 0;
	for (p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || (*p == '-' && p != k)))
			return 0;
	return 1;
}

static enum smtpd_event
sd_mail(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	char *addr, *params, *k, *v;
	char envid[SD_ENVID_MAX + 1];
	uint64_t size = 0;
	int body8 = 0, utf8 = 0, ret = 0, has_envid = 0;
	unsigned seen = 0, bit;

	if (s->state == SD_CONNECT) {
		sd_err(s, "503 5.5.1 send HELO/EHLO first");
		return SMTPD_EV_NONE;
	}
	if (s->state == SD_MAIL) {
		sd_err(s, "503 5.5.1 nested MAIL command");
		return SMTPD_EV_NONE;
	}
	/* RFC 4954 6: the one way in for a client not allowed by address.
	 * (A client that cannot authenticate at all is in the 554 state.) */
	if (!s->conf.allowed && s->auth_user == NULL) {
		sd_err(s, "530 5.7.0 authentication required");
		return SMTPD_EV_NONE;
	}
	if (sd_path(arg, "FROM:", &addr, &params) == -1) {
		sd_err(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return SMTPD_EV_NONE;
	}
	while ((k = sd_param(&params, &v)) != NULL) {
		if (!sd_keyword(k)) {
			sd_err(s, "501 5.5.4 bad MAIL parameter syntax");
			return SMTPD_EV_NONE;
		}
		if (ob_strcasecmp(k, "SIZE") == 0) {
			bit = 0x01;
			if (v == NULL || parse_u64(v, &size) == -1)
				goto bad;
			if (s->conf.max_message_size > 0 &&
			    size > s->conf.max_message_size) {
				sd_reply(s, "552 5.3.4 message size exceeds "
				    "fixed limit");
				return SMTPD_EV_NONE;
			}
		} else if (ob_strcasecmp(k, "BODY") == 0) {
			bit = 0x02;
			if (v != NULL && ob_strcasecmp(v, "7BIT") == 0)
				body8 = 0;
			else if (v != NULL &&
			    ob_strcasecmp(v, "8BITMIME") == 0)
				body8 = 1;
			else
				goto bad;
		} else if (ob_strcasecmp(k, "SMTPUTF8") == 0) {
			bit = 0x04;
			if (v != NULL)		/* RFC 6531 3.4: no value */
				goto bad;
			utf8 = 1;
		} else if (ob_strcasecmp(k, "RET") == 0) {
			bit = 0x08;
			if (v != NULL && ob_strcasecmp(v, "FULL") == 0)
				ret = SD_RET_FULL;
			else if (v != NULL && ob_strcasecmp(v, "HDRS") == 0)
				ret = SD_RET_HDRS;
			else
				goto bad;
		} else if (ob_strcasecmp(k, "ENVID") == 0) {
			/* RFC 3461 4.4: xtext, at most 100 characters */
			bit = 0x10;
			if (v == NULL || *v == '\0' ||
			    strlen(v) > SD_ENVID_MAX ||
			    sd_xtext(v, envid, sizeof envid) == -1)
				goto bad;
			has_envid = 1;
		} else if (ob_strcasecmp(k, "AUTH") == 0) {
			/* RFC 4954 5: accepted; we trust no other server's
			 * word on who submitted */
			bit = 0x20;
			if (v == NULL)
				goto bad;
		} else {
			/* RFC 5321 4.1.1.11 */
			sd_err(s, "555 5.5.4 unsupported MAIL parameter %.40s",
			    k);
			return SMTPD_EV_NONE;
		}
		if (seen & bit)
			goto bad;
		seen |= bit;
	}
	if (sd_has8(addr) && !utf8) {
		sd_err(s, "553 5.6.7 non-ASCII address needs SMTPUTF8");
		return SMTPD_EV_NONE;
	}
	if (addr[0] != '\0' && !addr_valid_smtp(addr)) {
		sd_err(s, "553 5.1.7 bad sender address syntax");
		return SMTPD_EV_NONE;
	}
	sd_txn_end(s);
	s->sender = xstrdup(addr);
	s->envid = has_envid ? xstrdup(envid) : NULL;
	s->size = size;
	s->body8 = body8;
	s->utf8 = utf8;
	s->ret = ret;
	sd_set(s, SD_MAIL);
	sd_reply(s, "250 2.1.0 Ok");
	sd_fill(s, e);
	return SMTPD_EV_MAIL;
bad:
	sd_err(s, "501 5.5.4 bad MAIL parameter %.40s", k);
	return SMTPD_EV_NONE;
}

/* sd_same: the same mailbox: local parts exactly (RFC 5321 2.4), domains
 * case-insensitively; "postmaster" in any case. */
static int
sd_same(const char *a, const char *b)
{
	const char *ra = strrchr(a, '@'), *rb = strrchr(b, '@');

	if (ra == NULL || rb == NULL)
		return ra == rb && ob_strcasecmp(a, b) == 0;
	return ra - a == rb - b && memcmp(a, b, (size_t)(ra - a)) == 0 &&
	    ob_strcasecmp(ra, rb) == 0;
}

static enum smtpd_event
sd_rcpt(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	char *addr, *params, *k, *v, *item, *next;
	char orcpt[SD_ORCPT_MAX + 1], *semi;
	unsigned notify = 0;
	int has_orcpt = 0;
	size_t i, tlen;

	(void)e;
	if (s->state != SD_MAIL) {
		sd_err(s, "503 5.5.1 need MAIL command");
		return SMTPD_EV_NONE;
	}
	if (sd_path(arg, "TO:", &addr, &params) == -1) {
		sd_err(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return SMTPD_EV_NONE;
	}
	while ((k = sd_param(&params, &v)) != NULL) {
		if (!sd_keyword(k)) {
			sd_err(s, "501 5.5.4 bad RCPT parameter syntax");
			return SMTPD_EV_NONE;
		}
		if (ob_strcasecmp(k, "NOTIFY") == 0) {
			/* RFC 3461 4.1: NEVER, or a list of the others */
			if (v == NULL || *v == '\0' || notify != 0)
				goto bad;
			for (item = v; item != NULL; item = next) {
				next = strchr(item, ',');
				if (next != NULL)
					*next++ = '\0';
				if (ob_strcasecmp(item, "NEVER") == 0)
					notify |= SD_N_NEVER;
				else if (ob_strcasecmp(item, "SUCCESS") == 0)
					notify |= SD_N_SUCCESS;
				else if (ob_strcasecmp(item, "FAILURE") == 0)
					notify |= SD_N_FAILURE;
				else if (ob_strcasecmp(item, "DELAY") == 0)
					notify |= SD_N_DELAY;
				else
					goto bad;
			}
			if ((notify & SD_N_NEVER) && notify != SD_N_NEVER)
				goto bad;
		} else if (ob_strcasecmp(k, "ORCPT") == 0) {
			/* RFC 3461 4.2: addr-type ";" xtext, kept as
			 * "type;decoded" */
			if (v == NULL || has_orcpt ||
			    strlen(v) > SD_ORCPT_MAX ||
			    (semi = strchr(v, ';')) == NULL)
				goto bad;
			*semi = '\0';
			if (!sd_keyword(v) || semi[1] == '\0')
				goto bad;
			tlen = strlen(v);
			memcpy(orcpt, v, tlen);
			orcpt[tlen] = ';';
			if (sd_xtext(semi + 1, orcpt + tlen + 1,
			    sizeof orcpt - tlen - 1) == -1)
				goto bad;
			has_orcpt = 1;
		} else {
			sd_err(s, "555 5.5.4 unsupported RCPT parameter %.40s",
			    k);
			return SMTPD_EV_NONE;
		}
	}
	if (sd_has8(addr) && !s->utf8) {
		sd_err(s, "553 5.6.7 non-ASCII address needs SMTPUTF8");
		return SMTPD_EV_NONE;
	}
	/* RFC 5321 4.5.1: "postmaster" without a domain must be accepted. */
	if (ob_strcasecmp(addr, "postmaster") != 0 &&
	    !addr_valid_smtp(addr)) {
		sd_err(s, "553 5.1.3 bad recipient address syntax");
		return SMTPD_EV_NONE;
	}
	for (i = 0; i < s->nrcpt; i++)
		if (sd_same(s->rcpt[i], addr)) {
			/* accepted again, given to the caller once (the
			 * first one's NOTIFY and ORCPT stand) */
			sd_reply(s, "250 2.1.5 Ok");
			return SMTPD_EV_NONE;
		}
	if (s->nrcpt >= s->conf.max_rcpt) {
		/* RFC 5321 4.5.3.1.10 */
		sd_reply(s, "452 4.5.3 too many recipients");
		return SMTPD_EV_NONE;
	}
	if (s->nrcpt == s->rcap) {
		s->rcap = s->rcap ? s->rcap * 2 : 8;
		s->rcpt = xreallocarray(s->rcpt, s->rcap, sizeof *s->rcpt);
		s->orcpt = xreallocarray(s->orcpt, s->rcap,
		    sizeof *s->orcpt);
		s->notify = xreallocarray(s->notify, s->rcap,
		    sizeof *s->notify);
	}
	s->rcpt[s->nrcpt] = xstrdup(addr);
	s->orcpt[s->nrcpt] = has_orcpt ? xstrdup(orcpt) : NULL;
	s->notify[s->nrcpt] = notify;
	s->nrcpt++;
	sd_reply(s, "250 2.1.5 Ok");
	return SMTPD_EV_NONE;
bad:
	sd_err(s, "501 5.5.4 bad RCPT parameter %.40s", k);
	return SMTPD_EV_NONE;
}

static void
sd_fill(struct smtpd *s, struct smtpd_ev *e)
{
	e->helo = s->helo;
	e->sender = s->sender;
	e->ret = s->ret;
	e->envid = s->envid;
	e->body_8bit = s->body8;
	e->smtputf8 = s->utf8;
	e->size = s->size;
	e->rcpt = (const char *const *)s->rcpt;
	e->notify = s->notify;
	e->orcpt = (const char *const *)s->orcpt;
	e->nrcpt = s->nrcpt;
}

static enum smtpd_event
sd_data(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;
	if (s->state != SD_MAIL) {
		sd_err(s, "503 5.5.1 need MAIL command");
		return SMTPD_EV_NONE;
	}
	if (s->nrcpt == 0) {
		/* RFC 2920 3.1: DATA pipelined behind refused RCPTs */
		sd_reply(s, "554 5.5.1 no valid recipients");
		return SMTPD_EV_NONE;
	}
	s->bs = BS_BOL;
	s->stored = 0;
	s->too_big = 0;
	s->body_end = 0;
	sd_set(s, SD_BODY);
	sd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	sd_fill(s, e);
	return SMTPD_EV_DATA;
}

static enum smtpd_event
sd_rset(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;
	(void)e;
	sd_txn_end(s);
	if (s->state == SD_MAIL)
		sd_set(s, SD_READY);
	sd_reply(s, "250 2.0.0 Ok");
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_noop(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;		/* RFC 5321 4.1.1.9: a string is allowed */
	(void)e;
	sd_reply(s, "250 2.0.0 Ok");
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_help(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;
	(void)e;
	/* only what this session can use */
	sd_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP "
	    "QUIT HELP VRFY%s%s", s->conf.tls_available && !s->tls_up ?
	    " STARTTLS" : "", sd_auth_possible(s) ? " AUTH" : "");
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_vrfy(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;
	(void)e;
	sd_reply(s, "252 2.5.0 cannot VRFY user, but will accept message");
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_expn(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;
	(void)e;
	sd_err(s, "502 5.5.1 EXPN not available");
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_bdat(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;
	(void)e;
	/* CHUNKING is not offered (RFC 3030); a BDAT's data is then taken
	 * as commands, and answered as such. */
	sd_err(s, "502 5.5.1 BDAT not available");
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_quit(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	(void)arg;
	(void)e;
	sd_reply(s, "221 2.0.0 Bye");
	sd_close(s, NULL);
	return SMTPD_EV_NONE;
}

static enum smtpd_event
sd_starttls(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	size_t dropped;

	(void)arg;
	(void)e;
	if (s->tls_up) {
		sd_err(s, "503 5.5.1 TLS already active");
		return SMTPD_EV_NONE;
	}
	if (!s->conf.tls_available) {
		sd_err(s, "502 5.5.1 STARTTLS not available");
		return SMTPD_EV_NONE;
	}
	if (s->state == SD_MAIL) {
		sd_err(s, "503 5.5.1 mail transaction in progress");
		return SMTPD_EV_NONE;
	}
	/* RFC 3207 4.2 and CVE-2011-0411: whatever the client pipelined
	 * behind STARTTLS came in clear; it must not be executed as if it
	 * had come over TLS. */
	dropped = s->in.len - s->ioff;
	if (dropped > 0)
		log_info("smtpd: client=%s %zu octets after STARTTLS "
		    "discarded", s->conf.client_addr ? s->conf.client_addr :
		    "?", dropped);
	sd_drop_input(s);
	s->toolong = 0;
	sd_reply(s, "220 2.0.0 Ready to start TLS");
	sd_set(s, SD_TLS);
	return SMTPD_EV_STARTTLS;
}

/* ---- AUTH (RFC 4954; PLAIN RFC 4616; LOGIN) ----------------------------- */

/* sd_b64: decode canonical base64 SRC (N octets) into a fresh buffer
 * (*OUT, NUL-terminated, *OUTLEN octets).  0, or -1. */
static int
sd_b64(const char *src, size_t n, char **out, size_t *outlen)
{
	char *d = xmalloc(n / 4 * 3 + 1);
	int k = ob_b64_decode(src, n, d, n / 4 * 3);

	if (k < 0) {
		explicit_bzero(d, n / 4 * 3 + 1);
		free(d);
		return -1;
	}
	d[k] = '\0';
	*out = d;
	*outlen = (size_t)k;
	return 0;
}

static enum smtpd_event
sd_auth_ready(struct smtpd *s, struct smtpd_ev *e)
{
	sd_set(s, SD_AUTH_WAIT);
	e->helo = s->helo;
	e->user = s->cred_user;
	e->pass = s->cred_pass;
	e->mech = s->mech;
	return SMTPD_EV_AUTH;
}

/* sd_auth_fail: end the exchange with an error reply. */
static void
sd_auth_fail(struct smtpd *s, const char *reply)
{
	sd_cred_wipe(s);
	sd_set(s, SD_READY);
	sd_err(s, "%s", reply);
}

/* sd_plain: RFC 4616 2: [authzid] NUL authcid NUL passwd. */
static enum smtpd_event
sd_plain(struct smtpd *s, char *dec, size_t n, struct smtpd_ev *e)
{
	char *authcid, *pass, *nul;

	nul = memchr(dec, '\0', n);
	if (nul == NULL)
		goto bad;
	authcid = nul + 1;
	nul = memchr(authcid, '\0', n - (size_t)(authcid - dec));
	if (nul == NULL || nul == authcid)
		goto bad;
	pass = nul + 1;
	if (memchr(pass, '\0', n - (size_t)(pass - dec)) != NULL)
		goto bad;
	/* an authorization identity other than the user: not supported */
	if (dec[0] != '\0' && strcmp(dec, authcid) != 0) {
		explicit_bzero(dec, n);
		free(dec);
		sd_auth_fail(s, "535 5.7.8 authentication failed");
		return SMTPD_EV_NONE;
	}
	s->cred_user = xstrdup(authcid);
	s->cred_pass = xstrdup(pass);
	explicit_bzero(dec, n);
	free(dec);
	return sd_auth_ready(s, e);
bad:
	explicit_bzero(dec, n);
	free(dec);
	sd_auth_fail(s, "501 5.5.2 malformed AUTH PLAIN response");
	return SMTPD_EV_NONE;
}

/* sd_auth_resp: one client response (initial or on its own line), in
 * the current AUTH_* state. */
static enum smtpd_event
sd_auth_resp(struct smtpd *s, const char *resp, size_t n,
    struct smtpd_ev *e)
{
	char *dec;
	size_t dlen;

	if (n == 1 && resp[0] == '*') {		/* RFC 4954 4 */
		sd_auth_fail(s, "501 5.7.0 authentication cancelled");
		return SMTPD_EV_NONE;
	}
	/* "=" is an empty initial response (RFC 4954 4) */
	if (n == 1 && resp[0] == '=')
		n = 0;
	if (sd_b64(resp, n, &dec, &dlen) == -1) {
		sd_auth_fail(s, "501 5.5.2 bad base64 in AUTH response");
		return SMTPD_EV_NONE;
	}
	switch (s->state) {
	case SD_AUTH_PLAIN:
		return sd_plain(s, dec, dlen, e);
	case SD_AUTH_USER:
	case SD_AUTH_PASS:
		if (memchr(dec, '\0', dlen) != NULL) {
			explicit_bzero(dec, dlen);
			free(dec);
			sd_auth_fail(s, "501 5.5.2 malformed AUTH LOGIN "
			    "response");
			return SMTPD_EV_NONE;
		}
		if (s->state == SD_AUTH_USER) {
			s->cred_user = dec;
			sd_set(s, SD_AUTH_PASS);
			sd_reply(s, "334 UGFzc3dvcmQ6");	/* Password: */
			return SMTPD_EV_NONE;
		}
		s->cred_pass = dec;
		return sd_auth_ready(s, e);
	default:
		panic("smtpd: AUTH response in state %s", sd_name[s->state]);
	}
}

static enum smtpd_event
sd_auth_line(struct smtpd *s, char *line, size_t n, struct smtpd_ev *e)
{
	enum smtpd_event ev;

	ev = sd_auth_resp(s, line, n, e);
	explicit_bzero(line, n);
	return ev;
}

static enum smtpd_event
sd_auth(struct smtpd *s, char *arg, struct smtpd_ev *e)
{
	char *init;
	enum smtpd_event ev;
	size_t n;

	if (s->state == SD_CONNECT) {
		sd_err(s, "503 5.5.1 send EHLO first");
		return SMTPD_EV_NONE;
	}
	if (s->auth_user != NULL) {
		sd_err(s, "503 5.5.1 already authenticated");
		return SMTPD_EV_NONE;
	}
	if (s->state == SD_MAIL) {
		sd_err(s, "503 5.5.1 AUTH not allowed during a mail "
		    "transaction");
		return SMTPD_EV_NONE;
	}
	if (s->conf.auth_mechs == 0) {
		sd_err(s, "502 5.5.1 AUTH not available");
		return SMTPD_EV_NONE;
	}
	init = strchr(arg, ' ');
	if (init != NULL) {
		*init++ = '\0';
		if (strchr(init, ' ') != NULL) {
			explicit_bzero(init, strlen(init));
			sd_err(s, "501 5.5.4 Syntax: AUTH mechanism "
			    "[initial-response]");
			return SMTPD_EV_NONE;
		}
	}
	if (ob_strcasecmp(arg, "PLAIN") == 0 &&
	    (s->conf.auth_mechs & SMTPD_AUTH_PLAIN))
		s->mech = "PLAIN";
	else if (ob_strcasecmp(arg, "LOGIN") == 0 &&
	    (s->conf.auth_mechs & SMTPD_AUTH_LOGIN))
		s->mech = "LOGIN";
	else {
		if (init != NULL)
			explicit_bzero(init, strlen(init));
		sd_err(s, "504 5.5.4 unrecognized authentication type");
		return SMTPD_EV_NONE;
	}
	if (!sd_auth_offered(s)) {
		/* RFC 4954 6: 538 */
		if (init != NULL)
			explicit_bzero(init, strlen(init));
		s->mech = NULL;
		sd_err(s, "538 5.7.11 encryption required for requested "
		    "authentication mechanism");
		return SMTPD_EV_NONE;
	}
	sd_set(s, s->mech[0] == 'P' ? SD_AUTH_PLAIN : SD_AUTH_USER);
	if (init == NULL) {
		/* PLAIN: an empty challenge; LOGIN: "Username:" */
		sd_reply(s, "%s", s->state == SD_AUTH_PLAIN ? "334 " :
		    "334 VXNlcm5hbWU6");
		return SMTPD_EV_NONE;
	}
	n = strlen(init);
	ev = sd_auth_resp(s, init, n, e);
	explicit_bzero(init, n);
	return ev;
}

/* ---- DATA --------------------------------------------------------------- */

static void
sd_emit(struct smtpd *s, const char *p, size_t n)
{
	if (s->too_big)
		return;
	s->stored += n;
	if (s->conf.max_message_size > 0 &&
	    s->stored > s->conf.max_message_size) {
		/* Read on to the dot, storing nothing; 552 there. */
		s->too_big = 1;
		s->abort_why = "message exceeds max_message_size";
		return;
	}
	(void)buf_add(&s->piece, p, n);
}

/* sd_mid: octet C inside a line.  A CR is held back until it is known
 * whether an LF follows; a bare LF also ends a line (lenient), stored as
 * CRLF.  A bare CR is kept as it is. */
static void
sd_mid(struct smtpd *s, unsigned char c)
{
	if (c == '\r')
		s->bs = BS_CR;
	else if (c == '\n') {
		sd_emit(s, "\r\n", 2);
		s->bs = BS_BOL;
	} else {
		sd_emit(s, (const char *)&c, 1);
		s->bs = BS_MID;
	}
}

static void
sd_octet(struct smtpd *s, unsigned char c)
{
	switch (s->bs) {
	case BS_BOL:
		if (c == '.')
			s->bs = BS_DOT;
		else
			sd_mid(s, c);
		break;
	case BS_MID:
		sd_mid(s, c);
		break;
	case BS_CR:
		if (c == '\n') {
			sd_emit(s, "\r\n", 2);
			s->bs = BS_BOL;
			break;
		}
		sd_emit(s, "\r", 1);
		sd_mid(s, c);
		break;
	case BS_DOT:
		/* RFC 5321 4.5.2: a leading dot is removed; a dot alone
		 * ends the data. */
		if (c == '\n')
			s->body_end = 1;
		else if (c == '\r')
			s->bs = BS_DOTCR;
		else
			sd_mid(s, c);
		break;
	case BS_DOTCR:
		if (c == '\n') {
			s->body_end = 1;
			break;
		}
		sd_emit(s, "\r", 1);
		sd_mid(s, c);
		break;
	default:
		panic("smtpd: bad body state %d", (int)s->bs);
	}
}

/* sd_body: turn input into body pieces.  1: *EV is ready (BODY or DOT);
 * 0: go on (the state changed or an ABORT is due); -1: input used up. */
static int
sd_body(struct smtpd *s, struct smtpd_ev *e, enum smtpd_event *ev)
{
	while (s->ioff < s->in.len && !s->body_end &&
	    s->piece.len < SD_PIECE && s->abort_why == NULL)
		sd_octet(s, (unsigned char)s->in.p[s->ioff++]);
	/* What came within the limit goes out before an ABORT (so the
	 * events do not depend on how the input was split). */
	if (s->piece.len > 0 && (s->body_end || s->piece.len >= SD_PIECE ||
	    s->ioff == s->in.len || s->abort_why != NULL)) {
		e->data = s->piece.p;
		e->len = s->piece.len;
		*ev = SMTPD_EV_BODY;
		return 1;
	}
	if (s->abort_why != NULL)
		return 0;
	if (!s->body_end)
		return -1;
	s->body_end = 0;
	if (s->too_big) {
		sd_txn_end(s);
		sd_set(s, SD_READY);
		sd_reply(s, "552 5.3.4 message size exceeds fixed limit");
		return 0;
	}
	sd_set(s, SD_DOT);
	*ev = SMTPD_EV_DOT;
	return 1;
}

/* ---- the caller's answers ----------------------------------------------- */

/* sd_status_ok: "C.SSS.DDD" with class C matching CODE (RFC 3463 2). */
static int
sd_status_ok(const char *st, int code)
{
	int part, digits;

	if (st == NULL || st[0] - '0' != code / 100 || st[1] != '.')
		return 0;
	st += 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; *st >= '0' && *st <= '9'; st++)
			if (++digits > 3)
				return 0;
		if (digits == 0 || *st != (part == 0 ? '.' : '\0'))
			return 0;
		st++;
	}
	return 1;
}

void
smtpd_data_done(struct smtpd *s, int ok, const char *id, int code,
    const char *status, const char *text)
{
	if (s->state == SD_CLOSED)
		return;		/* the client left meanwhile */
	if (s->state != SD_DOT)
		panic("smtpd: data_done in state %s", sd_name[s->state]);
	sd_txn_end(s);
	sd_set(s, SD_READY);
	if (ok) {
		sd_reply(s, "250 2.0.0 Ok: queued as %.200s",
		    id != NULL ? id : "?");
		return;
	}
	if (code < 400 || code > 599) {
		code = 451;
		status = "4.3.0";
	}
	if (!sd_status_ok(status, code))
		status = code >= 500 ? "5.3.0" : "4.3.0";
	sd_reply(s, "%d %s %.300s", code, status,
	    text != NULL && text[0] != '\0' ? text : "message not accepted");
}

void
smtpd_tls_done(struct smtpd *s, int ok)
{
	if (s->state == SD_CLOSED)
		return;
	if (s->state != SD_TLS)
		panic("smtpd: tls_done in state %s", sd_name[s->state]);
	if (!ok) {
		sd_close(s, NULL);
		return;
	}
	/* RFC 3207 4.2: the session starts over: no HELO, no transaction,
	 * no AUTH; nothing received before counts. */
	s->tls_up = 1;
	sd_txn_end(s);
	sd_cred_wipe(s);
	free(s->helo);
	free(s->auth_user);
	s->helo = s->auth_user = NULL;
	sd_drop_input(s);
	s->toolong = 0;
	sd_set(s, SD_CONNECT);
}

void
smtpd_auth_done(struct smtpd *s, int ok)
{
	if (s->state == SD_CLOSED) {
		sd_cred_wipe(s);
		return;
	}
	if (s->state != SD_AUTH_WAIT)
		panic("smtpd: auth_done in state %s", sd_name[s->state]);
	if (!ok) {
		sd_auth_fail(s, "535 5.7.8 authentication failed");
		return;
	}
	s->auth_user = xstrdup(s->cred_user);
	sd_cred_wipe(s);
	sd_set(s, SD_READY);
	sd_reply(s, "235 2.7.0 Authentication successful");
}
