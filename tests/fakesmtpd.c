/* fakesmtpd.c - a scriptable SMTP server for the integration tests and the
 * benchmark.  Links libc and GnuTLS (server side of STARTTLS, RFC 3207,
 * and of implicit TLS, RFC 8314).
 *
 * The parent binds 127.0.0.1 (port 0 by default), publishes the port through
 * a file written atomically, and only accepts: each connection is served by
 * a forked child, so many clients can be served at once.  What a child
 * receives is recorded in --dir:
 *   transcript.<pid>        every command line received (not DATA content),
 *                           plus "!VIOLATION <what>" and "!TLS ..." lines
 *   transcript-clear.<pid>  the command lines (and, once AUTH is parsed,
 *                           its continuation lines) received while TLS was
 *                           not up: tests grep it for credentials
 *   msg.<pid>.<n>.eml       an accepted message as received, un-stuffed
 *   msg.<pid>.<n>.env       its envelope, then "TLS: TLSv1.3" (or "TLS:
 *                           none") and, with a verified client certificate,
 *                           "TLS-Client: <subject DN>"; renamed into place
 *                           after the .eml, so whoever counts *.env never
 *                           sees half a record
 *   rejected.<pid>.<n>.eml  a message answered non-2xx after the dot
 *   dropped.<pid>.<n>.eml   the message of --drop-after-dot
 * <n> is the server-wide message number (1, 2, ...), kept in DIR/.counter
 * under an fcntl lock; temporary files are hidden (.tmp.*).
 *
 * Invariants: memory is bounded (a 64 KiB input buffer; DATA is streamed to
 * the file, never held whole); every record visible under its final name is
 * complete; a message is recorded before its 2xx reply is sent, so a client
 * that saw the reply finds the record.  All socket I/O goes through io_read
 * and io_write, which switch to the GnuTLS session once it is up.  After
 * STARTTLS the input buffer is emptied (commands pipelined behind it came
 * in clear: RFC 3207 4.2's "MUST discard") and the EHLO is forgotten.
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
 * Left to others: AUTH, DSN semantics; the tests decide what to assert.
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

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define INBUF_MIN	65536
#define MAX_RCPTS	10000
#define TEXT_LINE_MAX	1000	/* RFC 5321 4.5.3.1.6, CRLF included */

/* Violation bits. */
#define V_8BIT		0x01
#define V_BARE_LF	0x02
#define V_BARE_CR	0x04
#define V_LONG_LINE	0x08
#define V_PIPELINING	0x10
#define V_NO_EHLO_TLS	0x20	/* MAIL right after STARTTLS, RFC 3207 4.2 */
#define V_LAST		V_NO_EHLO_TLS

struct rcpt_reply {
	char	*addr;
	char	*reply;
	long	 times;		/* only the first TIMES RCPTs (0 = all) */
};

static struct {
	const char	*dir;
	const char	*port_file;
	const char	*pid_file;
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
static void	 record_line(struct conn *c, const char *line);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fakesmtpd --dir DIR [--port-file F] [--port N] "
	    "[--pid-file F]\n"
	    "  [--ext LIST|none] [--no-ehlo] [--greeting 'CODE text']\n"
	    "  [--rcpt-reply 'ADDR[#N]=CODE text']... [--mail-reply R] "
	    "[--data-reply R]\n"
	    "  [--dot-reply R] [--drop-after-dot N] [--latency MS] "
	    "[--max-line N]\n"
	    "  [--exit-after N] [--timeout SEC]\n"
	    "  [--tls-cert F --tls-key F] [--no-starttls] [--implicit-tls]\n"
	    "  [--starttls-reply R] [--starttls-break] [--require-tls]\n"
	    "  [--tls-priority P] [--tls-client-ca F]\n");
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
		else if (strcmp(name, "--starttls-reply") == 0) {
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
	int starttls;

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
	/* AUTH: its "250-AUTH ..." line goes here when the server checks
	 * AUTH (offered after TLS, or in clear when told to). */
	n = opt.next + (starttls ? 1 : 0);
	if (!ehlo || n == 0) {
		replyf(c, "250 fakesmtpd greets %.200s", args);
		return;
	}
	replyf(c, "250-fakesmtpd greets %.200s", args);
	for (i = 0; i < opt.next; i++)
		replyf(c, "250%c%s", i + 1 == n ? ' ' : '-', opt.ext[i]);
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
	if (c->tls_client != NULL)
		fprintf(f, "TLS-Client: %s\n", c->tls_client);
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
	int eightbit_ok, bol = 1, prev_cr = 0, complete, r, ferr = 0;
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
		if ((r = get_chunk(c, &p, &n, &complete)) <= 0) {
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

/* record_line: a line received from the client, into the transcript and,
 * before TLS is up, into transcript-clear too.  An AUTH exchange records
 * its continuation lines through here as well (the credential check for
 * the tests: nothing secret may appear in transcript-clear). */
static void
record_line(struct conn *c, const char *line)
{
	if (c->transcript)
		fprintf(c->transcript, "%s\n", line);
	if (c->tls == NULL && c->transcript_clear) {
		fprintf(c->transcript_clear, "%s\n", line);
		fflush(c->transcript_clear);
	}
}

/* RFC 2920 3.1: these end a pipelined group. */
static int
ends_group(const char *verb)
{
	static const char *const v[] = { "EHLO", "DATA", "VRFY", "EXPN",
		"TURN", "QUIT", "NOOP", "STARTTLS", "HELO", NULL };
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

	/* RFC 8314 3.3: with implicit TLS the handshake comes first. */
	if (opt.implicit_tls && tls_handshake(&c) < 0)
		goto out;
	reply(&c, opt.greeting);
	if (!reply_is(opt.greeting, '2'))
		goto out;

	for (;;) {
		unsigned char *p;
		char *line, *args, verb[16];
		size_t n, vl;
		int complete;

		if (get_chunk(&c, &p, &n, &complete) <= 0)
			goto out;
		if (!complete || n > opt.max_line) {
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
		record_line(&c, line);
		if (strlen(line) != n) {
			reply(&c, "500 5.5.2 NUL in command");
			continue;
		}
		vl = strcspn(line, " ");
		if (vl >= sizeof(verb))
			vl = sizeof(verb) - 1;
		memcpy(verb, line, vl);
		verb[vl] = '\0';
		args = line + strcspn(line, " ");
		if (*args == ' ')
			args++;
		if (c.in_len > 0 && (!opt.has_pipelining || ends_group(verb)))
			violation(&c, NULL, V_PIPELINING);

		if (strcasecmp(verb, "EHLO") == 0)
			do_ehlo(&c, &t, 1, args);
		else if (strcasecmp(verb, "HELO") == 0)
			do_ehlo(&c, &t, 0, args);
		/* AUTH goes here (else if verb is AUTH: do_auth(&c, &t,
		 * args)), reading its continuation lines with get_chunk and
		 * recording each one with record_line. */
		else if (strcasecmp(verb, "STARTTLS") == 0) {
			if (do_starttls(&c, &t, args) < 0)
				goto out;
		} else if (strcasecmp(verb, "MAIL") == 0 &&
		    opt.require_tls && c.tls == NULL)
			reply(&c, "530 5.7.0 Must issue a STARTTLS command "
			    "first");
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
	struct sockaddr_in sa;
	struct sigaction act;
	socklen_t sl = sizeof(sa);
	struct stat st;
	char num[32];
	int lfd, one = 1;
	size_t i;

	parse_args(argc, argv);
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

	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opt.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("bind 127.0.0.1:%d: %s", opt.port, strerror(errno));
	if (listen(lfd, 128) != 0)
		die("listen: %s", strerror(errno));
	if (getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
		die("getsockname: %s", strerror(errno));
	if (opt.pid_file) {
		snprintf(num, sizeof(num), "%ld\n", (long)getpid());
		write_file_atomic(opt.pid_file, num);
	}
	if (opt.port_file) {
		snprintf(num, sizeof(num), "%u\n", ntohs(sa.sin_port));
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
