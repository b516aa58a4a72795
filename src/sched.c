/* sched.c - the retry schedule (see sched.h).
 *
 * Invariants: the result is never before NOW (a deferred recipient is not
 * retried at once) unless the message has expired; the delay never
 * overflows, whatever ATTEMPTS is; the cap applies before the jitter, so
 * a capped delay still spreads (+-10 %) and a crowd of messages deferred
 * together does not come back together.
 *
 * Left to others: drawing the jitter (the caller, from any random source),
 * per-destination backoff, and what expiry means (4.4.7, a DSN).
 */
#include "config.h"

#include "sched.h"

int64_t
sched_next(const struct sched_policy *p, uint32_t attempts, int64_t arrival,
    int64_t now, int jitter)
{
	int64_t delay = p->retry_initial, expiry;
	uint32_t i;

	if (arrival > INT64_MAX - p->queue_lifetime)
		expiry = INT64_MAX;
	else
		expiry = arrival + p->queue_lifetime;
	if (now >= expiry)
		return SCHED_EXPIRED;
	/* retry_initial * 2^(attempts-1), stopping at the cap: at most 63
	 * doublings before any int64 would overflow, and far fewer in
	 * practice (5m to 1h is four). */
	for (i = 1; i < attempts && delay < p->retry_max; i++)
		delay = delay > INT64_MAX / 2 ? INT64_MAX : delay * 2;
	if (delay > p->retry_max)
		delay = p->retry_max;
	if (jitter < -100)
		jitter = -100;
	if (jitter > 100)
		jitter = 100;
	/* delay <= retry_max, which conf bounds far below INT64_MAX / 1100 */
	delay += delay / 1000 * jitter;
	if (delay < 1)
		delay = 1;
	if (now > expiry - delay)
		return expiry;
	return now + delay;
}
