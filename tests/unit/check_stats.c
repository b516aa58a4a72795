/* check_stats.c - unit tests of stats.c and the statistics section of
 * queue.c: bucket and window arithmetic, the domain a recipient counts
 * under, window sums and the top-20 ordering, the Prometheus formatter
 * (label escaping, the exact text for a fixed input), the text and JSON
 * output, the metrics file (rename, mode, failure), and on a real queue:
 * the counting rule (an attempt counts once, through queue_record and
 * queue_update alike), pruning (old buckets go, at most QUEUE_STATS_PRUNE
 * a transaction, totals stay) and the snapshot of messages by state.
 *
 * Times are fixed (T0), so every output is compared exactly.  Queue tests
 * work in a fresh mkdtemp directory each.
 */
#include "config.h"

#include <check.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"
#include "stats.h"
#include "util.h"

#define T0	INT64_C(1764000000000)	/* 2025-11-24T16:00:00Z, a bucket
					 * boundary: 5880000 * 300 s */
#define B0	UINT32_C(5880000)
#define MIN_MS	INT64_C(60000)
#define LEASE	INT64_C(600000)

/* ---- helpers ----------------------------------------------------------- */

static char *
mem_out(void (*fn)(const struct stats *, FILE *), const struct stats *st)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	ck_assert_ptr_nonnull(f);
	fn(st, f);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

static void
row(struct stats *st, uint32_t b, const char *dom, uint32_t d, uint32_t df,
    uint32_t f)
{
	struct queue_stats_row r;

	memset(&r, 0, sizeof r);
	r.bucket = b;
	(void)ob_snprintf(r.domain, sizeof r.domain, "%s", dom);
	r.n[QUEUE_STATS_DELIVERED] = d;
	r.n[QUEUE_STATS_DEFERRED] = df;
	r.n[QUEUE_STATS_FAILED] = f;
	stats_add_row(st, &r);
}

static int
rm_fn(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char *g_dir;
static struct queue *g_q;

static void
q_setup(void)
{
	struct ob_err err;
	char tmpl[] = "/tmp/check_stats.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	g_dir = xstrdup(tmpl);
	if (queue_open(&g_q, g_dir, 64 * 1024 * 1024, &err) != 0)
		ck_abort_msg("queue_open: %s", err.text);
}

static void
q_teardown(void)
{
	queue_close(g_q);
	g_q = NULL;
	(void)nftw(g_dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
	free(g_dir);
}

/* submit: a message to the NULL-terminated RCPT at NOW; its id. */
static uint64_t
submit(const char *const *rcpt, unsigned flags, int64_t now)
{
	struct queue_sub *s;
	struct ob_err err;
	uint64_t id;
	size_t n = 0;

	while (rcpt[n] != NULL)
		n++;
	ck_assert_int_eq(queue_sub_begin(g_q, &s, &err), 0);
	ck_assert_int_eq(queue_sub_write(s, "Subject: x\r\n\r\nhi\r\n", 18,
	    &err), 0);
	if (queue_sub_commit(s, "a@src.example", rcpt, n, flags, now,
	    &err) != 0)
		ck_abort_msg("commit: %s", err.text);
	ck_assert_int_eq(queue_id_parse(queue_sub_id(s), &id), 0);
	queue_sub_free(s);
	return id;
}

static struct queue_msg *
load(uint64_t id)
{
	struct queue_msg *m;
	struct ob_err err;

	ck_assert_int_eq(queue_load(g_q, id, &m, &err), 1);
	return m;
}

/* attempt: recipient I of M got STATE at NOW, as dl_record sets it. */
static void
attempt(struct queue_msg *m, size_t i, int state, int64_t now)
{
	m->rcpt[i].state = state;
	m->rcpt[i].attempts++;
	m->rcpt[i].last_attempt = now;
	m->rcpt[i].next_attempt = state == QR_PENDING ? now + LEASE : 0;
}

struct collect {
	size_t	 n;
	struct queue_stats_row r[64];
};

static int
collect_fn(const struct queue_stats_row *r, void *arg)
{
	struct collect *c = arg;

	if (c->n < 64)
		c->r[c->n] = *r;
	c->n++;
	return 0;
}

static void
rows(uint32_t first, struct collect *c)
{
	struct ob_err err;

	memset(c, 0, sizeof *c);
	if (queue_stats_rows(g_q, first, collect_fn, c, &err) != 0)
		ck_abort_msg("rows: %s", err.text);
}

static void
assert_totals(uint64_t d, uint64_t df, uint64_t f)
{
	uint64_t t[QUEUE_STATS_NRES];
	struct ob_err err;

	ck_assert_int_eq(queue_stats_totals(g_q, t, &err), 0);
	ck_assert_uint_eq(t[QUEUE_STATS_DELIVERED], d);
	ck_assert_uint_eq(t[QUEUE_STATS_DEFERRED], df);
	ck_assert_uint_eq(t[QUEUE_STATS_FAILED], f);
}

static void
assert_row(const struct queue_stats_row *r, uint32_t b, const char *dom,
    uint32_t d, uint32_t df, uint32_t f)
{
	ck_assert_uint_eq(r->bucket, b);
	ck_assert_str_eq(r->domain, dom);
	ck_assert_uint_eq(r->n[QUEUE_STATS_DELIVERED], d);
	ck_assert_uint_eq(r->n[QUEUE_STATS_DEFERRED], df);
	ck_assert_uint_eq(r->n[QUEUE_STATS_FAILED], f);
}

/* ---- buckets and windows ----------------------------------------------- */

static const struct {
	int64_t	 ms;
	uint32_t b;
} bucket_cases[] = {
	{ 0, 0 },
	{ -5, 0 },
	{ 299999, 0 },
	{ 300000, 1 },
	{ T0 - 1, B0 - 1 },
	{ T0, B0 },
	{ T0 + 299999, B0 },
	{ T0 + 300000, B0 + 1 },
	{ INT64_MAX, UINT32_MAX },	/* saturates */
};

START_TEST(bucket_of)
{
	ck_assert_uint_eq(queue_stats_bucket(bucket_cases[_i].ms),
	    bucket_cases[_i].b);
}
END_TEST

static const struct {
	uint32_t b, cur;
	int	 in[STATS_NWIN];	/* 5m 1h 24h */
} window_cases[] = {
	{ B0, B0, { 1, 1, 1 } },
	{ B0 - 1, B0, { 1, 1, 1 } },		/* 5 to 10 minutes ago */
	{ B0 - 2, B0, { 0, 1, 1 } },
	{ B0 - 12, B0, { 0, 1, 1 } },
	{ B0 - 13, B0, { 0, 0, 1 } },
	{ B0 - 288, B0, { 0, 0, 1 } },
	{ B0 - 289, B0, { 0, 0, 0 } },
	{ 0, B0, { 0, 0, 0 } },
	{ B0 + 3, B0, { 1, 1, 1 } },		/* the clock went back */
	{ 0, 0, { 1, 1, 1 } },
	{ 0, 5, { 0, 1, 1 } },
};

START_TEST(window_membership)
{
	int w;

	for (w = 0; w < STATS_NWIN; w++)
		ck_assert_msg(stats_in_window(window_cases[_i].b,
		    window_cases[_i].cur, w) == window_cases[_i].in[w],
		    "bucket %u cur %u window %s", window_cases[_i].b,
		    window_cases[_i].cur, stats_win_name[w]);
}
END_TEST

START_TEST(first_bucket)
{
	ck_assert_uint_eq(stats_first_bucket(B0), B0 - 288);
	ck_assert_uint_eq(stats_first_bucket(288), 0);
	ck_assert_uint_eq(stats_first_bucket(289), 1);
	ck_assert_uint_eq(stats_first_bucket(0), 0);
	/* the retention agrees with the longest window */
	ck_assert_uint_eq(stats_win_buckets[STATS_WIN_24H], QUEUE_STATS_KEEP);
	ck_assert_int_eq(QUEUE_STATS_KEEP * QUEUE_STATS_BUCKET_S, 86400);
}
END_TEST

static const struct {
	const char *addr, *dom;
} domain_cases[] = {
	{ "u@Example.COM", "example.com" },
	{ "\"a@b\"@x.example", "x.example" },
	{ "root", QUEUE_STATS_NODOMAIN },
	{ "trailing@", QUEUE_STATS_NODOMAIN },
	{ "u@[192.0.2.1]", "[192.0.2.1]" },
	{ "u@MÜNCHEN.example", "mÜnchen.example" },	/* ASCII only */
	{ "", QUEUE_STATS_NODOMAIN },
};

START_TEST(domain_of)
{
	char out[QUEUE_STATS_DOMAIN_MAX + 1];
	size_t n = queue_stats_domain(domain_cases[_i].addr, out);

	ck_assert_str_eq(out, domain_cases[_i].dom);
	ck_assert_uint_eq(n, strlen(domain_cases[_i].dom));
}
END_TEST

START_TEST(domain_long)
{
	char addr[600], out[QUEUE_STATS_DOMAIN_MAX + 1];

	memset(addr, 'A', sizeof addr - 1);
	addr[sizeof addr - 1] = '\0';
	addr[10] = '@';
	ck_assert_uint_eq(queue_stats_domain(addr, out),
	    QUEUE_STATS_DOMAIN_MAX);
	ck_assert_uint_eq(strlen(out), QUEUE_STATS_DOMAIN_MAX);
	ck_assert_int_eq(out[0], 'a');
}
END_TEST

/* ---- window sums and order --------------------------------------------- */

START_TEST(sums)
{
	struct stats st;

	stats_init(&st, T0 + 1000);
	row(&st, B0, "a.example", 1, 2, 3);
	row(&st, B0 - 1, "a.example", 10, 0, 0);
	row(&st, B0 - 5, "a.example", 100, 0, 0);
	row(&st, B0 - 100, "a.example", 1000, 0, 1);
	row(&st, B0 - 289, "a.example", 5000, 5000, 5000);	/* too old */
	row(&st, B0 - 300, "old.example", 1, 1, 1);		/* too old */
	row(&st, B0 - 2, "b.example", 0, 7, 0);
	stats_sort(&st);
	ck_assert_uint_eq(st.ndest, 2);
	ck_assert_str_eq(st.dest[0].name, "a.example");
	ck_assert_uint_eq(st.dest[0].n[STATS_WIN_5M][0], 11);
	ck_assert_uint_eq(st.dest[0].n[STATS_WIN_5M][1], 2);
	ck_assert_uint_eq(st.dest[0].n[STATS_WIN_5M][2], 3);
	ck_assert_uint_eq(st.dest[0].n[STATS_WIN_1H][0], 111);
	ck_assert_uint_eq(st.dest[0].n[STATS_WIN_24H][0], 1111);
	ck_assert_uint_eq(st.dest[0].n[STATS_WIN_24H][2], 4);
	ck_assert_uint_eq(stats_volume(&st.dest[0]), 1117);
	ck_assert_str_eq(st.dest[1].name, "b.example");
	ck_assert_uint_eq(st.dest[1].n[STATS_WIN_5M][1], 0);
	ck_assert_uint_eq(st.dest[1].n[STATS_WIN_1H][1], 7);
	stats_free(&st);
}
END_TEST

/* many destinations: the hash grows, order is by volume then name */
START_TEST(order_many)
{
	struct stats st;
	char name[32];
	int i;

	stats_init(&st, T0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "d%04d.example", i);
		row(&st, B0, name, (uint32_t)(i % 7), 0, 0);
		row(&st, B0 - 3, name, 1, 0, 0);	/* same key, again */
	}
	stats_sort(&st);
	ck_assert_uint_eq(st.ndest, 1000);
	ck_assert_str_eq(st.dest[0].name, "d0006.example");	/* 6+1 */
	ck_assert_str_eq(st.dest[1].name, "d0013.example");
	ck_assert_uint_eq(stats_volume(&st.dest[0]), 7);
	ck_assert_str_eq(st.dest[999].name, "d0994.example");	/* 0+1 */
	for (i = 1; i < 1000; i++)
		ck_assert(stats_volume(&st.dest[i - 1]) >=
		    stats_volume(&st.dest[i]));
	stats_free(&st);
}
END_TEST

/* ---- Prometheus -------------------------------------------------------- */

static const struct {
	const char *in, *out;
} label_cases[] = {
	{ "plain.example", "\"plain.example\"" },
	{ "a\\b", "\"a\\\\b\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "two\nlines", "\"two\\nlines\"" },
	{ "\\\"\n", "\"\\\\\\\"\\n\"" },
	{ "", "\"\"" },
	{ "tab\there", "\"tab\there\"" },	/* only \ " LF are escaped */
};

START_TEST(prom_label)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	stats_prom_label(f, label_cases[_i].in);
	fclose(f);
	ck_assert_str_eq(p, label_cases[_i].out);
	free(p);
}
END_TEST

static void
fixed(struct stats *st)
{
	stats_init(st, T0 + 123);
	st->q.messages = 7;
	st->q.due = 1;
	st->q.waiting = 3;
	st->q.held = 1;
	st->q.active = 2;
	st->q.bounces = 2;
	st->q.rcpt_pending = 9;
	st->q.bytes = 12345;
	st->q.oldest = T0 - 3723000;	/* 1h 2m 3s */
	st->total[0] = 40;
	st->total[1] = 5;
	st->total[2] = 6;
	row(st, B0, "b.example", 1, 0, 2);
	row(st, B0 - 20, "b.example", 0, 4, 0);
	row(st, B0 - 1, "x\"y\\z\n.example", 3, 0, 0);
	stats_sort(st);
}

START_TEST(prom_exact)
{
	struct stats st;
	char *out;

	fixed(&st);
	out = mem_out(stats_prom, &st);
	ck_assert_str_eq(out,
	    "# HELP outbox_queue_messages Messages in the queue by state: "
	    "due now, waiting for a retry, held, being delivered.\n"
	    "# TYPE outbox_queue_messages gauge\n"
	    "outbox_queue_messages{state=\"due\"} 1\n"
	    "outbox_queue_messages{state=\"waiting\"} 3\n"
	    "outbox_queue_messages{state=\"held\"} 1\n"
	    "outbox_queue_messages{state=\"active\"} 2\n"
	    "# HELP outbox_queue_bounces Bounces (DSNs made by outbox) in the "
	    "queue.\n"
	    "# TYPE outbox_queue_bounces gauge\n"
	    "outbox_queue_bounces 2\n"
	    "# HELP outbox_queue_recipients_pending Recipients not yet "
	    "delivered or failed.\n"
	    "# TYPE outbox_queue_recipients_pending gauge\n"
	    "outbox_queue_recipients_pending 9\n"
	    "# HELP outbox_queue_oldest_message_age_seconds Age of the oldest "
	    "message in the queue (0 when it is empty).\n"
	    "# TYPE outbox_queue_oldest_message_age_seconds gauge\n"
	    "outbox_queue_oldest_message_age_seconds 3723\n"
	    "# HELP outbox_queue_bytes Total size of the queued messages.\n"
	    "# TYPE outbox_queue_bytes gauge\n"
	    "outbox_queue_bytes 12345\n"
	    "# HELP outbox_recipients_total Recipient delivery attempts by "
	    "result since the queue was created.\n"
	    "# TYPE outbox_recipients_total counter\n"
	    "outbox_recipients_total{result=\"delivered\"} 40\n"
	    "outbox_recipients_total{result=\"deferred\"} 5\n"
	    "outbox_recipients_total{result=\"failed\"} 6\n"
	    "# HELP outbox_destination_recipients Recipient delivery attempts "
	    "by destination domain and result in the recent window (the 20 "
	    "busiest destinations of the last 24h).\n"
	    "# TYPE outbox_destination_recipients gauge\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"delivered\",window=\"5m\"} 1\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"deferred\",window=\"5m\"} 0\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"failed\",window=\"5m\"} 2\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"delivered\",window=\"1h\"} 1\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"deferred\",window=\"1h\"} 0\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"failed\",window=\"1h\"} 2\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"delivered\",window=\"24h\"} 1\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"deferred\",window=\"24h\"} 4\n"
	    "outbox_destination_recipients{destination=\"b.example\","
	    "result=\"failed\",window=\"24h\"} 2\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"delivered\",window=\"5m\"} 3\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"deferred\",window=\"5m\"} 0\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"failed\",window=\"5m\"} 0\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"delivered\",window=\"1h\"} 3\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"deferred\",window=\"1h\"} 0\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"failed\",window=\"1h\"} 0\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"delivered\",window=\"24h\"} 3\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"deferred\",window=\"24h\"} 0\n"
	    "outbox_destination_recipients{destination=\"x\\\"y\\\\z\\n"
	    ".example\",result=\"failed\",window=\"24h\"} 0\n"
	    "# HELP outbox_metrics_generated_timestamp_seconds When these "
	    "metrics were collected (unix time).\n"
	    "# TYPE outbox_metrics_generated_timestamp_seconds gauge\n"
	    "outbox_metrics_generated_timestamp_seconds 1764000000.123\n");
	free(out);
	stats_free(&st);
}
END_TEST

/* an empty queue: no destination lines, age 0 */
START_TEST(prom_empty)
{
	struct stats st;
	char *out;

	stats_init(&st, T0);
	out = mem_out(stats_prom, &st);
	ck_assert_ptr_nonnull(strstr(out,
	    "outbox_queue_oldest_message_age_seconds 0\n"));
	ck_assert_ptr_nonnull(strstr(out, "# TYPE "
	    "outbox_destination_recipients gauge\n# HELP "
	    "outbox_metrics_generated_timestamp_seconds"));
	ck_assert_ptr_nonnull(strstr(out,
	    "outbox_metrics_generated_timestamp_seconds 1764000000.000\n"));
	free(out);
	stats_free(&st);
}
END_TEST

/* only the top STATS_TOP destinations appear, in every format */
START_TEST(top_only)
{
	struct stats st;
	char name[32], *prom, *text, *json;
	int i;

	stats_init(&st, T0);
	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof name, "d%02d.example", i);
		row(&st, B0, name, (uint32_t)(100 - i), 0, 0);
	}
	stats_sort(&st);
	prom = mem_out(stats_prom, &st);
	text = mem_out(stats_text, &st);
	json = mem_out(stats_json, &st);
	ck_assert_ptr_nonnull(strstr(prom, "\"d19.example\""));
	ck_assert_ptr_null(strstr(prom, "\"d20.example\""));
	ck_assert_ptr_nonnull(strstr(text, "d19.example"));
	ck_assert_ptr_null(strstr(text, "d20.example"));
	ck_assert_ptr_nonnull(strstr(text, "\n... 5 more destinations\n"));
	ck_assert_ptr_nonnull(strstr(json, "\"d19.example\""));
	ck_assert_ptr_null(strstr(json, "\"d20.example\""));
	ck_assert_ptr_nonnull(strstr(json, "],\"destinations_more\":5}\n"));
	free(prom);
	free(text);
	free(json);
	stats_free(&st);
}
END_TEST

/* ---- text and JSON ----------------------------------------------------- */

START_TEST(text_exact)
{
	struct stats st;
	char *out;

	fixed(&st);
	out = mem_out(stats_text, &st);
	ck_assert_str_eq(out,
	    "Messages:           7 (due now 1, waiting for retry 3, held 1, "
	    "being delivered 2)\n"
	    "Bounces queued:     2\n"
	    "Recipients pending: 9\n"
	    "Oldest message:     1h 2m old (arrived 2025-11-24T14:57:57Z)\n"
	    "Queue size:         12345 bytes\n"
	    "\n"
	    "Recipients since the queue was created: 40 delivered, 5 deferred, "
	    "6 failed\n"
	    "\n"
	    "Delivered/deferred/failed per destination:\n"
	    "Destination                               last 5m          "
	    "last 1h         last 24h\n"
	    "b.example                                   1/0/2            "
	    "1/0/2            1/4/2\n"
	    "x\"y\\z\\x0a.example                           3/0/0            "
	    "3/0/0            3/0/0\n");
	free(out);
	stats_free(&st);
}
END_TEST

START_TEST(text_empty)
{
	struct stats st;
	char *out;

	stats_init(&st, T0);
	out = mem_out(stats_text, &st);
	ck_assert_str_eq(out,
	    "Messages:           0 (due now 0, waiting for retry 0, held 0, "
	    "being delivered 0)\n"
	    "Bounces queued:     0\n"
	    "Recipients pending: 0\n"
	    "Oldest message:     none\n"
	    "Queue size:         0 bytes\n"
	    "\n"
	    "Recipients since the queue was created: 0 delivered, 0 deferred, "
	    "0 failed\n"
	    "No delivery attempts in the last 24 hours\n");
	free(out);
	stats_free(&st);
}
END_TEST

START_TEST(json_exact)
{
	struct stats st;
	char *out;

	fixed(&st);
	out = mem_out(stats_json, &st);
	ck_assert_str_eq(out,
	    "{\"generated\":\"2025-11-24T16:00:00Z\",\"messages\":{\"total\":7,"
	    "\"due\":1,\"waiting\":3,\"held\":1,\"active\":2},\"bounces\":2,"
	    "\"recipients_pending\":9,\"oldest_arrival\":"
	    "\"2025-11-24T14:57:57Z\",\"oldest_age\":3723,\"bytes\":12345,"
	    "\"unreadable\":0,\"totals\":{\"delivered\":40,\"deferred\":5,"
	    "\"failed\":6},\"destinations\":[\n"
	    "{\"destination\":\"b.example\","
	    "\"5m\":{\"delivered\":1,\"deferred\":0,\"failed\":2},"
	    "\"1h\":{\"delivered\":1,\"deferred\":0,\"failed\":2},"
	    "\"24h\":{\"delivered\":1,\"deferred\":4,\"failed\":2}},\n"
	    "{\"destination\":\"x\\\"y\\\\z\\u000a.example\","
	    "\"5m\":{\"delivered\":3,\"deferred\":0,\"failed\":0},"
	    "\"1h\":{\"delivered\":3,\"deferred\":0,\"failed\":0},"
	    "\"24h\":{\"delivered\":3,\"deferred\":0,\"failed\":0}}\n"
	    "],\"destinations_more\":0}\n");
	free(out);
	stats_free(&st);
}
END_TEST

START_TEST(json_empty)
{
	struct stats st;
	char *out;

	stats_init(&st, T0);
	out = mem_out(stats_json, &st);
	ck_assert_str_eq(out,
	    "{\"generated\":\"2025-11-24T16:00:00Z\",\"messages\":{\"total\":0,"
	    "\"due\":0,\"waiting\":0,\"held\":0,\"active\":0},\"bounces\":0,"
	    "\"recipients_pending\":0,\"oldest_arrival\":null,"
	    "\"oldest_age\":null,\"bytes\":0,\"unreadable\":0,\"totals\":"
	    "{\"delivered\":0,\"deferred\":0,\"failed\":0},"
	    "\"destinations\":[],\"destinations_more\":0}\n");
	free(out);
	stats_free(&st);
}
END_TEST

/* ---- the metrics file -------------------------------------------------- */

START_TEST(file_write)
{
	struct stats st;
	struct ob_err err;
	struct stat sb;
	char *path, *tmp, *want, *got = NULL;
	size_t n = 0;
	FILE *f;
	mode_t um = umask(077);

	fixed(&st);
	path = xasprintf("%s/metrics.prom", g_dir);
	tmp = xasprintf("%s.tmp", path);
	/* an old file is replaced */
	f = fopen(path, "w");
	fputs("old\n", f);
	fclose(f);
	ck_assert_int_eq(stats_write_file(path, &st, &err), 0);
	umask(um);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0644);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	want = mem_out(stats_prom, &st);
	f = fopen(path, "r");
	ck_assert_int_ne(getdelim(&got, &n, '\0', f), -1);
	fclose(f);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free(tmp);
	free(path);
	stats_free(&st);
}
END_TEST

START_TEST(file_fail)
{
	struct stats st;
	struct ob_err err;
	char *path;

	stats_init(&st, T0);
	path = xasprintf("%s/no/such/dir/m.prom", g_dir);
	ck_assert_int_eq(stats_write_file(path, &st, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "metrics file "));
	ck_assert_ptr_nonnull(strstr(err.text, "No such file or directory"));
	free(path);
	/* rename onto a directory fails; the temporary file is removed */
	path = xasprintf("%s/adir", g_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(stats_write_file(path, &st, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "Is a directory"));
	free(path);
	path = xasprintf("%s/adir.tmp", g_dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	free(path);
	stats_free(&st);
}
END_TEST

/* ---- counting in the queue --------------------------------------------- */

START_TEST(count_rows)
{
	struct collect c;
	struct ob_err err;

	ck_assert_int_eq(queue_stats_count(g_q, T0, "a@B.example",
	    QUEUE_STATS_DELIVERED, &err), 0);
	ck_assert_int_eq(queue_stats_count(g_q, T0 + 1000, "x@b.example",
	    QUEUE_STATS_FAILED, &err), 0);
	ck_assert_int_eq(queue_stats_count(g_q, T0 + 5 * MIN_MS, "a@b.example",
	    QUEUE_STATS_DEFERRED, &err), 0);
	ck_assert_int_eq(queue_stats_count(g_q, T0, "a@a.example",
	    QUEUE_STATS_DEFERRED, &err), 0);
	ck_assert_int_eq(queue_stats_count(g_q, T0, "a@a.example", 3, &err),
	    -1);
	rows(0, &c);
	ck_assert_uint_eq(c.n, 3);
	assert_row(&c.r[0], B0, "a.example", 0, 1, 0);
	assert_row(&c.r[1], B0, "b.example", 1, 0, 1);
	assert_row(&c.r[2], B0 + 1, "b.example", 0, 1, 0);
	rows(B0 + 1, &c);
	ck_assert_uint_eq(c.n, 1);
	assert_totals(1, 2, 1);
}
END_TEST

/* more rows than one read transaction holds */
START_TEST(rows_batches)
{
	struct collect c;
	struct ob_err err;
	char a[64];
	int i;

	for (i = 0; i < 1300; i++) {
		snprintf(a, sizeof a, "u@d%04d.example", i);
		ck_assert_int_eq(queue_stats_count(g_q, T0, a,
		    QUEUE_STATS_DELIVERED, &err), 0);
	}
	rows(0, &c);
	ck_assert_uint_eq(c.n, 1300);
	assert_row(&c.r[63], B0, "d0063.example", 1, 0, 0);
	assert_totals(1300, 0, 0);
}
END_TEST

START_TEST(prune)
{
	struct collect c;
	struct ob_err err;
	struct queue_stats_row last;
	char a[64];
	int i;

	/* 40 domains in an old bucket, 1 in a kept one */
	for (i = 0; i < 40; i++) {
		snprintf(a, sizeof a, "u@d%02d.example", i);
		ck_assert_int_eq(queue_stats_count(g_q, T0, a,
		    QUEUE_STATS_FAILED, &err), 0);
	}
	ck_assert_int_eq(queue_stats_count(g_q, T0 + 300000, "u@keep.example",
	    QUEUE_STATS_DELIVERED, &err), 0);
	rows(0, &c);
	ck_assert_uint_eq(c.n, 41);
	/* exactly a day later: B0 is still the oldest kept bucket */
	ck_assert_int_eq(queue_stats_count(g_q, T0 + 288 * 300000LL,
	    "u@now.example", QUEUE_STATS_DELIVERED, &err), 0);
	rows(0, &c);
	ck_assert_uint_eq(c.n, 42);
	/* one bucket later, B0 goes: 32 entries in this transaction ... */
	ck_assert_int_eq(queue_stats_count(g_q, T0 + 289 * 300000LL,
	    "u@now.example", QUEUE_STATS_DELIVERED, &err), 0);
	rows(0, &c);
	ck_assert_uint_eq(c.n, 42 + 1 - 32);
	assert_row(&c.r[0], B0, "d32.example", 0, 0, 1);
	/* ... the other 8 in the next */
	ck_assert_int_eq(queue_stats_count(g_q, T0 + 289 * 300000LL,
	    "u@now.example", QUEUE_STATS_DELIVERED, &err), 0);
	rows(0, &c);
	ck_assert_uint_eq(c.n, 3);
	assert_row(&c.r[0], B0 + 1, "keep.example", 1, 0, 0);
	assert_row(&c.r[1], B0 + 288, "now.example", 1, 0, 0);
	last = c.r[2];
	assert_row(&last, B0 + 289, "now.example", 2, 0, 0);
	/* the totals are never pruned */
	assert_totals(4, 0, 40);
}
END_TEST

/* relay path: one queue_update per attempt; updates without a new attempt
 * (the administrator's hold, a retry) count nothing */
START_TEST(rule_update)
{
	const char *rc[] = { "a@ok.example", "b@Later.example",
	    "c@bad.example", NULL };
	struct queue_msg *m;
	struct collect c;
	struct ob_err err;
	uint64_t id = submit(rc, 0, T0 - MIN_MS);

	m = load(id);
	attempt(m, 0, QR_DELIVERED, T0);
	attempt(m, 1, QR_PENDING, T0);
	attempt(m, 2, QR_FAILED, T0);
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0, &err), 0);
	assert_totals(1, 1, 1);
	/* the same states written again: nothing new */
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0 + 1000, &err), 0);
	assert_totals(1, 1, 1);
	queue_msg_free(m);
	ck_assert_int_eq(queue_hold(g_q, id, 1, T0 + 2000, &err), 1);
	ck_assert_int_eq(queue_hold(g_q, id, 0, T0 + 2000, &err), 1);
	/* the next attempt of the deferred one */
	m = load(id);
	attempt(m, 1, QR_DELIVERED, T0 + 10 * MIN_MS);
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0 + 10 * MIN_MS, &err), 0);
	queue_msg_free(m);
	assert_totals(2, 1, 1);
	ck_assert_int_eq(queue_load(g_q, id, &m, &err), 0);	/* done */
	rows(0, &c);
	ck_assert_uint_eq(c.n, 4);
	assert_row(&c.r[0], B0, "bad.example", 0, 0, 1);
	assert_row(&c.r[1], B0, "later.example", 0, 1, 0);
	assert_row(&c.r[2], B0, "ok.example", 1, 0, 0);
	assert_row(&c.r[3], B0 + 2, "later.example", 1, 0, 0);
}
END_TEST

/* direct delivery: queue_record stores results (a failure as pending)
 * and keeps the lease; the final queue_update settles them.  Each
 * attempt counts once, a failure as failed. */
START_TEST(rule_record)
{
	const char *rc[] = { "a@one.example", "b@two.example",
	    "c@three.example", "d@four.example", NULL };
	struct queue_msg *m;
	struct collect c;
	struct ob_err err;
	uint64_t ids[4];
	size_t n;

	submit(rc, 0, T0 - MIN_MS);
	ck_assert_int_eq(queue_claim(g_q, T0, 0, 0, LEASE, ids, 4, &n, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	m = load(ids[0]);
	attempt(m, 0, QR_DELIVERED, T0 + 1000);
	attempt(m, 1, QR_PENDING, T0 + 1000);	/* a failure, kept pending */
	ck_assert_int_eq(queue_record(g_q, m, T0 + 1000, &err), 0);
	assert_totals(0, 0, 0);			/* not settled yet */
	attempt(m, 2, QR_PENDING, T0 + 2000);
	ck_assert_int_eq(queue_record(g_q, m, T0 + 2000, &err), 0);
	assert_totals(0, 0, 0);
	/* settle: b failed after all; d was not tried (domain busy) */
	m->rcpt[1].state = QR_FAILED;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0 + 3000, &err), 0);
	queue_msg_free(m);
	assert_totals(1, 1, 1);
	rows(0, &c);
	ck_assert_uint_eq(c.n, 3);
	assert_row(&c.r[0], B0, "one.example", 1, 0, 0);
	assert_row(&c.r[1], B0, "three.example", 0, 1, 0);
	assert_row(&c.r[2], B0, "two.example", 0, 0, 1);
	/* the next run tries only d; a, b, c are not counted again */
	m = load(ids[0]);
	attempt(m, 3, QR_DELIVERED, T0 + 10 * MIN_MS);
	ck_assert_int_eq(queue_record(g_q, m, T0 + 10 * MIN_MS, &err), 0);
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0 + 10 * MIN_MS + 5,
	    &err), 0);
	queue_msg_free(m);
	assert_totals(2, 1, 1);
}
END_TEST

/* the administrator's delete --bounce fails recipients without an
 * attempt: not counted */
START_TEST(rule_admin_fail)
{
	const char *rc[] = { "a@x.example", NULL };
	struct queue_msg *m;
	struct ob_err err;
	uint64_t id = submit(rc, 0, T0 - MIN_MS);

	m = load(id);
	attempt(m, 0, QR_PENDING, T0);
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0, &err), 0);
	m->rcpt[0].state = QR_FAILED;
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0 + 1000, &err), 0);
	queue_msg_free(m);
	assert_totals(0, 1, 0);
}
END_TEST

/* the snapshot: each message in one state; bounces, pending recipients,
 * bytes, the oldest arrival */
START_TEST(snapshot)
{
	const char *r1[] = { "a@x.example", "b@x.example", NULL };
	const char *r2[] = { "c@y.example", NULL };
	struct queue_stats_snap s;
	struct queue_msg *m;
	struct ob_err err;
	uint64_t held, ids[8];
	size_t n;
	int i;

	submit(r1, 0, T0 - 3 * MIN_MS);			/* due */
	held = submit(r2, 0, T0 - 2 * MIN_MS);
	ck_assert_int_eq(queue_hold(g_q, held, 1, T0, &err), 1);
	submit(r2, QM_BOUNCE, T0 - MIN_MS);		/* due, a bounce */
	ck_assert_int_eq(queue_stats_scan(g_q, T0, &s, &err), 0);
	ck_assert_uint_eq(s.messages, 3);
	ck_assert_uint_eq(s.due, 2);
	ck_assert_uint_eq(s.held, 1);
	ck_assert_uint_eq(s.waiting, 0);
	ck_assert_uint_eq(s.active, 0);
	ck_assert_uint_eq(s.bounces, 1);
	ck_assert_uint_eq(s.rcpt_pending, 4);
	ck_assert_uint_eq(s.bytes, 3 * 18);
	ck_assert_int_eq(s.oldest, T0 - 3 * MIN_MS);
	/* claimed (our own pid: alive) -> active; one attempt of the
	 * first: a delivered, b deferred -> waiting */
	ck_assert_int_eq(queue_claim(g_q, T0, 0, 0, LEASE, ids, 8, &n, &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(queue_stats_scan(g_q, T0, &s, &err), 0);
	ck_assert_uint_eq(s.active, 2);
	ck_assert_uint_eq(s.due, 0);
	for (i = 0; i < 2; i++) {
		m = load(ids[i]);
		if (m->nrcpt == 2) {
			attempt(m, 0, QR_DELIVERED, T0);
			attempt(m, 1, QR_PENDING, T0);
			ck_assert_int_eq(queue_update(g_q, &m, 1, T0, &err),
			    0);
		}
		queue_msg_free(m);
	}
	ck_assert_int_eq(queue_stats_scan(g_q, T0 + 1000, &s, &err), 0);
	ck_assert_uint_eq(s.messages, 3);
	ck_assert_uint_eq(s.active, 1);
	ck_assert_uint_eq(s.waiting, 1);
	ck_assert_uint_eq(s.held, 1);
	ck_assert_uint_eq(s.due, 0);
	ck_assert_uint_eq(s.rcpt_pending, 3);
	/* the lease ran out: due again */
	ck_assert_int_eq(queue_stats_scan(g_q, T0 + LEASE + 1, &s, &err), 0);
	ck_assert_uint_eq(s.active, 0);
	ck_assert_uint_eq(s.due, 2);	/* the bounce, and b's retry */
	ck_assert_uint_eq(s.waiting, 0);
}
END_TEST

/* more messages than one read transaction holds */
START_TEST(snapshot_batches)
{
	const char *r[] = { "a@x.example", NULL };
	struct queue_stats_snap s;
	struct ob_err err;
	int i;

	for (i = 0; i < 1100; i++)
		submit(r, 0, T0 - 1000 + i);
	ck_assert_int_eq(queue_stats_scan(g_q, T0 + 5000, &s, &err), 0);
	ck_assert_uint_eq(s.messages, 1100);
	ck_assert_uint_eq(s.due, 1100);
	ck_assert_uint_eq(s.rcpt_pending, 1100);
	ck_assert_int_eq(s.oldest, T0 - 1000);
}
END_TEST

/* stats_collect: everything together, from a queue */
START_TEST(collect_all)
{
	const char *r[] = { "a@x.example", "b@y.example", NULL };
	struct queue_msg *m;
	struct stats st;
	struct ob_err err;
	char *json;
	uint64_t id = submit(r, 0, T0 - MIN_MS);

	ck_assert_int_eq(queue_stats_count(g_q, T0 - 86400000LL,
	    "old@z.example", QUEUE_STATS_DELIVERED, &err), 0);
	m = load(id);
	attempt(m, 0, QR_DELIVERED, T0);
	attempt(m, 1, QR_PENDING, T0);
	ck_assert_int_eq(queue_update(g_q, &m, 1, T0, &err), 0);
	queue_msg_free(m);
	ck_assert_int_eq(stats_collect(g_q, T0 + 1000, &st, &err), 0);
	json = mem_out(stats_json, &st);
	ck_assert_str_eq(json,
	    "{\"generated\":\"2025-11-24T16:00:01Z\",\"messages\":{\"total\":1,"
	    "\"due\":0,\"waiting\":1,\"held\":0,\"active\":0},\"bounces\":0,"
	    "\"recipients_pending\":1,\"oldest_arrival\":"
	    "\"2025-11-24T15:59:00Z\",\"oldest_age\":61,\"bytes\":18,"
	    "\"unreadable\":0,\"totals\":{\"delivered\":2,\"deferred\":1,"
	    "\"failed\":0},\"destinations\":[\n"
	    "{\"destination\":\"x.example\","
	    "\"5m\":{\"delivered\":1,\"deferred\":0,\"failed\":0},"
	    "\"1h\":{\"delivered\":1,\"deferred\":0,\"failed\":0},"
	    "\"24h\":{\"delivered\":1,\"deferred\":0,\"failed\":0}},\n"
	    "{\"destination\":\"y.example\","
	    "\"5m\":{\"delivered\":0,\"deferred\":1,\"failed\":0},"
	    "\"1h\":{\"delivered\":0,\"deferred\":1,\"failed\":0},"
	    "\"24h\":{\"delivered\":0,\"deferred\":1,\"failed\":0}},\n"
	    "{\"destination\":\"z.example\","
	    "\"5m\":{\"delivered\":0,\"deferred\":0,\"failed\":0},"
	    "\"1h\":{\"delivered\":0,\"deferred\":0,\"failed\":0},"
	    "\"24h\":{\"delivered\":1,\"deferred\":0,\"failed\":0}}\n"
	    "],\"destinations_more\":0}\n");
	free(json);
	stats_free(&st);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc;

	tc = tcase_create("buckets");
	tcase_add_loop_test(tc, bucket_of, 0,
	    sizeof bucket_cases / sizeof bucket_cases[0]);
	tcase_add_loop_test(tc, window_membership, 0,
	    sizeof window_cases / sizeof window_cases[0]);
	tcase_add_test(tc, first_bucket);
	suite_add_tcase(s, tc);

	tc = tcase_create("domain");
	tcase_add_loop_test(tc, domain_of, 0,
	    sizeof domain_cases / sizeof domain_cases[0]);
	tcase_add_test(tc, domain_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("windows");
	tcase_add_test(tc, sums);
	tcase_add_test(tc, order_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus");
	tcase_add_loop_test(tc, prom_label, 0,
	    sizeof label_cases / sizeof label_cases[0]);
	tcase_add_test(tc, prom_exact);
	tcase_add_test(tc, prom_empty);
	tcase_add_test(tc, top_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("text_json");
	tcase_add_test(tc, text_exact);
	tcase_add_test(tc, text_empty);
	tcase_add_test(tc, json_exact);
	tcase_add_test(tc, json_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, q_setup, q_teardown);
	tcase_add_test(tc, file_write);
	tcase_add_test(tc, file_fail);
	suite_add_tcase(s, tc);

	tc = tcase_create("counting");
	tcase_add_checked_fixture(tc, q_setup, q_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, count_rows);
	tcase_add_test(tc, rows_batches);
	tcase_add_test(tc, prune);
	tcase_add_test(tc, rule_update);
	tcase_add_test(tc, rule_record);
	tcase_add_test(tc, rule_admin_fail);
	suite_add_tcase(s, tc);

	tc = tcase_create("snapshot");
	tcase_add_checked_fixture(tc, q_setup, q_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, snapshot);
	tcase_add_test(tc, snapshot_batches);
	tcase_add_test(tc, collect_all);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
