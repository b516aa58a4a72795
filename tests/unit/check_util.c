/* check_util.c - unit tests of util.c: bounded buffers, strict number
 * parsers, ob_snprintf, time formatting, ASCII comparisons, errors and
 * the allocation wrappers' out-of-memory exit.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "util.h"

/* ---- parse_u64 ---------------------------------------------------- */

static const struct {
	const char *in;
	int ok;
	uint64_t v;
} u64s[] = {
	{ "0", 1, 0 },
	{ "1", 1, 1 },
	{ "42", 1, 42 },
	{ "007", 1, 7 },
	{ "18446744073709551615", 1, UINT64_MAX },
	{ "000000000000000000000000000000000000000042", 1, 42 },
	{ "18446744073709551616", 0, 0 },
	{ "18446744073709551620", 0, 0 },
	{ "99999999999999999999", 0, 0 },
	{ "", 0, 0 },
	{ "-1", 0, 0 },
	{ "+1", 0, 0 },
	{ " 1", 0, 0 },
	{ "1 ", 0, 0 },
	{ "1a", 0, 0 },
	{ "0x10", 0, 0 },
	{ "1.0", 0, 0 },
	{ "\xd9\xa3", 0, 0 },	/* ARABIC-INDIC DIGIT THREE */
};

START_TEST(u64_table)
{
	uint64_t v = 12345;

	if (u64s[_i].ok) {
		ck_assert_int_eq(parse_u64(u64s[_i].in, &v), 0);
		ck_assert_uint_eq(v, u64s[_i].v);
	} else {
		ck_assert_int_eq(parse_u64(u64s[_i].in, &v), -1);
		ck_assert_uint_eq(v, 12345);	/* untouched on failure */
	}
}
END_TEST

START_TEST(u64_null)
{
	uint64_t v = 7;

	ck_assert_int_eq(parse_u64(NULL, &v), -1);
	ck_assert_uint_eq(v, 7);
}
END_TEST

/* ---- parse_duration_ms -------------------------------------------- */

static const struct {
	const char *in;
	int ok;
	int64_t ms;
} durs[] = {
	{ "0", 1, 0 },
	{ "30", 1, 30000 },
	{ "30s", 1, 30000 },
	{ "5m", 1, 300000 },
	{ "2h", 1, 7200000 },
	{ "5d", 1, 432000000 },
	{ "5S", 1, 5000 },		/* suffixes ignore case */
	{ "5M", 1, 300000 },
	{ "1H", 1, 3600000 },
	{ "1D", 1, 86400000 },
	{ "0d", 1, 0 },
	{ "0000000000000000000000000000000000000001m", 1, 60000 },
	{ "9223372036854775", 1, INT64_C(9223372036854775000) },
	{ "9223372036854776", 0, 0 },
	{ "106751991167d", 1, INT64_C(9223372036828800000) },
	{ "106751991168d", 0, 0 },
	{ "153722867280912m", 1, INT64_C(9223372036854720000) },
	{ "153722867280913m", 0, 0 },
	{ "99999999999999999999s", 0, 0 },
	{ "", 0, 0 },
	{ "s", 0, 0 },
	{ "m", 0, 0 },
	{ "5x", 0, 0 },
	{ "5w", 0, 0 },
	{ "5ms", 0, 0 },
	{ "5sm", 0, 0 },
	{ "1m30s", 0, 0 },
	{ "-5", 0, 0 },
	{ "-5s", 0, 0 },
	{ "+5s", 0, 0 },
	{ "5 s", 0, 0 },
	{ " 5s", 0, 0 },
	{ "5s ", 0, 0 },
	{ "1.5h", 0, 0 },
	{ "5\xc3\xa9", 0, 0 },
};

START_TEST(duration_table)
{
	int64_t v = -7;

	if (durs[_i].ok) {
		ck_assert_int_eq(parse_duration_ms(durs[_i].in, &v), 0);
		ck_assert_int_eq(v, durs[_i].ms);
	} else {
		ck_assert_int_eq(parse_duration_ms(durs[_i].in, &v), -1);
		ck_assert_int_eq(v, -7);
	}
}
END_TEST

/* ---- fmt_size: the largest exact unit, and parse_size reads it back - */

static const struct {
	uint64_t	 v;
	const char	*want;
} fmts[] = {
	{ 0, "0" }, { 1000, "1000" }, { 1024, "1K" }, { 1536, "1536" },
	{ 1536 * 1024, "1536K" }, { 4ULL << 20, "4M" }, { 1ULL << 30, "1G" },
	{ 3ULL << 30, "3G" }, { (1ULL << 30) + 1024, "1048577K" },
	{ UINT64_MAX, "18446744073709551615" },
};

START_TEST(fmt_size_table)
{
	char out[32];
	uint64_t back;

	fmt_size(out, sizeof out, fmts[_i].v);
	ck_assert_str_eq(out, fmts[_i].want);
	ck_assert_int_eq(parse_size(out, &back), 0);
	ck_assert(back == fmts[_i].v);
}
END_TEST

/* ---- parse_size --------------------------------------------------- */

static const struct {
	const char *in;
	int ok;
	uint64_t v;
} sizes[] = {
	{ "0", 1, 0 },
	{ "1", 1, 1 },
	{ "1000", 1, 1000 },
	{ "512K", 1, 524288 },
	{ "512k", 1, 524288 },
	{ "10M", 1, 10485760 },
	{ "10m", 1, 10485760 },
	{ "1G", 1, 1073741824 },
	{ "1g", 1, 1073741824 },
	{ "0G", 1, 0 },
	{ "18446744073709551615", 1, UINT64_MAX },
	{ "18446744073709551616", 0, 0 },
	{ "17179869183G", 1, UINT64_C(18446744072635809792) },
	{ "17179869184G", 0, 0 },
	{ "18014398509481983K", 1, UINT64_C(18446744073709550592) },
	{ "18014398509481984K", 0, 0 },
	{ "", 0, 0 },
	{ "K", 0, 0 },
	{ "1T", 0, 0 },
	{ "1B", 0, 0 },
	{ "10MB", 0, 0 },
	{ "10KiB", 0, 0 },
	{ "1.5M", 0, 0 },
	{ "-1", 0, 0 },
	{ "+1", 0, 0 },
	{ "1 M", 0, 0 },
	{ "1M ", 0, 0 },
	{ "0x10", 0, 0 },
};

START_TEST(size_table)
{
	uint64_t v = 99;

	if (sizes[_i].ok) {
		ck_assert_int_eq(parse_size(sizes[_i].in, &v), 0);
		ck_assert_uint_eq(v, sizes[_i].v);
	} else {
		ck_assert_int_eq(parse_size(sizes[_i].in, &v), -1);
		ck_assert_uint_eq(v, 99);
	}
}
END_TEST

START_TEST(parsers_null)
{
	uint64_t u = 1;
	int64_t d = 1;

	ck_assert_int_eq(parse_size(NULL, &u), -1);
	ck_assert_int_eq(parse_duration_ms(NULL, &d), -1);
	ck_assert_uint_eq(u, 1);
	ck_assert_int_eq(d, 1);
}
END_TEST

/* ---- ob_snprintf -------------------------------------------------- */

START_TEST(snprintf_fits)
{
	char b[5];

	ck_assert_int_eq(ob_snprintf(b, sizeof b, "%s", "abcd"), 4);
	ck_assert_str_eq(b, "abcd");
	ck_assert_int_eq(ob_snprintf(b, sizeof b, "%d", 12), 2);
	ck_assert_str_eq(b, "12");
	ck_assert_int_eq(ob_snprintf(b, sizeof b, "%s", ""), 0);
	ck_assert_str_eq(b, "");
}
END_TEST

START_TEST(snprintf_truncates)
{
	char b[5] = "zzzz";

	ck_assert_int_eq(ob_snprintf(b, sizeof b, "%s", "abcde"), -1);
	ck_assert_str_eq(b, "abcd");	/* still terminated */
	ck_assert_int_eq(ob_snprintf(b, 1, "%s", "x"), -1);
	ck_assert_str_eq(b, "");
	ck_assert_int_eq(ob_snprintf(NULL, 0, "%s", "x"), -1);
	ck_assert_int_eq(ob_snprintf(NULL, 0, "%s", ""), -1);
}
END_TEST

/* ---- buf ---------------------------------------------------------- */

START_TEST(buf_zero_init)
{
	struct buf b = { 0 };

	ck_assert_int_eq(buf_addstr(&b, "hi"), 0);
	ck_assert_str_eq(b.p, "hi");
	ck_assert_uint_eq(b.len, 2);
	ck_assert_uint_ge(b.cap, 3);
	/* max 0 means SIZE_MAX/2: an absurd size fails without allocating */
	ck_assert_int_eq(buf_add(&b, "x", SIZE_MAX / 2), -1);
	ck_assert_int_eq(buf_add(&b, "x", SIZE_MAX), -1);
	ck_assert_str_eq(b.p, "hi");
	buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(buf_max)
{
	struct buf b;

	buf_init(&b, 4);
	ck_assert_ptr_null(b.p);
	ck_assert_int_eq(buf_add(&b, "abcd", 4), 0);	/* exactly max */
	ck_assert_int_eq(buf_addc(&b, 'e'), -1);
	ck_assert_int_eq(buf_addstr(&b, "e"), -1);
	ck_assert_int_eq(buf_printf(&b, "%d", 1), -1);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(b.p, "abcd");
	ck_assert_int_eq(buf_add(&b, "", 0), 0);	/* nothing is fine */
	buf_consume(&b, 2);
	ck_assert_int_eq(buf_printf(&b, "%s", "xy"), 0);
	ck_assert_str_eq(b.p, "cdxy");
	ck_assert_int_eq(buf_printf(&b, "%s", "z"), -1);
	buf_clear(&b);
	/* all or nothing */
	ck_assert_int_eq(buf_add(&b, "12345", 5), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.p, "");
	buf_free(&b);
}
END_TEST

START_TEST(buf_binary_and_growth)
{
	struct buf b;
	size_t i;

	buf_init(&b, 100000);
	ck_assert_int_eq(buf_add(&b, "a\0b", 3), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.p, "a\0b", 4), 0);	/* and a NUL */
	buf_clear(&b);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(buf_addc(&b, 'a' + (int)(i % 26)), 0);
	ck_assert_uint_eq(b.len, 10000);
	ck_assert_uint_gt(b.cap, b.len);
	ck_assert_int_eq(b.p[10000], '\0');
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(b.p[i], 'a' + (int)(i % 26));
	buf_free(&b);
}
END_TEST

START_TEST(buf_empty_add)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_add(&b, NULL, 0), 0);
	ck_assert_ptr_nonnull(b.p);
	ck_assert_str_eq(b.p, "");
	buf_free(&b);
}
END_TEST

START_TEST(buf_printf_appends)
{
	struct buf b;
	char big[300];

	buf_init(&b, 0);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "a", 1), 0);
	ck_assert_int_eq(buf_printf(&b, " %s", "b"), 0);
	ck_assert_str_eq(b.p, "a=1 b");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(buf_printf(&b, "[%s]", big), 0);	/* grows */
	ck_assert_uint_eq(b.len, 5 + 2 + 299);
	ck_assert_int_eq(b.p[b.len - 1], ']');
	ck_assert_int_eq(b.p[b.len], '\0');
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, 306);
	buf_free(&b);
}
END_TEST

START_TEST(buf_clear_keeps_memory)
{
	struct buf b;
	char *p;
	size_t cap;

	buf_init(&b, 0);
	buf_addstr(&b, "hello world");
	p = b.p;
	cap = b.cap;
	buf_clear(&b);
	ck_assert_ptr_eq(b.p, p);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.p, "");
	buf_free(&b);
	buf_clear(&b);		/* on a freed buffer: harmless */
	ck_assert_ptr_null(b.p);
}
END_TEST

static const struct {
	size_t n;
	const char *left;
} consumes[] = {
	{ 0, "abcdef" }, { 1, "bcdef" }, { 5, "f" }, { 6, "" }, { 7, "" },
	{ SIZE_MAX, "" },
};

START_TEST(buf_consume_table)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, "abcdef");
	buf_consume(&b, consumes[_i].n);
	ck_assert_str_eq(b.p, consumes[_i].left);
	ck_assert_uint_eq(b.len, strlen(consumes[_i].left));
	/* still usable */
	ck_assert_int_eq(buf_addc(&b, 'Z'), 0);
	ck_assert_uint_eq(b.len, strlen(consumes[_i].left) + 1);
	ck_assert_int_eq(b.p[b.len - 1], 'Z');
	buf_free(&b);
}
END_TEST

START_TEST(buf_consume_empty)
{
	struct buf b = { 0 };

	buf_consume(&b, 3);	/* never allocated: no crash */
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(buf_reuse_after_free)
{
	struct buf b;

	buf_init(&b, 8);
	buf_addstr(&b, "one");
	buf_free(&b);
	ck_assert_int_eq(buf_addstr(&b, "twotwo"), 0);
	ck_assert_str_eq(b.p, "twotwo");
	ck_assert_int_eq(buf_addstr(&b, "333"), -1);	/* max survives */
	buf_free(&b);
}
END_TEST

/* ---- time formatting ---------------------------------------------- */

static const struct {
	const char *tz;		/* POSIX TZ: no zoneinfo needed */
	int64_t t_ms;
	const char *date;
} dates[] = {
	{ "UTC0", 0, "Thu, 1 Jan 1970 00:00:00 +0000" },
	{ "UTC0", 999, "Thu, 1 Jan 1970 00:00:00 +0000" },
	{ "UTC0", -1, "Wed, 31 Dec 1969 23:59:59 +0000" },
	{ "UTC0", -1000, "Wed, 31 Dec 1969 23:59:59 +0000" },
	{ "UTC0", -1001, "Wed, 31 Dec 1969 23:59:58 +0000" },
	{ "UTC0", INT64_C(1795525200000), "Tue, 24 Nov 2026 13:00:00 +0000" },
	{ "UTC0", INT64_C(951868799000), "Tue, 29 Feb 2000 23:59:59 +0000" },
	{ "EST5", INT64_C(1795525200000), "Tue, 24 Nov 2026 08:00:00 -0500" },
	{ "IST-5:30", INT64_C(1795525200000),
	    "Tue, 24 Nov 2026 18:30:00 +0530" },
	{ "NST3:30", INT64_C(1795525200000),
	    "Tue, 24 Nov 2026 09:30:00 -0330" },
	{ "NPT-5:45", 0, "Thu, 1 Jan 1970 05:45:00 +0545" },
	{ "XST12", 0, "Wed, 31 Dec 1969 12:00:00 -1200" },
};

START_TEST(rfc5322_date_table)
{
	char b[64];

	setenv("TZ", dates[_i].tz, 1);
	tzset();
	memset(b, 'Q', sizeof b);
	fmt_rfc5322_date(b, sizeof b, dates[_i].t_ms);
	ck_assert_str_eq(b, dates[_i].date);
}
END_TEST

START_TEST(rfc5322_date_limits)
{
	char b[64], small[10];

	setenv("TZ", "UTC0", 1);
	tzset();
	/* The extremes of int64_t milliseconds still convert. */
	memset(b, 'Q', sizeof b);
	fmt_rfc5322_date(b, sizeof b, INT64_MAX);
	ck_assert_str_eq(b, "Sun, 17 Aug 292278994 07:12:55 +0000");
	memset(b, 'Q', sizeof b);
	fmt_rfc5322_date(b, sizeof b, INT64_MIN);
	ck_assert_ptr_nonnull(memchr(b, '\0', sizeof b));
	/* Too small: truncated, terminated, nothing written past the end. */
	memset(small, 'Q', sizeof small);
	fmt_rfc5322_date(small, sizeof small - 1, 0);
	ck_assert_str_eq(small, "Thu, 1 J");
	ck_assert_int_eq(small[9], 'Q');
	fmt_rfc5322_date(small, 0, 0);
	ck_assert_str_eq(small, "Thu, 1 J");
}
END_TEST

static const struct {
	int64_t t_ms;
	const char *iso;
} isos[] = {
	{ 0, "1970-01-01T00:00:00Z" },
	{ 1, "1970-01-01T00:00:00Z" },
	{ -1, "1969-12-31T23:59:59Z" },
	{ INT64_C(1795525200123), "2026-11-24T13:00:00Z" },
	{ INT64_C(951868799999), "2000-02-29T23:59:59Z" },
	{ INT64_C(253402300799000), "9999-12-31T23:59:59Z" },
	{ INT64_MAX, "292278994-08-17T07:12:55Z" },
};

START_TEST(iso_time_table)
{
	char b[64];

	/* Always UTC, whatever TZ says. */
	setenv("TZ", "IST-5:30", 1);
	tzset();
	memset(b, 'Q', sizeof b);
	fmt_iso_time(b, sizeof b, isos[_i].t_ms);
	ck_assert_str_eq(b, isos[_i].iso);
}
END_TEST

START_TEST(iso_time_small)
{
	char b[21], tiny[8];

	fmt_iso_time(b, sizeof b, 0);		/* exact fit */
	ck_assert_str_eq(b, "1970-01-01T00:00:00Z");
	memset(tiny, 'Q', sizeof tiny);
	fmt_iso_time(tiny, sizeof tiny, 0);	/* too small: empty */
	ck_assert_str_eq(tiny, "");
	fmt_iso_time(tiny, 0, 0);
	ck_assert_str_eq(tiny, "");
}
END_TEST

START_TEST(clocks)
{
	int64_t a = ob_mono_ms(), b = ob_mono_ms();
	int64_t now = ob_now_ms();

	ck_assert_int_ge(b, a);
	/* after 2020-01-01 and within a second of time(2) */
	ck_assert_int_gt(now, INT64_C(1577836800000));
	ck_assert_int_le(now / 1000 - (int64_t)time(NULL), 1);
	ck_assert_int_ge(now / 1000 - (int64_t)time(NULL), -1);
}
END_TEST

/* ---- ASCII comparisons -------------------------------------------- */

static const struct {
	const char *a, *b;
	int sign;		/* -1, 0, 1 */
} cmps[] = {
	{ "", "", 0 },
	{ "abc", "abc", 0 },
	{ "abc", "ABC", 0 },
	{ "MiXeD", "mIxEd", 0 },
	{ "a", "b", -1 },
	{ "B", "a", 1 },
	{ "a", "", 1 },
	{ "", "a", -1 },
	{ "ab", "abc", -1 },
	{ "[", "{", -1 },	/* no folding outside letters */
	{ "\xc3\x89", "\xc3\xa9", -1 },	/* no folding outside ASCII */
	{ "\xc3\xa9", "\xc3\xa9", 0 },
};

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

START_TEST(strcasecmp_table)
{
	ck_assert_int_eq(sign(ob_strcasecmp(cmps[_i].a, cmps[_i].b)),
	    cmps[_i].sign);
	ck_assert_int_eq(sign(ob_strcasecmp(cmps[_i].b, cmps[_i].a)),
	    -cmps[_i].sign);
}
END_TEST

START_TEST(strncasecmp_cases)
{
	ck_assert_int_eq(ob_strncasecmp("abcX", "ABCy", 3), 0);
	ck_assert_int_lt(ob_strncasecmp("abcX", "ABCy", 4), 0);
	ck_assert_int_eq(ob_strncasecmp("x", "y", 0), 0);
	ck_assert_int_eq(ob_strncasecmp("ab", "AB", 50), 0);
	ck_assert_int_lt(ob_strncasecmp("ab", "ABC", 3), 0);
	ck_assert_int_gt(ob_strncasecmp("abd", "ABC", 3), 0);
	ck_assert_int_eq(ob_strncasecmp("EHLO x", "ehlo", 4), 0);
}
END_TEST

/* ---- errors and allocation ---------------------------------------- */

START_TEST(err_set)
{
	struct ob_err e;
	char longtext[600];

	memset(&e, 0, sizeof e);
	ck_assert_int_eq(ob_err_set(&e, OB_TEMP, EX_TEMPFAIL, "disk %s %d",
	    "full", 3), -1);
	ck_assert_int_eq(e.kind, OB_TEMP);
	ck_assert_int_eq(e.ex, EX_TEMPFAIL);
	ck_assert_str_eq(e.text, "disk full 3");
	ck_assert_int_eq(ob_err_set(NULL, OB_PERM, 0, "x"), -1);
	memset(longtext, 'L', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	ob_err_set(&e, OB_PERM, 0, "%s", longtext);
	ck_assert_int_eq(e.kind, OB_PERM);
	ck_assert_uint_eq(strlen(e.text), sizeof e.text - 1);
}
END_TEST

START_TEST(x_strings)
{
	char *s = xstrndup("abcdef", 3), *t = xstrdup(""), *u;

	ck_assert_str_eq(s, "abc");
	ck_assert_str_eq(t, "");
	u = xasprintf("%s-%d-%s", s, 42, t);
	ck_assert_str_eq(u, "abc-42-");
	free(s);
	free(t);
	free(u);
	s = xstrndup("ab", 0);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(x_alloc)
{
	char *p = xmalloc(0), *q;
	int *z = xcalloc(16, sizeof *z);
	int i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(z[i], 0);
	q = xrealloc(p, 100);
	memset(q, 1, 100);
	z = xreallocarray(z, 1000, sizeof *z);
	z[999] = 5;
	ck_assert_int_eq(z[999], 5);
	free(q);
	free(z);
}
END_TEST

/* Out of memory: xmalloc and friends exit EX_TEMPFAIL (the caller of
 * sendmail retries later). */
START_TEST(oom_malloc)
{
	(void)xmalloc(SIZE_MAX - 4096);
}
END_TEST

START_TEST(oom_reallocarray)
{
	(void)xreallocarray(NULL, SIZE_MAX / 2, 4);
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc;
	const char *fork = getenv("CK_FORK");

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))
	tc = tcase_create("parse_u64");
	tcase_add_loop_test(tc, u64_table, 0, NELEM(u64s));
	tcase_add_test(tc, u64_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_duration_ms");
	tcase_add_loop_test(tc, duration_table, 0, NELEM(durs));
	tcase_add_test(tc, parsers_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_size");
	tcase_add_loop_test(tc, size_table, 0, NELEM(sizes));
	tcase_add_loop_test(tc, fmt_size_table, 0, NELEM(fmts));
	suite_add_tcase(s, tc);

	tc = tcase_create("ob_snprintf");
	tcase_add_test(tc, snprintf_fits);
	tcase_add_test(tc, snprintf_truncates);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_add_test(tc, buf_zero_init);
	tcase_add_test(tc, buf_max);
	tcase_add_test(tc, buf_binary_and_growth);
	tcase_add_test(tc, buf_empty_add);
	tcase_add_test(tc, buf_printf_appends);
	tcase_add_test(tc, buf_clear_keeps_memory);
	tcase_add_loop_test(tc, buf_consume_table, 0, NELEM(consumes));
	tcase_add_test(tc, buf_consume_empty);
	tcase_add_test(tc, buf_reuse_after_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_add_loop_test(tc, rfc5322_date_table, 0, NELEM(dates));
	tcase_add_test(tc, rfc5322_date_limits);
	tcase_add_loop_test(tc, iso_time_table, 0, NELEM(isos));
	tcase_add_test(tc, iso_time_small);
	tcase_add_test(tc, clocks);
	suite_add_tcase(s, tc);

	tc = tcase_create("strcasecmp");
	tcase_add_loop_test(tc, strcasecmp_table, 0, NELEM(cmps));
	tcase_add_test(tc, strncasecmp_cases);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, err_set);
	tcase_add_test(tc, x_strings);
	tcase_add_test(tc, x_alloc);
	/* Exit tests need fork mode (and a sanitizer-free malloc that
	 * returns NULL, which is what glibc and valgrind give). */
	if (fork == NULL || strcmp(fork, "no") != 0) {
		tcase_add_exit_test(tc, oom_malloc, EX_TEMPFAIL);
		tcase_add_exit_test(tc, oom_reallocarray, EX_TEMPFAIL);
	}
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(util_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
