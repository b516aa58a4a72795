/* dsn.c - compose an RFC 3464 delivery status notification (see dsn.h).
 *
 * The shape is RFC 6522 multipart/report; report-type=delivery-status:
 * a text/plain part for people, a message/delivery-status part for
 * programs (RFC 3464 2.2, 2.3) and the returned original, which the caller
 * inserts between HEAD and TAIL.  Auto-Submitted: auto-replied (RFC 3834
 * 5) keeps well-behaved responders from answering it.
 *
 * Invariants: the output is canonical (CRLF only, no NUL, no bare CR or
 * LF, no line over 998 octets: RFC 5322 2.1.1) whatever the inputs.
 * Addresses and our own tokens are checked and refused when unsafe;
 * texts from outside (replies, reasons, the original's Subject) are
 * cleaned: control and 8-bit octets become '?' (DSN fields are ASCII:
 * RFC 3464 2.1.2), long ones are cut at DSN_TEXT_MAX, and every line is
 * wrapped or folded.  The original's header section is only scanned,
 * within its length, and never copied.
 *
 * Left to others: who gets a DSN at all (null sender, NOTIFY), queueing
 * it, the returned content itself, and choosing a boundary token that
 * the content cannot contain (the caller adds randomness).
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "dsn.h"

#define DSN_WIDTH	76	/* text part lines */
#define DSN_FOLD	78	/* header fields: RFC 5322 2.1.1 SHOULD */
#define DSN_HARD	900	/* longest unbroken run in a field line */
#define DSN_BPREFIX	"=_outbox_"
#define DSN_BMAX	70	/* RFC 2046 5.1.1 */
#define DSN_MSGID_MAX	250
#define DSN_SUBJ_MAX	200

/* check flags */
#define DSN_C_SPACE	0x1	/* may hold spaces (quoted local parts) */
#define DSN_C_UTF8	0x2	/* may hold UTF-8 */

/* Appends that fail once stay failed: one check at the end. */
struct dsn_out {
	struct buf *b;
	int	 bad;
};

static void	 out_add(struct dsn_out *, const void *, size_t);
static void	 out_str(struct dsn_out *, const char *);
static int	 dsn_check(const char *, size_t, int);
static int	 dsn_utf8_ok(const char *);
static int	 dsn_ascii(const char *);
static void	 dsn_clean(struct buf *, const char *, size_t);
static int	 dsn_blank(const struct buf *);
static void	 dsn_wrap(struct dsn_out *, const char *, const char *,
		    const char *, size_t, size_t, size_t, int);
static long	 dsn_hdr_get(const char *, size_t, const char *, char *,
		    size_t);
static int	 dsn_msgid_ok(const char *, size_t);
static const char *dsn_status(const struct dsn_rcpt *);
static int	 dsn_check_args(const struct dsn *, struct ob_err *);
static void	 dsn_text_part(struct dsn_out *, const struct dsn *,
		    const char *, int);
static void	 dsn_rcpt_text(struct dsn_out *, const struct dsn_rcpt *);
static void	 dsn_status_part(struct dsn_out *, const struct dsn *);

static void
out_add(struct dsn_out *o, const void *p, size_t n)
{
	if (!o->bad && buf_add(o->b, p, n) == -1)
		o->bad = 1;
}

static void
out_str(struct dsn_out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* S is present, non-empty, at most MAX octets, and has no control octet
 * (nor space, nor 8-bit octet unless FLAGS allow them; UTF-8 must be
 * well-formed).  0 or -1. */
static int
dsn_check(const char *s, size_t max, int flags)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0' || strnlen(s, max + 1) > max)
		return -1;
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if (*p == ' ' && !(flags & DSN_C_SPACE))
			return -1;
		if (*p > 0x7f && !(flags & DSN_C_UTF8))
			return -1;
	}
	if ((flags & DSN_C_UTF8) && !dsn_utf8_ok(s))
		return -1;
	return 0;
}

/* Well-formed UTF-8 (RFC 3629 4): no overlongs, surrogates or > U+10FFFF. */
static int
dsn_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo, hi;
	int n, i;

	while (*p) {
		lo = 0x80;
		hi = 0xbf;
		if (*p < 0x80) {
			p++;
			continue;
		} else if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			if (*p == 0xe0)
				lo = 0xa0;
			if (*p == 0xed)
				hi = 0x9f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			if (*p == 0xf0)
				lo = 0x90;
			if (*p == 0xf4)
				hi = 0x8f;
		} else {
			return 0;
		}
		p++;
		for (i = 0; i < n; i++, p++) {
			if (*p < lo || *p > hi)
				return 0;
			lo = 0x80;
			hi = 0xbf;
		}
	}
	return 1;
}

static int
dsn_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s > 0x7f)
			return 0;
	return 1;
}

/* Append S (N octets) to OUT cleaned: CRLF, CR and LF become one '\n',
 * HTAB a space, any other control or 8-bit octet '?'.  More than
 * DSN_TEXT_MAX octets are cut and "..." added. */
static void
dsn_clean(struct buf *out, const char *s, size_t n)
{
	size_t i, lim = n > DSN_TEXT_MAX ? DSN_TEXT_MAX : n;
	unsigned char c;

	for (i = 0; i < lim; i++) {
		c = (unsigned char)s[i];
		if (c == '\r' && i + 1 < lim && s[i + 1] == '\n')
			continue;
		if (c == '\r' || c == '\n')
			c = '\n';
		else if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		buf_addc(out, c);	/* OUT's max is above DSN_TEXT_MAX */
	}
	if (lim < n)
		buf_addstr(out, "...");
}

/* Nothing but spaces and line breaks? */
static int
dsn_blank(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->p[i] != ' ' && b->p[i] != '\n')
			return 0;
	return 1;
}

/* Append S[0..N) as lines of words: FIRST starts the first line, CONT
 * every other one, each line ends in CRLF.  A word goes to a new line
 * when it would pass column WIDTH; a word longer than HARD is split
 * (for a header field that adds a space when unfolded: better than a
 * line over 998 octets).  NL: a '\n' in S breaks the line, else it is
 * a space.  Runs of spaces collapse to one.  S must be clean (no CR,
 * no controls). */
static void
dsn_wrap(struct dsn_out *o, const char *first, const char *cont,
    const char *s, size_t n, size_t width, size_t hard, int nl)
{
	size_t i = 0, j, wl, chunk, col, contlen = strlen(cont);
	int used = 0;

	out_str(o, first);
	col = strlen(first);
	while (i < n) {
		if (s[i] == ' ' || (s[i] == '\n' && !nl)) {
			i++;
			continue;
		}
		if (s[i] == '\n') {
			if (used) {
				out_str(o, "\r\n");
				out_str(o, cont);
				col = contlen;
				used = 0;
			}
			i++;
			continue;
		}
		for (j = i; j < n && s[j] != ' ' && s[j] != '\n'; j++)
			;
		for (wl = j - i; wl > 0; wl -= chunk, i += chunk) {
			chunk = wl > hard ? hard : wl;
			if (used && col + 1 + chunk > width) {
				out_str(o, "\r\n");
				out_str(o, cont);
				col = contlen;
				used = 0;
			}
			if (used) {
				out_add(o, " ", 1);
				col++;
			}
			out_add(o, s + i, chunk);
			col += chunk;
			used = 1;
			if (wl > chunk) {	/* the rest on its own line */
				out_str(o, "\r\n");
				out_str(o, cont);
				col = contlen;
				used = 0;
			}
		}
	}
	out_str(o, "\r\n");
}

/* The unfolded value of the first NAME field of the header section
 * H[0..N) (which ends at the first empty line, or at N), in DST (at most
 * DSTSZ - 1 octets, NUL-terminated).  Returns its length, -1 when there
 * is none, -2 when it did not fit (DST then holds its beginning).  H is
 * untrusted: it may hold NULs, bare LFs, or stop anywhere. */
static long
dsn_hdr_get(const char *h, size_t n, const char *name, char *dst,
    size_t dstsz)
{
	size_t i = 0, s, e, len = 0, nl = strlen(name), k;
	const char *lf;
	int found = 0, over = 0;

	while (i < n) {
		s = i;
		lf = memchr(h + i, '\n', n - i);
		e = lf ? (size_t)(lf - h) : n;
		i = lf ? e + 1 : n;
		if (e > s && h[e - 1] == '\r')
			e--;
		if (e == s)
			break;		/* the end of the header section */
		if (h[s] == ' ' || h[s] == '\t') {
			if (!found)
				continue;
			k = s;		/* unfolding keeps the WSP (RFC 5322
					 * 2.2.3) */
		} else if (found) {
			break;
		} else if (e - s > nl && h[s + nl] == ':' &&
		    ob_strncasecmp(h + s, name, nl) == 0) {
			found = 1;
			k = s + nl + 1;
		} else {
			continue;
		}
		for (; k < e; k++) {
			if (len + 1 >= dstsz) {
				over = 1;
				break;
			}
			dst[len++] = h[k];
		}
	}
	if (dstsz > 0)
		dst[len] = '\0';
	if (!found)
		return -1;
	return over ? -2 : (long)len;
}

/* A msg-id we are willing to repeat (RFC 5322 3.6.4, without CFWS or
 * quoted strings): "<" id-left "@" id-right ">", each made of atext, '.',
 * and for the right '[' ']'; nothing else, not even a space. */
static int
dsn_msgid_ok(const char *s, size_t n)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~.";
	size_t i, at = 0;

	if (n < 5 || n > DSN_MSGID_MAX || s[0] != '<' || s[n - 1] != '>')
		return 0;
	for (i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '@') {
			if (at)
				return 0;
			at = i;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' &&
		    strchr(atext, c) != NULL) ||
		    (at && (c == '[' || c == ']')))) {
			return 0;
		}
	}
	return at > 1 && at < n - 2;
}

/* RFC 3463 2: class "." subject "." detail, subject and detail 1*3digit;
 * the class must suit the action (a failure may be 4.x.x: expiry). */
static const char *
dsn_status(const struct dsn_rcpt *r)
{
	const char *dflt = r->action == DSN_FAILED ? "5.0.0" : "4.0.0";
	const char *p = r->status;
	int part, nd;

	if (p == NULL)
		return dflt;
	if (!(p[0] == '4' || (p[0] == '5' && r->action == DSN_FAILED)))
		return dflt;
	p++;
	for (part = 0; part < 2; part++) {
		if (*p++ != '.')
			return dflt;
		for (nd = 0; *p >= '0' && *p <= '9'; p++)
			nd++;
		if (nd < 1 || nd > 3)
			return dflt;
	}
	return *p == '\0' ? r->status : dflt;
}

static int
dsn_check_args(const struct dsn *d, struct ob_err *err)
{
	size_t i;

	if (d == NULL || d->rcpt == NULL || d->nrcpt == 0)
		return ob_err_set(err, OB_PERM, 0, "dsn: no recipients");
	if (dsn_check(d->reporting_mta, DSN_ADDR_MAX, 0) == -1)
		return ob_err_set(err, OB_PERM, 0, "dsn: bad reporting MTA");
	if (dsn_check(d->from, DSN_ADDR_MAX, 0) == -1)
		return ob_err_set(err, OB_PERM, 0, "dsn: bad From address");
	if (dsn_check(d->to, DSN_ADDR_MAX, DSN_C_SPACE | DSN_C_UTF8) == -1)
		return ob_err_set(err, OB_PERM, 0, "dsn: bad To address");
	if (dsn_check(d->queue_id, DSN_ADDR_MAX, 0) == -1)
		return ob_err_set(err, OB_PERM, 0, "dsn: bad queue id");
	if (dsn_check(d->message_id, DSN_MSGID_MAX, 0) == -1 ||
	    d->message_id[0] != '<' ||
	    d->message_id[strlen(d->message_id) - 1] != '>')
		return ob_err_set(err, OB_PERM, 0, "dsn: bad Message-ID");
	if (d->boundary == NULL)	/* filtered below */
		return ob_err_set(err, OB_PERM, 0, "dsn: bad boundary token");
	for (i = 0; i < d->nrcpt; i++) {
		const struct dsn_rcpt *r = &d->rcpt[i];

		if (dsn_check(r->addr, DSN_ADDR_MAX,
		    DSN_C_SPACE | DSN_C_UTF8) == -1)
			return ob_err_set(err, OB_PERM, 0,
			    "dsn: recipient %zu: bad address", i);
		if (r->action != DSN_FAILED && r->action != DSN_DELAYED)
			return ob_err_set(err, OB_PERM, 0,
			    "dsn: recipient %zu: bad action %d", i, r->action);
	}
	return 0;
}

int
dsn_compose(const struct dsn *d, const char *orig_hdr, size_t orig_hdrlen,
    struct buf *head, struct buf *tail, struct ob_err *err)
{
	struct dsn_out o = { head, 0 }, t = { tail, 0 };
	char bnd[DSN_BMAX + 1], date[64], msgid[DSN_MSGID_MAX + 2];
	char subj[DSN_SUBJ_MAX + 1];
	struct buf sb;
	const char *p;
	size_t i, bl;
	long n;
	int any_failed = 0, utf8 = 0, eight;

	if (dsn_check_args(d, err) == -1)
		return -1;
	buf_init(&sb, DSN_SUBJ_MAX + 8);
	for (i = 0; i < d->nrcpt; i++) {
		if (d->rcpt[i].action == DSN_FAILED)
			any_failed = 1;
		if (!dsn_ascii(d->rcpt[i].addr))
			utf8 = 1;
	}
	eight = utf8 || d->orig_8bit || !dsn_ascii(d->to);

	/* RFC 2046 5.1.1: 1 to 70 bchars.  "=_" cannot occur in quoted-
	 * printable or base64 text, and the caller's token is unique. */
	bl = strlen(DSN_BPREFIX);
	memcpy(bnd, DSN_BPREFIX, bl);
	for (p = d->boundary; *p && bl < DSN_BMAX; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-')
			bnd[bl++] = *p;
	bnd[bl] = '\0';
	if (bl == strlen(DSN_BPREFIX)) {
		ob_err_set(err, OB_PERM, 0, "dsn: bad boundary token");
		goto fail;
	}

	/* The original's Subject, for people only. */
	if (orig_hdr != NULL) {
		n = dsn_hdr_get(orig_hdr, orig_hdrlen, "Subject", subj,
		    sizeof subj);
		if (n != -1) {
			dsn_clean(&sb, subj, n == -2 ? sizeof subj - 1 :
			    (size_t)n);
			if (n == -2)
				buf_addstr(&sb, "...");
		}
	}

	/* The message header (RFC 5322 3.6). */
	out_str(&o, "From: Mail Delivery System <");
	out_str(&o, d->from);
	out_str(&o, ">\r\nTo: <");
	out_str(&o, d->to);
	out_str(&o, ">\r\nSubject: ");
	out_str(&o, any_failed ? "Undelivered Mail Returned to Sender" :
	    "Delayed Mail (still being retried)");
	fmt_rfc5322_date(date, sizeof date, d->now);
	out_str(&o, "\r\nDate: ");
	out_str(&o, date);
	out_str(&o, "\r\nMessage-ID: ");
	out_str(&o, d->message_id);
	out_str(&o, "\r\n");
	if (orig_hdr != NULL) {
		n = dsn_hdr_get(orig_hdr, orig_hdrlen, "Message-ID", msgid,
		    sizeof msgid);
		if (n > 0) {
			/* trim the WSP unfolding kept */
			char *s = msgid, *e = msgid + n;

			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (dsn_msgid_ok(s, (size_t)(e - s))) {
				*e = '\0';
				out_str(&o, "In-Reply-To: ");
				out_str(&o, s);
				out_str(&o, "\r\nReferences: ");
				out_str(&o, s);
				out_str(&o, "\r\n");
			}
		}
	}
	out_str(&o, "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"");
	out_str(&o, bnd);
	out_str(&o, "\"\r\n");
	if (eight)
		out_str(&o, "Content-Transfer-Encoding: 8bit\r\n");
	out_str(&o, "\r\nThis is a delivery status notification "
	    "in MIME format.\r\n");

	/* Part 1: for people. */
	out_str(&o, "\r\n--");
	out_str(&o, bnd);
	out_str(&o, "\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=");
	out_str(&o, utf8 ? "utf-8\r\nContent-Transfer-Encoding: 8bit\r\n" :
	    "us-ascii\r\n");
	out_str(&o, "\r\n");
	dsn_text_part(&o, d, dsn_blank(&sb) ? NULL : sb.p, any_failed);

	/* Part 2: for programs (RFC 3464 2.1, 2.2, 2.3; RFC 6533 6.2). */
	out_str(&o, "\r\n--");
	out_str(&o, bnd);
	out_str(&o, "\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/");
	out_str(&o, utf8 ? "global-delivery-status\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n" : "delivery-status\r\n");
	out_str(&o, "\r\n");
	dsn_status_part(&o, d);

	/* Part 3: its header; the content is the caller's. */
	out_str(&o, "\r\n--");
	out_str(&o, bnd);
	out_str(&o, d->ret_full ?
	    "\r\nContent-Description: Undelivered message\r\n"
	    "Content-Type: message/rfc822\r\n" :
	    "\r\nContent-Description: Undelivered message headers\r\n"
	    "Content-Type: text/rfc822-headers\r\n");
	if (d->orig_8bit)
		out_str(&o, "Content-Transfer-Encoding: 8bit\r\n");
	out_str(&o, "\r\n");

	/* The CRLF before the close delimiter is part of it (RFC 2046
	 * 5.1.1): right whether or not the content ends with one. */
	out_str(&t, "\r\n--");
	out_str(&t, bnd);
	out_str(&t, "--\r\n");

	if (o.bad || t.bad) {
		ob_err_set(err, OB_PERM, 0, "dsn: report too large");
		goto fail;
	}
	buf_free(&sb);
	return 0;

fail:
	buf_free(&sb);
	return -1;
}

static void
dsn_text_part(struct dsn_out *o, const struct dsn *d, const char *subject,
    int any_failed)
{
	char date[64], line[300];
	size_t i;
	int any_delayed = 0;

	for (i = 0; i < d->nrcpt; i++)
		if (d->rcpt[i].action == DSN_DELAYED)
			any_delayed = 1;
	out_str(o, "This is the mail system at ");
	out_str(o, d->reporting_mta);
	out_str(o, ".\r\n\r\n");
	if (any_failed) {
		ob_snprintf(line, sizeof line, "Your message could not be "
		    "delivered to one or more of its recipients. This report "
		    "and %s are attached.", d->ret_full ?
		    "your message" : "the headers of your message");
		dsn_wrap(o, "", "", line, strlen(line), DSN_WIDTH, DSN_WIDTH,
		    0);
		out_str(o, "\r\n");
	}
	if (any_delayed) {
		ob_snprintf(line, sizeof line, "Delivery to %s recipients "
		    "is delayed. The mail system will keep trying; you do "
		    "not need to send the message again.", any_failed ?
		    "the other" : "one or more of its");
		dsn_wrap(o, "", "", line, strlen(line), DSN_WIDTH, DSN_WIDTH,
		    0);
		out_str(o, "\r\n");
	}
	out_str(o, "Queue ID: ");
	out_str(o, d->queue_id);
	fmt_rfc5322_date(date, sizeof date, d->arrival);
	out_str(o, "\r\nArrived:  ");
	out_str(o, date);
	out_str(o, "\r\n");
	if (subject != NULL)
		dsn_wrap(o, "Subject:  ", "          ", subject,
		    strlen(subject), DSN_WIDTH, DSN_WIDTH - 10, 0);
	for (i = 0; i < d->nrcpt; i++) {
		out_str(o, "\r\n");
		dsn_rcpt_text(o, &d->rcpt[i]);
	}
}

/* One recipient for people:
 *   <a@b.example>: failed, status 5.1.1
 *       Server mx.b.example replied: 550 5.1.1 ... */
static void
dsn_rcpt_text(struct dsn_out *o, const struct dsn_rcpt *r)
{
	struct buf t, rm;
	char date[64], line[400];
	size_t i;

	buf_init(&t, DSN_TEXT_MAX + 8);
	buf_init(&rm, DSN_TEXT_MAX + 8);
	/* the address keeps its bytes: checked, and UTF-8 only when the
	 * part says charset=utf-8; at most DSN_ADDR_MAX, so the line is
	 * short enough */
	out_str(o, "<");
	out_str(o, r->addr);
	out_str(o, r->action == DSN_FAILED ? ">: failed, status " :
	    ">: delayed, status ");
	out_str(o, dsn_status(r));
	out_str(o, "\r\n");
	if (r->action == DSN_DELAYED && r->will_retry_until != 0) {
		fmt_rfc5322_date(date, sizeof date, r->will_retry_until);
		out_str(o, "    Will keep trying until ");
		out_str(o, date);
		out_str(o, "\r\n");
	}
	if (r->reply != NULL) {
		dsn_clean(&t, r->reply, strlen(r->reply));
		if (!dsn_blank(&t)) {
			if (r->remote_mta != NULL)
				dsn_clean(&rm, r->remote_mta,
				    strnlen(r->remote_mta, 256));
			/* one line: a host name has no line breaks to keep
			 * (found by fuzz_dsn: a bare LF in the text part) */
			for (i = 0; i < rm.len; i++)
				if (rm.p[i] == '\n')
					rm.p[i] = ' ';
			if (rm.len > 0 && !dsn_blank(&rm)) {
				ob_snprintf(line, sizeof line,
				    "    Server %s replied:", rm.p);
			} else {
				ob_snprintf(line, sizeof line,
				    "    The server replied:");
			}
			out_str(o, line);
			out_str(o, "\r\n");
			dsn_wrap(o, "      ", "      ", t.p, t.len, DSN_WIDTH,
			    DSN_WIDTH - 6, 1);
		}
	}
	if (r->reason != NULL) {
		buf_clear(&t);
		dsn_clean(&t, r->reason, strlen(r->reason));
		if (!dsn_blank(&t))
			dsn_wrap(o, "    Reason: ", "      ", t.p, t.len,
			    DSN_WIDTH, DSN_WIDTH - 12, 0);
	}
	if (r->last_attempt != 0) {
		fmt_rfc5322_date(date, sizeof date, r->last_attempt);
		out_str(o, "    Last attempt: ");
		out_str(o, date);
		out_str(o, "\r\n");
	}
	buf_free(&t);
	buf_free(&rm);
}

/* message/delivery-status: the per-message fields, then one block per
 * recipient, blocks separated by an empty line (RFC 3464 2.1, in the
 * order of its 2.2 and 2.3 grammar). */
static void
dsn_status_part(struct dsn_out *o, const struct dsn *d)
{
	struct buf t, v;
	char date[64];
	size_t i;

	buf_init(&t, DSN_TEXT_MAX + 8);
	buf_init(&v, DSN_TEXT_MAX + DSN_ADDR_MAX + 64);
	/* RFC 3461 4.4: an ENVID is at most 100 xtext characters */
	if (dsn_check(d->envid, 100, 0) == 0) {
		out_str(o, "Original-Envelope-Id: ");
		out_str(o, d->envid);
		out_str(o, "\r\n");
	}
	out_str(o, "Reporting-MTA: dns; ");
	out_str(o, d->reporting_mta);
	fmt_rfc5322_date(date, sizeof date, d->arrival);
	out_str(o, "\r\nArrival-Date: ");
	out_str(o, date);
	out_str(o, "\r\nX-Outbox-Queue-ID: ");
	out_str(o, d->queue_id);
	out_str(o, "\r\n");

	for (i = 0; i < d->nrcpt; i++) {
		const struct dsn_rcpt *r = &d->rcpt[i];

		out_str(o, "\r\n");
		if (dsn_check(r->orcpt, DSN_ADDR_MAX, 0) == 0 &&
		    strchr(r->orcpt, ';') != NULL) {
			out_str(o, "Original-Recipient: ");
			out_str(o, r->orcpt);
			out_str(o, "\r\n");
		}
		/* RFC 6533 3: the utf-8 type, raw in a global report */
		out_str(o, dsn_ascii(r->addr) ? "Final-Recipient: rfc822; " :
		    "Final-Recipient: utf-8; ");
		out_str(o, r->addr);
		out_str(o, "\r\nAction: ");
		out_str(o, r->action == DSN_FAILED ? "failed" : "delayed");
		out_str(o, "\r\nStatus: ");
		out_str(o, dsn_status(r));
		out_str(o, "\r\n");
		if (r->remote_mta != NULL) {
			buf_clear(&t);
			dsn_clean(&t, r->remote_mta,
			    strnlen(r->remote_mta, 256));
			if (!dsn_blank(&t))
				dsn_wrap(o, "Remote-MTA: dns; ", " ", t.p,
				    t.len, DSN_FOLD, DSN_HARD, 0);
		}
		/* RFC 3464 2.3.6: the reply as it was, folded; a multi-line
		 * reply becomes one line per the unfolding rules */
		buf_clear(&t);
		buf_clear(&v);
		if (r->reply != NULL)
			dsn_clean(&t, r->reply, strlen(r->reply));
		if (!dsn_blank(&t)) {
			buf_addstr(&v, "smtp; ");
			buf_add(&v, t.p, t.len);
		} else if (r->reason != NULL) {
			buf_clear(&t);
			dsn_clean(&t, r->reason, strlen(r->reason));
			if (!dsn_blank(&t)) {
				buf_addstr(&v, "X-Outbox; ");
				buf_add(&v, t.p, t.len);
			}
		}
		if (v.len > 0)
			dsn_wrap(o, "Diagnostic-Code: ", " ", v.p, v.len,
			    DSN_FOLD, DSN_HARD, 0);
		if (r->last_attempt != 0) {
			fmt_rfc5322_date(date, sizeof date, r->last_attempt);
			out_str(o, "Last-Attempt-Date: ");
			out_str(o, date);
			out_str(o, "\r\n");
		}
		if (r->action == DSN_DELAYED && r->will_retry_until != 0) {
			fmt_rfc5322_date(date, sizeof date,
			    r->will_retry_until);
			out_str(o, "Will-Retry-Until: ");
			out_str(o, date);
			out_str(o, "\r\n");
		}
	}
	buf_free(&t);
	buf_free(&v);
}
