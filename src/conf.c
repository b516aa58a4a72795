/* conf.c - the configuration file: "key value" lines into struct conf.
 *
 * Every key is one row of conf_keys[]: name, type, target field (offsetof),
 * default (as text, parsed by the same code as the file), bounds, and an
 * optional extra check.  conf_defaults, conf_load, conf_print and conf_free
 * all walk that table, so a new key is a one-line change here plus its
 * field in struct conf.
 *
 * Invariants: after conf_defaults every field holds a valid value; a value
 * from the file replaces the field only when it is valid (bad values leave
 * the previous one).  Paths are always absolute.  Durations are stored in
 * milliseconds, sizes in bytes.
 *
 * Left to others: finding the file (cmd_conf.c), exiting with EX_CONFIG,
 * checking that paths exist and acting on the values.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "tlspol.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#ifndef HOST_NAME_MAX
#define HOST_NAME_MAX 255
#endif

enum conf_type {
	CT_STRING,	/* char *: rest of the line, spaces allowed */
	CT_PATH,	/* char *: made absolute */
	CT_BOOL,	/* int 0/1 */
	CT_SIZE,	/* uint64_t bytes: 10M, 1G, 512K, bare bytes */
	CT_DURATION,	/* int64_t ms: 30s, 5m, 2h, 5d, bare seconds */
	CT_HOSTPORTS,	/* struct conf_relay * + a size_t count; adds up */
	CT_ENUM,	/* int, from a name table */
	CT_COUNT,	/* int, min..max */
	CT_RATE		/* struct conf_rate: N/s, N/m, off */
};

struct conf_enum {
	const char *name;
	int	 value;
};

/* A check on a value that parsed: NULL if fine, else the problem. */
typedef const char *conf_check_fn(const char *v, char *why, size_t n);
/* A default computed at run time into BUF; returns BUF. */
typedef const char *conf_default_fn(char *buf, size_t n);

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t	 off;		/* target field */
	const char *def;	/* default in the file's syntax; NULL = none */
	uint64_t min, max;	/* SIZE: bytes, DURATION: ms; max 0 = none */
	const struct conf_enum *enums;	/* ENUM: names, NULL-terminated */
	conf_check_fn *check;		/* STRING/PATH: extra validation */
	conf_default_fn *defn;		/* computed default if def is NULL */
	size_t	 count_off;	/* HOSTPORTS: the size_t count field */
	int	 defport;	/* HOSTPORTS: port when none is given */
	int	 off_ok;	/* DURATION: "off" is 0 */
	int	 route;		/* a field of struct conf_route: may be set
				 * per [sender] section */
	int	 group;		/* route keys that go together: a section
				 * setting one inherits none of the group */
};

static conf_check_fn conf_check_helo;
static conf_check_fn conf_check_mailbox;
static conf_default_fn conf_default_helo;

static const struct conf_enum conf_log_enums[] = {
	{ "stderr", LOG_TO_STDERR },
	{ "syslog", LOG_TO_SYSLOG },
	{ NULL, 0 }
};
static const struct conf_enum conf_tls_enums[] = {
	{ "auto", CONF_TLS_AUTO },
	{ "starttls", CONF_TLS_STARTTLS },
	{ "implicit", CONF_TLS_IMPLICIT },
	{ "opportunistic", CONF_TLS_OPPORTUNISTIC },
	{ "off", CONF_TLS_OFF },
	{ NULL, 0 }
};
static const struct conf_enum conf_tlsver_enums[] = {
	{ "1.2", 12 },
	{ "1.3", 13 },
	{ NULL, 0 }
};
static const struct conf_enum conf_auth_enums[] = {
	{ "auto", CONF_AUTH_AUTO },
	{ "plain", CONF_AUTH_PLAIN },
	{ "login", CONF_AUTH_LOGIN },
	{ "scram-sha-256", CONF_AUTH_SCRAM },
	{ "xoauth2", CONF_AUTH_XOAUTH2 },
	{ "oauthbearer", CONF_AUTH_OAUTHBEARER },
	{ NULL, 0 }
};
static conf_check_fn conf_check_fingerprint;
static conf_check_fn conf_check_dns_server;
static conf_check_fn conf_check_cidrs;
static const struct conf_enum conf_ipver_enums[] = {
	{ "any", 0 },
	{ "4", 4 },
	{ "6", 6 },
	{ NULL, 0 }
};

#define OFF(f)	offsetof(struct conf, f)
#define KIB	((uint64_t)1024)
#define MIB	(KIB * 1024)
#define SEC	((uint64_t)1000)
#define MIN	(SEC * 60)
#define HOUR	(MIN * 60)
#define DAY	(HOUR * 24)

/* One row per key; designated initializers leave the other fields 0. */
#define K_STRING(n, f, d, chk, dfn)	{ .name = (n), .type = CT_STRING, \
	.off = OFF(f), .def = (d), .check = (chk), .defn = (dfn) }
#define K_PATH(n, f, d)		{ .name = (n), .type = CT_PATH, \
	.off = OFF(f), .def = (d) }
#define K_BOOL(n, f, d)		{ .name = (n), .type = CT_BOOL, \
	.off = OFF(f), .def = (d) }
#define K_SIZE(n, f, d, lo, hi)	{ .name = (n), .type = CT_SIZE, \
	.off = OFF(f), .def = (d), .min = (lo), .max = (hi) }
#define K_DUR(n, f, d, lo, hi)	{ .name = (n), .type = CT_DURATION, \
	.off = OFF(f), .def = (d), .min = (lo), .max = (hi) }
#define K_ENUM(n, f, d, e)	{ .name = (n), .type = CT_ENUM, \
	.off = OFF(f), .def = (d), .enums = (e) }
#define K_DUR_OFF(n, f, d, lo, hi)	{ .name = (n), .type = CT_DURATION, \
	.off = OFF(f), .def = (d), .min = (lo), .max = (hi), .off_ok = 1 }
#define K_COUNT(n, f, d, lo, hi)	{ .name = (n), .type = CT_COUNT, \
	.off = OFF(f), .def = (d), .min = (lo), .max = (hi) }
/* Keys of struct conf_route, settable per [sender] section. */
#define ROFF(f)	offsetof(struct conf_route, f)
#define RK_STRING(n, f, chk, g)	{ .name = (n), .type = CT_STRING, \
	.off = ROFF(f), .check = (chk), .route = 1, .group = (g) }
#define RK_PATH(n, f, g)	{ .name = (n), .type = CT_PATH, \
	.off = ROFF(f), .route = 1, .group = (g) }
#define RK_BOOL(n, f, d, g)	{ .name = (n), .type = CT_BOOL, \
	.off = ROFF(f), .def = (d), .route = 1, .group = (g) }
#define RK_ENUM(n, f, d, e, g)	{ .name = (n), .type = CT_ENUM, \
	.off = ROFF(f), .def = (d), .enums = (e), .route = 1, .group = (g) }
#define RK_RATE(n, f, d, g)	{ .name = (n), .type = CT_RATE, \
	.off = ROFF(f), .def = (d), .route = 1, .group = (g) }

/* What a [sender] section inherits from the top level.  Route keys come
 * in groups; a section that sets a key of a group marked "whole" inherits
 * no other key of that group (an account is a user AND its password), and
 * setting a group resets the groups it names to the built-in defaults (a
 * section with its own relays starts from scratch for everything that
 * belongs to a relay: the default account's password must never go to
 * another relay, nor its "tls off" or its rate follow it there). */
#define G_RELAY	1	/* relay */
#define G_AUTH	2	/* auth_user, auth_password_file, _command: whole */
#define G_MECH	3	/* auth_mech */
#define G_FROM	4	/* from_address, rewrite_from: whole */
#define G_CERT	5	/* tls_cert_file, tls_key_file: whole */
#define G_PIN	6	/* tls_fingerprint */
#define G_TLS	7	/* tls, tls_verify, tls_ca_file, tls_min_version,
			 * auth_allow_plaintext */
#define G_RATE	8	/* relay_rate */
#define GB(g)	(1u << (g))
static const struct {
	unsigned whole;		/* groups whose keys go together */
	unsigned resets[9];	/* by group: what setting it resets */
} conf_groups = {
	GB(G_AUTH) | GB(G_FROM) | GB(G_CERT),
	{
		[G_RELAY] = GB(G_AUTH) | GB(G_MECH) | GB(G_FROM) |
		    GB(G_CERT) | GB(G_PIN) | GB(G_TLS) | GB(G_RATE),
		[G_AUTH] = GB(G_MECH) | GB(G_FROM),
	},
};

/* Timeouts are capped at a day so that every timeout fits an int of
 * milliseconds (poll(2)).  RFC 5321 4.5.3.2 gives the defaults. */
static const struct conf_key conf_keys[] = {
	K_PATH("queue_dir", queue_dir, LOCALSTATEDIR "/spool/outbox"),
	{ .name = "relay", .type = CT_HOSTPORTS, .off = ROFF(relays),
	    .count_off = ROFF(nrelays), .defport = 25, .route = 1,
	    .group = G_RELAY },
	K_STRING("helo_name", helo_name, NULL, conf_check_helo,
	    conf_default_helo),
	K_ENUM("log", log_dest, "stderr", conf_log_enums),
	K_SIZE("max_message_size", max_message_size, "50M", 0, 0),
	K_PATH("aliases", aliases, NULL),
	K_SIZE("queue_max_size", queue_max_size, "1G", MIB, 0),
	K_DUR("connect_timeout", connect_timeout, "30s", SEC, DAY),
	K_DUR("greeting_timeout", greeting_timeout, "5m", SEC, DAY),
	K_DUR("command_timeout", command_timeout, "5m", SEC, DAY),
	K_DUR("data_timeout", data_timeout, "10m", SEC, DAY),
	K_DUR("retry_initial", retry_initial, "5m", SEC, 30 * DAY),
	K_DUR("retry_max", retry_max, "1h", SEC, 30 * DAY),
	K_DUR("queue_lifetime", queue_lifetime, "5d", SEC, 365 * DAY),
	K_DUR_OFF("delay_warning", delay_warning, "4h", SEC, 365 * DAY),
	K_STRING("bounce_from", bounce_from, NULL, conf_check_mailbox, NULL),
	K_STRING("double_bounce_to", double_bounce_to, NULL,
	    conf_check_mailbox, NULL),
	K_COUNT("max_connections", max_connections, "4", 1, 1000),
	K_BOOL("deliver_on_submit", deliver_on_submit, "yes"),
	K_DUR("shutdown_timeout", shutdown_timeout, "30s", SEC, HOUR),
	K_STRING("dns_server", dns_server, NULL, conf_check_dns_server, NULL),
	K_ENUM("ip_version", ip_version, "any", conf_ipver_enums),
	K_COUNT("mx_port", mx_port, "25", 1, 65535),
	K_COUNT("mx_max_hosts", mx_max_hosts, "5", 1, 100),
	K_COUNT("mx_domain_connections", mx_domain_connections, "2", 1, 1000),
	K_PATH("tls_policy", tls_policy, NULL),
	{ .name = "listen", .type = CT_HOSTPORTS, .off = OFF(listens),
	    .count_off = OFF(nlistens), .defport = 25 },
	K_STRING("listen_allow", listen_allow, "127.0.0.0/8 ::1",
	    conf_check_cidrs, NULL),
	K_COUNT("listen_max_clients", listen_max_clients, "100", 1, 10000),
	K_COUNT("listen_max_per_client", listen_max_per_client, "10", 1,
	    10000),
	K_COUNT("listen_max_rcpt", listen_max_rcpt, "100", 1, 10000),
	K_PATH("listen_tls_cert", listen_tls_cert, NULL),
	K_PATH("listen_tls_key", listen_tls_key, NULL),
	K_PATH("listen_auth_users", listen_auth_users, NULL),
	K_PATH("metrics_file", metrics_file, NULL),
	K_DUR("metrics_interval", metrics_interval, "60s", SEC, DAY),
	RK_ENUM("tls", tls, "auto", conf_tls_enums, G_TLS),
	RK_BOOL("tls_verify", tls_verify, "yes", G_TLS),
	RK_PATH("tls_ca_file", tls_ca_file, G_TLS),
	RK_ENUM("tls_min_version", tls_min_version, "1.2", conf_tlsver_enums,
	    G_TLS),
	RK_STRING("tls_fingerprint", tls_fingerprint, conf_check_fingerprint,
	    G_PIN),
	RK_PATH("tls_cert_file", tls_cert_file, G_CERT),
	RK_PATH("tls_key_file", tls_key_file, G_CERT),
	RK_STRING("auth_user", auth_user, NULL, G_AUTH),
	RK_PATH("auth_password_file", auth_password_file, G_AUTH),
	RK_STRING("auth_password_command", auth_password_command, NULL,
	    G_AUTH),
	RK_ENUM("auth_mech", auth_mech, "auto", conf_auth_enums, G_MECH),
	RK_BOOL("auth_allow_plaintext", auth_allow_plaintext, "no", G_TLS),
	RK_STRING("from_address", from_address, conf_check_mailbox, G_FROM),
	RK_BOOL("rewrite_from", rewrite_from, "no", G_FROM),
	RK_RATE("relay_rate", relay_rate, "off", G_RATE),
};
#define CONF_NKEYS	(sizeof conf_keys / sizeof conf_keys[0])

/* Pairs of durations that must not be in the wrong order: lo <= hi. */
static const struct {
	const char *lo, *hi;
} conf_order[] = {
	{ "retry_initial", "retry_max" },
};

/* Problem texts are built here: long enough for a quoted, capped value. */
#define WHY_MAX	512
#define QUOTE_MAX 64
#define QUOTE_BUF (QUOTE_MAX * 4 + 8)	/* every byte may become \xNN */

static const struct conf_key *conf_find(const char *name);
static int conf_set(void *c, const struct conf_key *k, const char *v,
    const char *dir, char *why, size_t n);
static int conf_hostport(const char *s, int defport, char **host, int *port,
    char *why, size_t n);
static int conf_hostname_ok(const char *s, int underscore);
static const char *conf_quote(char *dst, size_t n, const char *v);
static void conf_check_order(struct conf *c, const char *path,
    const int *lines, FILE *errs, int *nerr);
static int conf_resolve(struct conf *c, const char *where, FILE *errs);

#define FIELD(c, k, type)	((type *)(void *)((char *)(c) + (k)->off))
#define CFIELD(c, k, type) \
	((const type *)(const void *)((const char *)(c) + (k)->off))
#define COUNT(c, k)	((size_t *)(void *)((char *)(c) + (k)->count_off))
#define CCOUNT(c, k) \
	((const size_t *)(const void *)((const char *)(c) + (k)->count_off))

const char *
conf_default_path(void)
{
	return SYSCONFDIR "/outbox.conf";
}

/* conf_base: where key K of route R (NULL: the default route) lives. */
static void *
conf_base(struct conf *c, struct conf_route *r, const struct conf_key *k)
{
	if (!k->route)
		return c;
	return r != NULL ? r : &c->route;
}

struct conf *
conf_defaults(void)
{
	struct conf *c = xcalloc(1, sizeof *c);
	char why[WHY_MAX], buf[HOST_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		const char *def = k->def;

		if (def == NULL && k->defn != NULL)
			def = k->defn(buf, sizeof buf);
		if (def == NULL)
			continue;
		if (conf_set(conf_base(c, NULL, k), k, def, "/", why,
		    sizeof why) == -1)
			panic("conf: bad built-in default for %s: %s",
			    k->name, why);
	}
	return c;
}

/* conf_key_free: release what key K owns in BASE, and zero it. */
static void
conf_key_free(void *base, const struct conf_key *k)
{
	size_t j;

	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
		free(*FIELD(base, k, char *));
		*FIELD(base, k, char *) = NULL;
		break;
	case CT_HOSTPORTS: {
		struct conf_relay *r = *FIELD(base, k, struct conf_relay *);
		size_t nr = *COUNT(base, k);

		for (j = 0; j < nr; j++)
			free(r[j].host);
		free(r);
		*FIELD(base, k, struct conf_relay *) = NULL;
		*COUNT(base, k) = 0;
		break;
	}
	case CT_BOOL:
	case CT_SIZE:
	case CT_DURATION:
	case CT_ENUM:
	case CT_COUNT:
	case CT_RATE:
		break;
	default:
		panic("conf_free: key %s has type %d", k->name, k->type);
	}
}

/* conf_key_copy: key K from SRC to DST (whose old value is freed). */
static void
conf_key_copy(void *dst, const void *src, const struct conf_key *k)
{
	size_t j;

	conf_key_free(dst, k);
	switch (k->type) {
	case CT_STRING:
	case CT_PATH: {
		const char *v = *CFIELD(src, k, char *);

		*FIELD(dst, k, char *) = v != NULL ? xstrdup(v) : NULL;
		break;
	}
	case CT_HOSTPORTS: {
		const struct conf_relay *r =
		    *CFIELD(src, k, struct conf_relay *);
		size_t nr = *CCOUNT(src, k);
		struct conf_relay *d = nr ? xcalloc(nr, sizeof *d) : NULL;

		for (j = 0; j < nr; j++) {
			d[j].host = xstrdup(r[j].host);
			d[j].port = r[j].port;
		}
		*FIELD(dst, k, struct conf_relay *) = d;
		*COUNT(dst, k) = nr;
		break;
	}
	case CT_BOOL:
	case CT_ENUM:
	case CT_COUNT:
		*FIELD(dst, k, int) = *CFIELD(src, k, int);
		break;
	case CT_SIZE:
		*FIELD(dst, k, uint64_t) = *CFIELD(src, k, uint64_t);
		break;
	case CT_DURATION:
		*FIELD(dst, k, int64_t) = *CFIELD(src, k, int64_t);
		break;
	case CT_RATE:
		*FIELD(dst, k, struct conf_rate) =
		    *CFIELD(src, k, struct conf_rate);
		break;
	default:
		panic("conf_key_copy: key %s has type %d", k->name, k->type);
	}
}

static void
conf_route_free(struct conf_route *r)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].route)
			conf_key_free(r, &conf_keys[i]);
	free(r->match);
	r->match = NULL;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CONF_NKEYS; i++)
		if (!conf_keys[i].route)
			conf_key_free(c, &conf_keys[i]);
	conf_route_free(&c->route);
	for (i = 0; i < c->nroutes; i++)
		conf_route_free(&c->routes[i]);
	free(c->routes);
	free(c->path);
	free(c);
}

static const struct conf_key *
conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

static int
conf_isspace(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f'
	    || ch == '\v';
}

/* Does V hold only digits followed by at most one letter from SUFFIXES?
 * Tells "too large" apart from "not a number" after a parser refused. */
static int
conf_numeric(const char *v, const char *suffixes)
{
	size_t i = 0;

	while (v[i] >= '0' && v[i] <= '9')
		i++;
	if (i == 0)
		return 0;
	if (v[i] == '\0')
		return 1;
	return v[i + 1] == '\0' && strchr(suffixes, v[i]) != NULL;
}

/* Parse V as key K into C (the struct conf or struct conf_route K's
 * field is in).  DIR is the config file's directory, for relative paths.
 * 0, or -1 with the problem in WHY. */
static int
conf_set(void *c, const struct conf_key *k, const char *v,
    const char *dir, char *why, size_t n)
{
	char q[QUOTE_BUF], lim[32];
	const char *p;
	uint64_t sz;
	int64_t ms;
	int b;
	size_t i;

	switch (k->type) {
	case CT_STRING:
		if (k->check != NULL && k->check(v, why, n) != NULL)
			return -1;
		free(*FIELD(c, k, char *));
		*FIELD(c, k, char *) = xstrdup(v);
		return 0;
	case CT_PATH:
		for (p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				ob_snprintf(why, n, "control character in path"
				    " %s", conf_quote(q, sizeof q, v));
				return -1;
			}
		if (k->check != NULL && k->check(v, why, n) != NULL)
			return -1;
		free(*FIELD(c, k, char *));
		if (v[0] == '/')
			*FIELD(c, k, char *) = xstrdup(v);
		else
			*FIELD(c, k, char *) = xasprintf("%s%s%s", dir,
			    dir[strlen(dir) - 1] == '/' ? "" : "/", v);
		return 0;
	case CT_BOOL:
		if (conf_parse_bool(v, &b) == -1) {
			ob_snprintf(why, n, "invalid value %s (use yes or no)",
			    conf_quote(q, sizeof q, v));
			return -1;
		}
		*FIELD(c, k, int) = b;
		return 0;
	case CT_SIZE:
		if (parse_size(v, &sz) == -1) {
			if (conf_numeric(v, "kKmMgG"))
				ob_snprintf(why, n, "size %s is too large",
				    conf_quote(q, sizeof q, v));
			else
				ob_snprintf(why, n, "invalid size %s (use a "
				    "number of bytes or K, M, G: 512K, 10M, "
				    "1G)", conf_quote(q, sizeof q, v));
			return -1;
		}
		if (sz < k->min) {
			fmt_size(lim, sizeof lim, k->min);
			ob_snprintf(why, n, "must be at least %s", lim);
			return -1;
		}
		if (k->max != 0 && sz > k->max) {
			fmt_size(lim, sizeof lim, k->max);
			ob_snprintf(why, n, "must be at most %s", lim);
			return -1;
		}
		*FIELD(c, k, uint64_t) = sz;
		return 0;
	case CT_RATE: {
		struct conf_rate *rt = FIELD(c, k, struct conf_rate);
		char num[24];

		if (strcmp(v, "off") == 0) {
			rt->count = 0;
			rt->per_ms = 1000;
			return 0;
		}
		p = strchr(v, '/');
		if (p == NULL || (size_t)(p - v) >= sizeof num ||
		    (strcmp(p, "/s") != 0 && strcmp(p, "/m") != 0))
			goto bad_rate;
		memcpy(num, v, (size_t)(p - v));
		num[p - v] = '\0';
		if (parse_u64(num, &sz) == -1 || sz < 1 || sz > 100000)
			goto bad_rate;
		rt->count = (uint32_t)sz;
		rt->per_ms = p[1] == 's' ? 1000 : 60000;
		return 0;
bad_rate:
		ob_snprintf(why, n, "invalid rate %s (use N/s or N/m, N from 1 "
		    "to 100000, or off)", conf_quote(q, sizeof q, v));
		return -1;
	}
	case CT_COUNT:
		if (parse_u64(v, &sz) == -1 || sz < k->min || sz > k->max) {
			ob_snprintf(why, n, "invalid value %s (use a number "
			    "from %llu to %llu)", conf_quote(q, sizeof q, v),
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
			return -1;
		}
		*FIELD(c, k, int) = (int)sz;
		return 0;
	case CT_DURATION:
		if (k->off_ok && strcmp(v, "off") == 0) {
			*FIELD(c, k, int64_t) = 0;
			return 0;
		}
		if (parse_duration_ms(v, &ms) == -1) {
			if (conf_numeric(v, "sSmMhHdD"))
				ob_snprintf(why, n, "duration %s is too large",
				    conf_quote(q, sizeof q, v));
			else
				ob_snprintf(why, n, "invalid duration %s (use "
				    "seconds or s, m, h, d: 30s, 5m, 2h, 5d)",
				    conf_quote(q, sizeof q, v));
			return -1;
		}
		if ((uint64_t)ms < k->min) {
			fmt_duration(lim, sizeof lim, (int64_t)k->min);
			ob_snprintf(why, n, "must be at least %s", lim);
			return -1;
		}
		if (k->max != 0 && (uint64_t)ms > k->max) {
			fmt_duration(lim, sizeof lim, (int64_t)k->max);
			ob_snprintf(why, n, "must be at most %s", lim);
			return -1;
		}
		*FIELD(c, k, int64_t) = ms;
		return 0;
	case CT_HOSTPORTS: {
		struct conf_relay **arr = FIELD(c, k, struct conf_relay *);
		size_t *cnt = COUNT(c, k);
		char *host;
		int port;

		if (conf_hostport(v, k->defport, &host, &port, why, n) == -1)
			return -1;
		*arr = xreallocarray(*arr, *cnt + 1, sizeof **arr);
		(*arr)[*cnt].host = host;
		(*arr)[*cnt].port = port;
		(*cnt)++;
		return 0;
	}
	case CT_ENUM: {
		struct buf names;

		for (i = 0; k->enums[i].name != NULL; i++)
			if (strcmp(k->enums[i].name, v) == 0) {
				*FIELD(c, k, int) = k->enums[i].value;
				return 0;
			}
		buf_init(&names, 0);
		for (i = 0; k->enums[i].name != NULL; i++)
			buf_printf(&names, "%s%s", i == 0 ? "" :
			    k->enums[i + 1].name == NULL ? " or " : ", ",
			    k->enums[i].name);
		ob_snprintf(why, n, "invalid value %s (use %s)",
		    conf_quote(q, sizeof q, v), names.p);
		buf_free(&names);
		return -1;
	}
	default:
		panic("conf_set: key %s has type %d", k->name, k->type);
	}
}

int
conf_parse_bool(const char *s, int *out)
{
	static const struct conf_enum t[] = {
		{ "yes", 1 }, { "true", 1 }, { "on", 1 },
		{ "no", 0 }, { "false", 0 }, { "off", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].value;
			return 0;
		}
	return -1;
}

/* A host name: dot-separated labels of letters, digits and '-' (and '_'
 * when UNDERSCORE: real DNS names have them, RFC 5321 4.1.2 host names do
 * not), no empty label, labels up to 63 octets, 255 in all.  A trailing
 * dot is refused: it would end up in EHLO. */
static int
conf_hostname_ok(const char *s, int underscore)
{
	size_t len = 0, label = 0;

	for (; *s; s++, len++) {
		char ch = *s;

		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		    || (ch >= '0' && ch <= '9') || ch == '-'
		    || (underscore && ch == '_')))
			return 0;
		if (++label > 63)
			return 0;
	}
	return len > 0 && len <= 255 && label > 0;
}

/* An IPv6 (or IPv4) address as written inside brackets, with an optional
 * %zone for link-local addresses. */
static int
conf_addr_literal_ok(const char *s)
{
	unsigned char bin[16];
	char tmp[INET6_ADDRSTRLEN + 1];
	const char *pct = strchr(s, '%');
	size_t len = pct ? (size_t)(pct - s) : strlen(s);

	if (len == 0 || len >= sizeof tmp)
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (pct != NULL) {
		const char *z = pct + 1;

		if (*z == '\0' || strchr(tmp, ':') == NULL)
			return 0;
		for (; *z; z++)
			if (!((*z >= 'a' && *z <= 'z')
			    || (*z >= 'A' && *z <= 'Z')
			    || (*z >= '0' && *z <= '9') || *z == '_'
			    || *z == '-' || *z == '.'))
				return 0;
	}
	return inet_pton(AF_INET6, tmp, bin) == 1
	    || inet_pton(AF_INET, tmp, bin) == 1;
}

/* bounce_from, double_bounce_to: a plain mailbox, local@domain, printable
 * ASCII without spaces or angle brackets (it goes into headers and MAIL
 * or RCPT as it is). */
static const char *
conf_check_mailbox(const char *v, char *why, size_t n)
{
	char q[QUOTE_BUF];
	const char *at = strrchr(v, '@'), *p;

	for (p = v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '<' || *p == '>' ||
		    *p == '"' || *p == '\\' || *p == ',')
			break;
	if (*p != '\0' || at == NULL || at == v || p - v > 254 ||
	    !conf_hostname_ok(at + 1, 0)) {
		ob_snprintf(why, n, "invalid address %s (use local@domain)",
		    conf_quote(q, sizeof q, v));
		return why;
	}
	return NULL;
}

/* helo_name: a domain or an address literal, RFC 5321 4.1.1.1 (EHLO). */
static const char *
conf_check_helo(const char *v, char *why, size_t n)
{
	char q[QUOTE_BUF];
	size_t len = strlen(v);

	if (len > 2 && v[0] == '[' && v[len - 1] == ']') {
		char tmp[INET6_ADDRSTRLEN + 8];
		const char *a = v + 1;

		/* RFC 5321 4.1.3: "[IPv6:...]" or "[a.b.c.d]". */
		if (len - 2 >= sizeof tmp)
			goto bad;
		if (ob_strncasecmp(a, "IPv6:", 5) == 0) {
			unsigned char bin[16];

			memcpy(tmp, a + 5, len - 7);
			tmp[len - 7] = '\0';
			if (inet_pton(AF_INET6, tmp, bin) == 1)
				return NULL;
		} else {
			unsigned char bin[4];

			memcpy(tmp, a, len - 2);
			tmp[len - 2] = '\0';
			if (inet_pton(AF_INET, tmp, bin) == 1)
				return NULL;
		}
		goto bad;
	}
	if (conf_hostname_ok(v, 0))
		return NULL;
bad:
	ob_snprintf(why, n, "invalid host name %s (use a domain name or an "
	    "address literal such as [192.0.2.1] or [IPv6:2001:db8::1])",
	    conf_quote(q, sizeof q, v));
	return why;
}

/* The host's name, as the kernel knows it (no DNS: this runs on every
 * sendmail call).  "localhost" when that is unusable as a HELO name. */
static const char *
conf_default_helo(char *buf, size_t n)
{
	if (gethostname(buf, n) == -1)
		buf[0] = '\0';
	buf[n - 1] = '\0';
	if (!conf_hostname_ok(buf, 0))
		ob_snprintf(buf, n, "localhost");
	return buf;
}

static int
conf_hostport(const char *s, int defport, char **host, int *port,
    char *why, size_t n)
{
	char q[QUOTE_BUF];
	const char *h, *colon = NULL, *p;
	size_t hlen;
	uint64_t pv;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL) {
			ob_snprintf(why, n, "missing ']' in %s",
			    conf_quote(q, sizeof q, s));
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(rb - h);
		if (rb[1] == ':')
			colon = rb + 1;
		else if (rb[1] != '\0') {
			ob_snprintf(why, n, "junk after ']' in %s (use "
			    "[ADDRESS]:PORT)", conf_quote(q, sizeof q, s));
			return -1;
		}
	} else {
		h = s;
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			ob_snprintf(why, n, "IPv6 address %s must be in "
			    "brackets: [ADDRESS] or [ADDRESS]:PORT",
			    conf_quote(q, sizeof q, s));
			return -1;
		}
		hlen = colon ? (size_t)(colon - s) : strlen(s);
	}
	*port = defport;
	if (colon != NULL) {
		p = colon + 1;
		if (parse_u64(p, &pv) == -1 || pv == 0 || pv > 65535) {
			ob_snprintf(why, n, "invalid port %s (use 1 to 65535)",
			    conf_quote(q, sizeof q, p));
			return -1;
		}
		*port = (int)pv;
	}
	if (hlen == 0) {
		ob_snprintf(why, n, "missing host name in %s",
		    conf_quote(q, sizeof q, s));
		return -1;
	}
	*host = xstrndup(h, hlen);
	if (s[0] == '[' ? !conf_addr_literal_ok(*host)
	    : !conf_hostname_ok(*host, 1)) {
		ob_snprintf(why, n, "invalid %s %s", s[0] == '[' ?
		    "address" : "host name", conf_quote(q, sizeof q, *host));
		free(*host);
		*host = NULL;
		return -1;
	}
	return 0;
}

int
conf_parse_hostport(const char *s, int defport, char **host, int *port)
{
	char why[WHY_MAX];

	return conf_hostport(s, defport, host, port, why, sizeof why);
}

/* Append V to B in double quotes, with \" \\ \xNN escapes, cut after MAX
 * bytes of V with "...": messages must stay one line whatever the file
 * held. */
static void
conf_quote_buf(struct buf *b, const char *v, size_t max)
{
	size_t i;

	buf_addc(b, '"');
	for (i = 0; v[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (i >= max) {
			buf_addstr(b, "...");
			break;
		}
		if (ch == '"' || ch == '\\')
			buf_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			buf_printf(b, "\\x%02x", ch);
		else
			buf_addc(b, ch);
	}
	buf_addc(b, '"');
}

/* conf_quote_buf into DST, QUOTE_MAX bytes of V at most. */
static const char *
conf_quote(char *dst, size_t n, const char *v)
{
	struct buf b;

	buf_init(&b, 0);
	conf_quote_buf(&b, v, QUOTE_MAX);
	if (ob_snprintf(dst, n, "%s", b.p) == -1 && n > 0)
		dst[0] = '\0';
	buf_free(&b);
	return dst;
}

/* Report one problem: "FILE:LINE: key: problem". */
static void
conf_error(FILE *errs, const char *path, int line, const char *key,
    const char *why)
{
	if (errs == NULL)
		return;
	if (key != NULL)
		fprintf(errs, "%s:%d: %s: %s\n", path, line, key, why);
	else
		fprintf(errs, "%s:%d: %s\n", path, line, why);
}

/* conf_section: "[sender PATTERN]" at LINENO starts route CUR. */
static void
conf_section(struct conf *c, size_t *cur, char *s, const char *path,
    int lineno, FILE *errs, int *nerr)
{
	char why[WHY_MAX], q[QUOTE_BUF];
	struct conf_route *r;
	char *pat, *end = s + strlen(s) - 1;
	size_t i;

	if (*end != ']' || strncmp(s, "[sender", 7) != 0 ||
	    !conf_isspace((unsigned char)s[7])) {
		conf_error(errs, path, lineno, NULL, "a section is "
		    "\"[sender ADDRESS]\" or \"[sender @DOMAIN]\"");
		(*nerr)++;
		return;
	}
	*end = '\0';
	for (pat = s + 8; conf_isspace((unsigned char)*pat); pat++)
		;
	while (end > pat && conf_isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (pat[0] == '@' ? !conf_hostname_ok(pat + 1, 0) :
	    conf_check_mailbox(pat, why, sizeof why) != NULL) {
		ob_snprintf(why, sizeof why, "invalid sender pattern %s (use "
		    "local@domain or @domain)", conf_quote(q, sizeof q, pat));
		conf_error(errs, path, lineno, NULL, why);
		(*nerr)++;
		return;
	}
	for (i = 0; i < c->nroutes; i++)
		if (ob_strcasecmp(c->routes[i].match, pat) == 0) {
			ob_snprintf(why, sizeof why, "[sender %s] again (first "
			    "at line %d)", pat, c->routes[i].line);
			conf_error(errs, path, lineno, NULL, why);
			(*nerr)++;
			return;
		}
	c->routes = xreallocarray(c->routes, c->nroutes + 1,
	    sizeof *c->routes);
	r = &c->routes[c->nroutes++];
	memset(r, 0, sizeof *r);
	r->match = xstrdup(pat);
	r->line = lineno;
	*cur = c->nroutes;
}

/* One line (NUL-terminated, no newline) of PATH, in route *CUR (0: the
 * top level, i: c->routes[i - 1]).  Errors counted in NERR. */
static void
conf_line(struct conf *c, size_t *cur, char *s, const char *path,
    int lineno, const char *dir, int *lines, FILE *errs, int *nerr)
{
	char why[WHY_MAX], kq[QUOTE_BUF];
	const struct conf_key *k;
	struct conf_route *r;
	char *key, *v, *e;
	size_t i, len;

	while (conf_isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return;
	/* A comment starts at a '#' that begins the line or follows white
	 * space; "a#b" stays a value. */
	for (e = s + 1; *e; e++)
		if (*e == '#' && conf_isspace((unsigned char)e[-1])) {
			*e = '\0';
			break;
		}
	len = strlen(s);
	while (len > 0 && conf_isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	if (*s == '[') {
		conf_section(c, cur, s, path, lineno, errs, nerr);
		return;
	}
	key = s;
	for (v = s; *v && !conf_isspace((unsigned char)*v); v++)
		;
	if (*v != '\0') {
		*v++ = '\0';
		while (conf_isspace((unsigned char)*v))
			v++;
	}
	k = conf_find(key);
	if (k == NULL) {
		/* Keys are plain words; quote anything else so the message
		 * stays on one line. */
		for (i = 0; key[i]; i++)
			if ((unsigned char)key[i] <= 0x20
			    || (unsigned char)key[i] >= 0x7f)
				break;
		if (key[i] != '\0' || i > QUOTE_MAX)
			key = (char *)conf_quote(kq, sizeof kq, key);
		conf_error(errs, path, lineno, key, "unknown key");
		(*nerr)++;
		return;
	}
	if (*v == '\0') {
		conf_error(errs, path, lineno, k->name, "missing value");
		(*nerr)++;
		return;
	}
	r = *cur > 0 ? &c->routes[*cur - 1] : NULL;
	if (r != NULL && !k->route) {
		conf_error(errs, path, lineno, k->name, "not a per-sender "
		    "setting: put it before the first [sender] section");
		(*nerr)++;
		return;
	}
	if (conf_set(conf_base(c, r, k), k, v, dir, why, sizeof why) == -1) {
		conf_error(errs, path, lineno, k->name, why);
		(*nerr)++;
		return;
	}
	if (r != NULL)
		r->set |= UINT64_C(1) << (k - conf_keys);
	else
		lines[k - conf_keys] = lineno;
}

/* The directory relative paths in PATH are taken from, absolute. */
static char *
conf_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *cwd;

	if (slash == path)
		return xstrdup("/");
	if (path[0] == '/')
		return xstrndup(path, (size_t)(slash - path));
	cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		cwd = xstrdup(".");	/* best effort: stays relative */
	if (slash == NULL)
		dir = xstrdup(cwd);
	else
		dir = xasprintf("%s%s%.*s", cwd,
		    cwd[strlen(cwd) - 1] == '/' ? "" : "/",
		    (int)(slash - path), path);
	free(cwd);
	return dir;
}

int
conf_load(struct conf *c, const char *path, FILE *errs)
{
	return conf_load_file(c, path, 1, errs);
}

int
conf_load_file(struct conf *c, const char *path, int check, FILE *errs)
{
	char *line = xmalloc(CONF_LINE_MAX + 1);
	char *dir = NULL;
	int lines[CONF_NKEYS] = { 0 };
	int fd, ch, lineno = 1, nerr = 0, toolong = 0, nul = 0;
	size_t len = 0, total = 0, cur = 0;
	FILE *fp = NULL;

	free(c->path);
	c->path = xstrdup(path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 || (fp = fdopen(fd, "r")) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		nerr++;
		goto done;
	}
	dir = conf_dir_of(path);
	for (;;) {
		ch = getc(fp);
		if (ch == EOF && ferror(fp)) {
			if (errs != NULL)
				fprintf(errs, "%s: %s\n", path,
				    strerror(errno));
			nerr++;
			break;
		}
		if (ch != EOF && ++total > CONF_FILE_MAX) {
			if (errs != NULL)
				fprintf(errs, "%s: file larger than %d bytes\n",
				    path, CONF_FILE_MAX);
			nerr++;
			break;
		}
		if (ch == EOF || ch == '\n') {
			if (ch == EOF && len == 0 && !toolong)
				break;
			if (toolong) {
				char why[64];

				ob_snprintf(why, sizeof why, "line longer than "
				    "%d bytes", CONF_LINE_MAX);
				conf_error(errs, path, lineno, NULL, why);
				nerr++;
			} else if (nul) {
				conf_error(errs, path, lineno, NULL,
				    "NUL byte in line");
				nerr++;
			} else {
				line[len] = '\0';
				conf_line(c, &cur, line, path, lineno, dir,
				    lines, errs, &nerr);
			}
			if (ch == EOF)
				break;
			len = 0;
			toolong = nul = 0;
			lineno++;
			continue;
		}
		if (ch == '\0')
			nul = 1;
		if (len < CONF_LINE_MAX)
			line[len++] = (char)ch;
		else
			toolong = 1;
	}
	conf_check_order(c, path, lines, errs, &nerr);
	if (check)
		nerr += conf_resolve(c, path, errs);
done:
	if (fp != NULL)
		fclose(fp);
	free(dir);
	free(line);
	return nerr;
}

/* Cross-key checks, reported at the line that set the later of the two
 * keys (the defaults are consistent, so one of them was set). */
static void
conf_check_order(struct conf *c, const char *path, const int *lines,
    FILE *errs, int *nerr)
{
	char why[WHY_MAX], a[32], b[32];
	const struct conf_key *lo, *hi;
	int64_t vlo, vhi;
	size_t i;

	for (i = 0; i < sizeof conf_order / sizeof conf_order[0]; i++) {
		lo = conf_find(conf_order[i].lo);
		hi = conf_find(conf_order[i].hi);
		if (lo == NULL || hi == NULL)
			panic("conf: bad order table entry %zu", i);
		/* cppcheck-suppress nullPointerRedundantCheck ; panic above */
		vlo = *FIELD(c, lo, int64_t);
		/* cppcheck-suppress nullPointerRedundantCheck ; panic above */
		vhi = *FIELD(c, hi, int64_t);
		if (vlo <= vhi)
			continue;
		fmt_duration(a, sizeof a, vlo);
		fmt_duration(b, sizeof b, vhi);
		if (lines[lo - conf_keys] > lines[hi - conf_keys]) {
			ob_snprintf(why, sizeof why, "%s is more than %s (%s)",
			    a, hi->name, b);
			conf_error(errs, path, lines[lo - conf_keys],
			    lo->name, why);
		} else {
			ob_snprintf(why, sizeof why, "%s is less than %s (%s)",
			    b, lo->name, a);
			conf_error(errs, path, lines[hi - conf_keys],
			    hi->name, why);
		}
		(*nerr)++;
	}
}

/* conf_route_check: the rules that span keys of route R.  WHERE names the
 * file (or "environment"); problems of a [sender] section are reported at
 * its line. */
static int
conf_route_check(const struct conf_route *r, const char *where, FILE *errs)
{
	const char *why[6];
	int i, n = 0;

	if (r->auth_password_file != NULL && r->auth_password_command != NULL)
		why[n++] = "auth_password_file and auth_password_command: "
		    "give one of them";
	else if (r->auth_user != NULL && r->auth_password_file == NULL &&
	    r->auth_password_command == NULL)
		why[n++] = "auth_user needs auth_password_file or "
		    "auth_password_command";
	if ((r->tls_cert_file == NULL) != (r->tls_key_file == NULL))
		why[n++] = "tls_cert_file and tls_key_file go together";
	if (r->rewrite_from && r->from_address == NULL)
		why[n++] = "rewrite_from needs from_address";
	/* no relay: the MX hosts, which take no AUTH and no implicit TLS */
	if (r->nrelays == 0 && r->auth_user != NULL && n < 6)
		why[n++] = "auth_user needs a relay: mail to MX hosts "
		    "is not authenticated";
	if (r->nrelays == 0 && r->tls == CONF_TLS_IMPLICIT && n < 6)
		why[n++] = "tls implicit needs a relay: MX hosts take "
		    "STARTTLS (use tls starttls, or a tls_policy file)";
	for (i = 0; i < n && errs != NULL; i++) {
		if (r->match != NULL)
			fprintf(errs, "%s:%d: [sender %s]: %s\n", where,
			    r->line, r->match, why[i]);
		else
			fprintf(errs, "%s: %s\n", where, why[i]);
	}
	return n;
}

/* conf_resolve: each [sender] route takes the default route's value of
 * every key its section did not set; then the per-route checks.  Safe to
 * run again (after the environment changed the default route). */
static int
conf_resolve(struct conf *c, const char *where, FILE *errs)
{
	char why[WHY_MAX];
	size_t i, j;
	int nerr;

	_Static_assert(CONF_NKEYS <= 64, "conf_route.set has 64 bits");
	for (i = 0; i < c->nroutes; i++) {
		struct conf_route *r = &c->routes[i];
		unsigned set = 0, reset = 0, g;

		for (j = 0; j < CONF_NKEYS; j++)
			if (r->set & (UINT64_C(1) << j))
				set |= GB(conf_keys[j].group);
		for (g = 0; g < 9; g++)
			if (set & GB(g))
				reset |= conf_groups.resets[g];
		reset |= set & conf_groups.whole;
		for (j = 0; j < CONF_NKEYS; j++) {
			const struct conf_key *k = &conf_keys[j];

			if (!k->route || (r->set & (UINT64_C(1) << j)))
				continue;
			if (reset & GB(k->group)) {
				/* not inherited: the built-in default */
				conf_key_free(r, k);
				if (k->def != NULL && conf_set(r, k, k->def,
				    "/", why, sizeof why) == -1)
					panic("conf: default of %s: %s",
					    k->name, why);
				continue;
			}
			conf_key_copy(r, &c->route, k);
		}
	}
	nerr = conf_route_check(&c->route, where, errs);
	for (i = 0; i < c->nroutes; i++)
		nerr += conf_route_check(&c->routes[i], where, errs);
	for (i = 0; i < c->nlistens; i++) {
		struct sockaddr_storage ss;
		char spec[300];

		(void)ob_snprintf(spec, sizeof spec, strchr(c->listens[i].host,
		    ':') ? "[%s]:%d" : "%s:%d", c->listens[i].host,
		    c->listens[i].port);
		if (ob_parse_sockaddr(spec, 25, &ss) == -1) {
			if (errs != NULL)
				fprintf(errs, "%s: listen %s: not a numeric "
				    "address (use 0.0.0.0:25, [::]:25, "
				    "127.0.0.1:2525 ...)\n", where, spec);
			nerr++;
		}
	}
	if ((c->listen_tls_cert == NULL) && c->listen_tls_key != NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: listen_tls_key needs listen_tls_cert"
			    "\n", where);
		nerr++;
	}
	if (c->listen_auth_users != NULL && c->listen_tls_cert == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: listen_auth_users needs "
			    "listen_tls_cert: AUTH is only offered over TLS "
			    "(RFC 4954 4)\n", where);
		nerr++;
	}
	if (c->tls_policy != NULL) {
		/* read again at each delivery run; checked here so that a
		 * bad file is found when the configuration is */
		struct tlspol *pol;

		nerr += tlspol_load(&pol, c->tls_policy, errs);
		tlspol_free(pol);
	}
	return nerr;
}

int
conf_load_env(struct conf *c, FILE *errs)
{
	char name[64], why[WHY_MAX], *cwd, *list, *tok, *save;
	const char *v;
	size_t i, j;
	int nerr = 0, bad;

	cwd = getcwd(NULL, 0);
	for (i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		void *base = conf_base(c, NULL, k);

		(void)ob_snprintf(name, sizeof name, "OUTBOX_%s", k->name);
		for (j = 7; name[j]; j++)
			if (name[j] >= 'a' && name[j] <= 'z')
				name[j] = (char)(name[j] - 'a' + 'A');
		if ((v = getenv(name)) == NULL || *v == '\0')
			continue;
		bad = 0;
		if (k->type == CT_HOSTPORTS) {
			/* the environment's list replaces the file's */
			conf_key_free(base, k);
			list = xstrdup(v);
			save = NULL;
			for (tok = strtok_r(list, ", \t", &save); tok != NULL;
			    tok = strtok_r(NULL, ", \t", &save))
				if (conf_set(base, k, tok, cwd ? cwd : "/",
				    why, sizeof why) == -1) {
					bad = 1;
					break;
				}
			free(list);
		} else if (conf_set(base, k, v, cwd ? cwd : "/", why,
		    sizeof why) == -1)
			bad = 1;
		if (bad) {
			if (errs != NULL)
				fprintf(errs, "environment: %s: %s\n", name,
				    why);
			nerr++;
		}
	}
	free(cwd);
	/* the rules across keys, now that file and environment are in */
	return nerr + conf_resolve(c, c->path != NULL ? c->path :
	    "environment", errs);
}

const struct conf_route *
conf_route_for(const struct conf *c, const char *sender)
{
	const char *at = strrchr(sender, '@');
	size_t i;

	for (i = 0; i < c->nroutes && *sender != '\0'; i++) {
		const char *m = c->routes[i].match;

		if (m[0] == '@' ? at != NULL && ob_strcasecmp(at + 1, m + 1)
		    == 0 : ob_strcasecmp(m, sender) == 0)
			return &c->routes[i];
	}
	return &c->route;
}

/* dns_server: a numeric address, with a port or not (dns.h). */
static const char *
conf_check_dns_server(const char *v, char *why, size_t n)
{
	struct sockaddr_storage ss;
	char q[QUOTE_BUF];

	if (ob_parse_sockaddr(v, 53, &ss) == 0)
		return NULL;
	(void)ob_snprintf(why, n, "%s is not ADDR[:PORT] or [IPV6]:PORT (a "
	    "numeric address)", conf_quote(q, sizeof q, v));
	return why;
}

/* listen_allow: networks ("192.0.2.0/24", "::1", ...) separated by
 * spaces or commas; "none" for nobody (then only AUTH lets a client
 * submit). */
static const char *
conf_check_cidrs(const char *v, char *why, size_t n)
{
	char *list = xstrdup(v), *tok, *save = NULL, q[QUOTE_BUF];
	struct ob_cidr cidr;
	const char *r = NULL;

	if (strcmp(v, "none") == 0) {
		free(list);
		return NULL;
	}
	for (tok = strtok_r(list, ", \t", &save); tok != NULL && r == NULL;
	    tok = strtok_r(NULL, ", \t", &save))
		if (ob_cidr_parse(tok, &cidr) == -1) {
			(void)ob_snprintf(why, n, "%s is not a network (use "
			    "ADDR/BITS, e.g. 10.0.0.0/8 or fd00::/8, or "
			    "none)", conf_quote(q, sizeof q, tok));
			r = why;
		}
	free(list);
	return r;
}

/* tls_fingerprint: a SHA-256 digest in hex, 64 digits, colons between
 * pairs allowed ("AB:CD:..." as openssl and gnutls-cli print it). */
static const char *
conf_check_fingerprint(const char *v, char *why, size_t n)
{
	char q[QUOTE_BUF];
	size_t digits = 0;
	const char *p;

	for (p = v; *p; p++) {
		if (*p == ':' && p != v && p[1] != '\0' && p[1] != ':')
			continue;
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		    (*p >= 'A' && *p <= 'F')))
			break;
		digits++;
	}
	if (*p != '\0' || digits != 64) {
		ob_snprintf(why, n, "invalid fingerprint %s (the SHA-256 of the "
		    "certificate: 64 hex digits, colons allowed)",
		    conf_quote(q, sizeof q, v));
		return why;
	}
	return NULL;
}

/* conf_key_print: key K of BASE in the file's syntax. */
static void
conf_key_print(FILE *out, const void *base, const struct conf_key *k)
{
	char v[64];
	size_t j;

	switch (k->type) {
	case CT_STRING:
	case CT_PATH: {
		const char *s = *CFIELD(base, k, char *);

		if (s == NULL)
			fprintf(out, "# %s (none)\n", k->name);
		else
			fprintf(out, "%s %s\n", k->name, s);
		break;
	}
	case CT_BOOL:
		fprintf(out, "%s %s\n", k->name,
		    *CFIELD(base, k, int) ? "yes" : "no");
		break;
	case CT_SIZE:
		fmt_size(v, sizeof v, *CFIELD(base, k, uint64_t));
		fprintf(out, "%s %s\n", k->name, v);
		break;
	case CT_DURATION:
		if (k->off_ok && *CFIELD(base, k, int64_t) == 0) {
			fprintf(out, "%s off\n", k->name);
			break;
		}
		fmt_duration(v, sizeof v, *CFIELD(base, k, int64_t));
		fprintf(out, "%s %s\n", k->name, v);
		break;
	case CT_COUNT:
		fprintf(out, "%s %d\n", k->name, *CFIELD(base, k, int));
		break;
	case CT_RATE: {
		const struct conf_rate *rt = CFIELD(base, k, struct conf_rate);

		if (rt->count == 0)
			fprintf(out, "%s off\n", k->name);
		else
			fprintf(out, "%s %lu/%c\n", k->name,
			    (unsigned long)rt->count,
			    rt->per_ms == 1000 ? 's' : 'm');
		break;
	}
	case CT_HOSTPORTS: {
		const struct conf_relay *r =
		    *CFIELD(base, k, struct conf_relay *);
		size_t nr = *CCOUNT(base, k);

		if (nr == 0)
			fprintf(out, "# %s (none)\n", k->name);
		for (j = 0; j < nr; j++) {
			int v6 = strchr(r[j].host, ':') != NULL;

			fprintf(out, "%s %s%s%s:%d\n", k->name,
			    v6 ? "[" : "", r[j].host, v6 ? "]" : "",
			    r[j].port);
		}
		break;
	}
	case CT_ENUM: {
		int val = *CFIELD(base, k, int);
		const char *name = NULL;

		for (j = 0; k->enums[j].name != NULL; j++)
			if (k->enums[j].value == val)
				name = k->enums[j].name;
		if (name == NULL)
			panic("conf_print: %s has value %d", k->name,
			    val);
		/* cppcheck-suppress nullPointer ; panic above */
		fprintf(out, "%s %s\n", k->name, name);
		break;
	}
	default:
		panic("conf_print: key %s has type %d", k->name,
		    k->type);
	}
}

void
conf_print(const struct conf *c, FILE *out)
{
	size_t i, j;
	struct buf q;

	if (c->path != NULL) {
		buf_init(&q, 0);
		conf_quote_buf(&q, c->path, SIZE_MAX);
		fprintf(out, "# outbox %s: configuration from %s\n",
		    PACKAGE_VERSION, q.p);
		buf_free(&q);
	} else
		fprintf(out, "# outbox %s: built-in defaults\n",
		    PACKAGE_VERSION);
	for (i = 0; i < CONF_NKEYS; i++)
		conf_key_print(out, conf_keys[i].route ? (const void *)&c->route
		    : (const void *)c, &conf_keys[i]);
	for (j = 0; j < c->nroutes; j++) {
		fprintf(out, "\n[sender %s]\n", c->routes[j].match);
		for (i = 0; i < CONF_NKEYS; i++)
			if (conf_keys[i].route)
				conf_key_print(out, &c->routes[j],
				    &conf_keys[i]);
	}
}
