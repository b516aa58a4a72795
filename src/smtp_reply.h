/* smtp_reply.h - SMTP reply parsing, shared by client and server code.
 *
 * A reply is one or more lines "CODE-text" ... "CODE text" (RFC 5321
 * 4.2).  Each is parsed once into {code, enhanced status, text}.
 */
#ifndef OUTBOX_SMTP_REPLY_H
#define OUTBOX_SMTP_REPLY_H

#include <stddef.h>

#define SMTP_REPLY_TEXT_MAX	1024

struct smtp_reply {
	int	code;		/* 200..599; 0 when none */
	char	status[16];	/* RFC 3463 "4.2.1", or "" when the server gave none */
	char	text[SMTP_REPLY_TEXT_MAX];	/* lines joined by "; ", without
				 * code and status, control characters
				 * replaced, truncated with "..." */
	int	local;		/* 1: made up by outbox (no reply came) */
};

struct smtp_reply_parser {
	struct smtp_reply r;
	int	nlines;
	int	code;		/* code of the first line */
	size_t	textlen;	/* strlen(r.text) */
	int	full;		/* r.text was truncated ("..." added) */
	int	complete;	/* the last line pushed ended the reply: the
				 * next push starts a new one */
};

/* smtp_reply_start: reset P for a new reply.  (smtp_reply_line also
 * starts over by itself after it returned 1 or -1.) */
void	smtp_reply_start(struct smtp_reply_parser *p);
/* smtp_reply_line: push one reply line without CRLF.  Returns 1 when the
 * reply is complete (p->r holds it), 0 when more lines follow, -1 when the
 * line is malformed (no 3-digit code in 200..599, a code that differs from
 * the first line's, a separator other than ' ', '-' or end of line).  The
 * enhanced status (RFC 2034) is taken from the first line; its class is
 * forced to agree with the code (a "250 5.0.0" becomes status "2.0.0").
 * TEXT, when not NULL, receives this line's text after code and separator
 * (borrowed from LINE): EHLO keywords are read from it.  Lines of any
 * length are accepted (RFC 5321 4.5.3.1.5 says 512; the text is cut at
 * SMTP_REPLY_TEXT_MAX); a CR left at the end of LINE is ignored.  Text
 * octets below 0x20, 0x7f and above are replaced by '?'. */
int	smtp_reply_line(struct smtp_reply_parser *p, const char *line,
	    size_t len, const char **text, size_t *textlen);

/* smtp_reply_local: fill R as our own reply (local = 1).  STATUS may be
 * NULL or "" for none; the text is sanitised and truncated as above. */
void	smtp_reply_local(struct smtp_reply *r, int code, const char *status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* smtp_reply_fmt: "451 4.3.0 text" into DST (for logs and last_result);
 * "451 text" without a status, "451 4.3.0" without text.  Always
 * NUL-terminated, truncated to fit N. */
void	smtp_reply_fmt(const struct smtp_reply *r, char *dst, size_t n);

#endif
