/* msg.c - message text at submission: input lines, the header section, and
 * the header rules (-t recipients, Bcc removal, added Date/Message-ID/From).
 *
 * Invariants: nothing is ever truncated (long lines come in pieces, header
 * fields keep their exact text, folds as CRLF WSP); no CR is left in front
 * of a line end, so the canonical form never holds CR CR LF; every buffer
 * filled from input has a bound (MAXLINE for a line, MAX for the section).
 *
 * Left to others: reading the fd, the sendmail "." rule, NUL checks, and
 * writing the body (cmd_send.c); dot-stuffing (the DATA writer); what the
 * addresses mean (addr.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"
#include "msg.h"

/* ---- input lines ---------------------------------------------------------- */

void
msg_lines_init(struct msg_lines *ml, size_t maxline)
{
	buf_init(&ml->line, 0);
	ml->maxline = maxline > 0 ? maxline : 1;
	ml->pending_cr = 0;
	ml->emitted = 0;
}

static size_t
msg_cr_run(const char *d, size_t n)
{
	size_t k = 0;

	while (k < n && d[k] == '\r')
		k++;
	return k;
}

static size_t
msg_strip_cr(const char *d, size_t n)
{
	while (n > 0 && d[n - 1] == '\r')
		n--;
	return n;
}

/*
 * The buffered state is LINE (at most MAXLINE bytes of the current line,
 * never ending in a CR that might precede the LF) plus PENDING_CR CRs seen
 * after it.  A complete line that lies whole in DATA is returned from DATA
 * without copying: for ordinary input that is one memchr per line.
 */
int
msg_lines_get(struct msg_lines *ml, const char **data, size_t *len, int eof,
    const char **line, size_t *linelen)
{
	const char *d = *data, *nl;
	size_t n = *len, room, lim, k, seg;
	int r;

	if (ml->emitted) {
		buf_clear(&ml->line);
		ml->emitted = 0;
	}
	*line = NULL;
	*linelen = 0;
	for (;;) {
		if (n == 0) {
			if (!eof || (ml->line.len == 0 && ml->pending_cr == 0)) {
				r = MSG_LINE_NONE;
				goto out;
			}
			ml->pending_cr = 0;
			r = MSG_LINE_LAST;
			goto emit;
		}
		room = ml->maxline - ml->line.len;
		if (*d == '\r' && (ml->pending_cr > 0 || room == 0)) {
			k = msg_cr_run(d, n);
			ml->pending_cr += k;
			d += k;
			n -= k;
			continue;
		}
		if (*d == '\n' && (ml->pending_cr > 0 || room == 0)) {
			d++;
			n--;
			ml->pending_cr = 0;
			r = MSG_LINE_FULL;
			goto emit;
		}
		if (room == 0) {
			/* Full, and more of this line follows. */
			r = MSG_LINE_PART;
			goto emit;
		}
		if (ml->pending_cr > 0) {
			/* The held CRs were not before an LF: content. */
			k = ml->pending_cr < room ? ml->pending_cr : room;
			ml->pending_cr -= k;
			while (k-- > 0)
				buf_addc(&ml->line, '\r');
			continue;
		}
		lim = n < room + 1 ? n : room + 1;
		nl = memchr(d, '\n', lim);
		if (nl != NULL) {
			k = (size_t)(nl - d);
			seg = msg_strip_cr(d, k);
			r = MSG_LINE_FULL;
			if (ml->line.len == 0) {
				*line = d;
				*linelen = seg;
				d += k + 1;
				n -= k + 1;
				goto out;
			}
			buf_add(&ml->line, d, seg);
			d += k + 1;
			n -= k + 1;
			goto emit;
		}
		if (ml->line.len == 0 && n > room && d[room] != '\r') {
			/* MAXLINE bytes and more content after them. */
			*line = d;
			*linelen = room;
			d += room;
			n -= room;
			r = MSG_LINE_PART;
			goto out;
		}
		lim = n < room ? n : room;
		seg = msg_strip_cr(d, lim);
		buf_add(&ml->line, d, seg);
		ml->pending_cr += lim - seg;
		d += lim;
		n -= lim;
	}
emit:
	*line = ml->line.p != NULL ? ml->line.p : "";
	*linelen = ml->line.len;
	ml->emitted = 1;
out:
	*data = d;
	*len = n;
	return r;
}

void
msg_lines_free(struct msg_lines *ml)
{
	buf_free(&ml->line);
	ml->pending_cr = 0;
	ml->emitted = 0;
}

/* ---- the header section --------------------------------------------------- */

struct msg_field {
	char		*name;		/* as written */
	struct buf	 raw;		/* the whole field, folds as CRLF WSP */
	size_t		 vofs;		/* where the value starts, after ':' */
};

struct msg_head {
	struct msg_field *f;
	size_t		  n, cap;
	size_t		  size;		/* bytes msg_head_write produces */
	size_t		  max;
	int		  joining;	/* the last push was a line piece */
};

struct msg_head *
msg_head_new(size_t max)
{
	struct msg_head *h = xcalloc(1, sizeof *h);

	h->max = max;
	return h;
}

/* ftext: RFC 5322 3.6.8, printable US-ASCII except ':'. */
static int
msg_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static struct msg_field *
msg_field_new(struct msg_head *h, const char *name, size_t nlen)
{
	struct msg_field *f;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->f = xreallocarray(h->f, h->cap, sizeof *h->f);
	}
	f = &h->f[h->n++];
	f->name = xstrndup(name, nlen);
	buf_init(&f->raw, 0);
	f->vofs = 0;
	return f;
}

int
msg_head_line(struct msg_head *h, const char *line, size_t len, int part)
{
	struct msg_field *f;
	size_t i, j;

	if (h->joining) {
		/* The rest of a long line joins what came before. */
		if (len > h->max - h->size)
			return MSG_HEAD_TOOBIG;
		buf_add(&h->f[h->n - 1].raw, line, len);
		h->size += len;
		h->joining = part;
		return MSG_HEAD_MORE;
	}
	if (len == 0)
		return MSG_HEAD_END;
	if (line[0] == ' ' || line[0] == '\t') {
		/* RFC 5322 2.2.3: a fold.  With no field before it this is
		 * not a header section at all. */
		if (h->n == 0)
			return MSG_HEAD_BODY;
		if (len + 2 > h->max - h->size)
			return MSG_HEAD_TOOBIG;
		f = &h->f[h->n - 1];
		buf_add(&f->raw, "\r\n", 2);
		buf_add(&f->raw, line, len);
		h->size += len + 2;
		h->joining = part;
		return MSG_HEAD_MORE;
	}
	/* field-name = 1*ftext, then obs-optional WSP (RFC 5322 4.5), ':'.
	 * An mbox "From " line fails here (the WSP is not followed by ':')
	 * and so starts the body, as does anything else that is not a
	 * field; with PART, the name and colon must be in this piece. */
	for (i = 0; i < len && msg_ftext((unsigned char)line[i]); i++)
		;
	for (j = i; j < len && (line[j] == ' ' || line[j] == '\t'); j++)
		;
	if (i == 0 || j == len || line[j] != ':')
		return MSG_HEAD_BODY;
	if (h->size > h->max || len + 2 > h->max - h->size)
		return MSG_HEAD_TOOBIG;
	f = msg_field_new(h, line, i);
	buf_add(&f->raw, line, len);
	f->vofs = j + 1;
	h->size += len + 2;
	h->joining = part;
	return MSG_HEAD_MORE;
}

size_t
msg_head_count(const struct msg_head *h)
{
	return h->n;
}

const char *
msg_head_name(const struct msg_head *h, size_t i)
{
	if (i >= h->n)
		panic("msg_head_name: field %zu of %zu", i, h->n);
	return h->f[i].name;
}

const char *
msg_head_value(const struct msg_head *h, size_t i)
{
	if (i >= h->n)
		panic("msg_head_value: field %zu of %zu", i, h->n);
	return h->f[i].raw.p + h->f[i].vofs;
}

long
msg_head_find(const struct msg_head *h, const char *name, size_t from)
{
	size_t i;

	for (i = from; i < h->n; i++)
		if (ob_strcasecmp(h->f[i].name, name) == 0)
			return (long)i;
	return -1;
}

size_t
msg_head_remove(struct msg_head *h, const char *name)
{
	size_t i, k = 0, removed = 0;

	for (i = 0; i < h->n; i++) {
		if (ob_strcasecmp(h->f[i].name, name) == 0) {
			h->size -= h->f[i].raw.len + 2;
			free(h->f[i].name);
			buf_free(&h->f[i].raw);
			removed++;
			continue;
		}
		h->f[k++] = h->f[i];
	}
	h->n = k;
	return removed;
}

void
msg_head_append(struct msg_head *h, const char *name, const char *value)
{
	struct msg_field *f = msg_field_new(h, name, strlen(name));

	buf_addstr(&f->raw, name);
	buf_addc(&f->raw, ':');
	f->vofs = f->raw.len;
	buf_addc(&f->raw, ' ');
	buf_addstr(&f->raw, value);
	h->size += f->raw.len + 2;
	h->joining = 0;
}

int
msg_head_write(const struct msg_head *h, struct buf *out)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (buf_add(out, h->f[i].raw.p, h->f[i].raw.len) == -1 ||
		    buf_add(out, "\r\n", 2) == -1)
			return -1;
	return 0;
}

size_t
msg_head_size(const struct msg_head *h)
{
	return h->size;
}

int
msg_head_8bit(const struct msg_head *h)
{
	size_t i, j;

	for (i = 0; i < h->n; i++)
		for (j = 0; j < h->f[i].raw.len; j++)
			if ((unsigned char)h->f[i].raw.p[j] >= 0x80)
				return 1;
	return 0;
}

void
msg_head_free(struct msg_head *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++) {
		free(h->f[i].name);
		buf_free(&h->f[i].raw);
	}
	free(h->f);
	free(h);
}

/* ---- header rules ---------------------------------------------------------- */

static const char *const msg_rcpt_fields[] = { "To", "Cc", "Bcc" };
static const char *const msg_resent_fields[] = {
	"Resent-To", "Resent-Cc", "Resent-Bcc"
};

static int
msg_is_one_of(const char *name, const char *const *names)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (ob_strcasecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

int
msg_rcpts_from_head(const struct msg_head *h, struct addr_list *out,
    struct ob_err *err)
{
	const char *const *names = msg_rcpt_fields;
	struct addr_list l;
	struct ob_err e;
	size_t i, j;
	int r = -1;

	/* RFC 5322 3.6.6: resent fields describe the latest reintroduction;
	 * when there are any, they name the recipients (as Postfix does). */
	for (i = 0; i < h->n; i++)
		if (msg_is_one_of(h->f[i].name, msg_resent_fields))
			names = msg_resent_fields;
	addr_list_init(&l);
	for (i = 0; i < h->n; i++) {
		if (!msg_is_one_of(h->f[i].name, names))
			continue;
		if (addr_parse_header(msg_head_value(h, i), &l, &e) == -1) {
			ob_err_set(err, OB_PERM, EX_DATAERR, "%.64s: %s",
			    h->f[i].name, e.text);
			goto fail;
		}
		for (j = 0; j < l.n; j++)
			addr_list_add_unique(out, l.v[j]);
		addr_list_free(&l);
	}
	r = 0;
fail:
	addr_list_free(&l);
	return r;
}

size_t
msg_strip_bcc(struct msg_head *h)
{
	return msg_head_remove(h, "Bcc") + msg_head_remove(h, "Resent-Bcc");
}

static int
msg_atext_or_space(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == ' ')
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* msg_add_name: NAME as an RFC 5322 3.2.5 phrase: bare when it is only
 * atext and spaces, else a quoted-string.  Control characters (-F
 * "x\nBcc: y") become spaces, so no field can be smuggled in. */
static void
msg_add_name(struct buf *b, const char *name)
{
	const char *s = name, *e;
	int bare = 1;

	while (*s == ' ' || *s == '\t')
		s++;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t' ||
	    e[-1] == '\r' || e[-1] == '\n'); e--)
		;
	for (name = s; name < e; name++)
		if (!msg_atext_or_space((unsigned char)*name))
			bare = 0;
	if (!bare)
		buf_addc(b, '"');
	for (; s < e; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c == '"' || c == '\\')
			buf_addc(b, '\\');
		buf_addc(b, c);
	}
	if (!bare)
		buf_addc(b, '"');
}

static int
msg_name_empty(const char *name)
{
	return name == NULL || name[strspn(name, " \t\r\n")] == '\0';
}

int
msg_complete(struct msg_head *h, const struct msg_origin *o)
{
	const char *helo = o->helo_name ? o->helo_name : "localhost";
	char date[64], stamp[32];
	struct buf b;
	struct tm tm;
	time_t t;
	int added = 0;

	buf_init(&b, 0);
	if (msg_head_find(h, "Date", 0) < 0) {
		fmt_rfc5322_date(date, sizeof date, o->now_ms);
		msg_head_append(h, "Date", date);
		added |= MSG_ADDED_DATE;
	}
	if (msg_head_find(h, "Message-ID", 0) < 0) {
		t = (time_t)(o->now_ms / 1000);
		gmtime_r(&t, &tm);
		if (strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm) == 0)
			stamp[0] = '\0';
		buf_clear(&b);
		buf_printf(&b, "<%s.%s@%s>", stamp,
		    o->queue_id ? o->queue_id : "0", helo);
		msg_head_append(h, "Message-ID", b.p);
		added |= MSG_ADDED_MSGID;
	}
	if (msg_head_find(h, "From", 0) < 0) {
		buf_clear(&b);
		if (!msg_name_empty(o->full_name)) {
			msg_add_name(&b, o->full_name);
			buf_addstr(&b, " <");
		}
		/* A null or unqualified sender says nothing useful to the
		 * reader: the submitting user at this host. */
		if (o->sender == NULL || *o->sender == '\0' ||
		    addr_is_local(o->sender))
			buf_printf(&b, "%s@%s", o->user ? o->user : "unknown",
			    helo);
		else
			buf_addstr(&b, o->sender);
		if (!msg_name_empty(o->full_name))
			buf_addc(&b, '>');
		msg_head_append(h, "From", b.p);
		added |= MSG_ADDED_FROM;
	}
	buf_free(&b);
	return added;
}
