/* msg.h - message text at submission: input lines, the header section,
 * and the header rules (-t recipients, Bcc removal, added fields).
 *
 * Canonical form (what the queue stores): lines ended by CRLF, no
 * dot-stuffing, a header section, one empty line, the body.  This module
 * never reads a file descriptor: callers push bytes or lines, so unit tests
 * feed it strings.
 */
#ifndef OUTBOX_MSG_H
#define OUTBOX_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

/* ---- input lines ------------------------------------------------------
 * Splits raw input into lines.  LF and CRLF end a line; any run of CRs
 * right before the LF is dropped with it ("abc\r\r\n" is the line "abc"),
 * so nothing ever goes out as CR CR LF.  A CR elsewhere is kept.  A line
 * longer than MAXLINE is returned in pieces (MSG_LINE_PART) and is never
 * truncated.
 */
#define MSG_LINE_NONE	0	/* need more input */
#define MSG_LINE_FULL	1	/* a complete line (EOL removed) */
#define MSG_LINE_PART	2	/* a piece of a long line; more follows */
#define MSG_LINE_LAST	3	/* the unterminated last line, at EOF */

struct msg_lines {
	struct buf	 line;
	size_t		 maxline;
	size_t		 pending_cr;	/* CRs held back, maybe before LF */
	int		 emitted;	/* LINE was returned: clear it first */
};
void	msg_lines_init(struct msg_lines *ml, size_t maxline);
/* msg_lines_get: consume bytes from DATA and LEN (advancing them) until a
 * line is ready; returns MSG_LINE_* with LINE and LINELEN borrowed until the
 * next call (LINE may point into DATA itself, so keep DATA's bytes until
 * the line is used).  Pieces of a long line are exactly MAXLINE bytes and
 * come only when more of the line follows, so the split does not depend on
 * how the input was chunked.  With EOF set and all input consumed, a final
 * unterminated line comes back as MSG_LINE_LAST (once; CRs at its end are
 * dropped as before an LF); then MSG_LINE_NONE. */
int	msg_lines_get(struct msg_lines *ml, const char **data, size_t *len,
	    int eof, const char **line, size_t *linelen);
void	msg_lines_free(struct msg_lines *ml);

/* ---- the header section ---------------------------------------------- */
#define MSG_HEAD_MORE	0	/* line taken as a field or continuation */
#define MSG_HEAD_END	1	/* empty line: headers done, line consumed */
#define MSG_HEAD_BODY	2	/* not a header line: headers done, and this
				 * line is the body's first line (the writer
				 * then inserts the empty separator line) */
#define MSG_HEAD_TOOBIG	(-1)	/* section over its maximum */

struct msg_head;
/* msg_head_new: MAX bounds the whole section in bytes. */
struct msg_head *msg_head_new(size_t max);
/* msg_head_line: push one input line without EOL.  A line piece
 * (MSG_LINE_PART) is pushed with PART set and joins the next push.  A
 * field name is 1*ftext (RFC 5322 2.2, printable ASCII but ':') followed
 * by optional WSP and ':'.  A continuation line starts with SP or HTAB.
 * A continuation with no field before it ends the headers (MSG_HEAD_BODY). */
int	msg_head_line(struct msg_head *h, const char *line, size_t len, int part);

size_t	msg_head_count(const struct msg_head *h);
/* msg_head_name: field I's name as written (borrowed). */
const char *msg_head_name(const struct msg_head *h, size_t i);
/* msg_head_value: field I's value after the ':', folds kept as CRLF WSP,
 * no trailing CRLF (borrowed). */
const char *msg_head_value(const struct msg_head *h, size_t i);
/* msg_head_find: first field named NAME (case-insensitive) at index >=
 * FROM, or -1. */
long	msg_head_find(const struct msg_head *h, const char *name, size_t from);
/* msg_head_remove: drop every field named NAME; returns how many. */
size_t	msg_head_remove(struct msg_head *h, const char *name);
/* msg_head_append: add "NAME: VALUE" at the end of the section. */
void	msg_head_append(struct msg_head *h, const char *name, const char *value);
/* msg_head_write: the section in canonical form, every field ended by
 * CRLF, without the empty separator line; appended to OUT.  -1 if OUT's
 * max is exceeded. */
int	msg_head_write(const struct msg_head *h, struct buf *out);
/* msg_head_size: bytes msg_head_write would produce. */
size_t	msg_head_size(const struct msg_head *h);
/* msg_head_8bit: some field holds an octet over 127. */
int	msg_head_8bit(const struct msg_head *h);
void	msg_head_free(struct msg_head *h);		/* NULL is fine */

/* ---- header rules ----------------------------------------------------- */
/* msg_rcpts_from_head: sendmail -t.  When any Resent-To/-Cc/-Bcc field is
 * present those are used, else To, Cc and Bcc (as Postfix does).  Every
 * address is appended to OUT, duplicates dropped.  0, or -1 with ERR
 * (EX_DATAERR) naming the field and the problem. */
int	msg_rcpts_from_head(const struct msg_head *h, struct addr_list *out,
	    struct ob_err *err);
/* msg_strip_bcc: remove Bcc and Resent-Bcc; returns how many. */
size_t	msg_strip_bcc(struct msg_head *h);

struct msg_origin {
	const char	*sender;	/* envelope sender ("" = null) */
	const char	*full_name;	/* -F, or the user's gecos, or NULL */
	const char	*user;		/* login name of the submitter */
	const char	*helo_name;	/* our host name, for From and Message-ID */
	const char	*queue_id;	/* for the Message-ID's uniqueness */
	int64_t		 now_ms;
};
#define MSG_ADDED_DATE	0x1
#define MSG_ADDED_MSGID	0x2
#define MSG_ADDED_FROM	0x4
/* msg_complete: add Date, Message-ID and From when missing (RFC 5322
 * 3.6: Date and From are required; Message-ID should be there).  From is
 * "Full Name <sender>" with the name quoted when needed, or just the
 * sender; for a null sender, user@helo_name.  Nothing else is added.
 * Returns the MSG_ADDED_* bits. */
int	msg_complete(struct msg_head *h, const struct msg_origin *o);

#endif
