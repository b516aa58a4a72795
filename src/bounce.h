/* bounce.h - what a failed or long-delayed recipient turns into: a DSN
 * (RFC 3464) to the envelope sender, queued in the same transaction that
 * records the failure (DESIGN: bounces), so a crash loses neither.
 *
 * The caller (delivery, `outbox delete --bounce`) fills one note per
 * recipient saying what this attempt found; bounce_prepare decides who is
 * told (null sender, NOTIFY, double_bounce_to), composes the DSN with
 * dsn.c and hands back a struct queue_bounce for queue_update_dsn.
 */
#ifndef OUTBOX_BOUNCE_H
#define OUTBOX_BOUNCE_H

#include <stdint.h>

#include "conf.h"
#include "queue.h"
#include "util.h"

/* What this attempt means for one recipient, for the report. */
struct bounce_note {
	int	 action;	/* 0 = nothing to report, DSN_FAILED, DSN_DELAYED */
	char	 status[16];	/* RFC 3463 "5.1.1", "4.4.7" */
	const char *reply;	/* the server's reply ("550 5.1.1 ..."), or NULL */
	const char *remote;	/* the server that gave it, or NULL */
	char	 reason[300];	/* our own words when there is no reply */
	int	 deferred;	/* deferred by this attempt (for warnings) */
};

/* The storage a prepared bounce points into; bounce_free releases it. */
struct bounce {
	struct queue_bounce qb;
	struct buf head, mid, tail;
	char	*rcpt, *from;
	size_t	 nfailed, ndelayed;	/* recipients listed */
};

/* bounce_prepare: for message M (loaded, with NOTE[i] for m->rcpt[i]), at
 * NOW, compose the DSN that should be sent, if any.  Reads M's header
 * section from Q.  Returns 1 with *B ready (its qb goes to
 * queue_update_dsn; bounce_free after), 0 when nobody is to be told (the
 * reason is logged: null sender, NOTIFY=NEVER, ...), -1 with ERR (queue
 * read failed).  A delayed-only report sets QM_WARNED in m->flags, so the
 * update records that the warning went out. */
int	bounce_prepare(const struct conf *c, struct queue *q,
	    struct queue_msg *m, const struct bounce_note *note, int64_t now,
	    struct bounce *b, struct ob_err *err);
void	bounce_free(struct bounce *b);

/* bounce_wants_warning: does M (at NOW, under C) deserve its one delay
 * warning (delay_warning passed, not warned yet, a sender to tell)? */
int	bounce_wants_warning(const struct conf *c, const struct queue_msg *m,
	    int64_t now);

#endif
