/* dns.h - MX and address lookups for direct delivery, on libresolv.
 *
 * A struct dns is one resolver with its own res_state (res_n* calls, never
 * the global _res), so a process may hold several, and a test can point
 * one at a local server.  Every lookup classifies its result: the caller
 * decides from the status, never from the text, whether to deliver, defer
 * or bounce:
 *
 *   DNS_OK        records found (and returned)
 *   DNS_NULLMX    the domain has a null MX (RFC 7505): bounce, 5.1.10
 *   DNS_NXDOMAIN  the name does not exist: bounce, 5.1.2
 *   DNS_NODATA    the name exists but has no usable record: bounce, 5.4.4
 *   DNS_BADNAME   the name is not a valid domain name: bounce, 5.1.2
 *   DNS_TEMP      SERVFAIL, REFUSED, timeout, malformed or truncated
 *                 answer, ...: defer, never bounce (4.4.3)
 *
 * Every status but DNS_OK comes with ERR filled: kind OB_TEMP for DNS_TEMP,
 * OB_PERM otherwise, and a text naming the record type and the name, e.g.
 * "MX lookup of example.org: SERVFAIL".
 */
#ifndef OUTBOX_DNS_H
#define OUTBOX_DNS_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum dns_status {
	DNS_OK = 0,
	DNS_NULLMX,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_BADNAME,
	DNS_TEMP
};

/* One mail exchanger.  name is a host name in presentation form without
 * the trailing dot. */
struct dns_mx {
	char		name[256];
	int		pref;
	uint32_t	ttl;
};

/* One address.  family is AF_INET6 or AF_INET; addr holds 16 or 4
 * octets in network order; text is its printable form ("::1",
 * "127.0.0.1"). */
struct dns_addr {
	int		family;
	unsigned char	addr[16];
	char		text[INET6_ADDRSTRLEN];
	uint32_t	ttl;
};

struct dns;	/* opaque */

/* dns_new: a resolver.  SERVER is NULL (use /etc/resolv.conf) or
 * "ADDR[:PORT]", "[ADDR]:PORT" for IPv6, which replaces the system's
 * servers (the dns_server setting; containers and tests).  IP_VERSION is
 * 0 (any), 4 or 6: which address families dns_addrs returns.  TIMEOUT_MS
 * bounds one query (0: 5 s), spread over two tries from 2 s up and
 * rounded up to whole seconds, libresolv's unit.  0, or -1 with ERR
 * (OB_PERM: a bad SERVER or IP_VERSION; OB_TEMP: res_ninit failed). */
int	dns_new(struct dns **dp, const char *server, int ip_version,
	    int timeout_ms, struct ob_err *err);
void	dns_free(struct dns *d);		/* NULL is fine */

/* dns_mx: the mail exchangers of DOMAIN (RFC 5321 5.1), sorted by
 * preference, those of equal preference shuffled.  CNAMEs are followed.
 * No MX but an address record: one implicit exchanger, DOMAIN itself
 * with preference 0 (its ttl is that of the addresses).  A null MX
 * alone gives DNS_NULLMX; a null MX next to other MX records is ignored
 * (RFC 7505 3).  On DNS_OK *HOSTS (n >= 1 entries) is the caller's, to
 * free(); otherwise *HOSTS is NULL and *N 0. */
enum dns_status dns_mx(struct dns *d, const char *domain,
	    struct dns_mx **hosts, size_t *n, struct ob_err *err);

/* dns_addrs: the addresses of HOST, AAAA records first then A (or one
 * family, per ip_version).  An address literal ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]", RFC 5321 4.1.3) is returned without a lookup.
 * DNS_OK when either family gave an address (a temporary failure of the
 * other is then only logged); else DNS_TEMP if either lookup failed
 * temporarily, else DNS_NXDOMAIN or DNS_NODATA.  Ownership as dns_mx. */
enum dns_status dns_addrs(struct dns *d, const char *host,
	    struct dns_addr **addrs, size_t *n, struct ob_err *err);

/* dns_cache: keep answers for up to MAX names and types, each within its
 * TTL capped at MAX_TTL seconds (the daemon's cache; off by default, and
 * MAX 0 turns it off again).  Negative answers (NXDOMAIN, no records)
 * are kept for their SOA's negative TTL (RFC 2308 5), and not at all
 * without one; temporary failures never.  TTLs returned from the cache
 * count down. */
void	dns_cache(struct dns *d, size_t max, uint32_t max_ttl);
void	dns_cache_flush(struct dns *d);
size_t	dns_cache_count(const struct dns *d);	/* live entries */

/* dns_cache_export: append to OUT (at most MAX octets) the live answers
 * this resolver got from the network since it was made or last exported,
 * in the form dns_cache_import reads: how a delivery worker hands what it
 * learnt back to the daemon that forked it.  How many were written.
 * dns_cache_import: add such entries (from a process on this machine:
 * the times are CLOCK_MONOTONIC's), each checked as if it came from the
 * network (a valid name, MX/A/AAAA, live, within the TTL cap); malformed
 * input ends the import.  How many were added. */
size_t	dns_cache_export(struct dns *d, struct buf *out, size_t max);
size_t	dns_cache_import(struct dns *d, const unsigned char *p, size_t len);

/* dns_status_dsn: the RFC 3463 status a delivery should report for ST
 * ("5.1.10", "5.1.2", "5.4.4", "4.4.3"; "2.0.0" for DNS_OK). */
const char *dns_status_dsn(enum dns_status st);
const char *dns_status_name(enum dns_status st);	/* "NXDOMAIN" ... */

/* ---- for tests ------------------------------------------------------ */

/* A random source: any 32-bit value, uniformly.  ARG is passed back. */
typedef uint32_t (*dns_random_fn)(void *arg);

/* A query function standing in for res_nmkquery + res_nsend: the whole
 * response to a class IN query for NAME/TYPE into ANS (at most ANSLEN
 * octets); its length, or -1 with errno set (ETIMEDOUT: no answer in
 * time; anything else: no server could be reached). */
typedef int (*dns_query_fn)(void *arg, const char *name, int type,
	    unsigned char *ans, int anslen);

/* A monotonic clock in milliseconds (default ob_mono_ms). */
typedef int64_t (*dns_clock_fn)(void *arg);

/* dns_set_random / dns_set_query / dns_set_clock: replace the
 * resolver's random source, its transport or its clock (NULL restores
 * the default). */
void	dns_set_random(struct dns *d, dns_random_fn rnd, void *arg);
void	dns_set_query(struct dns *d, dns_query_fn query, void *arg);
void	dns_set_clock(struct dns *d, dns_clock_fn clock, void *arg);

/* dns_parse_mx: classify the wire-format response MSG (LEN octets) to
 * "QNAME IN MX" and collect the MX records of QNAME, or of the name its
 * CNAME chain in the answer leads to, in answer order (not sorted).
 * DNS_OK: *OUT and *N as dns_mx.  DNS_NULLMX when the only records are null
 * MX.  DNS_NODATA when there is no MX record (the caller then looks for
 * an implicit MX).  The parser never reads past LEN: a short, truncated
 * or inconsistent message is DNS_TEMP. */
enum dns_status dns_parse_mx(const unsigned char *msg, int len,
	    const char *qname, struct dns_mx **out, size_t *n,
	    struct ob_err *err);

/* dns_parse_addrs: as dns_parse_mx, for TYPE ns_t_a or ns_t_aaaa; the
 * addresses are APPENDED to *OUT (*N entries so far; *OUT may be NULL). */
enum dns_status dns_parse_addrs(const unsigned char *msg, int len,
	    const char *qname, int type, struct dns_addr **out, size_t *n,
	    struct ob_err *err);

/* dns_mx_sort: order MX by preference, ascending; runs of equal
 * preference are shuffled with RND (Fisher-Yates); RND NULL keeps their
 * original order. */
void	dns_mx_sort(struct dns_mx *mx, size_t n, dns_random_fn rnd,
	    void *arg);

/* dns_check_name: 0 if NAME is a usable domain name (LDH labels and "_",
 * 1..63 octets each, 253 in all, one trailing dot allowed), else -1. */
int	dns_check_name(const char *name);

#endif
