/* check_smtpd.c - the SMTP server engine against client scripts, no
 * sockets.  run() feeds a whole script (all at once, and in 1-, 2- and
 * 7-octet pieces: the transcript must not depend on the split), answers
 * the engine's questions like a caller would (data_done, tls_done,
 * auth_done), and writes one transcript: the replies (CRLF shown as a
 * newline) and the events ("@MAIL ...", body bytes escaped).  Cases
 * assert exact transcripts. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtpd.h"
#include "util.h"

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Configurations the cases refer to. */
enum { CF_OPEN, CF_REFUSE, CF_AUTH_TLS, CF_AUTH_CLEAR, CF_PLAIN,
	CF_CLEAR_OK, CF__N };

static const struct smtpd_conf confs[CF__N] = {
	/* allowed by address; STARTTLS; AUTH only over TLS */
	[CF_OPEN] = { .hostname = "mx.test", .client_addr = "192.0.2.1",
	    .allowed = 1, .tls_available = 1,
	    .auth_mechs = SMTPD_AUTH_PLAIN | SMTPD_AUTH_LOGIN,
	    .max_message_size = 1000, .max_rcpt = 3, .max_errors = 5 },
	/* not allowed, no AUTH at all: 554 */
	[CF_REFUSE] = { .hostname = "mx.test", .allowed = 0,
	    .tls_available = 1 },
	/* not allowed, implicit TLS with AUTH */
	[CF_AUTH_TLS] = { .hostname = "mx.test", .allowed = 0, .tls_up = 1,
	    .auth_mechs = SMTPD_AUTH_PLAIN | SMTPD_AUTH_LOGIN },
	/* not allowed, STARTTLS then AUTH */
	[CF_AUTH_CLEAR] = { .hostname = "mx.test", .allowed = 0,
	    .tls_available = 1, .auth_mechs = SMTPD_AUTH_PLAIN },
	/* allowed, nothing else, defaults */
	[CF_PLAIN] = { .hostname = "mx.test", .allowed = 1 },
	/* not allowed, AUTH LOGIN allowed in clear, no TLS */
	[CF_CLEAR_OK] = { .hostname = "mx.test", .allowed = 0,
	    .auth_mechs = SMTPD_AUTH_LOGIN, .auth_allow_plaintext = 1 },
};

/* How the scripted caller answers, and how the script ends. */
enum { END_NONE, END_EOF, END_TIMEOUT };
struct knobs {
	int	dot_fail;	/* data_done(0, 452 4.3.1 queue full) */
	int	tls_fail;	/* tls_done(0) */
	int	end;
};

#define TLS_MARK	"@@TLS@@"	/* in a script: the handshake */

struct run {
	struct smtpd	*s;
	struct buf	 t;		/* transcript */
	struct buf	 body;		/* BODY bytes not yet written */
	const struct knobs *k;
	int		 tls_pending;
	size_t		 maxmem;
};

/* take_output: the replies so far into the transcript; each line must
 * be "DDD[ -]text" CRLF, at most 512 octets, printable. */
static void
take_output(struct run *r)
{
	struct buf *o = smtpd_output(r->s);
	size_t i = 0, j;

	while (i < o->len) {
		for (j = i; j < o->len && o->p[j] != '\n'; j++)
			ck_assert_msg(((unsigned char)o->p[j] >= 0x20 &&
			    (unsigned char)o->p[j] < 0x7f) || o->p[j] == '\r',
			    "bad octet in reply");
		ck_assert_msg(j < o->len, "reply without LF");
		ck_assert_msg(j > i && o->p[j - 1] == '\r', "bare LF");
		ck_assert_msg(j - i + 1 <= 512, "reply line too long");
		ck_assert_msg(j - i - 1 >= 3 && o->p[i] >= '2' &&
		    o->p[i] <= '5' && o->p[i + 1] >= '0' &&
		    o->p[i + 1] <= '9' && o->p[i + 2] >= '0' &&
		    o->p[i + 2] <= '9' && (j - i - 1 == 3 ||
		    o->p[i + 3] == ' ' || o->p[i + 3] == '-'),
		    "bad reply line [%.*s]", (int)(j - i), o->p + i);
		buf_add(&r->t, o->p + i, j - i - 1);
		buf_addc(&r->t, '\n');
		i = j + 1;
	}
	buf_clear(o);
}

static void
flush_body(struct run *r)
{
	size_t i;

	if (r->body.len == 0)
		return;
	buf_addstr(&r->t, "@BODY ");
	for (i = 0; i < r->body.len; i++)
		if (r->body.p[i] == '\r')
			buf_addstr(&r->t, "\\r");
		else if (r->body.p[i] == '\n')
			buf_addstr(&r->t, "\\n");
		else
			buf_addc(&r->t, r->body.p[i]);
	buf_addc(&r->t, '\n');
	buf_clear(&r->body);
}

static void
drain(struct run *r)
{
	struct smtpd_ev e;
	enum smtpd_event ev;
	size_t i, m;

	for (;;) {
		ev = smtpd_next(r->s, &e);
		/* body bytes came before whatever is reported now */
		if (ev != SMTPD_EV_BODY && (ev != SMTPD_EV_NONE ||
		    smtpd_output(r->s)->len > 0))
			flush_body(r);
		take_output(r);
		m = smtpd_mem(r->s);
		if (m > r->maxmem)
			r->maxmem = m;
		switch (ev) {
		case SMTPD_EV_NONE:
			return;
		case SMTPD_EV_MAIL:
			buf_printf(&r->t, "@MAIL <%s> ret=%d envid=%s 8bit=%d "
			    "utf8=%d size=%" PRIu64 "\n", e.sender, e.ret,
			    e.envid ? e.envid : "-", e.body_8bit, e.smtputf8,
			    e.size);
			break;
		case SMTPD_EV_DATA:
			buf_printf(&r->t, "@DATA <%s> helo=%s", e.sender,
			    e.helo);
			for (i = 0; i < e.nrcpt; i++)
				buf_printf(&r->t, " <%s>/%u/%s", e.rcpt[i],
				    e.notify[i],
				    e.orcpt[i] ? e.orcpt[i] : "-");
			buf_addc(&r->t, '\n');
			break;
		case SMTPD_EV_BODY:
			ck_assert_msg(e.len > 0 && e.len <= 64 * 1024,
			    "body piece of %zu", e.len);
			buf_add(&r->body, e.data, e.len);
			break;
		case SMTPD_EV_DOT:
			buf_addstr(&r->t, "@DOT\n");
			if (r->k->dot_fail)
				smtpd_data_done(r->s, 0, NULL, 452, "4.3.1",
				    "queue full");
			else
				smtpd_data_done(r->s, 1, "Q1", 0, NULL, NULL);
			break;
		case SMTPD_EV_ABORT:
			buf_printf(&r->t, "@ABORT %s\n", e.why);
			break;
		case SMTPD_EV_STARTTLS:
			buf_addstr(&r->t, "@STARTTLS\n");
			r->tls_pending = 1;
			break;
		case SMTPD_EV_AUTH:
			buf_printf(&r->t, "@AUTH %s %s %s\n", e.mech, e.user,
			    e.pass);
			smtpd_auth_done(r->s, strcmp(e.pass, "secret") == 0);
			break;
		default:
			ck_abort_msg("bad event %d", (int)ev);
		}
	}
}

static void
feed(struct run *r, const char *p, size_t n, size_t split)
{
	size_t off, c;

	for (off = 0; off < n; off += c) {
		c = split == 0 || n - off < split ? n - off : split;
		smtpd_input(r->s, p + off, c);
		drain(r);
	}
}

/* run1: one run of SCRIPT (LEN octets) in pieces of SPLIT (0: at once);
 * returns the transcript, ending with "=STATE". */
static char *
run1(int cf, const struct knobs *k, const char *script, size_t len,
    size_t split, size_t *maxmem)
{
	struct run r;
	const char *mark, *end = script + len;
	char *out;

	memset(&r, 0, sizeof r);
	r.k = k;
	r.s = smtpd_new(&confs[cf]);
	take_output(&r);
	for (;;) {
		mark = memmem(script, (size_t)(end - script), TLS_MARK,
		    strlen(TLS_MARK));
		feed(&r, script, (size_t)((mark ? mark : end) - script),
		    split);
		if (mark == NULL)
			break;
		ck_assert_msg(r.tls_pending, "no STARTTLS before the mark");
		r.tls_pending = 0;
		smtpd_tls_done(r.s, !k->tls_fail);
		drain(&r);
		buf_addstr(&r.t, "@TLS\n");
		script = mark + strlen(TLS_MARK);
	}
	if (k->end == END_EOF)
		smtpd_eof(r.s);
	else if (k->end == END_TIMEOUT)
		smtpd_timeout(r.s);
	drain(&r);
	flush_body(&r);
	buf_printf(&r.t, "=%s\n", smtpd_state_name(r.s));
	if (maxmem != NULL)
		*maxmem = r.maxmem;
	smtpd_free(r.s);
	buf_free(&r.body);
	out = xstrdup(r.t.p ? r.t.p : "");
	buf_free(&r.t);
	return out;
}

/* run: SCRIPT fed in several splits; all transcripts must agree. */
static char *
run(int cf, const struct knobs *k, const char *script, size_t len)
{
	static const size_t splits[] = { 1, 2, 7 };
	char *first, *other;
	size_t i;

	first = run1(cf, k, script, len, 0, NULL);
	for (i = 0; i < sizeof splits / sizeof splits[0]; i++) {
		other = run1(cf, k, script, len, splits[i], NULL);
		ck_assert_msg(strcmp(first, other) == 0,
		    "split %zu differs:\n%s\n---- at once:\n%s", splits[i],
		    other, first);
		free(other);
	}
	return first;
}

#define G	"220 mx.test ESMTP outbox ready\n"
#define EHLO_OPEN "250-mx.test\n250-PIPELINING\n250-SIZE 1000\n" \
	"250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250-ENHANCEDSTATUSCODES\n" \
	"250 STARTTLS\n"
#define EHLO_OPEN_TLS "250-mx.test\n250-PIPELINING\n250-SIZE 1000\n" \
	"250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250-ENHANCEDSTATUSCODES\n" \
	"250 AUTH PLAIN LOGIN\n"
#define EHLO_AUTH_TLS "250-mx.test\n250-PIPELINING\n250-SIZE\n" \
	"250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250-ENHANCEDSTATUSCODES\n" \
	"250 AUTH PLAIN LOGIN\n"
#define EHLO_PLAIN "250-mx.test\n250-PIPELINING\n250-SIZE\n" \
	"250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250 ENHANCEDSTATUSCODES\n"
#define EHLO_PLAIN_TLS_CLEAR "250-mx.test\n250-PIPELINING\n250-SIZE\n" \
	"250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250-ENHANCEDSTATUSCODES\n" \
	"250 STARTTLS\n"
#define EHLO_AUTH_CLEAR_UP "250-mx.test\n250-PIPELINING\n250-SIZE\n" \
	"250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250-ENHANCEDSTATUSCODES\n" \
	"250 AUTH PLAIN\n"
#define L110	"0123456789012345678901234567890123456789" \
		"0123456789012345678901234567890123456789" \
		"012345678901234567890123456789"
#define L	L110 "\r\n"
#define LX	L110 "\\r\\n"
#define MF	"MAIL FROM:<a@x.test>\r\n"
#define MF_OK	"250 2.1.0 Ok\n@MAIL <a@x.test> ret=0 envid=- 8bit=0 " \
		"utf8=0 size=0\n"
#define RT	"RCPT TO:<b@y.test>\r\n"
#define OK5	"250 2.1.5 Ok\n"
#define D354	"354 End data with <CR><LF>.<CR><LF>\n"
#define QUEUED	"@DOT\n250 2.0.0 Ok: queued as Q1\n"
#define BYE	"221 2.0.0 Bye\n=CLOSED\n"
/* base64 of "\0user\0secret", "\0user\0wrong", "user", "secret" */
#define P_GOOD	"AHVzZXIAc2VjcmV0"
#define P_BAD	"AHVzZXIAd3Jvbmc="
#define B_USER	"dXNlcg=="
#define B_PASS	"c2VjcmV0"

struct tcase_s {
	const char	*name;
	int		 cf;
	struct knobs	 k;
	const char	*in;
	const char	*want;
};

static const struct tcase_s cases[] = {
	{ "basic", CF_OPEN, { 0 },
	  "EHLO c.test\r\n" MF RT "DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n"
	  "QUIT\r\n",
	  G EHLO_OPEN MF_OK OK5 D354 "@DATA <a@x.test> helo=c.test "
	  "<b@y.test>/0/-\n@BODY Subject: x\\r\\n\\r\\nhi\\r\\n\n" QUEUED
	  BYE },
	{ "helo", CF_PLAIN, { 0 },
	  "HELO c.test\r\nEHLO\r\nHELO\r\nEHLO c\x80\r\nQUIT\r\n",
	  G "250 mx.test\n501 5.5.4 Syntax: EHLO hostname\n"
	  "501 5.5.4 Syntax: HELO hostname\n"
	  "501 5.5.4 Syntax: EHLO hostname\n" BYE },
	{ "ehlo plain", CF_PLAIN, { 0 }, "ehlo c.test junk\r\n",
	  G EHLO_PLAIN "=READY\n" },
	{ "pipelined bad rcpt", CF_OPEN, { 0 },
	  "EHLO c\r\n" MF "RCPT TO:<b@y.test>\r\nRCPT TO:<bad>\r\n"
	  "RCPT TO:<c@y.test>\r\nDATA\r\nx\r\n.\r\n",
	  G EHLO_OPEN MF_OK OK5 "553 5.1.3 bad recipient address syntax\n"
	  OK5 D354 "@DATA <a@x.test> helo=c <b@y.test>/0/- <c@y.test>/0/-\n"
	  "@BODY x\\r\\n\n" QUEUED "=READY\n" },
	{ "data no valid rcpt", CF_OPEN, { 0 },
	  "EHLO c\r\n" MF "RCPT TO:<bad>\r\nDATA\r\nhello\r\n.\r\nRSET\r\n",
	  G EHLO_OPEN MF_OK "553 5.1.3 bad recipient address syntax\n"
	  "554 5.5.1 no valid recipients\n"
	  "500 5.5.2 command not recognized\n"
	  "500 5.5.2 command not recognized\n250 2.0.0 Ok\n=READY\n" },
	{ "sequence", CF_OPEN, { 0 },
	  MF RT "DATA\r\nEHLO c\r\n" RT "DATA\r\n" MF MF
	  "EHLO c\r\n" RT,
	  G "503 5.5.1 send HELO/EHLO first\n503 5.5.1 need MAIL command\n"
	  "503 5.5.1 need MAIL command\n" EHLO_OPEN
	  "503 5.5.1 need MAIL command\n503 5.5.1 need MAIL command\n"
	  "421 4.7.0 mx.test too many errors\n=CLOSED\n" },
	{ "nested mail", CF_OPEN, { 0 },
	  "EHLO c\r\n" MF MF "EHLO c\r\n" RT,
	  G EHLO_OPEN MF_OK "503 5.5.1 nested MAIL command\n" EHLO_OPEN
	  "503 5.5.1 need MAIL command\n=READY\n" },
	{ "dots", CF_PLAIN, { 0 },
	  "HELO c\r\nMAIL FROM:<>\r\n" RT "DATA\r\n"
	  "..a\r\n.\r.\r\n. b\r\n...\r\n\r\n.\r\n",
	  G "250 mx.test\n250 2.1.0 Ok\n@MAIL <> ret=0 envid=- 8bit=0 "
	  "utf8=0 size=0\n" OK5 D354 "@DATA <> helo=c <b@y.test>/0/-\n"
	  "@BODY .a\\r\\n\\r.\\r\\n b\\r\\n..\\r\\n\\r\\n\n" QUEUED
	  "=READY\n" },
	{ "empty body", CF_PLAIN, { 0 },
	  "HELO c\r\n" MF RT "DATA\r\n.\r\nNOOP\r\n",
	  G "250 mx.test\n" MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n" QUEUED "250 2.0.0 Ok\n=READY\n" },
	{ "bare lf", CF_PLAIN, { 0 },
	  "HELO c\n" "MAIL FROM:<a@x.test>\n" "RCPT TO:<b@y.test>\n"
	  "DATA\nl1\nl2\r\nl3\rx\n.\nQUIT\n",
	  G "250 mx.test\n" MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n@BODY l1\\r\\nl2\\r\\nl3\\rx\\r\\n\n" QUEUED BYE },
	{ "mail syntax", CF_PLAIN, { 0 },
	  "HELO c\r\nMAIL FROM:a@x.test\r\nMAIL TO:<a@x.test>\r\n"
	  "MAIL FROM:<a@x.test\r\nMAIL FROM:<a@x.test>x\r\n"
	  "MAIL FROM:<a b@x.test>\r\nMAIL FROM:<a@x.test> FOO=1\r\n"
	  "MAIL FROM:<a@x.test> BODY=9BIT\r\n",
	  G "250 mx.test\n501 5.5.4 Syntax: MAIL FROM:<address>\n"
	  "501 5.5.4 Syntax: MAIL FROM:<address>\n"
	  "501 5.5.4 Syntax: MAIL FROM:<address>\n"
	  "501 5.5.4 Syntax: MAIL FROM:<address>\n"
	  "553 5.1.7 bad sender address syntax\n"
	  "555 5.5.4 unsupported MAIL parameter FOO\n"
	  "501 5.5.4 bad MAIL parameter BODY\n"
	  "=READY\n" },
	{ "mail lenient", CF_PLAIN, { 0 },
	  "HELO c\r\nmail from: <@r1.test,@r2.test:a@x.test>  SIZE=99 "
	  "body=8bitmime RET=HDRS ENVID=id+2B1+3d AUTH=<>\r\n",
	  G "250 mx.test\n250 2.1.0 Ok\n@MAIL <a@x.test> ret=2 envid=id+1= "
	  "8bit=1 utf8=0 size=99\n=MAIL\n" },
	{ "mail params bad", CF_OPEN, { 0 },
	  "EHLO c\r\nMAIL FROM:<a@x.test> SIZE=1001\r\n"
	  "MAIL FROM:<a@x.test> SIZE=x\r\n"
	  "MAIL FROM:<a@x.test> SMTPUTF8=yes\r\n"
	  "MAIL FROM:<a@x.test> RET=ALL\r\n"
	  "MAIL FROM:<a@x.test> ENVID=a+2\r\n",
	  G EHLO_OPEN "552 5.3.4 message size exceeds fixed limit\n"
	  "501 5.5.4 bad MAIL parameter SIZE\n"
	  "501 5.5.4 bad MAIL parameter SMTPUTF8\n"
	  "501 5.5.4 bad MAIL parameter RET\n"
	  "501 5.5.4 bad MAIL parameter ENVID\n=READY\n" },
	{ "envid limits", CF_PLAIN, { 0 },
	  "HELO c\r\nMAIL FROM:<a@x.test> ENVID="
	  "12345678901234567890123456789012345678901234567890"
	  "123456789012345678901234567890123456789012345678901\r\n"
	  "MAIL FROM:<a@x.test> ENVID=a=b\r\n"
	  "MAIL FROM:<a@x.test> ENVID=a+0A\r\n"
	  "MAIL FROM:<a@x.test> RET=FULL RET=FULL\r\n"
	  "MAIL FROM:<a@x.test> ENVID="
	  "12345678901234567890123456789012345678901234567890"
	  "12345678901234567890123456789012345678901234567890\r\n",
	  G "250 mx.test\n501 5.5.4 bad MAIL parameter ENVID\n"
	  "501 5.5.4 bad MAIL parameter ENVID\n"
	  "501 5.5.4 bad MAIL parameter ENVID\n"
	  "501 5.5.4 bad MAIL parameter RET\n"
	  "250 2.1.0 Ok\n@MAIL <a@x.test> ret=0 envid="
	  "12345678901234567890123456789012345678901234567890"
	  "12345678901234567890123456789012345678901234567890"
	  " 8bit=0 utf8=0 size=0\n=MAIL\n" },
	{ "utf8", CF_PLAIN, { 0 },
	  "HELO c\r\nMAIL FROM:<j\xc3\xb6@x.test>\r\n"
	  "MAIL FROM:<j\xc3\xb6@x.test> SMTPUTF8\r\n"
	  "RCPT TO:<\xc3\xa5@y.test>\r\n",
	  G "250 mx.test\n553 5.6.7 non-ASCII address needs SMTPUTF8\n"
	  "250 2.1.0 Ok\n@MAIL <j\xc3\xb6@x.test> ret=0 envid=- 8bit=0 "
	  "utf8=1 size=0\n" OK5 "=MAIL\n" },
	{ "utf8 rcpt", CF_PLAIN, { 0 },
	  "HELO c\r\n" MF "RCPT TO:<\xc3\xa5@y.test>\r\n",
	  G "250 mx.test\n" MF_OK
	  "553 5.6.7 non-ASCII address needs SMTPUTF8\n=MAIL\n" },
	{ "rcpt params", CF_PLAIN, { 0 },
	  "HELO c\r\n" MF
	  "RCPT TO:<>\r\n"
	  "RCPT TO:<PostMaster>\r\n"
	  "RCPT TO:<b@y.test> NOTIFY=NEVER,SUCCESS\r\n"
	  "RCPT TO:<b@y.test> NOTIFY=\r\n"
	  "RCPT TO:<b@y.test> NOTIFY=SOMETIMES\r\n"
	  "RCPT TO:<b@y.test> ORCPT=rfc822\r\n"
	  "RCPT TO:<b@y.test> ORCPT=rfc822;a+4\r\n"
	  "RCPT TO:<b@y.test> XYZ\r\n"
	  "RCPT TO:<b@y.test> notify=success,failure,DELAY "
	  "ORCPT=rfc822;b+40y.test\r\n"
	  "RCPT TO:<c@y.test> NOTIFY=NEVER\r\n"
	  "RCPT TO:<b@Y.TEST> NOTIFY=NEVER\r\n"
	  "RCPT TO:<B@y.test>\r\n"
	  "DATA\r\n.\r\n",
	  G "250 mx.test\n" MF_OK
	  "553 5.1.3 bad recipient address syntax\n" OK5
	  "501 5.5.4 bad RCPT parameter NOTIFY\n"
	  "501 5.5.4 bad RCPT parameter NOTIFY\n"
	  "501 5.5.4 bad RCPT parameter NOTIFY\n"
	  "501 5.5.4 bad RCPT parameter ORCPT\n"
	  "501 5.5.4 bad RCPT parameter ORCPT\n"
	  "555 5.5.4 unsupported RCPT parameter XYZ\n"
	  OK5 OK5 OK5 OK5 D354 "@DATA <a@x.test> helo=c <PostMaster>/0/- "
	  "<b@y.test>/14/rfc822;b@y.test <c@y.test>/1/- <B@y.test>/0/-\n"
	  QUEUED "=READY\n" },
	{ "max rcpt", CF_OPEN, { 0 },
	  "EHLO c\r\n" MF "RCPT TO:<1@y.test>\r\nRCPT TO:<2@y.test>\r\n"
	  "RCPT TO:<3@y.test>\r\nRCPT TO:<4@y.test>\r\nRCPT TO:<1@y.test>\r\n"
	  "DATA\r\n.\r\n",
	  G EHLO_OPEN MF_OK OK5 OK5 OK5 "452 4.5.3 too many recipients\n"
	  OK5 D354 "@DATA <a@x.test> helo=c <1@y.test>/0/- <2@y.test>/0/- "
	  "<3@y.test>/0/-\n" QUEUED "=READY\n" },
	{ "size overflow", CF_OPEN, { 0 },
	  /* 8 lines of 112 octets, then the limit (1000) is passed at the
	   * 105th octet of the 9th: what was within it came out */
	  "EHLO c\r\n" MF RT "DATA\r\n" L L L L L L L L L L
	  ".\r\nRSET\r\n" MF,
	  G EHLO_OPEN MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n@BODY " LX LX LX LX LX LX LX LX
	  "01234567890123456789012345678901234567890123456789"
	  "01234567890123456789012345678901234567890123456789"
	  "0123\n@ABORT message exceeds max_message_size\n"
	  "552 5.3.4 message size exceeds fixed limit\n250 2.0.0 Ok\n"
	  MF_OK "=MAIL\n" },
	{ "size exact", CF_OPEN, { 0 },
	  /* 8 * 112 + 104 = 1000 octets stored: accepted */
	  "EHLO c\r\n" MF RT "DATA\r\n" L L L L L L L L
	  "01234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901"
	  "\r\n.\r\n",
	  G EHLO_OPEN MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n@BODY " LX LX LX LX LX LX LX LX
	  "01234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901"
	  "\\r\\n\n" QUEUED "=READY\n" },
	{ "8bit command", CF_PLAIN, { 0 },
	  "NO\xffOP\r\nNO\x01OP\r\nNOOP\r\n\r\nNOOP x\xe9\r\n",
	  G "500 5.5.2 command not recognized\n"
	  "500 5.5.2 bad character in command\n250 2.0.0 Ok\n"
	  "500 5.5.2 command not recognized\n250 2.0.0 Ok\n=CONNECT\n" },
	{ "misc", CF_PLAIN, { 0 },
	  "RSET\r\nRSET x\r\nNOOP hi\r\nHELP\r\nVRFY\r\nVRFY root\r\n"
	  "EXPN staff\r\nBDAT 10 LAST\r\nFROB\r\nQUIT now\r\nDATA x\r\n",
	  G "250 2.0.0 Ok\n501 5.5.4 Syntax: RSET\n250 2.0.0 Ok\n"
	  "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT "
	  "HELP VRFY\n501 5.5.4 Syntax: VRFY address\n"
	  "252 2.5.0 cannot VRFY user, but will accept message\n"
	  "502 5.5.1 EXPN not available\n502 5.5.1 BDAT not available\n"
	  "500 5.5.2 command not recognized\n"
	  "501 5.5.4 Syntax: QUIT\n501 5.5.4 Syntax: DATA\n=CONNECT\n" },
	{ "too many errors", CF_OPEN, { 0 },
	  "A\r\nB\r\nC\r\nD\r\nNOOP\r\nE\r\nNOOP\r\n",
	  G "500 5.5.2 command not recognized\n"
	  "500 5.5.2 command not recognized\n"
	  "500 5.5.2 command not recognized\n"
	  "500 5.5.2 command not recognized\n250 2.0.0 Ok\n"
	  "500 5.5.2 command not recognized\n"
	  "421 4.7.0 mx.test too many errors\n=CLOSED\n" },
	{ "rset and ehlo end txn", CF_PLAIN, { 0 },
	  "HELO c\r\n" MF "RSET\r\n" RT MF "EHLO c\r\n" RT "QUIT\r\nNOOP\r\n",
	  G "250 mx.test\n" MF_OK "250 2.0.0 Ok\n"
	  "503 5.5.1 need MAIL command\n" MF_OK EHLO_PLAIN
	  "503 5.5.1 need MAIL command\n" BYE },
	{ "starttls discards", CF_OPEN, { 0 },
	  "EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.test>\r\n" TLS_MARK
	  MF "EHLO c\r\nSTARTTLS\r\n" MF,
	  G EHLO_OPEN "220 2.0.0 Ready to start TLS\n@STARTTLS\n@TLS\n"
	  "503 5.5.1 send HELO/EHLO first\n" EHLO_OPEN_TLS
	  "503 5.5.1 TLS already active\n" MF_OK "=MAIL\n" },
	{ "starttls errors", CF_PLAIN, { 0 },
	  "STARTTLS\r\nSTARTTLS now\r\n",
	  G "502 5.5.1 STARTTLS not available\n501 5.5.4 Syntax: STARTTLS\n"
	  "=CONNECT\n" },
	{ "starttls in txn", CF_OPEN, { 0 },
	  "EHLO c\r\n" MF "STARTTLS\r\n",
	  G EHLO_OPEN MF_OK "503 5.5.1 mail transaction in progress\n"
	  "=MAIL\n" },
	{ "tls fails", CF_OPEN, { .tls_fail = 1 },
	  "STARTTLS\r\n" TLS_MARK "EHLO c\r\n",
	  G "220 2.0.0 Ready to start TLS\n@STARTTLS\n@TLS\n=CLOSED\n" },
	{ "auth plain initial", CF_AUTH_TLS, { 0 },
	  "EHLO c\r\n" MF "AUTH PLAIN " P_GOOD "\r\nAUTH PLAIN " P_GOOD
	  "\r\n" MF "AUTH LOGIN\r\n",
	  G EHLO_AUTH_TLS "530 5.7.0 authentication required\n"
	  "@AUTH PLAIN user secret\n235 2.7.0 Authentication successful\n"
	  "503 5.5.1 already authenticated\n" MF_OK
	  "503 5.5.1 already authenticated\n=MAIL\n" },
	{ "auth plain continued", CF_AUTH_TLS, { 0 },
	  "EHLO c\r\nAUTH plain\r\n" P_BAD "\r\nAUTH PLAIN\r\n" P_GOOD
	  "\r\n" MF,
	  G EHLO_AUTH_TLS "334 \n@AUTH PLAIN user wrong\n"
	  "535 5.7.8 authentication failed\n334 \n@AUTH PLAIN user secret\n"
	  "235 2.7.0 Authentication successful\n" MF_OK "=MAIL\n" },
	{ "auth login", CF_AUTH_TLS, { 0 },
	  "EHLO c\r\nAUTH LOGIN\r\n" B_USER "\r\n" B_PASS "\r\n",
	  G EHLO_AUTH_TLS "334 VXNlcm5hbWU6\n334 UGFzc3dvcmQ6\n"
	  "@AUTH LOGIN user secret\n235 2.7.0 Authentication successful\n"
	  "=READY\n" },
	{ "auth login initial", CF_AUTH_TLS, { 0 },
	  "EHLO c\r\nAUTH LOGIN " B_USER "\r\n" B_PASS "\r\n",
	  G EHLO_AUTH_TLS "334 UGFzc3dvcmQ6\n"
	  "@AUTH LOGIN user secret\n235 2.7.0 Authentication successful\n"
	  "=READY\n" },
	{ "auth errors", CF_AUTH_TLS, { 0 },
	  "AUTH PLAIN\r\nEHLO c\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN !!!!\r\n"
	  "AUTH CRAM-MD5\r\nAUTH\r\n",
	  G "503 5.5.1 send EHLO first\n" EHLO_AUTH_TLS "334 VXNlcm5hbWU6\n"
	  "501 5.7.0 authentication cancelled\n"
	  "501 5.5.2 bad base64 in AUTH response\n"
	  "504 5.5.4 unrecognized authentication type\n"
	  "501 5.5.4 Syntax: AUTH mechanism [initial-response]\n=READY\n" },
	{ "auth plain malformed", CF_AUTH_TLS, { 0 },
	  /* "user\0secret" (one NUL), "a\0user\0secret" (authzid) */
	  "EHLO c\r\nAUTH PLAIN dXNlcgBzZWNyZXQ=\r\n"
	  "AUTH PLAIN YQB1c2VyAHNlY3JldA==\r\nAUTH PLAIN =\r\n"
	  "AUTH PLAIN AHVzZXIAc2VjcmV0=\r\n",
	  G EHLO_AUTH_TLS "501 5.5.2 malformed AUTH PLAIN response\n"
	  "535 5.7.8 authentication failed\n"
	  "501 5.5.2 malformed AUTH PLAIN response\n"
	  "501 5.5.2 bad base64 in AUTH response\n=READY\n" },
	{ "auth in clear refused", CF_AUTH_CLEAR, { 0 },
	  "EHLO c\r\nAUTH PLAIN " P_GOOD "\r\n" MF "STARTTLS\r\n" TLS_MARK
	  "EHLO c\r\nAUTH PLAIN " P_GOOD "\r\n" MF,
	  G EHLO_PLAIN_TLS_CLEAR
	  "538 5.7.11 encryption required for requested authentication "
	  "mechanism\n530 5.7.0 authentication required\n"
	  "220 2.0.0 Ready to start TLS\n@STARTTLS\n@TLS\n"
	  EHLO_AUTH_CLEAR_UP "@AUTH PLAIN user secret\n"
	  "235 2.7.0 Authentication successful\n" MF_OK "=MAIL\n" },
	{ "auth during txn", CF_OPEN, { 0 },
	  "STARTTLS\r\n" TLS_MARK "EHLO c\r\n" MF "AUTH PLAIN " P_GOOD "\r\n",
	  G "220 2.0.0 Ready to start TLS\n@STARTTLS\n@TLS\n" EHLO_OPEN_TLS
	  MF_OK "503 5.5.1 AUTH not allowed during a mail transaction\n"
	  "=MAIL\n" },
	{ "auth login in clear", CF_CLEAR_OK, { 0 },
	  "EHLO c\r\nAUTH PLAIN " P_GOOD "\r\nAUTH LOGIN\r\n" B_USER "\r\n"
	  "d3Jvbmc=\r\n" MF,
	  G "250-mx.test\n250-PIPELINING\n250-SIZE\n250-8BITMIME\n"
	  "250-SMTPUTF8\n250-DSN\n250-ENHANCEDSTATUSCODES\n250 AUTH LOGIN\n"
	  "504 5.5.4 unrecognized authentication type\n334 VXNlcm5hbWU6\n"
	  "334 UGFzc3dvcmQ6\n@AUTH LOGIN user wrong\n"
	  "535 5.7.8 authentication failed\n"
	  "530 5.7.0 authentication required\n=READY\n" },
	{ "refused", CF_REFUSE, { 0 },
	  "EHLO c\r\n" MF "NOOP\r\nHELP\r\nRSET\r\nAUTH PLAIN " P_GOOD
	  "\r\nQUIT\r\n",
	  "554 5.7.1 mx.test: not accepting mail from you\n"
	  "503 5.7.1 mx.test: not accepting mail from you, send QUIT\n"
	  "503 5.7.1 mx.test: not accepting mail from you, send QUIT\n"
	  "250 2.0.0 Ok\n214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET "
	  "NOOP QUIT HELP VRFY STARTTLS\n250 2.0.0 Ok\n"
	  "503 5.7.1 mx.test: not accepting mail from you, send QUIT\n"
	  BYE },
	{ "timeout in data", CF_PLAIN, { .end = END_TIMEOUT },
	  "HELO c\r\n" MF RT "DATA\r\nabc\r\n",
	  G "250 mx.test\n" MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n@BODY abc\\r\\n\n421 4.4.2 mx.test timeout\n"
	  "@ABORT timeout during DATA\n=CLOSED\n" },
	{ "timeout idle", CF_PLAIN, { .end = END_TIMEOUT },
	  "HELO c\r\n",
	  G "250 mx.test\n421 4.4.2 mx.test timeout\n=CLOSED\n" },
	{ "eof in data", CF_PLAIN, { .end = END_EOF },
	  "HELO c\r\n" MF RT "DATA\r\nabc\r\n.",
	  G "250 mx.test\n" MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n@BODY abc\\r\\n\n"
	  "@ABORT client closed the connection during DATA\n=CLOSED\n" },
	{ "eof idle", CF_PLAIN, { .end = END_EOF }, "HELO c\r\nNOOP",
	  G "250 mx.test\n=CLOSED\n" },
	{ "queue fails", CF_PLAIN, { .dot_fail = 1 },
	  "HELO c\r\n" MF RT "DATA\r\nx\r\n.\r\n" RT,
	  G "250 mx.test\n" MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n@BODY x\\r\\n\n@DOT\n452 4.3.1 queue full\n"
	  "503 5.5.1 need MAIL command\n=READY\n" },
	{ "two messages", CF_PLAIN, { 0 },
	  "HELO c\r\n" MF RT "DATA\r\n1\r\n.\r\n" MF RT "DATA\r\n2\r\n.\r\n",
	  G "250 mx.test\n" MF_OK OK5 D354 "@DATA <a@x.test> helo=c "
	  "<b@y.test>/0/-\n@BODY 1\\r\\n\n" QUEUED MF_OK OK5 D354
	  "@DATA <a@x.test> helo=c <b@y.test>/0/-\n@BODY 2\\r\\n\n" QUEUED
	  "=READY\n" },
};

START_TEST(test_case)
{
	const struct tcase_s *c = &cases[_i];
	char *got;

	got = run(c->cf, &c->k, c->in, strlen(c->in));
	ck_assert_msg(strcmp(got, c->want) == 0,
	    "case \"%s\":\n---- got:\n%s---- want:\n%s", c->name, got,
	    c->want);
	free(got);
}
END_TEST

/* A NUL in a command (the table's strings cannot hold one). */
START_TEST(test_nul)
{
	static const char in[] = "NOOP\0x\r\nHELO c\r\nNOOP\0";
	struct knobs k = { 0 };
	char *got;

	got = run(CF_PLAIN, &k, in, sizeof in);	/* with the final NUL */
	ck_assert_str_eq(got, G "500 5.5.2 bad character in command\n"
	    "250 mx.test\n=READY\n");
	free(got);
}
END_TEST

/* A 1,000,000-octet command line costs a small buffer, gets one 500,
 * and the next command is served: at once and in pieces. */
START_TEST(test_huge_line)
{
	static const size_t splits[] = { 0, 1, 4096, 65536 };
	static const char want[] = G "250 mx.test\n"
	    "500 5.5.2 line too long\n250 2.0.0 Ok\n=READY\n";
	struct knobs k = { 0 };
	size_t n = 1000000, mem;
	char *in, *got;

	in = xmalloc(n + 32);
	memcpy(in, "HELO c\r\n", 8);
	memset(in + 8, 'X', n);
	memcpy(in + 8 + n, "\r\nNOOP\r\n", 8);
	got = run1(CF_PLAIN, &k, in, n + 16, splits[_i], &mem);
	ck_assert_str_eq(got, want);
	ck_assert_msg(mem < 64 * 1024, "engine held %zu octets", mem);
	free(got);
	free(in);
}
END_TEST

/* 510 octets of command are fine, 511 are not (RFC 5321 4.5.3.1.4: 512
 * with CRLF); an AUTH line may be longer (RFC 4954 4). */
START_TEST(test_line_limits)
{
	struct knobs k = { 0 };
	struct buf in, want;
	char *got, b64[1200];
	unsigned char raw[800];
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o, rl;

	memset(&in, 0, sizeof in);
	memset(&want, 0, sizeof want);
	buf_addstr(&in, "NOOP ");
	for (i = 5; i < 510; i++)
		buf_addc(&in, 'a');
	buf_addstr(&in, "\r\nNOOP ");
	for (i = 5; i < 511; i++)
		buf_addc(&in, 'a');
	/* AUTH PLAIN with a 600-octet user name */
	raw[0] = '\0';
	memset(raw + 1, 'u', 600);
	raw[601] = '\0';
	memcpy(raw + 602, "secret", 6);
	rl = 608;
	for (i = o = 0; i < rl; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 |
		    (i + 1 < rl ? (unsigned)raw[i + 1] << 8 : 0) |
		    (i + 2 < rl ? raw[i + 2] : 0);
		b64[o++] = tbl[v >> 18 & 63];
		b64[o++] = tbl[v >> 12 & 63];
		b64[o++] = i + 1 < rl ? tbl[v >> 6 & 63] : '=';
		b64[o++] = i + 2 < rl ? tbl[v & 63] : '=';
	}
	b64[o] = '\0';
	buf_printf(&in, "\r\nEHLO c\r\nAUTH PLAIN %s\r\n", b64);

	buf_addstr(&want, "220 mx.test ESMTP outbox ready\n250 2.0.0 Ok\n"
	    "500 5.5.2 line too long\n" EHLO_AUTH_TLS "@AUTH PLAIN ");
	for (i = 0; i < 600; i++)
		buf_addc(&want, 'u');
	buf_addstr(&want, " secret\n235 2.7.0 Authentication successful\n"
	    "=READY\n");
	got = run(CF_AUTH_TLS, &k, in.p, in.len);
	ck_assert_str_eq(got, want.p);
	free(got);
	buf_free(&in);
	buf_free(&want);
}
END_TEST

/* A body line far over 1000 octets is passed on whole, in pieces. */
START_TEST(test_long_body_line)
{
	struct knobs k = { 0 };
	struct buf in;
	struct smtpd *s;
	struct smtpd_ev e;
	enum smtpd_event ev;
	size_t n = 200000, got = 0, i;
	int dot = 0;

	memset(&in, 0, sizeof in);
	(void)k;
	buf_addstr(&in, "HELO c\r\n" MF RT "DATA\r\n");
	for (i = 0; i < n; i++)
		buf_addc(&in, 'y');
	buf_addstr(&in, "\r\n.\r\n");
	s = smtpd_new(&confs[CF_PLAIN]);
	smtpd_input(s, in.p, in.len);
	while ((ev = smtpd_next(s, &e)) != SMTPD_EV_NONE) {
		if (ev == SMTPD_EV_BODY) {
			ck_assert_uint_le(e.len, 64 * 1024);
			got += e.len;
		} else if (ev == SMTPD_EV_DOT) {
			dot = 1;
			smtpd_data_done(s, 1, "Q2", 0, NULL, NULL);
		}
	}
	ck_assert_int_eq(dot, 1);
	ck_assert_uint_eq(got, n + 2);
	smtpd_free(s);
	buf_free(&in);
}
END_TEST

/* Group commit: after EV_DOT nothing is read until data_done. */
START_TEST(test_hold_after_dot)
{
	static const char in[] = "HELO c\r\n" MF RT "DATA\r\nx\r\n.\r\n"
	    "NOOP\r\n";
	struct smtpd *s;
	struct smtpd_ev e;
	struct buf *o;

	s = smtpd_new(&confs[CF_PLAIN]);
	smtpd_input(s, in, sizeof in - 1);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_MAIL);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_DATA);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_BODY);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_DOT);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_NONE);
	smtpd_input(s, "NOOP\r\n", 6);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_NONE);
	ck_assert_str_eq(smtpd_state_name(s), "DOT");
	o = smtpd_output(s);
	ck_assert_str_eq(o->p, "220 mx.test ESMTP outbox ready\r\n"
	    "250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n");
	buf_clear(o);
	smtpd_data_done(s, 1, "Q9", 0, NULL, NULL);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_NONE);
	ck_assert_str_eq(o->p, "250 2.0.0 Ok: queued as Q9\r\n"
	    "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
	smtpd_free(s);
}
END_TEST

/* Too much input while waiting for the caller: 421 once it answered. */
START_TEST(test_flood_while_held)
{
	static const char in[] = "HELO c\r\n" MF RT "DATA\r\nx\r\n.\r\n";
	struct smtpd *s;
	struct smtpd_ev e;
	struct buf *o;
	char junk[4096];
	int i;

	memset(junk, 'N', sizeof junk);
	s = smtpd_new(&confs[CF_PLAIN]);
	smtpd_input(s, in, sizeof in - 1);
	while (smtpd_next(s, &e) != SMTPD_EV_DOT)
		;
	for (i = 0; i < 100; i++)
		smtpd_input(s, junk, sizeof junk);
	ck_assert_uint_lt(smtpd_mem(s), 3 * 64 * 1024);
	o = smtpd_output(s);
	buf_clear(o);
	smtpd_data_done(s, 1, "Q9", 0, NULL, NULL);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_NONE);
	ck_assert_str_eq(o->p, "250 2.0.0 Ok: queued as Q9\r\n"
	    "421 4.7.0 mx.test too much pipelined input\r\n");
	ck_assert_int_eq(smtpd_closing(s), 1);
	smtpd_free(s);
}
END_TEST

/* The caller's failure replies are checked and sanitised. */
static const struct {
	int		 code;
	const char	*status, *text, *want;
} fails[] = {
	{ 452, "4.3.1", "queue full", "452 4.3.1 queue full\r\n" },
	{ 451, NULL, NULL, "451 4.3.0 message not accepted\r\n" },
	{ 554, "4.3.0", "no", "554 5.3.0 no\r\n" },
	{ 250, "2.0.0", "ok?", "451 4.3.0 ok?\r\n" },
	{ 550, "5.7.1234", "x", "550 5.3.0 x\r\n" },
	{ 550, "5.7.12", "bad\r\nline\x80", "550 5.7.12 bad??line?\r\n" },
};

START_TEST(test_data_fail)
{
	static const char in[] = "HELO c\r\n" MF RT "DATA\r\n.\r\n";
	struct smtpd *s;
	struct smtpd_ev e;
	struct buf *o;

	s = smtpd_new(&confs[CF_PLAIN]);
	smtpd_input(s, in, sizeof in - 1);
	while (smtpd_next(s, &e) != SMTPD_EV_DOT)
		;
	o = smtpd_output(s);
	buf_clear(o);
	smtpd_data_done(s, 0, NULL, fails[_i].code, fails[_i].status,
	    fails[_i].text);
	ck_assert_str_eq(o->p, fails[_i].want);
	ck_assert_str_eq(smtpd_state_name(s), "READY");
	smtpd_free(s);
}
END_TEST

START_TEST(test_timeouts)
{
	struct smtpd_conf cf = confs[CF_PLAIN];
	static const char in[] = "HELO c\r\n" MF RT "DATA\r\n";
	struct smtpd *s;
	struct smtpd_ev e;

	s = smtpd_new(&cf);
	ck_assert_int_eq(smtpd_timeout_ms(s), 300000);
	smtpd_input(s, in, sizeof in - 1);
	while (smtpd_next(s, &e) != SMTPD_EV_NONE)
		;
	ck_assert_int_eq(smtpd_timeout_ms(s), 180000);
	smtpd_free(s);

	cf.command_timeout = 1000;
	cf.data_timeout = 2000;
	s = smtpd_new(&cf);
	ck_assert_int_eq(smtpd_timeout_ms(s), 1000);
	smtpd_input(s, in, sizeof in - 1);
	while (smtpd_next(s, &e) != SMTPD_EV_NONE)
		;
	ck_assert_int_eq(smtpd_timeout_ms(s), 2000);
	ck_assert_str_eq(smtpd_state_name(s), "BODY");
	smtpd_free(s);
}
END_TEST

START_TEST(test_getters)
{
	static const char in[] = "EHLO c\r\nAUTH PLAIN " P_GOOD "\r\n";
	struct smtpd *s;
	struct smtpd_ev e;

	smtpd_free(NULL);
	s = smtpd_new(&confs[CF_AUTH_TLS]);
	ck_assert_int_eq(smtpd_tls_up(s), 1);
	ck_assert_ptr_null(smtpd_auth_user(s));
	ck_assert_int_eq(smtpd_closing(s), 0);
	smtpd_input(s, in, sizeof in - 1);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_AUTH);
	ck_assert_str_eq(smtpd_state_name(s), "AUTH_WAIT");
	ck_assert_str_eq(e.user, "user");
	ck_assert_str_eq(e.mech, "PLAIN");
	ck_assert_str_eq(e.helo, "c");
	/* waiting for the check: nothing else happens */
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_NONE);
	smtpd_auth_done(s, 1);
	ck_assert_str_eq(smtpd_auth_user(s), "user");
	smtpd_free(s);

	s = smtpd_new(&confs[CF_OPEN]);
	ck_assert_int_eq(smtpd_tls_up(s), 0);
	smtpd_input(s, "STARTTLS\r\n", 10);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_STARTTLS);
	ck_assert_str_eq(smtpd_state_name(s), "TLS");
	smtpd_tls_done(s, 1);
	ck_assert_int_eq(smtpd_tls_up(s), 1);
	ck_assert_str_eq(smtpd_state_name(s), "CONNECT");
	smtpd_eof(s);
	ck_assert_int_eq(smtpd_closing(s), 1);
	/* answers after the client left are ignored */
	smtpd_eof(s);
	smtpd_timeout(s);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_NONE);
	smtpd_free(s);
}
END_TEST

/* The client leaves while the caller commits: data_done is still fine. */
START_TEST(test_eof_while_committing)
{
	static const char in[] = "HELO c\r\n" MF RT "DATA\r\n.\r\n";
	struct smtpd *s;
	struct smtpd_ev e;

	s = smtpd_new(&confs[CF_PLAIN]);
	smtpd_input(s, in, sizeof in - 1);
	while (smtpd_next(s, &e) != SMTPD_EV_DOT)
		;
	smtpd_eof(s);
	ck_assert_int_eq(smtpd_next(s, &e), SMTPD_EV_NONE);	/* no ABORT */
	ck_assert_int_eq(smtpd_closing(s), 1);
	smtpd_data_done(s, 1, "Q1", 0, NULL, NULL);
	smtpd_free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtpd");
	SRunner *sr;
	TCase *tc;
	int nf;

	log_init("check_smtpd", LOG_TO_STDERR, 0);

	tc = tcase_create("sessions");
	tcase_add_loop_test(tc, test_case, 0, NELEM(cases));
	tcase_add_test(tc, test_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_loop_test(tc, test_huge_line, 0, 4);
	tcase_add_test(tc, test_line_limits);
	tcase_add_test(tc, test_long_body_line);
	tcase_add_test(tc, test_flood_while_held);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("caller");
	tcase_add_test(tc, test_hold_after_dot);
	tcase_add_loop_test(tc, test_data_fail, 0, NELEM(fails));
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_getters);
	tcase_add_test(tc, test_eof_while_committing);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
