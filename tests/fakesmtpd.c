/* fakesmtpd.c - a scriptable SMTP server for the integration tests and the
 * benchmark.  Links libc and GnuTLS (server side of STARTTLS, RFC 3207,
 * and of implicit TLS, RFC 8314).
 *
 * The parent binds 127.0.0.1 (or --addr, an IPv4 or IPv6 address; port 0 by
 * default), publishes the port through
 * a file written atomically, and only accepts: each connection is served by
 * a forked child, so many clients can be served at once.  What a child
 * receives is recorded in --dir:
 *   transcript.<pid>        every command line received (not DATA content),
 *                           plus "!VIOLATION <what>", "!TLS ..." and
 *                           "!AUTH ..." notes; it is for humans, so AUTH
 *                           arguments show as "AUTH PLAIN ****" and AUTH
 *                           continuation lines as "****"
 *   transcript-clear.<pid>  every line received while TLS was not up,
 *                           raw: AUTH lines and continuation lines as
 *                           received, so tests can grep it for credentials
 *   msg.<pid>.<n>.eml       an accepted message as received, un-stuffed
 *   msg.<pid>.<n>.env       its envelope, "Mail-Time: SECONDS.NANOS" (when
 *                           its MAIL command arrived), "TLS: TLSv1.3" (or "TLS:
 *                           none"), with a verified client certificate
 *                           "TLS-Client: <subject DN>", and once AUTH
 *                           succeeded "AUTH: <MECH> <user>"; renamed into
 *                           place after the .eml, so whoever counts
 *                           *.env never sees half a record
 *   rejected.<pid>.<n>.eml  a message answered non-2xx after the dot
 *   dropped.<pid>.<n>.eml   the message of --drop-after-dot
 *   conn.<pid>              "open SECONDS.NANOS" when the connection came
 *                           and "close SECONDS.NANOS" when it ended (wall
 *                           clock), so tests can measure concurrency
 * <n> is the server-wide message number (1, 2, ...), kept in DIR/.counter
 * under an fcntl lock; temporary files are hidden (.tmp.*).
 *
 * Invariants: memory is bounded (a 64 KiB input buffer; DATA is streamed to
 * the file, never held whole; AUTH lines are capped at 12288 octets, RFC
 * 4954 4, and decoded into fixed buffers of that size); every record
 * visible under its final name is complete; a message is recorded before
 * its 2xx reply is sent, so a client that saw the reply finds the record.
 * All socket I/O goes through io_read and io_write, which switch to the
 * GnuTLS session once it is up.  After STARTTLS the input buffer is
 * emptied (commands pipelined behind it came in clear: RFC 3207 4.2's
 * "MUST discard"), and the EHLO and any AUTH are forgotten.
 *
 * Client checks (recorded as violations, never fatal): an 8-bit octet when
 * BODY=8BITMIME was not given or 8BITMIME not offered (RFC 6152), bare CR or
 * LF in DATA (RFC 5321 2.3.8), a text line over 1000 octets (RFC 5321
 * 4.5.3.1.6), pipelining when PIPELINING was not offered or past a command
 * that must end a group (RFC 2920 3.1).  MAIL/RCPT parameters of extensions
 * not offered get 555 (RFC 5321 4.1.1.11), SIZE above the limit 552
 * (RFC 1870).
 *
 * TLS options: --tls-cert/--tls-key load the server credential, and EHLO
 * then offers STARTTLS (unless --no-starttls; never once TLS is up);
 * --implicit-tls shakes hands right after accept; --starttls-reply R
 * answers STARTTLS with R and stays in clear; --starttls-break answers 220
 * then sends junk and closes; --require-tls answers MAIL before TLS with
 * 530 (RFC 3207 4); --tls-priority sets the GnuTLS priority string;
 * --tls-client-ca F requires a client certificate signed by F.
 *
 * AUTH options (RFC 4954; without --auth-mechs there is no AUTH):
 * --auth-mechs 'PLAIN LOGIN SCRAM-SHA-256 XOAUTH2 OAUTHBEARER' (any
 * subset; other names are advertised but get 504) is offered as "AUTH
 * <list>" in EHLO once TLS is up, or in clear too with --auth-clear; AUTH
 * when not offered gets 503 and "!VIOLATION AUTH not offered".  One
 * account: --auth-user U --auth-pass P (the bearer token for XOAUTH2 and
 * OAUTHBEARER).  --auth-require answers MAIL before AUTH with 530 5.7.0;
 * --auth-reply R ends every exchange with R instead of 235/535 (AUTH
 * counts as done only when the credentials matched and R is 2xx);
 * --scram-bad-signature sends a wrong SCRAM "v=".  Replies: "*" cancels (501 5.7.0), bad base64 501 5.5.2, a
 * response breaking the mechanism's syntax 501 5.5.2, wrong credentials
 * 535 5.7.8, success 235 2.7.0, AUTH again or inside a transaction 503.
 * The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677: 16-octet random
 * salt, 4096 iterations) uses GnuTLS's PBKDF2/HMAC; base64 is our own,
 * strict, so the client is checked against an independent decoder.
 *
 * Left to others: DSN semantics; the tests decide what to assert.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define INBUF_MIN	65536
#define MAX_RCPTS	10000
#define TEXT_LINE_MAX	1000	/* RFC 5321 4.5.3.1.6, CRLF included */
#define AUTH_LINE_MAX	12288	/* RFC 4954 4: AUTH and response lines */
#define SCRAM_ITER	4096	/* RFC 7677 4: the minimum to use */

/* Violation bits. */
#define V_8BIT		0x01
#define V_BARE_LF	0x02
#define V_BARE_CR	0x04
#define V_LONG_LINE	0x08
#define V_PIPELINING	0x10
#define V_NO_EHLO_TLS	0x20	/* MAIL right after STARTTLS, RFC 3207 4.2 */
#define V_NO_AUTH	0x40	/* AUTH not offered (or not in clear) */
#define V_LAST		V_NO_AUTH

struct rcpt_reply {
	char	*addr;
	char	*reply;
	long	 times;		/* only the first TIMES RCPTs (0 = all) */
};

static struct {
	const char	*dir;
	const char	*port_file;
	const char	*pid_file;
	const char	*addr;		/* --addr: listen address, text */
	int		 port;
	char		**ext;
	size_t		 next;
	int		 no_ehlo;
	const char	*greeting;
	struct rcpt_reply *rr;
	size_t		 nrr;
	const char	*mail_reply;
	const char	*data_reply;
	const char	*dot_reply;
	long		 drop_after_dot;
	long		 latency_ms;
	size_t		 max_line;
	long		 exit_after;
	long		 timeout_s;
	/* derived from ext */
	int		 has_8bitmime, has_pipelining, has_size, has_dsn;
	int		 has_smtputf8;
	unsigned long long size_limit;	/* 0 = none */
	/* TLS */
	const char	*tls_cert, *tls_key, *tls_priority, *tls_client_ca;
	int		 no_starttls, implicit_tls, starttls_break, require_tls;
	const char	*starttls_reply;
	gnutls_certificate_credentials_t tls_cred;	/* NULL: no TLS */
	/* AUTH (RFC 4954): offered when auth_mechs is set */
	const char	*auth_mechs;	/* space-separated, as advertised */
	const char	*auth_user, *auth_pass, *auth_reply;
	int		 auth_clear, auth_require, scram_bad_sig;
} opt;

struct conn {
	int		 fd;
	unsigned char	*in;
	size_t		 in_cap, in_off, in_len;
	char		*out;
	size_t		 out_len, out_cap;
	struct timespec	 arrival;	/* when the last read returned */
	FILE		*transcript;
	FILE		*transcript_clear;	/* lines received in clear */
	gnutls_session_t tls;			/* non-NULL once TLS is up */
	char		 tls_version[16];	/* "TLSv1.3", or "none" */
	char		*tls_client;		/* verified client DN or NULL */
	int		 tls_restarted;		/* STARTTLS done: EHLO again */
	int		 ehlo_seen;
	char		 auth_mech[16];		/* authenticated with, or "" */
	pid_t		 pid;
	unsigned	 conn_viol;	/* violations outside DATA, sticky */
	unsigned	 ntmp;
};

struct txn {
	int		 active;	/* MAIL accepted */
	char		*mail;		/* "MAIL FROM:<...> params" */
	char		*body;		/* BODY= value or NULL */
	char		**rcpt;
	size_t		 nrcpt;
	unsigned	 viol;
	unsigned long long declared_size;
	struct timespec	 mail_time;	/* when its MAIL command came */
};

static volatile sig_atomic_t got_term;

static void	 usage(void) __attribute__((noreturn));
static void	 die(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	*xmalloc(size_t n);
static void	*xrealloc(void *p, size_t n);
static char	*xstrdup(const char *s);
static long	 parse_num(const char *opt_name, const char *s, long max);
static void	 parse_ext(const char *list);
static void	 parse_args(int argc, char **argv);
static void	 write_file_atomic(const char *path, const char *text);
static int	 counter_bump(int which, unsigned long long *val);
static unsigned long long counter_read(int which);
static void	 on_term(int sig);
static void	 serve(int fd);
static void	 conn_time(const char *what);
static ssize_t	 io_read(struct conn *c, void *p, size_t n);
static ssize_t	 io_write(struct conn *c, const void *p, size_t n);
static int	 conn_flush(struct conn *c);
static int	 conn_fill(struct conn *c);
static int	 get_chunk(struct conn *c, unsigned char **p, size_t *n,
		    int *complete);
static void	 reply(struct conn *c, const char *text);
static void	 replyf(struct conn *c, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 violation(struct conn *c, struct txn *t, unsigned bit);
static void	 txn_reset(struct txn *t);
static int	 do_data(struct conn *c, struct txn *t);
static void	 do_mail(struct conn *c, struct txn *t, char *args);
static void	 do_rcpt(struct conn *c, struct txn *t, char *args);
static void	 do_ehlo(struct conn *c, struct txn *t, int ehlo, char *args);
static void	 tls_setup(void);
static int	 tls_handshake(struct conn *c);
static int	 do_starttls(struct conn *c, struct txn *t, const char *args);
static void	 record_line(struct conn *c, const char *line,
		    const char *shown);
static int	 do_auth(struct conn *c, struct txn *t, char *args);
static int	 auth_offered(const struct conn *c);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fakesmtpd --dir DIR [--port-file F] [--port N] "
	    "[--addr A]\n"
	    "  [--pid-file F]\n"
	    "  [--ext LIST|none] [--no-ehlo] [--greeting 'CODE text']\n"
	    "  [--rcpt-reply 'ADDR[#N]=CODE text']... [--mail-reply R] "
	    "[--data-reply R]\n"
	    "  [--dot-reply R] [--drop-after-dot N] [--latency MS] "
	    "[--max-line N]\n"
	    "  [--exit-after N] [--timeout SEC]\n"
	    "  [--tls-cert F --tls-key F] [--no-starttls] [--implicit-tls]\n"
	    "  [--starttls-reply R] [--starttls-break] [--require-tls]\n"
	    "  [--tls-priority P] [--tls-client-ca F]\n"
	    "  [--auth-mechs 'MECH ...' --auth-user U --auth-pass P]\n"
	    "  [--auth-clear] [--auth-require] [--auth-reply R] "
	    "[--scram-bad-signature]\n");
	exit(64);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fakesmtpd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static long
parse_num(const char *opt_name, const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 0 || v > max)
		die("%s: bad number '%s'", opt_name, s);
	return v;
}

static void
parse_ext(const char *list)
{
	char *copy, *tok, *save;
	size_t i;

	for (i = 0; i < opt.next; i++)	/* a later --ext replaces */
		free(opt.ext[i]);
	opt.next = 0;
	if (strcasecmp(list, "none") == 0 || *list == '\0')
		goto derive;
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		opt.ext = xrealloc(opt.ext, (opt.next + 1) * sizeof(*opt.ext));
		opt.ext[opt.next++] = xstrdup(tok);
	}
	free(copy);
derive:
	opt.has_8bitmime = opt.has_pipelining = opt.has_size = 0;
	opt.has_dsn = opt.has_smtputf8 = 0;
	opt.size_limit = 0;
	for (i = 0; i < opt.next; i++) {
		const char *e = opt.ext[i];

		if (strcasecmp(e, "8BITMIME") == 0)
			opt.has_8bitmime = 1;
		else if (strcasecmp(e, "PIPELINING") == 0)
			opt.has_pipelining = 1;
		else if (strcasecmp(e, "DSN") == 0)
			opt.has_dsn = 1;
		else if (strcasecmp(e, "SMTPUTF8") == 0)
			opt.has_smtputf8 = 1;
		else if (strncasecmp(e, "SIZE", 4) == 0 &&
		    /* e[4] exists: 4 octets matched.  The analyzer does not
		     * know strncasecmp; NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
		    (e[4] == '\0' || e[4] == ' ')) {
			opt.has_size = 1;
			if (e[4] == ' ')
				opt.size_limit = strtoull(e + 5, NULL, 10);
		}
	}
}

/* Options take their value as the next word or after '='. */
static void
parse_args(int argc, char **argv)
{
	int i;

	opt.greeting = "220 fakesmtpd ESMTP";
	opt.max_line = 1000;
	opt.timeout_s = 300;
	parse_ext("PIPELINING,8BITMIME,SIZE 52428800,ENHANCEDSTATUSCODES");
	for (i = 1; i < argc; i++) {
		char name[64];
		const char *a = argv[i], *val = NULL, *eq;
		size_t nl;

		if (strncmp(a, "--", 2) != 0)
			usage();
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a) : strlen(a);
		if (nl >= sizeof(name))
			usage();
		memcpy(name, a, nl);
		name[nl] = '\0';
		if (strcmp(name, "--no-ehlo") == 0) {
			opt.no_ehlo = 1;
			continue;
		}
		if (strcmp(name, "--no-starttls") == 0) {
			opt.no_starttls = 1;
			continue;
		}
		if (strcmp(name, "--implicit-tls") == 0) {
			opt.implicit_tls = 1;
			continue;
		}
		if (strcmp(name, "--starttls-break") == 0) {
			opt.starttls_break = 1;
			continue;
		}
		if (strcmp(name, "--require-tls") == 0) {
			opt.require_tls = 1;
			continue;
		}
		if (strcmp(name, "--auth-clear") == 0) {
			opt.auth_clear = 1;
			continue;
		}
		if (strcmp(name, "--auth-require") == 0) {
			opt.auth_require = 1;
			continue;
		}
		if (strcmp(name, "--scram-bad-signature") == 0) {
			opt.scram_bad_sig = 1;
			continue;
		}
		if (strcmp(name, "--help") == 0)
			usage();
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			die("%s needs a value", name);

		if (strcmp(name, "--dir") == 0)
			opt.dir = val;
		else if (strcmp(name, "--port-file") == 0)
			opt.port_file = val;
		else if (strcmp(name, "--pid-file") == 0)
			opt.pid_file = val;
		else if (strcmp(name, "--port") == 0)
			opt.port = (int)parse_num(name, val, 65535);
		else if (strcmp(name, "--addr") == 0)
			opt.addr = val;
		else if (strcmp(name, "--ext") == 0)
			parse_ext(val);
		else if (strcmp(name, "--greeting") == 0)
			opt.greeting = val;
		else if (strcmp(name, "--rcpt-reply") == 0) {
			const char *e = strchr(val, '='), *h;
			size_t alen;

			if (e == NULL || e == val || strlen(e + 1) < 3)
				die("--rcpt-reply wants ADDR[#N]=CODE text");
			opt.rr = xrealloc(opt.rr, (opt.nrr + 1) *
			    sizeof(*opt.rr));
			h = memchr(val, '#', (size_t)(e - val));
			alen = (size_t)((h != NULL ? h : e) - val);
			opt.rr[opt.nrr].addr = xmalloc(alen + 1);
			memcpy(opt.rr[opt.nrr].addr, val, alen);
			opt.rr[opt.nrr].addr[alen] = '\0';
			opt.rr[opt.nrr].times = 0;
			if (h != NULL) {
				char num[32];
				size_t hl = (size_t)(e - h - 1);

				if (hl == 0 || hl >= sizeof num)
					die("--rcpt-reply: bad #N");
				memcpy(num, h + 1, hl);
				num[hl] = '\0';
				opt.rr[opt.nrr].times = (long)parse_num(name,
				    num, 1000000);
			}
			opt.rr[opt.nrr].reply = xstrdup(e + 1);
			opt.nrr++;
		} else if (strcmp(name, "--mail-reply") == 0)
			opt.mail_reply = val;
		else if (strcmp(name, "--data-reply") == 0)
			opt.data_reply = val;
		else if (strcmp(name, "--dot-reply") == 0)
			opt.dot_reply = val;
		else if (strcmp(name, "--drop-after-dot") == 0)
			opt.drop_after_dot = parse_num(name, val, LONG_MAX);
		else if (strcmp(name, "--latency") == 0)
			opt.latency_ms = parse_num(name, val, 600000);
		else if (strcmp(name, "--max-line") == 0)
			opt.max_line = (size_t)parse_num(name, val, 1 << 24);
		else if (strcmp(name, "--exit-after") == 0)
			opt.exit_after = parse_num(name, val, LONG_MAX);
		else if (strcmp(name, "--timeout") == 0)
			opt.timeout_s = parse_num(name, val, 86400);
		else if (strcmp(name, "--tls-cert") == 0)
			opt.tls_cert = val;
		else if (strcmp(name, "--tls-key") == 0)
			opt.tls_key = val;
		else if (strcmp(name, "--tls-priority") == 0)
			opt.tls_priority = val;
		else if (strcmp(name, "--tls-client-ca") == 0)
			opt.tls_client_ca = val;
		else if (strcmp(name, "--auth-mechs") == 0) {
			if (strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_ ") != strlen(val) ||
			    strspn(val, " ") == strlen(val))
				die("--auth-mechs wants upper-case names "
				    "separated by spaces");
			opt.auth_mechs = val;
		} else if (strcmp(name, "--auth-user") == 0)
			opt.auth_user = val;
		else if (strcmp(name, "--auth-pass") == 0)
			opt.auth_pass = val;
		else if (strcmp(name, "--auth-reply") == 0) {
			if (strlen(val) < 3)
				die("--auth-reply wants 'CODE text'");
			opt.auth_reply = val;
		} else if (strcmp(name, "--starttls-reply") == 0) {
			if (strlen(val) < 3)
				die("--starttls-reply wants 'CODE text'");
			opt.starttls_reply = val;
		} else
			usage();
	}
	if (opt.dir == NULL)
		usage();
	if ((opt.tls_cert == NULL) != (opt.tls_key == NULL))
		die("--tls-cert and --tls-key go together");
	if (opt.implicit_tls && opt.tls_cert == NULL)
		die("--implicit-tls needs --tls-cert and --tls-key");
	if (opt.max_line < 8)
		die("--max-line too small");
	if (opt.auth_mechs != NULL && (opt.auth_user == NULL ||
	    opt.auth_pass == NULL))
		die("--auth-mechs needs --auth-user and --auth-pass");
	if (opt.auth_mechs == NULL && (opt.auth_user || opt.auth_pass ||
	    opt.auth_reply || opt.auth_clear || opt.auth_require ||
	    opt.scram_bad_sig))
		die("the --auth-* options need --auth-mechs");
	if (opt.auth_user != NULL && (strlen(opt.auth_user) > 255 ||
	    strlen(opt.auth_pass) > 4096))
		die("--auth-user/--auth-pass too long");
}

static void
write_file_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		die("path too long: %s", path);
	if ((f = fopen(tmp, "w")) == NULL)
		die("%s: %s", tmp, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		die("rename %s: %s", path, strerror(errno));
}

/* The server-wide counters live in DIR/.counter as "SEQ ACCEPTED\n",
 * updated under an fcntl write lock: 0 = messages received (dot seen),
 * 1 = messages accepted.  Returns -1 on error. */
static int
counter_bump(int which, unsigned long long *val)
{
	char path[PATH_MAX], txt[64];
	unsigned long long v[2] = { 0, 0 };
	struct flock fl;
	ssize_t n;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/.counter", opt.dir);
	if ((fd = open(path, O_RDWR | O_CREAT, 0644)) < 0)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLKW, &fl) < 0)
		if (errno != EINTR)
			goto fail;
	n = pread(fd, txt, sizeof(txt) - 1, 0);
	if (n < 0)
		goto fail;
	txt[n] = '\0';
	if (n > 0 && sscanf(txt, "%llu %llu", &v[0], &v[1]) != 2)
		goto fail;
	v[which]++;
	n = snprintf(txt, sizeof(txt), "%llu %llu\n", v[0], v[1]);
	if (pwrite(fd, txt, (size_t)n, 0) != n || ftruncate(fd, n) != 0)
		goto fail;
	*val = v[which];
	rc = 0;
fail:
	close(fd);	/* drops the lock */
	return rc;
}

static unsigned long long
counter_read(int which)
{
	char path[PATH_MAX], txt[64];
	unsigned long long v[2] = { 0, 0 };
	struct flock fl;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/.counter", opt.dir);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLKW, &fl) == 0) {
		n = pread(fd, txt, sizeof(txt) - 1, 0);
		if (n > 0) {
			txt[n] = '\0';
			if (sscanf(txt, "%llu %llu", &v[0], &v[1]) != 2)
				v[0] = v[1] = 0;
		}
	}
	close(fd);
	return v[which];
}

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* ---- socket I/O: the only two functions that touch the socket -------- */

/* Through the TLS session once it is up (the socket is blocking; records
 * wait at most --timeout, gnutls_record_set_timeout).  A peer closing
 * without close_notify is EOF: SMTP has QUIT for its own end. */
static ssize_t
io_read(struct conn *c, void *p, size_t n)
{
	ssize_t r;

	if (c->tls != NULL) {
		do
			r = gnutls_record_recv(c->tls, p, n);
		while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (r < 0) {
			if (c->transcript)
				fprintf(c->transcript, "!TLS read: %s\n",
				    gnutls_strerror((int)r));
			errno = EIO;
			return -1;
		}
		return r;
	}
	do
		r = read(c->fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t
io_write(struct conn *c, const void *p, size_t n)
{
	ssize_t r;

	if (c->tls != NULL) {
		do
			r = gnutls_record_send(c->tls, p, n);
		while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
		if (r < 0) {
			errno = EIO;
			return -1;
		}
		return r;
	}
	do
		r = write(c->fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* ---- TLS ------------------------------------------------------------- */

/* tls_setup: load the server credential once, in the parent. */
static void
tls_setup(void)
{
	int r;

	if (opt.tls_cert == NULL) {
		if (opt.tls_client_ca != NULL)
			die("--tls-client-ca needs --tls-cert");
		return;
	}
	if ((r = gnutls_certificate_allocate_credentials(&opt.tls_cred)) < 0)
		die("gnutls: %s", gnutls_strerror(r));
	r = gnutls_certificate_set_x509_key_file(opt.tls_cred, opt.tls_cert,
	    opt.tls_key, GNUTLS_X509_FMT_PEM);
	if (r < 0)
		die("--tls-cert %s --tls-key %s: %s", opt.tls_cert,
		    opt.tls_key, gnutls_strerror(r));
	if (opt.tls_client_ca != NULL &&
	    gnutls_certificate_set_x509_trust_file(opt.tls_cred,
	    opt.tls_client_ca, GNUTLS_X509_FMT_PEM) <= 0)
		die("--tls-client-ca %s: no certificate loaded",
		    opt.tls_client_ca);
}

/* tls_handshake: as server on c->fd; 0 with c->tls set, or -1 (recorded
 * in the transcript) and the caller ends the connection. */
static int
tls_handshake(struct conn *c)
{
	gnutls_session_t s;
	const char *name, *where = NULL;
	const gnutls_datum_t *peer;
	unsigned status, npeer = 0;
	int r;

	if ((r = gnutls_init(&s, GNUTLS_SERVER)) < 0)
		die("gnutls_init: %s", gnutls_strerror(r));
	if (opt.tls_priority != NULL)
		r = gnutls_priority_set_direct(s, opt.tls_priority, &where);
	else
		r = gnutls_set_default_priority(s);
	if (r < 0)
		die("--tls-priority at '%s': %s", where ? where : "?",
		    gnutls_strerror(r));
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, opt.tls_cred);
	if (opt.tls_client_ca != NULL)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_transport_set_int(s, c->fd);
	gnutls_handshake_set_timeout(s, (unsigned)opt.timeout_s * 1000);
	gnutls_record_set_timeout(s, (unsigned)opt.timeout_s * 1000);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r == 0 && opt.tls_client_ca != NULL) {
		r = gnutls_certificate_verify_peers2(s, &status);
		if (r == 0 && status != 0)
			r = GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	}
	if (r < 0) {
		if (c->transcript)
			fprintf(c->transcript, "!TLS handshake failed: %s\n",
			    gnutls_strerror(r));
		gnutls_deinit(s);
		return -1;
	}
	c->tls = s;
	name = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
	if (name == NULL)
		name = "TLS?";
	if (strncmp(name, "TLS", 3) == 0)
		snprintf(c->tls_version, sizeof c->tls_version, "TLSv%s",
		    name + 3);
	else
		snprintf(c->tls_version, sizeof c->tls_version, "%s", name);
	peer = gnutls_certificate_get_peers(s, &npeer);
	if (peer != NULL && npeer > 0) {
		gnutls_x509_crt_t crt;
		gnutls_datum_t dn = { NULL, 0 };

		if (gnutls_x509_crt_init(&crt) == 0) {
			if (gnutls_x509_crt_import(crt, &peer[0],
			    GNUTLS_X509_FMT_DER) == 0 &&
			    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0)
				c->tls_client = xstrdup((char *)dn.data);
			gnutls_free(dn.data);
			gnutls_x509_crt_deinit(crt);
		}
	}
	if (c->transcript)
		fprintf(c->transcript, "!TLS %s %s%s%s\n", c->tls_version,
		    gnutls_cipher_get_name(gnutls_cipher_get(s)),
		    c->tls_client ? " client " : "",
		    c->tls_client ? c->tls_client : "");
	/* serve() frees c->tls_client; the analyzer loses it (gnutls_free is
	 * a function pointer).  NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	return 0;
}

/* do_starttls: RFC 3207 4.  0 to go on, -1 to end the connection. */
static int
do_starttls(struct conn *c, struct txn *t, const char *args)
{
	static const char junk[] = "\x16\x03\x03\x00\x02garbage, not TLS\r\n";
	int offered = opt.tls_cred != NULL || opt.starttls_reply != NULL ||
	    opt.starttls_break;

	if (c->tls != NULL) {
		reply(c, "503 5.5.1 TLS already active");
		return 0;
	}
	if (!offered || opt.no_starttls) {
		reply(c, "502 5.5.1 STARTTLS not offered");
		return 0;
	}
	if (*args != '\0') {
		reply(c, "501 5.5.4 STARTTLS takes no parameters");
		return 0;
	}
	if (opt.starttls_reply != NULL) {
		reply(c, opt.starttls_reply);
		return 0;
	}
	reply(c, "220 2.0.0 Ready to start TLS");
	if (conn_flush(c) < 0)
		return -1;
	if (opt.starttls_break) {
		io_write(c, junk, sizeof junk - 1);
		if (c->transcript)
			fprintf(c->transcript, "!TLS broken on purpose\n");
		return -1;
	}
	/* RFC 3207 4.2: forget everything learnt in clear, input included
	 * (anything pipelined behind STARTTLS is an injection). */
	c->in_off = c->in_len = 0;
	txn_reset(t);
	c->ehlo_seen = 0;
	c->auth_mech[0] = '\0';
	c->tls_restarted = 1;
	return tls_handshake(c);
}

/* Send the queued replies.  The transcript goes to disk first, so a
 * client that has seen a reply finds the command recorded. */
static int
conn_flush(struct conn *c)
{
	size_t off = 0;

	if (c->transcript)
		fflush(c->transcript);
	while (off < c->out_len) {
		ssize_t w = io_write(c, c->out + off, c->out_len - off);

		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	c->out_len = 0;
	return 0;
}

/* Flush, then read more input: 1 read, 0 EOF, -1 error or timeout.
 * Replies are flushed only here, before blocking, so the replies to a
 * pipelined group leave together (RFC 2920 3.2). */
static int
conn_fill(struct conn *c)
{
	struct pollfd pfd;
	ssize_t r;
	int pr;

	if (conn_flush(c) < 0)
		return -1;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len);
		c->in_off = 0;
	}
	if (c->in_len == c->in_cap)
		return -1;	/* caller bug: buffer full */
	if (c->tls != NULL && gnutls_record_check_pending(c->tls) > 0)
		goto read;	/* decrypted already: poll would not see it */
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	do
		pr = poll(&pfd, 1, (int)opt.timeout_s * 1000);
	while (pr < 0 && errno == EINTR);
	if (pr <= 0)
		return -1;
read:
	r = io_read(c, c->in + c->in_len, c->in_cap - c->in_len);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &c->arrival);
	c->in_len += (size_t)r;
	return 1;
}

/* Next chunk of input: a whole line up to and including LF (*complete =
 * 1), or, when the buffer is full without a LF, all of it (*complete = 0).
 * *p points into the buffer until the next call.  1 ok, 0 EOF, -1 error. */
static int
get_chunk(struct conn *c, unsigned char **p, size_t *n, int *complete)
{
	for (;;) {
		unsigned char *s = c->in + c->in_off;
		unsigned char *lf = memchr(s, '\n', c->in_len);
		size_t len;
		int r;

		if (lf != NULL || c->in_len == c->in_cap) {
			len = lf ? (size_t)(lf - s) + 1 : c->in_len;
			*p = s;
			*n = len;
			*complete = lf != NULL;
			c->in_off += len;
			c->in_len -= len;
			if (c->in_len == 0)
				c->in_off = 0;
			return 1;
		}
		if ((r = conn_fill(c)) <= 0)
			return r;
	}
}

static void
sleep_until(const struct timespec *t)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) ==
	    EINTR)
		;
}

/* Queue a reply.  TEXT may hold several lines separated by a newline or
 * by the two characters "\n" (for shells without $'...').  With --latency
 * the reply waits until LATENCY after the input that caused it arrived:
 * one-way delay, so the replies to a pipelined group cost one wait. */
static void
reply(struct conn *c, const char *text)
{
	size_t n = strlen(text);
	size_t need = c->out_len + n + 3;
	const char *s;

	if (opt.latency_ms > 0) {
		struct timespec t = c->arrival;

		t.tv_sec += opt.latency_ms / 1000;
		t.tv_nsec += (opt.latency_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		sleep_until(&t);
	}
	if (need * 2 > c->out_cap) {	/* "\n" adds at most one per char */
		c->out_cap = need * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	for (s = text; *s != '\0'; s++) {
		if (*s == '\n' || (s[0] == '\\' && s[1] == 'n')) {
			if (s[*s == '\\' ? 2 : 1] == '\0')
				break;	/* a trailing newline adds nothing */
			c->out[c->out_len++] = '\r';
			c->out[c->out_len++] = '\n';
			if (*s == '\\')
				s++;
		} else
			c->out[c->out_len++] = *s;
	}
	c->out[c->out_len++] = '\r';
	c->out[c->out_len++] = '\n';
}

static void
replyf(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	reply(c, line);
}

static const char *
viol_name(unsigned bit)
{
	switch (bit) {
	case V_8BIT:		return "8bit";
	case V_BARE_LF:		return "bare-lf";
	case V_BARE_CR:		return "bare-cr";
	case V_LONG_LINE:	return "long-line";
	case V_PIPELINING:	return "pipelining";
	case V_NO_EHLO_TLS:	return "no EHLO after STARTTLS";
	case V_NO_AUTH:		return "AUTH not offered";
	}
	return "?";
}

/* rr_count: one more RCPT matched --rcpt-reply number I; how many so
 * far, across connections (children): DIR/rcpt-reply.I holds one line
 * "SECONDS.NANOS" per match, so tests can see when each came. */
static long
rr_count(size_t i)
{
	char path[PATH_MAX], line[32];
	struct timespec ts;
	struct stat st;
	int fd, n;

	snprintf(path, sizeof path, "%s/rcpt-reply.%zu", opt.dir, i);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644)) == -1)
		die("open %s: %s", path, strerror(errno));
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof line, "%010lld.%09ld\n",
	    (long long)ts.tv_sec, ts.tv_nsec);
	if (write(fd, line, (size_t)n) != n || fstat(fd, &st) == -1)
		die("write %s: %s", path, strerror(errno));
	close(fd);
	return (long)(st.st_size / n);
}

/* Record a client violation once per message (T) or connection. */
static void
violation(struct conn *c, struct txn *t, unsigned bit)
{
	unsigned *set = t ? &t->viol : &c->conn_viol;

	if (*set & bit)
		return;
	*set |= bit;
	if (c->transcript)
		fprintf(c->transcript, "!VIOLATION %s\n", viol_name(bit));
}

static void
txn_reset(struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		free(t->rcpt[i]);
	free(t->rcpt);
	free(t->mail);
	free(t->body);
	memset(t, 0, sizeof(*t));
}

/* Parse "<path>" at *s (quoted strings may hold '>'); returns a malloc'd
 * path without brackets and advances *s, or NULL on bad syntax. */
static char *
parse_path(char **s)
{
	char *p = *s, *start, *out;
	int quoted = 0;

	if (*p != '<')
		return NULL;
	start = ++p;
	for (; *p != '\0'; p++) {
		if (*p == '\\' && quoted && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '>' && !quoted)
			break;
	}
	if (*p != '>')
		return NULL;
	out = xmalloc((size_t)(p - start) + 1);
	memcpy(out, start, (size_t)(p - start));
	out[p - start] = '\0';
	*s = p + 1;
	return out;
}

static int
reply_is(const char *r, char digit)
{
	return r[0] == digit;
}

static void
do_ehlo(struct conn *c, struct txn *t, int ehlo, char *args)
{
	size_t i, n;
	int starttls, auth;

	txn_reset(t);
	while (*args == ' ')
		args++;
	if (*args == '\0') {
		reply(c, "501 5.5.4 Domain name required");
		return;
	}
	if (ehlo && opt.no_ehlo) {
		reply(c, "502 5.5.1 EHLO not implemented");
		return;
	}
	c->ehlo_seen = 1;
	/* STARTTLS is offered in clear only (RFC 3207 4.2). */
	starttls = c->tls == NULL && !opt.no_starttls &&
	    (opt.tls_cred != NULL || opt.starttls_reply != NULL ||
	    opt.starttls_break);
	auth = auth_offered(c);
	n = opt.next + (starttls ? 1 : 0) + (auth ? 1 : 0);
	if (!ehlo || n == 0) {
		replyf(c, "250 fakesmtpd greets %.200s", args);
		return;
	}
	replyf(c, "250-fakesmtpd greets %.200s", args);
	for (i = 0; i < opt.next; i++)
		replyf(c, "250%c%s", i + 1 == n ? ' ' : '-', opt.ext[i]);
	if (auth)
		replyf(c, "250%cAUTH %s", starttls ? '-' : ' ',
		    opt.auth_mechs);
	if (starttls)
		reply(c, "250 STARTTLS");
}

static void
do_mail(struct conn *c, struct txn *t, char *args)
{
	char *path, *params, *tok, *save;
	char *body = NULL;
	unsigned long long size = 0;

	if (t->active) {
		reply(c, "503 5.5.1 Nested MAIL command");
		return;
	}
	if ((path = parse_path(&args)) == NULL) {
		reply(c, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	params = xstrdup(args);
	for (tok = strtok_r(args, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (strncasecmp(tok, "SIZE=", 5) == 0 && opt.has_size) {
			char *end;

			errno = 0;
			size = strtoull(tok + 5, &end, 10);
			if (errno || end == tok + 5 || *end != '\0') {
				reply(c, "501 5.5.4 Bad SIZE parameter");
				goto fail;
			}
		} else if (strncasecmp(tok, "BODY=", 5) == 0 &&
		    opt.has_8bitmime) {
			if (strcasecmp(tok + 5, "8BITMIME") != 0 &&
			    strcasecmp(tok + 5, "7BIT") != 0) {
				reply(c, "501 5.5.4 Bad BODY parameter");
				goto fail;
			}
			free(body);
			body = xstrdup(tok + 5);
		} else if ((strncasecmp(tok, "RET=", 4) == 0 ||
		    strncasecmp(tok, "ENVID=", 6) == 0) && opt.has_dsn) {
			;
		} else if (strcasecmp(tok, "SMTPUTF8") == 0 &&
		    opt.has_smtputf8) {
			;
		} else {
			replyf(c, "555 5.5.4 Unsupported parameter %.100s",
			    tok);
			goto fail;
		}
	}
	if (opt.size_limit && size > opt.size_limit) {
		reply(c, "552 5.3.4 Message size exceeds fixed limit");
		goto fail;
	}
	if (opt.mail_reply) {
		reply(c, opt.mail_reply);
		if (!reply_is(opt.mail_reply, '2'))
			goto fail;
	} else
		reply(c, "250 2.1.0 ok");
	t->active = 1;
	t->mail_time = c->arrival;
	t->declared_size = size;
	t->body = body;
	body = NULL;
	t->mail = xmalloc(strlen(path) + strlen(params) + 16);
	snprintf(t->mail, strlen(path) + strlen(params) + 16,
	    "MAIL FROM:<%s>%s", path, params);
fail:
	free(body);
	free(path);
	free(params);
}

static void
do_rcpt(struct conn *c, struct txn *t, char *args)
{
	char *path, *tok, *save, *params;
	const char *r = "250 2.1.5 ok";
	size_t i, n;

	if (!t->active) {
		reply(c, "503 5.5.1 MAIL first");
		return;
	}
	if ((path = parse_path(&args)) == NULL) {
		reply(c, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	params = xstrdup(args);
	for (tok = strtok_r(args, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((strncasecmp(tok, "NOTIFY=", 7) == 0 ||
		    strncasecmp(tok, "ORCPT=", 6) == 0) && opt.has_dsn)
			continue;
		replyf(c, "555 5.5.4 Unsupported parameter %.100s", tok);
		goto done;
	}
	if (t->nrcpt >= MAX_RCPTS) {
		reply(c, "452 4.5.3 Too many recipients");
		goto done;
	}
	for (i = 0; i < opt.nrr; i++)
		if (strcasecmp(opt.rr[i].addr, path) == 0 ||
		    strcmp(opt.rr[i].addr, "*") == 0) {
			if (opt.rr[i].times > 0 &&
			    rr_count(i) > opt.rr[i].times)
				break;	/* used up: the default reply */
			r = opt.rr[i].reply;
			break;
		}
	reply(c, r);
	if (!reply_is(r, '2'))
		goto done;
	n = strlen(path) + strlen(params) + 16;
	t->rcpt = xrealloc(t->rcpt, (t->nrcpt + 1) * sizeof(*t->rcpt));
	t->rcpt[t->nrcpt] = xmalloc(n);
	snprintf(t->rcpt[t->nrcpt], n, "RCPT TO:<%s>%s", path, params);
	t->nrcpt++;
done:
	free(path);
	free(params);
}

/* ---- AUTH (RFC 4954) ---------------------------------------------------
 *
 * One account (--auth-user, --auth-pass; for XOAUTH2 and OAUTHBEARER the
 * password is the bearer token).  Each mechanism returns an auth_res; the
 * exchange ends in auth_finish, which sends 235 or 535 (or --auth-reply).
 * Client lines are read with auth_read and recorded raw in
 * transcript-clear, as "****" in the transcript.  Every buffer is bounded
 * by AUTH_LINE_MAX; decoded data never exceeds it either. */

enum auth_res {
	AUTH_R_OK,	/* the credentials match */
	AUTH_R_BAD,	/* they do not: 535 */
	AUTH_R_OVER,	/* a reply was sent, the exchange is over */
	AUTH_R_GONE	/* the connection is gone */
};

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_encode: RFC 4648 4 with padding, NUL-terminated; the length, or -1
 * when OUTSZ is too small. */
static int
b64_encode(const void *in, size_t n, char *out, size_t outsz)
{
	const unsigned char *s = in;
	size_t i, o = 0;

	if ((n + 2) / 3 * 4 + 1 > outsz || n > INT_MAX / 2)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16 |
		    (unsigned long)s[i + 1] << 8 | s[i + 2];

		out[o++] = b64_alpha[v >> 18 & 63];
		out[o++] = b64_alpha[v >> 12 & 63];
		out[o++] = b64_alpha[v >> 6 & 63];
		out[o++] = b64_alpha[v & 63];
	}
	if (i < n) {
		unsigned long v = (unsigned long)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		out[o++] = b64_alpha[v >> 18 & 63];
		out[o++] = b64_alpha[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alpha[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* b64_decode: strict RFC 4648 4 (padding required, no whitespace, pad
 * bits zero), the independent check of the client's encoder.  The length
 * written to OUT (NUL-terminated too: OUTSZ holds one more), or -1. */
static int
b64_decode(const char *in, size_t n, unsigned char *out, size_t outsz)
{
	size_t i, o = 0, pad = 0;
	unsigned long v = 0;

	if (n % 4 != 0 || n / 4 * 3 + 1 > outsz)
		return -1;
	for (i = 0; i < n; i++) {
		const char *q;
		int d;

		if (in[i] == '=') {
			/* only at the end, at most two */
			if (i < n - 2 || (i == n - 2 && in[n - 1] != '='))
				return -1;
			pad++;
			d = 0;
		} else if (in[i] == '\0' ||
		    (q = strchr(b64_alpha, in[i])) == NULL)
			return -1;
		else
			d = (int)(q - b64_alpha);
		v = v << 6 | (unsigned long)d;
		if (i % 4 == 3) {
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8 & 255);
			out[o++] = (unsigned char)(v & 255);
			v = 0;
		}
	}
	if (pad > 0) {
		/* the bits under the padding must be zero (o >= 3 here: the
		 * padded group was written) */
		if (o < 3 || out[o - 1] != 0 || (pad == 2 && out[o - 2] != 0))
			return -1;
		o -= pad;
	}
	out[o] = '\0';
	return (int)o;
}

/* AUTH is offered once TLS is up, or in clear with --auth-clear. */
static int
auth_offered(const struct conn *c)
{
	return opt.auth_mechs != NULL && (c->tls != NULL || opt.auth_clear);
}

/* auth_listed: MECH (any case) is in --auth-mechs. */
static int
auth_listed(const char *mech)
{
	const char *s = opt.auth_mechs;
	size_t ml = strlen(mech);

	while (*s != '\0') {
		size_t l;

		s += strspn(s, " ");
		l = strcspn(s, " ");
		if (l == ml && l > 0 && strncasecmp(s, mech, l) == 0)
			return 1;
		s += l;
	}
	return 0;
}

/* auth_note: a "!AUTH ..." line for humans; never holds a secret. */
static void
auth_note(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
auth_note(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->transcript == NULL)
		return;
	fputs("!AUTH ", c->transcript);
	va_start(ap, fmt);
	vfprintf(c->transcript, fmt, ap);
	va_end(ap);
	fputc('\n', c->transcript);
}

/* auth_challenge: "334 <base64 of DATA>" ("334 " for nothing). */
static void
auth_challenge(struct conn *c, const void *data, size_t n)
{
	char line[AUTH_LINE_MAX];

	memcpy(line, "334 ", 4);
	if (b64_encode(data, n, line + 4, sizeof line - 4) < 0)
		die("auth challenge too long");
	reply(c, line);
}

/* auth_decode: base64 TEXT into OUT (AUTH_LINE_MAX); "=" is the empty
 * initial response (RFC 4954 4).  The length, or AUTH_R_OVER after a 501
 * when TEXT is not base64. */
static int
auth_decode(struct conn *c, const char *text, int initial,
    unsigned char *out)
{
	int n;

	if (initial && strcmp(text, "=") == 0) {
		out[0] = '\0';
		return 0;
	}
	if ((n = b64_decode(text, strlen(text), out, AUTH_LINE_MAX)) < 0) {
		auth_note(c, "response is not base64");
		reply(c, "501 5.5.2 Cannot decode response");
		return -1;
	}
	return n;
}

/* auth_read: the client's next line, decoded into OUT (AUTH_LINE_MAX);
 * the length, or -1 with *res set: AUTH_R_OVER after a reply (cancel
 * "*": 501 per RFC 4954 4; not base64: 501; too long: 500 5.5.6),
 * AUTH_R_GONE when the connection is lost. */
static int
auth_read(struct conn *c, unsigned char *out, enum auth_res *res)
{
	unsigned char *p;
	char *line;
	size_t n;
	int complete, r;

	/* Bytes already here came before the challenge was sent. */
	if (c->in_len > 0)
		violation(c, NULL, V_PIPELINING);
	*res = AUTH_R_GONE;
	if (get_chunk(c, &p, &n, &complete) <= 0)
		return -1;
	if (!complete) {
		/* 64 KiB without a LF: not a response, end the session */
		record_line(c, "(over-long line)", NULL);
		reply(c, "500 5.5.6 Authentication exchange line is too "
		    "long");
		return -1;
	}
	line = (char *)p;
	n--;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	else
		violation(c, NULL, V_BARE_LF);
	line[n] = '\0';
	record_line(c, line, "****");
	*res = AUTH_R_OVER;
	if (n + 2 > AUTH_LINE_MAX) {
		reply(c, "500 5.5.6 Authentication exchange line is too "
		    "long");
		return -1;
	}
	if (strcmp(line, "*") == 0) {
		auth_note(c, "canceled by the client");
		reply(c, "501 5.7.0 Authentication canceled");
		return -1;
	}
	if ((r = auth_decode(c, line, 0, out)) < 0)
		return -1;
	return r;
}

/* auth_first: the first response: the initial response IR when the
 * AUTH command had one, else the answer to an empty "334 ". */
static int
auth_first(struct conn *c, const char *ir, unsigned char *out,
    enum auth_res *res)
{
	int n;

	if (ir == NULL) {
		reply(c, "334 ");
		return auth_read(c, out, res);
	}
	*res = AUTH_R_OVER;
	if ((n = auth_decode(c, ir, 1, out)) < 0)
		return -1;
	return n;
}

/* Equal strings, in time independent of where they differ. */
static int
auth_eq(const void *a, size_t an, const void *b, size_t bn)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	if (an != bn)
		return 0;
	for (i = 0; i < an; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

static int
auth_eq_str(const void *a, size_t an, const char *s)
{
	return auth_eq(a, an, s, strlen(s));
}

/* auth_malformed: a response that breaks the mechanism's syntax. */
static enum auth_res
auth_malformed(struct conn *c, const char *mech, const char *why)
{
	auth_note(c, "%s: malformed response: %s", mech, why);
	reply(c, "501 5.5.2 Malformed authentication response");
	return AUTH_R_OVER;
}

/* RFC 4616 2: [authzid] NUL authcid NUL passwd.  The authzid may be
 * empty or the user itself (no proxy authorization here). */
static enum auth_res
auth_plain(struct conn *c, const char *ir)
{
	unsigned char b[AUTH_LINE_MAX];
	const unsigned char *id, *pw, *z1, *z2;
	enum auth_res res;
	int n;

	if ((n = auth_first(c, ir, b, &res)) < 0)
		return res;
	if ((z1 = memchr(b, '\0', (size_t)n)) == NULL ||
	    (z2 = memchr(z1 + 1, '\0', (size_t)(b + n - z1 - 1))) == NULL ||
	    memchr(z2 + 1, '\0', (size_t)(b + n - z2 - 1)) != NULL)
		return auth_malformed(c, "PLAIN", "not authzid NUL authcid "
		    "NUL passwd");
	id = z1 + 1;
	pw = z2 + 1;
	if (z1 != b && !auth_eq_str(b, (size_t)(z1 - b), opt.auth_user)) {
		auth_note(c, "PLAIN: authzid is not the user");
		return AUTH_R_BAD;
	}
	if (!auth_eq_str(id, (size_t)(z2 - id), opt.auth_user) ||
	    !auth_eq_str(pw, (size_t)(b + n - pw), opt.auth_pass)) {
		auth_note(c, "PLAIN: wrong user or password");
		return AUTH_R_BAD;
	}
	return AUTH_R_OK;
}

/* LOGIN (draft-murchison-sasl-login): "Username:", "Password:" prompts;
 * an initial response is the user name. */
static enum auth_res
auth_login(struct conn *c, const char *ir)
{
	static const char pu[] = "Username:", pp[] = "Password:";
	unsigned char user[AUTH_LINE_MAX], pass[AUTH_LINE_MAX];
	enum auth_res res;
	int nu, np;

	if (ir != NULL) {
		if ((nu = auth_decode(c, ir, 1, user)) < 0)
			return AUTH_R_OVER;
	} else {
		auth_challenge(c, pu, sizeof pu - 1);
		if ((nu = auth_read(c, user, &res)) < 0)
			return res;
	}
	auth_challenge(c, pp, sizeof pp - 1);
	if ((np = auth_read(c, pass, &res)) < 0)
		return res;
	if (!auth_eq_str(user, (size_t)nu, opt.auth_user) ||
	    !auth_eq_str(pass, (size_t)np, opt.auth_pass)) {
		auth_note(c, "LOGIN: wrong user or password");
		return AUTH_R_BAD;
	}
	return AUTH_R_OK;
}

/* scram_value: in MSG at *POS, the attribute "K=value" up to ',' or the
 * end; the value (NUL-terminated in place, MSG is ours) or NULL. */
static char *
scram_value(char *msg, size_t *pos, char k)
{
	char *s = msg + *pos, *v;
	size_t l;

	if (s[0] != k || s[1] != '=')
		return NULL;
	v = s + 2;
	l = strcspn(v, ",");
	*pos += 2 + l;
	if (v[l] == ',') {
		v[l] = '\0';
		(*pos)++;
	}
	return v;
}

/* scram_unescape: RFC 5802 5.1 saslname: "=2C" is ',', "=3D" is '=',
 * any other '=' is an error.  In place; -1 on error. */
static int
scram_unescape(char *s)
{
	char *o = s;

	while (*s != '\0') {
		if (*s != '=')
			*o++ = *s++;
		else if (strncmp(s, "=2C", 3) == 0) {
			*o++ = ',';
			s += 3;
		} else if (strncmp(s, "=3D", 3) == 0) {
			*o++ = '=';
			s += 3;
		} else
			return -1;
	}
	*o = '\0';
	return 0;
}

/* scram_nonce_ok: RFC 5802 7: printable ASCII except ',', not empty. */
static int
scram_nonce_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || *s == ',')
			return 0;
	return 1;
}

/* SCRAM-SHA-256, server side (RFC 5802 3 and 5, RFC 7677): a random 16
 * octet salt, 4096 iterations; the proof is checked against --auth-pass
 * (ASCII: SASLprep is the identity there), and "v=" proves we know it
 * too (--scram-bad-signature sends a wrong one: the client must cancel).
 * Channel binding is not offered (no -PLUS): a "p=" client is wrong. */
static enum auth_res
auth_scram(struct conn *c, const char *ir)
{
	unsigned char cf[AUTH_LINE_MAX], cfin[AUTH_LINE_MAX];
	unsigned char cb[AUTH_LINE_MAX];
	unsigned char salt[16], rnd[18], proof[AUTH_LINE_MAX];
	unsigned char sp[32], ck[32], sk[32], stored[32], csig[32];
	unsigned char ssig[32], srvkey[32];
	char gs2[AUTH_LINE_MAX], bare[AUTH_LINE_MAX], sfirst[AUTH_LINE_MAX];
	char nonce[AUTH_LINE_MAX], b64[64], *am = NULL;
	char *p, *name, *cnonce, *cbind, *rn, *pr;
	gnutls_datum_t key, sd;
	enum auth_res res;
	size_t pos, i, amlen;
	int n, m;

	if ((n = auth_first(c, ir, cf, &res)) < 0)
		return res;
	if (strlen((char *)cf) != (size_t)n)
		return auth_malformed(c, "SCRAM-SHA-256", "NUL in "
		    "client-first");
	/* gs2-header: gs2-cbind-flag "," [authzid] "," */
	p = (char *)cf;
	if (p[0] == 'p')
		return auth_malformed(c, "SCRAM-SHA-256", "channel binding "
		    "asked of a server without SCRAM-SHA-256-PLUS");
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return auth_malformed(c, "SCRAM-SHA-256", "gs2-cbind-flag");
	pos = 2;
	if (p[pos] == 'a' && p[pos + 1] == '=')
		pos += strcspn(p + pos, ",");
	if (p[pos] != ',')
		return auth_malformed(c, "SCRAM-SHA-256", "gs2-header");
	pos++;
	memcpy(gs2, p, pos);
	gs2[pos] = '\0';
	snprintf(bare, sizeof bare, "%s", p + pos);
	/* client-first-message-bare: [reserved-mext ","] username ","
	 * nonce ["," extensions]; "m=" is a mandatory extension we do not
	 * know, so it fails (RFC 5802 5.1). */
	if (p[pos] == 'm')
		return auth_malformed(c, "SCRAM-SHA-256", "m= extension");
	if ((name = scram_value(p, &pos, 'n')) == NULL ||
	    (cnonce = scram_value(p, &pos, 'r')) == NULL)
		return auth_malformed(c, "SCRAM-SHA-256", "client-first "
		    "wants n=,r=");
	if (scram_unescape(name) < 0 || *name == '\0')
		return auth_malformed(c, "SCRAM-SHA-256", "saslname");
	if (!scram_nonce_ok(cnonce))
		return auth_malformed(c, "SCRAM-SHA-256", "client nonce");
	/* server-first-message: r=cnonce+snonce, s=salt, i=iterations */
	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) < 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, salt, sizeof salt) < 0)
		die("gnutls_rnd failed");
	b64_encode(rnd, sizeof rnd, b64, sizeof b64);	/* 24, no ',' */
	if ((size_t)snprintf(nonce, sizeof nonce, "%s%s", cnonce, b64) >=
	    sizeof nonce - 64)
		return auth_malformed(c, "SCRAM-SHA-256", "client nonce too "
		    "long");
	m = snprintf(sfirst, sizeof sfirst, "r=%s,s=", nonce);
	b64_encode(salt, sizeof salt, sfirst + m, sizeof sfirst - (size_t)m);
	m = (int)strlen(sfirst);
	snprintf(sfirst + m, sizeof sfirst - (size_t)m, ",i=%d", SCRAM_ITER);
	auth_challenge(c, sfirst, strlen(sfirst));

	/* client-final-message: channel-binding "," nonce ["," ext] ","
	 * proof */
	if ((n = auth_read(c, cfin, &res)) < 0)
		return res;
	p = (char *)cfin;
	if (strlen(p) != (size_t)n)
		return auth_malformed(c, "SCRAM-SHA-256", "NUL in "
		    "client-final");
	if ((pr = strstr(p, ",p=")) == NULL)
		return auth_malformed(c, "SCRAM-SHA-256", "no proof");
	while (strstr(pr + 1, ",p=") != NULL)
		pr = strstr(pr + 1, ",p=");
	*pr = '\0';			/* p is client-final-without-proof */
	pr += 3;
	amlen = strlen(bare) + strlen(sfirst) + strlen(p) + 3;
	am = xmalloc(amlen);
	snprintf(am, amlen, "%s,%s,%s", bare, sfirst, p);
	pos = 0;
	if ((cbind = scram_value(p, &pos, 'c')) == NULL ||
	    (rn = scram_value(p, &pos, 'r')) == NULL) {
		res = auth_malformed(c, "SCRAM-SHA-256", "client-final wants "
		    "c=,r=,...,p=");
		goto out;
	}
	if ((m = b64_decode(cbind, strlen(cbind), cb, sizeof cb)) < 0 ||
	    !auth_eq_str(cb, (size_t)m, gs2)) {
		res = auth_malformed(c, "SCRAM-SHA-256", "c= is not the "
		    "gs2-header of client-first");
		goto out;
	}
	if (strcmp(rn, nonce) != 0) {
		res = auth_malformed(c, "SCRAM-SHA-256", "r= is not the "
		    "nonce sent");
		goto out;
	}
	if (b64_decode(pr, strlen(pr), proof, sizeof proof) != 32) {
		res = auth_malformed(c, "SCRAM-SHA-256", "p= is not 32 "
		    "octets of base64");
		goto out;
	}

	/* SaltedPassword := Hi(password, salt, i); ClientKey, StoredKey,
	 * ClientSignature := HMAC(StoredKey, AuthMessage); the proof is
	 * ClientKey XOR ClientSignature (RFC 5802 3). */
	key.data = (unsigned char *)opt.auth_pass;
	key.size = (unsigned)strlen(opt.auth_pass);
	sd.data = salt;
	sd.size = sizeof salt;
	if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &sd, SCRAM_ITER, sp,
	    sizeof sp) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, sp, sizeof sp, "Client Key",
	    10, ck) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, ck, sizeof ck, stored) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, stored, sizeof stored, am,
	    strlen(am), csig) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, sp, sizeof sp, "Server Key",
	    10, srvkey) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, srvkey, sizeof srvkey, am,
	    strlen(am), ssig) < 0) {
		reply(c, "454 4.7.0 Temporary authentication failure");
		res = AUTH_R_OVER;
		goto out;
	}
	for (i = 0; i < sizeof sk; i++)
		sk[i] = proof[i] ^ csig[i];	/* the client's ClientKey */
	if (!auth_eq_str(name, strlen(name), opt.auth_user) ||
	    !auth_eq(sk, sizeof sk, ck, sizeof ck)) {
		auth_note(c, "SCRAM-SHA-256: wrong user or proof");
		res = AUTH_R_BAD;
		goto out;
	}
	/* server-final-message, in a 334: SMTP's 235 carries no data
	 * (RFC 4954 4); the client answers with an empty line. */
	if (opt.scram_bad_sig) {
		ssig[0] ^= 0x01;
		auth_note(c, "SCRAM-SHA-256: sending a wrong server signature");
	}
	memcpy(sfirst, "v=", 2);
	b64_encode(ssig, sizeof ssig, sfirst + 2, sizeof sfirst - 2);
	auth_challenge(c, sfirst, strlen(sfirst));
	if ((n = auth_read(c, cfin, &res)) < 0)
		goto out;
	if (n != 0) {
		res = auth_malformed(c, "SCRAM-SHA-256", "not an empty line "
		    "after server-final");
		goto out;
	}
	res = AUTH_R_OK;
out:
	explicit_bzero(sp, sizeof sp);
	explicit_bzero(ck, sizeof ck);
	explicit_bzero(sk, sizeof sk);
	free(am);
	return res;
}

/* auth_kv: in the ^A-separated pairs at S (N octets, ending in
 * "^A^A"), the first value of KEY: *VAL and *VLEN, or *VAL NULL.  S is
 * not changed.  -1 when the list is not "key=value^A"... "^A". */
static int
auth_kv(const char *s, size_t n, const char *key, const char **val,
    size_t *vlen)
{
	size_t kl = strlen(key);
	const char *e = s + n, *q;

	*val = NULL;
	*vlen = 0;
	if (n < 2 || e[-1] != '\x01' || e[-2] != '\x01')
		return -1;
	while (s < e - 1) {
		q = memchr(s, '\x01', (size_t)(e - s));
		if (q == NULL || q == s || memchr(s, '=',
		    (size_t)(q - s)) == NULL)
			return -1;	/* an empty or bad pair */
		if ((size_t)(q - s) > kl && memcmp(s, key, kl) == 0 &&
		    s[kl] == '=' && *val == NULL) {
			*val = s + kl + 1;
			*vlen = (size_t)(q - *val);
		}
		s = q + 1;
	}
	return 0;
}

/* auth_bearer: the "auth=" value is "Bearer <token>" (RFC 6750 2.1). */
static int
auth_bearer_ok(const char *v, size_t n)
{
	return n > 7 && strncasecmp(v, "Bearer ", 7) == 0 &&
	    auth_eq_str(v + 7, n - 7, opt.auth_pass);
}

/* XOAUTH2 (Google's): "user=" U ^A "auth=Bearer " T ^A ^A.  A wrong
 * token gets a 334 with a JSON error; the client answers an empty line,
 * then 535. */
static enum auth_res
auth_xoauth2(struct conn *c, const char *ir)
{
	static const char err[] = "{\"status\":\"401\",\"schemes\":"
	    "\"bearer\",\"scope\":\"https://mail.google.com/\"}";
	unsigned char b[AUTH_LINE_MAX];
	enum auth_res res;
	const char *user, *auth;
	size_t ul, al;
	int n;

	if ((n = auth_first(c, ir, b, &res)) < 0)
		return res;
	if (n < 5 || memcmp(b, "user=", 5) != 0 ||
	    auth_kv((char *)b, (size_t)n, "user", &user, &ul) < 0 ||
	    auth_kv((char *)b, (size_t)n, "auth", &auth, &al) < 0 ||
	    user == NULL || auth == NULL)
		return auth_malformed(c, "XOAUTH2", "not user=U^Aauth=Bearer "
		    "T^A^A");
	if (auth_eq_str(user, ul, opt.auth_user) && auth_bearer_ok(auth, al))
		return AUTH_R_OK;
	auth_note(c, "XOAUTH2: wrong user or token");
	auth_challenge(c, err, sizeof err - 1);
	if ((n = auth_read(c, b, &res)) < 0)
		return res;
	if (n != 0)
		auth_note(c, "XOAUTH2: a non-empty answer to the error");
	return AUTH_R_BAD;
}

/* OAUTHBEARER (RFC 7628 3.1): gs2-header ^A key=value ^A ... ^A ^A with
 * "auth=Bearer T"; "a=" (optional) must be the user.  On a wrong token,
 * a 334 with the JSON error (3.2.2), the client's ^A (3.2.3), then 535. */
static enum auth_res
auth_oauthbearer(struct conn *c, const char *ir)
{
	static const char err[] = "{\"status\":\"invalid_token\","
	    "\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}";
	unsigned char b[AUTH_LINE_MAX];
	enum auth_res res;
	char *s, *authz = NULL;
	const char *auth, *host, *port, *q;
	size_t gl, al, hl, pl, ql;
	int n, ok;

	if ((n = auth_first(c, ir, b, &res)) < 0)
		return res;
	s = (char *)b;
	/* gs2-header: "n," or "y," then [ "a=" saslname ] "," */
	if ((s[0] != 'n' && s[0] != 'y') || s[1] != ',')
		return auth_malformed(c, "OAUTHBEARER", "gs2-header");
	gl = 2;
	if (s[2] == 'a' && s[3] == '=') {
		authz = s + 4;
		gl = 4 + strcspn(s + 4, ",\x01");
	}
	if (gl + 1 >= (size_t)n || s[gl] != ',' || s[gl + 1] != '\x01')
		return auth_malformed(c, "OAUTHBEARER", "gs2-header");
	s[gl] = '\0';
	if (authz != NULL && scram_unescape(authz) < 0)
		return auth_malformed(c, "OAUTHBEARER", "a= saslname");
	q = s + gl + 2;
	ql = (size_t)n - gl - 2;
	if (auth_kv(q, ql, "auth", &auth, &al) < 0 ||
	    auth_kv(q, ql, "host", &host, &hl) < 0 ||
	    auth_kv(q, ql, "port", &port, &pl) < 0 || auth == NULL)
		return auth_malformed(c, "OAUTHBEARER", "no auth=, or pairs "
		    "not key=value^A...^A");
	auth_note(c, "OAUTHBEARER host=%.*s port=%.*s",
	    host ? (int)(hl > 100 ? 100 : hl) : 6, host ? host : "(none)",
	    port ? (int)(pl > 20 ? 20 : pl) : 6, port ? port : "(none)");
	ok = auth_bearer_ok(auth, al) && (authz == NULL ||
	    auth_eq_str(authz, strlen(authz), opt.auth_user));
	if (ok)
		return AUTH_R_OK;
	auth_note(c, "OAUTHBEARER: wrong user or token");
	auth_challenge(c, err, sizeof err - 1);
	if ((n = auth_read(c, b, &res)) < 0)
		return res;
	if (n != 1 || b[0] != '\x01')
		auth_note(c, "OAUTHBEARER: the answer to the error is not "
		    "^A (RFC 7628 3.2.3)");
	return AUTH_R_BAD;
}

/* do_auth: "AUTH mechanism [initial-response]" (RFC 4954 4).  0 to go
 * on, -1 to end the connection. */
static int
do_auth(struct conn *c, struct txn *t, char *args)
{
	static const struct {
		const char *name;
		enum auth_res (*fn)(struct conn *, const char *);
	} mechs[] = {
		{ "PLAIN", auth_plain },
		{ "LOGIN", auth_login },
		{ "SCRAM-SHA-256", auth_scram },
		{ "XOAUTH2", auth_xoauth2 },
		{ "OAUTHBEARER", auth_oauthbearer },
	};
	char *ir;
	enum auth_res res;
	size_t i, ml;

	if (!auth_offered(c)) {
		violation(c, NULL, V_NO_AUTH);
		reply(c, "503 5.5.1 AUTH not offered");
		return 0;
	}
	if (c->auth_mech[0] != '\0') {
		reply(c, "503 5.5.1 Already authenticated");
		return 0;
	}
	if (t->active) {	/* RFC 4954 4: not during a transaction */
		reply(c, "503 5.5.1 AUTH not permitted during a mail "
		    "transaction");
		return 0;
	}
	ml = strcspn(args, " ");
	ir = args[ml] == ' ' ? args + ml + 1 : NULL;
	args[ml] = '\0';
	if (ml == 0 || (ir != NULL && (*ir == '\0' || strchr(ir, ' ')))) {
		reply(c, "501 5.5.4 Syntax: AUTH mechanism "
		    "[initial-response]");
		return 0;
	}
	for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (strcasecmp(args, mechs[i].name) == 0)
			break;
	if (i == sizeof mechs / sizeof mechs[0] || !auth_listed(args)) {
		reply(c, "504 5.5.4 Unrecognized authentication type");
		return 0;
	}
	res = mechs[i].fn(c, ir);
	switch (res) {
	case AUTH_R_GONE:
		return -1;
	case AUTH_R_OVER:
		return 0;
	case AUTH_R_OK:
		auth_note(c, "%s %s: credentials ok", mechs[i].name,
		    opt.auth_user);
		if (opt.auth_reply != NULL && !reply_is(opt.auth_reply, '2')) {
			reply(c, opt.auth_reply);
			return 0;
		}
		snprintf(c->auth_mech, sizeof c->auth_mech, "%s",
		    mechs[i].name);
		reply(c, opt.auth_reply ? opt.auth_reply :
		    "235 2.7.0 Authentication successful");
		return 0;
	case AUTH_R_BAD:
		reply(c, opt.auth_reply ? opt.auth_reply :
		    "535 5.7.8 Authentication credentials invalid");
		return 0;
	default:
		die("do_auth: result %d", (int)res);
	}
}

static int
write_env(const char *tmp, const char *final, struct conn *c, struct txn *t)
{
	unsigned v = t->viol | c->conn_viol, bit;
	FILE *f;
	size_t i;

	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%s\n", t->mail);
	for (i = 0; i < t->nrcpt; i++)
		fprintf(f, "%s\n", t->rcpt[i]);
	if (t->body)
		fprintf(f, "BODY=%s\n", t->body);
	for (bit = 1; bit <= V_LAST; bit <<= 1)
		if (v & bit)
			fprintf(f, "VIOLATION %s\n", viol_name(bit));
	fprintf(f, "TLS: %s\n", c->tls_version);
	fprintf(f, "Mail-Time: %lld.%09ld\n", (long long)t->mail_time.tv_sec,
	    t->mail_time.tv_nsec);
	if (c->tls_client != NULL)
		fprintf(f, "TLS-Client: %s\n", c->tls_client);
	if (c->auth_mech[0] != '\0')
		fprintf(f, "AUTH: %s %s\n", c->auth_mech, opt.auth_user);
	if (fclose(f) != 0) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, final);
}

/* Read the message after 354 into a hidden temp file, then record it and
 * reply.  Returns 0 to go on, -1 to end the connection. */
static int
do_data(struct conn *c, struct txn *t)
{
	char tmp[PATH_MAX], final[PATH_MAX], tmpenv[PATH_MAX];
	unsigned long long bytes = 0, seq = 0;
	int eightbit_ok, bol = 1, prev_cr = 0, complete, ferr = 0;
	size_t linelen = 0, n, i;
	unsigned char *p;
	FILE *f;

	eightbit_ok = opt.has_8bitmime && t->body != NULL &&
	    strcasecmp(t->body, "8BITMIME") == 0;
	snprintf(tmp, sizeof(tmp), "%s/.tmp.%ld.%u", opt.dir, (long)c->pid,
	    ++c->ntmp);
	if ((f = fopen(tmp, "w")) == NULL) {
		reply(c, "451 4.3.0 Cannot create file");
		return 0;
	}
	reply(c, opt.data_reply ? opt.data_reply :
	    "354 End data with <CR><LF>.<CR><LF>");
	for (;;) {
		if (get_chunk(c, &p, &n, &complete) <= 0) {
			/* Connection lost inside DATA: nothing recorded. */
			fclose(f);
			unlink(tmp);
			return -1;
		}
		if (bol && complete) {
			if (n == 3 && memcmp(p, ".\r\n", 3) == 0)
				break;
			if (n == 2 && memcmp(p, ".\n", 2) == 0) {
				violation(c, t, V_BARE_LF);
				break;
			}
		}
		/* RFC 5321 4.5.2: drop the first of a line's leading dots;
		 * 4.5.3.1.6 does not count it against the line length. */
		if (bol && n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		for (i = 0; i < n; i++) {
			unsigned char ch = p[i];

			if (ch == '\n') {
				if (!prev_cr)
					violation(c, t, V_BARE_LF);
				if (linelen + 1 > TEXT_LINE_MAX)
					violation(c, t, V_LONG_LINE);
				linelen = 0;
			} else {
				if (prev_cr)
					violation(c, t, V_BARE_CR);
				if (ch >= 0x80 && !eightbit_ok)
					violation(c, t, V_8BIT);
				linelen++;
			}
			prev_cr = ch == '\r';
		}
		if (fwrite(p, 1, n, f) != n)
			ferr = 1;
		bytes += n;
		bol = complete;
	}
	/* Pipelined commands may follow the dot only under PIPELINING. */
	if (c->in_len > 0 && !opt.has_pipelining)
		violation(c, NULL, V_PIPELINING);
	if (fclose(f) != 0)
		ferr = 1;
	if (ferr) {
		unlink(tmp);
		reply(c, "451 4.3.0 Error writing message");
		txn_reset(t);
		return 0;
	}
	if (counter_bump(0, &seq) < 0) {
		unlink(tmp);
		reply(c, "451 4.3.0 Counter trouble");
		txn_reset(t);
		return 0;
	}
	if (opt.drop_after_dot > 0 && seq == (unsigned long long)
	    opt.drop_after_dot) {
		snprintf(final, sizeof(final), "%s/dropped.%ld.%llu.eml",
		    opt.dir, (long)c->pid, seq);
		rename(tmp, final);
		if (c->transcript) {
			fprintf(c->transcript, "!DROPPED %llu\n", seq);
			fflush(c->transcript);
		}
		return -1;	/* close without a reply */
	}

	{
		char dflt[64];
		const char *r2;

		snprintf(dflt, sizeof(dflt), "250 2.0.0 queued as %llu", seq);
		r2 = opt.dot_reply ? opt.dot_reply : dflt;
		if (opt.size_limit && bytes > opt.size_limit)
			r2 = "552 5.3.4 Message size exceeds fixed limit";
		if (reply_is(r2, '2')) {
			snprintf(final, sizeof(final), "%s/msg.%ld.%llu.eml",
			    opt.dir, (long)c->pid, seq);
			snprintf(tmpenv, sizeof(tmpenv), "%s/.tmp.%ld.%llu.env",
			    opt.dir, (long)c->pid, seq);
			if (rename(tmp, final) != 0)
				goto local_error;
			snprintf(final, sizeof(final), "%s/msg.%ld.%llu.env",
			    opt.dir, (long)c->pid, seq);
			if (write_env(tmpenv, final, c, t) != 0)
				goto local_error;
			counter_bump(1, &seq);
		} else {
			snprintf(final, sizeof(final),
			    "%s/rejected.%ld.%llu.eml", opt.dir, (long)c->pid,
			    seq);
			rename(tmp, final);
		}
		reply(c, r2);
	}
	txn_reset(t);
	return 0;
local_error:
	unlink(tmp);
	reply(c, "451 4.3.0 Error recording message");
	txn_reset(t);
	return 0;
}

/* record_line: a line received from the client, into the transcript as
 * SHOWN (NULL: as received; AUTH lines are redacted there) and, before
 * TLS is up, into transcript-clear exactly as received, AUTH lines
 * included: the tests grep it for credentials that went out in clear. */
static void
record_line(struct conn *c, const char *line, const char *shown)
{
	if (c->transcript)
		fprintf(c->transcript, "%s\n", shown ? shown : line);
	if (c->tls == NULL && c->transcript_clear) {
		fprintf(c->transcript_clear, "%s\n", line);
		fflush(c->transcript_clear);
	}
}

/* RFC 2920 3.1: these end a pipelined group; so do the commands of other
 * extensions that do not say otherwise (same clause): STARTTLS, AUTH. */
static int
ends_group(const char *verb)
{
	static const char *const v[] = { "EHLO", "DATA", "VRFY", "EXPN",
		"TURN", "QUIT", "NOOP", "STARTTLS", "HELO", "AUTH", NULL };
	size_t i;

	for (i = 0; v[i] != NULL; i++)
		if (strcasecmp(verb, v[i]) == 0)
			return 1;
	return 0;
}

static void
serve(int fd)
{
	struct conn c;
	struct txn t;
	char path[PATH_MAX];
	int one = 1, skipping = 0;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	c.fd = fd;
	c.pid = getpid();
	c.in_cap = opt.max_line + 2 > INBUF_MIN ? opt.max_line + 2 : INBUF_MIN;
	c.in = xmalloc(c.in_cap);
	clock_gettime(CLOCK_MONOTONIC, &c.arrival);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	snprintf(path, sizeof(path), "%s/transcript.%ld", opt.dir,
	    (long)c.pid);
	c.transcript = fopen(path, "a");
	snprintf(path, sizeof(path), "%s/transcript-clear.%ld", opt.dir,
	    (long)c.pid);
	c.transcript_clear = fopen(path, "a");
	snprintf(c.tls_version, sizeof c.tls_version, "none");
	conn_time("open");

	/* RFC 8314 3.3: with implicit TLS the handshake comes first. */
	if (opt.implicit_tls && tls_handshake(&c) < 0)
		goto out;
	reply(&c, opt.greeting);
	if (!reply_is(opt.greeting, '2'))
		goto out;

	for (;;) {
		unsigned char *p;
		char *line, *args, verb[16];
		size_t n, vl, limit;
		int complete;

		if (get_chunk(&c, &p, &n, &complete) <= 0)
			goto out;
		/* RFC 4954 4: an AUTH line may be up to 12288 octets. */
		limit = opt.max_line;
		if (limit < AUTH_LINE_MAX && complete && n > 5 &&
		    strncasecmp((char *)p, "AUTH ", 5) == 0)
			limit = AUTH_LINE_MAX;
		if (!complete || n > limit) {
			skipping = !complete;
			if (!complete)
				continue;
			reply(&c, "500 5.5.2 Line too long");
			continue;
		}
		if (skipping) {		/* the tail of an over-long line */
			skipping = 0;
			reply(&c, "500 5.5.2 Line too long");
			continue;
		}
		line = (char *)p;
		n--;			/* the LF */
		if (n > 0 && line[n - 1] == '\r')
			n--;
		else
			violation(&c, NULL, V_BARE_LF);
		line[n] = '\0';		/* overwrites CR or LF, in buffer */
		vl = strcspn(line, " ");
		if (vl >= sizeof(verb))
			vl = sizeof(verb) - 1;
		memcpy(verb, line, vl);
		verb[vl] = '\0';
		args = line + strcspn(line, " ");
		if (*args == ' ')
			args++;
		if (strcasecmp(verb, "AUTH") == 0) {
			char shown[64];

			/* "AUTH MECH ****": the mechanism is no secret */
			snprintf(shown, sizeof shown, "AUTH %.*s%s",
			    (int)strcspn(args, " ") > 32 ? 32 :
			    (int)strcspn(args, " "), args,
			    args[strcspn(args, " ")] != '\0' ? " ****" : "");
			record_line(&c, line, shown);
		} else
			record_line(&c, line, NULL);
		if (strlen(line) != n) {
			reply(&c, "500 5.5.2 NUL in command");
			continue;
		}
		if (c.in_len > 0 && (!opt.has_pipelining || ends_group(verb)))
			violation(&c, NULL, V_PIPELINING);

		if (strcasecmp(verb, "EHLO") == 0)
			do_ehlo(&c, &t, 1, args);
		else if (strcasecmp(verb, "HELO") == 0)
			do_ehlo(&c, &t, 0, args);
		else if (strcasecmp(verb, "AUTH") == 0) {
			if (do_auth(&c, &t, args) < 0)
				goto out;
		} else if (strcasecmp(verb, "STARTTLS") == 0) {
			if (do_starttls(&c, &t, args) < 0)
				goto out;
		} else if (strcasecmp(verb, "MAIL") == 0 &&
		    opt.require_tls && c.tls == NULL)
			reply(&c, "530 5.7.0 Must issue a STARTTLS command "
			    "first");
		else if (strcasecmp(verb, "MAIL") == 0 && opt.auth_require &&
		    c.auth_mech[0] == '\0')
			reply(&c, "530 5.7.0 Authentication required");
		else if (strcasecmp(verb, "MAIL") == 0 && c.tls_restarted &&
		    !c.ehlo_seen) {
			violation(&c, NULL, V_NO_EHLO_TLS);
			reply(&c, "503 5.5.1 EHLO first: STARTTLS reset the "
			    "session");
		} else if (strcasecmp(verb, "MAIL") == 0 &&
		    strncasecmp(args, "FROM:", 5) == 0)
			do_mail(&c, &t, args + 5);
		else if (strcasecmp(verb, "RCPT") == 0 &&
		    strncasecmp(args, "TO:", 3) == 0)
			do_rcpt(&c, &t, args + 3);
		else if (strcasecmp(verb, "DATA") == 0) {
			if (*args != '\0')
				reply(&c, "501 5.5.4 No parameters allowed");
			else if (!t.active)
				reply(&c, "503 5.5.1 MAIL first");
			else if (t.nrcpt == 0)
				reply(&c, "554 5.5.1 No valid recipients");
			else if (opt.data_reply &&
			    !reply_is(opt.data_reply, '3'))
				reply(&c, opt.data_reply);
			else if (do_data(&c, &t) < 0)
				goto out;
		} else if (strcasecmp(verb, "RSET") == 0) {
			txn_reset(&t);
			reply(&c, "250 2.0.0 ok");
		} else if (strcasecmp(verb, "NOOP") == 0)
			reply(&c, "250 2.0.0 ok");
		else if (strcasecmp(verb, "VRFY") == 0)
			reply(&c, "252 2.1.5 Cannot VRFY");
		else if (strcasecmp(verb, "HELP") == 0)
			reply(&c, "214 2.0.0 fakesmtpd");
		else if (strcasecmp(verb, "QUIT") == 0) {
			reply(&c, "221 2.0.0 bye");
			goto out;
		} else
			reply(&c, "500 5.5.1 Command unrecognized");
	}
out:
	conn_flush(&c);
	if (c.tls != NULL) {
		gnutls_bye(c.tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c.tls);
	}
	free(c.tls_client);
	if (c.transcript)
		fclose(c.transcript);
	if (c.transcript_clear)
		fclose(c.transcript_clear);
	txn_reset(&t);
	free(c.in);
	free(c.out);
	close(fd);
	conn_time("close");
}

/* conn_time: "WHAT SECONDS.NANOS" into conn.<pid>. */
static void
conn_time(const char *what)
{
	char path[PATH_MAX];
	struct timespec ts;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/conn.%ld", opt.dir, (long)getpid());
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((fp = fopen(path, "a")) != NULL) {
		fprintf(fp, "%s %lld.%09ld\n", what, (long long)ts.tv_sec,
		    ts.tv_nsec);
		fclose(fp);
	}
}

/* ---- parent: accept and fork ------------------------------------------ */

static pid_t	*kids;
static size_t	 nkids;

static void
reap(int block)
{
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, NULL, block ? 0 : WNOHANG)) != 0) {
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				nkids = 0;
			break;
		}
		for (i = 0; i < nkids; i++)
			if (kids[i] == pid) {
				kids[i] = kids[--nkids];
				break;
			}
		block = 0;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sigaction act;
	socklen_t sl;
	const char *addr;
	struct stat st;
	char num[32];
	int lfd, one = 1;
	size_t i;

	parse_args(argc, argv);
	addr = opt.addr ? opt.addr : "127.0.0.1";
	if (stat(opt.dir, &st) != 0 || !S_ISDIR(st.st_mode))
		die("--dir %s: not a directory", opt.dir);
	tls_setup();

	memset(&act, 0, sizeof(act));
	act.sa_handler = on_term;	/* no SA_RESTART: poll sees EINTR */
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	act.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &act, NULL);

	/* --addr: an IPv4 or an IPv6 address (no brackets, no names) */
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)opt.port);
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)opt.port);
		sl = sizeof(*sin6);
	} else
		die("--addr %s: not an IPv4 or IPv6 address", addr);
	if ((lfd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) != 0)
		die("bind %s port %d: %s", addr, opt.port, strerror(errno));
	if (listen(lfd, 128) != 0)
		die("listen: %s", strerror(errno));
	sl = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &sl) != 0)
		die("getsockname: %s", strerror(errno));
	if (opt.pid_file) {
		snprintf(num, sizeof(num), "%ld\n", (long)getpid());
		write_file_atomic(opt.pid_file, num);
	}
	if (opt.port_file) {
		snprintf(num, sizeof(num), "%u\n", ntohs(ss.ss_family ==
		    AF_INET6 ? sin6->sin6_port : sin->sin_port));
		write_file_atomic(opt.port_file, num);
	}

	while (!got_term) {
		struct pollfd pfd;
		pid_t pid;
		int fd;

		reap(0);
		if (opt.exit_after > 0 &&
		    counter_read(1) >= (unsigned long long)opt.exit_after)
			break;
		pfd.fd = lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((fd = accept(lfd, NULL, NULL)) < 0) {
			if (errno == EMFILE || errno == ENFILE)
				poll(NULL, 0, 50);
			continue;
		}
		if ((pid = fork()) < 0) {
			close(fd);
			poll(NULL, 0, 50);
			continue;
		}
		if (pid == 0) {
			act.sa_handler = SIG_DFL;
			sigaction(SIGTERM, &act, NULL);
			sigaction(SIGINT, &act, NULL);
			close(lfd);
			if (got_term)
				_exit(0);
			serve(fd);
			_exit(0);
		}
		close(fd);
		kids = xrealloc(kids, (nkids + 1) * sizeof(*kids));
		kids[nkids++] = pid;
	}
	close(lfd);
	/* --exit-after: let the open sessions finish (a SIGTERM cuts it). */
	while (nkids > 0 && !got_term) {
		poll(NULL, 0, 20);
		reap(0);
	}
	for (i = 0; i < nkids; i++)
		kill(kids[i], SIGTERM);
	while (nkids > 0)
		reap(1);
	return 0;
}
