/* deliver.h - delivery runs: claim due messages, send them to a relay over
 * as few connections as possible, record one result per recipient.
 *
 * Used by outbox-deliver (the executable that links the network code).
 */
#ifndef OUTBOX_DELIVER_H
#define OUTBOX_DELIVER_H

#include <stddef.h>

#include "conf.h"
#include "queue.h"
#include "smtp_reply.h"

struct deliver_stats {
	size_t	messages;	/* messages attempted */
	size_t	delivered, deferred, failed;	/* recipients */
	int	unreachable;	/* no relay could be reached */
};

/* deliver_flush: deliver every due message in Q (every message with ALL)
 * to the relays of C, each message attempted at most once.  0, or -1 with
 * ERR when the queue itself failed (results already recorded stay). */
int	deliver_flush(const struct conf *c, struct queue *q, int all,
	    struct deliver_stats *st, struct ob_err *err);

/* deliver_classify: the recipient state (QR_*) for reply R: 2xx
 * delivered, 5xx failed, anything else (4xx, no reply) stays pending. */
int	deliver_classify(const struct smtp_reply *r);

#endif
