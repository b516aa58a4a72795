/* dns.c - MX and address lookups on libresolv, classified for delivery.
 *
 * Each struct dns owns a res_state (res_ninit/res_nsend; the global _res
 * is never touched).  A lookup is res_nmkquery + res_nsend, not
 * res_nquery: res_nquery throws the answer away on any rcode but
 * NOERROR, and we want to classify every answer ourselves, in one pure
 * parser that the unit tests feed with canned messages.
 *
 * Invariants: the parser reads only inside [msg, msg + len) (ns_initparse
 * checks the section counts against the length, ns_parserr and
 * ns_name_uncompress are bounded by the end of the message); every name we
 * return fits struct dns_mx.name and passed dns_check_name; anything
 * unexpected in an answer is DNS_TEMP (defer), never a bounce: only an
 * explicit NXDOMAIN, a NOERROR without records, or a null MX is permanent.
 *
 * The optional cache sits between the lookups and the transport: it keeps
 * whole response messages, keyed by lower-cased name and type, and they
 * go through the same parser as fresh ones.
 *
 * Left to others: what to do with the result (deliver.c: which DSN, how
 * many addresses to try), connecting (conn.c).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "util.h"

#define DNS_ANS_MAX	65536	/* largest DNS message (over TCP) */
#define DNS_CNAME_MAX	16	/* CNAME hops followed in one answer */

struct dns_centry {
	char		name[256];	/* lower case, no trailing dot */
	int		type;
	int64_t		stored, expires;	/* clock ms */
	unsigned char	*msg;
	int		len;
	int		fresh;		/* from the network, not exported */
};

struct dns {
	struct __res_state res;
	int		res_ok;		/* res_ninit succeeded */
	int		ip_version;	/* 0, 4 or 6 */
	dns_random_fn	rnd;
	void		*rnd_arg;
	dns_query_fn	query;
	void		*query_arg;
	uint64_t	seed;		/* state of the default random */
	dns_clock_fn	clock;
	void		*clock_arg;
	struct dns_centry *cache;	/* cache_max slots, cache_n used */
	size_t		cache_max, cache_n;
	uint32_t	cache_ttl;	/* cap, seconds */
	unsigned char	ans[DNS_ANS_MAX];
};

static int	parse_server(const char *s, struct sockaddr_storage *ss,
		    struct ob_err *err);
static int	res_query_send(void *arg, const char *name, int type,
		    unsigned char *ans, int anslen);
static uint32_t	default_random(void *arg);
static enum dns_status dns_err(struct ob_err *err, enum dns_status st,
		    const char *type, const char *name, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
static enum dns_status query_failed(struct ob_err *err, const char *type,
		    const char *name, int e);
static const char *type_name(int type);
static int	names_equal(const char *a, const char *b);
static enum dns_status parse_answer(const unsigned char *msg, int len,
		    const char *qname, int type, ns_msg *h, char *owner,
		    size_t ownersz, uint32_t *chain_ttl, struct ob_err *err);
static enum dns_status addr_literal(struct dns *d, const char *host,
		    struct dns_addr **addrs, size_t *n, struct ob_err *err);
static void	strip_dot(char *dst, size_t n, const char *src);
static int64_t	default_clock(void *arg);
static int	do_query(struct dns *d, const char *name, int type,
		    uint32_t *age);
static uint32_t	msg_ttl(const unsigned char *msg, int len,
		    const char *key, int type);
static void	cache_drop(struct dns *d, size_t i);
static void	cache_put(struct dns *d, const char *key, int type,
		    int64_t stored, int64_t expires, const unsigned char *msg,
		    int len, int fresh);

int
dns_new(struct dns **dp, const char *server, int ip_version, int timeout_ms,
    struct ob_err *err)
{
	struct dns *d;
	struct sockaddr_storage ss;
	int secs, i;

	*dp = NULL;
	if (ip_version != 0 && ip_version != 4 && ip_version != 6)
		return ob_err_set(err, OB_PERM, EX_CONFIG,
		    "ip_version must be any, 4 or 6 (got %d)", ip_version);
	if (server != NULL && parse_server(server, &ss, err) < 0)
		return -1;
	d = xcalloc(1, sizeof *d);
	d->ip_version = ip_version;
	d->query = res_query_send;
	d->query_arg = d;
	d->rnd = default_random;
	d->rnd_arg = &d->seed;
	d->clock = default_clock;
	d->clock_arg = NULL;
	d->seed = ((uint64_t)ob_mono_ms() << 20) ^ (uint64_t)ob_now_ms() ^
	    ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)d;
	if (d->seed == 0)
		d->seed = 0x9e3779b97f4a7c15ULL;

	if (res_ninit(&d->res) != 0) {
		ob_err_set(err, OB_TEMP, EX_TEMPFAIL,
		    "cannot initialise the DNS resolver");
		goto fail;
	}
	d->res_ok = 1;
	/* Names we look up are always fully qualified: no search list. */
	d->res.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	d->res.options |= RES_RECURSE;
	/* libresolv counts in seconds; two tries when the budget allows. */
	if (timeout_ms <= 0)
		timeout_ms = 5000;
	d->res.retry = timeout_ms >= 2000 ? 2 : 1;
	secs = (timeout_ms / d->res.retry + 999) / 1000;
	d->res.retrans = secs < 1 ? 1 : secs;
	/* Without pfcode ("called from dig"), glibc's res_nsend treats a
	 * SERVFAIL, NOTIMP or REFUSED answer as no answer at all and fails
	 * with ETIMEDOUT or ECONNREFUSED, losing the rcode that the error
	 * text should name.  With it, the answer comes back to us.  pfcode
	 * only selects debug printing, compiled out of glibc. */
	d->res.pfcode = RES_PRF_REPLY;

	if (server != NULL) {
		/* One server only.  glibc keeps an IPv6 server in the
		 * malloc'ed _u._ext.nsaddrs[i], with nsaddr_list[i] zeroed
		 * (as res_ninit does for "nameserver ::1"); res_nclose frees
		 * them for i < nscount, so drop the ones we cut off. */
		for (i = 1; i < d->res.nscount && i < MAXNS; i++) {
			free(d->res._u._ext.nsaddrs[i]);
			d->res._u._ext.nsaddrs[i] = NULL;
		}
		d->res.nscount = 1;
		if (ss.ss_family == AF_INET) {
			memcpy(&d->res.nsaddr_list[0], &ss,
			    sizeof(struct sockaddr_in));
		} else {
			memset(&d->res.nsaddr_list[0], 0,
			    sizeof d->res.nsaddr_list[0]);
			if (d->res._u._ext.nsaddrs[0] == NULL)
				d->res._u._ext.nsaddrs[0] =
				    xmalloc(sizeof(struct sockaddr_in6));
			memcpy(d->res._u._ext.nsaddrs[0], &ss,
			    sizeof(struct sockaddr_in6));
		}
		d->res._u._ext.nscount = 0;	/* resync in res_nsend */
	}
	*dp = d;
	return 0;
fail:
	dns_free(d);
	return -1;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	if (d->res_ok)
		res_nclose(&d->res);
	dns_cache_flush(d);
	free(d->cache);
	free(d);
}

void
dns_set_random(struct dns *d, dns_random_fn rnd, void *arg)
{
	d->rnd = rnd != NULL ? rnd : default_random;
	d->rnd_arg = rnd != NULL ? arg : &d->seed;
}

void
dns_set_query(struct dns *d, dns_query_fn query, void *arg)
{
	d->query = query != NULL ? query : res_query_send;
	d->query_arg = query != NULL ? arg : d;
}

void
dns_set_clock(struct dns *d, dns_clock_fn clock, void *arg)
{
	d->clock = clock != NULL ? clock : default_clock;
	d->clock_arg = clock != NULL ? arg : NULL;
}

static int64_t
default_clock(void *arg)
{
	(void)arg;
	return ob_mono_ms();
}

void
dns_cache(struct dns *d, size_t max, uint32_t max_ttl)
{
	dns_cache_flush(d);
	free(d->cache);
	d->cache = max > 0 ? xcalloc(max, sizeof *d->cache) : NULL;
	d->cache_max = max;
	d->cache_ttl = max_ttl;
}

void
dns_cache_flush(struct dns *d)
{
	while (d->cache_n > 0)
		cache_drop(d, d->cache_n - 1);
}

size_t
dns_cache_count(const struct dns *d)
{
	int64_t now = d->clock(d->clock_arg);
	size_t i, n = 0;

	for (i = 0; i < d->cache_n; i++)
		if (d->cache[i].expires > now)
			n++;
	return n;
}

static void
cache_drop(struct dns *d, size_t i)
{
	free(d->cache[i].msg);
	d->cache_n--;
	if (i != d->cache_n)
		d->cache[i] = d->cache[d->cache_n];
	d->cache[d->cache_n].msg = NULL;	/* the slot left is empty */
}

/* do_query: the response for NAME/TYPE into d->ans, from the cache or
 * from the transport; its length, or -1 with errno.  *AGE: seconds the
 * answer has spent in the cache. */
static int
do_query(struct dns *d, const char *name, int type, uint32_t *age)
{
	char key[256];
	struct dns_centry *e;
	int64_t now = 0;
	uint32_t ttl;
	size_t i;
	int len;

	*age = 0;
	if (d->cache_max > 0) {
		strip_dot(key, sizeof key, name);
		for (i = 0; key[i] != '\0'; i++)
			if (key[i] >= 'A' && key[i] <= 'Z')
				key[i] = (char)(key[i] - 'A' + 'a');
		now = d->clock(d->clock_arg);
		for (i = 0; i < d->cache_n; i++) {
			e = &d->cache[i];
			if (e->type != type || strcmp(e->name, key) != 0)
				continue;
			if (e->expires > now) {
				memcpy(d->ans, e->msg, (size_t)e->len);
				*age = (uint32_t)((now - e->stored) / 1000);
				return e->len;
			}
			cache_drop(d, i);
			break;
		}
	}
	len = d->query(d->query_arg, name, type, d->ans, sizeof d->ans);
	if (len > (int)sizeof d->ans)
		len = (int)sizeof d->ans;
	if (d->cache_max == 0 || len <= 0 ||
	    (ttl = msg_ttl(d->ans, len, key, type)) == 0)
		return len;
	if (ttl > d->cache_ttl)
		ttl = d->cache_ttl;
	cache_put(d, key, type, now, now + (int64_t)ttl * 1000, d->ans, len,
	    1);
	return len;
}

/* cache_put: store an answer (replacing one for the same question); when
 * full, drop what has expired, else what expires first. */
static void
cache_put(struct dns *d, const char *key, int type, int64_t stored,
    int64_t expires, const unsigned char *msg, int len, int fresh)
{
	struct dns_centry *e;
	int64_t now = d->clock(d->clock_arg);
	size_t i, victim;

	for (i = 0; i < d->cache_n; i++)
		if (d->cache[i].type == type && strcmp(d->cache[i].name, key)
		    == 0) {
			cache_drop(d, i);
			break;
		}
	if (d->cache_n == d->cache_max) {
		for (i = d->cache_n; i-- > 0;)
			if (d->cache[i].expires <= now)
				cache_drop(d, i);
		if (d->cache_n == d->cache_max) {
			for (victim = 0, i = 1; i < d->cache_n; i++)
				if (d->cache[i].expires <
				    d->cache[victim].expires)
					victim = i;
			cache_drop(d, victim);
		}
	}
	e = &d->cache[d->cache_n++];
	(void)ob_snprintf(e->name, sizeof e->name, "%s", key);
	e->type = type;
	e->stored = stored;
	e->expires = expires;
	e->msg = xmalloc((size_t)len);
	memcpy(e->msg, msg, (size_t)len);
	e->len = len;
	e->fresh = fresh;
}

/* The export format, per entry: 'E', name length (1 octet), name, type
 * (2), stored (8), expires (8), answer length (4), answer; big endian.
 * Times are the resolver's clock: the same CLOCK_MONOTONIC in every
 * process of the machine. */
#define DNS_EXP_HEAD	(1 + 1 + 2 + 8 + 8 + 4)

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

size_t
dns_cache_export(struct dns *d, struct buf *out, size_t max)
{
	int64_t now = d->clock(d->clock_arg);
	unsigned char h[DNS_EXP_HEAD + 255];
	size_t i, nl, n = 0, used = 0;

	for (i = 0; i < d->cache_n; i++) {
		struct dns_centry *e = &d->cache[i];

		if (!e->fresh || e->expires <= now)
			continue;
		nl = strlen(e->name);
		if (used + DNS_EXP_HEAD + nl + (size_t)e->len > max)
			continue;
		h[0] = 'E';
		h[1] = (unsigned char)nl;
		memcpy(h + 2, e->name, nl);
		put_be(h + 2 + nl, (uint64_t)e->type, 2);
		put_be(h + 4 + nl, (uint64_t)e->stored, 8);
		put_be(h + 12 + nl, (uint64_t)e->expires, 8);
		put_be(h + 20 + nl, (uint64_t)e->len, 4);
		(void)buf_add(out, h, DNS_EXP_HEAD + nl);
		(void)buf_add(out, e->msg, (size_t)e->len);
		used += DNS_EXP_HEAD + nl + (size_t)e->len;
		e->fresh = 0;
		n++;
	}
	return n;
}

size_t
dns_cache_import(struct dns *d, const unsigned char *p, size_t len)
{
	int64_t now = d->clock(d->clock_arg), stored, expires;
	char name[256];
	size_t nl, alen, n = 0;
	int type;

	if (d->cache_max == 0)
		return 0;
	while (len >= DNS_EXP_HEAD && p[0] == 'E') {
		nl = p[1];
		if (len < DNS_EXP_HEAD + nl)
			break;
		memcpy(name, p + 2, nl);
		name[nl] = '\0';
		type = (int)get_be(p + 2 + nl, 2);
		stored = (int64_t)get_be(p + 4 + nl, 8);
		expires = (int64_t)get_be(p + 12 + nl, 8);
		alen = (size_t)get_be(p + 20 + nl, 4);
		if (alen == 0 || alen > DNS_ANS_MAX ||
		    len - DNS_EXP_HEAD - nl < alen)
			break;
		/* trust no more than our own rules would give it */
		if (nl > 0 && dns_check_name(name) == 0 && expires > now &&
		    stored <= now && expires - stored <=
		    (int64_t)d->cache_ttl * 1000 && (type == ns_t_mx ||
		    type == ns_t_a || type == ns_t_aaaa)) {
			cache_put(d, name, type, stored, expires,
			    p + DNS_EXP_HEAD + nl, (int)alen, 0);
			n++;
		}
		p += DNS_EXP_HEAD + nl + alen;
		len -= DNS_EXP_HEAD + nl + alen;
	}
	return n;
}

/* msg_ttl: how long the response MSG to KEY/TYPE may be cached, in
 * seconds; 0 = not at all.  Only complete NOERROR and NXDOMAIN answers
 * to this very question qualify.  A positive answer lives as long as its
 * shortest record; a negative one as long as min(SOA TTL, SOA MINIMUM)
 * of the SOA in the authority section, and without one not at all (RFC
 * 2308 5). */
static uint32_t
msg_ttl(const unsigned char *msg, int len, const char *key, int type)
{
	uint32_t ttl = UINT32_MAX, neg;
	int i, an, rcode, soa = 0;
	ns_msg h;
	ns_rr rr;

	if (ns_initparse(msg, len, &h) < 0 || !ns_msg_getflag(h, ns_f_qr) ||
	    ns_msg_getflag(h, ns_f_tc) || ns_msg_count(h, ns_s_qd) != 1 ||
	    ns_parserr(&h, ns_s_qd, 0, &rr) < 0 ||
	    (int)ns_rr_type(rr) != type || !names_equal(ns_rr_name(rr), key))
		return 0;
	rcode = ns_msg_getflag(h, ns_f_rcode);
	if (rcode != ns_r_noerror && rcode != ns_r_nxdomain)
		return 0;
	an = ns_msg_count(h, ns_s_an);
	for (i = 0; i < an; i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return 0;
		if (ns_rr_ttl(rr) < ttl)
			ttl = ns_rr_ttl(rr);
	}
	for (i = 0; i < ns_msg_count(h, ns_s_ns); i++) {
		if (ns_parserr(&h, ns_s_ns, i, &rr) < 0)
			return 0;
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_rdlen(rr) < 22)
			continue;
		neg = ns_get32(ns_rr_rdata(rr) + ns_rr_rdlen(rr) - 4);
		if (ns_rr_ttl(rr) < neg)
			neg = ns_rr_ttl(rr);
		if (neg < ttl)
			ttl = neg;
		soa = 1;
	}
	if (!soa && (an == 0 || rcode == ns_r_nxdomain))
		return 0;
	return ttl == UINT32_MAX ? 0 : ttl;
}

/* parse_server: the dns_server syntax (ob_parse_sockaddr), port 53 by
 * default. */
static int
parse_server(const char *s, struct sockaddr_storage *ss, struct ob_err *err)
{
	if (ob_parse_sockaddr(s, 53, ss) == 0)
		return 0;
	return ob_err_set(err, OB_PERM, EX_CONFIG,
	    "dns_server: '%.100s' is not ADDR[:PORT] or [IPV6]:PORT", s);
}

static int
res_query_send(void *arg, const char *name, int type, unsigned char *ans,
    int anslen)
{
	struct dns *d = arg;
	unsigned char q[NS_PACKETSZ];
	int qlen;

	qlen = res_nmkquery(&d->res, ns_o_query, name, ns_c_in, type, NULL, 0,
	    NULL, q, sizeof q);
	if (qlen < 0) {
		errno = EINVAL;
		return -1;
	}
	return res_nsend(&d->res, q, qlen, ans, anslen);
}

/* xorshift64*: plenty for shuffling exchangers of equal preference. */
static uint32_t
default_random(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545f4914f6cdd1dULL) >> 32);
}

static enum dns_status
dns_err(struct ob_err *err, enum dns_status st, const char *type,
    const char *name, const char *fmt, ...)
{
	char q[300], why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	log_quote(q, sizeof q, name);
	ob_err_set(err, st == DNS_TEMP ? OB_TEMP : OB_PERM,
	    st == DNS_TEMP ? EX_TEMPFAIL : EX_NOHOST, "%s lookup of %s: %s",
	    type, q, why);
	return st;
}

static enum dns_status
query_failed(struct ob_err *err, const char *type, const char *name, int e)
{
	if (e == ETIMEDOUT)
		return dns_err(err, DNS_TEMP, type, name, "timed out");
	return dns_err(err, DNS_TEMP, type, name,
	    "no answer from the DNS server (%s)", strerror(e));
}

static const char *
type_name(int type)
{
	switch (type) {
	case ns_t_mx:
		return "MX";
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	case ns_t_cname:
		return "CNAME";
	default:
		return "?";
	}
}

/* names_equal: presentation-form names, ASCII case folded (RFC 4343),
 * one trailing dot ignored on either side. */
static int
names_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && ob_strncasecmp(a, b, la) == 0;
}

static void
strip_dot(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	if (l > 1 && src[l - 1] == '.')
		l--;
	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

int
dns_check_name(const char *name)
{
	size_t len = strlen(name), lab = 0, i;
	unsigned char c;

	if (len > 1 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)name[i];
		if (c == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
		if (++lab > 63)
			return -1;
	}
	return lab == 0 ? -1 : 0;	/* no empty last label */
}

/* parse_answer: the checks common to every answer.  The message must be
 * a response to exactly our question (a mismatch is a spoofing or
 * middlebox problem: temporary), complete (TC set means even the TCP
 * retry failed), and NOERROR.  Then the CNAME chain for QNAME in the
 * answer section is walked (RFC 1034 3.6.2: the server puts it there);
 * OWNER gets the name whose records answer the question, CHAIN_TTL the
 * smallest TTL along the chain (UINT32_MAX without CNAMEs). */
static enum dns_status
parse_answer(const unsigned char *msg, int len, const char *qname, int type,
    ns_msg *h, char *owner, size_t ownersz, uint32_t *chain_ttl,
    struct ob_err *err)
{
	const char *tn = type_name(type);
	char target[NS_MAXDNAME];
	ns_rr rr;
	int rcode, i, hops, found, cnt;

	*chain_ttl = UINT32_MAX;
	memset(h, 0, sizeof *h);
	if (msg == NULL || len < NS_HFIXEDSZ)
		return dns_err(err, DNS_TEMP, tn, qname, "short answer");
	if (ns_initparse(msg, len, h) < 0)
		return dns_err(err, DNS_TEMP, tn, qname, "malformed answer");
	if (!ns_msg_getflag(*h, ns_f_qr) || ns_msg_getflag(*h, ns_f_opcode)
	    != ns_o_query)
		return dns_err(err, DNS_TEMP, tn, qname,
		    "malformed answer (not a query response)");
	if (ns_msg_getflag(*h, ns_f_tc))
		return dns_err(err, DNS_TEMP, tn, qname, "truncated answer");
	if (ns_msg_count(*h, ns_s_qd) != 1 ||
	    ns_parserr(h, ns_s_qd, 0, &rr) < 0 ||
	    (int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in ||
	    !names_equal(ns_rr_name(rr), qname))
		return dns_err(err, DNS_TEMP, tn, qname,
		    "answer does not match the question");
	rcode = ns_msg_getflag(*h, ns_f_rcode);
	switch (rcode) {
	case ns_r_noerror:
		break;
	case ns_r_nxdomain:
		/* RFC 6604 2.1: with a CNAME chain it is the last name that
		 * does not exist; for mail, the same thing. */
		return dns_err(err, DNS_NXDOMAIN, tn, qname,
		    "NXDOMAIN (no such domain)");
	case ns_r_servfail:
		return dns_err(err, DNS_TEMP, tn, qname, "SERVFAIL");
	case ns_r_refused:
		return dns_err(err, DNS_TEMP, tn, qname, "REFUSED");
	case ns_r_formerr:
		return dns_err(err, DNS_TEMP, tn, qname, "FORMERR");
	case ns_r_notimpl:
		return dns_err(err, DNS_TEMP, tn, qname, "NOTIMP");
	default:
		return dns_err(err, DNS_TEMP, tn, qname, "rcode %d", rcode);
	}

	strip_dot(owner, ownersz, qname);
	cnt = ns_msg_count(*h, ns_s_an);
	for (hops = 0;; hops++) {
		found = 0;
		for (i = 0; i < cnt; i++) {
			if (ns_parserr(h, ns_s_an, i, &rr) < 0)
				return dns_err(err, DNS_TEMP, tn, qname,
				    "malformed answer record");
			if (ns_rr_type(rr) != ns_t_cname ||
			    ns_rr_class(rr) != ns_c_in ||
			    !names_equal(ns_rr_name(rr), owner))
				continue;
			if (ns_name_uncompress(ns_msg_base(*h), ns_msg_end(*h),
			    ns_rr_rdata(rr), target, sizeof target) !=
			    (int)ns_rr_rdlen(rr) || dns_check_name(target) < 0)
				return dns_err(err, DNS_TEMP, tn, qname,
				    "malformed CNAME record");
			found = 1;
			break;
		}
		if (!found)
			break;
		if (hops >= DNS_CNAME_MAX)
			return dns_err(err, DNS_TEMP, tn, qname,
			    "CNAME chain too long (or a loop)");
		if (ns_rr_ttl(rr) < *chain_ttl)
			*chain_ttl = ns_rr_ttl(rr);
		strip_dot(owner, ownersz, target);
	}
	return DNS_OK;
}

enum dns_status
dns_parse_mx(const unsigned char *msg, int len, const char *qname,
    struct dns_mx **out, size_t *n, struct ob_err *err)
{
	char owner[NS_MAXDNAME], target[NS_MAXDNAME];
	struct dns_mx *mx = NULL;
	size_t cnt = 0, nnull = 0, nbad = 0;
	uint32_t chain_ttl;
	enum dns_status st;
	ns_msg h;
	ns_rr rr;
	int i, an, used;

	*out = NULL;
	*n = 0;
	st = parse_answer(msg, len, qname, ns_t_mx, &h, owner, sizeof owner,
	    &chain_ttl, err);
	if (st != DNS_OK)
		return st;
	an = ns_msg_count(h, ns_s_an);
	for (i = 0; i < an; i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			goto malformed;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in ||
		    !names_equal(ns_rr_name(rr), owner))
			continue;
		if (ns_rr_rdlen(rr) < 3)
			goto malformed;
		used = ns_name_uncompress(ns_msg_base(h), ns_msg_end(h),
		    ns_rr_rdata(rr) + 2, target, sizeof target);
		if (used < 0 || used + 2 != (int)ns_rr_rdlen(rr))
			goto malformed;
		if (strcmp(target, ".") == 0 || target[0] == '\0') {
			/* RFC 7505 3: "0 ." is a null MX.  Any MX pointing
			 * at the root is as unusable, so counted alike. */
			nnull++;
			continue;
		}
		if (dns_check_name(target) < 0 ||
		    strlen(target) >= sizeof mx->name) {
			nbad++;
			continue;
		}
		mx = xreallocarray(mx, cnt + 1, sizeof *mx);
		strip_dot(mx[cnt].name, sizeof mx[cnt].name, target);
		mx[cnt].pref = ns_get16(ns_rr_rdata(rr));
		mx[cnt].ttl = ns_rr_ttl(rr) < chain_ttl ? ns_rr_ttl(rr) :
		    chain_ttl;
		cnt++;
	}
	if (cnt > 0) {
		/* RFC 7505 3: a null MX next to real ones is ignored. */
		*out = mx;
		*n = cnt;
		return DNS_OK;
	}
	if (nbad > 0)
		return dns_err(err, DNS_TEMP, "MX", qname,
		    "no usable MX record (malformed exchanger names)");
	if (nnull > 0)
		return dns_err(err, DNS_NULLMX, "MX", qname,
		    "null MX: the domain accepts no mail (RFC 7505)");
	return dns_err(err, DNS_NODATA, "MX", qname, "no MX records");
malformed:
	free(mx);
	return dns_err(err, DNS_TEMP, "MX", qname, "malformed MX record");
}

enum dns_status
dns_parse_addrs(const unsigned char *msg, int len, const char *qname,
    int type, struct dns_addr **out, size_t *n, struct ob_err *err)
{
	char owner[NS_MAXDNAME];
	const char *tn = type_name(type);
	struct dns_addr *a;
	size_t alen, before = *n;
	uint32_t chain_ttl;
	enum dns_status st;
	ns_msg h;
	ns_rr rr;
	int i, an, fam;

	if (type == ns_t_a) {
		fam = AF_INET;
		alen = 4;
	} else if (type == ns_t_aaaa) {
		fam = AF_INET6;
		alen = 16;
	} else {
		panic("dns_parse_addrs: type %d", type);
	}
	st = parse_answer(msg, len, qname, type, &h, owner, sizeof owner,
	    &chain_ttl, err);
	if (st != DNS_OK)
		return st;
	an = ns_msg_count(h, ns_s_an);
	for (i = 0; i < an; i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			goto malformed;
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in ||
		    !names_equal(ns_rr_name(rr), owner))
			continue;
		if (ns_rr_rdlen(rr) != alen)
			goto malformed;
		*out = xreallocarray(*out, *n + 1, sizeof **out);
		a = &(*out)[*n];
		memset(a, 0, sizeof *a);
		a->family = fam;
		memcpy(a->addr, ns_rr_rdata(rr), alen);
		if (inet_ntop(fam, a->addr, a->text, sizeof a->text) == NULL)
			panic("dns_parse_addrs: inet_ntop");
		a->ttl = ns_rr_ttl(rr) < chain_ttl ? ns_rr_ttl(rr) : chain_ttl;
		(*n)++;
	}
	if (*n == before)
		return dns_err(err, DNS_NODATA, tn, qname, "no %s records", tn);
	return DNS_OK;
malformed:
	*n = before;	/* entries past it stay allocated, unused */
	return dns_err(err, DNS_TEMP, tn, qname, "malformed %s record", tn);
}

void
dns_mx_sort(struct dns_mx *mx, size_t n, dns_random_fn rnd, void *arg)
{
	struct dns_mx t;
	size_t i, j, lo, hi;

	/* insertion sort: stable, and answers are small */
	for (i = 1; i < n; i++) {
		t = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > t.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = t;
	}
	if (rnd == NULL)
		return;
	/* RFC 5321 5.1: spread the load over equal preferences. */
	for (lo = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && mx[hi].pref == mx[lo].pref; hi++)
			;
		for (i = hi - 1; i > lo; i--) {
			j = lo + rnd(arg) % (i - lo + 1);
			t = mx[i];
			mx[i] = mx[j];
			mx[j] = t;
		}
	}
}

enum dns_status
dns_mx(struct dns *d, const char *domain, struct dns_mx **hosts, size_t *n,
    struct ob_err *err)
{
	struct dns_addr *a = NULL;
	struct ob_err aerr;
	enum dns_status st;
	size_t an = 0, i;
	uint32_t age;
	int len;

	*hosts = NULL;
	*n = 0;
	if (dns_check_name(domain) < 0)
		return dns_err(err, DNS_BADNAME, "MX", domain,
		    "not a valid domain name");
	len = do_query(d, domain, ns_t_mx, &age);
	if (len < 0)
		return query_failed(err, "MX", domain, errno);
	st = dns_parse_mx(d->ans, len, domain, hosts, n, err);
	if (st == DNS_OK) {
		for (i = 0; i < *n; i++)
			(*hosts)[i].ttl -= (*hosts)[i].ttl > age ?
			    age : (*hosts)[i].ttl;
		dns_mx_sort(*hosts, *n, d->rnd, d->rnd_arg);
		log_debug("dns MX %s: %zu exchangers, first %s", domain, *n,
		    (*hosts)[0].name);
		return DNS_OK;
	}
	if (st != DNS_NODATA)
		return st;

	/* RFC 5321 5.1: no MX records, but an address: the domain is its
	 * own exchanger, "an implicit MX RR, with a preference of 0". */
	st = dns_addrs(d, domain, &a, &an, &aerr);
	switch (st) {
	case DNS_OK:
		*hosts = xcalloc(1, sizeof **hosts);
		strip_dot((*hosts)[0].name, sizeof (*hosts)[0].name, domain);
		(*hosts)[0].pref = 0;
		(*hosts)[0].ttl = UINT32_MAX;
		for (i = 0; i < an; i++)
			if (a[i].ttl < (*hosts)[0].ttl)
				(*hosts)[0].ttl = a[i].ttl;
		*n = 1;
		log_debug("dns MX %s: none, implicit MX", domain);
		break;
	case DNS_NODATA:
		/* with ip_version, say which family was missing: the domain
		 * may well have the other one */
		dns_err(err, st, "MX", domain, d->ip_version == 4 ?
		    "no MX records and no A records (ip_version 4)" :
		    d->ip_version == 6 ?
		    "no MX records and no AAAA records (ip_version 6)" :
		    "no MX records and no address records");
		break;
	default:
		if (err != NULL)
			*err = aerr;
		break;
	}
	free(a);
	return st;
}

static enum dns_status
addr_literal(struct dns *d, const char *host, struct dns_addr **addrs,
    size_t *n, struct ob_err *err)
{
	char text[INET6_ADDRSTRLEN + 8];
	struct dns_addr a;
	size_t len = strlen(host);
	const char *p = host + 1;

	memset(&a, 0, sizeof a);
	if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof text)
		goto bad;
	a.family = AF_INET;
	if (ob_strncasecmp(p, "IPv6:", 5) == 0) {
		a.family = AF_INET6;
		p += 5;
	}
	memcpy(text, p, (size_t)(host + len - 1 - p));
	text[host + len - 1 - p] = '\0';
	if (inet_pton(a.family, text, a.addr) != 1)
		goto bad;
	if ((d->ip_version == 4 && a.family != AF_INET) ||
	    (d->ip_version == 6 && a.family != AF_INET6))
		return dns_err(err, DNS_NODATA, "address", host,
		    "an IPv%d literal, but ip_version is %d",
		    a.family == AF_INET ? 4 : 6, d->ip_version);
	inet_ntop(a.family, a.addr, a.text, sizeof a.text);
	*addrs = xmalloc(sizeof **addrs);
	**addrs = a;
	*n = 1;
	return DNS_OK;
bad:
	return dns_err(err, DNS_BADNAME, "address", host,
	    "not a valid address literal");
}

enum dns_status
dns_addrs(struct dns *d, const char *host, struct dns_addr **addrs, size_t *n,
    struct ob_err *err)
{
	static const int both[] = { ns_t_aaaa, ns_t_a };
	const int *types = both;
	struct ob_err e[2];
	enum dns_status st[2] = { DNS_NODATA, DNS_NODATA };
	int ntypes = 2, i, len;
	size_t before, k;
	uint32_t age;
	const char *what = "A/AAAA";

	*addrs = NULL;
	*n = 0;
	if (host[0] == '[')
		return addr_literal(d, host, addrs, n, err);
	if (dns_check_name(host) < 0)
		return dns_err(err, DNS_BADNAME, "A/AAAA", host,
		    "not a valid host name");
	if (d->ip_version == 4) {
		types = both + 1;
		ntypes = 1;
		what = "A";
	} else if (d->ip_version == 6) {
		ntypes = 1;
		what = "AAAA";
	}
	for (i = 0; i < ntypes; i++) {
		len = do_query(d, host, types[i], &age);
		if (len < 0) {
			st[i] = query_failed(&e[i], type_name(types[i]), host,
			    errno);
			continue;
		}
		before = *n;
		st[i] = dns_parse_addrs(d->ans, len, host, types[i], addrs, n,
		    &e[i]);
		for (k = before; k < *n; k++)
			(*addrs)[k].ttl -= (*addrs)[k].ttl > age ?
			    age : (*addrs)[k].ttl;
		if (st[i] == DNS_NXDOMAIN)	/* the name is gone: stop */
			break;
	}
	if (*n > 0) {
		for (i = 0; i < ntypes; i++)
			if (st[i] == DNS_TEMP)
				log_warn("dns: %s (using the other family)",
				    e[i].text);
		return DNS_OK;
	}
	free(*addrs);
	*addrs = NULL;
	for (i = 0; i < ntypes; i++)
		if (st[i] == DNS_TEMP || st[i] == DNS_NXDOMAIN) {
			if (err != NULL)
				*err = e[i];
			return st[i];
		}
	return dns_err(err, DNS_NODATA, what, host, "no address records");
}

const char *
dns_status_dsn(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "2.0.0";
	case DNS_NULLMX:
		return "5.1.10";	/* RFC 7505 4.2 */
	case DNS_NXDOMAIN:
	case DNS_BADNAME:
		return "5.1.2";		/* bad destination address */
	case DNS_NODATA:
		return "5.4.4";		/* unable to route */
	case DNS_TEMP:
		return "4.4.3";		/* directory server failure */
	default:
		panic("dns_status_dsn: %d", (int)st);
	}
}

const char *
dns_status_name(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "OK";
	case DNS_NULLMX:
		return "NULLMX";
	case DNS_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_NODATA:
		return "NODATA";
	case DNS_BADNAME:
		return "BADNAME";
	case DNS_TEMP:
		return "TEMP";
	default:
		panic("dns_status_name: %d", (int)st);
	}
}
