/* util.c - errors, allocation, bounded buffers, time and strict parsers.
 *
 * Leaf module.  The buffer type is the only growable buffer in outbox; its
 * max is a hard limit for anything filled from outside input.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* tolower for ASCII only: the C library's depends on the locale (in a
 * Latin-1 or Turkish locale it folds more than A-Z). */
static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
ob_err_set(struct ob_err *err, int kind, int ex, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->kind = kind;
	err->ex = ex;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	va_end(ap);
	return -1;
}

static _Noreturn void
oom(size_t n)
{
	die(EX_TEMPFAIL, "out of memory allocating %zu bytes", n);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		panic("xasprintf: bad format %s", fmt);
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int
ob_snprintf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(dst, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		return -1;
	return r;
}

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static int
buf_reserve(struct buf *b, size_t extra)
{
	size_t max = b->max ? b->max : SIZE_MAX / 2;
	size_t need, cap;

	if (extra > max || b->len > max - extra)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 4 ? need : cap * 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *d, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(struct buf *b, int c)
{
	char ch = (char)c;

	return buf_add(b, &ch, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_clear(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int64_t
ob_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ob_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The decimal number in S[0..N): digits only, at least one, no overflow. */
static int
parse_u64n(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL)
		return -1;
	return parse_u64n(s, strlen(s), out);
}

/* Split "123x" into number and a one-letter suffix (lowercased). */
static int
parse_suffixed(const char *s, uint64_t *num, char *suffix)
{
	size_t n;

	*suffix = '\0';
	if (s == NULL || (n = strlen(s)) == 0)
		return -1;
	if (s[n - 1] < '0' || s[n - 1] > '9') {
		*suffix = (char)ascii_lower((unsigned char)s[n - 1]);
		n--;
	}
	return parse_u64n(s, n, num);
}

int
parse_duration_ms(const char *s, int64_t *out)
{
	uint64_t v, mul;
	char suf;

	if (parse_suffixed(s, &v, &suf) == -1)
		return -1;
	switch (suf) {
	case '\0':
	case 's': mul = 1000; break;
	case 'm': mul = 60 * 1000; break;
	case 'h': mul = 3600 * 1000; break;
	case 'd': mul = 86400 * 1000; break;
	default: return -1;
	}
	if (v > (uint64_t)INT64_MAX / mul)
		return -1;
	*out = (int64_t)(v * mul);
	return 0;
}

/* Largest unit that divides MS exactly: 5d, 2h, 5m, 30s.  Values from the
 * file are whole seconds; anything else is shown in seconds, rounded up. */
void
fmt_duration(char *dst, size_t n, int64_t ms)
{
	static const struct { int64_t mul; char suf; } u[] = {
		{ 86400 * 1000, 'd' }, { 3600 * 1000, 'h' }, { 60 * 1000, 'm' },
	};
	size_t i;

	for (i = 0; i < sizeof u / sizeof u[0]; i++)
		if (ms != 0 && ms % u[i].mul == 0) {
			ob_snprintf(dst, n, "%lld%c",
			    (long long)(ms / u[i].mul), u[i].suf);
			return;
		}
	ob_snprintf(dst, n, "%llds",
	    (long long)(ms / 1000) + (ms % 1000 != 0));
}

int
parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mul;
	char suf;

	if (parse_suffixed(s, &v, &suf) == -1)
		return -1;
	switch (suf) {
	case '\0': mul = 1; break;
	case 'k': mul = 1024; break;
	case 'm': mul = 1024 * 1024; break;
	case 'g': mul = 1024 * 1024 * 1024; break;
	default: return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

void
fmt_size(char *dst, size_t n, uint64_t v)
{
	static const struct { uint64_t mul; char suf; } u[] = {
		{ 1ULL << 30, 'G' }, { 1ULL << 20, 'M' }, { 1ULL << 10, 'K' },
	};
	size_t i;

	for (i = 0; i < sizeof u / sizeof u[0]; i++)
		if (v != 0 && v % u[i].mul == 0) {
			ob_snprintf(dst, n, "%llu%c",
			    (unsigned long long)(v / u[i].mul), u[i].suf);
			return;
		}
	ob_snprintf(dst, n, "%llu", (unsigned long long)v);
}

/* T_MS in whole seconds, rounded down (also before 1970). */
static time_t
ms_to_time(int64_t t_ms)
{
	int64_t sec = t_ms / 1000;

	if (t_ms % 1000 < 0)
		sec--;
	return (time_t)sec;
}

void
fmt_rfc5322_date(char *dst, size_t n, int64_t t_ms)
{
	time_t t = ms_to_time(t_ms);
	struct tm tm;
	long off;
	char sign = '+';
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	/* A time the C library cannot convert (the year overflows an int)
	 * leaves tm unset: never index the name tables with it. */
	if (localtime_r(&t, &tm) == NULL) {
		if (n > 0)
			dst[0] = '\0';
		return;
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	/* RFC 5322 3.3, with English names whatever the locale. */
	snprintf(dst, n, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
}

void
fmt_iso_time(char *dst, size_t n, int64_t t_ms)
{
	time_t t = ms_to_time(t_ms);
	struct tm tm;

	if (n == 0)
		return;
	/* strftime leaves DST undefined when it returns 0 (too small). */
	if (gmtime_r(&t, &tm) == NULL
	    || strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		dst[0] = '\0';
}

int
ob_strcasecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);

		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

int
ob_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);

		if (ca != cb || ca == 0)
			return ca - cb;
	}
	return 0;
}

/* ob_parse_sockaddr: "A.B.C.D", "A.B.C.D:PORT", "[V6]", "[V6]:PORT" or a
 * bare IPv6 address (no port: its colons would be ambiguous). */
int
ob_parse_sockaddr(const char *s, int defport, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
	uint64_t p = (uint64_t)defport;
	size_t hl;
	int v6;

	memset(ss, 0, sizeof *ss);
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		hl = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		s++;
		v6 = 1;
	} else if ((end = strchr(s, ':')) != NULL && strchr(end + 1, ':')
	    == NULL) {
		hl = (size_t)(end - s);
		port = end + 1;
		v6 = 0;
	} else {
		hl = strlen(s);
		v6 = end != NULL;
	}
	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (port != NULL && (parse_u64(port, &p) < 0 || p == 0 || p > 65535))
		return -1;
	if (v6) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
	}
	return 0;
}

int
ob_cidr_parse(const char *s, struct ob_cidr *c)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	uint64_t bits;
	int max;

	memset(c, 0, sizeof *c);
	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	c->bits = max;
	if (slash != NULL) {
		if (parse_u64(slash + 1, &bits) < 0 || bits > (uint64_t)max)
			return -1;
		c->bits = (int)bits;
	}
	return 0;
}

int
ob_cidr_match(const struct ob_cidr *c, const struct sockaddr_storage *ss)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	const unsigned char *a;
	int family = ss->ss_family, i, n;

	if (family == AF_INET)
		a = (const unsigned char *)&((const struct sockaddr_in *)
		    (const void *)ss)->sin_addr;
	else if (family == AF_INET6) {
		a = (const unsigned char *)&((const struct sockaddr_in6 *)
		    (const void *)ss)->sin6_addr;
		if (c->family == AF_INET && memcmp(a, mapped, 12) == 0) {
			a += 12;	/* ::ffff:192.0.2.1 */
			family = AF_INET;
		}
	} else
		return 0;
	if (family != c->family)
		return 0;
	for (i = 0, n = c->bits; n > 0; i++, n -= 8) {
		unsigned char m = n >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - n));

		if ((a[i] & m) != (c->addr[i] & m))
			return 0;
	}
	return 1;
}

int
ob_streq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- base64 (RFC 4648 4) ---- */

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
ob_b64_encode(const void *in, size_t n, char *out, size_t outsz)
{
	const unsigned char *s = in;
	size_t i, o = 0;
	uint32_t v;

	if (n > (SIZE_MAX / 4 - 1) * 3 || (n + 2) / 3 * 4 >= outsz)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = b64_alpha[v >> 18 & 63];
		out[o++] = b64_alpha[v >> 12 & 63];
		out[o++] = b64_alpha[v >> 6 & 63];
		out[o++] = b64_alpha[v & 63];
	}
	if (i < n) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		out[o++] = b64_alpha[v >> 18 & 63];
		out[o++] = b64_alpha[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alpha[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o > INT32_MAX ? -1 : (int)o;
}

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 4648 4 and 3.5: length a multiple of 4, '=' only as the last one or
 * two characters of the last group, and the bits padding leaves unused
 * are zero (so each octet string has exactly one encoding). */
int
ob_b64_decode(const char *in, size_t n, void *out, size_t outsz)
{
	unsigned char *d = out;
	size_t i, o = 0, pad = 0;
	int c[4], k;
	uint32_t v;

	if (n % 4 != 0 || n / 4 * 3 > (size_t)INT32_MAX)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad = n > 1 && in[n - 2] == '=' ? 2 : 1;
	if (n / 4 * 3 - pad > outsz)
		return -1;
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + 4 == n && k >= 4 - (int)pad) {
				c[k] = 0;
				continue;
			}
			c[k] = b64_val((unsigned char)in[i + k]);
			if (c[k] < 0)
				return -1;
		}
		v = (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 |
		    (uint32_t)c[2] << 6 | (uint32_t)c[3];
		d[o++] = (unsigned char)(v >> 16);
		if (i + 4 < n || pad < 2)
			d[o++] = (unsigned char)(v >> 8);
		else if ((v >> 8 & 0xff) != 0)
			return -1;	/* nonzero pad bits */
		if (i + 4 < n || pad < 1)
			d[o++] = (unsigned char)v;
		else if ((v & 0xff) != 0)
			return -1;
	}
	return (int)o;
}

/* ob_json_str: S as a JSON string.  Valid UTF-8 passes through; other octets
 * are escaped as \u00XX (read as Latin-1) so the output is always JSON. */
void
ob_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	while (*p) {
		size_t n = 0, k;

		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		for (k = 1; k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				break;
		if (n && k > n) {
			fwrite(p, 1, n + 1, f);
			p += n + 1;
			continue;
		}
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			putc(*p, f);
		p++;
	}
	putc('"', f);
}
