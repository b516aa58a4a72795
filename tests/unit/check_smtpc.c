/* check_smtpc.c - whole SMTP sessions against scripted replies, no
 * sockets: feed server lines, assert the exact bytes the engine wants to
 * send after each step, and the per-recipient results. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp_reply.h"
#include "smtpc.h"
#include "util.h"

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

#define EHLO_PIPE	"250-mx.example\n250-PIPELINING\n250-8BITMIME\n" \
			"250 SIZE 100000"
#define EHLO_PLAIN	"250-mx.example\n250-8BITMIME\n250 SIZE 100000"
#define EHLO_7BIT	"250-mx.example\n250 PIPELINING"

static struct smtpc_conf tconf = {
	.helo_name = "client.example",
	.greeting_timeout = 300000,
	.command_timeout = 290000,
	.data_timeout = 600000,
	.no_pipelining = 0,
};

/* feed: push each '\n'-separated line of LINES; every push but the last
 * must return 0, the last returns RV. */
static void
feed_rv(struct smtpc *c, const char *lines, int rv)
{
	const char *p = lines, *nl;
	int got;

	for (;;) {
		nl = strchr(p, '\n');
		got = smtpc_input(c, p, nl ? (size_t)(nl - p) : strlen(p));
		if (nl == NULL) {
			ck_assert_msg(got == rv, "input \"%s\": %d, want %d",
			    p, got, rv);
			return;
		}
		ck_assert_msg(got == 0, "input \"%.*s\": %d", (int)(nl - p),
		    p, got);
		p = nl + 1;
	}
}

static void
feed(struct smtpc *c, const char *lines)
{
	feed_rv(c, lines, 0);
}

/* expect: the output is exactly WANT; then it is cleared (sent). */
static void
expect(struct smtpc *c, const char *want)
{
	struct buf *o = smtpc_output(c);
	size_t wl = strlen(want), d, from;

	/* report a window around the first difference */
	for (d = 0; d < o->len && d < wl && o->p[d] == want[d]; d++)
		;
	from = d > 40 ? d - 40 : 0;
	ck_assert_msg(o->len == wl && d == wl,
	    "output (%zu octets) differs at %zu: [%.80s], want (%zu) [%.80s]",
	    o->len, d, o->p ? o->p + from : "", wl, want + from);
	buf_clear(o);
}

static void
expect_result(const struct smtp_reply *r, int code, const char *status,
    int local)
{
	ck_assert_int_eq(r->code, code);
	ck_assert_str_eq(r->status, status);
	ck_assert_int_eq(r->local, local);
}

/* session: greeted and EHLO done with EHLO_REPLY. */
static struct smtpc *
session(const char *ehlo_reply, int no_pipelining)
{
	struct smtpc_conf cf = tconf;
	struct smtpc *c;

	cf.no_pipelining = no_pipelining;
	c = smtpc_new(&cf);
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_READ);
	expect(c, "");
	feed(c, "220 mx.example ESMTP");
	expect(c, "EHLO client.example\r\n");
	feed(c, ehlo_reply);
	expect(c, "");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_str_eq(smtpc_state_name(c), "READY");
	return c;
}

/* A transaction with up to 4 recipients. */
struct t {
	struct smtpc_txn	 txn;
	const char		*rcpt[4];
	struct smtp_reply	 res[4];
};

static struct smtpc_txn *
txn(struct t *t, const char *sender, int n, uint64_t size)
{
	static const char *const names[4] = {
		"a@x.example", "b@x.example", "c@x.example", "d@x.example"
	};
	int i;

	memset(t, 0, sizeof *t);
	for (i = 0; i < n; i++)
		t->rcpt[i] = names[i];
	t->txn.sender = sender;
	t->txn.rcpt = t->rcpt;
	t->txn.nrcpt = (size_t)n;
	t->txn.size = size;
	t->txn.rcpt_result = t->res;
	for (i = 0; i < 4; i++)
		t->res[i].code = 999;	/* must be reset by smtpc_start */
	return &t->txn;
}

static void
body(struct smtpc *c, const char *s)
{
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_BODY);
	ck_assert_int_eq(smtpc_body(c, s, strlen(s)), 0);
	ck_assert_int_eq(smtpc_body_end(c), 0);
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_READ);
	ck_assert_str_eq(smtpc_state_name(c), "DOT");
}

/* ---- greeting, EHLO, HELO ---------------------------------------- */

static const char *const greet_bad[] = {
	"421 mx.example busy", "554 no service for you", "250 what",
	"220-ok\n421 changed my mind"
};

START_TEST(test_greet_refused)
{
	struct smtpc *c = smtpc_new(&tconf);
	const struct smtp_reply *e;

	if (_i == 3) {
		/* code differs between lines: malformed */
		feed_rv(c, greet_bad[_i], -1);
		ck_assert_int_eq(smtpc_error(c)->code, 451);
		ck_assert_int_eq(smtpc_error(c)->local, 1);
	} else {
		feed_rv(c, greet_bad[_i], -1);
		e = smtpc_error(c);
		ck_assert_int_eq(e->code, atoi(greet_bad[_i]));
		ck_assert_int_eq(e->local, 0);
		ck_assert_str_eq(e->text, greet_bad[_i] + 4);
	}
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	expect(c, "");
	/* further input is refused, nothing changes */
	ck_assert_int_eq(smtpc_input(c, "220 x", 5), -1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	smtpc_free(c);
}
END_TEST

START_TEST(test_greet_multiline)
{
	struct smtpc *c = smtpc_new(&tconf);

	feed(c, "220-mx.example\n220-be nice");
	expect(c, "");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_READ);
	feed(c, "220 ESMTP");
	expect(c, "EHLO client.example\r\n");
	smtpc_free(c);
}
END_TEST

static const int helo_codes[] = { 500, 501, 502, 504, 550 };

START_TEST(test_ehlo_to_helo)
{
	struct smtpc *c = smtpc_new(&tconf);
	char line[64];

	feed(c, "220 old.example SMTP");
	expect(c, "EHLO client.example\r\n");
	snprintf(line, sizeof line, "%d-what?\n%d command unrecognized",
	    helo_codes[_i], helo_codes[_i]);
	feed(c, line);
	expect(c, "HELO client.example\r\n");
	ck_assert_str_eq(smtpc_state_name(c), "HELO");
	feed(c, "250 old.example");
	expect(c, "");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_uint_eq(smtpc_extensions(c), 0);
	smtpc_free(c);
}
END_TEST

START_TEST(test_ehlo_refused)
{
	struct smtpc *c = smtpc_new(&tconf);

	feed(c, "220 x");
	expect(c, "EHLO client.example\r\n");
	feed_rv(c, "554 5.7.1 go away", -1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	ck_assert_int_eq(smtpc_error(c)->code, 554);
	ck_assert_str_eq(smtpc_error(c)->status, "5.7.1");
	expect(c, "");
	smtpc_free(c);

	c = smtpc_new(&tconf);
	feed(c, "220 x");
	expect(c, "EHLO client.example\r\n");
	feed(c, "502 no");
	expect(c, "HELO client.example\r\n");
	feed_rv(c, "501 bad helo", -1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	ck_assert_int_eq(smtpc_error(c)->code, 501);
	smtpc_free(c);

	c = smtpc_new(&tconf);
	feed(c, "220 x");
	expect(c, "EHLO client.example\r\n");
	feed_rv(c, "421 4.3.2 shutting down", -1);
	ck_assert_int_eq(smtpc_error(c)->code, 421);
	smtpc_free(c);
}
END_TEST

/* a helo_name that cannot go on the EHLO line is not sent as is */
static const char *const bad_helos[] = { "", "a b", "x\r\nRSET", NULL, "" };

START_TEST(test_bad_helo)
{
	struct smtpc_conf cf = tconf;
	char big[300];
	struct smtpc *c;

	memset(big, 'h', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cf.helo_name = _i == 4 ? big : bad_helos[_i];
	c = smtpc_new(&cf);
	feed(c, "220 x");
	expect(c, "EHLO localhost\r\n");
	smtpc_free(c);
}
END_TEST

struct ecase {
	const char	*reply;
	unsigned	 ext;
	uint64_t	 limit;
};

static const struct ecase ecases[] = {
	{ "250 mx.example", 0, 0 },
	{ "250-mx.example\n250-PIPELINING\n250-8BITMIME\n250-SIZE 1000\n"
	  "250-STARTTLS\n250-AUTH PLAIN LOGIN\n250-ENHANCEDSTATUSCODES\n"
	  "250-SMTPUTF8\n250 DSN",
	  SMTPC_EXT_PIPELINING | SMTPC_EXT_8BITMIME | SMTPC_EXT_SIZE
	  | SMTPC_EXT_STARTTLS | SMTPC_EXT_AUTH | SMTPC_EXT_ENHANCED
	  | SMTPC_EXT_SMTPUTF8 | SMTPC_EXT_DSN, 1000 },
	{ "250-mx.example\n250-pipelining\n250-8bitmime\n250 size 52428800",
	  SMTPC_EXT_PIPELINING | SMTPC_EXT_8BITMIME | SMTPC_EXT_SIZE,
	  52428800 },
	{ "250-mx.example\n250 SIZE", SMTPC_EXT_SIZE, 0 },
	{ "250-mx.example\n250 SIZE 0", SMTPC_EXT_SIZE, 0 },
	{ "250-mx.example\n250 SIZE junk", SMTPC_EXT_SIZE, 0 },
	{ "250-mx.example\n250 SIZE 99999999999999999999999", SMTPC_EXT_SIZE,
	  0 },
	{ "250-mx.example\n250 SIZE   77", SMTPC_EXT_SIZE, 77 },
	{ "250-mx.example\n250-AUTH=LOGIN\n250-PIPELININGX\n250-8BITMIM\n"
	  "250 X-EXPS GSSAPI", 0, 0 },
	/* keywords only from lines after the first */
	{ "250-PIPELINING\n250 8BITMIME", SMTPC_EXT_8BITMIME, 0 },
	{ "250-mx.example\n250-2.0.0 PIPELINING\n250 DSN", SMTPC_EXT_DSN, 0 },
};

START_TEST(test_ehlo_keywords)
{
	struct smtpc *c = session(ecases[_i].reply, 0);

	ck_assert_uint_eq(smtpc_extensions(c), ecases[_i].ext);
	ck_assert_uint_eq(smtpc_size_limit(c), ecases[_i].limit);
	smtpc_free(c);
}
END_TEST

/* ---- transactions ------------------------------------------------- */

START_TEST(test_pipelined_batch)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 1234));
	expect(c, "MAIL FROM:<s@y.example> SIZE=1234\r\n"
	    "RCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\n"
	    "DATA\r\n");
	ck_assert_int_eq(t.txn.done, 0);
	ck_assert_int_eq(t.res[0].code, 0);
	ck_assert_str_eq(smtpc_state_name(c), "MAIL");
	feed(c, "250 2.1.0 Ok");
	expect(c, "");
	ck_assert_str_eq(smtpc_state_name(c), "RCPT");
	feed(c, "250 2.1.5 Ok");
	expect(c, "");
	feed(c, "250 2.1.5 Ok");
	expect(c, "");
	ck_assert_str_eq(smtpc_state_name(c), "DATA");
	ck_assert_int_eq(smtpc_timeout_ms(c), 290000);
	feed(c, "354 End data with <CR><LF>.<CR><LF>");
	body(c, "Subject: x\r\n\r\nhello\r\n");
	expect(c, "Subject: x\r\n\r\nhello\r\n.\r\n");
	ck_assert_int_eq(smtpc_timeout_ms(c), 600000);
	feed(c, "250 2.0.0 Ok: queued as 123");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 250, "2.0.0", 0);
	expect_result(&t.res[1], 250, "2.0.0", 0);
	ck_assert_str_eq(t.res[1].text, "Ok: queued as 123");
	smtpc_quit(c);
	expect(c, "QUIT\r\n");
	feed(c, "221 2.0.0 Bye");
	ck_assert_int_eq(smtpc_want(c), SMTPC_DONE);
	smtpc_free(c);
}
END_TEST

/* no PIPELINING offered (_i 0), or offered but switched off (_i 1) */
START_TEST(test_one_at_a_time)
{
	struct smtpc *c = session(_i ? EHLO_PIPE : EHLO_PLAIN, _i);
	struct t t;

	smtpc_start(c, txn(&t, "", 2, 10));
	expect(c, "MAIL FROM:<> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<b@x.example>\r\n");
	feed(c, "250 ok");
	expect(c, "DATA\r\n");
	feed(c, "354 go");
	body(c, "x\r\n");
	expect(c, "x\r\n.\r\n");
	feed(c, "250 queued");
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 250, "", 0);
	expect_result(&t.res[1], 250, "", 0);
	smtpc_free(c);
}
END_TEST

/* mixed RCPT results, with (_i 0) and without (_i 1) pipelining */
START_TEST(test_mixed_rcpt)
{
	struct smtpc *c = session(_i ? EHLO_PLAIN : EHLO_PIPE, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 3, 10));
	if (_i) {
		expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
		feed(c, "250 ok");
		expect(c, "RCPT TO:<a@x.example>\r\n");
		feed(c, "250 ok");
		expect(c, "RCPT TO:<b@x.example>\r\n");
		feed(c, "451 4.2.0 greylisted");
		expect(c, "RCPT TO:<c@x.example>\r\n");
		feed(c, "550-5.1.1 no such\n550 5.1.1 user");
		expect(c, "DATA\r\n");
	} else {
		expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n"
		    "RCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\n"
		    "RCPT TO:<c@x.example>\r\nDATA\r\n");
		feed(c, "250 ok\n250 ok\n451 4.2.0 greylisted\n"
		    "550-5.1.1 no such\n550 5.1.1 user");
		expect(c, "");
	}
	/* refused recipients are final before the body */
	expect_result(&t.res[1], 451, "4.2.0", 0);
	expect_result(&t.res[2], 550, "5.1.1", 0);
	ck_assert_str_eq(t.res[2].text, "no such; user");
	ck_assert_int_eq(t.res[0].code, 0);
	feed(c, "354 go");
	body(c, "hi\r\n");
	expect(c, "hi\r\n.\r\n");
	feed(c, "250 2.0.0 ok");
	expect_result(&t.res[0], 250, "2.0.0", 0);
	expect_result(&t.res[1], 451, "4.2.0", 0);
	expect_result(&t.res[2], 550, "5.1.1", 0);
	ck_assert_int_eq(t.txn.done, 1);
	smtpc_free(c);
}
END_TEST

START_TEST(test_all_rcpt_refused_plain)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	feed(c, "550 5.1.1 no");
	expect(c, "RCPT TO:<b@x.example>\r\n");
	feed(c, "450 4.2.1 later");
	/* RFC 5321: no DATA without an accepted recipient */
	expect(c, "");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 550, "5.1.1", 0);
	expect_result(&t.res[1], 450, "4.2.1", 0);
	/* the next transaction starts with RSET */
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, "RSET\r\n");
	ck_assert_str_eq(smtpc_state_name(c), "RSET");
	feed(c, "250 2.0.0 ok");
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	smtpc_free(c);
}
END_TEST

/* with pipelining: DATA went already; _i 0: refused (the normal case),
 * _i 1: a wrong 354, answered with a lone "." whose reply is ignored */
START_TEST(test_all_rcpt_refused_pipelined)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n");
	feed(c, "250 ok\n550 5.1.1 no\n550 5.1.1 no either");
	ck_assert_str_eq(smtpc_state_name(c), "DATA");
	if (_i == 0) {
		feed(c, "554 5.5.1 no valid recipients");
		expect(c, "");
	} else {
		feed(c, "354 go ahead anyway");
		expect(c, ".\r\n");
		ck_assert_str_eq(smtpc_state_name(c), "DOT");
		ck_assert_int_eq(t.txn.done, 0);
		feed(c, "250 2.0.0 queued nothing");
		expect(c, "");
	}
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 550, "5.1.1", 0);
	ck_assert_str_eq(t.res[1].text, "no either");
	/* next: RSET pipelined with the new batch */
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, "RSET\r\nMAIL FROM:<s@y.example> SIZE=10\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n");
	feed(c, "250 reset\n250 ok\n250 ok\n354 go");
	body(c, "z\r\n");
	expect(c, "z\r\n.\r\n");
	feed(c, "250 ok");
	expect_result(&t.res[0], 250, "", 0);
	smtpc_free(c);
}
END_TEST

/* MAIL refused: _i 0 one at a time, _i 1 pipelined */
START_TEST(test_mail_refused)
{
	struct smtpc *c = session(_i ? EHLO_PIPE : EHLO_PLAIN, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	if (_i == 0) {
		expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
		feed(c, "553 5.1.8 bad sender");
		expect(c, "");
	} else {
		expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n"
		    "RCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\n"
		    "DATA\r\n");
		feed(c, "553 5.1.8 bad sender\n503 5.5.1 need MAIL\n"
		    "503 5.5.1 need MAIL");
		ck_assert_int_eq(t.txn.done, 0);
		feed(c, "503 5.5.1 need RCPT");
		expect(c, "");
	}
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 553, "5.1.8", 0);
	expect_result(&t.res[1], 553, "5.1.8", 0);
	ck_assert_str_eq(t.res[1].text, "bad sender");
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, _i ? "RSET\r\nMAIL FROM:<s@y.example> SIZE=10\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n" : "RSET\r\n");
	smtpc_free(c);
}
END_TEST

/* DATA refused: accepted recipients get its reply, the others keep
 * theirs; _i 0 pipelined, _i 1 not */
START_TEST(test_data_refused)
{
	struct smtpc *c = session(_i ? EHLO_PLAIN : EHLO_PIPE, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	if (_i) {
		expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
		feed(c, "250 ok");
		expect(c, "RCPT TO:<a@x.example>\r\n");
		feed(c, "250 ok");
		expect(c, "RCPT TO:<b@x.example>\r\n");
		feed(c, "550 5.1.1 no");
		expect(c, "DATA\r\n");
	} else {
		buf_clear(smtpc_output(c));
		feed(c, "250 ok\n250 ok\n550 5.1.1 no");
	}
	feed(c, "554 5.7.1 DATA refused");
	expect(c, "");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 554, "5.7.1", 0);
	expect_result(&t.res[1], 550, "5.1.1", 0);
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	ck_assert_int_eq(strncmp(smtpc_output(c)->p, "RSET\r\n", 6), 0);
	smtpc_free(c);
}
END_TEST

static const struct {
	const char	*reply;
	int		 code;
	const char	*status;
} dots[] = {
	{ "250 2.0.0 Ok: queued", 250, "2.0.0" },
	{ "451 4.3.0 try again", 451, "4.3.0" },
	{ "552 5.3.4 too big", 552, "5.3.4" },
	{ "554-5.7.1 spam\n554 5.7.1 go away", 554, "5.7.1" },
};

START_TEST(test_dot_reply)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n250 ok\n354 go");
	body(c, "x\r\n");
	expect(c, "x\r\n.\r\n");
	feed(c, dots[_i].reply);
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	expect_result(&t.res[0], dots[_i].code, dots[_i].status, 0);
	expect_result(&t.res[1], dots[_i].code, dots[_i].status, 0);
	/* the transaction ended at the dot: no RSET, whatever the code */
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n");
	smtpc_free(c);
}
END_TEST

START_TEST(test_size_refused)
{
	struct smtpc *c = session("250-mx\n250-PIPELINING\n250 SIZE 1000", 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 3, 1001));
	expect(c, "");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 552, "5.3.4", 1);
	expect_result(&t.res[2], 552, "5.3.4", 1);
	ck_assert_str_eq(t.res[1].text,
	    "message size 1001 exceeds the server's limit of 1000");
	/* exactly the limit is fine, and no RSET was needed */
	smtpc_start(c, txn(&t, "s@y.example", 1, 1000));
	expect(c, "MAIL FROM:<s@y.example> SIZE=1000\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n");
	smtpc_free(c);
}
END_TEST

START_TEST(test_body_8bitmime)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t t;

	txn(&t, "s@y.example", 1, 10);
	t.txn.eightbit = 1;
	smtpc_start(c, &t.txn);
	expect(c, "MAIL FROM:<s@y.example> SIZE=10 BODY=8BITMIME\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n");
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "Subject: x\r\n\r\ncaf\xc3\xa9\r\n");
	expect(c, "Subject: x\r\n\r\ncaf\xc3\xa9\r\n.\r\n");
	feed(c, "250 ok");
	smtpc_free(c);

	/* no 8BITMIME, the caller converts: no BODY= */
	c = session(EHLO_7BIT, 0);
	txn(&t, "s@y.example", 1, 10);
	t.txn.eightbit = 1;
	t.txn.convert = 1;
	smtpc_start(c, &t.txn);
	expect(c, "MAIL FROM:<s@y.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "DATA\r\n");
	smtpc_free(c);
}
END_TEST

/* ---- body: dot-stuffing, line ends --------------------------------- */

static const char stuff_in[] =
	".\r\n..\r\n.x\r\nx.\r\n\r\n.\r\n a\r\n.\r\r\n"
	"line with . dots .\r\n...\r\n.";
static const char stuff_out[] =
	"..\r\n...\r\n..x\r\nx.\r\n\r\n..\r\n a\r\n..\r\n\r\n"
	"line with . dots .\r\n....\r\n..\r\n.\r\n";

static struct smtpc *
at_body(struct t *t)
{
	struct smtpc *c = session(EHLO_PIPE, 0);

	smtpc_start(c, txn(t, "s@y.example", 1, 10));
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n354 go");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_BODY);
	return c;
}

/* split at every position: identical bytes */
START_TEST(test_stuff_split)
{
	size_t n = sizeof stuff_in - 1, k = (size_t)_i;
	struct smtpc *c;
	struct t t;

	c = at_body(&t);
	ck_assert_int_eq(smtpc_body(c, stuff_in, k), 0);
	ck_assert_int_eq(smtpc_body(c, stuff_in + k, n - k), 0);
	ck_assert_int_eq(smtpc_body_end(c), 0);
	expect(c, stuff_out);
	smtpc_free(c);
}
END_TEST

START_TEST(test_stuff_bytes)
{
	size_t n = sizeof stuff_in - 1, k;
	struct smtpc *c;
	struct t t;

	c = at_body(&t);
	for (k = 0; k < n; k++) {
		ck_assert_int_eq(smtpc_body(c, stuff_in + k, 1), 0);
		ck_assert_int_eq(smtpc_body(c, "", 0), 0);
	}
	ck_assert_int_eq(smtpc_body_end(c), 0);
	expect(c, stuff_out);
	smtpc_free(c);
}
END_TEST

static const struct {
	const char	*in, *out;
} ends[] = {
	{ "", ".\r\n" },
	{ "abc", "abc\r\n.\r\n" },
	{ "abc\r\n", "abc\r\n.\r\n" },
	{ "abc\r", "abc\r\n.\r\n" },
	{ ".", "..\r\n.\r\n" },
	{ "\r\n", "\r\n.\r\n" },
	/* bare LF / CR (never canonical) are completed, not smuggled */
	{ "a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n" },
	{ "a\r.\r\n", "a\r\n..\r\n.\r\n" },
	{ "a\n\n.", "a\r\n\r\n..\r\n.\r\n" },
};

START_TEST(test_body_ends)
{
	struct smtpc *c;
	struct t t;

	c = at_body(&t);
	ck_assert_int_eq(smtpc_body(c, ends[_i].in, strlen(ends[_i].in)), 0);
	ck_assert_int_eq(smtpc_body_end(c), 0);
	expect(c, ends[_i].out);
	smtpc_free(c);
}
END_TEST

/* a 3 MiB body in 64 KiB chunks, drained as the driver loop says */
START_TEST(test_body_large)
{
	size_t chunk = 65536, total = 0, sent = 0, k;
	char *p = malloc(chunk);
	struct smtpc *c;
	struct buf *o;
	struct t t;

	for (k = 0; k < chunk; k++)
		p[k] = (k % 64 == 62) ? '\r' : (k % 64 == 63) ? '\n'
		    : (k % 64 == 0) ? '.' : 'a';
	c = at_body(&t);
	o = smtpc_output(c);
	for (k = 0; k < 48; k++) {
		/* send before the next chunk, so the last bytes and the
		 * "." leave together */
		if (o->len >= SMTPC_FLUSH_AT) {
			sent += o->len;
			buf_clear(o);
		}
		ck_assert_int_eq(smtpc_body(c, p, chunk), 0);
		total += chunk;
	}
	ck_assert_int_eq(smtpc_body_end(c), 0);
	ck_assert_uint_ge(o->len, chunk);
	sent += o->len;
	ck_assert_str_eq(o->p + o->len - 5, "\r\n.\r\n");
	/* one stuffed dot per 64-octet line, plus ".\r\n" */
	ck_assert_uint_eq(sent, total + total / 64 + 3);
	ck_assert_uint_le(o->cap, 4 * chunk);
	smtpc_free(c);
	free(p);
}
END_TEST

/* an 8-bit header can't be converted: refused before any command when
 * the server lacks 8BITMIME (_i 0); sent as is when it has it (_i 1) */
START_TEST(test_8bit_header)
{
	struct smtpc *c = session(_i ? EHLO_PIPE : EHLO_7BIT, 0);
	struct t t;

	txn(&t, "s@y.example", 2, 10);
	t.txn.eightbit = 1;
	t.txn.eightbit_header = 1;
	smtpc_start(c, &t.txn);
	if (_i == 0) {
		ck_assert_int_eq(t.txn.done, 1);
		expect_result(&t.res[0], 554, "5.6.3", 1);
		expect_result(&t.res[1], 554, "5.6.3", 1);
		expect(c, "");
		ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	} else {
		ck_assert_int_eq(t.txn.done, 0);
		expect(c, "MAIL FROM:<s@y.example> SIZE=10 BODY=8BITMIME\r\n"
		    "RCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\n"
		    "DATA\r\n");
	}
	smtpc_free(c);
}
END_TEST

/* ---- the next transaction behind the final dot (RFC 2920 3.1) ----- */

/* the second message's commands follow the first one's dot; the dot's
 * reply ends the first, the rest go to the second */
START_TEST(test_behind_dot)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t a, b;

	smtpc_start(c, txn(&a, "s@y.example", 1, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n");
	feed(c, "250 ok\n250 ok\n354 go");
	ck_assert_int_eq(smtpc_can_start(c), 0);	/* in BODY */
	body(c, "one\r\n");
	ck_assert_int_eq(smtpc_can_start(c), 1);
	smtpc_start(c, txn(&b, "s@y.example", 2, 20));
	ck_assert_int_eq(smtpc_can_start(c), 0);	/* one behind at most */
	expect(c, "one\r\n.\r\nMAIL FROM:<s@y.example> SIZE=20\r\n"
	    "RCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n");
	ck_assert_int_eq(a.txn.done, 0);
	feed(c, "250 2.0.0 first");
	ck_assert_int_eq(a.txn.done, 1);
	ck_assert_int_eq(b.txn.done, 0);
	expect_result(&a.res[0], 250, "2.0.0", 0);
	ck_assert_str_eq(smtpc_state_name(c), "MAIL");
	expect(c, "");		/* nothing more to send: it went already */
	feed(c, "250 ok\n250 ok\n550 5.1.1 no such user\n354 go");
	body(c, "two\r\n");
	expect(c, "two\r\n.\r\n");
	feed(c, "250 2.0.0 second");
	ck_assert_int_eq(b.txn.done, 1);
	expect_result(&b.res[0], 250, "2.0.0", 0);
	expect_result(&b.res[1], 550, "5.1.1", 0);
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	smtpc_free(c);
}
END_TEST

/* a failed dot (4xx or 5xx) still lets the next transaction run */
START_TEST(test_behind_dot_refused)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t a, b;

	smtpc_start(c, txn(&a, "s@y.example", 1, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n");
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "one\r\n");
	smtpc_start(c, txn(&b, "s@y.example", 1, 20));
	buf_clear(smtpc_output(c));
	feed(c, "554 5.7.1 spam");
	expect_result(&a.res[0], 554, "5.7.1", 0);
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "two\r\n");
	feed(c, "250 2.0.0 ok");
	expect_result(&b.res[0], 250, "2.0.0", 0);
	smtpc_free(c);
}
END_TEST

/* 421 or a lost connection after the dot: both get temporary results */
START_TEST(test_behind_dot_lost)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t a, b;

	smtpc_start(c, txn(&a, "s@y.example", 1, 10));
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "one\r\n");
	smtpc_start(c, txn(&b, "s@y.example", 2, 20));
	buf_clear(smtpc_output(c));
	if (_i == 0) {
		feed_rv(c, "421 4.3.2 shutting down", -1);
		expect_result(&a.res[0], 421, "4.3.2", 0);
		expect_result(&b.res[0], 421, "4.3.2", 0);
		expect_result(&b.res[1], 421, "4.3.2", 0);
	} else {
		smtpc_lost(c, "connection reset");
		expect_result(&a.res[0], 451, "4.4.2", 1);
		expect_result(&b.res[0], 451, "4.4.2", 1);
		expect_result(&b.res[1], 451, "4.4.2", 1);
	}
	ck_assert_int_eq(a.txn.done, 1);
	ck_assert_int_eq(b.txn.done, 1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	smtpc_free(c);
}
END_TEST

/* behind the dot, a message over SIZE is refused at once, no command */
START_TEST(test_behind_dot_size)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t a, b;

	smtpc_start(c, txn(&a, "s@y.example", 1, 10));
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "one\r\n");
	smtpc_start(c, txn(&b, "s@y.example", 1, 200000));
	ck_assert_int_eq(b.txn.done, 1);
	expect_result(&b.res[0], 552, "5.3.4", 1);
	expect(c, "one\r\n.\r\n");
	ck_assert_int_eq(smtpc_can_start(c), 1);	/* slot still free */
	feed(c, "250 ok");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	smtpc_free(c);
}
END_TEST

/* no PIPELINING (or no_pipelining): nothing may start before the reply */
START_TEST(test_behind_dot_needs_pipelining)
{
	struct smtpc *c = session(_i == 0 ? EHLO_PLAIN : EHLO_PIPE, _i);
	struct t a;

	smtpc_start(c, txn(&a, "s@y.example", 1, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	feed(c, "250 ok");
	expect(c, "DATA\r\n");
	feed(c, "354 go");
	body(c, "one\r\n");
	ck_assert_int_eq(smtpc_can_start(c), 0);
	feed(c, "250 ok");
	ck_assert_int_eq(smtpc_can_start(c), 1);
	smtpc_free(c);
}
END_TEST

/* ---- conversion ---------------------------------------------------- */

/* a 7-bit message through mime8 comes out as it went in */
START_TEST(test_convert_7bit)
{
	const char *m = "From: a@b\r\nSubject: x\r\n\r\nhello\r\n.dot\r\n";
	struct smtpc *c = session(EHLO_7BIT, 0);
	struct t t;

	txn(&t, "s@y.example", 1, 10);
	t.txn.convert = 1;
	smtpc_start(c, &t.txn);
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n354 go");
	ck_assert_int_eq(smtpc_body(c, m, 7), 0);
	ck_assert_int_eq(smtpc_body(c, m + 7, strlen(m) - 7), 0);
	ck_assert_int_eq(smtpc_body_end(c), 0);
	expect(c, "From: a@b\r\nSubject: x\r\n\r\nhello\r\n..dot\r\n.\r\n");
	smtpc_free(c);
}
END_TEST

/* long lines go to mime8 in pieces and come back whole, whatever the
 * split (the engine's piece size is 8192; a CR at the cut).  The part is
 * declared base64, which mime8 passes on as it is (a 7bit part with a
 * line over 998 octets would be re-encoded, RFC 2045 2.7). */
static const size_t long_line[] = { 8190, 8191, 8192, 8193, 20000 };

START_TEST(test_convert_long)
{
	size_t ll = long_line[_i / 3], n, k, step;
	struct buf in, want;
	struct smtpc *c;
	struct t t;

	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_addstr(&in, "Subject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	for (k = 0; k < ll; k++)
		buf_addc(&in, 'a' + (int)(k % 26));
	buf_addstr(&in, "\r\n.end\r\n");
	buf_add(&want, in.p, in.len - 6);
	buf_addstr(&want, "..end\r\n.\r\n");
	step = _i % 3 == 0 ? in.len : _i % 3 == 1 ? 1 : 8191;
	c = session(EHLO_7BIT, 0);
	txn(&t, "s@y.example", 1, 10);
	t.txn.convert = 1;
	smtpc_start(c, &t.txn);
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n354 go");
	for (k = 0; k < in.len; k += n) {
		n = in.len - k < step ? in.len - k : step;
		ck_assert_int_eq(smtpc_body(c, in.p + k, n), 0);
	}
	ck_assert_int_eq(smtpc_body_end(c), 0);
	expect(c, want.p);
	smtpc_free(c);
	buf_free(&in);
	buf_free(&want);
}
END_TEST

/* a long 8-bit line: 7-bit out, lines within RFC 5322's 998 */
START_TEST(test_convert_long8)
{
	struct smtpc *c = session(EHLO_7BIT, 0);
	const struct buf *o;
	struct buf in;
	size_t k, col;
	struct t t;

	buf_init(&in, 0);
	buf_addstr(&in, "Subject: x\r\n\r\n");
	for (k = 0; k < 30000; k++)
		buf_addc(&in, k % 3 ? 'a' : 0xe9);
	txn(&t, "s@y.example", 1, 10);
	t.txn.eightbit = 1;
	t.txn.convert = 1;
	smtpc_start(c, &t.txn);
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n354 go");
	ck_assert_int_eq(smtpc_body(c, in.p, in.len), 0);
	ck_assert_int_eq(smtpc_body_end(c), 0);
	o = smtpc_output(c);
	for (k = 0, col = 0; k < o->len; k++) {
		ck_assert_int_eq(o->p[k] & 0x80, 0);
		col = o->p[k] == '\n' ? 0 : col + 1;
		ck_assert_uint_le(col, 999);
	}
	smtpc_free(c);
	buf_free(&in);
}
END_TEST

static int
has8(const struct buf *b)
{
	size_t k;

	for (k = 0; k < b->len; k++)
		if (b->p[k] & 0x80)
			return 1;
	return 0;
}

/* an 8-bit body with no 8BITMIME: never an 8-bit octet on the wire,
 * whether the caller asked for conversion (_i 0) or forgot (_i 1) */
START_TEST(test_convert_8bit)
{
	const char *m = "Subject: x\r\n\r\ncaf\xc3\xa9\r\n";
	struct smtpc *c = session(EHLO_7BIT, 0);
	struct t t;
	size_t k;

	txn(&t, "s@y.example", 1, 10);
	t.txn.eightbit = 1;
	t.txn.convert = !_i;
	smtpc_start(c, &t.txn);
	expect(c, "MAIL FROM:<s@y.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "DATA\r\n");
	feed(c, "250 ok\n250 ok\n354 go");
	for (k = 0; m[k]; k++)
		ck_assert_int_eq(smtpc_body(c, m + k, 1), 0);
	ck_assert_int_eq(smtpc_body_end(c), 0);
	ck_assert_int_eq(has8(smtpc_output(c)), 0);
	ck_assert_int_eq(strncmp(smtpc_output(c)->p, "Subject: x\r\n", 12), 0);
	smtpc_free(c);
}
END_TEST

/* an 8-bit header cannot be converted: permanent 5.6.3, session over */
START_TEST(test_convert_fail)
{
	const char *m = "Subject: caf\xc3\xa9\r\n\r\nx\r\n";
	struct smtpc *c = session(EHLO_7BIT, 0);
	struct t t;

	txn(&t, "s@y.example", 2, 10);
	t.txn.eightbit = 1;
	t.txn.convert = 1;
	smtpc_start(c, &t.txn);
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n550 5.1.1 no\n354 go");
	ck_assert_int_eq(smtpc_body(c, m, strlen(m)), -1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 554, "5.6.3", 1);
	expect_result(&t.res[1], 550, "5.1.1", 0);
	ck_assert_int_eq(has8(smtpc_output(c)), 0);
	smtpc_free(c);
}
END_TEST

/* the caller said 7-bit but sends 8-bit to a 7-bit server: refused */
START_TEST(test_8bit_guard)
{
	struct smtpc *c = session(EHLO_7BIT, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n354 go");
	ck_assert_int_eq(smtpc_body(c, "ok\r\nb\xe4\r\n", 8), -1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	expect_result(&t.res[0], 554, "5.6.3", 1);
	ck_assert_int_eq(has8(smtpc_output(c)), 0);
	smtpc_free(c);
}
END_TEST

/* ---- addresses ----------------------------------------------------- */

START_TEST(test_bad_addresses)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	const char *rc[3] = { "a@x\r\nRSET", "ok@x.example", "j\xc3\xb6@x" };
	struct smtp_reply res[3];
	struct smtpc_txn tx;

	memset(&tx, 0, sizeof tx);
	tx.sender = "s@y.example";
	tx.rcpt = rc;
	tx.nrcpt = 3;
	tx.size = 5;
	tx.rcpt_result = res;
	smtpc_start(c, &tx);
	expect(c, "MAIL FROM:<s@y.example> SIZE=5\r\nRCPT TO:<ok@x.example>\r\n"
	    "DATA\r\n");
	expect_result(&res[0], 501, "5.1.3", 1);
	expect_result(&res[2], 553, "5.6.7", 1);
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "x\r\n");
	buf_clear(smtpc_output(c));
	feed(c, "250 ok");
	expect_result(&res[1], 250, "", 0);
	expect_result(&res[0], 501, "5.1.3", 1);

	/* a bad sender: nothing is sent */
	tx.sender = "s@y\n";
	smtpc_start(c, &tx);
	expect(c, "");
	ck_assert_int_eq(tx.done, 1);
	expect_result(&res[1], 501, "5.1.7", 1);
	smtpc_free(c);

	/* SMTPUTF8 offered: the 8-bit address goes, flagged */
	c = session("250-mx\n250-SMTPUTF8\n250 8BITMIME", 0);
	rc[0] = "\xc3\xa9@x";
	tx.sender = "s@y";
	tx.nrcpt = 1;
	smtpc_start(c, &tx);
	expect(c, "MAIL FROM:<s@y> SMTPUTF8\r\n");
	smtpc_free(c);
}
END_TEST

/* ---- sessions ------------------------------------------------------ */

START_TEST(test_two_txns)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	feed(c, "250 ok");
	expect(c, "DATA\r\n");
	feed(c, "354 go");
	body(c, "1\r\n");
	expect(c, "1\r\n.\r\n");
	feed(c, "250 ok");
	/* completed: straight to MAIL */
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	feed(c, "250 ok");
	expect(c, "DATA\r\n");
	feed(c, "451 4.3.0 not now");
	expect_result(&t.res[0], 451, "4.3.0", 0);
	/* failed: RSET first, then MAIL after its reply */
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, "RSET\r\n");
	feed(c, "250 ok");
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	smtpc_free(c);
}
END_TEST

/* 421 in reply to the 2nd RCPT of 3: everyone open gets the 421 */
START_TEST(test_421_mid)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 3, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<b@x.example>\r\n");
	feed_rv(c, "421 4.4.2 timeout, closing", -1);
	expect(c, "");
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 421, "4.4.2", 0);
	expect_result(&t.res[1], 421, "4.4.2", 0);
	expect_result(&t.res[2], 421, "4.4.2", 0);
	ck_assert_int_eq(smtpc_error(c)->code, 421);
	smtpc_free(c);
}
END_TEST

/* 421 in reply to the final dot (pipelined batch, one refused rcpt) */
START_TEST(test_421_dot)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n550 no\n250 ok\n354 go");
	body(c, "x\r\n");
	feed_rv(c, "421 bye", -1);
	expect_result(&t.res[0], 550, "", 0);
	expect_result(&t.res[1], 421, "", 0);
	smtpc_free(c);
}
END_TEST

START_TEST(test_lost_after_dot)
{
	struct smtpc *c = session(EHLO_PIPE, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	buf_clear(smtpc_output(c));
	feed(c, "250 ok\n250 ok\n550 5.1.1 no\n354 go");
	body(c, "x\r\n");
	smtpc_lost(c, "connection lost after the final dot");
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	ck_assert_int_eq(t.txn.done, 1);
	expect_result(&t.res[0], 451, "4.4.2", 1);
	ck_assert_str_eq(t.res[0].text, "connection lost after the final dot");
	expect_result(&t.res[1], 550, "5.1.1", 0);
	expect_result(smtpc_error(c), 451, "4.4.2", 1);
	/* idempotent */
	smtpc_lost(c, "again");
	ck_assert_str_eq(t.res[0].text, "connection lost after the final dot");
	smtpc_free(c);
}
END_TEST

/* lost in every waiting state of a transaction */
static const char *const lost_at[] = { "MAIL", "RCPT", "DATA", "BODY" };

START_TEST(test_lost_states)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);
	struct t t;
	int k;

	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	for (k = 0; k < _i; k++)
		feed(c, k == 2 ? "354 go" : "250 ok");
	ck_assert_str_eq(smtpc_state_name(c), lost_at[_i]);
	smtpc_lost(c, "timeout");
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	expect_result(&t.res[0], 451, "4.4.2", 1);
	ck_assert_int_eq(t.txn.done, 1);
	smtpc_free(c);
}
END_TEST

START_TEST(test_quit)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);

	smtpc_quit(c);
	expect(c, "QUIT\r\n");
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_READ);
	smtpc_lost(c, "EOF");
	ck_assert_int_eq(smtpc_want(c), SMTPC_DONE);
	smtpc_free(c);

	c = session(EHLO_PLAIN, 0);
	smtpc_quit(c);
	expect(c, "QUIT\r\n");
	feed(c, "421 whatever");
	ck_assert_int_eq(smtpc_want(c), SMTPC_DONE);
	smtpc_free(c);
}
END_TEST

/* malformed replies: the session fails, open recipients get 4.5.0 */
static const char *const bad_lines[] = {
	"hello", "25", "250x", "2500 ok", "999 no", "250-a\n251 b",
};

START_TEST(test_malformed)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 2, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\n");
	feed(c, "250 ok");
	expect(c, "RCPT TO:<a@x.example>\r\n");
	feed_rv(c, bad_lines[_i], -1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_FAILED);
	expect_result(&t.res[0], 451, "4.5.0", 1);
	expect_result(&t.res[1], 451, "4.5.0", 1);
	expect_result(smtpc_error(c), 451, "4.5.0", 1);
	ck_assert_ptr_nonnull(strstr(smtpc_error(c)->text, "malformed"));
	expect(c, "");
	smtpc_free(c);
}
END_TEST

/* replies that parse but make no sense for the command */
START_TEST(test_unexpected)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	feed(c, "250 ok\n250 ok");
	feed_rv(c, "250 sure, send", -1);	/* to DATA */
	expect_result(&t.res[0], 451, "4.5.0", 1);
	smtpc_free(c);

	c = session(EHLO_PLAIN, 0);
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "x");
	feed_rv(c, "354 again?", -1);		/* to the dot */
	expect_result(&t.res[0], 451, "4.5.0", 1);
	smtpc_free(c);

	c = session(EHLO_PLAIN, 0);
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	feed_rv(c, "354 what", -1);		/* to MAIL */
	smtpc_free(c);
}
END_TEST

START_TEST(test_rset_refused)
{
	struct smtpc *c = session(EHLO_PLAIN, 0);
	struct t t;

	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	feed(c, "550 no");
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	expect(c, "MAIL FROM:<s@y.example> SIZE=10\r\nRSET\r\n");
	feed_rv(c, "500 5.5.1 RSET?", -1);
	expect_result(&t.res[0], 451, "4.5.0", 1);
	smtpc_free(c);
}
END_TEST

START_TEST(test_timeouts)
{
	struct smtpc *c = smtpc_new(&tconf);
	struct t t;

	ck_assert_int_eq(smtpc_timeout_ms(c), 300000);
	feed(c, "220 x");
	ck_assert_int_eq(smtpc_timeout_ms(c), 290000);
	feed(c, EHLO_PLAIN);
	smtpc_start(c, txn(&t, "s@y.example", 1, 10));
	ck_assert_int_eq(smtpc_timeout_ms(c), 290000);
	feed(c, "250 ok\n250 ok\n354 go");
	body(c, "x\r\n");
	ck_assert_int_eq(smtpc_timeout_ms(c), 600000);
	smtpc_free(c);
}
END_TEST

/* no recipients at all, and the trace runs with logging on */
START_TEST(test_empty_txn_verbose)
{
	struct smtpc *c;
	struct t t;

	log_init("check_smtpc", LOG_TO_STDERR, 1);
	c = session(EHLO_PIPE, 0);
	smtpc_start(c, txn(&t, "s@y.example", 0, 10));
	expect(c, "");
	ck_assert_int_eq(t.txn.done, 1);
	ck_assert_int_eq(smtpc_want(c), SMTPC_WANT_TXN);
	smtpc_free(c);
	smtpc_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtpc");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("greet_ehlo");
	tcase_add_loop_test(tc, test_greet_refused, 0, NELEM(greet_bad));
	tcase_add_test(tc, test_greet_multiline);
	tcase_add_loop_test(tc, test_ehlo_to_helo, 0, NELEM(helo_codes));
	tcase_add_test(tc, test_ehlo_refused);
	tcase_add_loop_test(tc, test_ehlo_keywords, 0, NELEM(ecases));
	tcase_add_test(tc, test_timeouts);
	tcase_add_loop_test(tc, test_bad_helo, 0, NELEM(bad_helos));
	suite_add_tcase(s, tc);

	tc = tcase_create("transaction");
	tcase_add_test(tc, test_pipelined_batch);
	tcase_add_loop_test(tc, test_one_at_a_time, 0, 2);
	tcase_add_loop_test(tc, test_mixed_rcpt, 0, 2);
	tcase_add_test(tc, test_all_rcpt_refused_plain);
	tcase_add_loop_test(tc, test_all_rcpt_refused_pipelined, 0, 2);
	tcase_add_loop_test(tc, test_mail_refused, 0, 2);
	tcase_add_loop_test(tc, test_data_refused, 0, 2);
	tcase_add_loop_test(tc, test_dot_reply, 0, NELEM(dots));
	tcase_add_test(tc, test_size_refused);
	tcase_add_test(tc, test_body_8bitmime);
	tcase_add_test(tc, test_bad_addresses);
	tcase_add_test(tc, test_empty_txn_verbose);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_loop_test(tc, test_stuff_split, 0, (int)sizeof stuff_in);
	tcase_add_test(tc, test_stuff_bytes);
	tcase_add_loop_test(tc, test_body_ends, 0, NELEM(ends));
	tcase_add_test(tc, test_body_large);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("convert");
	tcase_add_test(tc, test_convert_7bit);
	tcase_add_loop_test(tc, test_convert_8bit, 0, 2);
	tcase_add_test(tc, test_convert_fail);
	tcase_add_loop_test(tc, test_convert_long, 0, 3 * NELEM(long_line));
	tcase_add_test(tc, test_convert_long8);
	tcase_add_test(tc, test_8bit_guard);
	tcase_add_loop_test(tc, test_8bit_header, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("session");
	tcase_add_test(tc, test_two_txns);
	tcase_add_test(tc, test_behind_dot);
	tcase_add_test(tc, test_behind_dot_refused);
	tcase_add_loop_test(tc, test_behind_dot_lost, 0, 2);
	tcase_add_test(tc, test_behind_dot_size);
	tcase_add_loop_test(tc, test_behind_dot_needs_pipelining, 0, 2);
	tcase_add_test(tc, test_421_mid);
	tcase_add_test(tc, test_421_dot);
	tcase_add_test(tc, test_lost_after_dot);
	tcase_add_loop_test(tc, test_lost_states, 0, NELEM(lost_at));
	tcase_add_test(tc, test_quit);
	tcase_add_loop_test(tc, test_malformed, 0, NELEM(bad_lines));
	tcase_add_test(tc, test_unexpected);
	tcase_add_test(tc, test_rset_refused);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
