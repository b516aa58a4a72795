/* mime8.h - 8bit to 7bit conversion for servers without 8BITMIME.
 *
 * RFC 6152 3: a client must not send 8-bit octets to a server that does
 * not offer 8BITMIME.  Like Postfix, outbox then converts: each MIME leaf
 * part whose body holds 8-bit octets gets Content-Transfer-Encoding:
 * quoted-printable (RFC 2045 6.7); multipart parts are walked by boundary
 * (RFC 2046 5.1); message/rfc822 parts are converted recursively.  A
 * message without MIME headers whose body is 8-bit is treated as
 * text/plain and gains MIME-Version, a Content-Type with charset
 * unknown-8bit (RFC 1428) and the encoding header.  Header fields with
 * 8-bit octets cannot be converted without knowing their charset: that is
 * a permanent failure (5.6.3 in RFC 3463 terms).
 *
 * Input and output are canonical lines (no dot-stuffing).
 */
#ifndef OUTBOX_MIME8_H
#define OUTBOX_MIME8_H

#include <stddef.h>

#include "util.h"

struct mime8;
struct mime8 *mime8_new(void);
/* mime8_line: push one line of the whole message (header section and
 * body) without its CRLF.  EOL is 0 for a piece of a long line that
 * continues in the next push.  Converted text is appended to OUT, always
 * as whole CRLF-ended lines, each at most 998 octets when encoded here.
 * 0, or -1 with ERR (OB_PERM) when the message cannot be converted. */
int	mime8_line(struct mime8 *m, const char *line, size_t len, int eol,
	    struct buf *out, struct ob_err *err);
/* mime8_end: the message is over; flush what is held back. 0 or -1. */
int	mime8_end(struct mime8 *m, struct buf *out, struct ob_err *err);
void	mime8_free(struct mime8 *m);			/* NULL is fine */

#endif
