/* sched.h - the retry schedule: when a deferred recipient is tried again.
 *
 * Pure arithmetic, no I/O: the daemon and the delivery runs (issue 3)
 * call it with the recipient's attempt count and the message's arrival.
 */
#ifndef OUTBOX_SCHED_H
#define OUTBOX_SCHED_H

#include <stdint.h>

#define SCHED_EXPIRED	INT64_MIN	/* queue_lifetime is over: fail 4.4.7 */
#define SCHED_JITTER	10		/* percent either way */

struct sched_policy {
	int64_t	retry_initial;		/* ms, > 0 */
	int64_t	retry_max;		/* ms, >= retry_initial */
	int64_t	queue_lifetime;		/* ms, > 0 */
};

/* sched_next: the time (ms) at which a recipient deferred for the
 * ATTEMPTS-th time (>= 1) at NOW is due again: NOW + retry_initial *
 * 2^(ATTEMPTS-1), capped at retry_max, scaled by 1 + JITTER/1000 where
 * JITTER is in [-100, 100] (so +-10 %), and never later than ARRIVAL +
 * queue_lifetime, so that the last attempt falls on the expiry.  When NOW
 * has reached ARRIVAL + queue_lifetime, SCHED_EXPIRED. */
int64_t	sched_next(const struct sched_policy *p, uint32_t attempts,
	    int64_t arrival, int64_t now, int jitter);

#endif
