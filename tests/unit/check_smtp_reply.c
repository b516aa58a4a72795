/* check_smtp_reply.c - reply parsing: codes, separators, enhanced status,
 * class forcing, multi-line joining, sanitising, overlong lines. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

/* One reply fed line by line: every line but the last must give 0, the
 * last gives RV.  When RV is 1, code/status/text are checked. */
struct rcase {
	const char	*lines[5];
	int		 rv;
	int		 code;
	const char	*status;
	const char	*text;
};

static const struct rcase rcases[] = {
	/* plain */
	{ { "250 ok" }, 1, 250, "", "ok" },
	{ { "250" }, 1, 250, "", "" },
	{ { "250 " }, 1, 250, "", "" },
	{ { "220 mx.example ESMTP ready" }, 1, 220, "", "mx.example ESMTP ready" },
	{ { "354 go ahead" }, 1, 354, "", "go ahead" },
	{ { "599 x" }, 1, 599, "", "x" },
	{ { "200 x" }, 1, 200, "", "x" },
	{ { "250 ok\r" }, 1, 250, "", "ok" },
	/* enhanced status */
	{ { "250 2.1.5 Ok" }, 1, 250, "2.1.5", "Ok" },
	{ { "451 4.3.0 try later" }, 1, 451, "4.3.0", "try later" },
	{ { "550 5.1.1 <a@b>: no such user" }, 1, 550, "5.1.1",
	  "<a@b>: no such user" },
	{ { "550 5.7.1" }, 1, 550, "5.7.1", "" },
	{ { "552 5.999.999 big" }, 1, 552, "5.999.999", "big" },
	{ { "552 5.0.0 x" }, 1, 552, "5.0.0", "x" },
	{ { "554 5.1000.1 x" }, 1, 554, "", "5.1000.1 x" },
	{ { "554 5.1.1000 x" }, 1, 554, "", "5.1.1000 x" },
	{ { "554 5..1 x" }, 1, 554, "", "5..1 x" },
	{ { "554 5.1. x" }, 1, 554, "", "5.1. x" },
	{ { "554 5.1 x" }, 1, 554, "", "5.1 x" },
	{ { "554 3.1.1 x" }, 1, 554, "", "3.1.1 x" },
	{ { "554 6.1.1 x" }, 1, 554, "", "6.1.1 x" },
	{ { "554 5.1.1x y" }, 1, 554, "", "5.1.1x y" },
	{ { "554 5.a.1 x" }, 1, 554, "", "5.a.1 x" },
	{ { "554 51.1.1 x" }, 1, 554, "", "51.1.1 x" },
	{ { "250 2.01.003 x" }, 1, 250, "2.1.3", "x" },
	/* class forced to agree with the code */
	{ { "250 5.0.0 fine really" }, 1, 250, "2.0.0", "fine really" },
	{ { "550 2.1.1 no" }, 1, 550, "5.1.1", "no" },
	{ { "451 5.7.1 later" }, 1, 451, "4.7.1", "later" },
	{ { "421 2.0.0 bye" }, 1, 421, "4.0.0", "bye" },
	/* 3xx has no enhanced class: left in the text */
	{ { "354 2.0.0 go" }, 1, 354, "", "2.0.0 go" },
	/* multi-line */
	{ { "250-mx.example", "250-PIPELINING", "250 8BITMIME" }, 1, 250, "",
	  "mx.example; PIPELINING; 8BITMIME" },
	{ { "550-5.1.1 first", "550-5.1.1 second", "550 5.1.1 third" }, 1, 550,
	  "5.1.1", "first; second; third" },
	{ { "550-5.1.1 first", "550 second" }, 1, 550, "5.1.1",
	  "first; second" },
	{ { "550-first", "550 5.1.1 second" }, 1, 550, "", "first; 5.1.1 second" },
	{ { "250-", "250-a", "250-", "250 b" }, 1, 250, "", "a; b" },
	{ { "250-a", "250" }, 1, 250, "", "a" },
	/* sanitising */
	{ { "250 a\tb" }, 1, 250, "", "a b" },
	{ { "250 a\033[1mb" }, 1, 250, "", "a?[1mb" },
	{ { "250 caf\xc3\xa9" }, 1, 250, "", "caf??" },
	{ { "250 a\x7f" }, 1, 250, "", "a?" },
	{ { "250 a\rb" }, 1, 250, "", "a?b" },
	/* malformed */
	{ { "" }, -1, 0, NULL, NULL },
	{ { "25" }, -1, 0, NULL, NULL },
	{ { "2500 x" }, -1, 0, NULL, NULL },
	{ { "25a ok" }, -1, 0, NULL, NULL },
	{ { "abc ok" }, -1, 0, NULL, NULL },
	{ { "199 x" }, -1, 0, NULL, NULL },
	{ { "600 x" }, -1, 0, NULL, NULL },
	{ { "099 x" }, -1, 0, NULL, NULL },
	{ { "250_x" }, -1, 0, NULL, NULL },
	{ { "250\tx" }, -1, 0, NULL, NULL },
	{ { " 250 x" }, -1, 0, NULL, NULL },
	{ { "250-a", "251 b" }, -1, 0, NULL, NULL },
	{ { "250-a", "250x" }, -1, 0, NULL, NULL },
	{ { "250-a", "hello" }, -1, 0, NULL, NULL },
	{ { "-250 x" }, -1, 0, NULL, NULL },
};

START_TEST(test_reply_table)
{
	const struct rcase *c = &rcases[_i];
	struct smtp_reply_parser p;
	int k, rv = 0;

	smtp_reply_start(&p);
	for (k = 0; c->lines[k] != NULL; k++) {
		rv = smtp_reply_line(&p, c->lines[k], strlen(c->lines[k]),
		    NULL, NULL);
		if (c->lines[k + 1] != NULL && rv != 0)
			break;
	}
	ck_assert_msg(rv == c->rv, "case %d: rv %d, want %d", _i, rv, c->rv);
	if (c->rv != 1)
		return;
	ck_assert_int_eq(p.r.code, c->code);
	ck_assert_str_eq(p.r.status, c->status);
	ck_assert_str_eq(p.r.text, c->text);
	ck_assert_int_eq(p.r.local, 0);
}
END_TEST

/* TEXT points into LINE after code and separator, status included. */
START_TEST(test_reply_text_out)
{
	struct smtp_reply_parser p;
	const char *line = "250-SIZE 1000", *t = NULL;
	size_t n = 99;

	smtp_reply_start(&p);
	ck_assert_int_eq(smtp_reply_line(&p, line, strlen(line), &t, &n), 0);
	ck_assert_ptr_eq(t, line + 4);
	ck_assert_uint_eq(n, 9);
	line = "250";
	ck_assert_int_eq(smtp_reply_line(&p, line, 3, &t, &n), 1);
	ck_assert_uint_eq(n, 0);
	line = "250 2.0.0 x";
	ck_assert_int_eq(smtp_reply_line(&p, line, strlen(line), &t, &n), 1);
	ck_assert_ptr_eq(t, line + 4);
	ck_assert_uint_eq(n, 7);
}
END_TEST

/* After a complete reply (or a malformed line) the next push starts a
 * fresh reply, so a different code is fine. */
START_TEST(test_reply_restart)
{
	struct smtp_reply_parser p;

	smtp_reply_start(&p);
	ck_assert_int_eq(smtp_reply_line(&p, "250 2.0.0 a", 11, NULL, NULL), 1);
	ck_assert_int_eq(smtp_reply_line(&p, "354 go", 6, NULL, NULL), 1);
	ck_assert_int_eq(p.r.code, 354);
	ck_assert_str_eq(p.r.status, "");
	ck_assert_str_eq(p.r.text, "go");
	ck_assert_int_eq(smtp_reply_line(&p, "xx", 2, NULL, NULL), -1);
	ck_assert_int_eq(smtp_reply_line(&p, "451-a", 5, NULL, NULL), 0);
	ck_assert_int_eq(smtp_reply_line(&p, "451 b", 5, NULL, NULL), 1);
	ck_assert_str_eq(p.r.text, "a; b");
	ck_assert_int_eq(p.nlines, 2);
}
END_TEST

/* A NUL inside the line is data, replaced like any control character. */
START_TEST(test_reply_nul)
{
	struct smtp_reply_parser p;

	smtp_reply_start(&p);
	ck_assert_int_eq(smtp_reply_line(&p, "250 a\0b", 7, NULL, NULL), 1);
	ck_assert_str_eq(p.r.text, "a?b");
}
END_TEST

/* Overlong lines: parsed, text cut to SMTP_REPLY_TEXT_MAX - 1 with
 * "...", nothing written past the array (valgrind / canary). */
static const size_t long_lens[] = {
	500, 513, SMTP_REPLY_TEXT_MAX - 5, SMTP_REPLY_TEXT_MAX - 4,
	SMTP_REPLY_TEXT_MAX - 3, SMTP_REPLY_TEXT_MAX - 2,
	SMTP_REPLY_TEXT_MAX - 1, SMTP_REPLY_TEXT_MAX, SMTP_REPLY_TEXT_MAX + 1,
	5000, 100000
};

START_TEST(test_reply_long)
{
	size_t tl = long_lens[_i], len = tl + 10;
	struct {
		struct smtp_reply_parser p;
		char canary[16];
	} s;
	char *line = malloc(len + 1);
	size_t got;

	memset(s.canary, 'C', sizeof s.canary);
	memcpy(line, "550 5.1.1 ", 10);
	memset(line + 10, 'x', tl);
	line[len] = '\0';
	smtp_reply_start(&s.p);
	ck_assert_int_eq(smtp_reply_line(&s.p, line, len, NULL, NULL), 1);
	ck_assert_int_eq(s.p.r.code, 550);
	ck_assert_str_eq(s.p.r.status, "5.1.1");
	got = strlen(s.p.r.text);
	if (tl <= SMTP_REPLY_TEXT_MAX - 1) {
		ck_assert_uint_eq(got, tl);
		ck_assert_int_eq(s.p.full, 0);
	} else {
		ck_assert_uint_eq(got, SMTP_REPLY_TEXT_MAX - 1);
		ck_assert_str_eq(s.p.r.text + got - 4, "x...");
		ck_assert_int_eq(s.p.full, 1);
	}
	ck_assert_int_eq(memcmp(s.canary, "CCCCCCCCCCCCCCCC", 16), 0);
	free(line);
}
END_TEST

/* Many lines: the join is cut with "..." and later lines are dropped. */
START_TEST(test_reply_many_lines)
{
	struct smtp_reply_parser p;
	char line[64];
	int k, rv;

	smtp_reply_start(&p);
	for (k = 0; k < 500; k++) {
		snprintf(line, sizeof line, "250-line%03d", k);
		ck_assert_int_eq(smtp_reply_line(&p, line, strlen(line),
		    NULL, NULL), 0);
	}
	rv = smtp_reply_line(&p, "250 end", 7, NULL, NULL);
	ck_assert_int_eq(rv, 1);
	ck_assert_uint_eq(strlen(p.r.text), SMTP_REPLY_TEXT_MAX - 1);
	ck_assert_int_eq(strncmp(p.r.text, "line000; line001; ", 18), 0);
	ck_assert_str_eq(p.r.text + SMTP_REPLY_TEXT_MAX - 4, "...");
	ck_assert_int_eq(p.nlines, 501);
}
END_TEST

/* The separator "; " itself at the cut. */
START_TEST(test_reply_cut_at_separator)
{
	struct smtp_reply_parser p;
	char *line = malloc(SMTP_REPLY_TEXT_MAX + 8);
	size_t tl = SMTP_REPLY_TEXT_MAX - 2;	/* one octet of room left */

	memcpy(line, "250-", 4);
	memset(line + 4, 'a', tl);
	smtp_reply_start(&p);
	ck_assert_int_eq(smtp_reply_line(&p, line, tl + 4, NULL, NULL), 0);
	ck_assert_uint_eq(strlen(p.r.text), tl);
	ck_assert_int_eq(smtp_reply_line(&p, "250 b", 5, NULL, NULL), 1);
	ck_assert_uint_eq(strlen(p.r.text), SMTP_REPLY_TEXT_MAX - 1);
	ck_assert_str_eq(p.r.text + SMTP_REPLY_TEXT_MAX - 5, "a...");
	free(line);
}
END_TEST

START_TEST(test_reply_local)
{
	struct smtp_reply r;
	char big[3000];

	smtp_reply_local(&r, 451, "4.4.2", "lost: %s", "timeout\n");
	ck_assert_int_eq(r.code, 451);
	ck_assert_int_eq(r.local, 1);
	ck_assert_str_eq(r.status, "4.4.2");
	ck_assert_str_eq(r.text, "lost: timeout?");
	smtp_reply_local(&r, 552, NULL, "x");
	ck_assert_str_eq(r.status, "");
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	smtp_reply_local(&r, 554, "5.6.3", "%s", big);
	ck_assert_uint_eq(strlen(r.text), SMTP_REPLY_TEXT_MAX - 1);
	ck_assert_str_eq(r.text + SMTP_REPLY_TEXT_MAX - 4, "...");
}
END_TEST

struct fcase {
	int		 code;
	const char	*status, *text;
	size_t		 n;
	const char	*want;
};

static const struct fcase fcases[] = {
	{ 451, "4.3.0", "text", 64, "451 4.3.0 text" },
	{ 451, "", "text", 64, "451 text" },
	{ 250, "2.0.0", "", 64, "250 2.0.0" },
	{ 250, "", "", 64, "250" },
	{ 550, "5.1.1", "no such user", 12, "550 5.1.1 n" },
	{ 550, "5.1.1", "x", 1, "" },
};

START_TEST(test_reply_fmt)
{
	const struct fcase *f = &fcases[_i];
	struct smtp_reply r;
	char out[64];

	memset(&r, 0, sizeof r);
	r.code = f->code;
	snprintf(r.status, sizeof r.status, "%s", f->status);
	snprintf(r.text, sizeof r.text, "%s", f->text);
	memset(out, 'X', sizeof out);
	smtp_reply_fmt(&r, out, f->n);
	ck_assert_str_eq(out, f->want);
}
END_TEST

/* A parsed reply formats back to its canonical form. */
START_TEST(test_reply_fmt_parsed)
{
	struct smtp_reply_parser p;
	char out[128];

	smtp_reply_start(&p);
	smtp_reply_line(&p, "250-5.0.0 one", 13, NULL, NULL);
	smtp_reply_line(&p, "250 5.0.0 two", 13, NULL, NULL);
	smtp_reply_fmt(&p.r, out, sizeof out);
	ck_assert_str_eq(out, "250 2.0.0 one; two");
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
	Suite *s = suite_create("smtp_reply");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_reply_table, 0, NELEM(rcases));
	tcase_add_test(tc, test_reply_text_out);
	tcase_add_test(tc, test_reply_restart);
	tcase_add_test(tc, test_reply_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_loop_test(tc, test_reply_long, 0, NELEM(long_lens));
	tcase_add_test(tc, test_reply_many_lines);
	tcase_add_test(tc, test_reply_cut_at_separator);
	suite_add_tcase(s, tc);

	tc = tcase_create("local_fmt");
	tcase_add_test(tc, test_reply_local);
	tcase_add_loop_test(tc, test_reply_fmt, 0, NELEM(fcases));
	tcase_add_test(tc, test_reply_fmt_parsed);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
