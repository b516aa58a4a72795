/* bench_due.c - how long the scheduler takes to find what is due, as the
 * queue grows.  Run by tests/bench/bench.sh (`make bench`).
 *
 *   bench_due DIR N
 *
 * Fills a fresh queue in DIR with N one-recipient messages, all due in an
 * hour but one, due now; then times queue_due (the daemon's look) and a
 * queue_claim + queue_release of that one message (a worker's look),
 * medians of many calls, printed as "N due_us claim_us".  Both are a
 * cursor walk from the start of the due index: they should not grow with
 * N beyond the B-tree's depth.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"
#include "util.h"

#define CALLS	2001

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
put(struct queue *q, int64_t arrival)
{
	static const char body[] = "Subject: due\r\n\r\nbody\r\n";
	const char *rcpt[1] = { "r@example.org" };
	struct queue_sub *s;
	struct ob_err err;

	if (queue_sub_begin(q, &s, &err) == -1 ||
	    queue_sub_write(s, body, sizeof body - 1, &err) == -1 ||
	    queue_sub_commit(s, "s@example.org", rcpt, 1, 0, arrival,
	    &err) == -1) {
		fprintf(stderr, "bench_due: %s\n", err.text);
		exit(1);
	}
	queue_sub_free(s);
}

int
main(int argc, char **argv)
{
	static double t_due[CALLS], t_claim[CALLS];
	struct queue *q;
	struct ob_err err;
	uint64_t ids[4];
	size_t ndue, n, i, total;
	int64_t next, now = ob_now_ms();
	double t0;

	if (argc != 3 || (total = strtoul(argv[2], NULL, 10)) < 1) {
		fputs("usage: bench_due DIR N\n", stderr);
		return 64;
	}
	if (queue_open(&q, argv[1], 0, &err) == -1) {
		fprintf(stderr, "bench_due: %s\n", err.text);
		return 1;
	}
	/* arrival in the future: due then (queue_sub_commit makes a new
	 * message due at its arrival) */
	for (i = 1; i < total; i++)
		put(q, now + 3600 * 1000 + (int64_t)i);
	put(q, now - 1);
	for (i = 0; i < CALLS; i++) {
		t0 = now_us();
		if (queue_due(q, ob_now_ms(), 64, &ndue, &next, &err) == -1 ||
		    ndue != 1) {
			fprintf(stderr, "bench_due: due %zu: %s\n", ndue,
			    err.text);
			return 1;
		}
		t_due[i] = now_us() - t0;
		t0 = now_us();
		if (queue_claim(q, ob_now_ms(), 0, 0, 60000, ids, 4, &n,
		    &err) == -1 || n != 1 ||
		    queue_release(q, ids, n, &err) == -1) {
			fprintf(stderr, "bench_due: claim %zu: %s\n", n,
			    err.text);
			return 1;
		}
		t_claim[i] = now_us() - t0;
	}
	qsort(t_due, CALLS, sizeof *t_due, cmp_d);
	qsort(t_claim, CALLS, sizeof *t_claim, cmp_d);
	printf("%zu %.1f %.1f\n", total, t_due[CALLS / 2], t_claim[CALLS / 2]);
	queue_close(q);
	return 0;
}
