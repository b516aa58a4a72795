/* addr.c - RFC 5322 address lists, RFC 5321 mailbox syntax, the aliases
 * file.
 *
 * The header parser is a small lexer (CFWS skipped, quoted strings and
 * domain literals decoded, specials returned one by one) under a recursive
 * descent parser for RFC 5322 3.4 address-list including the obsolete
 * forms of 4.4 (obs-phrase with dots, obs-local-part and obs-domain with
 * CFWS around the dots, obs-route, empty list elements).
 *
 * Invariants: every address produced is in RFC 5321 Mailbox form without
 * brackets: the local part bare when it is a dot-atom, else a quoted-string
 * with only '"' and '\' escaped; the domain as written (no case folding);
 * no "@domain" for a local address.  Control characters and NUL never get
 * into an address; 8-bit octets do (SMTPUTF8 decides later what to do).
 *
 * Left to others: whether an address is usable in SMTP is asked separately
 * (addr_valid_smtp), deciding what to do with local addresses is the
 * caller's (aliases_resolve), and nothing here reads the message.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "log.h"

#define ADDR_MAXLEN	1000		/* one address; SMTP allows 254 */
#define ADDR_MAXTEXT	(1024 * 1024)	/* a phrase being collected */
#define ALIAS_MAXDEPTH	10
#define ALIAS_MAXLINE	(64 * 1024)	/* one logical aliases line */

/* ---- address lists ------------------------------------------------------ */

void
addr_list_init(struct addr_list *l)
{
	l->v = NULL;
	l->n = l->cap = 0;
}

void
addr_list_add(struct addr_list *l, const char *a)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = xstrdup(a);
}

/* addr_at: the '@' between local part and domain, or NULL for a local
 * address.  A quoted local part may hold '@' itself. */
static const char *
addr_at(const char *a)
{
	const char *p = a;

	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p == '"')
			p++;
	}
	return strchr(p, '@');
}

/* addr_same: local parts compare exactly (RFC 5321 2.4: only the
 * destination host may interpret them), domains case-insensitively. */
static int
addr_same(const char *a, const char *b)
{
	const char *aa = addr_at(a), *ba = addr_at(b);

	if (aa == NULL || ba == NULL)
		return aa == ba && strcmp(a, b) == 0;
	if (aa - a != ba - b || memcmp(a, b, (size_t)(aa - a)) != 0)
		return 0;
	return ob_strcasecmp(aa + 1, ba + 1) == 0;
}

void
addr_list_add_unique(struct addr_list *l, const char *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (addr_same(l->v[i], a))
			return;
	addr_list_add(l, a);
}

void
addr_list_free(struct addr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	addr_list_init(l);
}

int
addr_is_local(const char *a)
{
	return addr_at(a) == NULL;
}

/* ---- character classes -------------------------------------------------- */

/* RFC 5322 3.2.3 atext, plus 8-bit octets (RFC 6532 UTF-8; accepted here,
 * SMTPUTF8 is a later issue). */
static int
addr_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
addr_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* addr_fold: length of a line break that is part of FWS at P (RFC 5322
 * 3.2.2: CRLF followed by WSP; a bare LF is taken the same way, and a
 * break at the very end is trailing white space), else 0. */
static size_t
addr_fold(const char *p)
{
	size_t k = 0;

	if (p[0] == '\r' && p[1] == '\n')
		k = 2;
	else if (p[0] == '\n')
		k = 1;
	if (k && (p[k] == ' ' || p[k] == '\t' || p[k] == '\0'))
		return k;
	return 0;
}

/* ---- the lexer ----------------------------------------------------------- */

enum {
	AT_ERR = -1,
	AT_END,
	AT_ATOM,	/* text: the atom */
	AT_QSTR,	/* text: the decoded content */
	AT_DLIT,	/* text: "[...]" with FWS removed */
	AT_SPEC		/* c: one of < > : ; @ , . */
};

struct addr_lex {
	const char	*p;
	struct ob_err	*err;
	int		 type, c, unget;
	const char	*start, *end;	/* the token's source text */
	struct buf	 text;
};

static int
lex_fail(struct addr_lex *lx, const char *msg)
{
	ob_err_set(lx->err, OB_PERM, EX_DATAERR, "%s", msg);
	lx->type = AT_ERR;
	return AT_ERR;
}

static int
lex_ctl(struct addr_lex *lx, unsigned char c, const char *where)
{
	ob_err_set(lx->err, OB_PERM, EX_DATAERR,
	    "bad control character 0x%02x%s", c, where);
	lx->type = AT_ERR;
	return AT_ERR;
}

/* lex_cfws: skip white space, folds and (nested) comments, RFC 5322
 * 3.2.2.  0 or AT_ERR. */
static int
lex_cfws(struct addr_lex *lx)
{
	const char *p = lx->p;
	size_t k;
	int depth;

	for (;;) {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if ((k = addr_fold(p)) != 0) {
			p += k;
			continue;
		}
		if (*p != '(')
			break;
		for (depth = 1, p++; depth > 0; ) {
			unsigned char c = (unsigned char)*p;

			if (c == '\0')
				return lex_fail(lx, "unterminated comment");
			if (c == '\\') {
				c = (unsigned char)p[1];
				if (c == '\0')
					return lex_fail(lx, "unterminated comment");
				if (addr_ctl(c))
					return lex_ctl(lx, c, " in comment");
				p += 2;
			} else if ((k = addr_fold(p)) != 0) {
				p += k;
			} else if (addr_ctl(c)) {
				return lex_ctl(lx, c, " in comment");
			} else {
				if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
				p++;
			}
		}
	}
	lx->p = p;
	return 0;
}

static int
lex_add(struct addr_lex *lx, const char *s, size_t n)
{
	if (buf_add(&lx->text, s, n) == -1)
		return lex_fail(lx, "address too long");
	return 0;
}

/* lex_quoted: a quoted-string (RFC 5322 3.2.4) at lx->p: quoted pairs
 * decoded, folds unfolded (the WSP after the break is kept). */
static int
lex_quoted(struct addr_lex *lx)
{
	const char *p = lx->p + 1, *run;
	size_t k;

	for (;;) {
		for (run = p; *p != '\0' && *p != '"' && *p != '\\' &&
		    *p != '\t' && !addr_ctl((unsigned char)*p); p++)
			;
		if (lex_add(lx, run, (size_t)(p - run)) == AT_ERR)
			return AT_ERR;
		if (*p == '"')
			break;
		if (*p == '\0' || (*p == '\\' && p[1] == '\0'))
			return lex_fail(lx, "unterminated quoted string");
		/* RFC 5321 4.1.2: qtextSMTP and quoted-pairSMTP have no
		 * TAB; such an address could never be sent (fuzz_addr) */
		if (*p == '\t' || (*p == '\\' && p[1] == '\t'))
			return lex_fail(lx, "TAB in a quoted string (not "
			    "usable in SMTP)");
		if (*p == '\\') {
			if (addr_ctl((unsigned char)p[1]))
				return lex_ctl(lx, (unsigned char)p[1],
				    " in quoted string");
			if (lex_add(lx, p + 1, 1) == AT_ERR)
				return AT_ERR;
			p += 2;
		} else if ((k = addr_fold(p)) != 0) {
			p += k;
		} else
			return lex_ctl(lx, (unsigned char)*p,
			    " in quoted string");
	}
	lx->p = p + 1;
	return AT_QSTR;
}

/* lex_literal: a domain-literal (RFC 5322 3.4.1, obs-dtext of 4.4 allows
 * quoted pairs), FWS inside dropped. */
static int
lex_literal(struct addr_lex *lx)
{
	const char *p = lx->p + 1;
	size_t k;

	if (lex_add(lx, "[", 1) == AT_ERR)
		return AT_ERR;
	for (;;) {
		unsigned char c = (unsigned char)*p;

		if (c == ']')
			break;
		if (c == '\0' || (c == '\\' && p[1] == '\0'))
			return lex_fail(lx, "unterminated domain literal");
		if (c == ' ' || c == '\t') {
			p++;
		} else if ((k = addr_fold(p)) != 0) {
			p += k;
		} else if (addr_ctl(c) || (c == '\\' &&
		    addr_ctl((unsigned char)p[1]))) {
			return lex_ctl(lx, c == '\\' ? (unsigned char)p[1] : c,
			    " in domain literal");
		} else if (c == '[' || (c == '\\' && (p[1] == '[' ||
		    p[1] == ']' || p[1] == '\\' || p[1] == '\t' ||
		    p[1] == ' '))) {
			/* RFC 5321 4.1.3: dtext has none of these, and no
			 * quoted pairs: they could not be written back
			 * (fuzz_addr) */
			return lex_fail(lx, c == '[' ? "bad character '[' in "
			    "domain literal" : "quoted pair in domain literal "
			    "(not usable in SMTP)");
		} else {
			if (c == '\\')
				p++;
			if (lex_add(lx, p, 1) == AT_ERR)
				return AT_ERR;
			p++;
		}
	}
	if (lex_add(lx, "]", 1) == AT_ERR)
		return AT_ERR;
	lx->p = p + 1;
	return AT_DLIT;
}

/* lex_next: the next token; the previous one is re-read after lex_unget. */
static int
lex_next(struct addr_lex *lx)
{
	const char *p;
	unsigned char c;
	int t;

	if (lx->unget) {
		lx->unget = 0;
		return lx->type;
	}
	if (lx->type == AT_ERR || lex_cfws(lx) == AT_ERR)
		return AT_ERR;
	buf_clear(&lx->text);
	p = lx->start = lx->p;
	c = (unsigned char)*p;
	if (c == '\0') {
		t = AT_END;
	} else if (addr_atext(c)) {
		while (addr_atext((unsigned char)*p))
			p++;
		if (lex_add(lx, lx->p, (size_t)(p - lx->p)) == AT_ERR)
			return AT_ERR;
		lx->p = p;
		t = AT_ATOM;
	} else if (c == '"') {
		t = lex_quoted(lx);
	} else if (c == '[') {
		t = lex_literal(lx);
	} else if (strchr("<>:;@,.", c) != NULL) {
		lx->c = c;
		lx->p++;
		t = AT_SPEC;
	} else if (c == ')') {
		return lex_fail(lx, "unbalanced ')'");
	} else if (addr_ctl(c)) {
		return lex_ctl(lx, c, "");
	} else {
		ob_err_set(lx->err, OB_PERM, EX_DATAERR,
		    "bad character '%c' in address", c);
		lx->type = AT_ERR;
		return AT_ERR;
	}
	lx->end = lx->p;
	lx->type = t;
	return t;
}

static void
lex_unget(struct addr_lex *lx)
{
	lx->unget = 1;
}

/* ---- the parser ------------------------------------------------------------ */

struct addr_parse {
	struct addr_lex	  lx;
	struct addr_list *out;
	struct buf	  local, domain;
	int		  arg;		/* one address: no groups */
};

/* What parse_words collected: a phrase, or a local part. */
struct addr_words {
	size_t		 nwords, ndots;
	int		 local_ok;	/* usable as obs-local-part */
	const char	*start, *end;	/* source text */
};

static int
parse_fail(struct addr_parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
parse_fail(struct addr_parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->lx.err != NULL) {
		ps->lx.err->kind = OB_PERM;
		ps->lx.err->ex = EX_DATAERR;
		va_start(ap, fmt);
		vsnprintf(ps->lx.err->text, sizeof ps->lx.err->text, fmt, ap);
		va_end(ap);
	}
	ps->lx.type = AT_ERR;
	return -1;
}

/* parse_unexpected: T came where it does not fit. */
static int
parse_unexpected(struct addr_parse *ps, int t, const char *what)
{
	struct addr_lex *lx = &ps->lx;

	if (t == AT_ERR)
		return -1;
	if (t == AT_END)
		return parse_fail(ps, "missing %s", what);
	if (t == AT_SPEC)
		return parse_fail(ps, "bad character '%c' in address", lx->c);
	return parse_fail(ps, "missing %s before '%.40s'", what,
	    lx->text.p ? lx->text.p : "");
}

/* parse_words: collect words and dots (a phrase, RFC 5322 3.2.5 and
 * obs-phrase, or a local part, 3.4.1 and obs-local-part) into ps->local,
 * decoded.  Returns the first token that is neither. */
static int
parse_words(struct addr_parse *ps, struct addr_words *w)
{
	struct addr_lex *lx = &ps->lx;
	int t, prev_word = 0;

	buf_clear(&ps->local);
	memset(w, 0, sizeof *w);
	w->local_ok = 1;
	for (;;) {
		t = lex_next(lx);
		if (t == AT_ATOM || t == AT_QSTR || t == AT_DLIT) {
			/* Words must be joined by dots in a local part
			 * ("john smith@x" is not one). */
			if (prev_word || t == AT_DLIT)
				w->local_ok = 0;
			prev_word = 1;
			w->nwords++;
		} else if (t == AT_SPEC && lx->c == '.') {
			prev_word = 0;
			w->ndots++;
		} else
			return t;
		if (w->start == NULL)
			w->start = lx->start;
		w->end = lx->end;
		if ((t == AT_SPEC ? buf_addc(&ps->local, '.') :
		    buf_add(&ps->local, lx->text.p, lx->text.len)) == -1)
			return parse_fail(ps, "address too long");
	}
}

static int
parse_local_ok(struct addr_parse *ps, const struct addr_words *w)
{
	if (w->nwords == 0)
		return parse_fail(ps, "missing local part before '@'");
	if (!w->local_ok)
		return parse_fail(ps, "bad local part '%.*s'",
		    (int)(w->end - w->start > 60 ? 60 : w->end - w->start),
		    w->start);
	return 0;
}

/* parse_domain: dot-atom, obs-domain or domain-literal (RFC 5322 3.4.1,
 * 4.4) into ps->domain, as written apart from CFWS. */
static int
parse_domain(struct addr_parse *ps)
{
	struct addr_lex *lx = &ps->lx;
	int t;

	buf_clear(&ps->domain);
	t = lex_next(lx);
	if (t == AT_DLIT)
		return buf_add(&ps->domain, lx->text.p, lx->text.len) == -1 ?
		    parse_fail(ps, "address too long") : 0;
	if (t == AT_QSTR)
		return parse_fail(ps, "quoted string in domain");
	if (t != AT_ATOM)
		return parse_unexpected(ps, t, "domain after '@'");
	for (;;) {
		if (buf_add(&ps->domain, lx->text.p, lx->text.len) == -1)
			return parse_fail(ps, "address too long");
		t = lex_next(lx);
		if (t != AT_SPEC || lx->c != '.') {
			lex_unget(lx);
			return t == AT_ERR ? -1 : 0;
		}
		t = lex_next(lx);
		if (t != AT_ATOM) {
			if (t == AT_ERR)
				return -1;
			return parse_fail(ps, "empty label in domain '%.60s.'",
			    ps->domain.p);
		}
		buf_addc(&ps->domain, '.');
	}
}

/* addr_render_local: S (the decoded local part) as RFC 5321 Local-part:
 * Dot-string when it is one, else Quoted-string with minimal escaping. */
static void
addr_render_local(struct buf *b, const char *s, size_t n)
{
	size_t i;
	int dot_atom = n > 0 && s[0] != '.' && s[n - 1] != '.';

	for (i = 0; dot_atom && i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.' :
		    !addr_atext((unsigned char)s[i]))
			dot_atom = 0;
	if (dot_atom) {
		buf_add(b, s, n);
		return;
	}
	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(b, '\\');
		buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

/* parse_emit: the mailbox in ps->local (and ps->domain if HAVE_DOMAIN). */
static int
parse_emit(struct addr_parse *ps, int have_domain)
{
	struct buf b;

	if (!have_domain && ps->local.len == 0)
		return parse_fail(ps, "empty address");
	buf_init(&b, 0);
	addr_render_local(&b, ps->local.p ? ps->local.p : "", ps->local.len);
	if (have_domain) {
		buf_addc(&b, '@');
		buf_add(&b, ps->domain.p, ps->domain.len);
	}
	if (b.len > ADDR_MAXLEN) {
		buf_free(&b);
		return parse_fail(ps, "address too long");
	}
	addr_list_add(ps->out, b.p);
	buf_free(&b);
	return 0;
}

/* parse_angle: after '<': [obs-route] addr-spec '>' (RFC 5322 3.4, 4.4).
 * The route is dropped (RFC 5321 4.1.1.3: ignore source routes). "<root>"
 * is taken as a local address. */
static int
parse_angle(struct addr_parse *ps)
{
	struct addr_lex *lx = &ps->lx;
	struct addr_words w;
	int t, have_domain = 0;

	t = lex_next(lx);
	if (t == AT_SPEC && lx->c == '>')
		return parse_fail(ps, "empty address '<>'");
	if (t == AT_SPEC && lx->c == '@') {
		for (;;) {
			if (parse_domain(ps) == -1)
				return -1;
			t = lex_next(lx);
			while (t == AT_SPEC && lx->c == ',')
				t = lex_next(lx);
			if (t == AT_SPEC && lx->c == ':')
				break;
			if (t != AT_SPEC || lx->c != '@')
				return t == AT_ERR ? -1 :
				    parse_fail(ps, "bad route in address");
		}
	} else
		lex_unget(lx);
	t = parse_words(ps, &w);
	if (t == AT_SPEC && lx->c == '@') {
		if (parse_local_ok(ps, &w) == -1 || parse_domain(ps) == -1)
			return -1;
		have_domain = 1;
		t = lex_next(lx);
	} else if (t == AT_SPEC && lx->c == '>' && w.nwords > 0 &&
	    parse_local_ok(ps, &w) == -1)
		return -1;
	if (t != AT_SPEC || lx->c != '>')
		return parse_unexpected(ps, t, "'>'");
	if (!have_domain && w.nwords == 0)
		return parse_fail(ps, "empty address '<%.*s>'",
		    w.start ? (int)(w.end - w.start) : 0,
		    w.start ? w.start : "");
	return parse_emit(ps, have_domain);
}

/* parse_list: address-list (or a group's mailbox list when IN_GROUP,
 * ended by ';').  Empty elements are skipped (obs-addr-list). */
static int
parse_list(struct addr_parse *ps, int in_group)
{
	struct addr_lex *lx = &ps->lx;
	struct addr_words w;
	int t;

	for (;;) {
		t = parse_words(ps, &w);
		if (t == AT_ERR)
			return -1;
		if (t == AT_SPEC && lx->c == '<') {
			if (parse_angle(ps) == -1)
				return -1;
			t = lex_next(lx);
		} else if (t == AT_SPEC && lx->c == '@') {
			if (parse_local_ok(ps, &w) == -1 ||
			    parse_domain(ps) == -1)
				return -1;
			t = lex_next(lx);
			/* "a@b <a@b>": an unquoted address as display
			 * name, frequent mess; the angle address wins. */
			if (t == AT_SPEC && lx->c == '<') {
				if (parse_angle(ps) == -1)
					return -1;
				t = lex_next(lx);
			} else if (t != AT_ERR && parse_emit(ps, 1) == -1)
				return -1;
		} else if (t == AT_SPEC && lx->c == ':') {
			if (in_group)
				return parse_fail(ps, "nested group");
			if (ps->arg)
				return parse_fail(ps, "a group is not an "
				    "address");
			if (w.nwords == 0)
				return parse_fail(ps, "group without a name");
			if (parse_list(ps, 1) == -1)
				return -1;
			t = lex_next(lx);
		} else if (w.nwords == 0 && w.ndots > 0) {
			return parse_fail(ps, "bad character '.' in address");
		} else if (w.nwords > 0) {
			/* A bare word: a mailbox without domain. */
			if (!w.local_ok)
				return parse_fail(ps, "'%.*s' is not an "
				    "address (missing '@' or '<...>')",
				    (int)(w.end - w.start > 60 ? 60 :
				    w.end - w.start), w.start);
			if (parse_emit(ps, 0) == -1)
				return -1;
		}
		if (t == AT_SPEC && lx->c == ',')
			continue;
		/* A group missing its ';' at the end is tolerated. */
		if (t == AT_END) {
			lex_unget(lx);
			return 0;
		}
		if (t == AT_SPEC && lx->c == ';') {
			if (in_group)
				return 0;
			return parse_fail(ps, "unexpected ';' (addresses "
			    "are separated by ',')");
		}
		if (t == AT_SPEC && lx->c == '>')
			return parse_fail(ps, "unexpected '>'");
		return parse_unexpected(ps, t, "','");
	}
}

static int
addr_parse(const char *value, struct addr_list *out, int arg,
    struct ob_err *err)
{
	struct addr_parse ps;
	int r;

	memset(&ps, 0, sizeof ps);
	ps.lx.p = value;
	ps.lx.err = err;
	ps.lx.type = AT_END;
	ps.out = out;
	ps.arg = arg;
	buf_init(&ps.lx.text, ADDR_MAXTEXT);
	buf_init(&ps.local, ADDR_MAXTEXT);
	buf_init(&ps.domain, ADDR_MAXTEXT);
	r = parse_list(&ps, 0);
	buf_free(&ps.lx.text);
	buf_free(&ps.local);
	buf_free(&ps.domain);
	return r;
}

int
addr_parse_header(const char *value, struct addr_list *out,
    struct ob_err *err)
{
	return addr_parse(value, out, 0, err);
}

int
addr_parse_arg(const char *s, int allow_null, char **out, struct ob_err *err)
{
	struct addr_list l;
	const char *p = s;
	int r = -1;

	*out = NULL;
	/* "", "<>" and "< >": the null reverse-path (RFC 5321 4.5.5). */
	p += strspn(p, " \t");
	if (*p == '<') {
		p++;
		p += strspn(p, " \t");
		if (*p == '>') {
			p++;
			p += strspn(p, " \t");
		} else
			p = "<";
	}
	if (*p == '\0') {
		if (!allow_null)
			return ob_err_set(err, OB_PERM, EX_DATAERR,
			    "empty address");
		*out = xstrdup("");
		return 0;
	}
	addr_list_init(&l);
	if (addr_parse(s, &l, 1, err) == -1)
		goto fail;
	if (l.n == 0) {
		ob_err_set(err, OB_PERM, EX_DATAERR, "no address");
		goto fail;
	}
	if (l.n > 1) {
		ob_err_set(err, OB_PERM, EX_DATAERR,
		    "more than one address (give one address per argument)");
		goto fail;
	}
	*out = l.v[0];
	l.v[0] = NULL;
	l.n = 0;
	r = 0;
fail:
	addr_list_free(&l);
	return r;
}

/* ---- RFC 5321 syntax ------------------------------------------------------- */

/* smtp_local: Dot-string / Quoted-string (RFC 5321 4.1.2), 8-bit allowed. */
static int
smtp_local(const char *s, size_t n)
{
	size_t i;

	if (s[0] == '"') {
		if (n < 2 || s[n - 1] != '"')
			return 0;
		for (i = 1; i < n - 1; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (++i >= n - 1)
					return 0;
				c = (unsigned char)s[i];
				if (c < 32 || c == 127)
					return 0;
			} else if (c < 32 || c == 127 || c == '"')
				return 0;
		}
		return 1;
	}
	if (s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.' :
		    !addr_atext((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
smtp_letdig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80;
}

/* smtp_domain: sub-domain *("." sub-domain), labels of at most 63 octets
 * (RFC 1035 2.3.4). */
static int
smtp_domain(const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!smtp_letdig((unsigned char)s[i]) && s[i] != '-')
				return 0;
			continue;
		}
		if (i == start || i - start > 63 || s[start] == '-' ||
		    s[i - 1] == '-')
			return 0;
		start = i + 1;
	}
	return 1;
}

static int
smtp_ipv4(const char *s, size_t n)
{
	size_t i, digits = 0;
	unsigned v = 0, parts = 1;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++parts > 4)
				return 0;
			digits = v = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return 0;
		} else
			return 0;
	}
	return parts == 4 && digits > 0;
}

/* smtp_literal: address-literal (RFC 5321 4.1.3). */
static int
smtp_literal(const char *s, size_t n)
{
	char v6[64];
	struct in6_addr in6;
	size_t i, tag;

	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return 0;
	s++;
	n -= 2;
	if (smtp_ipv4(s, n))
		return 1;
	if (n > 5 && ob_strncasecmp(s, "IPv6:", 5) == 0) {
		if (n - 5 >= sizeof v6)
			return 0;
		memcpy(v6, s + 5, n - 5);
		v6[n - 5] = '\0';
		return inet_pton(AF_INET6, v6, &in6) == 1;
	}
	/* General-address-literal = Standardized-tag ":" 1*dcontent */
	for (tag = 0; tag < n && s[tag] != ':'; tag++)
		if (!smtp_letdig((unsigned char)s[tag]) && s[tag] != '-')
			return 0;
	if (tag == 0 || tag == n || tag + 1 == n || s[tag - 1] == '-')
		return 0;
	for (i = tag + 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
			return 0;
	}
	return 1;
}

int
addr_valid_smtp(const char *a)
{
	const char *at = addr_at(a);
	size_t llen, dlen;

	if (at == NULL)
		return 0;
	llen = (size_t)(at - a);
	dlen = strlen(at + 1);
	/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 with the
	 * angle brackets. */
	if (llen == 0 || llen > 64 || dlen == 0 || dlen > 255 ||
	    llen + 1 + dlen + 2 > 256)
		return 0;
	if (!smtp_local(a, llen))
		return 0;
	if (at[1] == '[')
		return smtp_literal(at + 1, dlen);
	return smtp_domain(at + 1, dlen);
}

/* ---- aliases ------------------------------------------------------------------ */

struct alias {
	char		*name;
	struct addr_list to;
	unsigned long	 line;
};

struct aliases {
	char		*path;		/* NULL: no aliases file configured */
	struct alias	*v;
	size_t		 n, cap;
	const struct alias *def;	/* the "default" entry, or NULL */
};

static int
alias_cmp(const void *a, const void *b)
{
	const struct alias *x = a, *y = b;

	return ob_strcasecmp(x->name, y->name);
}

/* alias_line: one logical line "name: address, ...". */
static int
alias_line(struct aliases *a, char *s, unsigned long line,
    struct ob_err *err)
{
	struct alias *e;
	struct ob_err e2;
	char *colon, *name, *end, *v;
	size_t i;

	colon = strchr(s, ':');
	if (colon == NULL)
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%.100s:%lu: missing ':' after the alias name",
		    a->path, line);
	for (end = colon; end > s && (end[-1] == ' ' || end[-1] == '\t');
	    end--)
		;
	*end = '\0';
	name = s;
	if (*name == '\0')
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%.100s:%lu: missing alias name before ':'", a->path, line);
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] == ' ' || name[i] == '\t' || name[i] == '"' ||
		    name[i] == '@' || addr_ctl((unsigned char)name[i]))
			return ob_err_set(err, OB_PERM, EX_CONFIG,
			    "%.100s:%lu: bad alias name '%.64s' (a local "
			    "name without spaces, quotes or '@')",
			    a->path, line, name);
	v = colon + 1 + strspn(colon + 1, " \t");
	if (*v == '|' || *v == '/' || (*v == '"' && (v[1] == '|' ||
	    v[1] == '/')) || strstr(v, ":include:") != NULL)
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%.100s:%lu: alias '%.64s': pipes, files and :include: "
		    "are not supported (only addresses)", a->path, line, name);
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xreallocarray(a->v, a->cap, sizeof *a->v);
	}
	e = &a->v[a->n];
	addr_list_init(&e->to);
	e->line = line;
	if (addr_parse_header(v, &e->to, &e2) == -1) {
		addr_list_free(&e->to);
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%.100s:%lu: alias '%.64s': %s", a->path, line, name,
		    e2.text);
	}
	if (e->to.n == 0) {
		addr_list_free(&e->to);
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "%.100s:%lu: alias '%.64s' has no address", a->path, line,
		    name);
	}
	e->name = xstrdup(name);
	a->n++;
	return 0;
}

/* alias_logical: the logical line in B (if any) is complete. */
static int
alias_logical(struct aliases *a, struct buf *b, unsigned long line,
    struct ob_err *err)
{
	int r = 0;

	if (b->len > 0)
		r = alias_line(a, b->p, line, err);
	buf_clear(b);
	return r;
}

static void
alias_toolong(struct ob_err *err, const char *path, unsigned long line)
{
	ob_err_set(err, OB_PERM, EX_CONFIG, "%.100s:%lu: line longer than %d "
	    "bytes", path, line, ALIAS_MAXLINE);
}

int
aliases_load(struct aliases **ap, const char *path, struct ob_err *err)
{
	struct aliases *a = xcalloc(1, sizeof *a);
	struct buf logical;
	FILE *fp = NULL;
	char *line = NULL;
	size_t cap = 0, i;
	ssize_t n;
	unsigned long lineno = 0, start = 0;
	int r = -1;

	*ap = NULL;
	buf_init(&logical, ALIAS_MAXLINE);
	if (path == NULL) {
		*ap = a;
		return 0;
	}
	a->path = xstrdup(path);
	if ((fp = fopen(path, "r")) == NULL) {
		ob_err_set(err, OB_PERM, EX_CONFIG, "%.100s: %s", path,
		    strerror(errno));
		goto fail;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		size_t len = (size_t)n, ws;

		lineno++;
		if (memchr(line, '\0', len) != NULL) {
			ob_err_set(err, OB_PERM, EX_CONFIG,
			    "%.100s:%lu: NUL byte", path, lineno);
			goto fail;
		}
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		ws = strspn(line, " \t");
		/* Postfix aliases(5): blank lines and lines whose first
		 * non-blank character is '#' are ignored. */
		if (line[ws] == '\0' || line[ws] == '#')
			continue;
		if (ws > 0) {
			if (logical.len == 0) {
				ob_err_set(err, OB_PERM, EX_CONFIG,
				    "%.100s:%lu: continuation line without "
				    "an alias before it", path, lineno);
				goto fail;
			}
			if (buf_addc(&logical, ' ') == -1 ||
			    buf_add(&logical, line + ws, len - ws) == -1) {
				alias_toolong(err, path, start);
				goto fail;
			}
			continue;
		}
		if (alias_logical(a, &logical, start, err) == -1)
			goto fail;
		start = lineno;
		if (buf_add(&logical, line, len) == -1) {
			alias_toolong(err, path, start);
			goto fail;
		}
	}
	if (ferror(fp)) {
		ob_err_set(err, OB_PERM, EX_CONFIG, "%.100s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (alias_logical(a, &logical, start, err) == -1)
		goto fail;
	if (a->n > 0)
		qsort(a->v, a->n, sizeof *a->v, alias_cmp);
	for (i = 1; i < a->n; i++)
		if (ob_strcasecmp(a->v[i - 1].name, a->v[i].name) == 0) {
			const struct alias *x = &a->v[i - 1], *y = &a->v[i];

			if (x->line > y->line) {
				x = y;
				y = &a->v[i - 1];
			}
			ob_err_set(err, OB_PERM, EX_CONFIG,
			    "%.100s:%lu: duplicate alias '%.64s' (first at "
			    "line %lu)", path, y->line, y->name, x->line);
			goto fail;
		}
	for (i = 0; i < a->n; i++)
		if (ob_strcasecmp(a->v[i].name, "default") == 0)
			a->def = &a->v[i];
	*ap = a;
	a = NULL;
	r = 0;
fail:
	free(line);
	buf_free(&logical);
	if (fp != NULL)
		fclose(fp);
	aliases_free(a);
	return r;
}

static const struct alias *
alias_find(const struct aliases *a, const char *name)
{
	struct alias key;

	if (a->n == 0)
		return NULL;
	memset(&key, 0, sizeof key);
	key.name = (char *)name;
	return bsearch(&key, a->v, a->n, sizeof *a->v, alias_cmp);
}

/* alias_expand: NAME (requested via the chain in STACK/ENT of DEPTH
 * levels) into OUT. */
static int
alias_expand(const struct aliases *a, const char *name, struct addr_list *out,
    const char **stack, const struct alias **ent, int depth,
    struct ob_err *err)
{
	const struct alias *e = alias_find(a, name);
	size_t i;
	int d;

	if (e == NULL)
		e = a->def;
	if (e == NULL) {
		if (a->path == NULL)
			return ob_err_set(err, OB_PERM, EX_NOUSER,
			    "no alias for local recipient '%.64s': the "
			    "'aliases' configuration key is not set (point "
			    "it to a file with '%.64s: address' or "
			    "'default: address')", name, name);
		return ob_err_set(err, OB_PERM, EX_NOUSER,
		    "no alias for local recipient '%.64s' in %.80s (add "
		    "'%.64s: address' or 'default: address')", name, a->path,
		    name);
	}
	for (d = 0; d < depth; d++)
		if (ent[d] == e) {
			struct buf b;

			buf_init(&b, 0);
			for (i = 0; i < (size_t)depth; i++)
				buf_printf(&b, "%.40s -> ", stack[i]);
			buf_printf(&b, "%.40s", name);
			if (e == a->def)
				buf_addstr(&b, " (via 'default')");
			ob_err_set(err, OB_PERM, EX_NOUSER,
			    "alias loop in %.80s: %.150s", a->path, b.p);
			buf_free(&b);
			return -1;
		}
	if (depth == ALIAS_MAXDEPTH)
		return ob_err_set(err, OB_PERM, EX_NOUSER,
		    "aliases for '%.64s' nest deeper than %d levels in %.100s",
		    stack[0], ALIAS_MAXDEPTH, a->path);
	stack[depth] = name;
	ent[depth] = e;
	for (i = 0; i < e->to.n; i++) {
		if (!addr_is_local(e->to.v[i]))
			addr_list_add_unique(out, e->to.v[i]);
		else if (alias_expand(a, e->to.v[i], out, stack, ent,
		    depth + 1, err) == -1)
			return -1;
	}
	return 0;
}

int
aliases_resolve(const struct aliases *a, const char *name,
    struct addr_list *out, struct ob_err *err)
{
	const char *stack[ALIAS_MAXDEPTH + 1];
	const struct alias *ent[ALIAS_MAXDEPTH + 1];

	return alias_expand(a, name, out, stack, ent, 0, err);
}

void
aliases_free(struct aliases *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->v[i].name);
		addr_list_free(&a->v[i].to);
	}
	free(a->v);
	free(a->path);
	free(a);
}
