/* check_mime8.c - unit tests of mime8.c, the RFC 6152 8bit -> 7bit
 * downgrade.
 *
 * A driver feeds a message line by line (split at CRLF), either whole
 * lines or in pieces with EOL 0, and collects the output.  Exact outputs
 * are checked from tables; bigger and random messages are checked by
 * invariants (7-bit, line lengths) and by a small MIME walker that
 * decodes quoted-printable (RFC 2045 6.7, strictly) and compares the
 * leaf bodies of input and output.
 * Octal escapes ("\351") are used for 8-bit octets: a hex escape would
 * swallow the letters after it.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime8.h"
#include "util.h"

#define HDR_MV	"MIME-Version: 1.0\r\n"
#define HDR_CT8	"Content-Type: text/plain; charset=unknown-8bit\r\n"
#define HDR_QP	"Content-Transfer-Encoding: quoted-printable\r\n"
/* X25: a string literal of 25 times the one-octet literal C */
#define X5(c)	c c c c c
#define X25(c)	X5(c) X5(c) X5(c) X5(c) X5(c)

/* ---- driver ----------------------------------------------------------- */

static uint64_t rng = 88172645463325252ULL;

static unsigned
rnd(void)
{
	/* xorshift64: fixed seed, same sequence in every run */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32);
}

static size_t
find_crlf(const char *p, size_t len, size_t from)
{
	size_t i;

	for (i = from; i + 1 < len; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return i;
	return len;
}

static int
ends_line(const struct buf *b)
{
	return b->len == 0 ||
	    (b->len >= 2 && b->p[b->len - 2] == '\r' &&
	    b->p[b->len - 1] == '\n');
}

/* feed: push MSG to M, line by line.  PIECE 0: whole lines; > 0: pieces
 * of that many octets; < 0: random pieces (and sometimes an empty push
 * carrying the EOL).  Stops at the first error.  0 or -1. */
static int
feed(struct mime8 *m, const char *msg, size_t len, int piece,
    struct buf *out, struct ob_err *err)
{
	size_t i = 0, e, n, pos, k;
	int eol, last, r;

	while (i < len) {
		e = find_crlf(msg, len, i);
		n = e - i;
		eol = e < len;
		if (piece == 0)
			r = mime8_line(m, msg + i, n, eol, out, err);
		else {
			pos = 0;
			do {
				if (piece > 0)
					k = (size_t)piece;
				else if (rnd() % 4 == 0)
					k = 1 + rnd() % 8;
				else
					k = 1 + rnd() % 1500;
				if (k > n - pos)
					k = n - pos;
				last = pos + k == n;
				if (last && eol && piece < 0 &&
				    rnd() % 4 == 0) {
					r = mime8_line(m, msg + i + pos, k, 0,
					    out, err);
					if (r == 0)
						r = mime8_line(m, "", 0, 1,
						    out, err);
				} else
					r = mime8_line(m, msg + i + pos, k,
					    last && eol, out, err);
				pos += k;
			} while (!last && r == 0);
		}
		if (r == -1)
			return -1;
		/* mime8.h: after a push with EOL set, OUT ends a line */
		if (eol && !ends_line(out))
			ck_abort_msg("output not at a line boundary after "
			    "line at offset %zu", i);
		i = eol ? e + 2 : len;
	}
	return mime8_end(m, out, err);
}

/* convert: a fresh converter for one message. */
static int
convert(const char *msg, size_t len, int piece, struct buf *out,
    struct ob_err *err)
{
	struct mime8 *m = mime8_new();
	int r;

	buf_clear(out);
	memset(err, 0, sizeof *err);
	r = feed(m, msg, len, piece, out, err);
	mime8_free(m);
	return r;
}

/* check_7bit: no 8-bit octet anywhere, every line at most MAXLINE
 * octets, and the output ends with CRLF. */
static void
check_7bit(const struct buf *out, size_t maxline)
{
	size_t i = 0, e;

	/* (every ck_assert writes to Check's pipe: keep them out of loops) */
	for (e = 0; e < out->len; e++)
		if ((unsigned char)out->p[e] & 0x80)
			ck_abort_msg("8-bit octet 0x%02x at output offset %zu",
			    (unsigned char)out->p[e], e);
	while (i < out->len) {
		e = find_crlf(out->p, out->len, i);
		if (e == out->len)
			ck_abort_msg("output does not end with CRLF");
		if (e - i > maxline)
			ck_abort_msg("output line of %zu octets at offset %zu",
			    e - i, i);
		i = e + 2;
	}
}

/* ---- a small MIME walker and a strict QP decoder ---------------------- */

struct ln {
	const char	*p;
	size_t		 n;
};

struct lines {
	struct ln	*v;
	size_t		 n;
};

static void
split_lines(const char *p, size_t len, struct lines *ls)
{
	size_t i = 0, e, cap = 16;

	ls->v = xreallocarray(NULL, cap, sizeof *ls->v);
	ls->n = 0;
	while (i < len) {
		e = find_crlf(p, len, i);
		if (ls->n == cap) {
			cap *= 2;
			ls->v = xreallocarray(ls->v, cap, sizeof *ls->v);
		}
		ls->v[ls->n].p = p + i;
		ls->v[ls->n].n = e - i;
		ls->n++;
		i = e < len ? e + 2 : len;
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')	/* RFC 2045 6.7 (1): uppercase */
		return c - 'A' + 10;
	return -1;
}

/* qp_decode: RFC 2045 6.7, strictly: lines at most 76 octets, '='
 * followed by two uppercase hex digits or ending the line (soft break),
 * literals 33..126 or SP/HT, never SP/HT at the end of a line.  Each hard
 * line break becomes CRLF.  0, or -1 on anything else. */
static int
qp_decode(const struct ln *v, size_t n, struct buf *dst)
{
	size_t i, j;
	int c, hi, lo, soft;

	for (i = 0; i < n; i++) {
		if (v[i].n > MIME8_QP_LINE)
			return -1;
		soft = 0;
		for (j = 0; j < v[i].n; j++) {
			c = (unsigned char)v[i].p[j];
			if (c == '=') {
				if (j + 1 == v[i].n) {
					soft = 1;
					break;
				}
				if (j + 2 >= v[i].n)
					return -1;
				hi = hexval((unsigned char)v[i].p[j + 1]);
				lo = hexval((unsigned char)v[i].p[j + 2]);
				if (hi < 0 || lo < 0)
					return -1;
				buf_addc(dst, hi << 4 | lo);
				j += 2;
			} else if (c == ' ' || c == '\t') {
				if (j + 1 == v[i].n)
					return -1;
				buf_addc(dst, c);
			} else if (c >= 33 && c <= 126)
				buf_addc(dst, c);
			else
				return -1;
		}
		if (!soft)
			buf_add(dst, "\r\n", 2);
	}
	return 0;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* first token of a field value, lowercased */
static void
first_token(const char *v, char *dst, size_t n)
{
	size_t k = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	while (*v != '\0' && *v != ';' && *v != ' ' && *v != '\t' &&
	    *v != '(' && k + 1 < n)
		dst[k++] = *v++;
	dst[k] = '\0';
	lower(dst);
}

static void
get_boundary(const char *v, char *dst, size_t n)
{
	const char *p = v;
	size_t k = 0;

	dst[0] = '\0';
	for (; *p != '\0'; p++)
		if (ob_strncasecmp(p, "boundary=", 9) == 0 &&
		    (p == v || p[-1] == ' ' || p[-1] == ';'))
			break;
	if (*p == '\0')
		return;
	p += 9;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"' && k + 1 < n; p++)
			dst[k++] = *p;
	} else {
		for (; *p != '\0' && *p != ';' && *p != ' ' && k + 1 < n; p++)
			dst[k++] = *p;
	}
	dst[k] = '\0';
}

static int
is_delim(const struct ln *l, const char *bnd, int *close)
{
	size_t bl = strlen(bnd);

	if (l->n < 2 + bl || l->p[0] != '-' || l->p[1] != '-' ||
	    memcmp(l->p + 2, bnd, bl) != 0)
		return 0;
	if (l->n == 2 + bl) {
		*close = 0;
		return 1;
	}
	if (l->n == 4 + bl && l->p[2 + bl] == '-' && l->p[3 + bl] == '-') {
		*close = 1;
		return 1;
	}
	return 0;
}

/* flatten: walk the entity in lines [A, B) and append its leaf bodies,
 * decoded, with length-prefixed markers to FLAT.  Preamble, epilogue and
 * headers are left out.  0, or -1 on malformed quoted-printable. */
static int
flatten(const struct lines *ls, size_t a, size_t b, struct buf *flat,
    int depth)
{
	char ct[4096] = "", cte[256] = "", type[128], bnd[256], enc[64];
	char *cur = NULL;
	size_t i, body = b, start = 0, cap = 0, k;
	struct buf tmp;
	int in_part = 0, close, r = 0;

	if (depth >= 64)
		ck_abort_msg("walker: nested too deep");
	for (i = a; i < b; i++) {
		const struct ln *l = &ls->v[i];

		if (l->n == 0) {
			body = i + 1;
			break;
		}
		if (l->p[0] == ' ' || l->p[0] == '\t') {
			if (cur != NULL && strlen(cur) + l->n < cap)
				strncat(cur, l->p, l->n);
			continue;
		}
		if (memchr(l->p, ':', l->n) == NULL) {
			body = i;
			break;
		}
		cur = NULL;
		if (l->n > 13 && ob_strncasecmp(l->p, "content-type:", 13) == 0
		    && ct[0] == '\0') {
			cur = ct;
			cap = sizeof ct;
			k = l->n - 13 < cap - 1 ? l->n - 13 : cap - 1;
			memcpy(ct, l->p + 13, k);
			ct[k] = '\0';
		} else if (l->n >= 26 && ob_strncasecmp(l->p,
		    "content-transfer-encoding:", 26) == 0 && cte[0] == '\0') {
			cur = cte;
			cap = sizeof cte;
			k = l->n - 26 < cap - 1 ? l->n - 26 : cap - 1;
			memcpy(cte, l->p + 26, k);
			cte[k] = '\0';
		}
	}
	first_token(ct, type, sizeof type);
	first_token(cte, enc, sizeof enc);
	get_boundary(ct, bnd, sizeof bnd);
	if (strncmp(type, "multipart/", 10) == 0 && bnd[0] != '\0') {
		buf_addstr(flat, "<multi>");
		for (i = body; i < b; i++) {
			if (!is_delim(&ls->v[i], bnd, &close))
				continue;
			if (in_part && flatten(ls, start, i, flat,
			    depth + 1) == -1)
				return -1;
			if (close)
				break;
			in_part = 1;
			start = i + 1;
		}
		buf_addstr(flat, "</multi>");
		return 0;
	}
	if (strcmp(type, "message/rfc822") == 0) {
		buf_addstr(flat, "<msg>");
		if (flatten(ls, body, b, flat, depth + 1) == -1)
			return -1;
		buf_addstr(flat, "</msg>");
		return 0;
	}
	buf_init(&tmp, 0);
	if (strcmp(enc, "quoted-printable") == 0)
		r = qp_decode(ls->v + body, b - body, &tmp);
	else
		for (i = body; i < b; i++) {
			buf_add(&tmp, ls->v[i].p, ls->v[i].n);
			buf_add(&tmp, "\r\n", 2);
		}
	buf_printf(flat, "<leaf %zu>", tmp.len);
	buf_add(flat, tmp.p, tmp.len);
	buf_free(&tmp);
	return r;
}

static int
flatten_msg(const char *p, size_t len, struct buf *flat)
{
	struct lines ls;
	int r;

	buf_clear(flat);
	split_lines(p, len, &ls);
	r = flatten(&ls, 0, ls.n, flat, 0);
	free(ls.v);
	return r;
}

/* check_same_content: OUT decodes to the leaf bodies of IN. */
static void
check_same_content(const char *in, size_t inlen, const struct buf *out)
{
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	ck_assert_int_eq(flatten_msg(in, inlen, &a), 0);
	ck_assert_msg(flatten_msg(out->p, out->len, &b) == 0,
	    "malformed quoted-printable in output");
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_msg(memcmp(a.p, b.p, a.len) == 0,
	    "decoded output differs from input");
	buf_free(&a);
	buf_free(&b);
}

/* check_roundtrip: OUT is 7-bit with lines of at most 998 octets, and
 * decodes to IN; with IDENTICAL it is IN, byte for byte. */
static void
check_roundtrip(const struct buf *in, const struct buf *out, int identical)
{
	check_7bit(out, 998);
	check_same_content(in->p, in->len, out);
	if (identical) {
		ck_assert_uint_eq(out->len, in->len);
		ck_assert_mem_eq(out->p, in->p, in->len);
	}
}

/* ---- exact outputs ------------------------------------------------------ */

struct exact {
	const char	*name;
	const char	*in;
	const char	*out;	/* NULL: same as in */
};

/* maxline: the longest line in S, at least 998 */
static size_t
maxline(const char *s)
{
	size_t n, max = 998;

	for (; *s != '\0'; s += n) {
		n = strcspn(s, "\n") + (s[strcspn(s, "\n")] != '\0');
		if (n > max + 2)
			max = n - 2;
	}
	return max;
}

static const int pieces[] = { 0, 1, 2, 7, 64, -1 };

static void
run_exact(const struct exact *t)
{
	const char *want = t->out != NULL ? t->out : t->in;
	struct ob_err err;
	struct buf out;
	size_t i;

	buf_init(&out, 0);
	for (i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		ck_assert_msg(convert(t->in, strlen(t->in), pieces[i], &out,
		    &err) == 0, "%s (piece %d): %s", t->name, pieces[i],
		    err.text);
		ck_assert_msg(out.len == strlen(want) &&
		    memcmp(out.p, want, out.len) == 0,
		    "%s (piece %d):\n--- got ---\n%s\n--- want ---\n%s",
		    t->name, pieces[i], out.p, want);
		check_7bit(&out, maxline(want));
	}
	buf_free(&out);
}

/* 7-bit messages come out byte for byte */
static const struct exact seven[] = {
	{ "plain", "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
	    "world\r\n", NULL },
	{ "no body", "From: a@example.org\r\nSubject: hi\r\n", NULL },
	{ "empty body", "From: a@example.org\r\n\r\n", NULL },
	{ "empty lines", "From: a\r\n\r\n\r\n\r\nx\r\n\r\n", NULL },
	{ "folded header", "From: a\r\nSubject: a\r\n  long\r\n\tsubject"
	    "\r\n\r\nbody\r\n", NULL },
	{ "implicit header end", "From: a\r\nbody line\r\n", NULL },
	{ "mime text", "MIME-Version: 1.0\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n"
	    "Subject: s\r\n\r\nbody =\r\n. dot\r\n", NULL },
	{ "declared 8bit, 7-bit body", "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\nabc\r\n", NULL },
	{ "declared qp", "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\nabc=3D=\r\ndef\r\n", NULL },
	{ "multipart", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
	    "boundary=\"=_b\"\r\n\r\npreamble\r\n--=_b\r\n"
	    "Content-Type: text/plain\r\n\r\none\r\n--=_b\r\n\r\ntwo\r\n"
	    "--=_b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n"
	    "--=_b--\r\nepilogue\r\n", NULL },
	{ "nested multipart", "Content-Type: multipart/mixed; boundary=o\r\n"
	    "\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n"
	    "\r\n--i\r\n\r\nplain\r\n--i\r\nContent-Type: text/html\r\n\r\n"
	    "<p>x</p>\r\n--i--\r\n--o\r\nContent-Type: message/rfc822\r\n"
	    "\r\nSubject: in\r\n\r\ninner\r\n--o--\r\n", NULL },
	{ "boundary-like lines", "Content-Type: multipart/mixed; "
	    "boundary=b\r\n\r\n--b\r\n\r\n--bx\r\n--b-\r\n-- b\r\n--b\r\n\r\n"
	    "--\r\n--b--  \r\n", NULL },
	{ "dots", "From: a\r\n\r\n.\r\n..\r\n.x\r\n", NULL },
	{ "long header in pieces", "From: a\r\nX-Long: "
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789012345678901234567890123456789012345678901"
	    "2345678901234567890123456789012345678901234567890123456789012345"
	    "6789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789012345678901234567890123456789012345678901"
	    "2345678901234567890123456789012345678901234567890123456789012345"
	    "6789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789012345678901234567890123456789012345678901"
	    "2345678901234567890123456789012345678901234567890123456789012345"
	    "6789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\r\n\r\nbody\r\n", NULL },
};

START_TEST(seven_bit)
{
	run_exact(&seven[_i]);
}
END_TEST

/* conversions with exactly known results */
static const struct exact conv[] = {
	{ "plain 8-bit, no MIME",
	    "From: a@example.org\r\nSubject: x\r\n\r\nh\351llo\r\nworld\r\n",
	    "From: a@example.org\r\nSubject: x\r\n" HDR_MV HDR_CT8 HDR_QP
	    "\r\nh=E9llo\r\nworld\r\n" },
	{ "8-bit on a later line, held lines encoded too",
	    "From: a\r\n\r\na=b\r\n\r\nx\351\r\n",
	    "From: a\r\n" HDR_MV HDR_CT8 HDR_QP "\r\na=3Db\r\n\r\nx=E9\r\n" },
	{ "implicit header end",
	    "From: a\r\nh\351llo\r\n",
	    "From: a\r\n" HDR_MV HDR_CT8 HDR_QP "\r\nh=E9llo\r\n" },
	{ "no header at all",
	    "\r\n\351\r\n",
	    HDR_MV HDR_CT8 HDR_QP "\r\n=E9\r\n" },
	{ "content-type kept, mime-version added",
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n\303\251\r\n",
	    "Content-Type: text/plain; charset=utf-8\r\n" HDR_MV HDR_QP
	    "\r\n=C3=A9\r\n" },
	{ "declared 8bit: CTE replaced in place",
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\nSubject: s\r\n\r\n\303\251\r\n",
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    HDR_QP "Subject: s\r\n\r\n=C3=A9\r\n" },
	{ "qp edge cases",
	    "From: a\r\n\r\n\351\r\ntrail \r\ntab\t\r\n \r\n=\r\n.\r\n"
	    "..x\r\n-- \r\n",
	    "From: a\r\n" HDR_MV HDR_CT8 HDR_QP "\r\n=E9\r\ntrail=20\r\n"
	    "tab=09\r\n=20\r\n=3D\r\n.\r\n..x\r\n--=20\r\n" },
	{ "controls and CR escaped",
	    "From: a\r\n\r\n\351\001\r\r\na\rb\r\n\177\r\n",
	    "From: a\r\n" HDR_MV HDR_CT8 HDR_QP "\r\n=E9=01=0D\r\na=0Db\r\n"
	    "=7F\r\n" },
	{ "declared qp with raw 8-bit",
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\nabc=3D\351=\r\n"
	    "x\377y\r\n",
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\nabc=3D=E9=\r\n"
	    "x=FFy\r\n" },
	{ "multipart mixed",
	    "From: a@example.org\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
	    "pre\351amble\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
	    "seven bit\r\n--XX\r\nContent-Type: text/plain; charset=latin1\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\351\r\n--XX\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XX\r\n"
	    "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\n"
	    "inner \351\r\n--XX--\r\nepi\374logue\r\n",
	    "From: a@example.org\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
	    "pre?amble\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
	    "seven bit\r\n--XX\r\nContent-Type: text/plain; charset=latin1\r\n"
	    HDR_QP "\r\ncaf=E9\r\n--XX\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XX\r\n"
	    "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
	    HDR_MV HDR_CT8 HDR_QP "\r\ninner =E9\r\n--XX--\r\nepi?logue\r\n" },
	{ "part without headers",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
	    "\351\r\n--b--\r\n",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    HDR_CT8 HDR_QP "\r\n=E9\r\n--b--\r\n" },
	{ "nested multipart",
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
	    "Content-Type: multipart/alternative; boundary=i\r\n\r\n"
	    "pre\r\n--i\r\nContent-Type: text/plain\r\n\r\n\344\r\n--i\r\n"
	    "Content-Type: text/html\r\n\r\n<p>\r\n--i--\r\nin-epi\200\r\n"
	    "--o\r\n\r\nx\r\n--o--\r\n",
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
	    "Content-Type: multipart/alternative; boundary=i\r\n\r\n"
	    "pre\r\n--i\r\nContent-Type: text/plain\r\n" HDR_QP "\r\n=E4\r\n"
	    "--i\r\nContent-Type: text/html\r\n\r\n<p>\r\n--i--\r\nin-epi?\r\n"
	    "--o\r\n\r\nx\r\n--o--\r\n" },
	{ "outer boundary closes inner multipart",
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
	    "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\n"
	    "\351\r\n--o\r\n\r\n\352\r\n--o--\r\n",
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
	    "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n"
	    HDR_CT8 HDR_QP "\r\n=E9\r\n--o\r\n" HDR_CT8 HDR_QP "\r\n=EA\r\n"
	    "--o--\r\n" },
	{ "multipart declared 8bit becomes 7bit",
	    "Content-Type: multipart/mixed; boundary=b\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
	    "Content-Type: multipart/mixed; boundary=b\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n--b\r\n\r\nx\r\n"
	    "--b--\r\n" },
	{ "boundary followed by another parameter",
	    "Content-Type: multipart/related; boundary=\"XX\"; "
	    "type=\"text/html\"\r\n\r\n--XX\r\n\r\n\351\r\n--XX--\r\n",
	    "Content-Type: multipart/related; boundary=\"XX\"; "
	    "type=\"text/html\"\r\n\r\n--XX\r\n" HDR_CT8 HDR_QP "\r\n=E9\r\n"
	    "--XX--\r\n" },
	{ "boundary with padding and comment in type",
	    "Content-Type: (c) Multipart/Mixed (x) ; charset=a;\r\n"
	    "  boundary = \"a b\"\r\n\r\n--a b \t\r\n\r\n\351\r\n--a b--\r\n",
	    "Content-Type: (c) Multipart/Mixed (x) ; charset=a;\r\n"
	    "  boundary = \"a b\"\r\n\r\n--a b \t\r\n" HDR_CT8 HDR_QP
	    "\r\n=E9\r\n--a b--\r\n" },
	{ "digest parts default to message/rfc822",
	    "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
	    "Subject: m\r\n\r\n\351\r\n--d--\r\n",
	    "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
	    "Subject: m\r\n" HDR_MV HDR_CT8 HDR_QP "\r\n=E9\r\n--d--\r\n" },
	{ "message/rfc822 at top level, 8bit declared",
	    "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\nFrom: x\r\n\r\n\351\r\n",
	    "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nFrom: x\r\n"
	    HDR_MV HDR_CT8 HDR_QP "\r\n=E9\r\n" },
	{ "part header cut by boundary",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\n--b\r\n\r\n\351\r\n--b--\r\n",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\n--b\r\n" HDR_CT8 HDR_QP
	    "\r\n=E9\r\n--b--\r\n" },
	{ "unterminated multipart",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
	    "\351\r\n",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    HDR_CT8 HDR_QP "\r\n=E9\r\n" },
	{ "soft-broken line never starts a boundary",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
	    "\351\r\n" X25("a") X25("a") X25("a") "--b--\r\n--b--\r\n",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" HDR_CT8
	    HDR_QP "\r\n=E9\r\n"
	    X25("a") X25("a") X25("a") "=\r\n=2D-b--\r\n--b--\r\n" },
	{ "soft break at 76 and trailing space after it",
	    "From: a\r\n\r\n\351"
	    X25("b") X25("b") "bbbbbbbbbbbbbbbbbbbbb"
	    " \r\n",
	    "From: a\r\n" HDR_MV HDR_CT8 HDR_QP "\r\n=E9"
	    X25("b") X25("b") "bbbbbbbbbbbbbbbbbbbbb"
	    "=\r\n=20\r\n" },
	{ "escape never split by a soft break",
	    "From: a\r\n\r\n"
	    X25("c") X25("c") "ccccccccccccccccccccccc\351\r\n",
	    "From: a\r\n" HDR_MV HDR_CT8 HDR_QP "\r\n"
	    X25("c") X25("c") "ccccccccccccccccccccccc=\r\n=E9\r\n" },
	{ "8-bit in a field name: not a field, the body starts",
	    "Su\351ject: x\r\n\r\nb\r\n",
	    HDR_MV HDR_CT8 HDR_QP "\r\nSu=E9ject: x\r\n\r\nb\r\n" },
	{ "open last line is ended",
	    "From: a\r\n\r\n\351",
	    "From: a\r\n" HDR_MV HDR_CT8 HDR_QP "\r\n=E9\r\n" },
	{ "open last line, 7-bit",
	    "From: a\r\n\r\nabc", "From: a\r\n\r\nabc\r\n" },
};

START_TEST(conversions)
{
	run_exact(&conv[_i]);
}
END_TEST

/* a folded 8bit field is replaced by one line; the rest is dropped */
START_TEST(conv_fold)
{
	static const struct exact t = { "folded binary CTE",
	    "content-transfer-encoding:\r\n  BINARY (raw)\r\nX: y\r\n\r\n"
	    "\377\r\n",
	    HDR_QP "X: y\r\n" HDR_MV HDR_CT8 "\r\n=FF\r\n" };

	run_exact(&t);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

struct errcase {
	const char	*name;
	const char	*in;
	int		 kind;
};

static const struct errcase errs[] = {
	{ "8-bit in top-level header",
	    "From: a\r\nSubject: caf\351\r\n\r\nbody\r\n", OB_PERM },
	{ "8-bit in folded header line",
	    "From: a\r\nSubject: x\r\n caf\351\r\n\r\nbody\r\n", OB_PERM },
	{ "8-bit in part header",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Disposition: attachment; filename=\"\351.txt\"\r\n\r\n"
	    "x\r\n--b--\r\n", OB_PERM },
	{ "8-bit in held part header",
	    "Content-Transfer-Encoding: 8bit\r\nX-A: \351\r\n\r\nx\r\n",
	    OB_PERM },
	{ "8-bit in message/rfc822 header",
	    "Content-Type: message/rfc822\r\n\r\nSubject: \351\r\n\r\nx\r\n",
	    OB_PERM },
	{ "8-bit in base64 part",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAEC\351\r\n--b--\r\n",
	    OB_PERM },
	{ "8-bit in unknown encoding",
	    "Content-Transfer-Encoding: x-uuencode\r\n\r\n\351\r\n", OB_PERM },
	{ "8-bit in multipart declared base64",
	    "Content-Type: multipart/mixed; boundary=b\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n--b\r\n\r\n\351\r\n"
	    "--b--\r\n", OB_PERM },
};

static void
check_sticky(struct mime8 *m, const struct ob_err *first)
{
	struct ob_err e2, e3;
	struct buf out;

	buf_init(&out, 0);
	memset(&e2, 0, sizeof e2);
	memset(&e3, 0, sizeof e3);
	ck_assert_int_eq(mime8_line(m, "x", 1, 1, &out, &e2), -1);
	ck_assert_int_eq(mime8_line(m, "", 0, 0, &out, NULL), -1);
	ck_assert_int_eq(mime8_end(m, &out, &e3), -1);
	ck_assert_int_eq(mime8_end(m, &out, NULL), -1);
	ck_assert_int_eq(e2.kind, first->kind);
	ck_assert_int_eq(e3.kind, first->kind);
	ck_assert_str_eq(e2.text, first->text);
	ck_assert_str_eq(e3.text, first->text);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}

static void
run_err(const char *in, size_t len, int piece, int kind, const char *name)
{
	struct mime8 *m = mime8_new();
	struct ob_err err;
	struct buf out;
	size_t i;

	buf_init(&out, 0);
	memset(&err, 0, sizeof err);
	ck_assert_msg(feed(m, in, len, piece, &out, &err) == -1,
	    "%s (piece %d): no error", name, piece);
	ck_assert_int_eq(err.kind, kind);
	ck_assert_msg(err.text[0] != '\0', "%s: empty error text", name);
	for (i = 0; i < out.len; i++)
		if ((unsigned char)out.p[i] >= 0x80)
			ck_abort_msg("%s: 8-bit octet sent", name);
	check_sticky(m, &err);
	mime8_free(m);
	buf_free(&out);
}

START_TEST(errors)
{
	size_t i;

	for (i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
		run_err(errs[_i].in, strlen(errs[_i].in), pieces[i],
		    errs[_i].kind, errs[_i].name);
}
END_TEST

/* a long header line (fed in pieces) with an 8-bit octet past the first
 * 998 octets; and a Content-Transfer-Encoding field over 998 octets */
START_TEST(errors_long_header)
{
	struct buf in;
	int i;

	buf_init(&in, 0);
	buf_addstr(&in, "From: a\r\nX-Long: ");
	for (i = 0; i < 1500; i++)
		buf_addc(&in, 'a' + i % 26);
	buf_addstr(&in, "\351\r\n\r\nbody\r\n");
	run_err(in.p, in.len, 100, OB_PERM, "long header");
	run_err(in.p, in.len, 0, OB_PERM, "long header");
	buf_clear(&in);
	buf_addstr(&in, "From: a\r\nX-Long: \351");
	for (i = 0; i < 1500; i++)
		buf_addc(&in, 'a' + i % 26);
	buf_addstr(&in, "\r\n\r\nbody\r\n");
	run_err(in.p, in.len, 7, OB_PERM, "long header, 8-bit early");
	buf_clear(&in);
	buf_addstr(&in, "Content-Transfer-Encoding: 8bit");
	for (i = 0; i < 1500; i++)
		buf_addc(&in, ' ');
	buf_addstr(&in, "\r\n\r\nbody\r\n");
	run_err(in.p, in.len, 0, OB_PERM, "long CTE");
	buf_free(&in);
}
END_TEST

/* nested message/rfc822 and multipart: MIME8_MAX_DEPTH levels are fine,
 * one more is OB_PERM */
static void
nest_rfc822(struct buf *in, int n)
{
	int i;

	buf_clear(in);
	for (i = 0; i < n; i++)
		buf_addstr(in, "Content-Type: message/rfc822\r\n\r\n");
	buf_addstr(in, "Subject: deep\r\n\r\n\351\r\n");
}

static void
nest_multi(struct buf *in, int n)
{
	int i;

	buf_clear(in);
	for (i = 0; i < n; i++)
		buf_printf(in, "Content-Type: multipart/mixed; boundary=b%d\r\n"
		    "\r\n--b%d\r\n", i, i);
	buf_addstr(in, "\r\n\351\r\n");
	for (i = n - 1; i >= 0; i--)
		buf_printf(in, "--b%d--\r\n", i);
}

START_TEST(depth)
{
	struct ob_err err;
	struct buf in, out;

	buf_init(&in, 0);
	buf_init(&out, 0);
	nest_rfc822(&in, MIME8_MAX_DEPTH);
	ck_assert_int_eq(convert(in.p, in.len, 0, &out, &err), 0);
	check_7bit(&out, 76);
	check_same_content(in.p, in.len, &out);
	nest_rfc822(&in, MIME8_MAX_DEPTH + 1);
	run_err(in.p, in.len, 0, OB_PERM, "rfc822 depth");

	nest_multi(&in, MIME8_MAX_DEPTH);
	ck_assert_int_eq(convert(in.p, in.len, 0, &out, &err), 0);
	check_7bit(&out, 76);
	check_same_content(in.p, in.len, &out);
	nest_multi(&in, MIME8_MAX_DEPTH + 1);
	run_err(in.p, in.len, 0, OB_PERM, "multipart depth");
	nest_multi(&in, 100);
	run_err(in.p, in.len, 3, OB_PERM, "multipart depth 100");
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/* a full OUT is OB_TEMP, and sticky too */
START_TEST(out_full)
{
	static const char in[] = "From: a\r\n\r\n\351\351\351\351\r\n";
	struct ob_err err;
	struct buf out;

	buf_init(&out, 0);
	out.max = 40;
	{
		struct mime8 *m = mime8_new();

		ck_assert_int_eq(feed(m, in, strlen(in), 0, &out, &err), -1);
		ck_assert_int_eq(err.kind, OB_TEMP);
		check_sticky(m, &err);
		mime8_free(m);
	}
	buf_free(&out);
	mime8_free(NULL);
}
END_TEST

/* ---- long lines and big parts ------------------------------------------ */

/* 8-bit and 7-bit lines over 998 octets in an identity part are encoded
 * as soft-broken QP lines that decode exactly, whatever the pieces. */
START_TEST(long_encoded)
{
	static const int lens[] = { 999, 1000, 2500, 7000 };
	struct ob_err err;
	struct buf in, out;
	size_t i, p;
	int j, k;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (k = 0; k < 2; k++)
		for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
			buf_clear(&in);
			buf_addstr(&in, "Content-Type: multipart/mixed; "
			    "boundary=b\r\n\r\n--b\r\n\r\nshort\r\n");
			for (j = 0; j < lens[i]; j++)
				buf_addc(&in, k == 0 ? '-' :
				    j % 50 == 0 ? 0xe9 : 'a' + j % 26);
			buf_addstr(&in, "\r\nend\r\n--b--\r\n");
			for (p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
				ck_assert_int_eq(convert(in.p, in.len,
				    pieces[p], &out, &err), 0);
				check_7bit(&out, 76);
				ck_assert_ptr_nonnull(strstr(out.p, HDR_QP));
				check_same_content(in.p, in.len, &out);
			}
		}
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/* found by fuzz_mime8: in a declared-QP part, the escapes of raw 8-bit
 * octets lengthen the line, so the plain octets after them need soft
 * breaks as well; every line stays within 998 and decodes back */
START_TEST(qpfix_plain_after_escape)
{
	struct ob_err err;
	struct buf in, out, dec;
	struct lines ls;
	size_t p, i, c;
	int j, v;

	for (v = 0; v < 3; v++) {
		buf_init(&in, 0);
		buf_init(&out, 0);
		buf_addstr(&in, "Content-Transfer-Encoding: quoted-printable"
		    "\r\n\r\n");
		if (v == 0) {
			buf_addc(&in, 0xe9);
			for (j = 0; j < 996; j++)
				buf_addc(&in, 'a');
		} else if (v == 1) {
			for (j = 0; j < 332; j++)
				buf_addc(&in, 0xe9);
			for (j = 0; j < 600; j++)
				buf_addc(&in, 'a');
		} else {
			/* a 998-octet line: an escape begun at 995 that
			 * holds a raw octet cannot be split (fuzz_mime8) */
			for (j = 0; j < 995; j++)
				buf_addc(&in, 'a');
			buf_addstr(&in, "=a");
			buf_addc(&in, 0xe9);
		}
		buf_addstr(&in, "\r\n");
		for (p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
			ck_assert_int_eq(convert(in.p, in.len, pieces[p], &out,
			    &err), 0);
			check_7bit(&out, 998);
			if (v == 2)	/* "=a" is no escape: not decodable */
				continue;
			split_lines(out.p, out.len, &ls);
			buf_init(&dec, 0);
			for (i = 2; i < ls.n; i++) {
				const struct ln *l = &ls.v[i];

				for (c = 0; c < l->n; c++)
					if (l->p[c] == '=' && c + 1 < l->n) {
						buf_addc(&dec,
						    hexval(l->p[c + 1]) << 4 |
						    hexval(l->p[c + 2]));
						c += 2;
					} else if (l->p[c] != '=')
						buf_addc(&dec, l->p[c]);
				if (l->n == 0 || l->p[l->n - 1] != '=')
					buf_add(&dec, "\r\n", 2);
			}
			ck_assert_uint_eq(dec.len, in.len - 47);
			ck_assert_mem_eq(dec.p, in.p + 47, dec.len);
			buf_free(&dec);
			free(ls.v);
		}
		buf_free(&in);
		buf_free(&out);
	}
}
END_TEST

/* a long base64 line, and a long line in a 7-bit QP part, pass on
 * unchanged; in a QP part with raw 8-bit octets it is broken at 998 */
START_TEST(long_passed)
{
	struct ob_err err;
	struct buf in, out;
	size_t p;
	int j;

	buf_init(&in, 0);
	buf_init(&out, 0);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	for (j = 0; j < 3000; j++)
		buf_addc(&in, 'A' + j % 26);
	buf_addstr(&in, "\r\n--b\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\n");
	for (j = 0; j < 2000; j++)
		buf_addc(&in, 'a' + j % 26);
	buf_addstr(&in, "\r\n--b--\r\n");
	for (p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
		ck_assert_int_eq(convert(in.p, in.len, pieces[p], &out, &err),
		    0);
		ck_assert_uint_eq(out.len, in.len);
		ck_assert_mem_eq(out.p, in.p, in.len);
	}

	buf_clear(&in);
	buf_addstr(&in, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	for (j = 0; j < 1500; j++)
		buf_addc(&in, j % 3 == 0 ? 0xfc : 'z');
	buf_addstr(&in, "\r\n");
	for (p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
		struct lines ls;
		struct buf dec;
		size_t i;

		ck_assert_int_eq(convert(in.p, in.len, pieces[p], &out, &err),
		    0);
		check_7bit(&out, 998);
		/* decode by hand: lines here may be up to 998 octets */
		split_lines(out.p, out.len, &ls);
		buf_init(&dec, 0);
		for (i = 2; i < ls.n; i++) {
			const struct ln *l = &ls.v[i];
			size_t c;

			for (c = 0; c < l->n; c++)
				if (l->p[c] == '=' && c + 1 < l->n) {
					int hi = hexval(l->p[c + 1]);
					int lo = c + 2 < l->n ?
					    hexval(l->p[c + 2]) : -1;

					if (hi < 0 || lo < 0)
						ck_abort_msg("bad escape");
					buf_addc(&dec, hi << 4 | lo);
					c += 2;
				} else if (l->p[c] != '=')
					buf_addc(&dec, l->p[c]);
			if (l->n == 0 || l->p[l->n - 1] != '=')
				buf_add(&dec, "\r\n", 2);
		}
		ck_assert_uint_gt(ls.n, 3);		/* it was broken */
		ck_assert_uint_eq(dec.len, in.len - 47);
		ck_assert_mem_eq(dec.p, in.p + 47, dec.len);
		buf_free(&dec);
		free(ls.v);
	}
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/* a 7-bit part over MIME8_HOLD_MAX: it may be encoded, but it decodes to
 * the input; smaller ones stay byte for byte */
START_TEST(hold_max)
{
	static const size_t sizes[] = { 1000, MIME8_HOLD_MAX / 2,
	    MIME8_HOLD_MAX, MIME8_HOLD_MAX + 100, 3 * MIME8_HOLD_MAX };
	struct ob_err err;
	struct buf in, out;
	size_t i, body;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		buf_clear(&in);
		buf_addstr(&in, "Content-Type: multipart/mixed; boundary=b\r\n"
		    "\r\n--b\r\nContent-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: 7bit\r\nX-After: 1\r\n\r\n");
		for (body = 0; body < sizes[i]; body += 60)
			buf_printf(&in, "line %05zu =.- \t"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
			    body / 60);
		buf_addstr(&in, "--b--\r\n");
		ck_assert_int_eq(convert(in.p, in.len, -1, &out, &err), 0);
		check_roundtrip(&in, &out, sizes[i] <= MIME8_HOLD_MAX / 2);
	}
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/* a part header longer than the hold, after its CTE field: the held
 * header lines are sent early and the CTE field ends the header */
START_TEST(hold_spill)
{
	struct ob_err err;
	struct buf in, out;
	const char *p;
	int i, k;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (k = 0; k < 2; k++) {
		buf_clear(&in);
		buf_addstr(&in, "MIME-Version: 1.0\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n");
		for (i = 0; i < 400; i++)
			buf_printf(&in, "X-Pad-%03d: %s\r\n", i,
			    "ppppppppppppppppppppppppppppppppppppppppppppppp");
		if (k == 1) {		/* and a long header line */
			buf_addstr(&in, "X-Long: ");
			for (i = 0; i < 1200; i++)
				buf_addc(&in, 'l');
			buf_addstr(&in, "\r\n");
		}
		buf_addstr(&in, "\r\nbody \344\r\n");
		ck_assert_int_eq(convert(in.p, in.len, -1, &out, &err), 0);
		check_7bit(&out, 1300);
		check_same_content(in.p, in.len, &out);
		p = strstr(out.p, HDR_QP);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(p, HDR_QP "\r\nbody =E4\r\n");
		ck_assert_ptr_null(strstr(out.p, "8bit"));
	}
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/* header edge cases: long lines after a held CTE field, a long folded
 * line, a Content-Type longer than what is kept, an over-long boundary */
START_TEST(header_edges)
{
	struct ob_err err;
	struct buf in, want, out;
	size_t p;
	int i;

	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_init(&out, 0);

	/* a long field after the CTE field sends the held lines early */
	buf_addstr(&in, "Content-Transfer-Encoding: 8bit\r\nX-Long: ");
	buf_addstr(&want, "X-Long: ");
	for (i = 0; i < 1200; i++) {
		buf_addc(&in, 'a' + i % 26);
		buf_addc(&want, 'a' + i % 26);
	}
	buf_addstr(&in, "\r\n folded ");
	buf_addstr(&want, "\r\n folded ");
	for (i = 0; i < 1100; i++) {
		buf_addc(&in, 'A' + i % 26);
		buf_addc(&want, 'A' + i % 26);
	}
	buf_addstr(&in, "\r\n\r\nbody\351\r\n");
	buf_addstr(&want, "\r\n" HDR_QP HDR_MV HDR_CT8 "\r\nbody=E9\r\n");
	for (p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
		ck_assert_int_eq(convert(in.p, in.len, pieces[p], &out, &err),
		    0);
		ck_assert_str_eq(out.p, want.p);
	}

	/* a Content-Type field longer than the value kept (4096) */
	buf_clear(&in);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=zz;\r\n");
	for (i = 0; i < 100; i++)
		buf_printf(&in, " x-param-%02d=\"%s\";\r\n", i,
		    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
	buf_addstr(&in, "\r\n--zz\r\n\r\n\351\r\n--zz--\r\n");
	ck_assert_int_eq(convert(in.p, in.len, -1, &out, &err), 0);
	check_7bit(&out, 76);
	check_same_content(in.p, in.len, &out);
	ck_assert_ptr_nonnull(strstr(out.p, "\r\n--zz\r\n" HDR_CT8 HDR_QP
	    "\r\n=E9\r\n--zz--\r\n"));

	/* a boundary over 200 octets is unusable: the multipart is
	 * converted as one leaf */
	buf_clear(&in);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=\"");
	for (i = 0; i < 250; i++)
		buf_addc(&in, 'q');
	buf_addstr(&in, "\"\r\n\r\n--");
	for (i = 0; i < 250; i++)
		buf_addc(&in, 'q');
	buf_addstr(&in, "\r\n\r\n\351\r\n");
	ck_assert_int_eq(convert(in.p, in.len, 0, &out, &err), 0);
	check_7bit(&out, 998);
	ck_assert_ptr_nonnull(strstr(out.p, "\"\r\n" HDR_MV HDR_QP "\r\n--q"));
	ck_assert_ptr_nonnull(strstr(out.p, "q=\r\nq"));

	/* quoted-pair in the boundary and in a comment */
	buf_clear(&in);
	buf_addstr(&in, "Content-Type: (a \\) b) multipart/mixed; "
	    "boundary=\"x\\\"y\"\r\n\r\n--x\"y\r\n\r\n\351\r\n"
	    "--x\"y--\r\n");
	ck_assert_int_eq(convert(in.p, in.len, 0, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out.p, "\r\n--x\"y\r\n" HDR_CT8 HDR_QP
	    "\r\n=E9\r\n--x\"y--\r\n"));

	/* a folded CTE field bigger than the hold cannot be replaced */
	buf_clear(&in);
	buf_addstr(&in, "Content-Transfer-Encoding: 8bit\r\n");
	for (i = 0; i < 300; i++)
		buf_printf(&in, " (%s)\r\n", "ccccccccccccccccccccccccccccccccc"
		    "ccccccccccccccccccccccccccccccccc");
	buf_addstr(&in, "\r\nx\r\n");
	run_err(in.p, in.len, 0, OB_PERM, "CTE over the hold");
	buf_free(&in);
	buf_free(&want);
	buf_free(&out);
}
END_TEST

/* ---- randomized round trip ------------------------------------------- */

static int has8;
static int haslong;

/* gen_line: a random line; over 998 octets only when LONGOK (a long
 * preamble line would be passed on as it is) */
static void
gen_line(struct buf *b, unsigned p8, int longok)
{
	static const char special[] = " \t=-.\r\n\0";
	size_t n, i, start = b->len;
	unsigned r = rnd() % 100;
	unsigned c, prev = 0;

	if (r < 10)
		n = 0;
	else if (r < 70)
		n = 1 + rnd() % 80;
	else if (r < 85)
		n = 81 + rnd() % 918;
	else
		n = 999 + rnd() % 3000;
	if (!longok && n > 995)
		n = 995;		/* with "--" and a space: 998 */
	if (n > 998)
		haslong = 1;
	r = rnd() % 20;
	if (r == 0)
		buf_addstr(b, "--");
	else if (r == 1)
		buf_addstr(b, ".");
	for (i = 0; i < n; i++) {
		r = rnd() % 1000;
		if (r < p8)
			c = 0x80 + rnd() % 128;
		else if (r < p8 + 60)
			c = (unsigned char)special[rnd() % 8];
		else
			c = 32 + rnd() % 95;
		if (c == '\n' && prev == '\r')
			c = 'n';
		buf_addc(b, (int)c);
		prev = c;
		if (c & 0x80)
			has8 = 1;
	}
	/* never our boundaries ("=_b..."): those lines only come from gen */
	if (b->len - start >= 4 && memcmp(b->p + start, "--=_", 4) == 0)
		b->p[start + 2] = 'x';
	if (rnd() % 10 == 0)
		buf_addc(b, ' ');
	buf_addstr(b, "\r\n");
}

static void
gen_body(struct buf *b, unsigned p8)
{
	unsigned i, n = rnd() % 20 == 0 ? 300 + rnd() % 200 : rnd() % 25;

	for (i = 0; i < n; i++)
		gen_line(b, p8, 1);
}

static void
gen_leaf_header(struct buf *b)
{
	static const char *const ct[] = { "",
	    "Content-Type: text/plain; charset=utf-8\r\n",
	    "Content-Type: text/plain\r\n",
	    "Content-Type: application/x-y\r\n" };
	static const char *const cte[] = { "",
	    "Content-Transfer-Encoding: 7bit\r\n",
	    "Content-Transfer-Encoding: 8bit\r\n",
	    "Content-Transfer-Encoding: Binary\r\n",
	    "Content-Transfer-Encoding:\r\n 8bit\r\n" };

	buf_addstr(b, ct[rnd() % 4]);
	buf_addstr(b, cte[rnd() % 5]);
	if (rnd() % 2)
		buf_addstr(b, "X-Other: yes\r\n");
	buf_addstr(b, "\r\n");
}

static void
gen_entity(struct buf *b, unsigned p8, int level)
{
	unsigned kind = level >= 3 ? 0 : rnd() % 4;
	unsigned i, n;
	char bnd[32];

	switch (kind) {
	case 0:
	case 1:
		gen_leaf_header(b);
		gen_body(b, p8);
		break;
	case 2:
		ob_snprintf(bnd, sizeof bnd, "=_b%u_%d", rnd() % 1000, level);
		buf_printf(b, "Content-Type: multipart/mixed;\r\n "
		    "boundary=\"%s\"\r\n\r\n", bnd);
		if (rnd() % 2)
			gen_line(b, 500, 0);		/* preamble */
		n = 1 + rnd() % 3;
		for (i = 0; i < n; i++) {
			buf_printf(b, "--%s\r\n", bnd);
			gen_entity(b, p8, level + 1);
		}
		buf_printf(b, "--%s--\r\n", bnd);
		if (rnd() % 2)
			gen_line(b, 500, 0);		/* epilogue */
		break;
	case 3:
		buf_addstr(b, "Content-Type: message/rfc822\r\n\r\n"
		    "Subject: inner\r\n");
		gen_entity(b, p8, level + 1);
		break;
	default:
		ck_abort();
	}
}

START_TEST(random_round_trip)
{
	static const unsigned p8s[] = { 0, 0, 1, 20, 300 };
	struct ob_err err;
	struct buf in, out;
	int msg;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (msg = 0; msg < 400; msg++) {
		buf_clear(&in);
		has8 = haslong = 0;
		buf_printf(&in, "From: a@example.org\r\nSubject: test %d\r\n",
		    msg);
		if (rnd() % 3 == 0) {			/* no MIME */
			buf_addstr(&in, "\r\n");
			gen_body(&in, p8s[rnd() % 5]);
		} else {
			buf_addstr(&in, "MIME-Version: 1.0\r\n");
			gen_entity(&in, p8s[rnd() % 5], 0);
		}
		ck_assert_msg(convert(in.p, in.len, rnd() % 2 ? -1 : 0, &out,
		    &err) == 0, "message %d: %s", msg, err.text);
		check_roundtrip(&in, &out, !has8 && !haslong && in.len < 8000);
	}
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/* structural noise: random sequences of MIME lines (reused and unclosed
 * boundaries, headers in odd places, long and 8-bit lines).  Whatever
 * comes in, the result is 0 or OB_PERM and no 8-bit octet goes out. */
START_TEST(random_structure)
{
	static const char *const vocab[] = {
	    "Content-Type: multipart/mixed; boundary=a",
	    "Content-Type: multipart/digest; boundary=\"b\"",
	    "Content-Type: multipart/mixed;", " boundary=a; x=y",
	    "Content-Type: message/rfc822",
	    "Content-Type: text/plain",
	    "Content-Transfer-Encoding: 8bit",
	    "Content-Transfer-Encoding: 7bit",
	    "Content-Transfer-Encoding: quoted-printable",
	    "Content-Transfer-Encoding: base64",
	    "Content-Transfer-Encoding:", " binary",
	    "MIME-Version: 1.0", "X: y", " folded",
	    "--a", "--a--", "--b", "--b--", "--a  ", "--", "-",
	    "", "", "", "text", "=", "=E9", "caf\351", "\377\376",
	};
	struct ob_err err;
	struct buf in, out;
	size_t i;
	int msg, n, j, r, longline;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (msg = 0; msg < 2000; msg++) {
		buf_clear(&in);
		longline = 0;
		n = (int)(rnd() % 40);
		for (j = 0; j < n; j++) {
			if (rnd() % 30 == 0) {
				for (i = 998 + rnd() % 1200; i > 0; i--)
					buf_addc(&in, rnd() % 7 == 0 ?
					    0xe9 : 'a' + (int)(i % 26));
				longline = 1;
			} else
				buf_addstr(&in, vocab[rnd() %
				    (sizeof vocab / sizeof vocab[0])]);
			if (j + 1 < n || rnd() % 2)
				buf_addstr(&in, "\r\n");
		}
		r = convert(in.p, in.len, rnd() % 2 ? -1 : 0, &out, &err);
		if (r == -1 && err.kind != OB_PERM)
			ck_abort_msg("message %d: error kind %d", msg,
			    err.kind);
		for (i = 0; i < out.len; i++)
			if ((unsigned char)out.p[i] & 0x80)
				ck_abort_msg("message %d: 8-bit octet out",
				    msg);
		if (r == 0)
			check_7bit(&out, longline ? SIZE_MAX : 998);
	}
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/* ---- the walker itself must be able to fail --------------------------- */

START_TEST(decoder_strict)
{
	static const char *const bad[] = { "a ", "=4", "=4g", "=e9", "\351",
	    "a\t", "=\r" };
	struct ln l;
	struct buf d;
	size_t i;

	buf_init(&d, 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		l.p = bad[i];
		l.n = strlen(bad[i]);
		ck_assert_int_eq(qp_decode(&l, 1, &d), -1);
	}
	l.p = "a =3D=";
	l.n = strlen(l.p);
	buf_clear(&d);
	ck_assert_int_eq(qp_decode(&l, 1, &d), 0);
	ck_assert_str_eq(d.p, "a =");
	buf_free(&d);
}
END_TEST

static Suite *
mime8_suite(void)
{
	Suite *s = suite_create("mime8");
	TCase *tc;

	tc = tcase_create("seven_bit");
	tcase_add_loop_test(tc, seven_bit, 0, sizeof seven / sizeof seven[0]);
	suite_add_tcase(s, tc);

	tc = tcase_create("conversions");
	tcase_add_loop_test(tc, conversions, 0, sizeof conv / sizeof conv[0]);
	tcase_add_test(tc, conv_fold);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, errors, 0, sizeof errs / sizeof errs[0]);
	tcase_add_test(tc, errors_long_header);
	tcase_add_test(tc, depth);
	tcase_add_test(tc, out_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("long_lines");
	tcase_add_test(tc, long_encoded);
	tcase_add_test(tc, long_passed);
	tcase_add_test(tc, qpfix_plain_after_escape);
	suite_add_tcase(s, tc);

	tc = tcase_create("hold");
	tcase_add_test(tc, hold_max);
	tcase_add_test(tc, hold_spill);
	tcase_add_test(tc, header_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, random_round_trip);
	tcase_add_test(tc, random_structure);
	suite_add_tcase(s, tc);

	tc = tcase_create("walker");
	tcase_add_test(tc, decoder_strict);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(mime8_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
