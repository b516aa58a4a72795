/* bounce.c - failed and delayed recipients into a DSN for the sender.
 *
 * Who is told (DESIGN invariant 4: no mail loops):
 * - a message with a sender: the sender, listing every recipient this
 *   attempt failed (Action: failed) and, once per message, those still
 *   being tried after delay_warning (Action: delayed), unless the
 *   recipient's NOTIFY (RFC 3461 4.1) says otherwise;
 * - a message with the null sender (a bounce, RFC 5321 4.5.5): nobody,
 *   but when double_bounce_to is set, that address gets a report, itself
 *   flagged QM_DOUBLE so that its own failure is only logged;
 * - delays of null-sender messages are never reported.
 * The DSN has the null sender and one recipient.  The caller queues it
 * with queue_update_dsn, in the transaction that records the results.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bounce.h"
#include "dsn.h"
#include "log.h"

#define BOUNCE_HDR_MAX	(64 * 1024)	/* original header octets returned */

void
bounce_free(struct bounce *b)
{
	buf_free(&b->head);
	buf_free(&b->mid);
	buf_free(&b->tail);
	free(b->rcpt);
	free(b->from);
	memset(b, 0, sizeof *b);
}

int
bounce_wants_warning(const struct conf *c, const struct queue_msg *m,
    int64_t now)
{
	return c->delay_warning > 0 && !(m->flags & (QM_WARNED | QM_BOUNCE)) &&
	    m->sender[0] != '\0' && now - m->arrival >= c->delay_warning;
}

/* wanted: does recipient RC ask to hear about ACTION? */
static int
wanted(const struct queue_rcpt *rc, int action)
{
	if (rc->notify & QN_NEVER)
		return 0;
	if (rc->notify == 0)
		return 1;		/* default: FAILURE,DELAY */
	return (rc->notify & (action == DSN_FAILED ? QN_FAILURE : QN_DELAY))
	    != 0;
}

/* orig_header: the header section of M (its first chunk, up to the empty
 * line, at most BOUNCE_HDR_MAX octets cut at a line end) into OUT. */
static int
orig_header(struct queue *q, const struct queue_msg *m, struct buf *out,
    struct ob_err *err)
{
	size_t i, end = 0;
	int r;

	if (m->nchunks == 0)
		return 0;
	if ((r = queue_body_chunk(q, m->id, 0, out, err)) != 1)
		return r == 0 ? ob_err_set(err, OB_TEMP, 0, "queue: body of "
		    "%s missing", m->idstr) : -1;
	for (i = 0; i + 1 < out->len && i < BOUNCE_HDR_MAX; i++) {
		if (out->p[i] != '\r' || out->p[i + 1] != '\n')
			continue;
		end = i + 2;		/* keeps the line's CRLF */
		if (i == 0 || (i + 3 < out->len && out->p[i + 2] == '\r' &&
		    out->p[i + 3] == '\n'))
			break;
	}
	if (end == 2 && out->p[0] == '\r')
		end = 0;		/* no header at all */
	out->len = end;
	out->p[end] = '\0';
	return 0;
}

int
bounce_prepare(const struct conf *c, struct queue *q, struct queue_msg *m,
    const struct bounce_note *note, int64_t now, struct bounce *b,
    struct ob_err *err)
{
	struct dsn_rcpt *dr = NULL;
	struct dsn d;
	unsigned char rnd[8];
	char bnd[64], mid[300], hex[17];
	unsigned flags = QM_BOUNCE;
	const char *to;
	size_t i, n = 0;
	int rc = -1;

	memset(b, 0, sizeof *b);
	buf_init(&b->head, 0);
	buf_init(&b->mid, 0);
	buf_init(&b->tail, 0);
	dr = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof *dr);
	for (i = 0; i < m->nrcpt; i++) {
		const struct queue_rcpt *rc1 = &m->rcpt[i];

		if (note[i].action == 0 || !wanted(rc1, note[i].action))
			continue;
		if (note[i].action == DSN_DELAYED &&
		    (m->sender[0] == '\0' || (m->flags & QM_BOUNCE)))
			continue;
		dr[n].addr = rc1->addr;
		dr[n].orcpt = rc1->orcpt;
		dr[n].action = note[i].action;
		dr[n].status = note[i].status;
		dr[n].remote_mta = note[i].remote;
		dr[n].reply = note[i].reply;
		dr[n].reason = note[i].reason[0] != '\0' ? note[i].reason :
		    NULL;
		dr[n].last_attempt = rc1->last_attempt ? rc1->last_attempt :
		    now;
		if (note[i].action == DSN_DELAYED) {
			dr[n].will_retry_until = m->arrival +
			    c->queue_lifetime;
			b->ndelayed++;
		} else
			b->nfailed++;
		n++;
	}
	if (n == 0) {
		rc = 0;
		goto done;
	}
	if (m->sender[0] != '\0' && !(m->flags & QM_BOUNCE))
		to = m->sender;
	else if (c->double_bounce_to != NULL && !(m->flags & QM_DOUBLE)) {
		to = c->double_bounce_to;
		flags |= QM_DOUBLE;
	} else {
		/* a failure nobody else hears of: a warning, so that a
		 * quiet `outbox flush` (cron) still shows it */
		log_warn("%s not bounced: it has the null sender (a bounce "
		    "itself)%s", m->idstr, m->flags & QM_DOUBLE ? "" :
		    "; set double_bounce_to to be told");
		rc = 0;
		goto done;
	}

	if (orig_header(q, m, &b->mid, err) == -1)
		goto done;
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		memcpy(rnd, &now, sizeof rnd < sizeof now ? sizeof rnd :
		    sizeof now);
	for (i = 0; i < sizeof rnd; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	(void)snprintf(bnd, sizeof bnd, "%s.%s", m->idstr, hex);
	(void)snprintf(mid, sizeof mid, "<%s.%s.dsn@%s>", m->idstr, hex,
	    c->helo_name);
	b->from = c->bounce_from != NULL ? xstrdup(c->bounce_from) :
	    xasprintf("MAILER-DAEMON@%s", c->helo_name);
	b->rcpt = xstrdup(to);

	memset(&d, 0, sizeof d);
	d.reporting_mta = c->helo_name;
	d.from = b->from;
	d.to = b->rcpt;
	d.queue_id = m->idstr;
	d.envid = m->envid;
	d.arrival = m->arrival;
	d.now = now;
	d.rcpt = dr;
	d.nrcpt = n;
	d.ret_full = m->ret == QRET_FULL;
	d.orig_8bit = (m->flags & (d.ret_full ? QM_8BIT : QM_8BITHDR)) != 0;
	d.boundary = bnd;
	d.message_id = mid;
	if (dsn_compose(&d, b->mid.p, b->mid.len, &b->head, &b->tail,
	    err) == -1)
		goto done;
	b->qb.rcpt = b->rcpt;
	b->qb.sender = "";	/* RFC 3464 2, RFC 5321 4.5.5 */
	b->qb.flags = flags;
	b->qb.head = b->head.p;
	b->qb.headlen = b->head.len;
	b->qb.copy_body = d.ret_full;
	b->qb.mid = d.ret_full ? NULL : b->mid.p;
	b->qb.midlen = d.ret_full ? 0 : b->mid.len;
	b->qb.tail = b->tail.p;
	b->qb.taillen = b->tail.len;
	if (b->ndelayed > 0)
		m->flags |= QM_WARNED;
	rc = 1;
done:
	free(dr);
	if (rc != 1)
		bounce_free(b);
	return rc;
}
