/* stats.h - queue statistics: collecting them, and writing them as text
 * (`outbox stats`), JSON (`outbox stats --json`, a stable interface) and
 * Prometheus text exposition format 0.0.4 (metrics_file).
 *
 * The counts come from the queue (queue_stats_* in queue.h): a snapshot
 * of the messages, totals since the queue was created, and per
 * destination domain the results of the last 5 minutes, hour and day,
 * summed from 5-minute buckets.
 */
#ifndef OUTBOX_STATS_H
#define OUTBOX_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "queue.h"
#include "util.h"

/* Windows: the bucket of NOW and the STATS_WIN_BUCKETS[w] buckets before
 * it (so "5m" covers between 5 and 10 minutes, "24h" between 24 h and
 * 24 h 5 min); a bucket from the future (the clock went back) counts in
 * every window. */
#define STATS_NWIN	3
#define STATS_WIN_5M	0
#define STATS_WIN_1H	1
#define STATS_WIN_24H	2
extern const char *const stats_win_name[STATS_NWIN];	/* "5m" "1h" "24h" */
extern const uint32_t stats_win_buckets[STATS_NWIN];	/* 1 12 288 */
/* "delivered" "deferred" "failed", by QUEUE_STATS_* */
extern const char *const stats_res_name[QUEUE_STATS_NRES];

#define STATS_TOP	20	/* destinations shown; the rest are counted */

struct stats_dest {
	char	*name;
	uint64_t n[STATS_NWIN][QUEUE_STATS_NRES];
};

struct stats {
	int64_t	 now;			/* ms */
	struct queue_stats_snap q;
	uint64_t total[QUEUE_STATS_NRES];	/* since the queue was made */
	struct stats_dest *dest;	/* after stats_sort: most 24 h
					 * attempts first, then by name */
	size_t	 ndest, cap;
	size_t	*slot;			/* hash of dest by name: index + 1 */
	size_t	 nslot;
};

/* stats_init: empty statistics at NOW (ms); stats_free releases them. */
void	stats_init(struct stats *st, int64_t now);
void	stats_free(struct stats *st);

/* stats_in_window: bucket B counts in window W when the current bucket is
 * CUR. */
int	stats_in_window(uint32_t b, uint32_t cur, int w);
/* stats_first_bucket: the oldest bucket any window looks at. */
uint32_t stats_first_bucket(uint32_t cur);
/* stats_add_row: add a bucket row to the windows it falls in (a row
 * older than every window is ignored). */
void	stats_add_row(struct stats *st, const struct queue_stats_row *row);
/* stats_sort: order st->dest for display (call after the last row). */
void	stats_sort(struct stats *st);
/* stats_volume: all attempts of D in the last 24 h. */
uint64_t stats_volume(const struct stats_dest *d);

/* stats_collect: everything, from Q at NOW (short read transactions).
 * 0, or -1 with ERR. */
int	stats_collect(struct queue *q, int64_t now, struct stats *st,
	    struct ob_err *err);

/* Output.  Each writes to F; the caller checks ferror(F). */
void	stats_text(const struct stats *st, FILE *f);
void	stats_json(const struct stats *st, FILE *f);
void	stats_prom(const struct stats *st, FILE *f);
/* stats_prom_label: S as a label value, quoted and escaped (\\ \" \n). */
void	stats_prom_label(FILE *f, const char *s);

/* stats_write_file: ST in Prometheus format to PATH, mode 0644, whole or
 * not at all: written to PATH.tmp, then renamed over PATH.  0, or -1
 * with ERR (PATH.tmp removed). */
int	stats_write_file(const char *path, const struct stats *st,
	    struct ob_err *err);

#endif
