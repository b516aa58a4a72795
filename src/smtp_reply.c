/* smtp_reply.c - parse SMTP reply lines into {code, enhanced status, text}.
 *
 * A reply is "CODE-text" lines ending with one "CODE text" line (RFC 5321
 * 4.2.1).  Each reply is parsed once, here, and nothing downstream looks
 * at the raw lines again (except EHLO keywords, which the caller reads
 * from the borrowed per-line text).
 *
 * Invariants: r.text is always NUL-terminated, at most
 * SMTP_REPLY_TEXT_MAX - 1 octets, printable ASCII only; r.status is "" or
 * "C.S.D" with C equal to the first digit of r.code.  No input length can
 * overflow anything: lines longer than RFC 5321's 512 octets are parsed
 * and their text cut.
 *
 * Left to others: what a code means for a command (smtpc.c) and for a
 * recipient (deliver.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"

#define TEXT_CAP	(SMTP_REPLY_TEXT_MAX - 1)	/* room without NUL */

static size_t	parse_status(const char *t, size_t n, int *cls, int *subj,
		    int *det);
static void	text_add(struct smtp_reply_parser *p, const char *s, size_t n);
static void	text_put(char *dst, size_t *len, int *full, const char *s,
		    size_t n);

void
smtp_reply_start(struct smtp_reply_parser *p)
{
	memset(p, 0, sizeof *p);
}

/* parse_status: an RFC 3463 status "class.subject.detail" at the start
 * of T, followed by a space or the end.  Class 2, 4 or 5; subject and
 * detail 1 to 3 digits (RFC 3463 2: 0-999).  Returns the octets used
 * including one following space, or 0 when T holds no status. */
static size_t
parse_status(const char *t, size_t n, int *cls, int *subj, int *det)
{
	size_t i = 0, k;
	int *part[2] = { subj, det };
	int j;

	if (n < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5'))
		return 0;
	*cls = t[0] - '0';
	i = 1;
	for (j = 0; j < 2; j++) {
		if (i >= n || t[i] != '.')
			return 0;
		i++;
		*part[j] = 0;
		for (k = 0; k < 3 && i < n && t[i] >= '0' && t[i] <= '9'; k++)
			*part[j] = *part[j] * 10 + (t[i++] - '0');
		if (k == 0)
			return 0;
	}
	if (i < n && t[i] != ' ')
		return 0;
	return i < n ? i + 1 : i;
}

/* text_put: append S (sanitised) to DST, cutting with "..." at TEXT_CAP. */
static void
text_put(char *dst, size_t *len, int *full, const char *s, size_t n)
{
	size_t i, pos = *len;

	if (*full)
		return;
	if (n > TEXT_CAP - pos) {
		*full = 1;
		for (i = 0; i < n && pos < TEXT_CAP - 3; i++, pos++)
			dst[pos] = s[i];
		if (pos > TEXT_CAP - 3)
			pos = TEXT_CAP - 3;
		memcpy(dst + pos, "...", 3);
		pos += 3;
	} else {
		memcpy(dst + pos, s, n);
		pos += n;
	}
	/* octets outside printable ASCII never reach logs, JSON or DSNs */
	for (i = *len; i < pos; i++) {
		unsigned char c = (unsigned char)dst[i];

		if (c == '\t')
			dst[i] = ' ';
		else if (c < 0x20 || c >= 0x7f)
			dst[i] = '?';
	}
	dst[pos] = '\0';
	*len = pos;
}

/* text_add: one line's text, joined to the earlier ones with "; ". */
static void
text_add(struct smtp_reply_parser *p, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (p->textlen > 0)
		text_put(p->r.text, &p->textlen, &p->full, "; ", 2);
	text_put(p->r.text, &p->textlen, &p->full, s, n);
}

int
smtp_reply_line(struct smtp_reply_parser *p, const char *line, size_t len,
    const char **text, size_t *textlen)
{
	const char *t;
	size_t n, skip;
	int code, last, cls, subj, det;

	if (p->complete)
		smtp_reply_start(p);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len < 3 || line[0] < '2' || line[0] > '5'
	    || line[1] < '0' || line[1] > '9'
	    || line[2] < '0' || line[2] > '9')
		goto fail;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len == 3)
		last = 1;
	else if (line[3] == ' ')
		last = 1;
	else if (line[3] == '-')
		last = 0;
	else
		goto fail;
	if (p->nlines > 0 && code != p->code)
		goto fail;
	t = len > 3 ? line + 4 : line + len;
	n = len > 3 ? len - 4 : 0;
	if (text != NULL)
		*text = t;
	if (textlen != NULL)
		*textlen = n;

	if (p->nlines == 0) {
		p->code = code;
		p->r.code = code;
		/* RFC 2034 puts the status on every line; take it from the
		 * first.  3xx replies carry none (RFC 3463 has no class 3). */
		if (code / 100 != 3
		    && (skip = parse_status(t, n, &cls, &subj, &det)) > 0) {
			/* class forced to agree with the code: a "250 5.0.0"
			 * must not turn a success into a failure downstream */
			snprintf(p->r.status, sizeof p->r.status,
			    "%d.%d.%d", code / 100, subj, det);
			t += skip;
			n -= skip;
		}
	} else if (p->r.status[0] != '\0'
	    && (skip = parse_status(t, n, &cls, &subj, &det)) > 0) {
		t += skip;
		n -= skip;
	}
	text_add(p, t, n);
	if (p->nlines < 1000000)
		p->nlines++;
	if (last)
		p->complete = 1;
	return last;

fail:
	p->complete = 1;
	return -1;
}

void
smtp_reply_local(struct smtp_reply *r, int code, const char *status,
    const char *fmt, ...)
{
	char tmp[SMTP_REPLY_TEXT_MAX * 2];
	va_list ap;
	size_t len = 0;
	int full = 0, n;

	memset(r, 0, sizeof *r);
	r->code = code;
	r->local = 1;
	if (status != NULL)
		snprintf(r->status, sizeof r->status, "%s", status);
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof tmp)
		n = sizeof tmp - 1;
	text_put(r->text, &len, &full, tmp, (size_t)n);
}

void
smtp_reply_fmt(const struct smtp_reply *r, char *dst, size_t n)
{
	const char *sp1 = r->status[0] ? " " : "";
	const char *sp2 = r->text[0] ? " " : "";

	if (n == 0)
		return;
	snprintf(dst, n, "%03d%s%s%s%s", r->code, sp1, r->status, sp2, r->text);
}
