/* deliver.c - one delivery run to the configured relays.
 *
 * Claims due messages from the queue in small batches (a lease each),
 * sends them over one connection (RSET only after a transaction that did
 * not end at the final dot; with PIPELINING, the next message's MAIL, RCPT
 * and DATA follow the dot, so a message costs one round trip), and
 * records every recipient's result in its own transaction as soon as the
 * reply to the final dot is in, before the next body goes out: the window
 * in which a crash can cause a duplicate (DESIGN.md invariant 2) is one
 * message wide.  The SMTP dialogue itself is smtpc's; this file owns
 * the sockets, the waiting, and the policy of what a reply means.
 *
 * Relay policy: relays are tried in the configured order; one that refuses
 * the connection, times out, or greets/EHLOs with an error is skipped for
 * the next.  When none can be reached, every message due in this run is
 * recorded as deferred with the reason (an attempt: backoff and expiry go
 * on), the run stops trying (no connection attempt per message), and the
 * relay list as a whole backs off (queue_dest_*): no run connects again
 * before retry_initial * 2^(failures-1), capped at retry_max, unless asked
 * to (--all).  The first session that gets through clears that.  Each
 * relay also backs off on its own by the same rule, so that while the
 * first relay is down, sessions go straight to the next one instead of
 * waiting for its connect_timeout every time.
 *
 * Results: 2xx delivered; 5xx failed and reported to the sender in a DSN
 * queued with the result (bounce.c); 4xx or no answer deferred to the time
 * sched_next gives, or, past queue_lifetime, failed with 4.4.7 (RFC 3463)
 * and reported.  Each run attempts a message at most once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bounce.h"
#include "conn.h"
#include "deliver.h"
#include "deliver_int.h"
#include "dns.h"
#include "tlspol.h"
#include "dsn.h"
#include "log.h"
#include "queue.h"
#include "sched.h"
#include "secret.h"
#include "smtpc.h"
#include "tls.h"
#include "util.h"

#define DELIVER_MAX_LINE	4096		/* reply lines kept (RFC 5321
						 * 4.5.3.1.5 allows 512) */
#define DELIVER_WRITE_AT	65536		/* body bytes buffered per write */

int
deliver_classify(const struct smtp_reply *r)
{
	if (r->code >= 200 && r->code < 300)
		return QR_DELIVERED;
	/* 530 "authentication required" (RFC 4954 6) is our configuration's
	 * fault, not the message's: like a wrong password, it defers */
	if (r->code == 530)
		return QR_PENDING;
	if (r->code >= 500 && r->code < 600)
		return QR_FAILED;
	return QR_PENDING;
}

void
dl_sess_close(struct session *s)
{
	struct route_run *rr = s->rr;

	smtpc_free(s->smtp);
	tls_session_free(s->tls);	/* before its connection */
	conn_close(s->conn);
	buf_free(&s->line);
	memset(s, 0, sizeof *s);
	s->rr = rr;
}

int
dl_tls_client(struct route_run *rr, int kind, struct ob_err *err)
{
	const struct conf_route *r = rr->r;
	struct tls_conf tcf;

	if (rr->tc[kind] != NULL)
		return 0;
	memset(&tcf, 0, sizeof tcf);
	tcf.min_version = r->tls_min_version;
	if (kind == DL_TC_ROUTE) {
		tcf.ca_file = r->tls_ca_file;
		tcf.verify = r->tls_verify;
		tcf.fingerprint = r->tls_fingerprint;
		tcf.cert_file = r->tls_cert_file;
		tcf.key_file = r->tls_key_file;
	} else if (kind == DL_TC_VERIFY) {
		tcf.ca_file = r->tls_ca_file;
		tcf.verify = 1;
	}
	return tls_client_new(&rr->tc[kind], &tcf, err);
}

/* sess_tls: the TLS handshake on S's connection (implicit, or after the
 * 220 to STARTTLS), checked as its TLS client says: the route's settings
 * for a relay; for an MX host, nothing (policy may, encrypt) or chain and
 * host name against tls_ca_file or the system store (verify).  0, or -1
 * with ERR. */
static int
sess_tls(struct session *s, const struct conf *c, struct ob_err *err)
{
	struct route_run *rr = s->rr;
	struct tls_client **tc = &rr->tc[s->tls_kind];

	if (dl_tls_client(rr, s->tls_kind, err) == -1)
		return -1;
	if (tls_start(*tc, s->conn, s->tls_host, c->command_timeout,
	    &s->tls, err) == -1) {
		s->tls_failed = 1;
		return -1;
	}
	log_info("relay=%s tls=\"%s\"", s->name, tls_info(s->tls));
	return 0;
}

/* sess_flush: send what the engine has queued.  A failed write ends the
 * session (smtpc_lost gives unfinished recipients a temporary result). */
static int
sess_flush(struct session *s, const struct conf *c)
{
	struct buf *out = smtpc_output(s->smtp);
	struct ob_err err;

	if (out->len == 0)
		return 0;
	if (conn_write(s->conn, out->p, out->len, c->command_timeout,
	    &err) == -1) {
		smtpc_lost(s->smtp, err.text);
		return -1;
	}
	if (strcmp(smtpc_state_name(s->smtp), "AUTH") == 0)
		explicit_bzero(out->p, out->len);	/* credentials */
	buf_clear(out);
	return 0;
}

/* sess_step: send what is queued, then, when the engine waits for a
 * reply, read one line into it (or report the loss).  Returns what the
 * engine wants next. */
static enum smtpc_want
sess_step(struct session *s, const struct conf *c)
{
	struct ob_err err;
	int64_t now;
	int r;

	if (sess_flush(s, c) == -1)
		return smtpc_want(s->smtp);
	if (smtpc_want(s->smtp) == SMTPC_WANT_TLS) {
		/* 220 to STARTTLS: nothing may be buffered in clear */
		if (sess_tls(s, c, &err) == -1)
			smtpc_tls_done(s->smtp, 0, err.text);
		else
			smtpc_tls_done(s->smtp, 1, NULL);
		return smtpc_want(s->smtp);
	}
	if (smtpc_want(s->smtp) != SMTPC_WANT_READ)
		return smtpc_want(s->smtp);
	/* The timeout bounds the whole reply (RFC 5321 4.5.3.2), so a
	 * server trickling "250-" lines cannot hold us forever. */
	now = ob_mono_ms();
	if (s->reply_end == 0)
		s->reply_end = now + smtpc_timeout_ms(s->smtp);
	r = conn_read_line(s->conn, &s->line, DELIVER_MAX_LINE,
	    s->reply_end > now ? s->reply_end - now : 0, &err);
	if (r == 1) {
		log_debug("%s <<< %s", s->name, s->line.p);
		smtpc_input(s->smtp, s->line.p, s->line.len);
		if (!smtpc_reply_open(s->smtp))
			s->reply_end = 0;
	} else if (r == 0) {
		char why[400];

		snprintf(why, sizeof why, "connection closed by %s in state "
		    "%s", s->name, smtpc_state_name(s->smtp));
		smtpc_lost(s->smtp, why);
	} else if (ob_mono_ms() >= s->reply_end) {
		char why[400];

		snprintf(why, sizeof why, "timeout after %llds waiting for %s's "
		    "reply in state %s", (long long)(smtpc_timeout_ms(s->smtp)
		    / 1000), s->name, smtpc_state_name(s->smtp));
		smtpc_lost(s->smtp, why);
	} else
		smtpc_lost(s->smtp, err.text);
	return smtpc_want(s->smtp);
}

/* dl_sess_wait: exchange commands and replies until the engine wants
 * something other than a reply. */
enum smtpc_want
dl_sess_wait(struct session *s, const struct conf *c)
{
	enum smtpc_want w;

	while ((w = sess_step(s, c)) == SMTPC_WANT_READ ||
	    w == SMTPC_WANT_TLS)
		;
	return w;
}

/* relay_failed: relay NAME could not be used (WHY): it backs off on its
 * own, so that the next sessions go straight to the relays that work. */
static void
relay_failed(const struct conf *c, struct queue *q, const char *name,
    const char *why)
{
	struct queue_dest d;
	struct ob_err e;

	if (queue_dest_fail(q, name, ob_now_ms(), c->retry_initial,
	    c->retry_max, why, &d, &e) == -1)
		log_warn("relay=%s backoff not recorded: %s", name, e.text);
}

/* dl_sess_conf: the engine's settings for RELAY of route run RR.  The TLS
 * mode "auto" means implicit TLS on port 465 (RFC 8314 3.3) and required
 * STARTTLS on any other port: a relay is never used in clear unless the
 * configuration says "tls off" (or "opportunistic"). */
void
dl_sess_conf(struct route_run *rr, const struct conf_relay *relay,
    struct smtpc_conf *sc, int *implicit)
{
	const struct conf_route *r = rr->r;
	int mode = r->tls;

	*sc = rr->sc;
	if (mode == CONF_TLS_AUTO)
		mode = relay->port == 465 ? CONF_TLS_IMPLICIT :
		    CONF_TLS_STARTTLS;
	*implicit = mode == CONF_TLS_IMPLICIT;
	sc->tls_up = 0;
	sc->tls = mode == CONF_TLS_STARTTLS ? SMTPC_TLS_REQUIRE :
	    mode == CONF_TLS_OPPORTUNISTIC ? SMTPC_TLS_MAY : SMTPC_TLS_OFF;
	sc->auth_host = relay->host;
	sc->auth_port = relay->port;
}

/* dl_sess_secret: the route's AUTH secret, read once per run (a password
 * file or command: secret.c).  0, or -1 with ERR. */
int
dl_sess_secret(struct route_run *rr, struct ob_err *err)
{
	const struct conf_route *r = rr->r;

	if (r->auth_user == NULL || rr->secret != NULL)
		return 0;
	if (secret_load(r->auth_password_file, r->auth_password_file != NULL
	    ? NULL : r->auth_password_command, &rr->secret, err) == -1)
		return -1;
	rr->sc.auth_secret = rr->secret;
	return 0;
}

int
dl_sess_start(struct session *s, struct smtpc_conf *sc, int implicit,
    struct ob_err *err)
{
	struct route_run *rr = s->rr;
	const struct conf *c = rr->c;
	const struct smtp_reply *er;
	char rs[SMTP_REPLY_TEXT_MAX + 32];
	int tls_failed;

	buf_init(&s->line, 0);
	rr->fail_status[0] = '\0';
	if (implicit) {
		/* RFC 8314 3.3: TLS from the first byte */
		if (sess_tls(s, c, err) == -1) {
			snprintf(rr->fail_status, sizeof rr->fail_status,
			    "4.7.0");
			dl_sess_close(s);
			return -2;
		}
		sc->tls_up = 1;
	}
	s->smtp = smtpc_new(sc);
	if (dl_sess_wait(s, c) == SMTPC_WANT_TXN) {
		log_debug("relay=%s connected extensions=0x%x tls=%s auth=%s",
		    s->name, smtpc_extensions(s->smtp), s->tls != NULL ?
		    tls_version(s->tls) : "none", smtpc_auth_mech(s->smtp) !=
		    NULL ? smtpc_auth_mech(s->smtp) : "none");
		return 0;
	}
	er = smtpc_error(s->smtp);
	if (er->local)
		snprintf(rs, sizeof rs, "%s", er->text);
	else
		smtp_reply_fmt(er, rs, sizeof rs);
	/* RFC 3463: X.7.x for security (TLS, AUTH) failures */
	if (er->local && strncmp(er->status, "4.7.", 4) == 0)
		snprintf(rr->fail_status, sizeof rr->fail_status, "%s",
		    er->status);
	ob_err_set(err, OB_TEMP, 0, "%s: %s", s->name, rs);
	tls_failed = s->tls_failed;
	dl_sess_close(s);
	return tls_failed ? -2 : -1;
}

/* sess_open: connect to the route's relays in order from the first,
 * skipping those that back off (unless rr->all); 0 with a session ready
 * for a transaction, or -1 with the last relay's reason in ERR. */
static int
sess_open(struct session *s, struct route_run *rr, struct ob_err *err)
{
	const struct conf *c = rr->c;
	const struct conf_route *route = rr->r;
	struct smtpc_conf sc;
	struct queue_dest d;
	struct ob_err e;
	char when[32], name[sizeof s->name];
	size_t i;
	int implicit;

	ob_err_set(err, OB_TEMP, 0, "no relay configured");
	rr->fail_status[0] = '\0';
	if (dl_sess_secret(rr, err) == -1) {
		snprintf(rr->fail_status, sizeof rr->fail_status, "4.7.0");
		log_err("relay credentials: %s", err->text);
		return -1;
	}
	for (i = 0; i < route->nrelays; i++) {
		const struct conf_relay *r = &route->relays[i];

		memset(s, 0, sizeof *s);
		s->rr = rr;
		s->relay = r;
		s->tls_kind = DL_TC_ROUTE;
		snprintf(s->tls_host, sizeof s->tls_host, "%s", r->host);
		snprintf(s->name, sizeof s->name, strchr(r->host, ':')
		    ? "[%s]:%d" : "%s:%d", r->host, r->port);
		if (!rr->all && queue_dest_get(rr->q, s->name, &d, &e) == 1 &&
		    d.next_try > ob_now_ms()) {
			fmt_iso_time(when, sizeof when, d.next_try);
			ob_err_set(err, OB_TEMP, 0, "%s: backing off until %s "
			    "after: %s", s->name, when, d.reason);
			log_debug("relay=%s skipped: backing off until %s",
			    s->name, when);
			continue;
		}
		if (conn_connect(&s->conn, r->host, r->port,
		    c->connect_timeout, err) == -1) {
			log_warn("relay=%s status=unreachable reason=\"%s\"",
			    s->name, err->text);
			relay_failed(c, rr->q, s->name, err->text);
			continue;
		}
		dl_sess_conf(rr, r, &sc, &implicit);
		(void)ob_snprintf(name, sizeof name, "%s", s->name);
		if (dl_sess_start(s, &sc, implicit, err) == 0) {
			if (queue_dest_ok(rr->q, name, &e) == -1)
				log_warn("relay=%s: %s", name, e.text);
			return 0;
		}
		log_warn("relay=%s status=refused reason=\"%s\"", name,
		    err->text);
		relay_failed(c, rr->q, name, err->text);
	}
	return -1;
}

/* jitter: a random value in [-100, 100] for sched_next. */
static int
jitter(void)
{
	static uint64_t x;

	if (x == 0 && (getrandom(&x, sizeof x, GRND_NONBLOCK) !=
	    (ssize_t)sizeof x || x == 0))
		x = (uint64_t)ob_now_ms() * 2654435761u | 1;
	x ^= x << 13;		/* xorshift64 */
	x ^= x >> 7;
	x ^= x << 17;
	return (int)(x % 201) - 100;
}

/* remote_host: "host" of a session name "host:port" or "[v6]:port"
 * (Remote-MTA is a name, RFC 3464 2.3.5). */
static char *
remote_host(const char *name)
{
	const char *e;

	if (name[0] == '[' && (e = strchr(name, ']')) != NULL)
		return xstrndup(name + 1, (size_t)(e - name - 1));
	if ((e = strrchr(name, ':')) != NULL)
		return xstrndup(name, (size_t)(e - name));
	return xstrdup(name);
}

/* record: recipient RI of M got reply R from RELAY at NOW.  Sets its
 * state, attempts, next attempt (backoff, or expiry: 4.4.7) and result,
 * logs it, and says in NOTE what the sender may have to be told. */
void
dl_record(const struct conf *c, struct queue_msg *m, size_t ri,
    const struct smtp_reply *r, const char *relay, int64_t now,
    struct bounce_note *note, struct deliver_stats *st)
{
	static const char *const status[] = { "deferred", "sent", "failed" };
	struct queue_rcpt *rc = &m->rcpt[ri];
	struct sched_policy pol;
	char res[SMTP_REPLY_TEXT_MAX + 32], q1[600], q2[SMTP_REPLY_TEXT_MAX + 64];
	char life[32], retry[48] = "";
	const char *dsn = r->status;
	int64_t next = 0;

	if (r->local && *r->status != '\0')	/* "5.6.3 our reason" */
		snprintf(res, sizeof res, "%s %s", r->status, r->text);
	else if (r->local)
		snprintf(res, sizeof res, "%s", r->text);
	else
		smtp_reply_fmt(r, res, sizeof res);
	rc->state = deliver_classify(r);
	rc->attempts++;
	rc->last_attempt = now;
	free(rc->last_result);
	rc->last_result = xstrdup(res);
	free(rc->remote);
	rc->remote = r->local ? NULL : remote_host(relay);
	if (*dsn == '\0')
		dsn = rc->state == QR_DELIVERED ? "2.0.0"
		    : rc->state == QR_FAILED ? "5.0.0" : "4.0.0";
	memset(note, 0, sizeof *note);
	note->reply = r->local ? NULL : rc->last_result;
	note->remote = rc->remote;
	if (r->local)
		(void)ob_snprintf(note->reason, sizeof note->reason, "%s",
		    r->text);
	if (rc->state == QR_PENDING) {
		pol.retry_initial = c->retry_initial;
		pol.retry_max = c->retry_max;
		pol.queue_lifetime = c->queue_lifetime;
		next = sched_next(&pol, rc->attempts, m->arrival, now,
		    jitter());
		if (next == SCHED_EXPIRED) {
			/* RFC 3463 4.4.7: delivery time expired */
			rc->state = QR_FAILED;
			dsn = "4.4.7";
			fmt_duration(life, sizeof life,
			    c->queue_lifetime);
			(void)ob_snprintf(note->reason, sizeof note->reason,
			    "not delivered within queue_lifetime %s; last "
			    "error: %s", life, res);
		} else {
			rc->next_attempt = next;
			note->deferred = 1;
			snprintf(retry, sizeof retry, " retry_in=%.1fs",
			    (double)(next - now) / 1000.0);
		}
	}
	snprintf(note->status, sizeof note->status, "%s", dsn);
	if (rc->state == QR_FAILED)
		note->action = DSN_FAILED;
	switch (rc->state) {
	case QR_DELIVERED: st->delivered++; break;
	case QR_FAILED: st->failed++; break;
	case QR_PENDING: st->deferred++; break;
	default: panic("record: state %d", rc->state);
	}
	/* dsn= carries the status; a local reason goes without it.  A
	 * deferral or failure is a warning: it shows when `outbox flush`
	 * is quiet (cron) and in syslog at that priority. */
	(rc->state == QR_DELIVERED ? log_info : log_warn)("%s delivery "
	    "to=<%s> relay=%s status=%s dsn=%s delay=%.2fs %s=%s%s%s",
	    m->idstr, log_quote(q1, sizeof q1, rc->addr), relay,
	    status[rc->state], dsn, (double)(now - m->arrival) / 1000.0,
	    r->local ? "reason" : "reply",
	    log_quote(q2, sizeof q2, r->local ? r->text : res),
	    next == SCHED_EXPIRED ? " expired=yes" : "", retry);
	if (st->progress != NULL)
		st->progress(st, st->progress_arg);
}

/* keep_failures: no bounce could be made for M's failures: no failure
 * either (DESIGN: the failure and its report go together); they stay
 * pending, to fail again and be reported at retry_initial. */
static void
keep_failures(const struct conf *c, struct queue_msg *m,
    const struct bounce_note *note, int64_t now)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		if (note[i].action == DSN_FAILED) {
			m->rcpt[i].state = QR_PENDING;
			m->rcpt[i].next_attempt = now + c->retry_initial;
		}
}

/* dl_commit: M's results from this attempt are in its recipients and in
 * NOTE: add the delay warning when it is time, prepare the DSN, and
 * commit results and DSN in one transaction (DESIGN: bounces). */
int
dl_commit(const struct conf *c, struct queue *q, struct queue_msg *m,
    struct bounce_note *note, int64_t now, struct deliver_stats *st,
    struct ob_err *err)
{
	struct queue_bounce *bp = NULL;
	struct bounce b;
	struct ob_err e2;
	char q1[600];
	size_t i;
	int k, warn = bounce_wants_warning(c, m, now);

	for (i = 0; i < m->nrcpt; i++) {
		if (!warn || !note[i].deferred)
			continue;
		note[i].action = DSN_DELAYED;
		if (note[i].status[0] != '4')
			snprintf(note[i].status, sizeof note[i].status,
			    "4.0.0");
	}
	k = bounce_prepare(c, q, m, note, now, &b, &e2);
	if (k == -1) {
		/* No DSN, so no failure either: those recipients stay
		 * pending and fail again later, with their report. */
		log_err("%s bounce not made (%s); failed recipients kept",
		    m->idstr, e2.text);
		keep_failures(c, m, note, now);
	} else if (k == 1) {
		bp = &b.qb;
	}
	k = queue_update_dsn(q, &m, &bp, 1, now, err);
	if (k == -1 && bp != NULL) {
		/* The bounce did not fit (map or disk full, say): record
		 * the rest, and keep the failures pending, to be failed
		 * and reported by a later attempt. */
		log_err("%s bounce not queued (%s); failed recipients kept",
		    m->idstr, err->text);
		keep_failures(c, m, note, now);
		bounce_free(&b);
		bp = NULL;
		k = queue_update_dsn(q, &m, &bp, 1, now, err);
	}
	if (k == 0 && bp != NULL) {
		log_info("%s bounce=%s to=<%s> failed=%zu delayed=%zu",
		    m->idstr, b.qb.idstr, log_quote(q1, sizeof q1, b.rcpt),
		    b.nfailed, b.ndelayed);
		st->bounces++;
	}
	if (bp != NULL)
		bounce_free(&b);
	return k;
}

struct job *
dl_job_new(const struct conf *c, const char *from_address,
    struct queue_msg *m, const char *domain, struct mx_msg *mx)
{
	struct job *j = xcalloc(1, sizeof *j);
	char d[300];
	size_t i, n = 0;

	j->c = c;
	j->mx = mx;
	j->note = mx != NULL ? mx->note :
	    xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof *j->note);
	j->m = m;
	j->rcpt = xcalloc(m->nrcpt, sizeof *j->rcpt);
	j->idx = xcalloc(m->nrcpt, sizeof *j->idx);
	j->res = xcalloc(m->nrcpt, sizeof *j->res);
	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state != QR_PENDING)
			continue;
		if (domain != NULL && (dl_rcpt_domain(m->rcpt[i].addr, d,
		    sizeof d) == -1 || strcmp(d, domain) != 0))
			continue;
		j->idx[n] = i;
		j->rcpt[n++] = m->rcpt[i].addr;
	}
	/* from_address: the envelope sender the relay account demands,
	 * given at the relay only: the queue keeps the real sender, who
	 * gets our own bounces and picks the route; the null sender stays
	 * null (RFC 5321 4.5.5) */
	j->t.sender = from_address != NULL && *m->sender != '\0' ?
	    from_address : m->sender;
	j->t.rcpt = j->rcpt;
	j->t.nrcpt = n;
	j->t.size = m->size;
	j->t.eightbit = (m->flags & QM_8BIT) != 0;
	j->t.eightbit_header = (m->flags & QM_8BITHDR) != 0;
	j->t.rcpt_result = j->res;
	return j;
}

int
dl_rcpt_domain(const char *a, char *dst, size_t n)
{
	const char *at = strrchr(a, '@');
	size_t i;

	if (at == NULL || at[1] == '\0' || strlen(at + 1) >= n)
		return -1;
	for (i = 0, at++; at[i] != '\0'; i++)
		dst[i] = at[i] >= 'A' && at[i] <= 'Z' ?
		    (char)(at[i] - 'A' + 'a') : at[i];
	dst[i] = '\0';
	return 0;
}

/* job_finish: record J's results and commit them (one synced
 * transaction, right after the reply that decided them), then free J.
 * STATE names where a session ended without a result. */
static int
job_finish(struct job *j, const char *relay, const char *state,
    struct queue *q, struct deliver_stats *st, struct ob_err *err)
{
	const struct conf *c = j->c;
	struct mx_msg *mx;
	int64_t now = ob_now_ms();
	size_t i;
	int r = 0, tried;

	for (i = 0; i < j->t.nrcpt; i++) {
		if (j->res[i].code == 0)
			smtp_reply_local(&j->res[i], 451, "4.4.2", "no result: "
			    "session ended in state %s", state);
		dl_record(j->c, j->m, j->idx[i], &j->res[i], relay, now,
		    &j->note[j->idx[i]], st);
	}
	if (j->mx == NULL) {
		r = dl_commit(j->c, q, j->m, j->note, now, st, err);
		queue_msg_free(j->m);
		free(j->note);
	}
	mx = j->mx;
	tried = j->t.nrcpt > 0;
	free(j->rcpt);
	free(j->idx);
	free(j->res);
	free(j);
	if (mx != NULL)		/* may settle and free the message */
		r = dl_mx_done(c, q, mx, tried, st, err);
	return r;
}

/* send_body: stream the stored message through the engine; the last
 * bytes and the final dot stay in the output for one write. */
static void
send_body(struct session *s, const struct conf *c, struct queue *q,
    const struct queue_msg *m, struct buf *chunk)
{
	struct ob_err err;
	uint32_t i;
	int r;

	for (i = 0; i < m->nchunks; i++) {
		r = queue_body_chunk(q, m->id, i, chunk, &err);
		if (r != 1) {
			/* The DATA can't be taken back: drop the connection
			 * so the server discards what it got. */
			smtpc_lost(s->smtp, r == 0 ? "queue: body chunk "
			    "missing" : err.text);
			return;
		}
		if (smtpc_body(s->smtp, chunk->p, chunk->len) == -1)
			return;
		if (smtpc_output(s->smtp)->len >= DELIVER_WRITE_AT
		    && sess_flush(s, c) == -1)
			return;
	}
	smtpc_body_end(s->smtp);
}

/* settle: once the message waiting for its dot has its results, commit
 * them.  -1 only for a queue error. */
static int
settle(struct session *s, struct pipe *p, struct queue *q,
    struct deliver_stats *st, struct ob_err *err)
{
	struct job *j = p->dot;

	if (j == NULL || !j->t.done)
		return 0;
	p->dot = NULL;
	return job_finish(j, s->name, smtpc_state_name(s->smtp), q, st, err);
}

/* drive: read replies until the engine wants something else.  The
 * waiting message's results are committed as soon as they are in, at the
 * latest before we would block on the network (the caller commits them
 * when the next message's 354 came in the same read: before its body, so
 * that at most one message has a 250 and no commit, DESIGN invariant 2). */
static enum smtpc_want
drive(struct session *s, const struct conf *c, struct pipe *p,
    struct queue *q, struct deliver_stats *st, struct ob_err *err, int *qerr)
{
	enum smtpc_want w = smtpc_want(s->smtp);

	while (w == SMTPC_WANT_READ) {
		if (conn_buffered(s->conn) == 0
		    && settle(s, p, q, st, err) == -1)
			*qerr = 1;
		w = sess_step(s, c);
	}
	if (w != SMTPC_WANT_BODY && settle(s, p, q, st, err) == -1)
		*qerr = 1;
	return w;
}

/* rate_wait: relay_rate: wait for this route's next send slot (shared by
 * every process through the queue), after sending what S holds (the
 * previous message's final dot must not wait with us).  Slots are spaced
 * 2 % wider than the rate, so that network jitter cannot squeeze one
 * message too many into a window at the relay.  0, or -1 with ERR (queue
 * error). */
static int
rate_wait(struct session *s, struct ob_err *err)
{
	struct route_run *rr = s->rr;
	const struct conf_rate *rt = &rr->r->relay_rate;
	struct timespec ts;
	int64_t slot, now, left;
	char name[600];

	if (rt->count == 0)
		return 0;
	(void)sess_flush(s, rr->c);	/* a failure shows at the next read */
	(void)snprintf(name, sizeof name, "rate %s", rr->dname);
	now = ob_now_ms();
	if (queue_rate_take(rr->q, name, now, (rt->per_ms * 102 +
	    (int64_t)rt->count * 100 - 1) / ((int64_t)rt->count * 100), &slot,
	    err) == -1)
		return -1;
	while ((left = slot - ob_now_ms()) > 0) {
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		(void)nanosleep(&ts, NULL);	/* EINTR: look again */
	}
	return 0;
}

int
dl_send_msg(struct session *s, const struct conf *c, struct queue *q,
    struct job *j, struct pipe *p, struct buf *chunk,
    struct deliver_stats *st, struct ob_err *err)
{
	struct queue_msg *m = j->m;
	enum smtpc_want w;
	int qerr = 0;

	if (j->t.nrcpt == 0)
		return job_finish(j, s->name, "", q, st, err) == -1 ? -1 : 0;
	if (rate_wait(s, err) == -1) {
		(void)job_finish(j, s->name, "", q, st, err);
		return -1;
	}
	/* Not pipelined behind the dot: wait for its reply first. */
	while (!smtpc_can_start(s->smtp)
	    && smtpc_want(s->smtp) == SMTPC_WANT_READ)
		(void)drive(s, c, p, q, st, err, &qerr);
	if (smtpc_can_start(s->smtp)) {
		smtpc_start(s->smtp, &j->t);
		w = smtpc_want(s->smtp);
		while (!j->t.done && w != SMTPC_WANT_BODY
		    && w != SMTPC_FAILED && w != SMTPC_DONE)
			w = drive(s, c, p, q, st, err, &qerr);
		if (!j->t.done && w == SMTPC_WANT_BODY) {
			/* the previous dot's reply came before this 354 */
			if (p->dot != NULL && !p->dot->t.done)
				panic("deliver: dot reply still open at DATA");
			if (settle(s, p, q, st, err) == -1)
				qerr = 1;
			/* The last body bytes and the dot stay in the output:
			 * the next message's commands join them in one write
			 * (drive and dl_drain flush before any wait). */
			send_body(s, c, q, m, chunk);
			if (smtpc_want(s->smtp) == SMTPC_WANT_READ
			    && !j->t.done) {
				p->dot = j;	/* its reply comes later */
				j = NULL;
			}
		}
	}
	if (j != NULL && job_finish(j, s->name, smtpc_state_name(s->smtp), q,
	    st, err) == -1)
		qerr = 1;
	if (qerr)
		return -1;
	w = smtpc_want(s->smtp);
	return w == SMTPC_FAILED || w == SMTPC_DONE ? 1 : 0;
}

int
dl_drain(struct session *s, const struct conf *c, struct pipe *p,
    struct queue *q, struct deliver_stats *st, struct ob_err *err)
{
	int qerr = 0;

	while (p->dot != NULL && smtpc_want(s->smtp) == SMTPC_WANT_READ)
		(void)drive(s, c, p, q, st, err, &qerr);
	if (p->dot != NULL)	/* session ended: results are set */
		p->dot->t.done = 1;
	if (settle(s, p, q, st, err) == -1)
		qerr = 1;
	return qerr ? -1 : 0;
}

int
dl_finish_session(struct session *s, const struct conf *c, struct pipe *p,
    struct queue *q, struct deliver_stats *st, struct ob_err *err)
{
	int r = dl_drain(s, c, p, q, st, err);

	if (s->smtp != NULL && smtpc_can_start(s->smtp)) {
		smtpc_quit(s->smtp);
		dl_sess_wait(s, c);
	}
	dl_sess_close(s);
	return r;
}

/* dest_name: the key the relay list backs off under: the list itself, so
 * that a changed configuration starts afresh. */
void
deliver_dest_name(const struct conf_route *r, char *dst, size_t n)
{
	size_t i, len = 0;

	len += (size_t)snprintf(dst, n, "relay");
	for (i = 0; i < r->nrelays && len < n; i++)
		len += (size_t)snprintf(dst + len, n - len, " %s:%d",
		    r->relays[i].host, r->relays[i].port);
}

int
dl_route_want(const char *sender, void *arg)
{
	const struct route_run *rr = arg;

	return conf_route_for(rr->c, sender) == rr->r;
}

/* dl_defer_claimed: no session: record IDS[from..n) as deferred with REP,
 * each with its report (an attempt: backoff and expiry go on). */
static int
dl_defer_claimed(const struct conf *c, struct queue *q, const uint64_t *ids,
    size_t from, size_t n, const struct smtp_reply *rep,
    struct deliver_stats *st, struct ob_err *err)
{
	struct bounce_note *note;
	struct queue_msg *m;
	int64_t now;
	size_t i, j;
	int k;

	for (i = from; i < n; i++) {
		if ((k = queue_load(q, ids[i], &m, err)) == -1)
			return -1;
		if (k == 0)
			continue;
		st->messages++;
		now = ob_now_ms();
		note = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof *note);
		for (j = 0; j < m->nrcpt; j++)
			if (m->rcpt[j].state == QR_PENDING)
				dl_record(c, m, j, rep, "none", now, &note[j], st);
		k = dl_commit(c, q, m, note, now, st, err);
		free(note);
		queue_msg_free(m);
		if (k == -1)
			return -1;
	}
	return 0;
}

/* flush_route: deliver the due messages of route run RR (all of them when
 * there is only the default route).  0, or -1 with ERR for a queue error. */
static int
flush_route(struct route_run *rr, const struct deliver_opts *o,
    struct deliver_stats *st, struct ob_err *err)
{
	const struct conf *c = rr->c;
	struct queue *q = rr->q;
	queue_filter_fn *want = c->nroutes > 0 ? dl_route_want : NULL;
	struct session s;
	struct buf chunk;
	uint64_t ids[DELIVER_BATCH];
	struct pipe pipe = { NULL };
	struct smtp_reply rep;
	struct queue_dest dest;
	int64_t start = ob_now_ms(), lease_end = 0, next;
	size_t n, i, ndue;
	int have = 0, down = 0, lost = 0, tried = 0, r = -1;
	char down_why[sizeof err->text] = "";
	const char *dname = rr->dname;
	size_t msgs0 = st->messages, deliv0 = st->delivered;

	memset(&s, 0, sizeof s);
	s.rr = rr;
	buf_init(&chunk, 0);
	if (!o->all) {
		int k = queue_dest_get(q, dname, &dest, err);

		if (k == -1)
			goto fail;
		if (k == 1 && dest.next_try > start) {
			/* backing off: say so only if it has mail due */
			if (queue_due_for(q, start, 1, &ndue, &next, want, rr,
			    err) == -1)
				goto fail;
			if (ndue > 0) {
				if (!st->backed_off ||
				    dest.next_try < st->next_try)
					st->next_try = dest.next_try;
				st->backed_off = 1;
				snprintf(st->why, sizeof st->why, "%s",
				    dest.reason);
			}
			r = 0;
			goto fail;
		}
	}
	for (;;) {
		if (o->stop != NULL && *o->stop)
			break;
		/* A final dot may still sit in the output: it leaves with the
		 * next message's commands, or in dl_drain() when none come. */
		lease_end = ob_now_ms() + DELIVER_LEASE_MS;
		if (queue_claim_for(q, ob_now_ms(), o->all, start,
		    DELIVER_LEASE_MS, ids, DELIVER_BATCH, &n, want, rr,
		    err) == -1)
			goto fail;
		if (n == 0 && have && pipe.dot != NULL) {
			/* its result may queue a bounce: look again after */
			if (dl_drain(&s, c, &pipe, q, st, err) == -1)
				goto fail;
			continue;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			struct queue_msg *m = NULL;
			int k;

			if (o->stop != NULL && *o->stop) {
				/* unsent: due again at once, for whoever
				 * runs next */
				if (queue_release(q, ids + i, n - i, err)
				    == -1)
					goto fail;
				break;
			}
			if (!have && !down) {
				if (lost >= DELIVER_MAX_RECONNECT) {
					snprintf(down_why, sizeof down_why,
					    "%d sessions lost in this run",
					    lost);
					down = 1;
				} else if (sess_open(&s, rr, err) == 0) {
					have = 1;
					if (!tried && queue_dest_ok(q, dname,
					    err) == -1)
						goto fail;
				} else {
					snprintf(down_why, sizeof down_why,
					    "%s", err->text);
					down = 1;
					if (!tried && queue_dest_fail(q, dname,
					    ob_now_ms(), c->retry_initial,
					    c->retry_max, down_why, &dest,
					    err) == -1)
						goto fail;
				}
				tried = 1;
			}
			if (!have) {
				if (rr->fail_status[0] != '\0')
					smtp_reply_local(&rep, 451,
					    rr->fail_status, "no relay "
					    "usable: %s", down_why);
				else
					smtp_reply_local(&rep, 451, "4.4.1",
					    "no relay reachable: %s",
					    down_why);
				if (dl_defer_claimed(c, q, ids, i, n, &rep, st,
				    err) == -1)
					goto fail;
				break;
			}
			/* A batch that takes long keeps its leases: the
			 * messages not sent yet must not go to a second
			 * process (DESIGN invariant 3). */
			if (ob_now_ms() > lease_end - DELIVER_LEASE_MS / 2) {
				lease_end = ob_now_ms() + DELIVER_LEASE_MS;
				if (queue_renew(q, ids + i, n - i, lease_end,
				    err) == -1)
					goto fail;
			}
			if ((k = queue_load(q, ids[i], &m, err)) == -1)
				goto fail;
			if (k == 0)
				continue;
			st->messages++;
			k = dl_send_msg(&s, c, q, dl_job_new(c,
			    rr->r->from_address, m, NULL, NULL), &pipe, &chunk,
			    st, err);
			if (k == 1 && dl_drain(&s, c, &pipe, q, st, err) == -1)
				k = -1;
			if (k == -1)
				goto fail;
			if (k == 1) {
				dl_sess_close(&s);
				have = 0;
				lost++;
			}
		}
	}
	r = 0;
fail:
	if (have && dl_finish_session(&s, c, &pipe, q, st, err) == -1)
		r = -1;
	if (st->messages > msgs0) {	/* the last result, durable too */
		struct ob_err e2;

		if (queue_sync(q, &e2) == -1 && r == 0) {
			*err = e2;
			r = -1;
		}
	}
	if (down && st->delivered == deliv0) {
		st->unreachable = 1;
		snprintf(st->why, sizeof st->why, "%s", down_why);
	}
	buf_free(&chunk);
	return r;
}

/* dl_run_init / dl_run_free: a route's run context. */
void
dl_run_init(struct route_run *rr, const struct conf *c,
    const struct conf_route *r, struct queue *q, int all)
{
	memset(rr, 0, sizeof *rr);
	rr->c = c;
	rr->r = r;
	rr->q = q;
	rr->all = all;
	rr->sc.helo_name = c->helo_name;
	rr->sc.greeting_timeout = c->greeting_timeout;
	rr->sc.command_timeout = c->command_timeout;
	rr->sc.data_timeout = c->data_timeout;
	rr->sc.auth_user = r->auth_user;
	rr->sc.auth_allow_plaintext = r->auth_allow_plaintext;
	switch (r->auth_mech) {
	case CONF_AUTH_PLAIN: rr->sc.auth_mech = AUTH_PLAIN; break;
	case CONF_AUTH_LOGIN: rr->sc.auth_mech = AUTH_LOGIN; break;
	case CONF_AUTH_SCRAM: rr->sc.auth_mech = AUTH_SCRAM_SHA_256; break;
	case CONF_AUTH_XOAUTH2: rr->sc.auth_mech = AUTH_XOAUTH2; break;
	case CONF_AUTH_OAUTHBEARER:
		rr->sc.auth_mech = AUTH_OAUTHBEARER;
		break;
	default: rr->sc.auth_mech = AUTH_NONE; break;
	}
	rr->sc.auth_token = r->auth_mech == CONF_AUTH_XOAUTH2 ||
	    r->auth_mech == CONF_AUTH_OAUTHBEARER;
	deliver_dest_name(r, rr->dname, sizeof rr->dname);
}

void
dl_run_free(struct route_run *rr)
{
	size_t i;

	for (i = 0; i < 3; i++)
		tls_client_free(rr->tc[i]);
	if (rr->own_dns)
		dns_free(rr->dns);
	tlspol_free(rr->pol);
	secret_free(rr->secret);	/* wiped */
	memset(rr, 0, sizeof *rr);
}

int
deliver_flush(const struct conf *c, struct queue *q,
    const struct deliver_opts *o, struct deliver_stats *st,
    struct ob_err *err)
{
	struct route_run rr;
	size_t i;
	int r = 0;

	memset(st, 0, sizeof *st);
	st->progress = o->progress;
	st->progress_arg = o->progress_arg;
	if (o->gc && queue_gc(q, ob_now_ms(), err) == -1)
		return -1;
	/* the default route, then each [sender] section's */
	for (i = 0; i <= c->nroutes && r == 0; i++) {
		if (o->stop != NULL && *o->stop)
			break;
		dl_run_init(&rr, c, i == 0 ? &c->route : &c->routes[i - 1], q,
		    o->all);
		r = rr.r->nrelays > 0 ? flush_route(&rr, o, st, err) :
		    mx_flush_route(&rr, o, st, err);
		dl_run_free(&rr);
	}
	return r;
}
