/* deliver_test.c - `outbox test [--from SENDER] ADDRESS`: one message sent
 * now, not through the queue, along the route the configuration gives
 * SENDER, with every step printed to stdout the way swaks shows them:
 *
 *   === Route: relay localhost:587 (tls auto, verify yes, auth user me)
 *   === Connecting to localhost port 587
 *   <-  220 srv ESMTP
 *    -> EHLO myhost
 *   === TLS: TLSv1.3 AES-256-GCM          (then subject, issuer, expiry)
 *   === AUTH PLAIN as me: accepted
 *   === Delivered: 250 2.0.0 Ok
 *
 * The sessions are delivery's own (deliver.c's dl_sess_start, smtpc, tls,
 * dns): the same relay order, TLS checks and AUTH as the queue gets; the
 * transcript comes from smtpc's trace hook, which masks credentials.  On
 * failure the last line says what failed and what to change.  The exit
 * status says what the queue would have done: 0 delivered, EX_TEMPFAIL
 * deferred (4xx, no connection, TLS or AUTH failure), EX_UNAVAILABLE
 * bounced (5xx to MAIL, RCPT or DATA; a domain that takes no mail),
 * EX_CONFIG, EX_USAGE.
 *
 * Invariants: the queue is never opened; the AUTH secret is never
 * printed (it only reaches smtpc, whose trace is masked); every line
 * from the server is printed with control and 8-bit octets escaped.
 * Left to others: the dialogue (smtpc.c), sessions and TLS (deliver.c,
 * tls.c), lookups (dns.c), the configuration (conf.c, cmd_conf).
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "auth.h"
#include "cmd.h"
#include "conn.h"
#include "deliver.h"
#include "deliver_int.h"
#include "deliver_test.h"
#include "dns.h"
#include "log.h"
#include "secret.h"
#include "smtp_reply.h"
#include "smtpc.h"
#include "tls.h"
#include "tlspol.h"
#include "util.h"

#define DT_USAGE	"usage: outbox test [--from SENDER] ADDRESS\n"
#define DT_PRINT_MAX	1100	/* octets of one printed line */

/* The run: configuration, envelope, message, and the session in hand. */
struct dt {
	const struct conf	*c;
	const struct conf_route	*r;
	struct route_run	 rr;
	struct session		 s;
	char			*sender;	/* as given or defaulted */
	const char		*env_from;	/* MAIL FROM (from_address) */
	char			*rcpt;
	struct buf		 msg;		/* the message, CRLF lines */
	int			 tls_shown;	/* this session's TLS printed */
	int			 in_txn;	/* MAIL..final dot under way */
	char			 refused_in[16];	/* state of the first
						 * 4xx/5xx reply of the txn */
	char			 host[256];	/* the name TLS checks, kept
						 * past the session */
	char			 why[512];	/* the last failure */
	int			 ex;		/* and its exit status */
};

static void	dt_clean(char *dst, size_t n, const char *s);
static void	dt_show_peer(const struct tls_peer *p, const char *host);
static void	dt_tls_show(struct dt *t);
static void	dt_trace(void *arg, int what, const char *line);
static int	dt_args(struct dt *t, int argc, char **argv);
static void	dt_message(struct dt *t);
static void	dt_route_line(const struct dt *t);
static void	dt_fail(struct dt *t, int ex, const char *what,
		    const char *hint);
static void	dt_sess_fail(struct dt *t, int k, const char *text);
static int	dt_txn(struct dt *t);
static int	dt_relays(struct dt *t);
static int	dt_mx(struct dt *t);

/* dt_clean: S for the terminal: octets outside printable ASCII as \xNN
 * (a hostile server must not drive the terminal), cut to fit N. */
static void
dt_clean(char *dst, size_t n, const char *s)
{
	size_t o = 0;
	unsigned char ch;

	for (; *s != '\0' && o + 5 < n; s++) {
		ch = (unsigned char)*s;
		if (ch >= 0x20 && ch < 0x7f)
			dst[o++] = (char)ch;
		else
			o += (size_t)snprintf(dst + o, n - o, "\\x%02X", ch);
	}
	dst[o] = '\0';
}

/* dt_show_peer: the handshake's protocol and certificate, checked for
 * HOST (NULL: only its fingerprint), or not when P->checked is 0. */
static void
dt_show_peer(const struct tls_peer *p, const char *host)
{
	char day[40] = "unknown", left[48] = "";
	struct tm tm;
	time_t e;
	int64_t d;

	printf("=== TLS: %s %s\n", p->version, p->cipher);
	printf("===   subject: %s\n", p->subject[0] ? p->subject : "(none)");
	printf("===   issuer:  %s\n", p->issuer[0] ? p->issuer : "(none)");
	printf("===   names:   %s\n", p->names[0] ? p->names : "(none)");
	if (p->not_after != -1) {
		e = (time_t)p->not_after;
		if (gmtime_r(&e, &tm) != NULL)
			(void)strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S UTC",
			    &tm);
		d = p->not_after - ob_now_ms() / 1000;
		if (d >= 0)
			snprintf(left, sizeof left, " (in %lld days)",
			    (long long)(d / 86400));
		else
			snprintf(left, sizeof left, " (EXPIRED %lld days ago)",
			    (long long)(-d / 86400));
	}
	printf("===   expires: %s%s\n", day, left);
	if (p->checked && host != NULL)
		printf("===   verified: yes (chain, and name %s)\n", host);
	else if (p->checked)
		printf("===   verified: yes (tls_fingerprint matches)\n");
}

/* dt_tls_show: once per session, the handshake that protects it, before
 * the first line that went through it. */
static void
dt_tls_show(struct dt *t)
{
	struct tls_peer p;

	if (t->tls_shown || t->s.tls == NULL)
		return;
	t->tls_shown = 1;
	tls_peer(t->s.tls, &p);
	/* a pin without tls_verify checks no chain and no name */
	dt_show_peer(&p, t->s.relay != NULL && !t->r->tls_verify ? NULL :
	    t->s.tls_host);
	if (!p.checked)
		printf("===   verified: no (%s)\n", t->s.relay != NULL ?
		    "tls_verify no" : "the TLS policy for MX hosts is not "
		    "verify");
}

/* dt_trace: smtpc's transcript hook (credentials come masked). */
static void
dt_trace(void *arg, int what, const char *line)
{
	struct dt *t = arg;
	char out[DT_PRINT_MAX];
	size_t n = strlen(line);

	dt_tls_show(t);
	dt_clean(out, sizeof out, line);
	switch (what) {
	case SMTPC_TRACE_OUT:
		printf(" -> %s\n", out);
		break;
	case SMTPC_TRACE_IN:
		printf("<-  %s\n", out);
		/* the first refusal of the transaction: which command */
		if (t->in_txn && t->refused_in[0] == '\0' &&
		    (line[0] == '4' || line[0] == '5') &&
		    (n == 3 || (n > 3 && line[3] == ' ')))
			(void)ob_snprintf(t->refused_in, sizeof t->refused_in,
			    "%s", smtpc_state_name(t->s.smtp));
		break;
	case SMTPC_TRACE_AUTH:
		printf("=== AUTH %s as %s: accepted\n", out, t->r->auth_user);
		break;
	default:
		panic("deliver_test: trace kind %d", what);
	}
	fflush(stdout);
}

/* dt_args: [--from SENDER | -f SENDER] ADDRESS into T.  0, or -1 (told). */
static int
dt_args(struct dt *t, int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	struct passwd *pw;
	struct ob_err err;
	char *a;
	int i;

	for (i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "-f")
		    == 0) && i + 1 < argc)
			from = argv[++i];
		else if (strncmp(argv[i], "--from=", 7) == 0)
			from = argv[i] + 7;
		else if (argv[i][0] == '-' || to != NULL) {
			fputs(DT_USAGE, stderr);
			return -1;
		} else
			to = argv[i];
	}
	if (to == NULL) {
		fputs(DT_USAGE, stderr);
		return -1;
	}
	if (addr_parse_arg(to, 0, &a, &err) == -1) {
		fprintf(stderr, "outbox test: address '%.200s': %s\n", to,
		    err.text);
		return -1;
	}
	t->rcpt = a;
	if (addr_is_local(a) || !addr_valid_smtp(a)) {
		fprintf(stderr, "outbox test: '%.200s' is not a usable "
		    "address: give a full one, user@domain\n", a);
		return -1;
	}
	if (from == NULL) {
		/* as sendmail would: the user at helo_name */
		pw = getpwuid(getuid());
		if (pw != NULL && pw->pw_name != NULL && *pw->pw_name != '\0')
			t->sender = xasprintf("%s@%s", pw->pw_name,
			    t->c->helo_name);
		else
			t->sender = xasprintf("uid%lu@%s",
			    (unsigned long)getuid(), t->c->helo_name);
	} else {
		if (addr_parse_arg(from, 0, &a, &err) == -1) {
			fprintf(stderr, "outbox test: sender '%.200s': %s\n",
			    from, err.text);
			return -1;
		}
		if (addr_is_local(a)) {
			t->sender = xasprintf("%s@%s", a, t->c->helo_name);
			free(a);
		} else
			t->sender = a;
	}
	if (!addr_valid_smtp(t->sender)) {
		fprintf(stderr, "outbox test: '%.200s' is not a usable sender "
		    "address\n", t->sender);
		return -1;
	}
	return 0;
}

/* dt_message: the test message, in canonical form (CRLF). */
static void
dt_message(struct dt *t)
{
	const struct conf_route *r = t->r;
	char date[64], stamp[32];
	uint32_t rnd = 0;
	struct tm tm;
	time_t now = time(NULL);

	fmt_rfc5322_date(date, sizeof date, ob_now_ms());
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm) == 0)
		stamp[0] = '\0';
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		rnd = (uint32_t)ob_mono_ms();
	buf_init(&t->msg, 0);
	buf_printf(&t->msg, "From: <%s>\r\n", r->rewrite_from &&
	    r->from_address != NULL ? r->from_address : t->sender);
	buf_printf(&t->msg, "To: <%s>\r\n", t->rcpt);
	buf_printf(&t->msg, "Subject: outbox test message from %s\r\n",
	    t->c->helo_name);
	buf_printf(&t->msg, "Date: %s\r\n", date);
	buf_printf(&t->msg, "Message-ID: <%s.test%ld.%08x@%s>\r\n", stamp,
	    (long)getpid(), (unsigned)rnd, t->c->helo_name);
	buf_printf(&t->msg, "\r\n"
	    "This message was sent by `outbox test` on %s, to check\r\n"
	    "that mail from this machine reaches %s.\r\n"
	    "It went straight out, not through the queue.  Nothing needs\r\n"
	    "to be done with it.\r\n", t->c->helo_name, t->rcpt);
}

/* dt_route_line: "=== Route: ..." for the route in T. */
static void
dt_route_line(const struct dt *t)
{
	static const char *const tls[] = { "auto", "starttls", "implicit",
	    "opportunistic", "off" };
	const struct conf_route *r = t->r;
	struct buf b;
	size_t i;

	buf_init(&b, 4096);
	if (r->nrelays > 0) {
		buf_printf(&b, "relay%s", r->nrelays > 1 ? "s" : "");
		for (i = 0; i < r->nrelays; i++)
			buf_printf(&b, strchr(r->relays[i].host, ':') != NULL ?
			    "%s [%s]:%d" : "%s %s:%d", i ? "," : "",
			    r->relays[i].host, r->relays[i].port);
		buf_printf(&b, " (tls %s", r->tls >= 0 && r->tls < 5 ?
		    tls[r->tls] : "?");
		if (r->tls != CONF_TLS_OFF)
			buf_printf(&b, ", verify %s", r->tls_verify ? "yes" :
			    r->tls_fingerprint != NULL ? "no, fingerprint" :
			    "no");
		if (r->auth_user != NULL)
			buf_printf(&b, ", auth user %s", r->auth_user);
		buf_addstr(&b, ")");
	} else
		buf_printf(&b, "MX hosts of the recipient's domain (port %d, "
		    "tls %s)", t->c->mx_port, r->tls >= 0 && r->tls < 5 ?
		    tls[r->tls] : "?");
	if (r->match != NULL)
		buf_printf(&b, "; section [sender %s]", r->match);
	printf("=== Route: %s\n", b.p);
	printf("=== Sender: <%s>%s%s%s, recipient: <%s>\n", t->sender,
	    r->from_address != NULL ? " (MAIL FROM:<" : "",
	    r->from_address != NULL ? r->from_address : "",
	    r->from_address != NULL ? ">, from_address)" : "", t->rcpt);
	buf_free(&b);
}

/* dt_fail: remember the failure WHAT (exit EX) and what to do (HINT). */
static void
dt_fail(struct dt *t, int ex, const char *what, const char *hint)
{
	t->ex = ex;
	(void)ob_snprintf(t->why, sizeof t->why, "%s%s%s", what,
	    hint != NULL ? ": " : "", hint != NULL ? hint : "");
}

/* dt_sess_fail: a session could not be started (K from dl_sess_start,
 * -2: the TLS handshake or its check); TEXT says why.  The hint comes
 * from our own (tls.c, smtpc.c) wording of the reason. */
static void
dt_sess_fail(struct dt *t, int k, const char *text)
{
	const struct conf_route *r = t->r;
	const char *hint = "see the server's reply above", *p;
	char what[400];

	printf("=== Error: %s\n", text);
	if (k == -2 && strstr(text, "certificate is for") != NULL) {
		snprintf(what, sizeof what, "certificate not valid for %s",
		    t->host);
		dt_fail(t, EX_TEMPFAIL, what, r->nrelays > 0 ? "set relay to "
		    "the name on the certificate, or tls_verify no" : "the "
		    "domain's TLS policy (verify) cannot be met; encrypt "
		    "does not check the name");
		return;
	}
	if ((p = strstr(text, "authentication failed: ")) != NULL) {
		snprintf(what, sizeof what, "AUTH failed: %s", p + 23);
		dt_fail(t, EX_TEMPFAIL, what, r->auth_password_file != NULL ?
		    "check auth_user and auth_password_file" : "check "
		    "auth_user and auth_password_command");
		return;
	}
	if (k == -2 && (strstr(text, "unknown issuer") != NULL ||
	    strstr(text, "self-signed") != NULL))
		hint = "the certificate's issuer is not trusted: set "
		    "tls_ca_file to the CA that signed it (or tls_fingerprint "
		    "to the certificate's SHA-256), or tls_verify no";
	else if (k == -2 && strstr(text, "expired") != NULL)
		hint = "the server's certificate has expired: its "
		    "administrator must renew it (or tls_verify no)";
	else if (k == -2 && strstr(text, "not yet valid") != NULL)
		hint = "the server's certificate is not valid yet: check the "
		    "clocks here and there";
	else if (k == -2 && strstr(text, "fingerprint mismatch") != NULL)
		hint = "the server's certificate changed: update "
		    "tls_fingerprint if the change is expected";
	else if (k == -2)
		hint = "check the port and tls (implicit TLS on 465, "
		    "STARTTLS on 587 and 25)";
	else if (strstr(text, "timeout after ") != NULL)
		hint = "the server did not answer in time: check that it is "
		    "an SMTP server and not overloaded, or raise "
		    "greeting_timeout / command_timeout";
	else if (strstr(text, "does not offer STARTTLS") != NULL)
		hint = "use the relay's submission port (587, STARTTLS) or "
		    "465 with tls implicit; tls opportunistic allows clear "
		    "text";
	else if (strstr(text, "credentials in clear") != NULL)
		hint = "turn TLS on (tls starttls or implicit), or set "
		    "auth_allow_plaintext yes";
	else if (strstr(text, "does not offer AUTH") != NULL)
		hint = "check the port (submission is 587) or remove auth_user";
	else if (strstr(text, "AUTH mechanism") != NULL)
		hint = "set auth_mech to one the server offers";
	dt_fail(t, EX_TEMPFAIL, text, hint);
}

/* dt_txn: the test message on the session in T->s, then QUIT and close.
 * Returns the exit status. */
static int
dt_txn(struct dt *t)
{
	const struct conf *c = t->c;
	struct smtpc_txn txn;
	struct smtp_reply res;
	const char *rcpts[1];
	char rs[SMTP_REPLY_TEXT_MAX + 32], what[SMTP_REPLY_TEXT_MAX + 128];
	char pl[DT_PRINT_MAX];
	enum smtpc_want w;
	const char *p, *e;

	memset(&txn, 0, sizeof txn);
	memset(&res, 0, sizeof res);
	rcpts[0] = t->rcpt;
	txn.sender = t->env_from;
	txn.rcpt = rcpts;
	txn.nrcpt = 1;
	txn.size = t->msg.len;
	txn.rcpt_result = &res;
	t->in_txn = 1;
	t->refused_in[0] = '\0';
	smtpc_start(t->s.smtp, &txn);
	w = smtpc_want(t->s.smtp);
	if (!txn.done)
		w = dl_sess_wait(&t->s, c);
	if (w == SMTPC_WANT_BODY && !txn.done) {
		for (p = t->msg.p; *p != '\0'; p = e + 2) {
			e = strstr(p, "\r\n");
			if (e == NULL)
				break;
			(void)ob_snprintf(pl, sizeof pl, "%.*s", (int)(e - p),
			    p);
			printf(" -> %s\n", pl);
		}
		printf(" -> .\n");
		if (smtpc_body(t->s.smtp, t->msg.p, t->msg.len) == 0)
			(void)smtpc_body_end(t->s.smtp);
		w = dl_sess_wait(&t->s, c);
	}
	t->in_txn = 0;
	if (res.code == 0)	/* cannot happen: every path gives results */
		smtp_reply_local(&res, 451, "4.4.2", "no result (state %s)",
		    smtpc_state_name(t->s.smtp));
	if (w == SMTPC_WANT_TXN) {
		smtpc_quit(t->s.smtp);
		(void)dl_sess_wait(&t->s, c);
	}
	dl_sess_close(&t->s);
	if (res.local && res.status[0] != '\0')
		snprintf(rs, sizeof rs, "%s %s", res.status, res.text);
	else if (res.local)
		snprintf(rs, sizeof rs, "%s", res.text);
	else
		smtp_reply_fmt(&res, rs, sizeof rs);
	switch (deliver_classify(&res)) {
	case QR_DELIVERED:
		printf("=== Delivered: %s\n", rs);
		return 0;
	case QR_FAILED:
		snprintf(what, sizeof what, "%s refused %s: %s",
		    res.local ? "outbox" : "the server",
		    strcmp(t->refused_in, "MAIL") == 0 ? "the sender" :
		    strcmp(t->refused_in, "RCPT") == 0 ? "the recipient" :
		    "the message", rs);
		dt_fail(t, EX_UNAVAILABLE, what,
		    strcmp(t->refused_in, "MAIL") == 0 ? "use --from with an "
		    "address the relay lets you send as, or set from_address" :
		    strcmp(t->refused_in, "RCPT") == 0 ? "check the address "
		    "(the queue would bounce this)" :
		    "the queue would bounce this");
		return EX_UNAVAILABLE;
	default:
		snprintf(what, sizeof what, "deferred: %s", rs);
		dt_fail(t, EX_TEMPFAIL, what, res.code == 530 ? "the server "
		    "wants AUTH first: set auth_user and auth_password_file" :
		    "a temporary failure: the queue would try again later");
		return EX_TEMPFAIL;
	}
}

/* dt_relays: the route's relays in order, as delivery tries them (a
 * relay that cannot be reached or refuses the session: the next one;
 * the first session that works carries the message).  Unlike a queue
 * run, relays that back off are tried too. */
static int
dt_relays(struct dt *t)
{
	const struct conf *c = t->c;
	const struct conf_route *r = t->r;
	struct route_run *rr = &t->rr;
	struct smtpc_conf sc;
	struct ob_err err;
	size_t i;
	int implicit, k;

	if (dl_sess_secret(rr, &err) == -1) {
		dt_fail(t, err.ex != 0 ? err.ex : EX_TEMPFAIL, err.text,
		    r->auth_password_file != NULL ? "fix auth_password_file "
		    "(readable by outbox only)" : "fix auth_password_command");
		return t->ex;
	}
	/* the route's TLS client, made now: a bad setting is the
	 * configuration's problem, not the server's */
	if (r->tls != CONF_TLS_OFF &&
	    dl_tls_client(rr, DL_TC_ROUTE, &err) == -1) {
		dt_fail(t, EX_CONFIG, err.text, "fix the TLS settings "
		    "(outbox check-config)");
		return EX_CONFIG;
	}
	for (i = 0; i < r->nrelays; i++) {
		const struct conf_relay *relay = &r->relays[i];

		memset(&t->s, 0, sizeof t->s);
		t->s.rr = rr;
		t->s.relay = relay;
		t->s.tls_kind = DL_TC_ROUTE;
		t->tls_shown = 0;
		(void)ob_snprintf(t->s.tls_host, sizeof t->s.tls_host, "%s",
		    relay->host);
		(void)ob_snprintf(t->host, sizeof t->host, "%s", relay->host);
		(void)ob_snprintf(t->s.name, sizeof t->s.name,
		    strchr(relay->host, ':') != NULL ? "[%s]:%d" : "%s:%d",
		    relay->host, relay->port);
		if (r->nrelays > 1)
			printf("=== Relay %zu of %zu: %s\n", i + 1, r->nrelays,
			    t->s.name);
		printf("=== Connecting to %s port %d\n", relay->host,
		    relay->port);
		if (conn_connect(&t->s.conn, relay->host, relay->port,
		    c->connect_timeout, &err) == -1) {
			printf("=== Error: %s\n", err.text);
			dt_fail(t, EX_TEMPFAIL, err.text, "check the relay's "
			    "host and port, and that it can be reached from "
			    "here");
			continue;
		}
		printf("=== Connected to %s\n", conn_peer(t->s.conn));
		dl_sess_conf(rr, relay, &sc, &implicit);
		if (implicit)
			printf("=== TLS first (implicit TLS, RFC 8314)\n");
		k = dl_sess_start(&t->s, &sc, implicit, &err);
		if (k == 0)
			return dt_txn(t);
		if (k == -2) {
			struct tls_peer p;

			if (tls_client_last_peer(rr->tc[DL_TC_ROUTE], &p) == 0) {
				dt_show_peer(&p, relay->host);
				printf("===   verified: no\n");
			}
		}
		dt_sess_fail(t, k, err.text);
	}
	if (r->nrelays > 1)
		printf("=== No relay usable (%zu tried)\n", r->nrelays);
	return t->ex;
}

/* dt_mx: the recipient domain's mail exchangers, as mx.c tries them:
 * preference order, each host's addresses, at most mx_max_hosts
 * addresses; a host that cannot be reached or refuses the session: the
 * next; opportunistic TLS that fails: the same host once more in clear
 * (RFC 7435). */
static int
dt_mx(struct dt *t)
{
	const struct conf *c = t->c;
	const struct conf_route *r = t->r;
	struct route_run *rr = &t->rr;
	struct dns_mx *hosts = NULL, lit;
	struct dns_addr *addrs = NULL;
	struct smtpc_conf sc;
	struct ob_err err;
	enum dns_status ds;
	enum tlspol_level def, level;
	struct buf b;
	char dom[300];
	size_t nh = 0, na = 0, h, i;
	int tries = 0, k, ex;

	if (dl_rcpt_domain(t->rcpt, dom, sizeof dom) == -1) {
		dt_fail(t, EX_USAGE, "the address has no domain", NULL);
		return EX_USAGE;
	}
	switch (r->tls) {
	case CONF_TLS_OFF: def = TLSPOL_NONE; break;
	case CONF_TLS_STARTTLS:
	case CONF_TLS_IMPLICIT:
		def = r->tls_verify ? TLSPOL_VERIFY : TLSPOL_ENCRYPT;
		break;
	default: def = TLSPOL_MAY; break;
	}
	if (c->tls_policy != NULL && tlspol_load(&rr->pol, c->tls_policy,
	    stderr) != 0) {
		dt_fail(t, EX_CONFIG, "tls_policy cannot be used", "fix it "
		    "(outbox check-config says how)");
		return EX_CONFIG;
	}
	level = tlspol_lookup(rr->pol, dom, def);
	printf("=== TLS policy for %s: %s\n", dom, tlspol_name(level));
	if (dns_new(&rr->dns, c->dns_server, c->ip_version, 0, &err) == -1) {
		dt_fail(t, err.kind == OB_PERM ? EX_CONFIG : EX_TEMPFAIL,
		    err.text, "check dns_server and /etc/resolv.conf");
		return t->ex;
	}
	rr->own_dns = 1;
	if (dom[0] == '[') {
		/* an address literal (RFC 5321 4.1.3): that host only */
		memset(&lit, 0, sizeof lit);
		(void)ob_snprintf(lit.name, sizeof lit.name, "%s", dom);
		hosts = &lit;
		nh = 1;
	} else if ((ds = dns_mx(rr->dns, dom, &hosts, &nh, &err)) != DNS_OK) {
		printf("=== DNS: MX %s: %s\n", dom, dns_status_name(ds));
		ex = ds == DNS_TEMP ? EX_TEMPFAIL : EX_UNAVAILABLE;
		dt_fail(t, ex, err.text, ds == DNS_TEMP ? "a DNS failure: "
		    "check dns_server or the resolver; the queue would try "
		    "again" : "the domain takes no mail: check the address "
		    "(the queue would bounce this)");
		return ex;
	} else {
		buf_init(&b, 4096);
		for (h = 0; h < nh; h++)
			buf_printf(&b, "%s%d %s", h ? ", " : "", hosts[h].pref,
			    hosts[h].name);
		if (nh == 1 && strcmp(hosts[0].name, dom) == 0)
			buf_addstr(&b, " (no MX record: the domain itself, "
			    "RFC 5321 5.1)");
		printf("=== DNS: MX %s: %s\n", dom, b.p);
		buf_free(&b);
	}
	for (h = 0; h < nh && tries < c->mx_max_hosts; h++) {
		ds = dns_addrs(rr->dns, hosts[h].name, &addrs, &na, &err);
		if (ds != DNS_OK) {
			printf("=== DNS: %s: %s\n", hosts[h].name, err.text);
			dt_fail(t, EX_TEMPFAIL, err.text, NULL);
			continue;
		}
		for (i = 0; i < na; i++)
			printf("=== DNS: %s %s %s\n", hosts[h].name,
			    addrs[i].family == AF_INET6 ? "AAAA" : "A",
			    addrs[i].text);
		for (i = 0; i < na && tries < c->mx_max_hosts; i++) {
			enum tlspol_level lv = level;

			tries++;
again:
			memset(&t->s, 0, sizeof t->s);
			t->s.rr = rr;
			t->tls_shown = 0;
			(void)ob_snprintf(t->s.name, sizeof t->s.name,
			    "%s[%s]:%d", hosts[h].name, addrs[i].text,
			    c->mx_port);
			(void)ob_snprintf(t->s.tls_host, sizeof t->s.tls_host,
			    "%s", hosts[h].name[0] == '[' ? addrs[i].text :
			    hosts[h].name);
			(void)ob_snprintf(t->host, sizeof t->host, "%s",
			    t->s.tls_host);
			t->s.tls_kind = lv == TLSPOL_VERIFY ? DL_TC_VERIFY :
			    DL_TC_NOVERIFY;
			printf("=== Connecting to %s port %d (%s)\n",
			    addrs[i].text, c->mx_port, hosts[h].name);
			if (conn_connect(&t->s.conn, addrs[i].text, c->mx_port,
			    c->connect_timeout, &err) == -1) {
				printf("=== Error: %s\n", err.text);
				dt_fail(t, EX_TEMPFAIL, err.text, "the mail "
				    "exchanger cannot be reached from here "
				    "(is outgoing port 25 blocked?)");
				continue;
			}
			printf("=== Connected to %s\n", conn_peer(t->s.conn));
			sc = rr->sc;
			sc.tls_up = 0;
			sc.tls = lv == TLSPOL_NONE ? SMTPC_TLS_OFF :
			    lv == TLSPOL_MAY ? SMTPC_TLS_MAY :
			    SMTPC_TLS_REQUIRE;
			sc.auth_user = NULL;	/* MX hosts take no AUTH */
			sc.auth_secret = NULL;
			k = dl_sess_start(&t->s, &sc, 0, &err);
			if (k == 0) {
				free(addrs);
				if (hosts != &lit)
					free(hosts);
				return dt_txn(t);
			}
			if (k == -2 && rr->tc[t->s.tls_kind] != NULL) {
				struct tls_peer p;

				if (tls_client_last_peer(rr->tc[t->s.tls_kind],
				    &p) == 0) {
					dt_show_peer(&p, hosts[h].name);
					printf("===   verified: no\n");
				}
			}
			dt_sess_fail(t, k, err.text);
			if (k == -2 && lv == TLSPOL_MAY) {
				printf("=== Opportunistic TLS failed: once "
				    "more in clear (RFC 7435)\n");
				lv = TLSPOL_NONE;
				goto again;
			}
		}
		free(addrs);
		addrs = NULL;
	}
	if (hosts != &lit)
		free(hosts);
	printf("=== No mail exchanger of %s usable (%d tried)\n", dom, tries);
	if (tries == 0)
		dt_fail(t, EX_TEMPFAIL, "no address for any mail exchanger",
		    NULL);
	return t->ex;
}

int
deliver_test(struct conf *c, int argc, char **argv)
{
	struct dt t;
	int ex;

	memset(&t, 0, sizeof t);
	t.c = c;
	if (dt_args(&t, argc, argv) == -1) {
		free(t.rcpt);
		free(t.sender);
		return EX_USAGE;
	}
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	t.r = conf_route_for(c, t.sender);
	t.env_from = t.r->from_address != NULL ? t.r->from_address :
	    t.sender;
	t.ex = EX_TEMPFAIL;
	dt_message(&t);
	dt_route_line(&t);
	dl_run_init(&t.rr, c, t.r, NULL, 1);
	t.rr.sc.trace = dt_trace;
	t.rr.sc.trace_arg = &t;
	ex = t.r->nrelays > 0 ? dt_relays(&t) : dt_mx(&t);
	if (ex != 0)
		printf("=== Failed: %s\n", t.why);
	dl_run_free(&t.rr);
	buf_free(&t.msg);
	free(t.rcpt);
	free(t.sender);
	fflush(stdout);
	return ex;
}
