/* dsn.h - compose an RFC 3464 delivery status notification.
 *
 * A pure function: no I/O, no queue, no clock, no globals.  The caller
 * (bounce.c) says what happened to each recipient; dsn_compose writes a
 * complete RFC 5322 message in canonical form (CRLF line ends, no
 * dot-stuffing, no line over 998 octets, no NUL, bare CR or bare LF) in
 * two pieces around the returned original, which the caller inserts.
 */
#ifndef OUTBOX_DSN_H
#define OUTBOX_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define DSN_FAILED	1	/* Action: failed  */
#define DSN_DELAYED	2	/* Action: delayed */

/* Longest address, host name, ORCPT, ENVID, queue id, Message-ID and
 * boundary token dsn_compose accepts (addresses: RFC 5321 4.5.3.1 allows
 * 256 for a path; we leave room).  Reply and reason texts are cut to
 * DSN_TEXT_MAX octets (then "...") so a chatty server cannot make the
 * report huge. */
#define DSN_ADDR_MAX	512
#define DSN_TEXT_MAX	4000

/* One recipient to report.  All strings are borrowed for the call. */
struct dsn_rcpt {
	const char *addr;	/* required.  Final-Recipient: rfc822; ADDR
				 * (utf-8; ADDR, RFC 6533, when it has
				 * non-ASCII octets, which must be UTF-8) */
	const char *orcpt;	/* Original-Recipient value as given
				 * ("rfc822;x@y"), or NULL; left out when it
				 * is not printable ASCII with a ';' */
	int	 action;	/* DSN_FAILED or DSN_DELAYED */
	const char *status;	/* "5.1.1", "4.4.7"; not class.subject.detail
				 * (RFC 3463 2) of the right class -> "5.0.0"
				 * for failed, "4.0.0" for delayed */
	const char *remote_mta;	/* the server that answered, or NULL:
				 * Remote-MTA: dns; HOST */
	const char *reply;	/* the server's reply, lines joined by "\n",
				 * or NULL: Diagnostic-Code: smtp; ... */
	const char *reason;	/* our own words, or NULL.  Goes to the text
				 * part; and when the reply is NULL or blank,
				 * to Diagnostic-Code: X-Outbox; REASON */
	int64_t	 last_attempt;	/* ms since epoch; 0 = no Last-Attempt-Date */
	int64_t	 will_retry_until; /* ms; DELAYED only; 0 = omit */
};

struct dsn {
	const char *reporting_mta; /* helo_name: Reporting-MTA: dns; NAME */
	const char *from;	/* bounce_from, "MAILER-DAEMON@host" */
	const char *to;		/* the original envelope sender, not "" */
	const char *queue_id;	/* X-Outbox-Queue-ID: and the text part */
	const char *envid;	/* Original-Envelope-Id (xtext as given) or
				 * NULL; left out when not printable ASCII */
	int64_t	 arrival;	/* ms: Arrival-Date */
	int64_t	 now;		/* ms: Date: of the DSN */
	const struct dsn_rcpt *rcpt;
	size_t	 nrcpt;		/* >= 1 */
	int	 ret_full;	/* 1: part 3 is message/rfc822 (the whole
				 * original), 0: text/rfc822-headers */
	const char *boundary;	/* caller's unique token; the MIME boundary
				 * is "=_outbox_" plus its [A-Za-z0-9._-]
				 * octets (RFC 2046 5.1.1: at most 70) */
	const char *message_id;	/* the DSN's Message-ID, "<...>" */
	int	 orig_8bit;	/* the inserted original may hold 8-bit
				 * octets (8BITMIME/SMTPUTF8): label part 3
				 * and the whole Content-Transfer-Encoding:
				 * 8bit (RFC 2045 6.4) */
};

/* dsn_compose: append the DSN for D to HEAD and TAIL (not cleared first;
 * their max bounds the result: going over it is an error).
 *
 * HEAD gets everything up to and including the blank line that ends the
 * third part's MIME header.  The caller then sends the original's header
 * section (ret_full 0) or the whole original message (ret_full 1)
 * verbatim, and then TAIL, which begins with "\r\n--BOUNDARY--\r\n": the
 * CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1), so
 * the result is correct whether or not the inserted content ends with a
 * CRLF (if it does, that CRLF stays part of the content).
 *
 * The part 2 content type is message/delivery-status, or
 * message/global-delivery-status (RFC 6533 6.2) when some recipient
 * address has non-ASCII octets; the text part is then charset=utf-8.
 *
 * ORIG_HDR/ORIG_HDRLEN: the original's header section (may be NULL/0, need
 * not be NUL-terminated or complete), read only for its Message-ID (for
 * In-Reply-To/References when syntactically sane) and Subject (for the
 * text part).  Untrusted: bounded scanning, anything odd is ignored.
 *
 * Returns 0, or -1 with ERR (OB_PERM): a required field missing or unsafe
 * (control octets, over DSN_ADDR_MAX), nrcpt 0, an unknown action, or
 * HEAD/TAIL over their max.  On error HEAD/TAIL may hold part of the
 * output: discard it. */
int	dsn_compose(const struct dsn *d, const char *orig_hdr,
	    size_t orig_hdrlen, struct buf *head, struct buf *tail,
	    struct ob_err *err);

#endif
