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
 * Which leaf parts are re-encoded (the full rule is in mime8.c): a part
 * declared 7bit, 8bit, binary or not declared is held back (its header
 * from the Content-Transfer-Encoding field on, and its body) until its
 * body shows an 8-bit octet or a line over 998 octets, or until
 * MIME8_HOLD_MAX bytes are held: then it is encoded as quoted-printable.
 * A part that ends before any of that is passed on byte for byte, so a
 * 7-bit message comes out unchanged.
 *
 * Input and output are canonical lines (no dot-stuffing).
 */
#ifndef OUTBOX_MIME8_H
#define OUTBOX_MIME8_H

#include <stddef.h>

#include "util.h"

#define MIME8_HOLD_MAX	16384	/* bytes of one part held undecided */
#define MIME8_MAX_DEPTH	32	/* nested entities; deeper is OB_PERM */
#define MIME8_QP_LINE	76	/* RFC 2045 6.7 (5) */

struct mime8;
struct mime8 *mime8_new(void);
/* mime8_line: push one line of the whole message (header section and
 * body) without its CRLF.  EOL is 0 for a piece of a long line that
 * continues in the next push.  Converted text is appended to OUT, always
 * as whole CRLF-ended lines, each at most 998 octets when encoded here.
 * (Exception: a line over 998 octets that is passed on unchanged, such as
 * a long header field or a line of a base64 part, is appended in pieces
 * as it arrives; after a push with EOL set, OUT always ends at a line
 * boundary.)  OUT should have room for MIME8_HOLD_MAX * 3 more bytes; a
 * full OUT is an OB_TEMP error.  0, or -1 with ERR (OB_PERM) when the
 * message cannot be converted; after an error every later call fails the
 * same way. */
int	mime8_line(struct mime8 *m, const char *line, size_t len, int eol,
	    struct buf *out, struct ob_err *err);
/* mime8_end: the message is over; flush what is held back.  A line still
 * open (last push had EOL 0) is ended with CRLF.  0 or -1. */
int	mime8_end(struct mime8 *m, struct buf *out, struct ob_err *err);
void	mime8_free(struct mime8 *m);			/* NULL is fine */

#endif
