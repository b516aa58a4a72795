/* check_dns.c - dns.c against canned answers: a small wire-format builder
 * makes each response (header, question, answer records, compression
 * pointers), the parser classifies it; MX ordering and shuffling with an
 * injected random source; the lookups end to end through an injected
 * query function; names, literals and dns_server syntax; cut and
 * corrupted messages never crash and are temporary failures. */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define F_DEFAULT	0x8180	/* QR, RD, RA */
#define MSG_MAX		2048

/* ---- a tiny DNS message builder --------------------------------------- */

struct rr {
	int		 type;		/* 0 ends the list */
	const char	*owner;		/* NULL: the question name */
	uint32_t	 ttl;
	int		 pref;		/* MX */
	const char	*data;		/* target name or address */
	const char	*raw;		/* hex rdata instead of data */
	int		 cls;		/* 0: IN */
	int		 auth;		/* authority section; last */
};

struct spec {
	const char	*qname;		/* in the question */
	int		 qtype;
	int		 rcode;
	int		 flags;		/* 0: F_DEFAULT */
	struct rr	 rr[6];
};

struct wb {
	unsigned char	p[MSG_MAX];
	size_t		len;
};

static void
wb_u8(struct wb *w, unsigned v)
{
	ck_assert_uint_lt(w->len, sizeof w->p);
	w->p[w->len++] = (unsigned char)v;
}

static void
wb_u16(struct wb *w, unsigned v)
{
	wb_u8(w, v >> 8 & 0xff);
	wb_u8(w, v & 0xff);
}

static void
wb_u32(struct wb *w, uint32_t v)
{
	wb_u16(w, v >> 16);
	wb_u16(w, v & 0xffff);
}

/* wb_name: NAME as labels; "" or "." is the root; "@x.y" is x.y then a
 * compression pointer to the question name (offset 12); "@" alone is
 * just the pointer. */
static void
wb_name(struct wb *w, const char *name)
{
	int ptr = 0;
	const char *dot;
	size_t l;

	if (*name == '@') {
		ptr = 1;
		name++;
	}
	if (strcmp(name, ".") == 0)
		name = "";
	while (*name != '\0') {
		dot = strchr(name, '.');
		l = dot != NULL ? (size_t)(dot - name) : strlen(name);
		wb_u8(w, (unsigned)l);
		while (l-- > 0)
			wb_u8(w, (unsigned char)*name++);
		if (*name == '.')
			name++;
	}
	if (ptr)
		wb_u16(w, 0xc000 | 12);
	else
		wb_u8(w, 0);
}

static void
wb_hex(struct wb *w, const char *hex)
{
	unsigned v;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
		wb_u8(w, v);
	}
}

static size_t
build(unsigned char *out, const struct spec *s)
{
	struct wb w;
	const struct rr *r;
	unsigned char a[16];
	size_t at;
	int n = 0, nauth = 0;

	memset(&w, 0, sizeof w);
	for (r = s->rr; n < (int)NELEM(s->rr) && r->type != 0; r++) {
		n++;
		nauth += r->auth;
	}
	wb_u16(&w, 0x1234);
	wb_u16(&w, (unsigned)((s->flags != 0 ? s->flags : F_DEFAULT) |
	    s->rcode));
	wb_u16(&w, 1);
	wb_u16(&w, (unsigned)(n - nauth));
	wb_u16(&w, (unsigned)nauth);
	wb_u16(&w, 0);
	wb_name(&w, s->qname);
	wb_u16(&w, (unsigned)s->qtype);
	wb_u16(&w, ns_c_in);
	for (r = s->rr; r < s->rr + n; r++) {
		if (r->owner == NULL)
			wb_u16(&w, 0xc000 | 12);
		else
			wb_name(&w, r->owner);
		wb_u16(&w, (unsigned)r->type);
		wb_u16(&w, r->cls != 0 ? (unsigned)r->cls : ns_c_in);
		wb_u32(&w, r->ttl);
		at = w.len;
		wb_u16(&w, 0);		/* rdlength, patched below */
		if (r->raw != NULL) {
			wb_hex(&w, r->raw);
		} else if (r->type == ns_t_mx) {
			wb_u16(&w, (unsigned)r->pref);
			wb_name(&w, r->data);
		} else if (r->type == ns_t_cname) {
			wb_name(&w, r->data);
		} else if (r->type == ns_t_a) {
			ck_assert_int_eq(inet_pton(AF_INET, r->data, a), 1);
			for (int i = 0; i < 4; i++)
				wb_u8(&w, a[i]);
		} else if (r->type == ns_t_aaaa) {
			ck_assert_int_eq(inet_pton(AF_INET6, r->data, a), 1);
			for (int i = 0; i < 16; i++)
				wb_u8(&w, a[i]);
		}
		w.p[at] = (unsigned char)((w.len - at - 2) >> 8);
		w.p[at + 1] = (unsigned char)((w.len - at - 2) & 0xff);
	}
	memcpy(out, w.p, w.len);
	return w.len;
}

/* "PREF NAME TTL" joined with ',' */
static void
mx_str(char *dst, size_t n, const struct dns_mx *mx, size_t cnt)
{
	struct buf b;

	if (cnt > 0 && mx == NULL)
		ck_abort_msg("%zu entries at NULL", cnt);
	buf_init(&b, 4096);
	for (size_t i = 0; i < cnt; i++)
		buf_printf(&b, "%s%d %s %lu", i ? "," : "", mx[i].pref,
		    mx[i].name, (unsigned long)mx[i].ttl);
	ck_assert_int_ge(ob_snprintf(dst, n, "%s", b.p ? b.p : ""), 0);
	buf_free(&b);
}

/* "FAMILY TEXT TTL" joined with ',' (checks addr against text too) */
static void
addr_str(char *dst, size_t n, const struct dns_addr *a, size_t cnt)
{
	char t[INET6_ADDRSTRLEN];
	struct buf b;

	if (cnt > 0 && a == NULL)
		ck_abort_msg("%zu entries at NULL", cnt);
	buf_init(&b, 4096);
	for (size_t i = 0; i < cnt; i++) {
		ck_assert_ptr_nonnull(inet_ntop(a[i].family, a[i].addr, t,
		    sizeof t));
		ck_assert_str_eq(t, a[i].text);
		buf_printf(&b, "%s%d %s %lu", i ? "," : "",
		    a[i].family == AF_INET6 ? 6 : 4, a[i].text,
		    (unsigned long)a[i].ttl);
	}
	ck_assert_int_ge(ob_snprintf(dst, n, "%s", b.p ? b.p : ""), 0);
	buf_free(&b);
}

#define MX(o, p, t, ttl)	{ ns_t_mx, o, ttl, p, t, NULL, 0, 0 }
#define CN(o, t, ttl)		{ ns_t_cname, o, ttl, 0, t, NULL, 0, 0 }
#define A4(o, a, ttl)		{ ns_t_a, o, ttl, 0, a, NULL, 0, 0 }
#define A6(o, a, ttl)		{ ns_t_aaaa, o, ttl, 0, a, NULL, 0, 0 }
#define RAW(o, ty, hex)		{ ty, o, 300, 0, NULL, hex, 0, 0 }
/* an SOA in the authority section: TTL, MINIMUM (RFC 2308 negative TTL) */
#define SOA(o, ttl, min)	{ ns_t_soa, o, ttl, 0, NULL, \
	"0000" "00000001" "00000e10" "00000384" "00093a80" min, 0, 1 }

/* ---- dns_parse_mx ---------------------------------------------------- */

static const struct mxcase {
	struct spec	 s;
	const char	*qname;		/* asked; NULL: s.qname */
	enum dns_status	 st;
	const char	*want;		/* mx_str, or the error text */
} mxcases[] = {
	/* 0: two MX, answer order kept, TTLs kept */
	{ { "a.test", ns_t_mx, 0, 0, { MX("a.test", 20, "mx2.a.test", 600),
	    MX("a.test", 10, "mx1.a.test", 300) } }, NULL, DNS_OK,
	  "20 mx2.a.test 600,10 mx1.a.test 300" },
	/* 1: owner and targets compressed against the question */
	{ { "a.test", ns_t_mx, 0, 0, { MX(NULL, 10, "@mx1", 60),
	    MX(NULL, 5, "@", 70) } }, NULL, DNS_OK,
	  "10 mx1.a.test 60,5 a.test 70" },
	/* 2: names compared without case, trailing dot in the question */
	{ { "A.Test", ns_t_mx, 0, 0, { MX("a.TEST", 10, "MX.a.test", 1) } },
	  "a.test.", DNS_OK, "10 MX.a.test 1" },
	/* 3: null MX alone (RFC 7505) */
	{ { "a.test", ns_t_mx, 0, 0, { MX("a.test", 0, ".", 300) } }, NULL,
	  DNS_NULLMX,
	  "MX lookup of a.test: null MX: the domain accepts no mail "
	  "(RFC 7505)" },
	/* 4: null MX next to a real one: ignored */
	{ { "a.test", ns_t_mx, 0, 0, { MX("a.test", 0, ".", 300),
	    MX("a.test", 10, "mx.a.test", 300) } }, NULL, DNS_OK,
	  "10 mx.a.test 300" },
	/* 5: NOERROR, nothing */
	{ { "a.test", ns_t_mx, 0, 0, { { 0 } } }, NULL, DNS_NODATA,
	  "MX lookup of a.test: no MX records" },
	/* 6: records of other names or types are not ours */
	{ { "a.test", ns_t_mx, 0, 0, { MX("b.test", 10, "mx.b.test", 1),
	    A4("a.test", "127.0.0.1", 1) } }, NULL, DNS_NODATA,
	  "MX lookup of a.test: no MX records" },
	/* 7-12: rcodes */
	{ { "a.test", ns_t_mx, ns_r_nxdomain, 0, { { 0 } } }, NULL,
	  DNS_NXDOMAIN, "MX lookup of a.test: NXDOMAIN (no such domain)" },
	{ { "a.test", ns_t_mx, ns_r_servfail, 0, { { 0 } } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: SERVFAIL" },
	{ { "a.test", ns_t_mx, ns_r_refused, 0, { { 0 } } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: REFUSED" },
	{ { "a.test", ns_t_mx, ns_r_formerr, 0, { { 0 } } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: FORMERR" },
	{ { "a.test", ns_t_mx, ns_r_notimpl, 0, { { 0 } } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: NOTIMP" },
	{ { "a.test", ns_t_mx, 9, 0, { { 0 } } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: rcode 9" },
	/* 13: a SERVFAIL with records is still a SERVFAIL */
	{ { "a.test", ns_t_mx, ns_r_servfail, 0,
	    { MX("a.test", 10, "mx.a.test", 1) } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: SERVFAIL" },
	/* 14: CNAME chain; the TTL is the chain's smallest */
	{ { "a.test", ns_t_mx, 0, 0, { CN("a.test", "b.test", 3600),
	    CN("b.test", "c.test", 60), MX("c.test", 10, "mx.c.test", 300),
	    MX("a.test", 1, "wrong.test", 300) } }, NULL, DNS_OK,
	  "10 mx.c.test 60" },
	/* 15: chain given out of order */
	{ { "a.test", ns_t_mx, 0, 0, { MX("c.test", 10, "mx.c.test", 30),
	    CN("b.test", "c.test", 600), CN("a.test", "b.test", 600) } },
	  NULL, DNS_OK, "10 mx.c.test 30" },
	/* 16: CNAME to a name without MX */
	{ { "a.test", ns_t_mx, 0, 0, { CN("a.test", "b.test", 60) } }, NULL,
	  DNS_NODATA, "MX lookup of a.test: no MX records" },
	/* 17: CNAME loop */
	{ { "a.test", ns_t_mx, 0, 0, { CN("a.test", "b.test", 60),
	    CN("b.test", "a.test", 60) } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: CNAME chain too long (or a loop)" },
	/* 18: truncated (TC) */
	{ { "a.test", ns_t_mx, 0, F_DEFAULT | 0x0200,
	    { MX("a.test", 10, "mx.a.test", 1) } }, NULL, DNS_TEMP,
	  "MX lookup of a.test: truncated answer" },
	/* 19: not a response */
	{ { "a.test", ns_t_mx, 0, 0x0100,
	    { MX("a.test", 10, "mx.a.test", 1) } },
	  NULL, DNS_TEMP,
	  "MX lookup of a.test: malformed answer (not a query response)" },
	/* 20: the answer to another question */
	{ { "b.test", ns_t_mx, 0, 0, { MX("a.test", 10, "mx.a.test", 1) } },
	  "a.test", DNS_TEMP,
	  "MX lookup of a.test: answer does not match the question" },
	{ { "a.test", ns_t_a, 0, 0, { MX("a.test", 10, "mx.a.test", 1) } },
	  NULL, DNS_TEMP,
	  "MX lookup of a.test: answer does not match the question" },
	/* 22: an exchanger name that is no host name */
	{ { "a.test", ns_t_mx, 0, 0, { MX("a.test", 10, "b d.test", 1) } },
	  NULL, DNS_TEMP,
	  "MX lookup of a.test: no usable MX record "
	  "(malformed exchanger names)" },
	{ { "a.test", ns_t_mx, 0, 0, { MX("a.test", 10, "b\\d.test", 1),
	    MX("a.test", 20, "ok.test", 2) } }, NULL, DNS_OK, "20 ok.test 2" },
	/* 24: MX rdata too short, or with bytes after the name */
	{ { "a.test", ns_t_mx, 0, 0, { RAW("a.test", ns_t_mx, "000a") } },
	  NULL, DNS_TEMP, "MX lookup of a.test: malformed MX record" },
	{ { "a.test", ns_t_mx, 0, 0,
	    { RAW("a.test", ns_t_mx, "000a016100ff") } },
	  NULL, DNS_TEMP, "MX lookup of a.test: malformed MX record" },
	/* 26: a name running past its rdata into the next record */
	{ { "a.test", ns_t_mx, 0, 0,
	    { RAW("a.test", ns_t_mx, "000a0161"),
	      MX("a.test", 10, "mx.a.test", 1) } },
	  NULL, DNS_TEMP, "MX lookup of a.test: malformed MX record" },
	/* 27: a compression pointer to itself */
	{ { "a.test", ns_t_mx, 0, 0,
	    { RAW("a.test", ns_t_mx, "000ac02c") } },
	  NULL, DNS_TEMP, "MX lookup of a.test: malformed MX record" },
	/* 28: a class other than IN is ignored */
	{ { "a.test", ns_t_mx, 0, 0, { { ns_t_mx, "a.test", 1, 10, "x.test",
	    NULL, ns_c_chaos, 0 } } }, NULL, DNS_NODATA,
	  "MX lookup of a.test: no MX records" },
	/* 29: the largest preference, and preference 0 to a real host */
	{ { "a.test", ns_t_mx, 0, 0, {
	    MX("a.test", 65535, "z.test", 4294967295u),
	    MX("a.test", 0, "y.test", 0) } }, NULL, DNS_OK,
	  "65535 z.test 4294967295,0 y.test 0" },
	/* 30: a malformed CNAME target */
	{ { "a.test", ns_t_mx, 0, 0, { CN("a.test", "b d.test", 1) } }, NULL,
	  DNS_TEMP, "MX lookup of a.test: malformed CNAME record" },
};

START_TEST(test_parse_mx)
{
	const struct mxcase *c = &mxcases[_i];
	unsigned char msg[MSG_MAX];
	struct dns_mx *mx = NULL;
	struct ob_err err;
	char got[1024];
	size_t n = 99, len;
	enum dns_status st;

	memset(&err, 0, sizeof err);
	len = build(msg, &c->s);
	st = dns_parse_mx(msg, (int)len, c->qname ? c->qname : c->s.qname,
	    &mx, &n, &err);
	ck_assert_msg(st == c->st, "case %d: status %s, want %s (%s)", _i,
	    dns_status_name(st), dns_status_name(c->st), err.text);
	if (st == DNS_OK) {
		mx_str(got, sizeof got, mx, n);
		ck_assert_str_eq(got, c->want);
	} else {
		ck_assert_ptr_null(mx);
		ck_assert_uint_eq(n, 0);
		ck_assert_str_eq(err.text, c->want);
		ck_assert_int_eq(err.kind, st == DNS_TEMP ? OB_TEMP : OB_PERM);
	}
	free(mx);
}
END_TEST

/* ---- dns_parse_addrs ------------------------------------------------- */

static const struct addrcase {
	struct spec	 s;
	enum dns_status	 st;
	const char	*want;
} addrcases[] = {
	{ { "h.test", ns_t_a, 0, 0, { A4("h.test", "127.0.0.2", 30),
	    A4(NULL, "192.0.2.1", 40) } }, DNS_OK,
	  "4 127.0.0.2 30,4 192.0.2.1 40" },
	{ { "h.test", ns_t_aaaa, 0, 0, { A6("h.test", "::1", 30),
	    A6("h.test", "2001:db8::25", 31) } }, DNS_OK,
	  "6 ::1 30,6 2001:db8::25 31" },
	/* AAAA answers to an A question are not ours */
	{ { "h.test", ns_t_a, 0, 0, { A6("h.test", "::1", 30) } }, DNS_NODATA,
	  "A lookup of h.test: no A records" },
	{ { "h.test", ns_t_aaaa, 0, 0, { { 0 } } }, DNS_NODATA,
	  "AAAA lookup of h.test: no AAAA records" },
	{ { "h.test", ns_t_a, 0, 0, { CN("h.test", "@real", 100),
	    A4("real.h.test", "127.0.0.9", 200) } }, DNS_OK,
	  "4 127.0.0.9 100" },
	/* wrong rdata lengths */
	{ { "h.test", ns_t_a, 0, 0, { RAW("h.test", ns_t_a, "7f000001ff") } },
	  DNS_TEMP, "A lookup of h.test: malformed A record" },
	{ { "h.test", ns_t_aaaa, 0, 0,
	    { RAW("h.test", ns_t_aaaa, "7f000001") } },
	  DNS_TEMP, "AAAA lookup of h.test: malformed AAAA record" },
	{ { "h.test", ns_t_a, ns_r_nxdomain, 0, { { 0 } } }, DNS_NXDOMAIN,
	  "A lookup of h.test: NXDOMAIN (no such domain)" },
	{ { "h.test", ns_t_aaaa, ns_r_servfail, 0, { { 0 } } }, DNS_TEMP,
	  "AAAA lookup of h.test: SERVFAIL" },
};

START_TEST(test_parse_addrs)
{
	const struct addrcase *c = &addrcases[_i];
	unsigned char msg[MSG_MAX];
	struct dns_addr *a = NULL;
	struct ob_err err;
	char got[1024];
	size_t n = 0, len;
	enum dns_status st;

	memset(&err, 0, sizeof err);
	len = build(msg, &c->s);
	st = dns_parse_addrs(msg, (int)len, c->s.qname, c->s.qtype, &a, &n,
	    &err);
	ck_assert_msg(st == c->st, "case %d: status %s, want %s (%s)", _i,
	    dns_status_name(st), dns_status_name(c->st), err.text);
	if (st == DNS_OK) {
		addr_str(got, sizeof got, a, n);
		ck_assert_str_eq(got, c->want);
	} else {
		ck_assert_uint_eq(n, 0);
		ck_assert_str_eq(err.text, c->want);
	}
	free(a);
}
END_TEST

/* results are appended to what the caller has */
START_TEST(test_parse_addrs_append)
{
	static const struct spec s6 = { "h.test", ns_t_aaaa, 0, 0,
	    { A6("h.test", "::1", 5) } };
	static const struct spec s4 = { "h.test", ns_t_a, 0, 0,
	    { A4("h.test", "127.0.0.1", 6) } };
	static const struct spec bad = { "h.test", ns_t_a, 0, 0,
	    { A4("h.test", "127.0.0.7", 6), RAW("h.test", ns_t_a, "01") } };
	unsigned char msg[MSG_MAX];
	struct dns_addr *a = NULL;
	char got[256];
	size_t n = 0, len;

	len = build(msg, &s6);
	ck_assert_int_eq(dns_parse_addrs(msg, (int)len, "h.test", ns_t_aaaa,
	    &a, &n, NULL), DNS_OK);
	len = build(msg, &s4);
	ck_assert_int_eq(dns_parse_addrs(msg, (int)len, "h.test", ns_t_a, &a,
	    &n, NULL), DNS_OK);
	/* a malformed answer adds nothing (NULL err is fine) */
	len = build(msg, &bad);
	ck_assert_int_eq(dns_parse_addrs(msg, (int)len, "h.test", ns_t_a, &a,
	    &n, NULL), DNS_TEMP);
	addr_str(got, sizeof got, a, n);
	ck_assert_str_eq(got, "6 ::1 5,4 127.0.0.1 6");
	free(a);
}
END_TEST

/* ---- malformed input: every cut, random corruption ------------------- */

static const struct spec full = { "a.test", ns_t_mx, 0, 0, {
	CN("a.test", "@b", 60), MX("b.a.test", 10, "@mx1", 300),
	MX("b.a.test", 20, "mx2.other.test", 300), A4("mx1.a.test",
	"127.0.0.1", 5) } };

/* every proper prefix of a good answer is a temporary failure */
START_TEST(test_cut)
{
	unsigned char msg[MSG_MAX], *cut;
	struct dns_mx *mx;
	struct ob_err err;
	size_t n, len, l;

	len = build(msg, &full);
	mx = NULL;
	ck_assert_int_eq(dns_parse_mx(msg, (int)len, "a.test", &mx, &n, &err),
	    DNS_OK);
	free(mx);
	for (l = 0; l < len; l++) {
		/* an exact-size heap copy, so valgrind sees any overread */
		cut = xmalloc(l ? l : 1);
		memcpy(cut, msg, l);
		ck_assert_msg(dns_parse_mx(cut, (int)l, "a.test", &mx, &n,
		    &err) == DNS_TEMP, "cut at %zu not TEMP", l);
		ck_assert_ptr_null(mx);
		ck_assert_int_eq(err.kind, OB_TEMP);
		ck_assert_msg(strncmp(err.text, "MX lookup of a.test: ", 21)
		    == 0, "%s", err.text);
		free(cut);
	}
	ck_assert_int_eq(dns_parse_mx(NULL, 0, "a.test", &mx, &n, &err),
	    DNS_TEMP);
	ck_assert_int_eq(dns_parse_mx(msg, -1, "a.test", &mx, &n, &err),
	    DNS_TEMP);
	ck_assert_str_eq(err.text, "MX lookup of a.test: short answer");
}
END_TEST

/* random corruption: whatever comes back is consistent */
START_TEST(test_corrupt)
{
	unsigned char msg[MSG_MAX], *m;
	struct dns_mx *mx;
	struct dns_addr *a;
	struct ob_err err;
	size_t n, len, i;
	enum dns_status st;
	int round, k;

	len = build(msg, &full);
	srand(12345);
	for (round = 0; round < 3000; round++) {
		m = xmalloc(len);
		memcpy(m, msg, len);
		for (k = 0; k < 1 + rand() % 4; k++)
			m[(size_t)rand() % len] = (unsigned char)rand();
		mx = NULL;
		st = dns_parse_mx(m, (int)len, "a.test", &mx, &n, &err);
		if (st == DNS_OK) {
			ck_assert_uint_ge(n, 1);
			for (i = 0; i < n; i++)
				ck_assert_int_eq(dns_check_name(mx[i].name), 0);
		} else {
			ck_assert_ptr_null(mx);
			ck_assert_uint_eq(n, 0);
			ck_assert_ptr_nonnull(strstr(err.text, "MX lookup of"));
		}
		free(mx);
		a = NULL;
		n = 0;
		(void)dns_parse_addrs(m, (int)len, "mx1.a.test", ns_t_a, &a,
		    &n, &err);
		free(a);
		free(m);
	}
}
END_TEST

/* ---- dns_mx_sort ----------------------------------------------------- */

struct script {
	const uint32_t	*v;
	size_t		 n, at;
};

static uint32_t
scripted(void *arg)
{
	struct script *s = arg;

	ck_assert_uint_lt(s->at, s->n);
	return s->v[s->at++];
}

static uint32_t
lcg(void *arg)
{
	uint32_t *x = arg;

	*x = *x * 1664525u + 1013904223u;
	return *x >> 8;
}

static const struct sortcase {
	int		 pref[6];	/* -1 ends */
	uint32_t	 rnd[6];
	size_t		 nrnd;		/* random values used */
	const char	*want;		/* names are "h<index>" */
} sortcases[] = {
	{ { -1 }, { 0 }, 0, "" },
	{ { 5, -1 }, { 0 }, 0, "h0" },
	{ { 30, 10, 20, -1 }, { 0 }, 0, "h1,h2,h0" },
	/* one tie of two: j = 0 + r % 2 */
	{ { 10, 10, -1 }, { 0 }, 1, "h1,h0" },
	{ { 10, 10, -1 }, { 1 }, 1, "h0,h1" },
	/* a tie of three after sorting: h1 h2 h3 at 10, h0 at 20 */
	{ { 20, 10, 10, 10, -1 }, { 0, 0 }, 2, "h2,h3,h1,h0" },
	{ { 20, 10, 10, 10, -1 }, { 2, 1 }, 2, "h1,h2,h3,h0" },
	/* two ties: 4 values */
	{ { 1, 2, 1, 2, 3, -1 }, { 0, 0 }, 2, "h2,h0,h3,h1,h4" },
	{ { 1, 2, 1, 2, 3, -1 }, { 1, 3 }, 2, "h0,h2,h1,h3,h4" },
};

static void
sort_case(const struct sortcase *c, int with_rnd, char *got, size_t gotsz)
{
	struct dns_mx mx[6];
	struct script s = { c->rnd, NELEM(c->rnd), 0 };
	struct buf b;
	size_t n = 0, i;

	memset(mx, 0, sizeof mx);
	for (n = 0; n < 6 && c->pref[n] >= 0; n++) {
		mx[n].pref = c->pref[n];
		ck_assert_int_ge(ob_snprintf(mx[n].name, sizeof mx[n].name,
		    "h%zu", n), 0);
	}
	dns_mx_sort(mx, n, with_rnd ? scripted : NULL, &s);
	buf_init(&b, 1024);
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? "," : "", mx[i].name);
		if (i > 0)
			ck_assert_int_le(mx[i - 1].pref, mx[i].pref);
	}
	ck_assert_int_ge(ob_snprintf(got, gotsz, "%s", b.p ? b.p : ""), 0);
	buf_free(&b);
	if (with_rnd)
		ck_assert_uint_eq(s.at, c->nrnd);
}

START_TEST(test_sort_scripted)
{
	char got[128];

	sort_case(&sortcases[_i], 1, got, sizeof got);
	ck_assert_str_eq(got, sortcases[_i].want);
}
END_TEST

/* no random source: stable by preference */
START_TEST(test_sort_stable)
{
	static const struct sortcase c = { { 20, 10, 20, 10, 5, -1 }, { 0 }, 0,
	    "" };
	char got[128];

	sort_case(&c, 0, got, sizeof got);
	ck_assert_str_eq(got, "h4,h1,h3,h0,h2");
}
END_TEST

/* ties are shuffled: over many runs every order shows up, the
 * preference order never changes */
START_TEST(test_sort_shuffle)
{
	struct dns_mx mx[4];
	uint32_t x = 7;
	int first[3] = { 0, 0, 0 }, run, i;

	for (run = 0; run < 600; run++) {
		memset(mx, 0, sizeof mx);
		for (i = 0; i < 3; i++) {
			mx[i].pref = 10;
			mx[i].name[0] = (char)('a' + i);
		}
		mx[3].pref = 5;
		mx[3].name[0] = 'z';
		dns_mx_sort(mx, 4, lcg, &x);
		ck_assert_str_eq(mx[0].name, "z");
		for (i = 1; i < 4; i++)
			ck_assert_int_eq(mx[i].pref, 10);
		first[mx[1].name[0] - 'a']++;
	}
	for (i = 0; i < 3; i++)
		ck_assert_msg(first[i] > 100, "h%d first %d times of 600", i,
		    first[i]);
}
END_TEST

/* ---- whole lookups through an injected query function --------------- */

struct canned {
	const char	*name;
	int		 type;
	int		 fail_errno;	/* nonzero: the query fails */
	struct spec	 s;
};

struct fake {
	const struct canned *c;
	size_t		 n;
	int		 calls;
	char		 log[512];	/* "MX a.test;A a.test;..." */
};

static int
fake_query(void *arg, const char *name, int type, unsigned char *ans,
    int anslen)
{
	struct fake *f = arg;
	unsigned char msg[MSG_MAX];
	size_t i, len, l;

	f->calls++;
	l = strlen(f->log);	/* the log names what was asked, verbatim */
	if (f->calls < 10)	/* the shuffle test asks hundreds of times */
		ck_assert_int_ge(ob_snprintf(f->log + l, sizeof f->log - l,
		    "%s%s %s", l ? ";" : "", type == ns_t_mx ? "MX" :
		    type == ns_t_a ? "A" : "AAAA", name), 0);
	l = strlen(name);
	if (l > 1 && name[l - 1] == '.')
		l--;
	for (i = 0; i < f->n; i++) {
		if (f->c[i].type != type || strlen(f->c[i].name) != l ||
		    ob_strncasecmp(f->c[i].name, name, l) != 0)
			continue;
		if (f->c[i].fail_errno != 0) {
			errno = f->c[i].fail_errno;
			return -1;
		}
		len = build(msg, &f->c[i].s);
		ck_assert_int_le((int)len, anslen);
		memcpy(ans, msg, len);
		return (int)len;
	}
	/* not in the table: NXDOMAIN */
	{
		struct spec nx = { name, type, ns_r_nxdomain, 0, { { 0 } } };

		len = build(msg, &nx);
		memcpy(ans, msg, len);
		return (int)len;
	}
}

#define NOERR(n, t)	{ n, t, 0, { n, t, 0, 0, { { 0 } } } }

static const struct canned zone[] = {
	{ "a.test", ns_t_mx, 0, { "a.test", ns_t_mx, 0, 0, {
	    MX("a.test", 20, "mx2.a.test", 300),
	    MX("a.test", 10, "mx1.a.test", 300),
	    MX("a.test", 30, "mx3.a.test", 300) } } },
	/* no MX, addresses: implicit MX */
	NOERR("imp.test", ns_t_mx),
	{ "imp.test", ns_t_aaaa, 0, { "imp.test", ns_t_aaaa, 0, 0, {
	    A6("imp.test", "::1", 100) } } },
	{ "imp.test", ns_t_a, 0, { "imp.test", ns_t_a, 0, 0, {
	    A4("imp.test", "127.0.0.1", 50) } } },
	/* no MX, no address */
	NOERR("empty.test", ns_t_mx), NOERR("empty.test", ns_t_aaaa),
	NOERR("empty.test", ns_t_a),
	/* no MX, the address lookups fail */
	NOERR("sfa.test", ns_t_mx), NOERR("sfa.test", ns_t_aaaa),
	{ "sfa.test", ns_t_a, 0, { "sfa.test", ns_t_a, ns_r_servfail, 0,
	    { { 0 } } } },
	{ "null.test", ns_t_mx, 0, { "null.test", ns_t_mx, 0, 0, {
	    MX("null.test", 0, ".", 300) } } },
	{ "slow.test", ns_t_mx, ETIMEDOUT, { NULL, 0, 0, 0, { { 0 } } } },
	{ "down.test", ns_t_mx, ECONNREFUSED, { NULL, 0, 0, 0, { { 0 } } } },
	{ "sf.test", ns_t_mx, 0, { "sf.test", ns_t_mx, ns_r_servfail, 0,
	    { { 0 } } } },
	/* hosts */
	{ "both.test", ns_t_aaaa, 0, { "both.test", ns_t_aaaa, 0, 0, {
	    A6("both.test", "2001:db8::1", 10) } } },
	{ "both.test", ns_t_a, 0, { "both.test", ns_t_a, 0, 0, {
	    A4("both.test", "192.0.2.1", 20), A4("both.test", "192.0.2.2",
	    20) } } },
	{ "v4.test", ns_t_aaaa, 0, { "v4.test", ns_t_aaaa, ns_r_servfail, 0,
	    { { 0 } } } },
	{ "v4.test", ns_t_a, 0, { "v4.test", ns_t_a, 0, 0, {
	    A4("v4.test", "192.0.2.4", 20) } } },
	{ "t6.test", ns_t_aaaa, ETIMEDOUT, { NULL, 0, 0, 0, { { 0 } } } },
	NOERR("t6.test", ns_t_a),
	{ "cn.test", ns_t_a, 0, { "cn.test", ns_t_a, 0, 0, {
	    CN("cn.test", "both.test", 5), A4("both.test", "192.0.2.1",
	    20) } } },
	NOERR("cn.test", ns_t_aaaa),
};

static const struct lookcase {
	int		 mx;		/* dns_mx, else dns_addrs */
	int		 ip;
	const char	*name;
	enum dns_status	 st;
	const char	*want;		/* result, or error text */
	const char	*queries;	/* what was asked, in order */
} lookcases[] = {
	{ 1, 0, "a.test", DNS_OK,
	  "10 mx1.a.test 300,20 mx2.a.test 300,30 mx3.a.test 300",
	  "MX a.test" },
	{ 1, 0, "imp.test", DNS_OK, "0 imp.test 50",
	  "MX imp.test;AAAA imp.test;A imp.test" },
	{ 1, 0, "imp.test.", DNS_OK, "0 imp.test 50",
	  "MX imp.test.;AAAA imp.test.;A imp.test." },
	{ 1, 4, "imp.test", DNS_OK, "0 imp.test 50", "MX imp.test;A imp.test" },
	{ 1, 0, "empty.test", DNS_NODATA,
	  "MX lookup of empty.test: no MX records and no address records",
	  "MX empty.test;AAAA empty.test;A empty.test" },
	{ 1, 0, "sfa.test", DNS_TEMP, "A lookup of sfa.test: SERVFAIL",
	  "MX sfa.test;AAAA sfa.test;A sfa.test" },
	{ 1, 0, "null.test", DNS_NULLMX,
	  "MX lookup of null.test: null MX: the domain accepts no mail "
	  "(RFC 7505)",
	  "MX null.test" },
	{ 1, 0, "nx.test", DNS_NXDOMAIN,
	  "MX lookup of nx.test: NXDOMAIN (no such domain)", "MX nx.test" },
	{ 1, 0, "slow.test", DNS_TEMP, "MX lookup of slow.test: timed out",
	  "MX slow.test" },
	{ 1, 0, "down.test", DNS_TEMP, "MX lookup of down.test: no answer "
	  "from the DNS server (Connection refused)", "MX down.test" },
	{ 1, 0, "sf.test", DNS_TEMP, "MX lookup of sf.test: SERVFAIL",
	  "MX sf.test" },
	{ 1, 0, "bad..test", DNS_BADNAME,
	  "MX lookup of bad..test: not a valid domain name", "" },
	{ 1, 0, "a b.test", DNS_BADNAME,
	  "MX lookup of \"a b.test\": not a valid domain name", "" },
	{ 1, 0, "", DNS_BADNAME,
	  "MX lookup of \"\": not a valid domain name", "" },
	/* addresses */
	{ 0, 0, "both.test", DNS_OK,
	  "6 2001:db8::1 10,4 192.0.2.1 20,4 192.0.2.2 20",
	  "AAAA both.test;A both.test" },
	{ 0, 4, "both.test", DNS_OK, "4 192.0.2.1 20,4 192.0.2.2 20",
	  "A both.test" },
	{ 0, 6, "both.test", DNS_OK, "6 2001:db8::1 10", "AAAA both.test" },
	{ 0, 0, "v4.test", DNS_OK, "4 192.0.2.4 20", "AAAA v4.test;A v4.test" },
	{ 0, 6, "v4.test", DNS_TEMP, "AAAA lookup of v4.test: SERVFAIL",
	  "AAAA v4.test" },
	{ 0, 0, "t6.test", DNS_TEMP, "AAAA lookup of t6.test: timed out",
	  "AAAA t6.test;A t6.test" },
	{ 0, 0, "empty.test", DNS_NODATA,
	  "A/AAAA lookup of empty.test: no address records",
	  "AAAA empty.test;A empty.test" },
	{ 0, 4, "empty.test", DNS_NODATA,
	  "A lookup of empty.test: no address records", "A empty.test" },
	/* the name does not exist: no second query */
	{ 0, 0, "nx.test", DNS_NXDOMAIN,
	  "AAAA lookup of nx.test: NXDOMAIN (no such domain)", "AAAA nx.test" },
	{ 0, 4, "cn.test", DNS_OK, "4 192.0.2.1 5", "A cn.test" },
	/* literals: no query */
	{ 0, 0, "[127.0.0.1]", DNS_OK, "4 127.0.0.1 0", "" },
	{ 0, 0, "[IPv6:::1]", DNS_OK, "6 ::1 0", "" },
	{ 0, 6, "[ipv6:2001:DB8:0::25]", DNS_OK, "6 2001:db8::25 0", "" },
	{ 0, 4, "[IPv6:::1]", DNS_NODATA,
	  "address lookup of [IPv6:::1]: an IPv6 literal, but ip_version is 4",
	  "" },
	{ 0, 6, "[10.0.0.1]", DNS_NODATA,
	  "address lookup of [10.0.0.1]: an IPv4 literal, but ip_version is 6",
	  "" },
	{ 0, 0, "[1.2.3]", DNS_BADNAME,
	  "address lookup of [1.2.3]: not a valid address literal", "" },
	{ 0, 0, "[1.2.3.4", DNS_BADNAME,
	  "address lookup of [1.2.3.4: not a valid address literal", "" },
	{ 0, 0, "[]", DNS_BADNAME,
	  "address lookup of []: not a valid address literal", "" },
	{ 0, 0, "[::1]", DNS_BADNAME,
	  "address lookup of [::1]: not a valid address literal", "" },
	{ 0, 0, "[IPv6:127.0.0.1x]", DNS_BADNAME,
	  "address lookup of [IPv6:127.0.0.1x]: not a valid address literal",
	  "" },
	{ 0, 0, "[IPv6:1111:2222:3333:4444:5555:6666:7777:8888:9999:0000]",
	  DNS_BADNAME, "address lookup of "
	  "[IPv6:1111:2222:3333:4444:5555:6666:7777:8888:9999:0000]: "
	  "not a valid address literal", "" },
	{ 0, 0, "h\001.test", DNS_BADNAME,
	  "A/AAAA lookup of \"h\\x01.test\": not a valid host name", "" },
};

START_TEST(test_lookup)
{
	const struct lookcase *c = &lookcases[_i];
	struct fake f = { zone, NELEM(zone), 0, "" };
	struct dns *d = NULL;
	struct dns_mx *mx = NULL;
	struct dns_addr *a = NULL;
	struct ob_err err;
	char got[1024];
	size_t n = 99;
	enum dns_status st;

	memset(&err, 0, sizeof err);
	ck_assert_int_eq(dns_new(&d, "127.0.0.1:1", c->ip, 1000, &err), 0);
	dns_set_query(d, fake_query, &f);
	dns_set_random(d, NULL, NULL);	/* default: no ties here */
	if (c->mx)
		st = dns_mx(d, c->name, &mx, &n, &err);
	else
		st = dns_addrs(d, c->name, &a, &n, &err);
	ck_assert_msg(st == c->st, "case %d: %s, want %s (%s)", _i,
	    dns_status_name(st), dns_status_name(c->st), err.text);
	ck_assert_str_eq(f.log, c->queries);
	if (st == DNS_OK) {
		if (c->mx)
			mx_str(got, sizeof got, mx, n);
		else
			addr_str(got, sizeof got, a, n);
		ck_assert_str_eq(got, c->want);
	} else {
		ck_assert_uint_eq(n, 0);
		ck_assert_ptr_null(c->mx ? (void *)mx : (void *)a);
		ck_assert_str_eq(err.text, c->want);
		ck_assert_int_eq(err.kind, st == DNS_TEMP ? OB_TEMP : OB_PERM);
	}
	if (c->mx)
		free(mx);
	else
		free(a);
	dns_free(d);
}
END_TEST

/* dns_mx shuffles ties with the resolver's random source */
START_TEST(test_lookup_shuffle)
{
	static const struct canned tie[] = {
		{ "t.test", ns_t_mx, 0, { "t.test", ns_t_mx, 0, 0, {
		    MX("t.test", 10, "b.t.test", 1),
		    MX("t.test", 10, "a.t.test", 1),
		    MX("t.test", 5, "first.t.test", 1) } } },
	};
	struct fake f = { tie, NELEM(tie), 0, "" };
	struct dns *d;
	struct dns_mx *mx;
	uint32_t x = 1;
	size_t n;
	int seen_a = 0, seen_b = 0, run;

	ck_assert_int_eq(dns_new(&d, NULL, 0, 1000, NULL), 0);
	dns_set_query(d, fake_query, &f);
	dns_set_random(d, lcg, &x);
	for (run = 0; run < 200; run++) {
		ck_assert_int_eq(dns_mx(d, "t.test", &mx, &n, NULL), DNS_OK);
		ck_assert_uint_eq(n, 3);
		ck_assert_str_eq(mx[0].name, "first.t.test");
		if (strcmp(mx[1].name, "a.t.test") == 0)
			seen_a++;
		else if (strcmp(mx[1].name, "b.t.test") == 0)
			seen_b++;
		free(mx);
	}
	ck_assert_int_gt(seen_a, 50);
	ck_assert_int_gt(seen_b, 50);
	ck_assert_int_eq(seen_a + seen_b, 200);
	/* and with the built-in source */
	seen_a = seen_b = 0;
	dns_set_random(d, NULL, NULL);
	for (run = 0; run < 200; run++) {
		ck_assert_int_eq(dns_mx(d, "t.test", &mx, &n, NULL), DNS_OK);
		if (strcmp(mx[1].name, "a.t.test") == 0)
			seen_a++;
		else
			seen_b++;
		free(mx);
	}
	ck_assert_int_gt(seen_a, 30);
	ck_assert_int_gt(seen_b, 30);
	dns_free(d);
}
END_TEST

/* ---- the cache ------------------------------------------------------- */

static int64_t
fake_clock(void *arg)
{
	return *(int64_t *)arg;
}

static const struct canned czone[] = {
	{ "a.test", ns_t_mx, 0, { "a.test", ns_t_mx, 0, 0, {
	    CN("a.test", "b.test", 600),
	    MX("b.test", 10, "mx.b.test", 300) } } },
	/* negative, SOA TTL 600, MINIMUM 60: 60 s */
	{ "nx.test", ns_t_mx, 0, { "nx.test", ns_t_mx, ns_r_nxdomain, 0, {
	    SOA("test", 600, "0000003c") } } },
	{ "nd.test", ns_t_mx, 0, { "nd.test", ns_t_mx, 0, 0, {
	    SOA("test", 30, "0000003c") } } },
	{ "nd.test", ns_t_aaaa, 0, { "nd.test", ns_t_aaaa, 0, 0, {
	    SOA("test", 30, "0000003c") } } },
	{ "nd.test", ns_t_a, 0, { "nd.test", ns_t_a, 0, 0, {
	    A4("nd.test", "127.0.0.1", 1000) } } },
	/* negative without SOA: not kept */
	{ "nosoa.test", ns_t_mx, 0, { "nosoa.test", ns_t_mx, ns_r_nxdomain, 0,
	    { { 0 } } } },
	{ "sf.test", ns_t_mx, 0, { "sf.test", ns_t_mx, ns_r_servfail, 0,
	    { SOA("test", 600, "0000003c") } } },
	{ "slow.test", ns_t_mx, ETIMEDOUT, { NULL, 0, 0, 0, { { 0 } } } },
	{ "z.test", ns_t_mx, 0, { "z.test", ns_t_mx, 0, 0, {
	    MX("z.test", 0, "z.test", 0) } } },
	{ "b1.test", ns_t_mx, 0, { "b1.test", ns_t_mx, 0, 0, {
	    MX("b1.test", 1, "x.test", 100) } } },
	{ "b2.test", ns_t_mx, 0, { "b2.test", ns_t_mx, 0, 0, {
	    MX("b2.test", 1, "x.test", 50) } } },
	{ "b3.test", ns_t_mx, 0, { "b3.test", ns_t_mx, 0, 0, {
	    MX("b3.test", 1, "x.test", 200) } } },
};

static const struct cachecase {
	const char	*name;
	int64_t		 at[4];		/* lookup times (s) */
	int		 calls[4];	/* queries so far, after each */
	uint32_t	 ttl[4];	/* the first MX's TTL, when OK */
} cachecases[] = {
	/* the chain's 300 s; TTLs count down; case does not matter */
	{ "a.test", { 0, 100, 299, 300 }, { 1, 1, 1, 2 },
	  { 300, 200, 1, 300 } },
	{ "A.Test.", { 0, 10, 400, 401 }, { 1, 1, 2, 2 },
	  { 300, 290, 300, 299 } },
	{ "nx.test", { 0, 59, 60, 61 }, { 1, 1, 2, 2 }, { 0 } },
	/* implicit MX: MX and AAAA kept 30 s, A 1000 s (capped to 500) */
	{ "nd.test", { 0, 29, 30, 499 }, { 3, 3, 5, 7 },
	  { 1000, 971, 970, 501 } },
	{ "nosoa.test", { 0, 1, 2, 3 }, { 1, 2, 3, 4 }, { 0 } },
	{ "sf.test", { 0, 1, 2, 3 }, { 1, 2, 3, 4 }, { 0 } },
	{ "slow.test", { 0, 1, 2, 3 }, { 1, 2, 3, 4 }, { 0 } },
	{ "z.test", { 0, 0, 0, 0 }, { 1, 2, 3, 4 }, { 0, 0, 0, 0 } },
};

START_TEST(test_cache)
{
	const struct cachecase *c = &cachecases[_i];
	struct fake f = { czone, NELEM(czone), 0, "" };
	struct dns *d;
	struct dns_mx *mx;
	struct ob_err err;
	int64_t now = 5000;
	enum dns_status st;
	size_t n;
	int k;

	ck_assert_int_eq(dns_new(&d, NULL, 0, 1000, NULL), 0);
	dns_set_query(d, fake_query, &f);
	dns_set_clock(d, fake_clock, &now);
	dns_cache(d, 16, 500);
	for (k = 0; k < 4; k++) {
		now = 5000 + c->at[k] * 1000;
		st = dns_mx(d, c->name, &mx, &n, &err);
		ck_assert_msg(f.calls == c->calls[k], "%s lookup %d: %d "
		    "queries, want %d", c->name, k, f.calls, c->calls[k]);
		if (st == DNS_OK)
			ck_assert_uint_eq(mx[0].ttl, c->ttl[k]);
		free(mx);
	}
	dns_free(d);
}
END_TEST

START_TEST(test_cache_evict)
{
	struct fake f = { czone, NELEM(czone), 0, "" };
	struct dns *d;
	struct dns_mx *mx;
	int64_t now = 0;
	size_t n;

	ck_assert_int_eq(dns_new(&d, NULL, 0, 1000, NULL), 0);
	dns_set_query(d, fake_query, &f);
	dns_set_clock(d, fake_clock, &now);
	ck_assert_uint_eq(dns_cache_count(d), 0);
	dns_cache(d, 2, 3600);
	ck_assert_int_eq(dns_mx(d, "b1.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_int_eq(dns_mx(d, "b2.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_uint_eq(dns_cache_count(d), 2);
	/* full: b2 (50 s) goes first */
	ck_assert_int_eq(dns_mx(d, "b3.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_uint_eq(dns_cache_count(d), 2);
	ck_assert_int_eq(f.calls, 3);
	ck_assert_int_eq(dns_mx(d, "b1.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_int_eq(dns_mx(d, "b3.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_int_eq(f.calls, 3);
	ck_assert_int_eq(dns_mx(d, "b2.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_int_eq(f.calls, 4);
	/* expired ones are not counted, and make room first */
	now = 120 * 1000;
	ck_assert_uint_eq(dns_cache_count(d), 1);	/* b3, 200 s */
	dns_cache_flush(d);
	ck_assert_uint_eq(dns_cache_count(d), 0);
	ck_assert_int_eq(dns_mx(d, "b3.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_int_eq(f.calls, 5);
	/* off again */
	dns_cache(d, 0, 0);
	ck_assert_int_eq(dns_mx(d, "b3.test", &mx, &n, NULL), DNS_OK);
	free(mx);
	ck_assert_int_eq(f.calls, 6);
	dns_free(d);
}
END_TEST

/* ---- names, dns_server, statuses -------------------------------------- */

static const struct {
	const char	*name;
	int		 ok;
} names[] = {
	{ "a.test", 1 }, { "a.test.", 1 }, { "localhost", 1 }, { "a", 1 },
	{ "_dmarc.x-y.test", 1 }, { "A1.B2", 1 },
	{ "", 0 }, { ".", 0 }, { "..", 0 }, { "a..b", 0 }, { ".a", 0 },
	{ "a.test..", 0 }, { "a b", 0 }, { "a/b", 0 }, { "a\\.b", 0 },
	{ "\xc3\xa9.test", 0 }, { "a\n", 0 },
	/* 63 octets is the largest label */
	{ "123456789012345678901234567890123456789012345678901234567890123.t",
	  1 },
	{ "1234567890123456789012345678901234567890123456789012345678901234.t",
	  0 },
};

START_TEST(test_check_name)
{
	ck_assert_msg((dns_check_name(names[_i].name) == 0) == names[_i].ok,
	    "'%s'", names[_i].name);
}
END_TEST

START_TEST(test_check_name_length)
{
	char n[300];
	size_t i;

	/* 253 octets of "a.a.a...a" is fine, 254 is not */
	for (i = 0; i < 253; i++)
		n[i] = i % 2 ? '.' : 'a';
	n[253] = '\0';
	ck_assert_int_eq(dns_check_name(n), 0);
	n[253] = '.';
	n[254] = '\0';
	ck_assert_int_eq(dns_check_name(n), 0);	/* trailing dot */
	n[253] = 'a';
	ck_assert_int_eq(dns_check_name(n), -1);
}
END_TEST

static const struct {
	const char	*server;
	int		 ip;
	int		 ok;
} servers[] = {
	{ "127.0.0.1", 0, 1 }, { "127.0.0.1:5353", 4, 1 },
	{ "[::1]:53", 6, 1 }, { "[::1]", 0, 1 }, { "::1", 0, 1 },
	{ "2001:db8::53", 0, 1 }, { "127.0.0.1:65535", 0, 1 },
	{ "127.0.0.1:0", 0, 0 }, { "127.0.0.1:65536", 0, 0 },
	{ "127.0.0.1:", 0, 0 }, { ":53", 0, 0 }, { "", 0, 0 },
	{ "ns.test:53", 0, 0 }, { "127.0.0.1:5x", 0, 0 },
	{ "127.0.0.1:-1", 0, 0 }, { "[::1", 0, 0 }, { "[::1]x", 0, 0 },
	{ "[::1]:", 0, 0 }, { "[127.0.0.1]:53", 0, 0 }, { "1.2.3.4.5", 0, 0 },
	{ "127.0.0.1", 5, 0 }, { "127.0.0.1", -1, 0 },
};

START_TEST(test_new)
{
	struct dns *d = NULL;
	struct ob_err err;
	int rv;

	memset(&err, 0, sizeof err);
	rv = dns_new(&d, servers[_i].server, servers[_i].ip, 500, &err);
	ck_assert_msg((rv == 0) == servers[_i].ok, "'%s' ip %d: %s",
	    servers[_i].server, servers[_i].ip, err.text);
	if (rv == 0) {
		ck_assert_ptr_nonnull(d);
	} else {
		ck_assert_ptr_null(d);
		ck_assert_int_eq(err.kind, OB_PERM);
		ck_assert_str_ne(err.text, "");
	}
	dns_free(d);
}
END_TEST

START_TEST(test_new_default)
{
	struct dns *d;

	/* the system's resolver; nothing is asked */
	ck_assert_int_eq(dns_new(&d, NULL, 0, 0, NULL), 0);
	dns_free(d);
	dns_free(NULL);
}
END_TEST

START_TEST(test_status)
{
	static const struct {
		enum dns_status st;
		const char *name, *dsn;
	} t[] = {
		{ DNS_OK, "OK", "2.0.0" }, { DNS_NULLMX, "NULLMX", "5.1.10" },
		{ DNS_NXDOMAIN, "NXDOMAIN", "5.1.2" },
		{ DNS_NODATA, "NODATA", "5.4.4" },
		{ DNS_BADNAME, "BADNAME", "5.1.2" },
		{ DNS_TEMP, "TEMP", "4.4.3" },
	};
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		ck_assert_str_eq(dns_status_name(t[i].st), t[i].name);
		ck_assert_str_eq(dns_status_dsn(t[i].st), t[i].dsn);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("parse_mx");
	tcase_add_loop_test(tc, test_parse_mx, 0, NELEM(mxcases));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_addrs");
	tcase_add_loop_test(tc, test_parse_addrs, 0, NELEM(addrcases));
	tcase_add_test(tc, test_parse_addrs_append);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, test_cut);
	tcase_add_test(tc, test_corrupt);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("sort");
	tcase_add_loop_test(tc, test_sort_scripted, 0, NELEM(sortcases));
	tcase_add_test(tc, test_sort_stable);
	tcase_add_test(tc, test_sort_shuffle);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_loop_test(tc, test_lookup, 0, NELEM(lookcases));
	tcase_add_test(tc, test_lookup_shuffle);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_loop_test(tc, test_cache, 0, NELEM(cachecases));
	tcase_add_test(tc, test_cache_evict);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_check_name, 0, NELEM(names));
	tcase_add_test(tc, test_check_name_length);
	tcase_add_loop_test(tc, test_new, 0, NELEM(servers));
	tcase_add_test(tc, test_new_default);
	tcase_add_test(tc, test_status);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
