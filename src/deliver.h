/* deliver.h - delivery runs: claim due messages, send them to a relay over
 * as few connections as possible, record one result per recipient.
 *
 * Used by outbox-deliver (the executable that links the network code).
 */
#ifndef OUTBOX_DELIVER_H
#define OUTBOX_DELIVER_H

#include <stddef.h>

struct dns;

#include "conf.h"
#include "queue.h"
#include "smtp_reply.h"

#include <signal.h>
#include <stdint.h>

struct deliver_stats;

struct deliver_opts {
	int	all;		/* every message, due or not, and the relays
				 * even while they back off */
	volatile sig_atomic_t *stop;	/* when set (a signal handler):
				 * finish the message in hand, release the
				 * rest, end the session; NULL = never */
	int	gc;		/* queue_gc first (a scan of the leases: the
				 * daemon does it itself, at start and after
				 * a worker died) */
	struct dns *dns;	/* the resolver for MX routes (the daemon's,
				 * with its cache); NULL: one per run */
	/* progress: called after each recipient's result is counted (the
	 * progress line of `outbox flush` on a terminal); NULL = none */
	void	(*progress)(const struct deliver_stats *st, void *arg);
	void	*progress_arg;
};

struct deliver_stats {
	size_t	messages;	/* messages attempted */
	size_t	delivered, deferred, failed;	/* recipients */
	size_t	bounces;	/* DSNs queued */
	int	unreachable;	/* no relay could be reached: why says why */
	int	backed_off;	/* not tried: the relays back off until
				 * next_try, after why */
	int64_t	next_try;
	int	busy;		/* MX: the run ended because other processes
				 * hold every domain it had mail for */
	char	why[256];
	/* deliver_opts' progress hook, copied here by deliver_flush */
	void	(*progress)(const struct deliver_stats *st, void *arg);
	void	*progress_arg;
};

/* deliver_flush: deliver every due message in Q to the relays of C, each
 * message attempted at most once, as O says.  0, or -1 with ERR when the
 * queue itself failed (results already recorded stay). */
int	deliver_flush(const struct conf *c, struct queue *q,
	    const struct deliver_opts *o, struct deliver_stats *st,
	    struct ob_err *err);

/* deliver_dest_name: the name R's relay list backs off under
 * (queue_dest_*): the list itself, so a changed list starts afresh. */
void	deliver_dest_name(const struct conf_route *r, char *dst, size_t n);

/* deliver_classify: the recipient state (QR_*) for reply R: 2xx
 * delivered, 5xx failed but 530 (authentication required: a
 * configuration problem), anything else (4xx, no reply) stays pending. */
int	deliver_classify(const struct smtp_reply *r);

#endif
