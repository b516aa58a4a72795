/* check_sched.c - the retry schedule as a table of (attempts, arrival,
 * now, jitter) -> due time, with the defaults 5m / 1h / 5d. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "sched.h"

#define S	1000LL
#define M	(60 * S)
#define H	(60 * M)
#define D	(24 * H)

static const struct sched_policy defaults = { 5 * M, 1 * H, 5 * D };

static const struct {
	uint32_t	attempts;
	int64_t		arrival, now;
	int		jitter;
	int64_t		want;
} cases[] = {
	/* the doubling: 5m, 10m, 20m, 40m, then the 1h cap */
	{ 1, 0, 1000, 0, 1000 + 5 * M },
	{ 2, 0, 1000, 0, 1000 + 10 * M },
	{ 3, 0, 1000, 0, 1000 + 20 * M },
	{ 4, 0, 1000, 0, 1000 + 40 * M },
	{ 5, 0, 1000, 0, 1000 + 1 * H },
	{ 6, 0, 1000, 0, 1000 + 1 * H },
	{ 64, 0, 1000, 0, 1000 + 1 * H },
	{ 1000, 0, 1000, 0, 1000 + 1 * H },	/* no overflow */
	{ UINT32_MAX, 0, 1000, 0, 1000 + 1 * H },
	/* attempts 0 is treated as the first */
	{ 0, 0, 1000, 0, 1000 + 5 * M },
	/* jitter: +-10 %, also on the capped delay; clamped beyond */
	{ 1, 0, 0, 100, 5 * M + 30 * S },
	{ 1, 0, 0, -100, 5 * M - 30 * S },
	{ 1, 0, 0, 50, 5 * M + 15 * S },
	{ 9, 0, 0, 100, 1 * H + 6 * M },
	{ 9, 0, 0, -100, 1 * H - 6 * M },
	{ 1, 0, 0, 1000, 5 * M + 30 * S },
	{ 1, 0, 0, -1000, 5 * M - 30 * S },
	/* never past the expiry: the last attempt falls on it */
	{ 9, 0, 5 * D - 10 * M, 0, 5 * D },
	{ 1, 0, 5 * D - 1, 0, 5 * D },
	/* at or after the expiry: expired */
	{ 1, 0, 5 * D, 0, SCHED_EXPIRED },
	{ 3, 0, 6 * D, 0, SCHED_EXPIRED },
	/* arrival counts, not the first attempt */
	{ 1, 2 * D, 6 * D, 0, 6 * D + 5 * M },
	{ 1, 2 * D, 7 * D, 0, SCHED_EXPIRED },
};

START_TEST(test_table)
{
	int64_t got = sched_next(&defaults, cases[_i].attempts,
	    cases[_i].arrival, cases[_i].now, cases[_i].jitter);

	ck_assert_msg(got == cases[_i].want, "case %d: got %lld, want %lld",
	    _i, (long long)got, (long long)cases[_i].want);
}
END_TEST

/* whatever the inputs, an unexpired result is after now and within the
 * jittered cap, and monotonic in attempts for a fixed jitter */
START_TEST(test_bounds)
{
	static const struct sched_policy pol[] = {
		{ 5 * M, 1 * H, 5 * D }, { 1 * S, 1 * S, 1 * H },
		{ 1 * M, 1 * D, 30 * D }, { 1, 1, 1 },
	};
	const struct sched_policy *p = &pol[_i];
	int64_t prev, got, now = 1700000000000LL;
	uint32_t a;
	int j;

	for (j = -100; j <= 100; j += 25) {
		prev = 0;
		for (a = 1; a < 80; a++) {
			got = sched_next(p, a, now, now, j);
			ck_assert(got != SCHED_EXPIRED);
			ck_assert_int_gt(got, now);
			ck_assert_int_le(got - now, p->retry_max
			    + p->retry_max / 10);
			ck_assert_int_le(got, now + p->queue_lifetime);
			ck_assert_int_ge(got, prev);
			prev = got;
		}
	}
}
END_TEST

/* an arrival near INT64_MAX does not overflow the expiry */
START_TEST(test_far_future)
{
	int64_t now = INT64_MAX - 10 * M;

	ck_assert_int_eq(sched_next(&defaults, 1, now, now, 0), now + 5 * M);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("backoff");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, test_table, 0,
	    (int)(sizeof cases / sizeof cases[0]));
	tcase_add_loop_test(tc, test_bounds, 0, 4);
	tcase_add_test(tc, test_far_future);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
