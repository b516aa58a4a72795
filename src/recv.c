/* recv.c - a message received over SMTP into the queue (recv.h).
 *
 * smtpd.c hands out the body already in canonical form (CRLF lines, dots
 * unstuffed); here it gets its trace field and goes into a queue
 * submission.  The 8-bit flags are found on the way: an octet over 127 in
 * the header section (before the first empty line) is QM_8BITHDR as well
 * as QM_8BIT, which decides later whether the message can be converted
 * for a 7-bit relay (RFC 6152 3).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "recv.h"

struct recv {
	struct queue_sub *sub;
	char		*sender;
	char		**rcpt;
	unsigned	*notify;
	char		**orcpt;
	char		*envid;
	size_t		 nrcpt;
	int		 ret;
	unsigned	 flags;
	uint64_t	 size;
	int64_t		 now;
	int		 in_head;	/* still in the header section */
	int		 line_start;	/* the last octet ended a line */
	int		 cr;		/* ... or was CR (of a CRLF) */
};

/* trace: the Received: field (RFC 5321 4.4; with-protocol per RFC 3848),
 * folded at the clauses, one recipient named only when there is one (a
 * Bcc list must not show up in everyone's copy).  The id is the one the
 * submission has now; in the rare case of an id collision at commit
 * (queue.h) the message is stored under another. */
static void
trace(struct buf *b, const struct smtpd_ev *e, const struct recv_info *ri,
    const char *id, int64_t now)
{
	char date[64];
	const char *proto;

	proto = ri->tls && ri->auth_user != NULL ? "ESMTPSA" :
	    ri->tls ? "ESMTPS" : ri->auth_user != NULL ? "ESMTPA" : "ESMTP";
	fmt_rfc5322_date(date, sizeof date, now);
	buf_printf(b, "Received: from %s", e->helo != NULL && *e->helo ?
	    e->helo : "unknown");
	if (ri->client_addr != NULL)
		buf_printf(b, " ([%s%s])", strchr(ri->client_addr, ':') ?
		    "IPv6:" : "", ri->client_addr);	/* TCP-info */
	else if (ri->user != NULL)
		buf_printf(b, " (user %s)", ri->user);
	buf_printf(b, "\r\n\tby %s (outbox) with %s id %s", ri->hostname,
	    proto, id);
	if (e->nrcpt == 1)
		buf_printf(b, "\r\n\tfor <%s>", e->rcpt[0]);
	buf_printf(b, ";\r\n\t%s\r\n", date);
}

int
recv_begin(struct recv **rp, struct queue *q, const struct smtpd_ev *e,
    const struct recv_info *ri, int nosync, int64_t now, struct ob_err *err)
{
	struct recv *r = xcalloc(1, sizeof *r);
	struct buf b;
	size_t i;
	int rc;

	*rp = NULL;
	if (queue_sub_begin(q, &r->sub, err) == -1) {
		free(r);
		return -1;
	}
	if (nosync)
		queue_sub_nosync(r->sub);
	if (ri->has_owner)
		queue_sub_owner(r->sub, ri->owner);
	r->sender = xstrdup(e->sender);
	r->nrcpt = e->nrcpt;
	r->rcpt = xcalloc(e->nrcpt ? e->nrcpt : 1, sizeof *r->rcpt);
	r->notify = xcalloc(e->nrcpt ? e->nrcpt : 1, sizeof *r->notify);
	r->orcpt = xcalloc(e->nrcpt ? e->nrcpt : 1, sizeof *r->orcpt);
	for (i = 0; i < e->nrcpt; i++) {
		/* "postmaster" alone (RFC 5321 4.5.1) is ours */
		r->rcpt[i] = strchr(e->rcpt[i], '@') != NULL ?
		    xstrdup(e->rcpt[i]) : xasprintf("%s@%s", e->rcpt[i],
		    ri->hostname);
		r->notify[i] = e->notify != NULL ? e->notify[i] : 0;
		if (e->orcpt != NULL && e->orcpt[i] != NULL)
			r->orcpt[i] = xstrdup(e->orcpt[i]);
	}
	r->envid = e->envid != NULL ? xstrdup(e->envid) : NULL;
	r->ret = e->ret;
	r->now = now;
	r->in_head = 1;
	r->line_start = 1;
	buf_init(&b, 0);
	trace(&b, e, ri, queue_sub_id(r->sub), now);
	rc = queue_sub_write(r->sub, b.p, b.len, err);
	r->size = b.len;
	buf_free(&b);
	*rp = r;
	return rc;
}

int
recv_body(struct recv *r, const void *p, size_t n, struct ob_err *err)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] & 0x80)
			r->flags |= QM_8BIT | (r->in_head ? QM_8BITHDR : 0);
		if (r->in_head) {
			/* an empty line (CRLF at a line's start) ends the
			 * header section */
			if (s[i] == '\n') {
				if (r->line_start || (r->cr == 2))
					r->in_head = 0;
				r->line_start = 1;
				r->cr = 0;
			} else if (s[i] == '\r' && r->line_start) {
				r->cr = 2;	/* CR first on a line */
				r->line_start = 0;
			} else {
				r->line_start = 0;
				r->cr = 0;
			}
		}
	}
	r->size += n;
	return queue_sub_write(r->sub, p, n, err);
}

int
recv_commit(struct recv *r, struct ob_err *err)
{
	queue_sub_dsn(r->sub, r->ret, r->envid, r->notify,
	    (const char *const *)r->orcpt);
	return queue_sub_commit(r->sub, r->sender,
	    (const char *const *)r->rcpt, r->nrcpt, r->flags, r->now, err);
}

const char *
recv_id(const struct recv *r)
{
	return queue_sub_id(r->sub);
}

uint64_t
recv_size(const struct recv *r)
{
	return r->size;
}

void
recv_free(struct recv *r)
{
	size_t i;

	if (r == NULL)
		return;
	queue_sub_free(r->sub);
	for (i = 0; i < r->nrcpt; i++) {
		free(r->rcpt[i]);
		free(r->orcpt[i]);
	}
	free(r->rcpt);
	free(r->notify);
	free(r->orcpt);
	free(r->envid);
	free(r->sender);
	free(r);
}
