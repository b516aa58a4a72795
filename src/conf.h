/* conf.h - the configuration file: "key value" lines, '#' comments.
 *
 * A static table in conf.c lists every key with its type, default, bounds
 * and target field.  There is no global configuration: struct conf is
 * passed explicitly.  Durations are kept in milliseconds, sizes in bytes.
 */
#ifndef OUTBOX_CONF_H
#define OUTBOX_CONF_H

#include <stdint.h>
#include <stdio.h>

#include "log.h"

struct conf_relay {
	char	*host;		/* name or address literal, no brackets */
	int	 port;		/* 1..65535; default 25 */
};

/* tls: how a relay session is protected */
#define CONF_TLS_AUTO		0	/* relay port 465: implicit, else starttls */
#define CONF_TLS_STARTTLS	1	/* required (RFC 3207) */
#define CONF_TLS_IMPLICIT	2	/* from the first byte (RFC 8314) */
#define CONF_TLS_OPPORTUNISTIC	3	/* STARTTLS when offered (RFC 7435) */
#define CONF_TLS_OFF		4

/* auth_mech */
#define CONF_AUTH_AUTO		0	/* the strongest both sides have */
#define CONF_AUTH_PLAIN		1
#define CONF_AUTH_LOGIN		2
#define CONF_AUTH_SCRAM		3	/* SCRAM-SHA-256 */
#define CONF_AUTH_XOAUTH2	4
#define CONF_AUTH_OAUTHBEARER	5

/* relay_rate: at most COUNT messages per PER_MS; COUNT 0 = no limit */
struct conf_rate {
	uint32_t count;
	int64_t	 per_ms;
};

/* Where mail goes and how: the keys that a [sender PATTERN] section may
 * set.  The default route holds the file's top-level values; a section's
 * route starts from them and overrides what it sets. */
struct conf_route {
	char	*match;		/* "user@domain" or "@domain"; NULL: default */
	int	 line;		/* its [sender] line */
	struct conf_relay *relays;	/* "relay HOST[:PORT]", repeatable */
	size_t	 nrelays;
	int	 tls;		/* CONF_TLS_*; default auto */
	int	 tls_verify;	/* default yes */
	char	*tls_ca_file;	/* NULL: the system trust store */
	int	 tls_min_version;	/* 12 or 13; default 12 (TLS 1.2) */
	char	*tls_fingerprint;	/* SHA-256 pin, hex; NULL */
	char	*tls_cert_file, *tls_key_file;	/* client certificate */
	char	*auth_user;
	char	*auth_password_file;
	char	*auth_password_command;
	int	 auth_mech;	/* CONF_AUTH_* */
	int	 auth_allow_plaintext;	/* AUTH without TLS; default no */
	char	*from_address;	/* forced envelope sender; NULL */
	int	 rewrite_from;	/* ... and From: header; default no */
	struct conf_rate relay_rate;
	uint64_t set;		/* keys given in its section (internal) */
};

struct conf {
	char	*path;		/* file read, or NULL when none */
	char	*queue_dir;	/* default LOCALSTATEDIR "/spool/outbox" */
	struct conf_route route;	/* the default route */
	struct conf_route *routes;	/* [sender] sections, in file order */
	size_t	 nroutes;
	char	*helo_name;	/* default: the host's name (gethostname) */
	int	 log_dest;	/* LOG_TO_STDERR | LOG_TO_SYSLOG; default stderr */
	uint64_t max_message_size;	/* default 50M; 0 = no limit */
	char	*aliases;	/* path, or NULL (default: none) */
	uint64_t queue_max_size;	/* LMDB map limit; default 1G, min 1M */
	int64_t	 connect_timeout;	/* ms; default 30s */
	int64_t	 greeting_timeout;	/* ms; default 5m (RFC 5321 4.5.3.2.1) */
	int64_t	 command_timeout;	/* ms; default 5m */
	int64_t	 data_timeout;	/* ms; default 10m (reply to the final dot) */
	int64_t	 retry_initial;	/* ms; default 5m */
	int64_t	 retry_max;	/* ms; default 1h */
	int64_t	 queue_lifetime;	/* ms; default 5d */
	int64_t	 delay_warning;	/* ms; default 4h; 0 = off */
	char	*bounce_from;	/* DSN From:; NULL = MAILER-DAEMON@helo_name */
	char	*double_bounce_to;	/* failed bounces reported here; NULL */
	int	 max_connections;	/* daemon's delivery workers; default 4 */
	int	 deliver_on_submit;	/* no daemon: sendmail delivers; yes */
	int64_t	 shutdown_timeout;	/* ms granted to workers at SIGTERM; 30s */
	/* direct delivery (a route without relays goes to the MX hosts) */
	char	*dns_server;	/* "ADDR[:PORT]"; NULL: /etc/resolv.conf */
	int	 ip_version;	/* 0 (any), 4 or 6 */
	int	 mx_port;	/* default 25 */
	int	 mx_max_hosts;	/* addresses tried per domain; default 5 */
	int	 mx_domain_connections;	/* per domain at once; default 2 */
	char	*tls_policy;	/* per-domain TLS policy file (tlspol.h) */
	/* the SMTP listener of `outbox run` (listen.c) */
	struct conf_relay *listens;	/* "listen ADDR:PORT", repeatable */
	size_t	 nlistens;
	char	*listen_allow;	/* CIDRs who may submit; default loopback */
	int	 listen_max_clients;	/* sessions at once; default 100 */
	int	 listen_max_per_client;	/* ... from one address; default 10 */
	int	 listen_max_rcpt;	/* recipients per message; default 100 */
	char	*listen_tls_cert;	/* STARTTLS certificate chain (PEM) */
	char	*listen_tls_key;	/* its key; NULL: in listen_tls_cert */
	char	*listen_auth_users;	/* AUTH users file (authdb.h) */
	/* metrics (stats.h): the daemon rewrites the file every interval */
	char	*metrics_file;	/* Prometheus text format; NULL: none */
	int64_t	 metrics_interval;	/* ms; default 60s, at least 1s */
};

/* conf_defaults: a new configuration holding every default.  The caller
 * owns it; free with conf_free. */
struct conf *conf_defaults(void);

/* conf_load: read PATH into C, overriding defaults.  Every problem is
 * printed to ERRS as "FILE:LINE: key: problem" (an unreadable file as
 * "FILE: problem"); all lines are checked, not just up to the first error.
 * Returns the number of errors (0 = success).  A repeated single-valued
 * key: the last one wins.  "relay" accumulates.  A relative path value is
 * taken relative to PATH's directory and stored absolute.  On errors C may
 * hold some of the file's values: the caller should not use it. */
int	conf_load(struct conf *c, const char *path, FILE *errs);
/* conf_load_file: conf_load, and with CHECK 0 without the checks that
 * span keys of a route (auth_user needs a password source, ...): the
 * environment may still complete the file (conf_load_env checks then). */
int	conf_load_file(struct conf *c, const char *path, int check,
	    FILE *errs);

/* conf_load_env: every key can also be given as OUTBOX_<KEY> in the
 * environment (OUTBOX_RELAY, OUTBOX_AUTH_USER, ...); such a value replaces
 * the file's (top-level) one; a list key (relay) takes a comma- or
 * space-separated list.  Problems go to ERRS as "environment: OUTBOX_X:
 * problem".  The number of errors. */
int	conf_load_env(struct conf *c, FILE *errs);

/* conf_route_for: the route for mail from SENDER ("" = null sender: the
 * default route): the first [sender] section matching it, else the
 * default.  Borrowed from C. */
const struct conf_route *conf_route_for(const struct conf *c,
	    const char *sender);

/* conf_print: the effective configuration, every key, in the file's own
 * syntax (so it can be read back by conf_load). */
void	conf_print(const struct conf *c, FILE *out);

void	conf_free(struct conf *c);		/* NULL is fine */

/* conf_default_path: SYSCONFDIR "/outbox.conf", the file read when neither
 * -C nor OUTBOX_CONF names one.  A static string. */
const char *conf_default_path(void);

/* Limits of the file format, also enforced by conf_load. */
#define CONF_LINE_MAX	4096		/* bytes a line, newline excluded */
#define CONF_FILE_MAX	(1024 * 1024)	/* bytes per file */

/* conf_parse_hostport: "host", "host:port", "[v6addr]:port", "[v6addr]"
 * into a fresh host string and a port (DEFPORT when absent). 0 or -1. */
int	conf_parse_hostport(const char *s, int defport, char **host, int *port);

/* conf_parse_bool: "yes"/"true"/"on" -> 1, "no"/"false"/"off" -> 0, as the
 * file's bool keys take them.  0, or -1 (*OUT untouched). */
int	conf_parse_bool(const char *s, int *out);

#endif
