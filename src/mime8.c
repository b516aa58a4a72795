/* mime8.c - downgrade an 8-bit message to 7 bits (RFC 6152 3, RFC 2045).
 *
 * A streaming MIME walker: lines go in, converted lines come out, with a
 * fixed amount of state (a line head, one part's held text, a stack of
 * boundaries), whatever the message size.
 *
 * The rule for each entity (the message, a body part, or the message
 * inside a message/rfc822 part), decided at the end of its header:
 *  - a multipart with a boundary, and message/rfc822, declared 7bit, 8bit,
 *    binary or not declared: walked.  8bit or binary becomes 7bit in the
 *    Content-Transfer-Encoding field, since what is inside is made 7-bit
 *    (RFC 2045 6.4: composite types allow only identity encodings).
 *  - a leaf declared 7bit, 8bit, binary or not declared: held back.  A
 *    header field cannot be changed once sent, so everything from the
 *    Content-Transfer-Encoding field on (or just the empty line ending the
 *    header, when there is none) and the body lines after it wait in
 *    m->hold.  The first body line with an 8-bit octet or over 998 octets
 *    (RFC 5322 2.1.1; RFC 2045 2.7 forbids both in 7bit data), or a hold
 *    over MIME8_HOLD_MAX, decides "encode": the field is replaced in place
 *    by "Content-Transfer-Encoding: quoted-printable" (added at the end of
 *    the header when absent, with "MIME-Version: 1.0" for a message that
 *    lacks it and "Content-Type: text/plain; charset=unknown-8bit",
 *    RFC 1428, for an entity without a Content-Type) and the body is
 *    encoded from its first line.  A part that ends first is sent byte for
 *    byte.  So 7-bit parts up to MIME8_HOLD_MAX are untouched; bigger
 *    7-bit parts may be encoded, which is harmless.
 *  - a leaf declared quoted-printable: passed on; a stray raw 8-bit octet
 *    becomes =XX, which decodes to the same octet.
 *  - a leaf declared base64 or an unknown encoding (also a multipart so
 *    declared, which RFC 2046 5.1 forbids): passed on; an 8-bit octet in
 *    it is a permanent error, as there is no faithful way to convert it.
 *  - preamble and epilogue (RFC 2046 5.1.1, ignored by readers): passed
 *    on, with any 8-bit octet replaced by '?'.
 * Any 8-bit octet in a header field, at any depth, is a permanent error:
 * its charset is unknown, so no RFC 2047 encoding can be chosen.
 *
 * Invariants: output is whole CRLF lines (see mime8.h for passed-on long
 * lines); encoded lines are at most 76 octets (RFC 2045 6.7 (5)); no 8-bit
 * octet is ever appended; a soft-broken QP line never starts with '-', so
 * encoding cannot forge a boundary line (RFC 2046 5.1.2).  A line over
 * M8_LINE octets is never a boundary and is never held.
 *
 * Left to others: dot-stuffing, BODY=8BITMIME, and the decision to convert
 * at all (smtpc); the 5.6.3 status for our errors (the caller).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mime8.h"
#include "util.h"

#define M8_LINE		998	/* RFC 5322 2.1.1, without CRLF */
#define M8_FVAL		4096	/* unfolded Content-* field value kept */
#define M8_BND		200	/* RFC 2046 allows 70; be lenient */
#define M8_NAME		64

/* where we are */
#define ST_HDR		0	/* an entity's header section */
#define ST_BODY		1

/* body modes */
#define BM_HOLD		0	/* identity leaf, undecided */
#define BM_QP		1	/* identity leaf being encoded */
#define BM_CHECK	2	/* base64/unknown: pass, 8-bit is an error */
#define BM_QPFIX	3	/* declared QP: pass, escape raw 8-bit */
#define BM_IGNORED	4	/* preamble/epilogue: pass, 8-bit -> '?' */
#define BM_HDRLONG	5	/* (long lines only) a long header line */

/* fields we read */
#define F_NONE		0
#define F_OTHER		1
#define F_CT		2
#define F_CTE		3
#define F_MV		4

/* transfer encodings */
#define CTE_IDENT	0	/* absent, 7bit, 8bit, binary */
#define CTE_8BIT	1	/* 8bit or binary: identity, but say so */
#define CTE_QP		2
#define CTE_OTHER	3	/* base64 or unknown */

/* how the header ended */
#define HE_NONE		0	/* not (yet), or cut by a boundary/EOF */
#define HE_BLANK	1
#define HE_IMPLICIT	2	/* a non-header line started the body */

/* hold record tags: tag, 2-byte length, data */
#define T_H		'H'	/* header line */
#define T_C		'C'	/* line of the Content-Transfer-Encoding field */
#define T_B		'B'	/* body line */

static const char m8_hex[] = "0123456789ABCDEF";
static const char m8_cte_qp[] = "Content-Transfer-Encoding: quoted-printable";
static const char m8_cte_7bit[] = "Content-Transfer-Encoding: 7bit";

struct mime8_bnd {
	char	 b[M8_BND];
	size_t	 len;
	int	 depth;		/* of the multipart entity */
	int	 digest;	/* multipart/digest: parts default rfc822 */
};

struct mime8 {
	int		 failed;
	struct ob_err	 saved;
	struct buf	*out;		/* during a call */
	int		 oerr;		/* OUT refused bytes */

	/* line assembly */
	char		 line[M8_LINE];
	size_t		 linelen;
	int		 inlong;	/* inside a line over M8_LINE */
	int		 longmode;	/* BM_* for its pieces */

	int		 state;
	int		 mode;

	/* the current entity */
	int		 depth;
	int		 is_message;	/* top level or inside message/rfc822 */
	int		 digest_parent;
	int		 field;
	char		 fname[M8_NAME];
	char		 fval[M8_FVAL];
	size_t		 fvallen;
	int		 have_ct, have_mv, have_cte;
	char		 ctype[32], csub[32];
	char		 bnd[M8_BND];
	size_t		 bndlen;	/* 0: none or unusable */
	int		 cte;
	int		 holding;	/* since the CTE field */
	int		 spilled;	/* header lines no longer held */
	int		 hdr_end;	/* HE_* */

	unsigned char	 hold[MIME8_HOLD_MAX];
	size_t		 holdlen;

	/* quoted-printable encoder */
	char		 qline[MIME8_QP_LINE + 4];
	size_t		 qlen;
	int		 qsoft;		/* qline continues a soft-broken line */
	int		 qlastws;	/* qline ends in a literal SP/HT */

	/* BM_QPFIX */
	size_t		 fixlen;
	int		 fixesc;
	int		 fixgrew;	/* this line got an escape: longer */

	struct mime8_bnd stk[MIME8_MAX_DEPTH + 1];
	int		 nstk;
};

static int	m8_fail(struct mime8 *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	m8_emit(struct mime8 *, const void *, size_t);
static void	m8_emitline(struct mime8 *, const void *, size_t);
static size_t	m8_first8(const char *, size_t);
static int	m8_entity_begin(struct mime8 *, int, int, int);
static int	m8_full_line(struct mime8 *, const char *, size_t);
static int	m8_long_begin(struct mime8 *, const char *, size_t);
static int	m8_long_more(struct mime8 *, const char *, size_t);
static int	m8_long_end(struct mime8 *);
static int	m8_hdr_line(struct mime8 *, const char *, size_t);
static int	m8_hdr_end(struct mime8 *, int);
static int	m8_body_line(struct mime8 *, const char *, size_t);
static int	m8_body_piece(struct mime8 *, int, const char *, size_t);
static void	m8_body_eol(struct mime8 *, int);
static int	m8_boundary(struct mime8 *, const char *, size_t);
static int	m8_part_end(struct mime8 *);
static void	m8_hold_flush(struct mime8 *, const char *, int, int);
static int	m8_hold_add(struct mime8 *, int, const char *, size_t);
static void	m8_spill(struct mime8 *);
static void	m8_field_finish(struct mime8 *);
static void	m8_fval_add(struct mime8 *, const char *, size_t);
static void	m8_parse_ct(struct mime8 *);
static void	m8_parse_cte(struct mime8 *);
static void	m8_qp_feed(struct mime8 *, const char *, size_t);
static void	m8_qp_eol(struct mime8 *);
static void	m8_fix_feed(struct mime8 *, const char *, size_t);

struct mime8 *
mime8_new(void)
{
	struct mime8 *m = xcalloc(1, sizeof *m);

	m8_entity_begin(m, 0, 1, 0);
	return m;
}

void
mime8_free(struct mime8 *m)
{
	free(m);
}

static int
m8_fail(struct mime8 *m, int kind, const char *fmt, ...)
{
	va_list ap;

	m->failed = 1;
	m->saved.kind = kind;
	m->saved.ex = 0;
	va_start(ap, fmt);
	vsnprintf(m->saved.text, sizeof m->saved.text, fmt, ap);
	va_end(ap);
	return -1;
}

static void
m8_emit(struct mime8 *m, const void *p, size_t n)
{
	if (buf_add(m->out, p, n) == -1)
		m->oerr = 1;
}

static void
m8_emitline(struct mime8 *m, const void *p, size_t n)
{
	m8_emit(m, p, n);
	m8_emit(m, "\r\n", 2);
}

/* m8_first8: index of the first 8-bit octet, or N. */
static size_t
m8_first8(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] & 0x80)
			break;
	return i;
}

/* m8_call: common entry and exit of the two public calls. */
static int
m8_call_end(struct mime8 *m, int r, struct ob_err *err)
{
	if (r == 0 && m->oerr)
		r = m8_fail(m, OB_TEMP,
		    "8BITMIME conversion: output buffer limit reached");
	m->out = NULL;
	if (r == -1 && err != NULL)
		*err = m->saved;
	return r;
}

int
mime8_line(struct mime8 *m, const char *line, size_t len, int eol,
    struct buf *out, struct ob_err *err)
{
	size_t take;
	int r = 0;

	if (m->failed) {
		if (err != NULL)
			*err = m->saved;
		return -1;
	}
	m->out = out;
	if (m->inlong) {
		r = m8_long_more(m, line, len);
		if (r == 0 && eol)
			r = m8_long_end(m);
		return m8_call_end(m, r, err);
	}
	if (m->linelen + len <= M8_LINE) {
		memcpy(m->line + m->linelen, line, len);
		m->linelen += len;
		if (eol) {
			r = m8_full_line(m, m->line, m->linelen);
			m->linelen = 0;
		}
		return m8_call_end(m, r, err);
	}
	/* over M8_LINE: from here on the line is streamed in pieces */
	take = M8_LINE - m->linelen;
	memcpy(m->line + m->linelen, line, take);
	m->linelen = 0;
	m->inlong = 1;
	r = m8_long_begin(m, m->line, M8_LINE);
	if (r == 0)
		r = m8_long_more(m, line + take, len - take);
	if (r == 0 && eol)
		r = m8_long_end(m);
	return m8_call_end(m, r, err);
}

int
mime8_end(struct mime8 *m, struct buf *out, struct ob_err *err)
{
	int r = 0;

	if (m->failed) {
		if (err != NULL)
			*err = m->saved;
		return -1;
	}
	m->out = out;
	if (m->inlong)
		r = m8_long_end(m);
	else if (m->linelen > 0) {
		r = m8_full_line(m, m->line, m->linelen);
		m->linelen = 0;
	}
	if (r == 0)
		r = m8_part_end(m);
	return m8_call_end(m, r, err);
}

/* m8_entity_begin: a new header section starts. */
static int
m8_entity_begin(struct mime8 *m, int depth, int is_message, int digest_parent)
{
	if (depth > MIME8_MAX_DEPTH)
		return m8_fail(m, OB_PERM, "MIME structure nested deeper than "
		    "%d levels; cannot convert it to 7 bits for a server "
		    "without 8BITMIME", MIME8_MAX_DEPTH);
	m->state = ST_HDR;
	m->mode = BM_HOLD;
	m->depth = depth;
	m->is_message = is_message;
	m->digest_parent = digest_parent;
	m->field = F_NONE;
	m->fname[0] = '\0';
	m->fvallen = 0;
	m->have_ct = m->have_mv = m->have_cte = 0;
	m->ctype[0] = m->csub[0] = '\0';
	m->bndlen = 0;
	m->cte = CTE_IDENT;
	m->holding = m->spilled = 0;
	m->hdr_end = HE_NONE;
	m->holdlen = 0;
	return 0;
}

/* m8_bnd_match: the stack index of the boundary LINE delimits, or -1.
 * RFC 2046 5.1.1: "--" boundary ["--"] then only linear white space.
 * Innermost first; a match further out closes the inner multiparts. */
static int
m8_bnd_match(const struct mime8 *m, const char *p, size_t n, int *close)
{
	const struct mime8_bnd *b;
	size_t i;
	int k;

	if (n < 3 || p[0] != '-' || p[1] != '-')
		return -1;
	for (k = m->nstk - 1; k >= 0; k--) {
		b = &m->stk[k];
		if (n < 2 + b->len || memcmp(p + 2, b->b, b->len) != 0)
			continue;
		i = 2 + b->len;
		*close = 0;
		if (n - i >= 2 && p[i] == '-' && p[i + 1] == '-') {
			*close = 1;
			i += 2;
		}
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == n)
			return k;
	}
	return -1;
}

static int
m8_full_line(struct mime8 *m, const char *p, size_t n)
{
	if (m->nstk > 0 && n > 2 && p[0] == '-' && p[1] == '-')
		return m8_boundary(m, p, n);
	if (m->state == ST_HDR)
		return m8_hdr_line(m, p, n);
	return m8_body_line(m, p, n);
}

/* m8_boundary: P may be a delimiter line; if not, it is an ordinary line. */
static int
m8_boundary(struct mime8 *m, const char *p, size_t n)
{
	int k, close, depth, digest;

	if ((k = m8_bnd_match(m, p, n, &close)) == -1)
		return m->state == ST_HDR ? m8_hdr_line(m, p, n) :
		    m8_body_line(m, p, n);
	if (m8_part_end(m) == -1)
		return -1;
	m8_emitline(m, p, n);
	depth = m->stk[k].depth;
	digest = m->stk[k].digest;
	if (close) {
		m->nstk = k;
		m->state = ST_BODY;
		m->mode = BM_IGNORED;		/* the epilogue */
		return 0;
	}
	m->nstk = k + 1;
	return m8_entity_begin(m, depth + 1, 0, digest);
}

/* m8_part_end: the current entity (or the text after a close delimiter)
 * ends here: at a boundary, or at the end of the message. */
static int
m8_part_end(struct mime8 *m)
{
	if (m->state == ST_HDR) {
		/* no body at all: nothing to convert */
		m8_field_finish(m);
		m8_hold_flush(m, NULL, 0, 0);
		m->state = ST_BODY;
		m->mode = BM_IGNORED;
		return 0;
	}
	switch (m->mode) {
	case BM_HOLD:
		m8_hold_flush(m, NULL, 0, 0);		/* 7-bit after all */
		break;
	case BM_QP:
	case BM_CHECK:
	case BM_QPFIX:
	case BM_IGNORED:
		break;
	default:
		panic("mime8: bad body mode %d", m->mode);
	}
	m->mode = BM_IGNORED;
	return 0;
}

/* ---- header sections -------------------------------------------------- */

/* m8_field_name: length of the field name when P starts a field line
 * (RFC 5322 2.2: printable ASCII but ':', then optional WSP, then ':'),
 * else 0.  *COLON gets the index of the ':'. */
static size_t
m8_field_name(const char *p, size_t n, size_t *colon)
{
	size_t i, end;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == ':' || c <= 32 || c >= 127)
			break;
	}
	end = i;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (end == 0 || i == n || p[i] != ':')
		return 0;
	*colon = i;
	return end;
}

static void
m8_field_start(struct mime8 *m, const char *name, size_t nlen)
{
	size_t i, k;

	m8_field_finish(m);
	k = nlen < sizeof m->fname - 1 ? nlen : sizeof m->fname - 1;
	for (i = 0; i < k; i++)
		m->fname[i] = name[i];
	m->fname[k] = '\0';
	m->fvallen = 0;
	if (nlen == 12 && ob_strncasecmp(name, "content-type", 12) == 0)
		m->field = F_CT;
	else if (nlen == 25 &&
	    ob_strncasecmp(name, "content-transfer-encoding", 25) == 0)
		m->field = F_CTE;
	else if (nlen == 12 && ob_strncasecmp(name, "mime-version", 12) == 0)
		m->field = F_MV;
	else
		m->field = F_OTHER;
}

/* m8_hdr_8bit: P (part of a header line) must be 7-bit. */
static int
m8_hdr_8bit(struct mime8 *m, const char *p, size_t n)
{
	if (m8_first8(p, n) == n)
		return 0;
	return m8_fail(m, OB_PERM, "8-bit octets in header field '%s' and "
	    "the server does not support 8BITMIME",
	    m->fname[0] != '\0' ? m->fname : "(none)");
}

/* m8_hdr_store: a complete header line: hold it or send it. */
static int
m8_hdr_store(struct mime8 *m, const char *p, size_t n)
{
	int tag;

	if (m->field == F_CTE && !m->holding)
		m->holding = 1;
	if (!m->holding) {
		m8_emitline(m, p, n);
		return 0;
	}
	tag = m->field == F_CTE ? T_C : T_H;
	if (tag == T_H && m->spilled) {
		m8_emitline(m, p, n);
		return 0;
	}
	if (m8_hold_add(m, tag, p, n) == 0)
		return 0;
	m8_spill(m);
	if (tag == T_H) {
		m8_emitline(m, p, n);
		return 0;
	}
	if (m8_hold_add(m, tag, p, n) == 0)
		return 0;
	return m8_fail(m, OB_PERM, "Content-Transfer-Encoding field too "
	    "long to convert the message to 7 bits");
}

static int
m8_hdr_line(struct mime8 *m, const char *p, size_t n)
{
	size_t nlen, colon;

	if (n == 0)
		return m8_hdr_end(m, HE_BLANK);
	if (p[0] == ' ' || p[0] == '\t') {
		if (m8_hdr_8bit(m, p, n) == -1)
			return -1;
		m8_fval_add(m, p, n);
		return m8_hdr_store(m, p, n);
	}
	if ((nlen = m8_field_name(p, n, &colon)) == 0) {
		/* not a header line: the body starts without an empty line */
		if (m8_hdr_end(m, HE_IMPLICIT) == -1)
			return -1;
		return m8_full_line(m, p, n);
	}
	m8_field_start(m, p, nlen);
	if (m8_hdr_8bit(m, p, n) == -1)
		return -1;
	m8_fval_add(m, p + colon + 1, n - colon - 1);
	return m8_hdr_store(m, p, n);
}

/* m8_hdr_long: the first M8_LINE octets of a long line in a header. */
static int
m8_hdr_long(struct mime8 *m, const char *p, size_t n)
{
	size_t nlen, colon;

	if (p[0] == ' ' || p[0] == '\t')
		m8_fval_add(m, p, n);
	else if ((nlen = m8_field_name(p, n, &colon)) != 0) {
		m8_field_start(m, p, nlen);
		m8_fval_add(m, p + colon + 1, n - colon - 1);
	} else {
		if (m8_hdr_end(m, HE_IMPLICIT) == -1)
			return -1;
		return m8_long_begin(m, p, n);
	}
	if (m8_hdr_8bit(m, p, n) == -1)
		return -1;
	if (m->field == F_CTE)
		return m8_fail(m, OB_PERM, "Content-Transfer-Encoding field "
		    "too long to convert the message to 7 bits");
	if (m->holding && !m->spilled)
		m8_spill(m);
	m->longmode = BM_HDRLONG;
	m8_emit(m, p, n);
	return 0;
}

/* m8_entity_kind: what the header just read says. */
#define K_LEAF		0
#define K_MULTI		1
#define K_MSG		2

static int
m8_entity_kind(const struct mime8 *m)
{
	if (m->cte == CTE_QP || m->cte == CTE_OTHER)
		return K_LEAF;
	if (!m->have_ct)
		return m->digest_parent ? K_MSG : K_LEAF;
	if (strcmp(m->ctype, "multipart") == 0)
		return m->bndlen > 0 ? K_MULTI : K_LEAF;
	if (strcmp(m->ctype, "message") == 0 && strcmp(m->csub, "rfc822") == 0)
		return K_MSG;
	return K_LEAF;
}

static int
m8_hdr_end(struct mime8 *m, int how)
{
	const char *repl;
	int kind;

	m8_field_finish(m);
	m->hdr_end = how;
	m->state = ST_BODY;
	kind = m8_entity_kind(m);
	repl = m->cte == CTE_8BIT ? m8_cte_7bit : NULL;
	switch (kind) {
	case K_MULTI:
		m8_hold_flush(m, repl, 0, 0);
		if (m->nstk >= MIME8_MAX_DEPTH)		/* depth check catches
							 * it first */
			return m8_fail(m, OB_PERM, "MIME nesting too deep");
		memcpy(m->stk[m->nstk].b, m->bnd, m->bndlen);
		m->stk[m->nstk].len = m->bndlen;
		m->stk[m->nstk].depth = m->depth;
		m->stk[m->nstk].digest = strcmp(m->csub, "digest") == 0;
		m->nstk++;
		m->mode = BM_IGNORED;			/* the preamble */
		return 0;
	case K_MSG:
		m8_hold_flush(m, repl, 0, 0);
		return m8_entity_begin(m, m->depth + 1, 1, 0);
	case K_LEAF:
		if (m->cte == CTE_QP) {
			m8_hold_flush(m, NULL, 0, 0);
			m->mode = BM_QPFIX;
			m->fixlen = 0;
			m->fixesc = 0;
			m->fixgrew = 0;
		} else if (m->cte == CTE_OTHER) {
			m8_hold_flush(m, NULL, 0, 0);
			m->mode = BM_CHECK;
		} else
			m->mode = BM_HOLD;	/* the hold goes on */
		return 0;
	default:
		panic("mime8: bad entity kind %d", kind);
	}
}

static void
m8_fval_add(struct mime8 *m, const char *p, size_t n)
{
	if (m->field != F_CT && m->field != F_CTE)
		return;
	if (n > sizeof m->fval - m->fvallen)
		n = sizeof m->fval - m->fvallen;
	memcpy(m->fval + m->fvallen, p, n);
	m->fvallen += n;
}

static void
m8_field_finish(struct mime8 *m)
{
	switch (m->field) {
	case F_CT:
		if (!m->have_ct)		/* the first one counts */
			m8_parse_ct(m);
		m->have_ct = 1;
		break;
	case F_CTE:
		if (!m->have_cte)
			m8_parse_cte(m);
		m->have_cte = 1;
		break;
	case F_MV:
		m->have_mv = 1;
		break;
	case F_NONE:
	case F_OTHER:
		break;
	default:
		panic("mime8: bad field %d", m->field);
	}
	m->field = F_NONE;
	m->fvallen = 0;
}

/* ---- Content-Type and Content-Transfer-Encoding (RFC 2045 5.1, 6.1) --- */

/* m8_cfws: skip white space and (nested) comments, RFC 5322 3.2.2. */
static const char *
m8_cfws(const char *p, const char *end)
{
	int level;

	while (p < end) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		if (*p != '(')
			break;
		level = 0;
		while (p < end) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				level++;
			else if (*p == ')' && --level == 0) {
				p++;
				break;
			}
			p++;
		}
	}
	return p;
}

/* RFC 2045 5.1 token: CHAR but SPACE, CTLs and tspecials */
static int
m8_tokc(int c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* m8_token: read a token, lowercased, into DST (truncated to N-1). */
static const char *
m8_token(const char *p, const char *end, char *dst, size_t n)
{
	size_t k = 0;

	while (p < end && m8_tokc((unsigned char)*p)) {
		if (k + 1 < n) {
			char c = *p;
			dst[k++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		p++;
	}
	if (n > 0)
		dst[k] = '\0';
	return p;
}

static void
m8_parse_ct(struct mime8 *m)
{
	const char *p = m->fval, *end = m->fval + m->fvallen;
	char attr[32], val[M8_BND];
	size_t k;
	int toolong;

	p = m8_cfws(p, end);
	p = m8_token(p, end, m->ctype, sizeof m->ctype);
	p = m8_cfws(p, end);
	if (p < end && *p == '/') {
		p = m8_cfws(p + 1, end);
		p = m8_token(p, end, m->csub, sizeof m->csub);
	}
	while (p < end) {
		/* lenient: skip junk up to the next ';' */
		while (p < end && *p != ';')
			p++;
		if (p == end)
			break;
		p = m8_cfws(p + 1, end);
		p = m8_token(p, end, attr, sizeof attr);
		p = m8_cfws(p, end);
		if (p == end || *p != '=')
			continue;
		p = m8_cfws(p + 1, end);
		k = 0;
		toolong = 0;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (k < sizeof val)
					val[k++] = *p;
				else
					toolong = 1;
			}
			if (p < end)
				p++;
		} else {
			/* lenient: "boundary==_x" is seen in the wild */
			for (; p < end && *p > 32 && *p < 127 && *p != ';' &&
			    *p != '(' && *p != '"'; p++) {
				if (k < sizeof val)
					val[k++] = *p;
				else
					toolong = 1;
			}
		}
		/* every value is read into VAL: a parameter after the
		 * boundary (multipart/related; boundary=x; type=y) must not
		 * overwrite it */
		if (strcmp(attr, "boundary") == 0 && m->bndlen == 0 &&
		    !toolong && k > 0) {
			memcpy(m->bnd, val, k);
			m->bndlen = k;
		}
	}
}

static void
m8_parse_cte(struct mime8 *m)
{
	const char *p = m->fval, *end = m->fval + m->fvallen;
	char tok[32];

	p = m8_cfws(p, end);
	m8_token(p, end, tok, sizeof tok);
	if (strcmp(tok, "7bit") == 0 || tok[0] == '\0')
		m->cte = CTE_IDENT;
	else if (strcmp(tok, "8bit") == 0 || strcmp(tok, "binary") == 0)
		m->cte = CTE_8BIT;
	else if (strcmp(tok, "quoted-printable") == 0)
		m->cte = CTE_QP;
	else
		m->cte = CTE_OTHER;
}

/* ---- the hold ----------------------------------------------------------- */

static int
m8_hold_add(struct mime8 *m, int tag, const char *p, size_t n)
{
	if (n > M8_LINE || 3 + n > sizeof m->hold - m->holdlen)
		return -1;
	m->hold[m->holdlen] = (unsigned char)tag;
	m->hold[m->holdlen + 1] = (unsigned char)(n >> 8);
	m->hold[m->holdlen + 2] = (unsigned char)(n & 0xff);
	memcpy(m->hold + m->holdlen + 3, p, n);
	m->holdlen += 3 + n;
	return 0;
}

/* m8_spill: the hold is full while in the header: send the held header
 * lines but the Content-Transfer-Encoding field, which then ends up last
 * in the header (its place does not matter, RFC 2045 3). */
static void
m8_spill(struct mime8 *m)
{
	size_t i = 0, keep = 0, n;

	while (i < m->holdlen) {
		n = (size_t)m->hold[i + 1] << 8 | m->hold[i + 2];
		if (m->hold[i] == T_H)
			m8_emitline(m, m->hold + i + 3, n);
		else {
			memmove(m->hold + keep, m->hold + i, 3 + n);
			keep += 3 + n;
		}
		i += 3 + n;
	}
	m->holdlen = keep;
	m->spilled = 1;
}

/* m8_hold_flush: send what is held.  REPL replaces the first
 * Content-Transfer-Encoding line (and drops the rest of that field and
 * any later one), or is added when there was none.  ADD adds the
 * MIME-Version and Content-Type an encoded entity needs.  ENCODE sends
 * the held body lines as quoted-printable. */
static void
m8_hold_flush(struct mime8 *m, const char *repl, int add, int encode)
{
	size_t i, n;
	int pass, done = 0;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < m->holdlen; i += 3 + n) {
			const char *d = (const char *)m->hold + i + 3;

			n = (size_t)m->hold[i + 1] << 8 | m->hold[i + 2];
			if ((m->hold[i] == T_B) != pass)
				continue;
			if (m->hold[i] == T_B && encode) {
				m8_qp_feed(m, d, n);
				m8_qp_eol(m);
			} else if (m->hold[i] == T_C && repl != NULL) {
				if (!done)
					m8_emitline(m, repl, strlen(repl));
				done = 1;
			} else
				m8_emitline(m, d, n);
		}
		if (pass == 1)
			break;
		if (add && m->is_message && !m->have_mv)
			m8_emitline(m, "MIME-Version: 1.0", 17);
		if (add && !m->have_ct)
			m8_emitline(m, "Content-Type: text/plain; "
			    "charset=unknown-8bit", 46);
		if (repl != NULL && !done && add)
			m8_emitline(m, repl, strlen(repl));
		if (m->hdr_end == HE_BLANK ||
		    (m->hdr_end == HE_IMPLICIT && add))
			m8_emit(m, "\r\n", 2);
	}
	m->holdlen = 0;
	m->holding = 0;
	m->spilled = 0;
}

/* ---- bodies ---------------------------------------------------------- */

static int
m8_body_line(struct mime8 *m, const char *p, size_t n)
{
	if (m->mode == BM_HOLD) {
		if (m8_first8(p, n) == n && m8_hold_add(m, T_B, p, n) == 0)
			return 0;
		m8_hold_flush(m, m8_cte_qp, 1, 1);
		m->mode = BM_QP;
	}
	if (m8_body_piece(m, m->mode, p, n) == -1)
		return -1;
	m8_body_eol(m, m->mode);
	return 0;
}

static int
m8_body_piece(struct mime8 *m, int mode, const char *p, size_t n)
{
	size_t i;

	switch (mode) {
	case BM_QP:
		m8_qp_feed(m, p, n);
		return 0;
	case BM_QPFIX:
		m8_fix_feed(m, p, n);
		return 0;
	case BM_CHECK:
		if (m8_first8(p, n) != n)
			return m8_fail(m, OB_PERM, "8-bit octets in a body "
			    "part encoded as base64 or an unknown encoding, "
			    "and the server does not support 8BITMIME");
		m8_emit(m, p, n);
		return 0;
	case BM_IGNORED:
		while (n > 0) {
			i = m8_first8(p, n);
			m8_emit(m, p, i);
			if (i < n) {
				m8_emit(m, "?", 1);
				i++;
			}
			p += i;
			n -= i;
		}
		return 0;
	case BM_HDRLONG:
		if (m8_hdr_8bit(m, p, n) == -1)
			return -1;
		m8_fval_add(m, p, n);
		m8_emit(m, p, n);
		return 0;
	default:
		panic("mime8: bad body mode %d", mode);
	}
}

static void
m8_body_eol(struct mime8 *m, int mode)
{
	if (mode == BM_QP)
		m8_qp_eol(m);
	else {
		m8_emit(m, "\r\n", 2);
		m->fixlen = 0;
		m->fixesc = 0;
		m->fixgrew = 0;
	}
}

/* ---- long lines ------------------------------------------------------ */

/* m8_long_begin: the first M8_LINE octets of a line known to be longer. */
static int
m8_long_begin(struct mime8 *m, const char *p, size_t n)
{
	if (m->state == ST_HDR)
		return m8_hdr_long(m, p, n);
	if (m->mode == BM_HOLD) {
		/* RFC 5322 2.1.1: too long for 7bit; encode */
		m8_hold_flush(m, m8_cte_qp, 1, 1);
		m->mode = BM_QP;
	}
	m->longmode = m->mode;
	return m8_body_piece(m, m->mode, p, n);
}

static int
m8_long_more(struct mime8 *m, const char *p, size_t n)
{
	return m8_body_piece(m, m->longmode, p, n);
}

static int
m8_long_end(struct mime8 *m)
{
	m->inlong = 0;
	m8_body_eol(m, m->longmode);
	return 0;
}

/* ---- quoted-printable, RFC 2045 6.7 -------------------------------------- */

static void
m8_qp_soft(struct mime8 *m)
{
	m8_emit(m, m->qline, m->qlen);
	m8_emit(m, "=\r\n", 3);
	m->qlen = 0;
	m->qsoft = 1;
	m->qlastws = 0;
}

static void
m8_qp_feed(struct mime8 *m, const char *p, size_t n)
{
	unsigned char c;
	size_t i;
	int lit;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		/* (1) and (2): '=', controls and 8-bit octets are escaped */
		lit = (c >= 33 && c <= 126 && c != '=') || c == ' ' ||
		    c == '\t';
		/* keep one octet free for the '=' of a soft break (5) */
		if (m->qlen + (lit ? 1 : 3) > MIME8_QP_LINE - 1)
			m8_qp_soft(m);
		/* a soft-broken line must not look like a boundary */
		if (lit && c == '-' && m->qlen == 0 && m->qsoft)
			lit = 0;
		if (lit)
			m->qline[m->qlen++] = (char)c;
		else {
			m->qline[m->qlen++] = '=';
			m->qline[m->qlen++] = m8_hex[c >> 4];
			m->qline[m->qlen++] = m8_hex[c & 15];
		}
		m->qlastws = lit && (c == ' ' || c == '\t');
	}
}

static void
m8_qp_eol(struct mime8 *m)
{
	unsigned char c;

	/* (3): white space at the end of an encoded line is escaped */
	if (m->qlastws) {
		c = (unsigned char)m->qline[--m->qlen];
		if (m->qlen + 3 > MIME8_QP_LINE)
			m8_qp_soft(m);
		m->qline[m->qlen++] = '=';
		m->qline[m->qlen++] = m8_hex[c >> 4];
		m->qline[m->qlen++] = m8_hex[c & 15];
	}
	m8_emitline(m, m->qline, m->qlen);
	m->qlen = 0;
	m->qsoft = 0;
	m->qlastws = 0;
}

/* m8_fix_feed: a part declared quoted-printable that holds raw 8-bit
 * octets: escape them (a decoder reads them the same), adding a soft
 * break when the line would pass 998 octets, never inside an escape. */
static void
m8_fix_feed(struct mime8 *m, const char *p, size_t n)
{
	unsigned char c;
	char esc[3];
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (!(c & 0x80)) {
			/* the escapes made the line longer: plain octets
			 * need the soft break too (found by fuzz_mime8); a
			 * line we did not touch passes on as it came */
			if (m->fixesc == 0 && ((m->fixgrew &&
			    m->fixlen + 1 > M8_LINE - 1) || (c == '=' &&
			    m->fixlen + 5 > M8_LINE - 1))) {
				/* an escape cannot be split: '=' needs room
				 * for its two octets, each of which may be a
				 * raw one we escape (5) */
				m8_emit(m, "=\r\n", 3);
				m->fixlen = 0;
			}
			m8_emit(m, p + i, 1);
			m->fixlen++;
			if (m->fixesc > 0)
				m->fixesc--;
			else if (c == '=')
				m->fixesc = 2;
			continue;
		}
		if (m->fixesc == 0 && m->fixlen + 3 > M8_LINE - 1) {
			m8_emit(m, "=\r\n", 3);
			m->fixlen = 0;
		}
		m->fixesc = 0;
		m->fixgrew = 1;
		esc[0] = '=';
		esc[1] = m8_hex[c >> 4];
		esc[2] = m8_hex[c & 15];
		m8_emit(m, esc, 3);
		m->fixlen += 3;
	}
}
