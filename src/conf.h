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

struct conf {
	char	*path;		/* file read, or NULL when none */
	char	*queue_dir;	/* default LOCALSTATEDIR "/spool/outbox" */
	struct conf_relay *relays;	/* "relay HOST[:PORT]", repeatable, in order */
	size_t	 nrelays;
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
