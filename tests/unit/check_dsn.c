/* check_dsn.c - unit tests of dsn.c, the RFC 3464 DSN composer.
 *
 * Fixed DSNs are compared byte for byte with tests/unit/golden/dsn-*.eml
 * (GOLDEN_DIR comes from the build: -DGOLDEN_DIR="$(abs_top_srcdir)/...";
 * on a mismatch the output is written to $TMPDIR/dsn-NAME.eml.got).
 * Every DSN composed here, golden or hostile, is also parsed back by a
 * small reader below (header, boundary, three parts, delivery-status
 * fields per recipient) and checked for canonical form: CRLF only, no
 * NUL, lines of at most 998 octets, and ASCII wherever RFC 3464 says so.
 * TZ is UTC so dates are stable.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsn.h"
#include "util.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/unit/golden"
#endif

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define NOW	1700000000000LL		/* Tue, 14 Nov 2023 22:13:20 +0000 */
#define HOUR	3600000LL
#define DAY	(24 * HOUR)

#define ORIG_HDR \
	"Received: from localhost by mail.a.example; Mon, 13 Nov 2023\r\n" \
	"From: Alice <alice@a.example>\r\n" \
	"To: bob@b.example, carol@c.example\r\n" \
	"Subject: Lunch on\r\n Friday?\r\n" \
	"Message-ID: <20231113.1234@a.example>\r\n" \
	"Date: Mon, 13 Nov 2023 20:00:00 +0000\r\n"
#define ORIG_BODY	"Hi Bob,\r\n\r\nsee you there.\r\n-- \r\nAlice"

/* ---- a small reader for what dsn_compose writes ----------------------- */

#define MAXF	64

struct field {
	char	*name, *value;	/* value unfolded, leading WSP dropped */
};
struct fields {
	struct field f[MAXF];
	size_t	 n;
};
struct part {
	const char *p;
	size_t	 len;
};
struct parsed {
	struct fields hdr;		/* the message header */
	struct fields phdr[3];		/* each part's MIME header */
	struct part body[3];		/* each part's content */
	struct fields blk[128];		/* delivery-status blocks */
	size_t	 nblk;
	char	 boundary[128];
};

/* Parse header fields from P[0..LEN) (no empty line inside) into F. */
static void
fields_parse(struct fields *f, const char *p, size_t len)
{
	size_t i = 0, e, c;
	struct buf v;

	f->n = 0;
	while (i < len) {
		ck_assert_msg(p[i] != ' ' && p[i] != '\t',
		    "continuation without a field at %zu", i);
		for (c = i; c < len && p[c] != ':'; c++)
			ck_assert_msg(p[c] > ' ' && p[c] < 0x7f,
			    "bad field name octet");
		ck_assert_msg(c < len && c > i, "field without a colon");
		ck_assert_uint_lt(f->n, MAXF);
		f->f[f->n].name = strndup(p + i, c - i);
		buf_init(&v, 0);
		i = c + 1;
		for (;;) {
			for (e = i; e + 1 < len && !(p[e] == '\r' &&
			    p[e + 1] == '\n'); e++)
				;
			if (e + 1 >= len)
				e = len;
			buf_add(&v, p + i, e - i);
			i = e + 2;
			if (i >= len || (p[i] != ' ' && p[i] != '\t'))
				break;
		}
		c = 0;
		while (c < v.len && (v.p[c] == ' ' || v.p[c] == '\t'))
			c++;
		f->f[f->n].value = strdup(v.len ? v.p + c : "");
		buf_free(&v);
		f->n++;
	}
}

static void
fields_free(struct fields *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->f[i].name);
		free(f->f[i].value);
	}
	f->n = 0;
}

/* The value of the only NAME field in F, or NULL; two is a failure. */
static const char *
fget(const struct fields *f, const char *name)
{
	const char *v = NULL;
	size_t i;

	for (i = 0; i < f->n; i++)
		if (ob_strcasecmp(f->f[i].name, name) == 0) {
			ck_assert_msg(v == NULL, "two %s fields", name);
			v = f->f[i].value;
		}
	return v;
}

static size_t
find(const char *p, size_t len, size_t from, const char *s)
{
	size_t n = strlen(s), i;

	for (i = from; i + n <= len; i++)
		if (memcmp(p + i, s, n) == 0)
			return i;
	return len;
}

/* Canonical form: CRLF only, no NUL, no line over 998 octets; ASCII
 * when ASCII is set. */
static void
check_canonical(const char *p, size_t len, int ascii)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		ck_assert_msg(p[i] != '\0', "NUL at %zu", i);
		if (ascii)
			ck_assert_msg((unsigned char)p[i] < 0x80,
			    "8-bit octet at %zu", i);
		if (p[i] == '\r') {
			ck_assert_msg(i + 1 < len && p[i + 1] == '\n',
			    "bare CR at %zu", i);
			ck_assert_msg(col <= 998, "line of %zu octets", col);
			col = 0;
			i++;
			continue;
		}
		ck_assert_msg(p[i] != '\n', "bare LF at %zu", i);
		col++;
	}
	ck_assert_msg(col == 0, "last line without CRLF");
}

/* Parse MSG (the whole DSN, original inserted) into P, checking the
 * structure on the way. */
static void
parse_dsn(const char *msg, size_t len, struct parsed *p)
{
	const char *ct, *b;
	size_t he, i, s, e, k, n;
	char delim[140];

	memset(p, 0, sizeof *p);
	he = find(msg, len, 0, "\r\n\r\n");
	ck_assert_msg(he < len, "no end of header");
	fields_parse(&p->hdr, msg, he + 2);
	ct = fget(&p->hdr, "Content-Type");
	ck_assert_ptr_nonnull(ct);
#define CT_REPORT	"multipart/report; report-type=delivery-status;"
	ck_assert_msg(strncmp(ct, CT_REPORT, strlen(CT_REPORT)) == 0,
	    "Content-Type: %s", ct);
	b = strstr(ct, "boundary=\"");
	ck_assert_ptr_nonnull(b);
	b += 10;
	n = strcspn(b, "\"");
	ck_assert(b[n] == '"' && b[n + 1] == '\0');
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, 70);
	memcpy(p->boundary, b, n);
	p->boundary[n] = '\0';

	/* the parts: each starts after "\r\n--B\r\n", the last ends at
	 * "\r\n--B--\r\n", which ends the message */
	snprintf(delim, sizeof delim, "\r\n--%s", p->boundary);
	s = find(msg, len, he + 2, delim);
	for (i = 0; i < 3; i++) {
		ck_assert_msg(s < len, "part %zu missing", i + 1);
		s += strlen(delim);
		ck_assert(s + 2 <= len && msg[s] == '\r' && msg[s + 1] == '\n');
		s += 2;
		e = find(msg, len, s, delim);
		ck_assert_msg(e < len, "part %zu not closed", i + 1);
		k = find(msg, e, s, "\r\n\r\n");
		ck_assert_msg(k < e, "part %zu without a header", i + 1);
		fields_parse(&p->phdr[i], msg + s, k + 2 - s);
		p->body[i].p = msg + k + 4;
		p->body[i].len = e - (k + 4);
		s = e;
	}
	ck_assert_msg(len - s == strlen(delim) + 4 &&
	    memcmp(msg + s + strlen(delim), "--\r\n", 4) == 0,
	    "no close delimiter at the end");

	ck_assert_str_eq(fget(&p->phdr[1], "Content-Type"),
	    fget(&p->phdr[1], "Content-Transfer-Encoding") ?
	    "message/global-delivery-status" : "message/delivery-status");

	/* the delivery-status part: blocks of fields, empty-line separated
	 * (RFC 3464 2.1); its content ends with the last field's CRLF */
	s = 0;
	{
		const char *ds = p->body[1].p;
		size_t dl = p->body[1].len;

		ck_assert(dl >= 2 && ds[dl - 2] == '\r' && ds[dl - 1] == '\n');
		while (s < dl) {
			e = find(ds, dl, s, "\r\n\r\n");
			if (e < dl)
				e += 2;
			ck_assert_uint_lt(p->nblk, N(p->blk));
			fields_parse(&p->blk[p->nblk++], ds + s, e - s);
			s = e + 2;
		}
	}
}

static void
parsed_free(struct parsed *p)
{
	size_t i;

	fields_free(&p->hdr);
	for (i = 0; i < 3; i++)
		fields_free(&p->phdr[i]);
	for (i = 0; i < p->nblk; i++)
		fields_free(&p->blk[i]);
}

/* Where S occurs in P's text part, or NULL. */
static const char *
text_has(const struct parsed *p, const char *s)
{
	return memmem(p->body[0].p, p->body[0].len, s, strlen(s));
}

/* ---- composing --------------------------------------------------------- */

static int
blank(const char *s)
{
	return s == NULL || s[strspn(s, " \t\r\n")] == '\0';
}

static const struct dsn_rcpt r_bob = {
	.addr = "bob@b.example", .orcpt = "rfc822;bob@b.example",
	.action = DSN_FAILED, .status = "5.1.1",
	.remote_mta = "mx.b.example",
	.reply = "550 5.1.1 <bob@b.example>: Recipient address rejected: "
	    "User unknown in virtual mailbox table",
	.last_attempt = NOW - 1000,
};

static struct dsn
base_dsn(const struct dsn_rcpt *r, size_t n)
{
	struct dsn d = {
		.reporting_mta = "relay.a.example",
		.from = "MAILER-DAEMON@relay.a.example",
		.to = "alice@a.example",
		.queue_id = "Q3F2A1B0C9D8E7",
		.envid = NULL,
		.arrival = NOW - 2 * HOUR,
		.now = NOW,
		.rcpt = r, .nrcpt = n,
		.ret_full = 0,
		.boundary = "Q4A5B6C7D8E9F0.x7Kq2",
		.message_id = "<Q4A5B6C7D8E9F0.dsn@relay.a.example>",
	};

	return d;
}

/* Compose D and insert INS (the returned original), into OUT.  Checks
 * the result is canonical and parses back with D's recipients, in order,
 * with fields that say what D says. */
static void
compose_ok(const struct dsn *d, const char *orig, size_t origlen,
    const char *ins, size_t inslen, struct buf *out, struct parsed *pp)
{
	struct buf head, tail;
	struct ob_err err;
	struct parsed p;
	size_t i;
	int utf8 = 0;

	buf_init(&head, 1 << 22);
	buf_init(&tail, 1 << 10);
	memset(&err, 0, sizeof err);
	ck_assert_msg(dsn_compose(d, orig, origlen, &head, &tail, &err) == 0,
	    "dsn_compose: %s", err.text);
	ck_assert_uint_ge(tail.len, 4);
	ck_assert(memcmp(tail.p, "\r\n--", 4) == 0);
	/* HEAD ends with the blank line ending part 3's header */
	ck_assert(head.len >= 4 &&
	    memcmp(head.p + head.len - 4, "\r\n\r\n", 4) == 0);
	buf_init(out, 0);
	buf_add(out, head.p, head.len);
	buf_add(out, ins, inslen);
	buf_add(out, tail.p, tail.len);
	buf_free(&head);
	buf_free(&tail);

	for (i = 0; i < d->nrcpt; i++)
		for (const char *a = d->rcpt[i].addr; *a; a++)
			if ((unsigned char)*a > 0x7f)
				utf8 = 1;
	/* canonical everywhere; ASCII unless some address or the inserted
	 * original is 8-bit */
	check_canonical(out->p, out->len, !utf8 && !d->orig_8bit);
	parse_dsn(out->p, out->len, &p);

	ck_assert_str_eq(fget(&p.hdr, "Auto-Submitted"), "auto-replied");
	ck_assert_str_eq(fget(&p.hdr, "MIME-Version"), "1.0");
	ck_assert_str_eq(fget(&p.hdr, "Message-ID"), d->message_id);
	ck_assert_ptr_nonnull(fget(&p.hdr, "Date"));
	ck_assert_ptr_nonnull(fget(&p.hdr, "From"));
	ck_assert_ptr_nonnull(fget(&p.hdr, "To"));
	ck_assert_ptr_nonnull(fget(&p.hdr, "Subject"));
	ck_assert_str_eq(fget(&p.phdr[0], "Content-Type"), utf8 ?
	    "text/plain; charset=utf-8" : "text/plain; charset=us-ascii");
	ck_assert_str_eq(fget(&p.phdr[2], "Content-Type"), d->ret_full ?
	    "message/rfc822" : "text/rfc822-headers");
	ck_assert_uint_eq(p.body[2].len, inslen);
	ck_assert(memcmp(p.body[2].p, ins, inslen) == 0);

	/* delivery-status fields are ASCII (RFC 3464 2.1.2) but for
	 * UTF-8 addresses in a global report */
	check_canonical(p.body[1].p, p.body[1].len, !utf8);
	ck_assert_uint_eq(p.nblk, d->nrcpt + 1);
	ck_assert_str_eq(fget(&p.blk[0], "Reporting-MTA"),
	    "dns; relay.a.example");
	ck_assert_str_eq(fget(&p.blk[0], "X-Outbox-Queue-ID"), d->queue_id);
	ck_assert_ptr_nonnull(fget(&p.blk[0], "Arrival-Date"));
	for (i = 0; i < d->nrcpt; i++) {
		const struct dsn_rcpt *r = &d->rcpt[i];
		const struct fields *f = &p.blk[i + 1];
		const char *fr = fget(f, "Final-Recipient");

		ck_assert_ptr_nonnull(fr);
		ck_assert(strncmp(fr, "rfc822; ", 8) == 0 ||
		    strncmp(fr, "utf-8; ", 7) == 0);
		ck_assert_str_eq(strchr(fr, ';') + 2, r->addr);
		ck_assert_str_eq(fget(f, "Action"),
		    r->action == DSN_FAILED ? "failed" : "delayed");
		ck_assert_ptr_nonnull(fget(f, "Status"));
		ck_assert_int_eq(fget(f, "Status")[0],
		    r->action == DSN_FAILED && (r->status == NULL ||
		    r->status[0] != '4') ? '5' : '4');
		/* a blank reply or reason counts as none */
		if (!blank(r->reply))
			ck_assert(strncmp(fget(f, "Diagnostic-Code"),
			    "smtp; ", 6) == 0);
		else if (!blank(r->reason))
			ck_assert(strncmp(fget(f, "Diagnostic-Code"),
			    "X-Outbox; ", 10) == 0);
		else
			ck_assert_ptr_null(fget(f, "Diagnostic-Code"));
		ck_assert((fget(f, "Remote-MTA") != NULL) ==
		    !blank(r->remote_mta));
		ck_assert((fget(f, "Last-Attempt-Date") != NULL) ==
		    (r->last_attempt != 0));
		ck_assert((fget(f, "Will-Retry-Until") != NULL) ==
		    (r->action == DSN_DELAYED && r->will_retry_until != 0));
	}
	if (pp != NULL)
		*pp = p;
	else
		parsed_free(&p);
}

/* ---- golden files ----------------------------------------------------- */

static const struct dsn_rcpt g_mixed[] = {
	{ .addr = "bob@b.example", .action = DSN_FAILED, .status = "5.1.1",
	  .remote_mta = "mx.b.example",
	  .reply = "550-5.1.1 The email account that you tried to reach does"
	      " not exist.\n550-5.1.1 Please try double-checking the "
	      "recipient's email address\n550 5.1.1 for typos.",
	  .last_attempt = NOW - 1000 },
	{ .addr = "carol@c.example", .orcpt = "rfc822;Carol@C.example",
	  .action = DSN_DELAYED, .status = "4.4.1",
	  .reason = "connect to mx.c.example[192.0.2.25]:25: Connection "
	      "timed out",
	  .last_attempt = NOW - 2000, .will_retry_until = NOW + 5 * DAY },
};
static const struct dsn_rcpt g_delayed[] = {
	{ .addr = "dave@d.example", .action = DSN_DELAYED, .status = "4.7.0",
	  .remote_mta = "192.0.2.7",
	  .reply = "451 4.7.0 Temporary server error. Please try again "
	      "later. PRX4 [AM0PR01MB1234.eurprd01.prod.example]",
	  .last_attempt = NOW, .will_retry_until = NOW + 4 * DAY },
};
static const struct dsn_rcpt g_expired[] = {
	{ .addr = "erin@e.example", .action = DSN_FAILED, .status = "4.4.7",
	  .remote_mta = "mx2.e.example",
	  .reply = "421 4.3.2 Service not available, closing transmission "
	      "channel",
	  .reason = "message expired after 5 days in the queue",
	  .last_attempt = NOW - 60000 },
	{ .addr = "frank@e.example", .action = DSN_FAILED, .status = "4.4.7",
	  .reason = "message expired after 5 days in the queue; no relay "
	      "reachable: mx1.e.example: Connection refused",
	  .last_attempt = NOW - 60000 },
};
static const struct dsn_rcpt g_utf8[] = {
	{ .addr = "j\303\274rgen@m\303\274ller.example", .action = DSN_FAILED,
	  .status = "5.1.1", .remote_mta = "mx.xn--mller-kva.example",
	  .reply = "550 5.1.1 mailbox unavailable",
	  .last_attempt = NOW - 1000 },
};

static const struct golden {
	const char *name;
	const struct dsn_rcpt *rcpt;
	size_t	 nrcpt;
	int	 ret_full, orig_8bit;
	const char *envid;
	const char *ins;	/* what the caller inserts */
} goldens[] = {
	{ "failed", &r_bob, 1, 0, 0, "QXyz123+2Benv", ORIG_HDR "\r\n" },
	{ "mixed", g_mixed, N(g_mixed), 0, 0, NULL, ORIG_HDR },
	{ "delayed", g_delayed, N(g_delayed), 0, 0, NULL, ORIG_HDR "\r\n" },
	{ "expired", g_expired, N(g_expired), 0, 0, NULL, ORIG_HDR "\r\n" },
	{ "full", &r_bob, 1, 1, 0, NULL, ORIG_HDR "\r\n" ORIG_BODY },
	{ "utf8", g_utf8, N(g_utf8), 1, 1, NULL,
	  ORIG_HDR "\r\nGr\303\274\303\237e\r\n" },
};

START_TEST(golden_case)
{
	const struct golden *g = &goldens[_i];
	struct dsn d = base_dsn(g->rcpt, g->nrcpt);
	struct buf out;
	char path[512], *want = NULL;
	size_t wantlen = 0;
	FILE *fp;

	d.ret_full = g->ret_full;
	d.orig_8bit = g->orig_8bit;
	d.envid = g->envid;
	compose_ok(&d, ORIG_HDR, strlen(ORIG_HDR), g->ins, strlen(g->ins),
	    &out, NULL);

	snprintf(path, sizeof path, "%s/dsn-%s.eml", GOLDEN_DIR, g->name);
	if ((fp = fopen(path, "rb")) != NULL) {
		want = malloc(1 << 16);
		wantlen = fread(want, 1, 1 << 16, fp);
		fclose(fp);
	}
	if (want == NULL || wantlen != out.len ||
	    memcmp(want, out.p, out.len) != 0) {
		snprintf(path, sizeof path, "%s/dsn-%s.eml.got",
		    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", g->name);
		if ((fp = fopen(path, "wb")) != NULL) {
			fwrite(out.p, 1, out.len, fp);
			fclose(fp);
		}
		ck_abort_msg("%s: output differs from %s/dsn-%s.eml; got %s",
		    g->name, GOLDEN_DIR, g->name, path);
	}
	free(want);
	buf_free(&out);
}
END_TEST

/* ---- fields: exact values from parsing back ----------------------------- */

START_TEST(fields_failed)
{
	struct dsn d = base_dsn(&r_bob, 1);
	struct parsed p;
	struct buf out;
	const struct fields *f;

	d.envid = "QXyz123+2Benv";
	compose_ok(&d, ORIG_HDR, strlen(ORIG_HDR), ORIG_HDR, strlen(ORIG_HDR),
	    &out, &p);
	ck_assert_str_eq(fget(&p.hdr, "From"),
	    "Mail Delivery System <MAILER-DAEMON@relay.a.example>");
	ck_assert_str_eq(fget(&p.hdr, "To"), "<alice@a.example>");
	ck_assert_str_eq(fget(&p.hdr, "Subject"),
	    "Undelivered Mail Returned to Sender");
	ck_assert_str_eq(fget(&p.hdr, "Date"),
	    "Tue, 14 Nov 2023 22:13:20 +0000");
	ck_assert_str_eq(fget(&p.hdr, "In-Reply-To"),
	    "<20231113.1234@a.example>");
	ck_assert_str_eq(fget(&p.hdr, "References"),
	    "<20231113.1234@a.example>");
	ck_assert_str_eq(p.boundary, "=_outbox_Q4A5B6C7D8E9F0.x7Kq2");
	ck_assert_str_eq(fget(&p.blk[0], "Original-Envelope-Id"),
	    "QXyz123+2Benv");
	ck_assert_str_eq(fget(&p.blk[0], "Arrival-Date"),
	    "Tue, 14 Nov 2023 20:13:20 +0000");
	f = &p.blk[1];
	ck_assert_str_eq(fget(f, "Original-Recipient"), "rfc822;bob@b.example");
	ck_assert_str_eq(fget(f, "Final-Recipient"), "rfc822; bob@b.example");
	ck_assert_str_eq(fget(f, "Action"), "failed");
	ck_assert_str_eq(fget(f, "Status"), "5.1.1");
	ck_assert_str_eq(fget(f, "Remote-MTA"), "dns; mx.b.example");
	/* folded, and unfolds to the reply exactly */
	ck_assert_str_eq(fget(f, "Diagnostic-Code"), "smtp; 550 5.1.1 "
	    "<bob@b.example>: Recipient address rejected: User unknown in "
	    "virtual mailbox table");
	ck_assert_str_eq(fget(f, "Last-Attempt-Date"),
	    "Tue, 14 Nov 2023 22:13:19 +0000");
	ck_assert_ptr_null(fget(f, "Will-Retry-Until"));
	/* the text part names the recipient, the reply, the queue id */
	ck_assert_ptr_nonnull(text_has(&p,
	    "<bob@b.example>: failed, status 5.1.1\r\n"));
	ck_assert_ptr_nonnull(text_has(&p, "Queue ID: Q3F2A1B0C9D8E7\r\n"));
	ck_assert_ptr_nonnull(text_has(&p, "Subject:  Lunch on Friday?\r\n"));
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

START_TEST(fields_mixed)
{
	struct dsn d = base_dsn(g_mixed, N(g_mixed));
	struct parsed p;
	struct buf out;

	compose_ok(&d, NULL, 0, "", 0, &out, &p);
	/* any failure makes it a bounce */
	ck_assert_str_eq(fget(&p.hdr, "Subject"),
	    "Undelivered Mail Returned to Sender");
	ck_assert_ptr_null(fget(&p.hdr, "In-Reply-To"));
	ck_assert_ptr_null(fget(&p.hdr, "References"));
	/* a multi-line reply: one field, lines joined by spaces */
	ck_assert_str_eq(fget(&p.blk[1], "Diagnostic-Code"),
	    "smtp; 550-5.1.1 The email account that you tried to reach does "
	    "not exist. 550-5.1.1 Please try double-checking the "
	    "recipient's email address 550 5.1.1 for typos.");
	ck_assert_str_eq(fget(&p.blk[2], "Action"), "delayed");
	ck_assert_str_eq(fget(&p.blk[2], "Status"), "4.4.1");
	ck_assert_str_eq(fget(&p.blk[2], "Original-Recipient"),
	    "rfc822;Carol@C.example");
	ck_assert_ptr_null(fget(&p.blk[2], "Remote-MTA"));
	ck_assert_str_eq(fget(&p.blk[2], "Diagnostic-Code"),
	    "X-Outbox; connect to mx.c.example[192.0.2.25]:25: Connection "
	    "timed out");
	ck_assert_str_eq(fget(&p.blk[2], "Will-Retry-Until"),
	    "Sun, 19 Nov 2023 22:13:20 +0000");
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

START_TEST(fields_delayed)
{
	struct dsn d = base_dsn(g_delayed, 1);
	struct parsed p;
	struct buf out;

	compose_ok(&d, NULL, 0, ORIG_HDR, strlen(ORIG_HDR), &out, &p);
	ck_assert_str_eq(fget(&p.hdr, "Subject"),
	    "Delayed Mail (still being retried)");
	ck_assert_str_eq(fget(&p.blk[1], "Remote-MTA"), "dns; 192.0.2.7");
	ck_assert_str_eq(fget(&p.blk[1], "Will-Retry-Until"),
	    "Sat, 18 Nov 2023 22:13:20 +0000");
	ck_assert_ptr_nonnull(text_has(&p, "    Will keep trying until "
	    "Sat, 18 Nov 2023 22:13:20 +0000\r\n"));
	ck_assert_ptr_null(text_has(&p, "failed"));
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

/* RFC 3463 status syntax and class against the action */
static const struct {
	const char *in;
	int	 action;
	const char *want;
} scases[] = {
	{ "5.1.1", DSN_FAILED, "5.1.1" },
	{ "4.4.7", DSN_FAILED, "4.4.7" },	/* expiry */
	{ "4.4.1", DSN_DELAYED, "4.4.1" },
	{ "5.123.999", DSN_FAILED, "5.123.999" },
	{ "5.1.1", DSN_DELAYED, "4.0.0" },	/* a 5 is not a delay */
	{ "2.0.0", DSN_FAILED, "5.0.0" },
	{ "2.0.0", DSN_DELAYED, "4.0.0" },
	{ NULL, DSN_FAILED, "5.0.0" },
	{ NULL, DSN_DELAYED, "4.0.0" },
	{ "", DSN_FAILED, "5.0.0" },
	{ "5.1", DSN_FAILED, "5.0.0" },
	{ "5.1.", DSN_FAILED, "5.0.0" },
	{ "5..1", DSN_FAILED, "5.0.0" },
	{ "5.1.1.1", DSN_FAILED, "5.0.0" },
	{ "5.1.1 ", DSN_FAILED, "5.0.0" },
	{ " 5.1.1", DSN_FAILED, "5.0.0" },
	{ "5.1234.1", DSN_FAILED, "5.0.0" },
	{ "5.1.1234", DSN_FAILED, "5.0.0" },
	{ "55.1.1", DSN_FAILED, "5.0.0" },
	{ "5.a.1", DSN_FAILED, "5.0.0" },
	{ "5.1.1\r\nX: y", DSN_FAILED, "5.0.0" },
	{ "550", DSN_FAILED, "5.0.0" },
};

START_TEST(status_case)
{
	struct dsn_rcpt r = { .addr = "x@y.example", .status = scases[_i].in,
	    .action = scases[_i].action };
	struct dsn d = base_dsn(&r, 1);
	struct parsed p;
	struct buf out;

	compose_ok(&d, NULL, 0, "", 0, &out, &p);
	ck_assert_str_eq(fget(&p.blk[1], "Status"), scases[_i].want);
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

/* ---- bad arguments ------------------------------------------------------ */

static char longaddr[700];

static void
mut(int i, struct dsn *d, struct dsn_rcpt *r)
{
	switch (i) {
	case 0: d->nrcpt = 0; break;
	case 1: d->rcpt = NULL; break;
	case 2: d->to = NULL; break;
	case 3: d->to = ""; break;
	case 4: d->to = "a@b\r\nBcc: x@y"; break;
	case 5: d->from = NULL; break;
	case 6: d->from = "MAILER DAEMON@x"; break;
	case 7: d->reporting_mta = NULL; break;
	case 8: d->reporting_mta = "relay\n"; break;
	case 9: d->queue_id = NULL; break;
	case 10: d->queue_id = ""; break;
	case 11: d->message_id = NULL; break;
	case 12: d->message_id = "abc@x"; break;
	case 13: d->message_id = "<abc@x"; break;
	case 14: d->message_id = "<a b@x>"; break;
	case 15: d->boundary = NULL; break;
	case 16: d->boundary = ""; break;
	case 17: d->boundary = "\"\"()<>"; break;
	case 18: r->addr = NULL; break;
	case 19: r->addr = ""; break;
	case 20: r->addr = "a@b\nc"; break;
	case 21: r->addr = "a\x7f@b"; break;
	case 22: r->addr = "a\377@b"; break;		/* not UTF-8 */
	case 23: r->addr = "a\300\201@b"; break;	/* overlong */
	case 24: r->addr = "a\355\240\200@b"; break;	/* surrogate */
	case 25: r->addr = "a\303"; break;		/* cut */
	case 26: r->action = 0; break;
	case 27: r->action = 3; break;
	case 28: r->addr = longaddr; break;
	case 29: d->to = longaddr; break;
	case 30: d->to = "\xc3\xa9\t@x"; break;
	default: ck_abort();
	}
}
#define NMUT	31

START_TEST(bad_args)
{
	struct dsn_rcpt r = r_bob;
	struct dsn d = base_dsn(&r, 1);
	struct buf head, tail;
	struct ob_err err;

	memset(longaddr, 'a', sizeof longaddr - 1);
	longaddr[300] = '@';
	memset(&err, 0, sizeof err);
	buf_init(&head, 0);
	buf_init(&tail, 0);
	mut(_i, &d, &r);
	ck_assert_int_eq(dsn_compose(&d, NULL, 0, &head, &tail, &err), -1);
	ck_assert_int_eq(err.kind, OB_PERM);
	ck_assert_msg(strncmp(err.text, "dsn: ", 5) == 0, "%s", err.text);
	ck_assert_int_eq(dsn_compose(NULL, NULL, 0, &head, &tail, &err), -1);
	buf_free(&head);
	buf_free(&tail);
}
END_TEST

/* buffers too small for the report: an error, not a crash */
START_TEST(too_large)
{
	struct dsn d = base_dsn(&r_bob, 1);
	struct buf head, tail;
	struct ob_err err;

	buf_init(&head, 200);
	buf_init(&tail, 0);
	ck_assert_int_eq(dsn_compose(&d, NULL, 0, &head, &tail, &err), -1);
	ck_assert_str_eq(err.text, "dsn: report too large");
	buf_free(&head);
	buf_free(&tail);
	buf_init(&head, 0);
	buf_init(&tail, 10);
	ck_assert_int_eq(dsn_compose(&d, NULL, 0, &head, &tail, &err), -1);
	buf_free(&head);
	buf_free(&tail);
}
END_TEST

/* ---- the original's header section ------------------------------------ */

static const struct {
	const char *hdr;
	size_t	 len;		/* 0: strlen */
	const char *want;	/* In-Reply-To, or NULL */
} ocases[] = {
	{ "Message-ID: <a@b>\r\n", 0, "<a@b>" },
	{ "message-id:   <a.1@b.c>  \r\n", 0, "<a.1@b.c>" },
	{ "Message-ID:\r\n <a@b>\r\n", 0, "<a@b>" },
	{ "Message-ID:\r\n\t<a@b>\r\n\r\n", 0, "<a@b>" },
	{ "Message-ID: <a@[192.0.2.1]>\r\n", 0, "<a@[192.0.2.1]>" },
	{ "Message-ID: <a!#$%&'*+-/=?^_`{|}~@b>\r\n", 0,
	  "<a!#$%&'*+-/=?^_`{|}~@b>" },
	{ "Subject: x\nMessage-ID: <a@b>\n", 0, "<a@b>" },	/* bare LF */
	{ "Message-ID: <a@b>", 0, "<a@b>" },		/* cut after it */
	{ "Message-ID: <a@b", 0, NULL },		/* cut inside */
	{ "Message-ID: <a@b>\r\nMessage-ID: <c@d>\r\n", 0, "<a@b>" },
	{ "Message-ID: <a b@c>\r\n", 0, NULL },
	{ "Message-ID: a@b\r\n", 0, NULL },
	{ "Message-ID: <@b>\r\n", 0, NULL },
	{ "Message-ID: <a@>\r\n", 0, NULL },
	{ "Message-ID: <a@b@c>\r\n", 0, NULL },
	{ "Message-ID: <ab>\r\n", 0, NULL },
	{ "Message-ID: <a@b> (comment)\r\n", 0, NULL },
	{ "Message-ID: <a@b>\r\n <c@d>\r\n", 0, NULL },
	{ "Message-ID: <a\"@b>\r\n", 0, NULL },
	{ "Message-ID: <a[@b>\r\n", 0, NULL },
	{ "Message-ID: <a@b\r>\r\n", 0, NULL },
	{ "Message-ID: <a@b\377>\r\n", 0, NULL },
	{ "Message-ID: <a\0@b>\r\n", 20, NULL },		/* a NUL */
	{ "Message-ID: <a@b>\r\n", 10, NULL },		/* length counts */
	{ "Subject: x\r\n\r\nMessage-ID: <a@b>\r\n", 0, NULL },	/* body */
	{ "\r\nMessage-ID: <a@b>\r\n", 0, NULL },
	{ "Resent-Message-ID: <a@b>\r\n", 0, NULL },
	{ "Message-IDs: <a@b>\r\n", 0, NULL },
	{ "Message-ID <a@b>\r\n", 0, NULL },
	{ " Message-ID: <a@b>\r\n", 0, NULL },
	{ "From garbage\r\n\001\002\003\r\nMessage-ID: <a@b>\r\n", 0,
	  "<a@b>" },
	{ "", 0, NULL },
	{ ":\r\n:\r\n\r\n", 0, NULL },
};

START_TEST(orig_case)
{
	struct dsn d = base_dsn(&r_bob, 1);
	struct parsed p;
	struct buf out;
	const char *h = ocases[_i].hdr;
	size_t len = ocases[_i].len ? ocases[_i].len : strlen(h);
	char *copy = malloc(len ? len : 1);

	/* an exact-size copy: valgrind sees any read past the end */
	memcpy(copy, h, len);
	compose_ok(&d, copy, len, "", 0, &out, &p);
	if (ocases[_i].want == NULL) {
		ck_assert_ptr_null(fget(&p.hdr, "In-Reply-To"));
		ck_assert_ptr_null(fget(&p.hdr, "References"));
	} else {
		ck_assert_str_eq(fget(&p.hdr, "In-Reply-To"), ocases[_i].want);
		ck_assert_str_eq(fget(&p.hdr, "References"), ocases[_i].want);
	}
	free(copy);
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

/* the Subject in the text part: unfolded, cleaned, cut */
static const struct {
	const char *hdr;
	const char *want;	/* the text part's lines, or NULL: none */
} subjcases[] = {
	{ "Subject: Hello\r\n", "Subject:  Hello\r\n" },
	{ "SUBJECT:Hello\r\n  there\r\n", "Subject:  Hello there\r\n" },
	{ "Subject: caf\303\251 \033[31mred\r\n",
	  "Subject:  caf?? ?[31mred\r\n" },
	{ "Subject: =?utf-8?q?caf=C3=A9?=\r\n",
	  "Subject:  =?utf-8?q?caf=C3=A9?=\r\n" },
	{ "Subject: a\rb\r\n", "Subject:  a b\r\n" },
	{ "Subject:\r\n", NULL },
	{ "Subject:    \t\r\n", NULL },
	{ "To: x\r\n", NULL },
};

START_TEST(subject_case)
{
	struct dsn d = base_dsn(&r_bob, 1);
	struct parsed p;
	struct buf out;
	const char *w = subjcases[_i].want;

	compose_ok(&d, subjcases[_i].hdr, strlen(subjcases[_i].hdr), "", 0,
	    &out, &p);
	if (w == NULL)
		ck_assert_ptr_null(text_has(&p, "Subject:"));
	else
		ck_assert_msg(memmem(p.body[0].p, p.body[0].len, w,
		    strlen(w)) != NULL, "want %s in:\n%.*s", w,
		    (int)p.body[0].len, p.body[0].p);
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

/* a 10 KB Message-ID and Subject, and 64 KB of garbage */
START_TEST(orig_huge)
{
	struct dsn d = base_dsn(&r_bob, 1);
	struct parsed p;
	struct buf out, h;
	size_t i;
	const char *sl;

	buf_init(&h, 0);
	buf_addstr(&h, "Message-ID: <");
	for (i = 0; i < 10000; i++)
		buf_addc(&h, 'a' + (int)(i % 26));
	buf_addstr(&h, "@b.example>\r\nSubject: ");
	for (i = 0; i < 10000; i++)
		buf_addstr(&h, i % 10 ? "x" : " ");
	buf_addstr(&h, "\r\n");
	compose_ok(&d, h.p, h.len, "", 0, &out, &p);
	ck_assert_ptr_null(fget(&p.hdr, "In-Reply-To"));
	sl = text_has(&p, "Subject:  ");
	ck_assert_ptr_nonnull(sl);
	/* cut at 200 octets, "..." added, wrapped */
	ck_assert_ptr_nonnull(text_has(&p, " xxxxxxxxx xxxxxxxx...\r\n"));
	parsed_free(&p);
	buf_free(&out);

	buf_clear(&h);
	for (i = 0; i < 65536; i++)
		buf_addc(&h, (int)((i * 2654435761u) >> 13) & 0xff);
	compose_ok(&d, h.p, h.len, "", 0, &out, NULL);
	buf_free(&out);
	buf_free(&h);
}
END_TEST

/* ---- hostile recipient data ------------------------------------------- */

static const struct {
	const char *reply, *reason, *remote, *orcpt, *envid;
	const char *want_diag;		/* unfolded Diagnostic-Code */
	const char *want_remote;	/* Remote-MTA or NULL */
} hcases[] = {
	{ "550 a\r\nBcc: evil@x", NULL, NULL, NULL, NULL,
	  "smtp; 550 a Bcc: evil@x", NULL },
	{ "550 a\rb\nc\r\rd", NULL, NULL, NULL, NULL,
	  "smtp; 550 a b c d", NULL },
	{ "550 \001\002\033\177 \t x", NULL, NULL, NULL, NULL,
	  "smtp; 550 ???? x", NULL },
	{ "550 caf\303\251 \377\200", NULL, NULL, NULL, NULL,
	  "smtp; 550 caf?? ??", NULL },
	{ "   ", "our reason", NULL, NULL, NULL, "X-Outbox; our reason",
	  NULL },
	{ "\r\n", NULL, NULL, NULL, NULL, NULL, NULL },
	{ NULL, "reason\r\nX-Injected: yes", NULL, NULL, NULL,
	  "X-Outbox; reason X-Injected: yes", NULL },
	{ NULL, NULL, "mx\r\nBcc: evil", NULL, NULL, NULL,
	  "dns; mx Bcc: evil" },
	{ NULL, NULL, "m\303\274x", NULL, NULL, NULL, "dns; m??x" },
	{ NULL, NULL, "", NULL, NULL, NULL, NULL },
	{ "550 x", NULL, NULL, "rfc822;a@b\r\nX: y", "a b", "smtp; 550 x",
	  NULL },
	{ "550 x", NULL, NULL, "no-semicolon", "\303\251", "smtp; 550 x",
	  NULL },
	/* found by fuzz_dsn: a line break in the server's name put a bare
	 * LF into the text part's "Server ... replied:" line */
	{ "550 x", NULL, "mx\r.example", NULL, NULL, "smtp; 550 x",
	  "dns; mx .example" },
	{ "550 x", NULL, "mx\n\nBcc: evil", NULL, NULL, "smtp; 550 x",
	  "dns; mx Bcc: evil" },
};

START_TEST(hostile_case)
{
	struct dsn_rcpt r = { .addr = "x@y.example", .action = DSN_FAILED,
	    .status = "5.0.0", .reply = hcases[_i].reply,
	    .reason = hcases[_i].reason, .remote_mta = hcases[_i].remote,
	    .orcpt = hcases[_i].orcpt };
	struct dsn d = base_dsn(&r, 1);
	struct parsed p;
	struct buf out;
	const char *v;

	d.envid = hcases[_i].envid;
	compose_ok(&d, NULL, 0, "", 0, &out, &p);
	v = fget(&p.blk[1], "Diagnostic-Code");
	if (hcases[_i].want_diag == NULL)
		ck_assert_ptr_null(v);
	else
		ck_assert_str_eq(v, hcases[_i].want_diag);
	v = fget(&p.blk[1], "Remote-MTA");
	if (hcases[_i].want_remote == NULL)
		ck_assert_ptr_null(v);
	else
		ck_assert_str_eq(v, hcases[_i].want_remote);
	ck_assert_ptr_null(fget(&p.blk[1], "Original-Recipient"));
	ck_assert_ptr_null(fget(&p.blk[0], "Original-Envelope-Id"));
	ck_assert_ptr_null(fget(&p.hdr, "X-Injected"));
	ck_assert_ptr_null(fget(&p.hdr, "Bcc"));
	if (blank(r.reply))
		ck_assert_ptr_null(text_has(&p, "replied:"));
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

/* a 5000-octet reply, one word or many: cut at 4000, lines <= 998 */
START_TEST(long_reply)
{
	struct dsn_rcpt r = { .addr = "x@y.example", .action = DSN_FAILED,
	    .status = "5.0.0", .remote_mta = "mx.y.example" };
	struct dsn d = base_dsn(&r, 1);
	struct parsed p;
	struct buf out, reply;
	const char *v;
	size_t i, nx = 0;

	buf_init(&reply, 0);
	buf_addstr(&reply, "550 ");
	for (i = 0; i < 4996; i++)
		buf_addc(&reply, _i ? (i % 7 ? 'x' : ' ') : 'x');
	r.reply = reply.p;
	compose_ok(&d, NULL, 0, "", 0, &out, &p);
	v = fget(&p.blk[1], "Diagnostic-Code");
	ck_assert(strncmp(v, "smtp; 550 x", 11) == 0);
	ck_assert(strcmp(v + strlen(v) - 3, "...") == 0);
	for (; *v; v++)
		nx += *v == 'x';
	ck_assert_uint_eq(nx, _i ? 3996 - 3996 / 7 - 1 : 3996);
	/* the text part wraps it at 76 */
	for (i = 0; i < p.body[0].len; i++) {
		size_t e = i;

		while (e < p.body[0].len && p.body[0].p[e] != '\r')
			e++;
		ck_assert_uint_le(e - i, 76);
		i = e + 1;
	}
	parsed_free(&p);
	buf_free(&out);
	buf_free(&reply);
}
END_TEST

/* 100 recipients, every kind; long but legal addresses */
START_TEST(many_rcpts)
{
	struct dsn_rcpt r[100];
	char addr[100][520];
	struct dsn d;
	struct parsed p;
	struct buf out;
	size_t i;

	for (i = 0; i < 100; i++) {
		memset(&r[i], 0, sizeof r[i]);
		if (i % 10 == 9) {
			memset(addr[i], 'l', 480);
			ob_snprintf(addr[i] + 480, 40, "%zu@e.example", i);
		} else {
			ob_snprintf(addr[i], sizeof addr[i], "\"user %zu\"@%s",
			    i, i % 3 ? "x.example" : "\303\274.example");
		}
		r[i].addr = addr[i];
		r[i].action = i % 2 ? DSN_DELAYED : DSN_FAILED;
		r[i].status = i % 2 ? "4.2.2" : "5.2.2";
		r[i].remote_mta = i % 4 ? "mx.x.example" : NULL;
		r[i].reply = i % 5 ? "452 4.2.2 mailbox full\nreally full" :
		    NULL;
		r[i].reason = i % 3 ? NULL : "reason";
		r[i].last_attempt = i % 6 ? NOW - (int64_t)i * 1000 : 0;
		r[i].will_retry_until = i % 7 ? NOW + DAY : 0;
	}
	d = base_dsn(r, 100);
	d.ret_full = 1;
	compose_ok(&d, ORIG_HDR, strlen(ORIG_HDR), ORIG_HDR "\r\n" ORIG_BODY,
	    strlen(ORIG_HDR "\r\n" ORIG_BODY), &out, &p);
	ck_assert_uint_eq(p.nblk, 101);
	ck_assert_str_eq(fget(&p.blk[1], "Final-Recipient"),
	    "utf-8; \"user 0\"@\303\274.example");
	ck_assert_str_eq(fget(&p.blk[2], "Final-Recipient"),
	    "rfc822; \"user 1\"@x.example");
	ck_assert_str_eq(fget(&p.phdr[1], "Content-Type"),
	    "message/global-delivery-status");
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

/* The close delimiter works whether or not the content ends in CRLF,
 * and the content keeps its own final CRLF. */
START_TEST(tail_crlf)
{
	static const char *const ins[] = { "", "X: y", "X: y\r\n",
	    "X: y\r\n\r\n", "\r\n" };
	struct dsn d = base_dsn(&r_bob, 1);
	struct parsed p;
	struct buf out;

	compose_ok(&d, NULL, 0, ins[_i], strlen(ins[_i]), &out, &p);
	ck_assert_uint_eq(p.body[2].len, strlen(ins[_i]));
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

/* the boundary: prefix, bchars only, at most 70 */
START_TEST(boundary)
{
	struct dsn d = base_dsn(&r_bob, 1);
	struct parsed p;
	struct buf out;
	char tok[200];

	d.boundary = "ab\"c d=e/f_g.h-i";
	compose_ok(&d, NULL, 0, "", 0, &out, &p);
	ck_assert_str_eq(p.boundary, "=_outbox_abcdef_g.h-i");
	parsed_free(&p);
	buf_free(&out);

	memset(tok, 'z', sizeof tok - 1);
	tok[sizeof tok - 1] = '\0';
	d.boundary = tok;
	compose_ok(&d, NULL, 0, "", 0, &out, &p);
	ck_assert_uint_eq(strlen(p.boundary), 70);
	parsed_free(&p);
	buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc;
	SRunner *sr;
	int nf;

	setenv("TZ", "UTC", 1);
	tzset();

	tc = tcase_create("golden");
	tcase_add_loop_test(tc, golden_case, 0, (int)N(goldens));
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, fields_failed);
	tcase_add_test(tc, fields_mixed);
	tcase_add_test(tc, fields_delayed);
	tcase_add_loop_test(tc, status_case, 0, (int)N(scases));
	suite_add_tcase(s, tc);

	tc = tcase_create("args");
	tcase_add_loop_test(tc, bad_args, 0, NMUT);
	tcase_add_test(tc, too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("orig");
	tcase_add_loop_test(tc, orig_case, 0, (int)N(ocases));
	tcase_add_loop_test(tc, subject_case, 0, (int)N(subjcases));
	tcase_add_test(tc, orig_huge);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_loop_test(tc, hostile_case, 0, (int)N(hcases));
	tcase_add_loop_test(tc, long_reply, 0, 2);
	tcase_add_test(tc, many_rcpts);
	suite_add_tcase(s, tc);

	tc = tcase_create("mime");
	tcase_add_loop_test(tc, tail_crlf, 0, 5);
	tcase_add_test(tc, boundary);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
