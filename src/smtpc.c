/* smtpc.c - SMTP client engine: explicit states, no I/O inside.
 *
 * The engine turns transactions into command bytes (c->out) and reply
 * lines into per-recipient results.  Each state has a name and a timeout
 * kind (tables below); sc_enter() is the one function that enters a state
 * (it queues the state's command, or skips ahead when the state does not
 * apply), and sc_reply() handles the reply for the current state.
 *
 * Pipelining (RFC 2920): when offered, smtpc_start() writes [RSET] MAIL,
 * every RCPT and DATA in one batch (c->tx.batch); the states then only read
 * the replies, in order, and sc_enter() queues nothing for them.  Without
 * it, sc_enter() queues one command per state.
 *
 * Invariants:
 *  - a recipient's result is final once rcpt_result[i].code != 0; every
 *    path that leaves a transaction (end, failure, lost) makes all final
 *    and sets txn->done before the engine lets go of the transaction;
 *  - a 2xx result is only ever the server's reply to the final dot;
 *  - no 8-bit octet is sent when the server lacks 8BITMIME (body) or
 *    SMTPUTF8 (addresses); no CR, LF or other control octet is sent
 *    inside a command;
 *  - output is bounded by SMTPC_OUT_MAX (the caller drains it).
 *
 * Left to others: sockets, waiting and deadlines (deliver.c via conn.c),
 * what a result means for the queue (deliver.c), MIME conversion
 * (mime8.c).  STARTTLS and AUTH are placeholders that skip for now.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "mime8.h"
#include "smtp_reply.h"
#include "smtpc.h"
#include "util.h"

enum smtpc_state {
	SC_GREET, SC_EHLO, SC_HELO, SC_STARTTLS, SC_TLS, SC_AUTH, SC_READY,
	SC_RSET, SC_MAIL, SC_RCPT, SC_DATA, SC_BODY, SC_DOT, SC_QUIT,
	SC_DONE, SC_FAILED, SC__N
};

static const char *const sc_name[SC__N] = {
	"GREET", "EHLO", "HELO", "STARTTLS", "TLS", "AUTH", "READY",
	"RSET", "MAIL", "RCPT", "DATA", "BODY", "DOT", "QUIT",
	"DONE", "FAILED"
};

/* Which limit applies to the wait in each state (RFC 5321 4.5.3.2: 5 min
 * for the greeting, 10 min for the final dot's reply; the values come from
 * conf).  BODY is a write wait; READY, DONE and FAILED have none, but a
 * sane value is returned anyway. */
enum sc_tkind { TK_CMD, TK_GREET, TK_DATA };
static const enum sc_tkind sc_limit[SC__N] = {
	[SC_GREET] = TK_GREET, [SC_DOT] = TK_DATA,
	/* everything else: TK_CMD (0) */
};

static const enum smtpc_want sc_want[SC__N] = {
	[SC_GREET] = SMTPC_WANT_READ, [SC_EHLO] = SMTPC_WANT_READ,
	[SC_HELO] = SMTPC_WANT_READ, [SC_STARTTLS] = SMTPC_WANT_READ,
	[SC_TLS] = SMTPC_WANT_TLS,
	[SC_AUTH] = SMTPC_WANT_READ, [SC_READY] = SMTPC_WANT_TXN,
	[SC_RSET] = SMTPC_WANT_READ, [SC_MAIL] = SMTPC_WANT_READ,
	[SC_RCPT] = SMTPC_WANT_READ, [SC_DATA] = SMTPC_WANT_READ,
	[SC_BODY] = SMTPC_WANT_BODY, [SC_DOT] = SMTPC_WANT_READ,
	[SC_QUIT] = SMTPC_WANT_READ, [SC_DONE] = SMTPC_DONE,
	[SC_FAILED] = SMTPC_FAILED,
};

#define ADDR_MAX	512	/* longer paths are refused locally */
#define PIECE_MAX	8192	/* a longer line goes to mime8 in pieces */

/* One transaction's progress.  Two can be in flight: tx, waiting for the
 * reply to its final dot, and nx, whose MAIL, RCPT and DATA were sent
 * right behind that dot (RFC 2920 3.1: message content may be the first
 * "command" of a group).  When tx ends, nx becomes tx. */
struct sc_tx {
	struct smtpc_txn	*txn;		/* NULL: none */
	int			 batch;		/* its commands went pipelined */
	int			 body8;		/* BODY=8BITMIME */
	int			 utf8;		/* SMTPUTF8 on MAIL */
	int			 convert;	/* body through mime8 */
	int			 mail_failed;
	int			 dot_ignore;	/* "." sent only to end DATA */
	size_t			*sent;		/* rcpt indexes RCPT went for */
	size_t			 nsent, ri;	/* ri: next RCPT reply */
	size_t			 nacc;		/* RCPTs accepted */
	unsigned char		*acc;		/* per rcpt: accepted */
	size_t			 cap;		/* of sent and acc */
};

struct smtpc {
	struct smtpc_conf	 conf;
	enum smtpc_state	 state;
	struct buf		 out;
	struct smtp_reply_parser rp;
	struct smtp_reply	 err;		/* why FAILED */
	unsigned		 ext;		/* SMTPC_EXT_* */
	uint64_t		 size_limit;	/* SIZE n; 0 = none */
	int			 need_rset;	/* last txn did not end at the dot */
	int			 tls_up;	/* TLS protects the session */
	char			 auth_offered[1024];	/* EHLO AUTH list */
	struct auth		*auth;		/* the exchange under way */
	const char		*auth_name;	/* its mechanism */
	const char		*auth_done;	/* the same, once 235 came */
	int			 auth_cancel;	/* "*" sent: fail at the reply */
	struct smtp_reply	 auth_err;	/* ... with this */
	struct buf		 raw;		/* 334 text as received */

	struct sc_tx		 tx;		/* the current transaction */
	struct sc_tx		 nx;		/* the next one, pipelined
						 * behind tx's final dot */

	/* body state */
	int			 bol;		/* next octet starts a line */
	int			 cr;		/* last octet sent was CR */
	int			 no8;		/* 8-bit octets must not go out */
	struct mime8		*m8;
	struct buf		 line;		/* convert: line being built */
	int			 piece;		/* convert: line went in pieces */
	struct buf		 conv;		/* convert: mime8 output */
};

static void	sc_enter(struct smtpc *c, enum smtpc_state st);
static void	sc_reply(struct smtpc *c, const struct smtp_reply *r);
static void	sc_cmd(struct smtpc *c, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sc_cmd_mail(struct smtpc *c, const struct sc_tx *x);
static void	sc_out(struct smtpc *c, const void *d, size_t n);
static void	sc_fail(struct smtpc *c, const struct smtp_reply *r);
static void	sc_fail_local(struct smtpc *c, const char *status,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void	sc_auth_begin(struct smtpc *c);
static void	sc_auth_reply(struct smtpc *c, const struct smtp_reply *r);
static void	sc_secret(struct smtpc *c, const char *shown, const char *line);
static void	sc_trace_in(struct smtpc *c, const char *line, size_t len);
static void	sc_protocol(struct smtpc *c, const struct smtp_reply *r);
static void	sc_txn_end(struct smtpc *c, int need_rset);
static void	sc_result_unfinished(struct sc_tx *x,
		    const struct smtp_reply *r, int accepted_only);
static void	sc_ehlo_line(struct smtpc *c, const char *t, size_t n);
static int	sc_addr_check(const char *a, int *eight);
static int	sc_helo_ok(const char *h);
static int	sc_stuff(struct smtpc *c, const char *p, size_t n);
static int	sc_convert(struct smtpc *c, const char *p, size_t n);
static int	sc_m8_line(struct smtpc *c, size_t len, int eol);
static int	sc_body_fail(struct smtpc *c, const char *why);

/* sc_helo_ok: 1-255 printable ASCII octets, no space (it goes on the
 * EHLO line as is). */
static int
sc_helo_ok(const char *h)
{
	size_t n;

	if (h == NULL)
		return 0;
	for (n = 0; h[n]; n++)
		if ((unsigned char)h[n] <= 0x20 || (unsigned char)h[n] >= 0x7f)
			return 0;
	return n >= 1 && n <= 255;
}

struct smtpc *
smtpc_new(const struct smtpc_conf *conf)
{
	struct smtpc *c = xcalloc(1, sizeof *c);

	c->conf = *conf;
	if (!sc_helo_ok(c->conf.helo_name)) {
		log_err("smtpc: unusable helo_name, using \"localhost\"");
		c->conf.helo_name = "localhost";
	}
	c->state = SC_GREET;
	c->tls_up = conf->tls_up;
	buf_init(&c->raw, AUTH_LINE_MAX);
	buf_init(&c->out, SMTPC_OUT_MAX);
	buf_init(&c->line, PIECE_MAX + 1);
	buf_init(&c->conv, SMTPC_OUT_MAX);
	smtp_reply_start(&c->rp);
	return c;
}

void
smtpc_free(struct smtpc *c)
{
	if (c == NULL)
		return;
	mime8_free(c->m8);
	auth_free(c->auth);
	if (c->raw.p != NULL)
		explicit_bzero(c->raw.p, c->raw.cap);
	buf_free(&c->raw);
	buf_free(&c->out);
	buf_free(&c->line);
	buf_free(&c->conv);
	free(c->tx.sent);
	free(c->tx.acc);
	free(c->nx.sent);
	free(c->nx.acc);
	free(c);
}

enum smtpc_want
smtpc_want(const struct smtpc *c)
{
	return sc_want[c->state];
}

struct buf *
smtpc_output(struct smtpc *c)
{
	return &c->out;
}

int64_t
smtpc_timeout_ms(const struct smtpc *c)
{
	switch (sc_limit[c->state]) {
	case TK_GREET:
		return c->conf.greeting_timeout;
	case TK_DATA:
		return c->conf.data_timeout;
	case TK_CMD:
		return c->conf.command_timeout;
	default:
		panic("smtpc: bad timeout kind in state %s",
		    sc_name[c->state]);
	}
}

int
smtpc_reply_open(const struct smtpc *c)
{
	return c->rp.nlines > 0 && !c->rp.complete;
}

unsigned
smtpc_extensions(const struct smtpc *c)
{
	return c->ext;
}

uint64_t
smtpc_size_limit(const struct smtpc *c)
{
	return c->size_limit;
}

const struct smtp_reply *
smtpc_error(const struct smtpc *c)
{
	return &c->err;
}

const char *
smtpc_state_name(const struct smtpc *c)
{
	return sc_name[c->state];
}

/* sc_out: append to the output.  Overrunning SMTPC_OUT_MAX means the
 * caller did not drain it as the driver-loop contract says. */
static void
sc_out(struct smtpc *c, const void *d, size_t n)
{
	if (buf_add(&c->out, d, n) == -1)
		panic("smtpc: output over %zu octets: caller did not send it",
		    (size_t)SMTPC_OUT_MAX);
}

static void
sc_cmd(struct smtpc *c, const char *fmt, ...)
{
	char line[ADDR_MAX + 128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	/* arguments were checked (sc_addr_check, helo from conf) */
	if (n < 0 || (size_t)n >= sizeof line - 2)
		panic("smtpc: command too long");
	log_debug("smtpc: >>> %s", line);
	if (c->conf.trace != NULL)
		c->conf.trace(c->conf.trace_arg, SMTPC_TRACE_OUT, line);
	/* cppcheck-suppress pointerOutOfBoundsCond ; panic above */
	memcpy(line + n, "\r\n", 2);
	sc_out(c, line, (size_t)n + 2);
}

static void
sc_cmd_mail(struct smtpc *c, const struct sc_tx *x)
{
	char size[40] = "";

	/* RFC 1870 6: SIZE= is an estimate; we know it exactly */
	if (c->ext & SMTPC_EXT_SIZE)
		snprintf(size, sizeof size, " SIZE=%" PRIu64, x->txn->size);
	sc_cmd(c, "MAIL FROM:<%s>%s%s%s", x->txn->sender, size,
	    x->body8 ? " BODY=8BITMIME" : "", x->utf8 ? " SMTPUTF8" : "");
}

/* sc_enter: the one place a state is entered. */
static void
sc_enter(struct smtpc *c, enum smtpc_state st)
{
	log_debug("smtpc: %s -> %s", sc_name[c->state], sc_name[st]);
	c->state = st;
	switch (st) {
	case SC_GREET:
		break;
	case SC_EHLO:
		/* RFC 3207 4.2: after STARTTLS, forget what EHLO said */
		c->ext = 0;
		c->size_limit = 0;
		c->auth_offered[0] = '\0';
		sc_cmd(c, "EHLO %s", c->conf.helo_name);
		break;
	case SC_HELO:
		c->ext = 0;
		c->size_limit = 0;
		sc_cmd(c, "HELO %s", c->conf.helo_name);
		break;
	case SC_STARTTLS:
		if (c->conf.tls == SMTPC_TLS_OFF || c->tls_up) {
			sc_enter(c, SC_AUTH);
			break;
		}
		if (c->ext & SMTPC_EXT_STARTTLS) {
			sc_cmd(c, "STARTTLS");
			break;		/* its reply decides */
		}
		if (c->conf.tls == SMTPC_TLS_REQUIRE) {
			/* no downgrade: defer rather than send in clear */
			sc_fail_local(c, "4.7.0", "the server does not offer "
			    "STARTTLS; not sending in clear (tls starttls)");
			break;
		}
		sc_enter(c, SC_AUTH);
		break;
	case SC_TLS:
		break;
	case SC_AUTH:
		sc_auth_begin(c);
		break;
	case SC_READY:
		break;
	case SC_RSET:
		if (!c->tx.batch)
			sc_cmd(c, "RSET");
		break;
	case SC_MAIL:
		if (!c->tx.batch)
			sc_cmd_mail(c, &c->tx);
		break;
	case SC_RCPT:
		if (!c->tx.batch)
			sc_cmd(c, "RCPT TO:<%s>",
			    c->tx.txn->rcpt[c->tx.sent[c->tx.ri]]);
		break;
	case SC_DATA:
		if (!c->tx.batch)
			sc_cmd(c, "DATA");
		break;
	case SC_BODY:
		c->bol = 1;
		c->cr = 0;
		c->piece = 0;
		buf_clear(&c->line);
		buf_clear(&c->conv);
		if (c->tx.convert)
			c->m8 = mime8_new();
		break;
	case SC_DOT:
		break;
	case SC_QUIT:
		sc_cmd(c, "QUIT");
		break;
	case SC_DONE:
	case SC_FAILED:
		mime8_free(c->m8);
		c->m8 = NULL;
		break;
	default:
		panic("smtpc: enter unknown state %d", (int)st);
	}
}

/* sc_result_unfinished: R for every recipient without a final result
 * (only those whose RCPT was accepted when ACCEPTED_ONLY). */
static void
sc_result_unfinished(struct sc_tx *x, const struct smtp_reply *r,
    int accepted_only)
{
	struct smtpc_txn *t = x->txn;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrcpt; i++) {
		if (t->rcpt_result[i].code != 0)
			continue;
		if (accepted_only && !x->acc[i])
			continue;
		t->rcpt_result[i] = *r;
	}
}

/* sc_txn_end: every result is final; back to READY. */
static void
sc_txn_end(struct smtpc *c, int need_rset)
{
	struct smtpc_txn *t = c->tx.txn;
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		if (t->rcpt_result[i].code == 0)
			panic("smtpc: transaction ended without a result "
			    "for recipient %zu", i);
	t->done = 1;
	c->tx.txn = NULL;
	c->tx.batch = 0;
	c->need_rset = need_rset;
	mime8_free(c->m8);
	c->m8 = NULL;
	if (c->nx.txn != NULL) {
		/* the next transaction's commands are already out: only
		 * a dot's reply ends tx with one queued (need_rset 0) */
		struct sc_tx x = c->tx;

		if (need_rset)
			panic("smtpc: pipelined transaction after a dirty end");
		c->tx = c->nx;
		c->nx = x;
		c->nx.txn = NULL;
		sc_enter(c, SC_MAIL);
		return;
	}
	sc_enter(c, SC_READY);
}

/* sc_fail: the session is over; R is why, and the result of every
 * recipient still open (the caller retries them). */
static void
sc_fail(struct smtpc *c, const struct smtp_reply *r)
{
	struct sc_tx *x[2] = { &c->tx, &c->nx };	/* nx: same fate */
	size_t i;

	c->err = *r;
	for (i = 0; i < 2; i++) {
		if (x[i]->txn != NULL) {
			sc_result_unfinished(x[i], r, 0);
			x[i]->txn->done = 1;
			x[i]->txn = NULL;
		}
		x[i]->batch = 0;
	}
	sc_enter(c, SC_FAILED);
}

/* sc_protocol: a reply that makes no sense in this state. */
static void
sc_protocol(struct smtpc *c, const struct smtp_reply *r)
{
	struct smtp_reply e;
	char s[SMTP_REPLY_TEXT_MAX + 32];

	smtp_reply_fmt(r, s, sizeof s);
	smtp_reply_local(&e, 451, "4.5.0", "protocol error: unexpected "
	    "reply to %s: %s", sc_name[c->state], s);
	sc_fail(c, &e);
}

/* sc_ehlo_line: one keyword line of the EHLO reply (RFC 5321 4.1.1.1);
 * keywords are case-insensitive. */
static void
sc_ehlo_line(struct smtpc *c, const char *t, size_t n)
{
	static const struct {
		const char	*kw;
		unsigned	 bit;
	} kws[] = {
		{ "PIPELINING", SMTPC_EXT_PIPELINING },
		{ "8BITMIME", SMTPC_EXT_8BITMIME },
		{ "SIZE", SMTPC_EXT_SIZE },
		{ "STARTTLS", SMTPC_EXT_STARTTLS },
		{ "AUTH", SMTPC_EXT_AUTH },
		{ "ENHANCEDSTATUSCODES", SMTPC_EXT_ENHANCED },
		{ "SMTPUTF8", SMTPC_EXT_SMTPUTF8 },
		{ "DSN", SMTPC_EXT_DSN },
	};
	char num[24];
	size_t kl, i, pl;
	uint64_t v;

	for (kl = 0; kl < n && t[kl] != ' '; kl++)
		;
	for (i = 0; i < sizeof kws / sizeof kws[0]; i++) {
		if (strlen(kws[i].kw) != kl
		    || ob_strncasecmp(t, kws[i].kw, kl) != 0)
			continue;
		c->ext |= kws[i].bit;
		if (kws[i].bit == SMTPC_EXT_AUTH) {
			/* RFC 4954 3: "AUTH" SP mechanism list */
			size_t m = n - kl > sizeof c->auth_offered - 1 ?
			    sizeof c->auth_offered - 1 : n - kl;

			memcpy(c->auth_offered, t + kl, m);
			c->auth_offered[m] = '\0';
			return;
		}
		if (kws[i].bit != SMTPC_EXT_SIZE)
			return;
		/* RFC 1870 4: "SIZE" [number]; 0 or none = no limit */
		t += kl;
		n -= kl;
		while (n > 0 && *t == ' ') {
			t++;
			n--;
		}
		for (pl = 0; pl < n && t[pl] != ' '; pl++)
			;
		c->size_limit = 0;
		if (pl > 0 && pl < sizeof num) {
			memcpy(num, t, pl);
			num[pl] = '\0';
			if (parse_u64(num, &v) == 0)
				c->size_limit = v;
		}
		return;
	}
}

/* sc_trace_in: reply line LINE (LEN octets, maybe not NUL-terminated) to
 * the transcript hook, cut at a NUL or at SMTP_REPLY_TEXT_MAX octets. */
static void
sc_trace_in(struct smtpc *c, const char *line, size_t len)
{
	char t[SMTP_REPLY_TEXT_MAX + 1];
	size_t k = 0;

	while (k < len && k < sizeof t - 1 && line[k] != '\0') {
		t[k] = line[k];
		k++;
	}
	t[k] = '\0';
	c->conf.trace(c->conf.trace_arg, SMTPC_TRACE_IN, t);
}

int
smtpc_input(struct smtpc *c, const char *line, size_t len)
{
	const char *t;
	size_t tn;
	int rv;

	if (c->state == SC_FAILED || c->state == SC_DONE)
		return -1;
	if (sc_want[c->state] != SMTPC_WANT_READ)
		panic("smtpc: reply line in state %s", sc_name[c->state]);
	if (c->conf.trace != NULL)
		sc_trace_in(c, line, len);
	rv = smtp_reply_line(&c->rp, line, len, &t, &tn);
	if (rv == -1) {
		struct smtp_reply e;
		char q[128], raw[100];
		size_t k = len < sizeof raw - 1 ? len : sizeof raw - 1;

		memcpy(raw, line, k);
		raw[k] = '\0';
		log_quote(q, sizeof q, raw);
		smtp_reply_local(&e, 451, "4.5.0", "protocol error: malformed "
		    "reply to %s: %s", sc_name[c->state], q);
		if (c->state == SC_QUIT) {
			sc_enter(c, SC_DONE);
			return 0;
		}
		sc_fail(c, &e);
		return -1;
	}
	if (c->state == SC_EHLO && c->rp.nlines >= 2 && c->rp.code == 250)
		sc_ehlo_line(c, t, tn);
	if (c->state == SC_AUTH) {
		/* the challenge as sent: the parser's text is cleaned */
		buf_clear(&c->raw);
		if (buf_add(&c->raw, t, tn) == -1)
			buf_clear(&c->raw);
	}
	if (rv == 0)
		return 0;
	if (log_verbose()) {
		char s[SMTP_REPLY_TEXT_MAX + 32];

		smtp_reply_fmt(&c->rp.r, s, sizeof s);
		log_debug("smtpc: <<< %s", s);
	}
	sc_reply(c, &c->rp.r);
	return c->state == SC_FAILED ? -1 : 0;
}

/* sc_reply: the reply R to the current state's command. */
static void
sc_reply(struct smtpc *c, const struct smtp_reply *r)
{
	int cls = r->code / 100;
	size_t idx;

	/* RFC 5321 3.8: 421 may come in reply to anything: the server is
	 * closing.  Open recipients get it (temporary). */
	if (r->code == 421 && c->state != SC_QUIT) {
		sc_fail(c, r);
		return;
	}
	switch (c->state) {
	case SC_GREET:
		if (r->code == 220)
			sc_enter(c, SC_EHLO);
		else
			sc_fail(c, r);
		break;
	case SC_EHLO:
		if (r->code == 250)
			sc_enter(c, SC_STARTTLS);
		else if (r->code == 500 || r->code == 501 || r->code == 502
		    || r->code == 504 || r->code == 550)
			/* RFC 5321 3.2 names 500/502; old servers say more */
			sc_enter(c, SC_HELO);
		else
			sc_fail(c, r);
		break;
	case SC_HELO:
		if (r->code == 250)
			sc_enter(c, SC_STARTTLS);
		else
			sc_fail(c, r);
		break;
	case SC_RSET:
		if (cls == 2) {
			c->need_rset = 0;
			sc_enter(c, SC_MAIL);
		} else {
			struct smtp_reply e;
			char s[SMTP_REPLY_TEXT_MAX + 32];

			/* not the recipients' fault: retry them */
			smtp_reply_fmt(r, s, sizeof s);
			smtp_reply_local(&e, 451, "4.5.0", "RSET refused: %s",
			    s);
			sc_fail(c, &e);
		}
		break;
	case SC_MAIL:
		if (cls == 2) {
			c->tx.ri = 0;
			sc_enter(c, SC_RCPT);
		} else if (cls == 4 || cls == 5) {
			sc_result_unfinished(&c->tx, r, 0);
			c->tx.mail_failed = 1;
			if (c->tx.batch) {
				/* the RCPT and DATA replies still come */
				c->tx.ri = 0;
				sc_enter(c, SC_RCPT);
			} else
				sc_txn_end(c, 1);
		} else
			sc_protocol(c, r);
		break;
	case SC_RCPT:
		idx = c->tx.sent[c->tx.ri];
		if (c->tx.mail_failed)
			;	/* pipelined after a refused MAIL: ignore */
		else if (cls == 2) {
			c->tx.acc[idx] = 1;
			c->tx.nacc++;
		} else if (cls == 4 || cls == 5)
			c->tx.txn->rcpt_result[idx] = *r;
		else {
			sc_protocol(c, r);
			break;
		}
		if (++c->tx.ri < c->tx.nsent)
			sc_enter(c, SC_RCPT);
		else if (c->tx.batch || c->tx.nacc > 0)
			sc_enter(c, SC_DATA);
		else
			/* RFC 5321 3.3: no recipient, no DATA */
			sc_txn_end(c, 1);
		break;
	case SC_DATA:
		if (r->code == 354 && c->tx.nacc > 0 && !c->tx.mail_failed)
			sc_enter(c, SC_BODY);
		else if (r->code == 354) {
			/* RFC 2920 3.1: DATA went pipelined and nobody was
			 * accepted, yet the server wants data: end it with
			 * an empty message and ignore the result */
			c->tx.dot_ignore = 1;
			log_debug("smtpc: >>> .");
			sc_out(c, ".\r\n", 3);
			sc_enter(c, SC_DOT);
		} else if (cls == 4 || cls == 5) {
			sc_result_unfinished(&c->tx, r, 1);
			sc_txn_end(c, 1);
		} else
			sc_protocol(c, r);
		break;
	case SC_DOT:
		if (c->tx.dot_ignore)
			sc_txn_end(c, 1);
		else if (cls == 2 || cls == 4 || cls == 5) {
			/* the one place a recipient is delivered */
			sc_result_unfinished(&c->tx, r, 1);
			sc_txn_end(c, 0);
		} else
			sc_protocol(c, r);
		break;
	case SC_QUIT:
		sc_enter(c, SC_DONE);
		break;
	case SC_STARTTLS:
		if (r->code == 220)
			sc_enter(c, SC_TLS);
		else if (c->conf.tls == SMTPC_TLS_REQUIRE) {
			char t[SMTP_REPLY_TEXT_MAX + 32];

			smtp_reply_fmt(r, t, sizeof t);
			sc_fail_local(c, "4.7.0", "STARTTLS refused (%s); not "
			    "sending in clear (tls starttls)", t);
		} else
			sc_enter(c, SC_AUTH);	/* opportunistic: go on */
		break;
	case SC_AUTH:
		sc_auth_reply(c, r);
		break;
	case SC_TLS:
	case SC_READY:
	case SC_BODY:
	case SC_DONE:
	case SC_FAILED:
	default:
		panic("smtpc: reply in state %s", sc_name[c->state]);
	}
}

/* sc_fail_local: end the session with our own temporary reply (the
 * recipients are tried again later, never bounced). */
static void
sc_fail_local(struct smtpc *c, const char *status, const char *fmt, ...)
{
	struct smtp_reply e;
	char text[SMTP_REPLY_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	smtp_reply_local(&e, 451, status, "%s", text);
	sc_fail(c, &e);
}

/* sc_secret: LINE holds credentials: it goes out, the log shows SHOWN. */
static void
sc_secret(struct smtpc *c, const char *shown, const char *line)
{
	log_debug("smtpc: >>> %s", shown);
	if (c->conf.trace != NULL)
		c->conf.trace(c->conf.trace_arg, SMTPC_TRACE_OUT, shown);
	sc_out(c, line, strlen(line));
	sc_out(c, "\r\n", 2);
}

static void
sc_auth_begin(struct smtpc *c)
{
	struct ob_err err;
	enum auth_mech m;
	char *line, shown[64];

	if (c->conf.auth_user == NULL) {
		sc_enter(c, SC_READY);
		return;
	}
	/* issue 4 / DESIGN invariant 5: no credentials in clear */
	if (!c->tls_up && !c->conf.auth_allow_plaintext) {
		sc_fail_local(c, "4.7.0", "not sending credentials in clear: "
		    "TLS is not up (auth_allow_plaintext yes allows it)");
		return;
	}
	if (!(c->ext & SMTPC_EXT_AUTH)) {
		sc_fail_local(c, "4.7.0", "the server does not offer AUTH");
		return;
	}
	m = auth_choose(c->auth_offered, c->conf.auth_token,
	    (enum auth_mech)c->conf.auth_mech);
	if (m == AUTH_NONE) {
		sc_fail_local(c, "4.7.0", "no usable AUTH mechanism (the "
		    "server offers:%s)", c->auth_offered);
		return;
	}
	c->auth_name = auth_mech_name(m);
	c->auth = auth_new(m, c->conf.auth_user, c->conf.auth_secret != NULL
	    ? c->conf.auth_secret : "", c->conf.auth_host, c->conf.auth_port);
	line = xmalloc(AUTH_LINE_MAX + 8);
	memcpy(line, "AUTH ", 5);
	if (auth_start(c->auth, line + 5, AUTH_LINE_MAX, &err) == -1) {
		explicit_bzero(line, AUTH_LINE_MAX + 8);
		free(line);
		sc_fail_local(c, "4.7.0", "AUTH %s: %s", auth_mech_name(m),
		    err.text);
		return;
	}
	(void)snprintf(shown, sizeof shown, "AUTH %s ****", auth_mech_name(m));
	sc_secret(c, shown, line);
	explicit_bzero(line, AUTH_LINE_MAX + 8);
	free(line);
}

static void
sc_auth_reply(struct smtpc *c, const struct smtp_reply *r)
{
	struct ob_err err;
	char *line, t[SMTP_REPLY_TEXT_MAX + 32];
	int k;

	if (c->auth_cancel) {
		/* the reply to our "*": fail with why we cancelled */
		sc_fail(c, &c->auth_err);
		return;
	}
	if (r->code == 334) {
		line = xmalloc(AUTH_LINE_MAX);
		k = auth_step(c->auth, c->raw.p, line, AUTH_LINE_MAX, &err);
		if (k == -1) {
			/* RFC 4954 4: "*" cancels the exchange */
			smtp_reply_local(&c->auth_err, 451, "4.7.0",
			    "AUTH: %s", err.text);
			c->auth_cancel = 1;
			sc_secret(c, "*", "*");
		} else
			sc_secret(c, "****", line);
		explicit_bzero(line, AUTH_LINE_MAX);
		free(line);
		return;
	}
	if (r->code == 235) {
		if (auth_done(c->auth, &err) == -1) {
			sc_fail_local(c, "4.7.0", "AUTH: %s", err.text);
			return;
		}
		c->auth_done = c->auth_name;
		if (c->conf.trace != NULL)
			c->conf.trace(c->conf.trace_arg, SMTPC_TRACE_AUTH,
			    c->auth_name);
		auth_free(c->auth);
		c->auth = NULL;
		sc_enter(c, SC_READY);
		return;
	}
	/* 535, 534, 454, 530...: temporary for us, whatever the class:
	 * a wrong password must not bounce mail (issue 4) */
	smtp_reply_fmt(r, t, sizeof t);
	sc_fail_local(c, strcmp(r->status + 1, ".7.8") == 0 ? "4.7.8" :
	    "4.7.0", "authentication failed: %s", t);
}

void
smtpc_tls_done(struct smtpc *c, int ok, const char *why)
{
	if (c->state != SC_TLS)
		panic("smtpc: tls_done in state %s", sc_name[c->state]);
	if (!ok) {
		sc_fail_local(c, "4.7.0", "%s", why);
		return;
	}
	c->tls_up = 1;
	sc_enter(c, SC_EHLO);
}

int
smtpc_tls_up(const struct smtpc *c)
{
	return c->tls_up;
}

const char *
smtpc_auth_mech(const struct smtpc *c)
{
	return c->auth_done;
}

void
smtpc_lost(struct smtpc *c, const char *why)
{
	struct smtp_reply e;

	if (c->state == SC_DONE || c->state == SC_FAILED)
		return;
	if (c->state == SC_QUIT) {
		/* EOF instead of the 221: the session is over anyway */
		sc_enter(c, SC_DONE);
		return;
	}
	smtp_reply_local(&e, 451, "4.4.2", "%s", why);
	sc_fail(c, &e);
}

/* sc_addr_check: 0 when A can go inside <> on a command line; -1 for a
 * control octet or an overlong path.  *EIGHT is set when A holds 8-bit
 * octets (needs SMTPUTF8, RFC 6531). */
static int
sc_addr_check(const char *a, int *eight)
{
	const unsigned char *s;

	*eight = 0;
	for (s = (const unsigned char *)a; *s; s++) {
		if (*s < 0x20 || *s == 0x7f)
			return -1;
		if (*s >= 0x80)
			*eight = 1;
	}
	return (size_t)(s - (const unsigned char *)a) > ADDR_MAX ? -1 : 0;
}

int
smtpc_can_start(const struct smtpc *c)
{
	if (c->state == SC_READY)
		return 1;
	/* RFC 2920 3.1: the message content may open a group, so the next
	 * MAIL, RCPT and DATA can follow the final dot without waiting */
	return c->state == SC_DOT && c->nx.txn == NULL && !c->tx.dot_ignore
	    && (c->ext & SMTPC_EXT_PIPELINING) && !c->conf.no_pipelining;
}

void
smtpc_start(struct smtpc *c, struct smtpc_txn *t)
{
	struct smtp_reply e;
	struct sc_tx *x;
	size_t i;
	int eight, bad, behind;

	if (!smtpc_can_start(c))
		panic("smtpc_start in state %s", sc_name[c->state]);
	behind = c->state == SC_DOT;
	x = behind ? &c->nx : &c->tx;
	t->done = 0;
	for (i = 0; i < t->nrcpt; i++)
		memset(&t->rcpt_result[i], 0, sizeof t->rcpt_result[i]);
	if (t->nrcpt > x->cap) {
		x->sent = xreallocarray(x->sent, t->nrcpt, sizeof *x->sent);
		x->acc = xreallocarray(x->acc, t->nrcpt, sizeof *x->acc);
		x->cap = t->nrcpt;
	}
	if (t->nrcpt > 0)
		memset(x->acc, 0, t->nrcpt);
	x->txn = t;
	x->nsent = x->ri = x->nacc = 0;
	x->mail_failed = x->dot_ignore = 0;
	x->batch = 0;
	x->utf8 = 0;

	/* RFC 1870 6.1: never send what the server said it won't take */
	if (c->size_limit > 0 && t->size > c->size_limit) {
		smtp_reply_local(&e, 552, "5.3.4", "message size %" PRIu64
		    " exceeds the server's limit of %" PRIu64, t->size,
		    c->size_limit);
		goto refuse_all;
	}
	/* RFC 6152 3: no 8-bit octet to a server without 8BITMIME.  The
	 * body can be converted (mime8); a header field can't, without
	 * knowing its charset: refused before any command. */
	if (t->eightbit_header && !(c->ext & SMTPC_EXT_8BITMIME)) {
		smtp_reply_local(&e, 554, "5.6.3", "8-bit octets in the header "
		    "section, and the server does not support 8BITMIME");
		goto refuse_all;
	}
	x->convert = t->convert
	    || (t->eightbit && !(c->ext & SMTPC_EXT_8BITMIME));
	x->body8 = t->eightbit && !x->convert
	    && (c->ext & SMTPC_EXT_8BITMIME);
	c->no8 = !(c->ext & SMTPC_EXT_8BITMIME);

	if (sc_addr_check(t->sender, &eight) == -1) {
		smtp_reply_local(&e, 501, "5.1.7", "bad sender address "
		    "syntax");
		goto refuse_all;
	}
	if (eight) {
		if (!(c->ext & SMTPC_EXT_SMTPUTF8)) {
			smtp_reply_local(&e, 553, "5.6.7", "SMTPUTF8 is "
			    "required for the sender, but the server does "
			    "not offer it");
			goto refuse_all;
		}
		x->utf8 = 1;
	}
	for (i = 0; i < t->nrcpt; i++) {
		bad = sc_addr_check(t->rcpt[i], &eight) == -1;
		if (bad)
			smtp_reply_local(&t->rcpt_result[i], 501, "5.1.3",
			    "bad recipient address syntax");
		else if (eight && !(c->ext & SMTPC_EXT_SMTPUTF8)) {
			smtp_reply_local(&t->rcpt_result[i], 553, "5.6.7",
			    "SMTPUTF8 is required for this recipient, but "
			    "the server does not offer it");
			bad = 1;
		} else if (eight)
			x->utf8 = 1;
		if (!bad)
			x->sent[x->nsent++] = i;
	}
	if (x->nsent == 0) {
		t->done = 1;
		x->txn = NULL;
		return;
	}

	if ((c->ext & SMTPC_EXT_PIPELINING) && !c->conf.no_pipelining) {
		/* RFC 2920 3.1: RSET, MAIL and RCPT may be grouped; DATA
		 * ends the group.  One write carries all of them. */
		if (c->need_rset && !behind)
			sc_cmd(c, "RSET");
		sc_cmd_mail(c, x);
		for (i = 0; i < x->nsent; i++)
			sc_cmd(c, "RCPT TO:<%s>", t->rcpt[x->sent[i]]);
		sc_cmd(c, "DATA");
		x->batch = 1;
	}
	if (!behind)	/* else tx's end moves to SC_MAIL (sc_txn_end) */
		sc_enter(c, c->need_rset ? SC_RSET : SC_MAIL);
	return;

refuse_all:
	for (i = 0; i < t->nrcpt; i++)
		if (t->rcpt_result[i].code == 0)
			t->rcpt_result[i] = e;
	t->done = 1;
	x->txn = NULL;
}

/* sc_stuff: canonical text to the wire.  RFC 5321 4.5.2: a line that
 * starts with "." gets another one.  Line ends are CRLF; a bare CR or LF
 * (never in canonical input) is completed to CRLF so that no server can
 * see a line end we did not mean (RFC 5321 2.3.8).  State (bol, cr)
 * carries across calls, so any split gives the same bytes. */
static int
sc_stuff(struct smtpc *c, const char *p, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		if (c->cr) {
			c->cr = 0;
			c->bol = 1;
			if (p[i] == '\n') {
				sc_out(c, "\n", 1);
				i++;
				continue;
			}
			sc_out(c, "\n", 1);
		}
		if (p[i] == '\r') {
			sc_out(c, "\r", 1);
			c->cr = 1;
			c->bol = 0;
			i++;
			continue;
		}
		if (p[i] == '\n') {
			sc_out(c, "\r\n", 2);
			c->bol = 1;
			i++;
			continue;
		}
		if (c->bol && p[i] == '.')
			sc_out(c, ".", 1);
		c->bol = 0;
		for (j = i; j < n && p[j] != '\r' && p[j] != '\n'; j++)
			if ((p[j] & 0x80) && c->no8)
				return sc_body_fail(c, "8-bit data for a server "
				    "without 8BITMIME");
		sc_out(c, p + i, j - i);
		i = j;
	}
	return 0;
}

/* sc_body_fail: the body cannot be sent as it is: a permanent result for
 * every accepted recipient (RFC 3463 5.6.3), and the session is over (the
 * server has part of the data; the caller drops the connection). */
static int
sc_body_fail(struct smtpc *c, const char *why)
{
	struct smtp_reply e;

	smtp_reply_local(&e, 554, "5.6.3", "conversion failed: %s", why);
	log_warn("smtpc: %s", e.text);
	sc_fail(c, &e);
	return -1;
}

/* sc_m8_line: the first LEN octets of c->line to mime8, then its output
 * through sc_stuff. */
static int
sc_m8_line(struct smtpc *c, size_t len, int eol)
{
	struct ob_err err;
	int rv;

	memset(&err, 0, sizeof err);
	rv = mime8_line(c->m8, len ? c->line.p : "", len, eol, &c->conv,
	    &err);
	if (rv == -1)
		return sc_body_fail(c, err.text[0] ? err.text : "mime8 error");
	c->piece = !eol;
	buf_consume(&c->line, len);
	rv = sc_stuff(c, c->conv.p, c->conv.len);
	buf_clear(&c->conv);
	return rv;
}

/* sc_convert: split the body into lines for mime8; a line longer than
 * PIECE_MAX goes in pieces (eol 0), never split between CR and LF. */
static int
sc_convert(struct smtpc *c, const char *p, size_t n)
{
	const char *nl;
	size_t seg, room, len;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) : n;
		room = PIECE_MAX - c->line.len;
		if (seg >= room && (nl == NULL || seg > room)) {
			/* the line goes on past the piece limit */
			if (buf_add(&c->line, p, room) == -1)
				panic("smtpc: line buffer");
			p += room;
			n -= room;
			len = c->line.len;
			if (c->line.p[len - 1] == '\r')
				len--;
			if (sc_m8_line(c, len, 0) == -1)
				return -1;
			continue;
		}
		if (buf_add(&c->line, p, seg) == -1)
			panic("smtpc: line buffer");
		if (nl == NULL)
			return 0;
		p += seg + 1;
		n -= seg + 1;
		len = c->line.len;
		if (len > 0 && c->line.p[len - 1] == '\r')
			len--;
		if (sc_m8_line(c, len, 1) == -1)
			return -1;
		buf_clear(&c->line);
	}
	return 0;
}

int
smtpc_body(struct smtpc *c, const void *data, size_t n)
{
	if (c->state != SC_BODY)
		panic("smtpc_body in state %s", sc_name[c->state]);
	if (c->tx.convert)
		return sc_convert(c, data, n);
	return sc_stuff(c, data, n);
}

int
smtpc_body_end(struct smtpc *c)
{
	struct ob_err err;
	size_t len;

	if (c->state != SC_BODY)
		panic("smtpc_body_end in state %s", sc_name[c->state]);
	if (c->tx.convert) {
		len = c->line.len;
		if (len > 0 && c->line.p[len - 1] == '\r')
			len--;
		if ((len > 0 || c->piece) && sc_m8_line(c, len, 1) == -1)
			return -1;
		buf_clear(&c->line);
		memset(&err, 0, sizeof err);
		if (mime8_end(c->m8, &c->conv, &err) == -1)
			return sc_body_fail(c, err.text[0] ? err.text
			    : "mime8 error");
		if (sc_stuff(c, c->conv.p, c->conv.len) == -1)
			return -1;
		buf_clear(&c->conv);
	}
	if (c->cr) {
		sc_out(c, "\n", 1);
		c->cr = 0;
		c->bol = 1;
	}
	/* RFC 5321 4.1.1.4: the body ends with CRLF before the "." */
	if (!c->bol)
		sc_out(c, "\r\n", 2);
	log_debug("smtpc: >>> .");
	sc_out(c, ".\r\n", 3);
	sc_enter(c, SC_DOT);
	return 0;
}

void
smtpc_quit(struct smtpc *c)
{
	if (c->state == SC_DONE || c->state == SC_FAILED)
		return;
	if (c->state != SC_READY)
		panic("smtpc_quit in state %s", sc_name[c->state]);
	sc_enter(c, SC_QUIT);
}
