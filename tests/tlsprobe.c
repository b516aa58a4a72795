/* tlsprobe.c - drive tls_start against a server, for tls_basic.sh.
 *
 * Connects (conn_connect), reads the greeting, EHLO, STARTTLS (or, with
 * --implicit, shakes hands first: RFC 8314), tls_start, then EHLO again
 * over TLS (RFC 3207 4.2), optionally one message, and QUIT.  Prints
 * what happened on stdout, one "key: value" line each:
 *   tls: <tls_info>            the handshake and checks passed
 *   error: <ob_err text>       they did not (exit 2)
 *   protocol: <what>           the SMTP side went wrong (exit 3)
 *   sent: <reply to the dot>   with --mail
 * Exit 0 ok, 1 usage, 2 TLS failure, 3 SMTP/connection failure.
 *
 * Leaves to others: SMTP policy (smtpc/deliver).  This is a test tool;
 * it parses replies just enough (code and the last-line marker).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define PROBE_LINE	1000
#define PROBE_LINES	100

struct probe {
	struct conn	*c;
	struct buf	 line;
	int64_t		 timeout;
	int		 starttls;	/* the last EHLO offered it */
	char		 first[PROBE_LINE + 1];	/* first line of the reply */
};

static void	usage(void) __attribute__((noreturn));
static int	probe_reply(struct probe *p, struct ob_err *err);
static int	probe_cmd(struct probe *p, const char *cmd, int want,
		    struct ob_err *err);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tlsprobe [--ca FILE] [--no-verify] [--min 12|13]\n"
	    "  [--fingerprint HEX] [--cert FILE --key FILE] [--implicit]\n"
	    "  [--name NAME] [--timeout MS] [--mail] [--skip-ehlo]\n"
	    "  HOST PORT\n");
	exit(1);
}

/* probe_reply: one reply (all its lines); its code, or -1 with ERR. */
static int
probe_reply(struct probe *p, struct ob_err *err)
{
	int r, i, code;

	p->starttls = 0;
	for (i = 0; i < PROBE_LINES; i++) {
		r = conn_read_line(p->c, &p->line, PROBE_LINE, p->timeout,
		    err);
		if (r == 0)
			return ob_err_set(err, OB_TEMP, 0, "connection closed");
		if (r < 0)
			return -1;
		if (p->line.len < 3 || p->line.p[0] < '2' ||
		    p->line.p[0] > '5' || p->line.p[1] < '0' ||
		    p->line.p[1] > '9' || p->line.p[2] < '0' ||
		    p->line.p[2] > '9' || (p->line.len > 3 &&
		    p->line.p[3] != ' ' && p->line.p[3] != '-'))
			return ob_err_set(err, OB_TEMP, 0, "bad reply line "
			    "\"%.80s\"", p->line.p);
		if (i == 0)
			ob_snprintf(p->first, sizeof p->first, "%s",
			    p->line.p);
		if (p->line.len > 4 && ob_strcasecmp(p->line.p + 4,
		    "STARTTLS") == 0)
			p->starttls = 1;
		if (p->line.len == 3 || p->line.p[3] == ' ') {
			code = (p->line.p[0] - '0') * 100 +
			    (p->line.p[1] - '0') * 10 + (p->line.p[2] - '0');
			return code;
		}
	}
	return ob_err_set(err, OB_TEMP, 0, "reply longer than %d lines",
	    PROBE_LINES);
}

/* probe_cmd: send CMD (CRLF added; NULL: send nothing), read the reply,
 * which must be in class WANT (2 or 3). */
static int
probe_cmd(struct probe *p, const char *cmd, int want, struct ob_err *err)
{
	char out[PROBE_LINE + 3];
	int code;

	if (cmd != NULL) {
		if (ob_snprintf(out, sizeof out, "%s\r\n", cmd) == -1)
			return ob_err_set(err, OB_PERM, 0, "command too long");
		if (conn_write(p->c, out, strlen(out), p->timeout, err) == -1)
			return -1;
	}
	if ((code = probe_reply(p, err)) == -1)
		return -1;
	if (code / 100 != want)
		return ob_err_set(err, OB_TEMP, 0, "%s: %s",
		    cmd ? cmd : "greeting", p->first);
	return 0;
}

int
main(int argc, char **argv)
{
	struct tls_conf tconf;
	struct tls_client *tc = NULL;
	struct tls_session *ts = NULL;
	struct probe p;
	struct ob_err err;
	const char *host, *name = NULL;
	uint64_t port = 0, ms = 10000;
	int i, implicit = 0, mail = 0, skip_ehlo = 0, rc = 3;

	memset(&tconf, 0, sizeof tconf);
	memset(&p, 0, sizeof p);
	memset(&err, 0, sizeof err);
	tconf.verify = 1;
	tconf.min_version = 12;
	log_init("tlsprobe", LOG_TO_STDERR, 0);
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--no-verify") == 0)
			tconf.verify = 0;
		else if (strcmp(a, "--implicit") == 0)
			implicit = 1;
		else if (strcmp(a, "--mail") == 0)
			mail = 1;
		else if (strcmp(a, "--skip-ehlo") == 0)
			skip_ehlo = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(a, "--ca") == 0)
			tconf.ca_file = argv[++i];
		else if (strcmp(a, "--fingerprint") == 0)
			tconf.fingerprint = argv[++i];
		else if (strcmp(a, "--cert") == 0)
			tconf.cert_file = argv[++i];
		else if (strcmp(a, "--key") == 0)
			tconf.key_file = argv[++i];
		else if (strcmp(a, "--name") == 0)
			name = argv[++i];
		else if (strcmp(a, "--min") == 0) {
			uint64_t v;

			if (parse_u64(argv[++i], &v) == -1 || v > 99)
				usage();
			tconf.min_version = (int)v;
		} else if (strcmp(a, "--timeout") == 0) {
			if (parse_u64(argv[++i], &ms) == -1 || ms == 0 ||
			    ms > 600000)
				usage();
		} else
			usage();
	}
	if (argc - i != 2 || parse_u64(argv[i + 1], &port) == -1 ||
	    port == 0 || port > 65535)
		usage();
	host = argv[i];
	if (name == NULL)
		name = host;
	p.timeout = (int64_t)ms;
	buf_init(&p.line, PROBE_LINE + 1);

	if (tls_client_new(&tc, &tconf, &err) == -1) {
		printf("config: %s\n", err.text);
		rc = 1;
		goto out;
	}
	if (conn_connect(&p.c, host, (int)port, p.timeout, &err) == -1)
		goto proto;
	if (!implicit) {
		if (probe_cmd(&p, NULL, 2, &err) == -1 ||
		    probe_cmd(&p, "EHLO probe.test", 2, &err) == -1)
			goto proto;
		if (!p.starttls) {
			ob_err_set(&err, OB_TEMP, 0, "STARTTLS not offered");
			goto proto;
		}
		if (probe_cmd(&p, "STARTTLS", 2, &err) == -1)
			goto proto;
	}
	if (tls_start(tc, p.c, name, p.timeout, &ts, &err) == -1) {
		printf("error: %s\n", err.text);
		rc = 2;
		goto out;
	}
	printf("tls: %s\n", tls_info(ts));
	fflush(stdout);
	if (implicit && probe_cmd(&p, NULL, 2, &err) == -1)
		goto proto;
	if (!skip_ehlo) {
		if (probe_cmd(&p, "EHLO probe.test", 2, &err) == -1)
			goto proto;
		if (p.starttls) {
			ob_err_set(&err, OB_TEMP, 0, "STARTTLS offered again "
			    "over TLS");
			goto proto;
		}
	}
	if (mail || skip_ehlo) {
		if (probe_cmd(&p, "MAIL FROM:<probe@test.example>", 2,
		    &err) == -1 ||
		    probe_cmd(&p, "RCPT TO:<rcpt@test.example>", 2,
		    &err) == -1 ||
		    probe_cmd(&p, "DATA", 3, &err) == -1 ||
		    probe_cmd(&p, "Subject: tlsprobe\r\n\r\nover TLS\r\n.", 2,
		    &err) == -1)
			goto proto;
		printf("sent: %s\n", p.first);
	}
	if (probe_cmd(&p, "QUIT", 2, &err) == -1)
		goto proto;
	rc = 0;
	goto out;
proto:
	printf("protocol: %s\n", err.text);
	if (ts != NULL && tls_last_error(ts)[0] != '\0')
		printf("tls-error: %s\n", tls_last_error(ts));
out:
	tls_session_free(ts);		/* before conn_close (tls.h) */
	conn_close(p.c);
	tls_client_free(tc);
	buf_free(&p.line);
	return rc;
}
