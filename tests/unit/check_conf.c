/* check_conf.c - unit tests of conf.c: the file format, every key's valid
 * and invalid values, the exact error texts, and print -> load round trips.
 *
 * Each test writes its files under a fresh mkdtemp directory (a checked
 * fixture, so it runs inside the forked test) and captures the error
 * stream with open_memstream.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "util.h"

static char tdir[256];
static char tpath[512];		/* the config file of the current test */

static void
setup(void)
{
	ck_assert_int_ne(ob_snprintf(tdir, sizeof tdir, "%s/check_conf.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"), -1);
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_ne(ob_snprintf(tpath, sizeof tpath, "%s/outbox.conf",
	    tdir), -1);
}

static void
teardown(void)
{
	char cmd[600];

	if (ob_snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir) != -1)
		(void)system(cmd);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Load DATA (LEN bytes) from tpath into a fresh default config.  Returns
 * the error count; *errs gets the error text (caller frees). */
static int
load_mem(struct conf **cp, const char *data, size_t len, char **errs)
{
	size_t elen;
	FILE *es = open_memstream(errs, &elen);
	int n;

	ck_assert_ptr_nonnull(es);
	write_file(tpath, data, len);
	*cp = conf_defaults();
	n = conf_load(*cp, tpath, es);
	fclose(es);
	return n;
}

static int
load_str(struct conf **cp, const char *data, char **errs)
{
	return load_mem(cp, data, strlen(data), errs);
}

/* "LINE: key: problem" -> "TPATH:LINE: key: problem\n" */
static char *
expect_err(const char *tail)
{
	return xasprintf("%s:%s\n", tpath, tail);
}

static char *
print_str(const struct conf *c)
{
	char *out = NULL;
	size_t len;
	FILE *fp = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(fp);
	conf_print(c, fp);
	fclose(fp);
	return out;
}

/* Does conf_print's output hold LINE as a whole line? */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

/* ---- defaults ----------------------------------------------------- */

START_TEST(defaults_values)
{
	struct conf *c = conf_defaults();

	ck_assert_ptr_null(c->path);
	ck_assert_str_eq(c->queue_dir, LOCALSTATEDIR "/spool/outbox");
	ck_assert_uint_eq(c->route.nrelays, 0);
	ck_assert_ptr_null(c->route.relays);
	ck_assert_ptr_nonnull(c->helo_name);
	ck_assert_uint_gt(strlen(c->helo_name), 0);
	ck_assert_int_eq(c->log_dest, LOG_TO_STDERR);
	ck_assert_uint_eq(c->max_message_size, 50 * 1024 * 1024);
	ck_assert_ptr_null(c->aliases);
	ck_assert_uint_eq(c->queue_max_size, 1024ULL * 1024 * 1024);
	ck_assert_int_eq(c->connect_timeout, 30 * 1000);
	ck_assert_int_eq(c->greeting_timeout, 5 * 60 * 1000);
	ck_assert_int_eq(c->command_timeout, 5 * 60 * 1000);
	ck_assert_int_eq(c->data_timeout, 10 * 60 * 1000);
	ck_assert_int_eq(c->retry_initial, 5 * 60 * 1000);
	ck_assert_int_eq(c->retry_max, 60 * 60 * 1000);
	ck_assert_int_eq(c->queue_lifetime, 5LL * 86400 * 1000);
	ck_assert_str_eq(conf_default_path(), SYSCONFDIR "/outbox.conf");
	conf_free(c);
	conf_free(NULL);
}
END_TEST

START_TEST(defaults_helo_is_hostname)
{
	struct conf *c = conf_defaults();
	char host[256] = "";

	ck_assert_int_eq(gethostname(host, sizeof host - 1), 0);
	/* The kernel's name when it is a usable HELO name, else localhost. */
	if (strchr(host, '_') == NULL && host[0] != '\0')
		ck_assert_str_eq(c->helo_name, host);
	conf_free(c);
}
END_TEST

START_TEST(defaults_print)
{
	struct conf *c = conf_defaults();
	char *out = print_str(c), *exp;

	exp = xasprintf("# outbox " PACKAGE_VERSION ": built-in defaults\n"
	    "queue_dir " LOCALSTATEDIR "/spool/outbox\n"
	    "# relay (none)\n"
	    "helo_name %s\n"
	    "log stderr\n"
	    "max_message_size 50M\n"
	    "# aliases (none)\n"
	    "queue_max_size 1G\n"
	    "connect_timeout 30s\n"
	    "greeting_timeout 5m\n"
	    "command_timeout 5m\n"
	    "data_timeout 10m\n"
	    "retry_initial 5m\n"
	    "retry_max 1h\n"
	    "queue_lifetime 5d\n"
	    "delay_warning 4h\n"
	    "# bounce_from (none)\n"
	    "# double_bounce_to (none)\n"
	    "max_connections 4\n"
	    "deliver_on_submit yes\n"
	    "shutdown_timeout 30s\n"
	    "# dns_server (none)\n"
	    "ip_version any\n"
	    "mx_port 25\n"
	    "mx_max_hosts 5\n"
	    "mx_domain_connections 2\n"
	    "# tls_policy (none)\n"
	    "# listen (none)\n"
	    "listen_allow 127.0.0.0/8 ::1\n"
	    "listen_max_clients 100\n"
	    "listen_max_per_client 10\n"
	    "listen_max_rcpt 100\n"
	    "# listen_tls_cert (none)\n"
	    "# listen_tls_key (none)\n"
	    "# listen_auth_users (none)\n"
	    "# metrics_file (none)\n"
	    "metrics_interval 1m\n"
	    "tls auto\n"
	    "tls_verify yes\n"
	    "# tls_ca_file (none)\n"
	    "tls_min_version 1.2\n"
	    "# tls_fingerprint (none)\n"
	    "# tls_cert_file (none)\n"
	    "# tls_key_file (none)\n"
	    "# auth_user (none)\n"
	    "# auth_password_file (none)\n"
	    "# auth_password_command (none)\n"
	    "auth_mech auto\n"
	    "auth_allow_plaintext no\n"
	    "# from_address (none)\n"
	    "rewrite_from no\n"
	    "relay_rate off\n", c->helo_name);
	ck_assert_str_eq(out, exp);
	free(exp);
	free(out);
	conf_free(c);
}
END_TEST

/* ---- valid values: each row is loaded alone, then printed ----------- */

static const struct {
	const char *line;	/* file content */
	const char *printed;	/* the line conf_print must show */
} valid[] = {
	{ "queue_dir /var/q\n", "queue_dir /var/q" },
	{ "queue_dir /var/my queue\n", "queue_dir /var/my queue" },
	{ "queue_dir /a#b\n", "queue_dir /a#b" },
	{ "queue_dir /\n", "queue_dir /" },
	{ "relay mx.example.com\n", "relay mx.example.com:25" },
	{ "relay mx.example.com:587\n", "relay mx.example.com:587" },
	{ "relay 192.0.2.1:2525\n", "relay 192.0.2.1:2525" },
	{ "relay [::1]:2525\n", "relay [::1]:2525" },
	{ "relay [2001:db8::1]\n", "relay [2001:db8::1]:25" },
	{ "relay [192.0.2.7]:26\n", "relay 192.0.2.7:26" },
	{ "relay [fe80::1%eth0]:25\n", "relay [fe80::1%eth0]:25" },
	{ "relay smtp_relay.example:1\n", "relay smtp_relay.example:1" },
	{ "relay localhost:65535\n", "relay localhost:65535" },
	{ "helo_name mail.example.org\n", "helo_name mail.example.org" },
	{ "helo_name host\n", "helo_name host" },
	{ "helo_name [192.0.2.1]\n", "helo_name [192.0.2.1]" },
	{ "helo_name [IPv6:2001:db8::1]\n", "helo_name [IPv6:2001:db8::1]" },
	{ "log syslog\n", "log syslog" },
	{ "log stderr\n", "log stderr" },
	{ "max_message_size 10M\n", "max_message_size 10M" },
	{ "max_message_size 0\n", "max_message_size 0" },
	{ "max_message_size 1048576\n", "max_message_size 1M" },
	{ "max_message_size 1000\n", "max_message_size 1000" },
	{ "max_message_size 2048K\n", "max_message_size 2M" },
	{ "max_message_size 512k\n", "max_message_size 512K" },
	{ "max_message_size 3g\n", "max_message_size 3G" },
	{ "max_message_size 1025K\n", "max_message_size 1025K" },
	{ "max_message_size 18446744073709551615\n",
	    "max_message_size 18446744073709551615" },
	{ "aliases /etc/aliases\n", "aliases /etc/aliases" },
	{ "queue_max_size 1M\n", "queue_max_size 1M" },
	{ "queue_max_size 16G\n", "queue_max_size 16G" },
	{ "queue_max_size 1048576\n", "queue_max_size 1M" },
	{ "connect_timeout 1\n", "connect_timeout 1s" },
	{ "connect_timeout 90\n", "connect_timeout 90s" },
	{ "connect_timeout 120\n", "connect_timeout 2m" },
	{ "connect_timeout 1d\n", "connect_timeout 1d" },
	{ "greeting_timeout 60s\n", "greeting_timeout 1m" },
	{ "command_timeout 2h\n", "command_timeout 2h" },
	{ "data_timeout 90m\n", "data_timeout 90m" },
	{ "data_timeout 24h\n", "data_timeout 1d" },
	{ "retry_initial 1s\n", "retry_initial 1s" },
	{ "retry_initial 1h\n", "retry_initial 1h" },
	{ "retry_max 30d\n", "retry_max 30d" },
	{ "retry_max 5m\n", "retry_max 5m" },
	{ "queue_lifetime 365d\n", "queue_lifetime 365d" },
	{ "queue_lifetime 36h\n", "queue_lifetime 36h" },
	{ "queue_lifetime 1M\n", "queue_lifetime 1m" },
};

START_TEST(valid_values)
{
	struct conf *c;
	char *errs = NULL, *out;
	int n = load_str(&c, valid[_i].line, &errs);

	ck_assert_msg(n == 0, "%s: %d errors: %s", valid[_i].line, n, errs);
	ck_assert_str_eq(errs, "");
	out = print_str(c);
	ck_assert_msg(has_line(out, valid[_i].printed), "want \"%s\" in:\n%s",
	    valid[_i].printed, out);
	free(out);
	free(errs);
	conf_free(c);
}
END_TEST

/* Values land in the fields in the documented units. */
START_TEST(valid_fields)
{
	struct conf *c;
	char *errs = NULL;
	int n = load_str(&c,
	    "queue_dir /srv/q\n"
	    "helo_name mx.example.net\n"
	    "log syslog\n"
	    "max_message_size 0\n"
	    "aliases /etc/mail/aliases\n"
	    "queue_max_size 512M\n"
	    "connect_timeout 7\n"
	    "greeting_timeout 2m\n"
	    "command_timeout 3m\n"
	    "data_timeout 1h\n"
	    "retry_initial 30s\n"
	    "retry_max 2h\n"
	    "queue_lifetime 2d\n", &errs);

	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(c->path, tpath);
	ck_assert_str_eq(c->queue_dir, "/srv/q");
	ck_assert_str_eq(c->helo_name, "mx.example.net");
	ck_assert_int_eq(c->log_dest, LOG_TO_SYSLOG);
	ck_assert_uint_eq(c->max_message_size, 0);
	ck_assert_str_eq(c->aliases, "/etc/mail/aliases");
	ck_assert_uint_eq(c->queue_max_size, 512ULL * 1024 * 1024);
	ck_assert_int_eq(c->connect_timeout, 7000);
	ck_assert_int_eq(c->greeting_timeout, 120000);
	ck_assert_int_eq(c->command_timeout, 180000);
	ck_assert_int_eq(c->data_timeout, 3600000);
	ck_assert_int_eq(c->retry_initial, 30000);
	ck_assert_int_eq(c->retry_max, 7200000);
	ck_assert_int_eq(c->queue_lifetime, 2LL * 86400000);
	free(errs);
	conf_free(c);
}
END_TEST

/* ---- invalid values: the exact message for each ------------------- */

static const struct {
	const char *line;
	const char *err;	/* after "FILE:" */
} invalid[] = {
	{ "frobnicate 1\n", "1: frobnicate: unknown key" },
	{ "frobnicate\n", "1: frobnicate: unknown key" },
	{ "Queue_dir /q\n", "1: Queue_dir: unknown key" },
	{ "QUEUE_DIR /q\n", "1: QUEUE_DIR: unknown key" },
	{ "queue_dir=/q\n", "1: queue_dir=/q: unknown key" },
	{ "\x01key v\n", "1: \"\\x01key\": unknown key" },
	{ "k\xc3\xa9y v\n", "1: \"k\xc3\xa9y\": unknown key" },
	{ "queue_dir\n", "1: queue_dir: missing value" },
	{ "queue_dir   \n", "1: queue_dir: missing value" },
	{ "queue_dir # comment\n", "1: queue_dir: missing value" },
	{ "relay\n", "1: relay: missing value" },
	{ "log\n", "1: log: missing value" },
	{ "max_message_size\t\n", "1: max_message_size: missing value" },
	{ "connect_timeout\n", "1: connect_timeout: missing value" },
	{ "queue_dir /a\x01z\n",
	    "1: queue_dir: control character in path \"/a\\x01z\"" },
	{ "aliases rel\x7f\n",
	    "1: aliases: control character in path \"rel\\x7f\"" },
	/* relay */
	{ "relay mx.example.com:0\n",
	    "1: relay: invalid port \"0\" (use 1 to 65535)" },
	{ "relay mx.example.com:65536\n",
	    "1: relay: invalid port \"65536\" (use 1 to 65535)" },
	{ "relay mx.example.com:\n",
	    "1: relay: invalid port \"\" (use 1 to 65535)" },
	{ "relay mx.example.com:smtp\n",
	    "1: relay: invalid port \"smtp\" (use 1 to 65535)" },
	{ "relay mx.example.com:+25\n",
	    "1: relay: invalid port \"+25\" (use 1 to 65535)" },
	{ "relay mx.example.com:99999999999999999999999\n",
	    "1: relay: invalid port \"99999999999999999999999\" "
	    "(use 1 to 65535)" },
	{ "relay :25\n", "1: relay: missing host name in \":25\"" },
	{ "relay []:25\n", "1: relay: missing host name in \"[]:25\"" },
	{ "relay ::1\n", "1: relay: IPv6 address \"::1\" must be in brackets: "
	    "[ADDRESS] or [ADDRESS]:PORT" },
	{ "relay 2001:db8::1:25\n", "1: relay: IPv6 address \"2001:db8::1:25\""
	    " must be in brackets: [ADDRESS] or [ADDRESS]:PORT" },
	{ "relay [::1:25\n", "1: relay: missing ']' in \"[::1:25\"" },
	{ "relay [::1]25\n",
	    "1: relay: junk after ']' in \"[::1]25\" (use [ADDRESS]:PORT)" },
	{ "relay [mx.example.com]:25\n",
	    "1: relay: invalid address \"mx.example.com\"" },
	{ "relay [::g]\n", "1: relay: invalid address \"::g\"" },
	{ "relay [fe80::1%]\n", "1: relay: invalid address \"fe80::1%\"" },
	{ "relay mx example com\n",
	    "1: relay: invalid host name \"mx example com\"" },
	{ "relay mx..example\n",
	    "1: relay: invalid host name \"mx..example\"" },
	{ "relay .mx\n", "1: relay: invalid host name \".mx\"" },
	{ "relay mx.\n", "1: relay: invalid host name \"mx.\"" },
	{ "relay mx/25\n", "1: relay: invalid host name \"mx/25\"" },
	{ "relay a2345678901234567890123456789012345678901234567890"
	    "12345678901234.example\n",
	    "1: relay: invalid host name \"a2345678901234567890"
	    "12345678901234567890123456789012345678901234...\"" },
	/* helo_name */
	{ "helo_name two words\n", "1: helo_name: invalid host name "
	    "\"two words\" (use a domain name or an address literal such as "
	    "[192.0.2.1] or [IPv6:2001:db8::1])" },
	{ "helo_name under_score.example\n", "1: helo_name: invalid host name "
	    "\"under_score.example\" (use a domain name or an address literal "
	    "such as [192.0.2.1] or [IPv6:2001:db8::1])" },
	{ "helo_name [::1]\n", "1: helo_name: invalid host name "
	    "\"[::1]\" (use a domain name or an address literal "
	    "such as [192.0.2.1] or [IPv6:2001:db8::1])" },
	{ "helo_name [IPv6:zz]\n", "1: helo_name: invalid host name "
	    "\"[IPv6:zz]\" (use a domain name or an address literal "
	    "such as [192.0.2.1] or [IPv6:2001:db8::1])" },
	{ "helo_name [300.1.1.1]\n", "1: helo_name: invalid host name "
	    "\"[300.1.1.1]\" (use a domain name or an address literal "
	    "such as [192.0.2.1] or [IPv6:2001:db8::1])" },
	/* log */
	{ "log file\n",
	    "1: log: invalid value \"file\" (use stderr or syslog)" },
	{ "log Syslog\n",
	    "1: log: invalid value \"Syslog\" (use stderr or syslog)" },
	{ "log stderr syslog\n",
	    "1: log: invalid value \"stderr syslog\" (use stderr or syslog)" },
	/* sizes */
	{ "max_message_size 10X\n", "1: max_message_size: invalid size \"10X\" "
	    "(use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	{ "max_message_size 10MB\n", "1: max_message_size: invalid size "
	    "\"10MB\" (use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	{ "max_message_size -1\n", "1: max_message_size: invalid size \"-1\" "
	    "(use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	{ "max_message_size M\n", "1: max_message_size: invalid size \"M\" "
	    "(use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	{ "max_message_size 1.5M\n", "1: max_message_size: invalid size "
	    "\"1.5M\" (use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	{ "max_message_size 10 M\n", "1: max_message_size: invalid size "
	    "\"10 M\" (use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	{ "max_message_size 0x10\n", "1: max_message_size: invalid size "
	    "\"0x10\" (use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	{ "max_message_size 18446744073709551616\n", "1: max_message_size: "
	    "size \"18446744073709551616\" is too large" },
	{ "max_message_size 17179869184G\n",
	    "1: max_message_size: size \"17179869184G\" is too large" },
	{ "queue_max_size 0\n", "1: queue_max_size: must be at least 1M" },
	{ "queue_max_size 1023K\n", "1: queue_max_size: must be at least 1M" },
	{ "queue_max_size 1048575\n",
	    "1: queue_max_size: must be at least 1M" },
	{ "queue_max_size big\n", "1: queue_max_size: invalid size \"big\" "
	    "(use a number of bytes or K, M, G: 512K, 10M, 1G)" },
	/* durations */
	{ "connect_timeout 0\n", "1: connect_timeout: must be at least 1s" },
	{ "connect_timeout 0s\n", "1: connect_timeout: must be at least 1s" },
	{ "greeting_timeout 0m\n", "1: greeting_timeout: must be at least 1s" },
	{ "command_timeout 0d\n", "1: command_timeout: must be at least 1s" },
	{ "data_timeout 0\n", "1: data_timeout: must be at least 1s" },
	{ "retry_initial 0\n", "1: retry_initial: must be at least 1s" },
	{ "retry_max 0h\n", "1: retry_max: must be at least 1s" },
	{ "queue_lifetime 0\n", "1: queue_lifetime: must be at least 1s" },
	{ "connect_timeout 2d\n", "1: connect_timeout: must be at most 1d" },
	{ "data_timeout 86401\n", "1: data_timeout: must be at most 1d" },
	{ "retry_max 31d\n", "1: retry_max: must be at most 30d" },
	{ "queue_lifetime 366d\n", "1: queue_lifetime: must be at most 365d" },
	{ "delay_warning 0\n", "1: delay_warning: must be at least 1s" },
	{ "delay_warning never\n", "1: delay_warning: invalid duration "
	    "\"never\" (use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "retry_initial off\n", "1: retry_initial: invalid duration \"off\" "
	    "(use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "max_connections 0\n", "1: max_connections: invalid value \"0\" "
	    "(use a number from 1 to 1000)" },
	{ "max_connections 1001\n", "1: max_connections: invalid value "
	    "\"1001\" (use a number from 1 to 1000)" },
	{ "max_connections 4x\n", "1: max_connections: invalid value \"4x\" "
	    "(use a number from 1 to 1000)" },
	{ "bounce_from MAILER-DAEMON\n", "1: bounce_from: invalid address "
	    "\"MAILER-DAEMON\" (use local@domain)" },
	{ "bounce_from <a@b.example>\n", "1: bounce_from: invalid address "
	    "\"<a@b.example>\" (use local@domain)" },
	{ "double_bounce_to a@b..example\n", "1: double_bounce_to: invalid address "
	    "\"a@b..example\" (use local@domain)" },
	{ "deliver_on_submit maybe\n", "1: deliver_on_submit: invalid value "
	    "\"maybe\" (use yes or no)" },
	{ "shutdown_timeout 2h\n", "1: shutdown_timeout: must be at most 1h" },
	{ "dns_server ns.example\n", "1: dns_server: \"ns.example\" is not "
	    "ADDR[:PORT] or [IPV6]:PORT (a numeric address)" },
	{ "dns_server 127.0.0.1:0\n", "1: dns_server: \"127.0.0.1:0\" is not "
	    "ADDR[:PORT] or [IPV6]:PORT (a numeric address)" },
	{ "dns_server [::1\n", "1: dns_server: \"[::1\" is not "
	    "ADDR[:PORT] or [IPV6]:PORT (a numeric address)" },
	{ "ip_version 5\n", "1: ip_version: invalid value \"5\" (use any, 4 "
	    "or 6)" },
	{ "mx_port 0\n", "1: mx_port: invalid value \"0\" (use a number from "
	    "1 to 65535)" },
	{ "mx_max_hosts 101\n", "1: mx_max_hosts: invalid value \"101\" (use "
	    "a number from 1 to 100)" },
	{ "mx_domain_connections 0\n", "1: mx_domain_connections: invalid "
	    "value \"0\" (use a number from 1 to 1000)" },
	{ "listen_allow 10.0.0.0/33\n", "1: listen_allow: \"10.0.0.0/33\" is "
	    "not a network (use ADDR/BITS, e.g. 10.0.0.0/8 or fd00::/8, or "
	    "none)" },
	{ "listen_allow ::1 localhost\n", "1: listen_allow: \"localhost\" is "
	    "not a network (use ADDR/BITS, e.g. 10.0.0.0/8 or fd00::/8, or "
	    "none)" },
	{ "listen 127.0.0.1:0\n",
	    "1: listen: invalid port \"0\" (use 1 to 65535)" },
	{ "connect_timeout 30x\n", "1: connect_timeout: invalid duration "
	    "\"30x\" (use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "connect_timeout 1w\n", "1: connect_timeout: invalid duration "
	    "\"1w\" (use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "connect_timeout 5ms\n", "1: connect_timeout: invalid duration "
	    "\"5ms\" (use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "connect_timeout -5s\n", "1: connect_timeout: invalid duration "
	    "\"-5s\" (use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "connect_timeout 1m30s\n", "1: connect_timeout: invalid duration "
	    "\"1m30s\" (use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "connect_timeout s\n", "1: connect_timeout: invalid duration "
	    "\"s\" (use seconds or s, m, h, d: 30s, 5m, 2h, 5d)" },
	{ "connect_timeout 9223372036854775807\n", "1: connect_timeout: "
	    "duration \"9223372036854775807\" is too large" },
	{ "connect_timeout 99999999999999999999d\n", "1: connect_timeout: "
	    "duration \"99999999999999999999d\" is too large" },
	/* issue 4: relay security */
	{ "tls always\n", "1: tls: invalid value \"always\" (use auto, "
	    "starttls, implicit, opportunistic or off)" },
	{ "tls_min_version 1.1\n", "1: tls_min_version: invalid value "
	    "\"1.1\" (use 1.2 or 1.3)" },
	{ "tls_fingerprint abcd\n", "1: tls_fingerprint: invalid fingerprint "
	    "\"abcd\" (the SHA-256 of the certificate: 64 hex digits, colons "
	    "allowed)" },
	{ "tls_fingerprint ::ab\n", "1: tls_fingerprint: invalid fingerprint "
	    "\"::ab\" (the SHA-256 of the certificate: 64 hex digits, colons "
	    "allowed)" },
	{ "auth_mech cram-md5\n", "1: auth_mech: invalid value \"cram-md5\" "
	    "(use auto, plain, login, scram-sha-256, xoauth2 or oauthbearer)" },
	{ "relay_rate 10\n", "1: relay_rate: invalid rate \"10\" (use N/s or "
	    "N/m, N from 1 to 100000, or off)" },
	{ "relay_rate 0/s\n", "1: relay_rate: invalid rate \"0/s\" (use N/s "
	    "or N/m, N from 1 to 100000, or off)" },
	{ "relay_rate 5/h\n", "1: relay_rate: invalid rate \"5/h\" (use N/s "
	    "or N/m, N from 1 to 100000, or off)" },
	{ "from_address nobody\n", "1: from_address: invalid address "
	    "\"nobody\" (use local@domain)" },
	/* [sender] sections */
	{ "[sender]\n", "1: a section is \"[sender ADDRESS]\" or "
	    "\"[sender @DOMAIN]\"" },
	{ "[recipient @x.example]\n", "1: a section is \"[sender ADDRESS]\" "
	    "or \"[sender @DOMAIN]\"" },
	{ "[sender @x..example]\n", "1: invalid sender pattern "
	    "\"@x..example\" (use local@domain or @domain)" },
	{ "[sender a@x.example]\n[sender A@x.example]\n",
	    "2: [sender A@x.example] again (first at line 1)" },
	{ "[sender @x.example]\nqueue_dir /q\n", "2: queue_dir: not a "
	    "per-sender setting: put it before the first [sender] section" },
	/* cross-key */
	{ "retry_initial 2h\n",
	    "1: retry_initial: 2h is more than retry_max (1h)" },
	{ "retry_max 1m\n",
	    "1: retry_max: 1m is less than retry_initial (5m)" },
	{ "retry_max 10m\nretry_initial 20m\n",
	    "2: retry_initial: 20m is more than retry_max (10m)" },
	{ "retry_initial 20m\nretry_max 10m\n",
	    "2: retry_max: 10m is less than retry_initial (20m)" },
};

START_TEST(invalid_values)
{
	struct conf *c;
	char *errs = NULL, *exp = expect_err(invalid[_i].err);
	int n = load_str(&c, invalid[_i].line, &errs);

	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(errs, exp);
	free(exp);
	free(errs);
	conf_free(c);
}
END_TEST

/* A bad value leaves the previous one in place. */
START_TEST(invalid_keeps_old)
{
	struct conf *c;
	char *errs = NULL;
	int n = load_str(&c, "connect_timeout 10s\nconnect_timeout 0\n"
	    "helo_name good.example\nhelo_name bad name\n", &errs);

	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(c->connect_timeout, 10000);
	ck_assert_str_eq(c->helo_name, "good.example");
	free(errs);
	conf_free(c);
}
END_TEST

/* ---- file syntax -------------------------------------------------- */

START_TEST(syntax_comments_whitespace)
{
	struct conf *c;
	char *errs = NULL;
	int n = load_str(&c,
	    "# a comment\n"
	    "\n"
	    "   \t \n"
	    "   # indented comment\n"
	    "  queue_dir   /q 1  \t\n"
	    "\thelo_name\tmx.example # trailing comment\n"
	    "aliases /etc/a#b\n"
	    "max_message_size 1M#junk\n"
	    "log syslog\t#tab before\n"
	    "connect_timeout 45s\r\n"
	    "data_timeout 20m", &errs);	/* no final newline */
	char *exp = expect_err("8: max_message_size: invalid size "
	    "\"1M#junk\" (use a number of bytes or K, M, G: 512K, 10M, 1G)");

	ck_assert_str_eq(errs, exp);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(c->queue_dir, "/q 1");
	ck_assert_str_eq(c->helo_name, "mx.example");
	ck_assert_str_eq(c->aliases, "/etc/a#b");
	ck_assert_int_eq(c->log_dest, LOG_TO_SYSLOG);
	ck_assert_int_eq(c->connect_timeout, 45000);
	ck_assert_int_eq(c->data_timeout, 1200000);
	free(exp);
	free(errs);
	conf_free(c);
}
END_TEST

START_TEST(syntax_empty_file)
{
	struct conf *c;
	char *errs = NULL, *out, *dflt;
	struct conf *d = conf_defaults();
	int n = load_str(&c, "", &errs);

	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(errs, "");
	/* Same as the defaults apart from the header line. */
	out = print_str(c);
	dflt = print_str(d);
	ck_assert_str_eq(strchr(out, '\n'), strchr(dflt, '\n'));
	free(out);
	free(dflt);
	free(errs);
	conf_free(c);
	conf_free(d);
}
END_TEST

/* Every line is checked; every error is reported, in order, and counted. */
START_TEST(syntax_many_errors)
{
	struct conf *c;
	char *errs = NULL, *exp;
	int n = load_str(&c,
	    "frobnicate 1\n"
	    "queue_dir /ok\n"
	    "relay\n"
	    "log syslog\n"
	    "connect_timeout 0\n"
	    "# comment\n"
	    "queue_max_size 1K\n"
	    "relay bad host\n"
	    "relay good.example\n"
	    "Log stderr\n", &errs);

	exp = xasprintf(
	    "%1$s:1: frobnicate: unknown key\n"
	    "%1$s:3: relay: missing value\n"
	    "%1$s:5: connect_timeout: must be at least 1s\n"
	    "%1$s:7: queue_max_size: must be at least 1M\n"
	    "%1$s:8: relay: invalid host name \"bad host\"\n"
	    "%1$s:10: Log: unknown key\n", tpath);
	ck_assert_str_eq(errs, exp);
	ck_assert_int_eq(n, 6);
	/* The good lines still took effect. */
	ck_assert_str_eq(c->queue_dir, "/ok");
	ck_assert_int_eq(c->log_dest, LOG_TO_SYSLOG);
	ck_assert_uint_eq(c->route.nrelays, 1);
	ck_assert_str_eq(c->route.relays[0].host, "good.example");
	free(exp);
	free(errs);
	conf_free(c);
}
END_TEST

START_TEST(syntax_long_lines)
{
	struct conf *c;
	char *errs = NULL, *exp, *data;
	const size_t prefix = strlen("queue_dir /");
	size_t len = 0;
	int n;

	/* Line 1: exactly CONF_LINE_MAX bytes, fine.  Line 2: one more, an
	 * error (not a truncated value).  Line 3: fine again. */
	data = xmalloc(3 * (CONF_LINE_MAX + 16));
	memcpy(data, "queue_dir /", prefix);
	memset(data + prefix, 'a', CONF_LINE_MAX - prefix);
	len = CONF_LINE_MAX;
	data[len++] = '\n';
	memcpy(data + len, "queue_dir /", prefix);
	memset(data + len + prefix, 'b', CONF_LINE_MAX + 1 - prefix);
	len += CONF_LINE_MAX + 1;
	data[len++] = '\n';
	memcpy(data + len, "log syslog\n", 11);
	len += 11;
	n = load_mem(&c, data, len, &errs);
	exp = expect_err("2: line longer than 4096 bytes");
	ck_assert_str_eq(errs, exp);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(strlen(c->queue_dir), CONF_LINE_MAX - prefix + 1);
	ck_assert_int_eq(c->queue_dir[1], 'a');
	ck_assert_int_eq(c->log_dest, LOG_TO_SYSLOG);
	free(exp);
	free(errs);
	free(data);
	conf_free(c);
}
END_TEST

START_TEST(syntax_long_last_line)
{
	struct conf *c;
	char *errs = NULL, *exp, *data = xmalloc(CONF_LINE_MAX * 3);
	int n;

	memset(data, 'x', CONF_LINE_MAX * 3);	/* no newline at all */
	n = load_mem(&c, data, CONF_LINE_MAX * 3, &errs);
	exp = expect_err("1: line longer than 4096 bytes");
	ck_assert_str_eq(errs, exp);
	ck_assert_int_eq(n, 1);
	free(exp);
	free(errs);
	free(data);
	conf_free(c);
}
END_TEST

START_TEST(syntax_nul_byte)
{
	static const char data[] = "log syslog\nqueue_dir /a\0b\nhelo_name h\n";
	struct conf *c;
	char *errs = NULL, *exp;
	int n = load_mem(&c, data, sizeof data - 1, &errs);

	exp = expect_err("2: NUL byte in line");
	ck_assert_str_eq(errs, exp);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(c->queue_dir, LOCALSTATEDIR "/spool/outbox");
	ck_assert_str_eq(c->helo_name, "h");
	ck_assert_int_eq(c->log_dest, LOG_TO_SYSLOG);
	free(exp);
	free(errs);
	conf_free(c);
}
END_TEST

START_TEST(syntax_file_too_large)
{
	struct conf *c;
	char *errs = NULL, *exp, *data;
	size_t len = CONF_FILE_MAX + 100, i;
	int n;

	/* Comment lines only: the size is the one problem. */
	data = xmalloc(len);
	for (i = 0; i < len; i++)
		data[i] = i % 64 == 63 ? '\n' : '#';
	n = load_mem(&c, data, len, &errs);
	exp = xasprintf("%s: file larger than %d bytes\n", tpath,
	    CONF_FILE_MAX);
	ck_assert_str_eq(errs, exp);
	ck_assert_int_eq(n, 1);
	free(exp);
	free(errs);
	free(data);
	conf_free(c);
}
END_TEST

/* errs may be NULL: the count still comes back. */
START_TEST(syntax_null_errs)
{
	struct conf *c = conf_defaults();

	write_file(tpath, "a 1\nb 2\n", 8);
	ck_assert_int_eq(conf_load(c, tpath, NULL), 2);
	conf_free(c);
}
END_TEST

/* ---- relays and repeated keys -------------------------------------- */

START_TEST(relay_order)
{
	struct conf *c;
	char *errs = NULL, *out;
	int n = load_str(&c,
	    "relay first.example\n"
	    "queue_dir /q\n"
	    "relay [::1]:2525\n"
	    "relay 192.0.2.9:587\n"
	    "relay first.example:26\n", &errs);

	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(c->route.nrelays, 4);
	ck_assert_str_eq(c->route.relays[0].host, "first.example");
	ck_assert_int_eq(c->route.relays[0].port, 25);
	ck_assert_str_eq(c->route.relays[1].host, "::1");
	ck_assert_int_eq(c->route.relays[1].port, 2525);
	ck_assert_str_eq(c->route.relays[2].host, "192.0.2.9");
	ck_assert_int_eq(c->route.relays[2].port, 587);
	ck_assert_str_eq(c->route.relays[3].host, "first.example");
	ck_assert_int_eq(c->route.relays[3].port, 26);
	out = print_str(c);
	ck_assert_ptr_nonnull(strstr(out, "\nrelay first.example:25\n"
	    "relay [::1]:2525\nrelay 192.0.2.9:587\nrelay first.example:26\n"));
	ck_assert_ptr_null(strstr(out, "# relay (none)"));
	free(out);
	free(errs);
	conf_free(c);
}
END_TEST

START_TEST(repeat_last_wins)
{
	struct conf *c;
	char *errs = NULL;
	int n = load_str(&c,
	    "queue_dir /one\nqueue_dir /two\n"
	    "helo_name a.example\nhelo_name b.example\n"
	    "log syslog\nlog stderr\n"
	    "max_message_size 1M\nmax_message_size 2M\n"
	    "aliases /a1\naliases /a2\n"
	    "data_timeout 1m\ndata_timeout 2m\n", &errs);

	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(c->queue_dir, "/two");
	ck_assert_str_eq(c->helo_name, "b.example");
	ck_assert_int_eq(c->log_dest, LOG_TO_STDERR);
	ck_assert_uint_eq(c->max_message_size, 2 * 1024 * 1024);
	ck_assert_str_eq(c->aliases, "/a2");
	ck_assert_int_eq(c->data_timeout, 120000);
	free(errs);
	conf_free(c);
}
END_TEST

/* conf_parse_hostport on its own. */
static const struct {
	const char *in;
	int ok;
	const char *host;
	int port;
} hostports[] = {
	{ "mx.example", 1, "mx.example", 587 },
	{ "mx.example:25", 1, "mx.example", 25 },
	{ "[::1]", 1, "::1", 587 },
	{ "[::1]:2525", 1, "::1", 2525 },
	{ "127.0.0.1:1", 1, "127.0.0.1", 1 },
	{ "", 0, NULL, 0 },
	{ "[::1", 0, NULL, 0 },
	{ "::1", 0, NULL, 0 },
	{ "mx:0", 0, NULL, 0 },
	{ "mx:65536", 0, NULL, 0 },
	{ "mx:2x", 0, NULL, 0 },
	{ "m x", 0, NULL, 0 },
	{ "[::1]:", 0, NULL, 0 },
};

START_TEST(relay_parse_hostport)
{
	char *host = NULL;
	int port = -1;
	int r = conf_parse_hostport(hostports[_i].in, 587, &host, &port);

	if (!hostports[_i].ok) {
		ck_assert_int_eq(r, -1);
		ck_assert_ptr_null(host);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(host, hostports[_i].host);
	ck_assert_int_eq(port, hostports[_i].port);
	free(host);
}
END_TEST

static const struct {
	const char *in;
	int ok, val;
} bools[] = {
	{ "yes", 1, 1 }, { "true", 1, 1 }, { "on", 1, 1 },
	{ "no", 1, 0 }, { "false", 1, 0 }, { "off", 1, 0 },
	{ "Yes", 0, 0 }, { "1", 0, 0 }, { "", 0, 0 }, { "yes ", 0, 0 },
};

START_TEST(parse_bool)
{
	int v = 42;

	if (bools[_i].ok) {
		ck_assert_int_eq(conf_parse_bool(bools[_i].in, &v), 0);
		ck_assert_int_eq(v, bools[_i].val);
	} else {
		ck_assert_int_eq(conf_parse_bool(bools[_i].in, &v), -1);
		ck_assert_int_eq(v, 42);
	}
}
END_TEST

/* ---- files and paths ----------------------------------------------- */

START_TEST(file_missing)
{
	struct conf *c = conf_defaults();
	char *errs = NULL, *p = xasprintf("%s/nope.conf", tdir), *exp;
	size_t elen;
	FILE *es = open_memstream(&errs, &elen);

	ck_assert_int_eq(conf_load(c, p, es), 1);
	fclose(es);
	exp = xasprintf("%s: %s\n", p, strerror(ENOENT));
	ck_assert_str_eq(errs, exp);
	ck_assert_str_eq(c->path, p);
	free(exp);
	free(errs);
	free(p);
	conf_free(c);
}
END_TEST

START_TEST(file_directory)
{
	struct conf *c = conf_defaults();
	char *errs = NULL, *exp;
	size_t elen;
	FILE *es = open_memstream(&errs, &elen);

	ck_assert_int_eq(conf_load(c, tdir, es), 1);
	fclose(es);
	exp = xasprintf("%s: %s\n", tdir, strerror(EISDIR));
	ck_assert_str_eq(errs, exp);
	free(exp);
	free(errs);
	conf_free(c);
}
END_TEST

START_TEST(file_unreadable)
{
	struct conf *c = conf_defaults();
	char *errs = NULL, *exp;
	size_t elen;
	FILE *es;

	/* root reads anything: nothing to test there. */
	if (geteuid() == 0) {
		conf_free(c);
		return;
	}
	write_file(tpath, "log syslog\n", 11);
	ck_assert_int_eq(chmod(tpath, 0), 0);
	es = open_memstream(&errs, &elen);
	ck_assert_int_eq(conf_load(c, tpath, es), 1);
	fclose(es);
	exp = xasprintf("%s: %s\n", tpath, strerror(EACCES));
	ck_assert_str_eq(errs, exp);
	ck_assert_int_eq(c->log_dest, LOG_TO_STDERR);
	free(exp);
	free(errs);
	conf_free(c);
}
END_TEST

/* Relative paths are taken from the file's directory, stored absolute. */
START_TEST(file_relative_paths)
{
	struct conf *c;
	char *errs = NULL, *exp, *sub, *cpath, *cwd;
	size_t elen;
	FILE *es;
	int n = load_str(&c, "queue_dir queue\naliases ./etc/aliases\n", &errs);

	ck_assert_int_eq(n, 0);
	exp = xasprintf("%s/queue", tdir);
	ck_assert_str_eq(c->queue_dir, exp);
	free(exp);
	exp = xasprintf("%s/./etc/aliases", tdir);
	ck_assert_str_eq(c->aliases, exp);
	free(exp);
	free(errs);
	conf_free(c);

	/* A relative config path: from the working directory. */
	sub = xasprintf("%s/sub", tdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	cpath = xasprintf("%s/x.conf", sub);
	write_file(cpath, "queue_dir q\n", 12);
	cwd = getcwd(NULL, 0);
	ck_assert_int_eq(chdir(tdir), 0);
	c = conf_defaults();
	es = open_memstream(&errs, &elen);
	ck_assert_int_eq(conf_load(c, "sub/x.conf", es), 0);
	fclose(es);
	/* tdir may sit under a symlinked TMPDIR: compare what getcwd says. */
	{
		char *here = getcwd(NULL, 0);

		exp = xasprintf("%s/sub/q", here);
		free(here);
	}
	ck_assert_str_eq(c->queue_dir, exp);
	conf_free(c);
	free(exp);
	free(errs);

	c = conf_defaults();
	ck_assert_int_eq(chdir(sub), 0);
	ck_assert_int_eq(conf_load(c, "x.conf", NULL), 0);
	{
		char *here = getcwd(NULL, 0);

		exp = xasprintf("%s/q", here);
		free(here);
	}
	ck_assert_str_eq(c->queue_dir, exp);
	ck_assert_int_eq(chdir(cwd), 0);
	free(exp);
	free(cwd);
	free(cpath);
	free(sub);
	conf_free(c);
}
END_TEST

/* ---- print -> load round trip ------------------------------------- */

START_TEST(print_exact)
{
	struct conf *c;
	char *errs = NULL, *out, *exp;
	int n = load_str(&c,
	    "relay a.example:587\n"
	    "relay [2001:db8::25]\n"
	    "queue_dir /srv/outbox\n"
	    "helo_name me.example\n"
	    "log syslog\n"
	    "max_message_size 0\n"
	    "aliases /etc/aliases\n"
	    "queue_max_size 3072M\n"
	    "connect_timeout 3600\n"
	    "greeting_timeout 61\n"
	    "command_timeout 1440m\n"
	    "data_timeout 1M\n"
	    "retry_initial 60\n"
	    "retry_max 48h\n"
	    "queue_lifetime 7d\n"
	    "delay_warning off\n"
	    "bounce_from postmaster@me.example\n"
	    "double_bounce_to root@me.example\n"
	    "max_connections 12\n"
	    "deliver_on_submit no\n"
	    "shutdown_timeout 120\n"
	    "dns_server 127.0.0.1:5353\n"
	    "ip_version 4\n"
	    "mx_port 2525\n"
	    "mx_max_hosts 3\n"
	    "mx_domain_connections 7\n"
	    "listen 127.0.0.1:2525\n"
	    "listen [::1]\n"
	    "listen_allow 10.0.0.0/8, fd00::/8\n"
	    "listen_max_clients 50\n"
	    "listen_max_per_client 5\n"
	    "listen_max_rcpt 20\n"
	    "tls implicit\n"
	    "tls_ca_file ca.pem\n"
	    "tls_min_version 1.3\n"
	    "tls_fingerprint ab:CD:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
	    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n"
	    "auth_user me@me.example\n"
	    "auth_password_command pass show mail\n"
	    "auth_mech scram-sha-256\n"
	    "from_address me@me.example\n"
	    "rewrite_from yes\n"
	    "relay_rate 30/m\n"
	    "[sender @other.example]\n"
	    "relay other.example:465\n"
	    "auth_user bot@other.example\n"
	    "auth_password_file /etc/outbox/other.pass\n"
	    "[sender  boss@me.example ]\n"
	    "relay_rate 1/s\n"
	    "tls_verify no\n", &errs);

	ck_assert_int_eq(n, 0);
	out = print_str(c);
	exp = xasprintf("# outbox " PACKAGE_VERSION ": configuration from "
	    "\"%s\"\n"
	    "queue_dir /srv/outbox\n"
	    "relay a.example:587\n"
	    "relay [2001:db8::25]:25\n"
	    "helo_name me.example\n"
	    "log syslog\n"
	    "max_message_size 0\n"
	    "aliases /etc/aliases\n"
	    "queue_max_size 3G\n"
	    "connect_timeout 1h\n"
	    "greeting_timeout 61s\n"
	    "command_timeout 1d\n"
	    "data_timeout 1m\n"
	    "retry_initial 1m\n"
	    "retry_max 2d\n"
	    "queue_lifetime 7d\n"
	    "delay_warning off\n"
	    "bounce_from postmaster@me.example\n"
	    "double_bounce_to root@me.example\n"
	    "max_connections 12\n"
	    "deliver_on_submit no\n"
	    "shutdown_timeout 2m\n"
	    "dns_server 127.0.0.1:5353\n"
	    "ip_version 4\n"
	    "mx_port 2525\n"
	    "mx_max_hosts 3\n"
	    "mx_domain_connections 7\n"
	    "# tls_policy (none)\n"
	    "listen 127.0.0.1:2525\n"
	    "listen [::1]:25\n"
	    "listen_allow 10.0.0.0/8, fd00::/8\n"
	    "listen_max_clients 50\n"
	    "listen_max_per_client 5\n"
	    "listen_max_rcpt 20\n"
	    "# listen_tls_cert (none)\n"
	    "# listen_tls_key (none)\n"
	    "# listen_auth_users (none)\n"
	    "# metrics_file (none)\n"
	    "metrics_interval 1m\n"
	    "tls implicit\n"
	    "tls_verify yes\n"
	    "tls_ca_file %s/ca.pem\n"
	    "tls_min_version 1.3\n"
	    "tls_fingerprint ab:CD:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n"
	    "# tls_cert_file (none)\n"
	    "# tls_key_file (none)\n"
	    "auth_user me@me.example\n"
	    "# auth_password_file (none)\n"
	    "auth_password_command pass show mail\n"
	    "auth_mech scram-sha-256\n"
	    "auth_allow_plaintext no\n"
	    "from_address me@me.example\n"
	    "rewrite_from yes\n"
	    "relay_rate 30/m\n"
	    "\n"
	    "[sender @other.example]\n"
	    "relay other.example:465\n"
	    "tls auto\n"
	    "tls_verify yes\n"
	    "# tls_ca_file (none)\n"
	    "tls_min_version 1.2\n"
	    "# tls_fingerprint (none)\n"
	    "# tls_cert_file (none)\n"
	    "# tls_key_file (none)\n"
	    "auth_user bot@other.example\n"
	    "auth_password_file /etc/outbox/other.pass\n"
	    "# auth_password_command (none)\n"
	    "auth_mech auto\n"
	    "auth_allow_plaintext no\n"
	    "# from_address (none)\n"
	    "rewrite_from no\n"
	    "relay_rate off\n"
	    "\n"
	    "[sender boss@me.example]\n"
	    "relay a.example:587\n"
	    "relay [2001:db8::25]:25\n"
	    "tls implicit\n"
	    "tls_verify no\n"
	    "tls_ca_file %s/ca.pem\n"
	    "tls_min_version 1.3\n"
	    "tls_fingerprint ab:CD:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n"
	    "# tls_cert_file (none)\n"
	    "# tls_key_file (none)\n"
	    "auth_user me@me.example\n"
	    "# auth_password_file (none)\n"
	    "auth_password_command pass show mail\n"
	    "auth_mech scram-sha-256\n"
	    "auth_allow_plaintext no\n"
	    "from_address me@me.example\n"
	    "rewrite_from yes\n"
	    "relay_rate 1/s\n", tpath, tdir, tdir);
	ck_assert_str_eq(out, exp);
	free(exp);
	free(out);
	free(errs);
	conf_free(c);
}
END_TEST

/* Print a config, load the output, print again: identical (apart from the
 * header), and the fields are equal.  Rows: the defaults and variants. */
static const char *const roundtrip[] = {
	"",
	"relay r1.example\nrelay [::1]:2525\nrelay 10.0.0.1:26\n"
	    "queue_dir /var/spool/my outbox\nhelo_name [IPv6:::1]\n"
	    "log syslog\nmax_message_size 1025\naliases /etc/al#ases\n"
	    "queue_max_size 1M\nconnect_timeout 1\ngreeting_timeout 1d\n"
	    "command_timeout 59m\ndata_timeout 23h\nretry_initial 30d\n"
	    "retry_max 30d\nqueue_lifetime 365d\n",
	"max_message_size 18446744073709551615\nqueue_max_size 1048577\n",
};

START_TEST(print_roundtrip)
{
	struct conf *c, *d;
	char *errs = NULL, *out1, *out2;
	int n = load_str(&c, roundtrip[_i], &errs);
	size_t i;

	ck_assert_msg(n == 0, "%s", errs);
	free(errs);
	out1 = print_str(c);
	n = load_str(&d, out1, &errs);
	ck_assert_msg(n == 0, "%s", errs);
	out2 = print_str(d);
	ck_assert_str_eq(strchr(out1, '\n'), strchr(out2, '\n'));
	ck_assert_str_eq(c->queue_dir, d->queue_dir);
	ck_assert_str_eq(c->helo_name, d->helo_name);
	ck_assert_uint_eq(c->route.nrelays, d->route.nrelays);
	for (i = 0; i < c->route.nrelays; i++) {
		ck_assert_str_eq(c->route.relays[i].host, d->route.relays[i].host);
		ck_assert_int_eq(c->route.relays[i].port, d->route.relays[i].port);
	}
	ck_assert_int_eq(c->log_dest, d->log_dest);
	ck_assert_uint_eq(c->max_message_size, d->max_message_size);
	if (c->aliases == NULL)
		ck_assert_ptr_null(d->aliases);
	else
		ck_assert_str_eq(c->aliases, d->aliases);
	ck_assert_uint_eq(c->queue_max_size, d->queue_max_size);
	ck_assert_int_eq(c->connect_timeout, d->connect_timeout);
	ck_assert_int_eq(c->greeting_timeout, d->greeting_timeout);
	ck_assert_int_eq(c->command_timeout, d->command_timeout);
	ck_assert_int_eq(c->data_timeout, d->data_timeout);
	ck_assert_int_eq(c->retry_initial, d->retry_initial);
	ck_assert_int_eq(c->retry_max, d->retry_max);
	ck_assert_int_eq(c->queue_lifetime, d->queue_lifetime);
	free(out1);
	free(out2);
	free(errs);
	conf_free(c);
	conf_free(d);
}
END_TEST

/* Defaults that were never loaded also read back. */
START_TEST(print_defaults_roundtrip)
{
	struct conf *c = conf_defaults(), *d;
	char *errs = NULL, *out1 = print_str(c), *out2;

	ck_assert_int_eq(load_str(&d, out1, &errs), 0);
	out2 = print_str(d);
	ck_assert_str_eq(strchr(out1, '\n'), strchr(out2, '\n'));
	free(out1);
	free(out2);
	free(errs);
	conf_free(c);
	conf_free(d);
}
END_TEST

/* tls_policy: the file is read and checked with the configuration (a
 * relative path is the configuration's directory's); a bad one is an
 * error of the configuration, at its own line. */
START_TEST(tls_policy_file)
{
	struct conf *c;
	char *errs = NULL, *pol = xasprintf("%s/policy", tdir), *exp;

	write_file(pol, "# domains\nexample.org verify\n.example.net "
	    "encrypt\n", 50);
	ck_assert_int_eq(load_str(&c, "tls_policy policy\n", &errs), 0);
	ck_assert_str_eq(c->tls_policy, pol);
	ck_assert_str_eq(errs, "");
	conf_free(c);
	free(errs);
	write_file(pol, "example.org verify\nexample.com sometimes\n", 41);
	ck_assert_int_eq(load_str(&c, "tls_policy policy\n", &errs), 1);
	exp = xasprintf("%s:2: unknown policy \"sometimes\" (none, may, "
	    "encrypt or verify)\n", pol);
	ck_assert_str_eq(errs, exp);
	conf_free(c);
	free(errs);
	free(exp);
	ck_assert_int_eq(unlink(pol), 0);
	ck_assert_int_eq(load_str(&c, "tls_policy policy\n", &errs), 1);
	exp = xasprintf("%s: No such file or directory\n", pol);
	ck_assert_str_eq(errs, exp);
	conf_free(c);
	free(errs);
	free(exp);
	free(pol);
}
END_TEST

/* Rules across a route's keys: reported with the section's line. */
static const struct {
	const char *text, *err;
} route_bad[] = {
	{ "relay r.example\nauth_user me@x.example\n",
	    ": auth_user needs auth_password_file or auth_password_command" },
	{ "relay r.example\nauth_user me\nauth_password_file /p\n"
	    "auth_password_command cat\n",
	    ": auth_password_file and auth_password_command: give one of them" },
	{ "tls_cert_file /c.pem\n",
	    ": tls_cert_file and tls_key_file go together" },
	{ "rewrite_from yes\n", ": rewrite_from needs from_address" },
	{ "relay r.example\n[sender @x.example]\nauth_user bot\n",
	    ":2: [sender @x.example]: "
	    "auth_user needs auth_password_file or auth_password_command" },
	/* the listener's rules */
	{ "listen mail.example:25\n", ": listen mail.example:25: not a "
	    "numeric address (use 0.0.0.0:25, [::]:25, 127.0.0.1:2525 ...)" },
	{ "listen_tls_key /k.pem\n", ": listen_tls_key needs listen_tls_cert" },
	{ "listen_auth_users /u\n", ": listen_auth_users needs "
	    "listen_tls_cert: AUTH is only offered over TLS (RFC 4954 4)" },
	/* no relay: the MX hosts, which take neither AUTH nor implicit TLS */
	{ "auth_user me\nauth_password_file /p\n",
	    ": auth_user needs a relay: mail to MX hosts is not authenticated" },
	{ "tls implicit\n", ": tls implicit needs a relay: MX hosts take "
	    "STARTTLS (use tls starttls, or a tls_policy file)" },
	{ "[sender @x.example]\ntls implicit\n",
	    ":1: [sender @x.example]: tls implicit needs a relay: MX hosts "
	    "take STARTTLS (use tls starttls, or a tls_policy file)" },
};

START_TEST(route_rules)
{
	struct conf *c;
	char *errs = NULL, *exp;
	int n = load_str(&c, route_bad[_i].text, &errs);

	exp = xasprintf("%s%s\n", tpath, route_bad[_i].err);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(errs, exp);
	free(exp);
	free(errs);
	conf_free(c);
}
END_TEST

/* Sections: which route a sender takes; what a section inherits. */
START_TEST(route_match)
{
	struct conf *c;
	char *errs = NULL;
	const struct conf_route *r;
	int n = load_str(&c,
	    "relay main.example:587\n"
	    "auth_user me@main.example\n"
	    "auth_password_file /etc/outbox/main.pass\n"
	    "from_address me@main.example\n"
	    "relay_rate 10/s\n"
	    "[sender boss@main.example]\n"
	    "relay_rate 1/m\n"
	    "[sender @Other.Example]\n"
	    "relay other.example:465\n"
	    "auth_user bot@other.example\n"
	    "auth_password_command pass show other\n"
	    "[sender @third.example]\n"
	    "relay third.example\n", &errs);

	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(c->nroutes, 3);
	/* another relay: the default account's secrets do not follow */
	r = conf_route_for(c, "x@third.example");
	ck_assert_ptr_eq(r, &c->routes[2]);
	ck_assert_ptr_null(r->auth_user);
	ck_assert_ptr_null(r->auth_password_file);
	ck_assert_ptr_null(r->from_address);
	ck_assert_uint_eq(r->relay_rate.count, 0);
	r = conf_route_for(c, "someone@main.example");
	ck_assert_ptr_eq(r, &c->route);
	ck_assert_ptr_eq(conf_route_for(c, ""), &c->route);
	ck_assert_ptr_eq(conf_route_for(c, "nodomain"), &c->route);
	r = conf_route_for(c, "BOSS@main.example");
	ck_assert_ptr_eq(r, &c->routes[0]);
	ck_assert_uint_eq(r->relay_rate.count, 1);
	ck_assert_int_eq(r->relay_rate.per_ms, 60000);
	ck_assert_str_eq(r->relays[0].host, "main.example");	/* inherited */
	ck_assert_str_eq(r->auth_user, "me@main.example");
	ck_assert_str_eq(r->from_address, "me@main.example");
	r = conf_route_for(c, "x@other.example");
	ck_assert_ptr_eq(r, &c->routes[1]);
	ck_assert_uint_eq(r->nrelays, 1);
	ck_assert_int_eq(r->relays[0].port, 465);
	ck_assert_str_eq(r->auth_user, "bot@other.example");
	/* a new identity inherits none of the old one's */
	ck_assert_ptr_null(r->auth_password_file);
	ck_assert_str_eq(r->auth_password_command, "pass show other");
	ck_assert_ptr_null(r->from_address);
	/* nor the old relay's rate */
	ck_assert_uint_eq(r->relay_rate.count, 0);
	ck_assert_ptr_eq(conf_route_for(c, "x@sub.other.example"), &c->route);
	free(errs);
	conf_free(c);
}
END_TEST

/* OUTBOX_<KEY>: over the file, a list for relay, inherited by sections;
 * errors name the variable. */
START_TEST(env_keys)
{
	struct conf *c;
	char *errs = NULL, *e2 = NULL;
	size_t elen;
	FILE *es;
	int n = load_str(&c,
	    "relay file.example\n"
	    "max_connections 2\n"
	    "[sender @x.example]\n"
	    "tls_verify no\n", &errs);

	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(setenv("OUTBOX_RELAY", "a.example:587, [::1]:2525",
	    1), 0);
	ck_assert_int_eq(setenv("OUTBOX_MAX_CONNECTIONS", "7", 1), 0);
	ck_assert_int_eq(setenv("OUTBOX_AUTH_USER", "env@x.example", 1), 0);
	ck_assert_int_eq(setenv("OUTBOX_AUTH_PASSWORD_FILE", "pass", 1), 0);
	ck_assert_int_eq(setenv("OUTBOX_TLS", "", 1), 0);	/* empty: unset */
	ck_assert_ptr_nonnull(es = open_memstream(&e2, &elen));
	ck_assert_int_eq(conf_load_env(c, es), 0);
	fclose(es);
	ck_assert_str_eq(e2, "");
	ck_assert_uint_eq(c->route.nrelays, 2);
	ck_assert_str_eq(c->route.relays[0].host, "a.example");
	ck_assert_int_eq(c->route.relays[0].port, 587);
	ck_assert_str_eq(c->route.relays[1].host, "::1");
	ck_assert_int_eq(c->max_connections, 7);
	ck_assert_str_eq(c->route.auth_user, "env@x.example");
	ck_assert_int_eq(c->route.auth_password_file[0], '/');	/* absolute */
	ck_assert_int_eq(c->route.tls, CONF_TLS_AUTO);
	/* the section inherits what the environment set */
	ck_assert_uint_eq(c->routes[0].nrelays, 2);
	ck_assert_str_eq(c->routes[0].auth_user, "env@x.example");
	ck_assert_int_eq(c->routes[0].tls_verify, 0);
	free(e2);
	e2 = NULL;
	ck_assert_int_eq(setenv("OUTBOX_RELAY_RATE", "fast", 1), 0);
	ck_assert_ptr_nonnull(es = open_memstream(&e2, &elen));
	ck_assert_int_eq(conf_load_env(c, es), 1);
	fclose(es);
	ck_assert_str_eq(e2, "environment: OUTBOX_RELAY_RATE: invalid rate "
	    "\"fast\" (use N/s or N/m, N from 1 to 100000, or off)\n");
	free(e2);
	free(errs);
	conf_free(c);
}
END_TEST

/* The environment may complete what the file leaves open: the rules
 * across keys are checked once both are in. */
START_TEST(env_completes_file)
{
	struct conf *c = conf_defaults();
	char *e = NULL;
	size_t elen;
	FILE *es;

	write_file(tpath, "relay a.example\nauth_user me\n", 29);
	ck_assert_ptr_nonnull(es = open_memstream(&e, &elen));
	ck_assert_int_eq(conf_load_file(c, tpath, 0, es), 0);
	ck_assert_int_eq(unsetenv("OUTBOX_AUTH_PASSWORD_FILE"), 0);
	ck_assert_int_eq(unsetenv("OUTBOX_AUTH_PASSWORD_COMMAND"), 0);
	ck_assert_int_eq(conf_load_env(c, es), 1);
	fclose(es);
	ck_assert_uint_gt(elen, 0);
	ck_assert_ptr_nonnull(strstr(e, ": auth_user needs"));
	free(e);
	conf_free(c);

	c = conf_defaults();
	ck_assert_int_eq(conf_load_file(c, tpath, 0, NULL), 0);
	ck_assert_int_eq(setenv("OUTBOX_AUTH_PASSWORD_FILE", "/p", 1), 0);
	ck_assert_int_eq(conf_load_env(c, NULL), 0);
	ck_assert_str_eq(c->route.auth_password_file, "/p");
	/* conf_load alone checks at once */
	conf_free(c);
	c = conf_defaults();
	ck_assert_int_eq(conf_load(c, tpath, NULL), 1);
	conf_free(c);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))
	tc = tcase_create("defaults");
	tcase_add_test(tc, defaults_values);
	tcase_add_test(tc, defaults_helo_is_hostname);
	tcase_add_test(tc, defaults_print);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, valid_values, 0, NELEM(valid));
	tcase_add_test(tc, valid_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, invalid_values, 0, NELEM(invalid));
	tcase_add_test(tc, invalid_keeps_old);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, syntax_comments_whitespace);
	tcase_add_test(tc, syntax_empty_file);
	tcase_add_test(tc, syntax_many_errors);
	tcase_add_test(tc, syntax_long_lines);
	tcase_add_test(tc, syntax_long_last_line);
	tcase_add_test(tc, syntax_nul_byte);
	tcase_add_test(tc, syntax_file_too_large);
	tcase_add_test(tc, syntax_null_errs);
	suite_add_tcase(s, tc);

	tc = tcase_create("relay");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, relay_order);
	tcase_add_test(tc, repeat_last_wins);
	tcase_add_loop_test(tc, relay_parse_hostport, 0, NELEM(hostports));
	tcase_add_loop_test(tc, parse_bool, 0, NELEM(bools));
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, file_missing);
	tcase_add_test(tc, file_directory);
	tcase_add_test(tc, file_unreadable);
	tcase_add_test(tc, file_relative_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tls_policy_file);
	tcase_add_loop_test(tc, route_rules, 0,
	    sizeof route_bad / sizeof route_bad[0]);
	tcase_add_test(tc, route_match);
	tcase_add_test(tc, env_keys);
	tcase_add_test(tc, env_completes_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, print_exact);
	tcase_add_loop_test(tc, print_roundtrip, 0, NELEM(roundtrip));
	tcase_add_test(tc, print_defaults_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(conf_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
