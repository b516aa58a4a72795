/* util.h - errors, allocation, bounded buffers, time, strict number parsing.
 *
 * Everything here is leaf code: it calls nothing else in outbox except
 * log.h (xmalloc's out-of-memory exit).
 */
#ifndef OUTBOX_UTIL_H
#define OUTBOX_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Error kinds: can a retry help? */
#define OB_TEMP	1
#define OB_PERM	2

/* A recoverable error, filled by the callee, read by the caller.  text is
 * one line, safe for logs and DSNs. */
struct ob_err {
	int	kind;		/* OB_TEMP or OB_PERM */
	int	ex;		/* sysexits.h hint for CLI paths, 0 = none */
	char	text[256];
};

/* ob_err_set: fill ERR (may be NULL); always returns -1 so callers can
 * write "return ob_err_set(...)". */
int	ob_err_set(struct ob_err *err, int kind, int ex, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* Allocation: on failure these log and exit EX_TEMPFAIL. */
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ob_b64_encode: IN (N octets) as base64 into OUT (OUTSZ, NUL-terminated);
 * the length written, or -1 when it does not fit.  ob_b64_decode:
 * canonical base64 only (RFC 4648 4, 3.5: length a multiple of 4, '='
 * only at the end, zero pad bits) into OUT (OUTSZ); the length, or -1. */
int	ob_b64_encode(const void *in, size_t n, char *out, size_t outsz);
int	ob_b64_decode(const char *in, size_t n, void *out, size_t outsz);
/* ob_streq_null: A and B are both NULL or equal strings. */
int	ob_streq_null(const char *a, const char *b);

/* ob_snprintf: snprintf that returns -1 on truncation or error, else the
 * length written. */
int	ob_snprintf(char *dst, size_t n, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* A growable byte buffer with a hard maximum.  p is always NUL-terminated
 * (the NUL is not counted in len).  Zero-initialised is valid (max 0 means
 * SIZE_MAX/2). */
struct buf {
	char	*p;
	size_t	 len, cap, max;
};
void	buf_init(struct buf *b, size_t max);
int	buf_add(struct buf *b, const void *d, size_t n);	/* -1 past max */
int	buf_addstr(struct buf *b, const char *s);
int	buf_addc(struct buf *b, int c);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_clear(struct buf *b);		/* keeps memory */
void	buf_consume(struct buf *b, size_t n);	/* drop n bytes from front */
void	buf_free(struct buf *b);

/* Time, in milliseconds.  ob_now_ms is wall-clock (for the queue);
 * ob_mono_ms is monotonic (for deadlines). */
int64_t	ob_now_ms(void);
int64_t	ob_mono_ms(void);

/* Strict parsers: no junk, no overflow, no sign.  0 or -1. */
int	parse_u64(const char *s, uint64_t *out);

/* ob_parse_sockaddr: a numeric address with an optional port into SS:
 * "A.B.C.D", "A.B.C.D:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address;
 * DEFPORT when none is given.  0, or -1 when S is not one of those. */
struct sockaddr_storage;
int	ob_parse_sockaddr(const char *s, int defport,
	    struct sockaddr_storage *ss);

/* A network: "192.0.2.0/24", "2001:db8::/32", or one address (all its
 * bits).  ob_cidr_parse: 0, or -1 when S is none of those (host bits set
 * beyond the prefix are allowed and ignored).  ob_cidr_match: 1 when the
 * address SS (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * IPv4) is in C. */
struct ob_cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	int		 bits;
};
int	ob_cidr_parse(const char *s, struct ob_cidr *c);
int	ob_cidr_match(const struct ob_cidr *c,
	    const struct sockaddr_storage *ss);
int	parse_duration_ms(const char *s, int64_t *out);	/* 30s 5m 2h 5d, bare = s */
int	parse_size(const char *s, uint64_t *out);	/* 10M 1G 512K, bare = bytes */
/* fmt_size: the inverse of parse_size, in the largest unit that divides V
 * exactly ("4M", "1G", "1536K", "1000"). */
void	fmt_size(char *dst, size_t n, uint64_t v);

/* fmt_duration: MS in the configuration's syntax ("5m", "2h", "5d";
 * anything else in seconds, rounded up). */
void	fmt_duration(char *dst, size_t n, int64_t ms);
/* fmt_time: RFC 5322 date-time of T (ms since epoch) in local time. */
void	fmt_rfc5322_date(char *dst, size_t n, int64_t t_ms);
/* fmt_iso: "2026-11-22T15:30:00Z" in UTC. */
void	fmt_iso_time(char *dst, size_t n, int64_t t_ms);

/* ascii helpers, independent of locale */
int	ob_strcasecmp(const char *a, const char *b);
int	ob_strncasecmp(const char *a, const char *b, size_t n);

/* ob_json_str: S as a JSON string on F ("null" for NULL).  Valid UTF-8
 * passes through; other octets are escaped as \u00XX (read as Latin-1),
 * so the output is always JSON. */
void	ob_json_str(FILE *f, const char *s);

#endif
