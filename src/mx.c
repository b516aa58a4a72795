/* mx.c - direct delivery: each recipient domain's mail exchangers
 * (RFC 5321 5.1), for a route without relays.
 *
 * A run claims due messages in batches and groups their pending
 * recipients by domain.  Each domain gets one session, which carries all
 * its recipients of every message in the batch (one transaction per
 * message), and stays open for the next batch when that one has mail for
 * the domain too.  A message to three domains is three deliveries; each
 * one's results are recorded as its replies come (queue_record: the
 * duplicate window stays one message wide, DESIGN invariant 2), and the
 * message is settled after its last domain: one transaction with at most
 * one DSN for the whole attempt.
 *
 * Choosing a host: the MX records in preference order (ties shuffled,
 * dns.c), or the domain itself when it has none (implicit MX), each
 * host's addresses in turn, at most mx_max_hosts addresses per attempt.
 * A refused connection, a timeout, an error or 421 at the greeting, EHLO
 * or STARTTLS, a failed TLS check: the next address.  Once a session is
 * up, replies to MAIL, RCPT and DATA are the domain's answer: 5xx fails
 * the recipient, 4xx defers it (no other host is asked).
 *
 * What a lookup says: null MX (RFC 7505) fails at once with 5.1.10,
 * NXDOMAIN with 5.1.2, a name without MX or address with 5.4.4; SERVFAIL,
 * timeouts and malformed answers defer (4.4.3), never bounce.
 *
 * TLS: the route's "tls" (auto: opportunistic) or the tls_policy file's
 * level for the domain (tlspol.h).  Opportunistic (RFC 7435) means
 * STARTTLS when offered, unverified, and a host whose handshake fails is
 * tried once more in clear right away (as Postfix's "may" level); encrypt
 * and verify never send in clear.
 *
 * Backoff and concurrency: a domain none of whose hosts could be used,
 * or whose lookup failed for a while, backs off as a whole ("mx DOMAIN",
 * queue_dest_*); until then its recipients are deferred without a
 * connection.  At most mx_domain_connections processes hold a session to
 * one domain (queue_slot_*); a message whose domains are all busy is
 * released untried for the process that holds them, and a batch in which
 * everything was busy ends the run (the daemon then waits a moment).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_int.h"
#include "dns.h"
#include "dsn.h"
#include "log.h"
#include "tlspol.h"

#define MX_BATCH	64		/* messages claimed at once */
#define MX_KEEP		8		/* sessions open at once */
#define MX_DNS_CACHE	1024		/* names kept by a run's resolver */
#define MX_DNS_TTL	3600		/* seconds, at most */

/* A domain of the batch and the messages with recipients there. */
struct mx_dom {
	char		 name[256];
	size_t		*msg;		/* indexes into the batch */
	size_t		 n;
};

/* An open session to a domain. */
struct mx_conn {
	char		 dom[256];	/* "" = free */
	struct session	 s;
	struct pipe	 pipe;
	int		 used;		/* had mail in this batch */
	int		 lost;		/* sessions lost in this run */
	uint64_t	 age;		/* when last used (a counter) */
};

struct mx_run {
	struct route_run	*rr;
	const struct deliver_opts *o;
	struct deliver_stats	*st;
	struct mx_conn		 conn[MX_KEEP];
	struct buf		 chunk;
	uint64_t		 clock;
	int			 def_level;	/* TLSPOL_* without a rule */
};

/* ---- settling a message -------------------------------------------- */

/* mx_partial: the results so far of a message still going to other
 * domains, kept with its lease.  A failure is only recorded with its
 * bounce (dl_commit), so it is written as still pending: after a crash
 * that recipient is tried, and fails, again. */
static int
mx_partial(struct queue *q, struct mx_msg *mm, int64_t now,
    struct ob_err *err)
{
	struct queue_msg *m = mm->m;
	unsigned char *was = xcalloc(m->nrcpt ? m->nrcpt : 1, 1);
	size_t i;
	int r;

	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i].state == QR_FAILED) {
			m->rcpt[i].state = QR_PENDING;
			was[i] = 1;
		}
	r = queue_record(q, m, now, err);
	for (i = 0; i < m->nrcpt; i++)
		if (was[i])
			m->rcpt[i].state = QR_FAILED;
	free(was);
	return r;
}

/* mx_left: one of MM's domains is done (TRIED: it had results).  After
 * the last one, settle the message: its results and DSN (dl_commit), or,
 * when no domain was tried (all busy), just the lease released. */
static int
mx_left(const struct conf *c, struct queue *q, struct mx_msg *mm,
    int tried, struct deliver_stats *st, struct ob_err *err)
{
	int64_t now = ob_now_ms();
	int r;

	if (mm->done)
		panic("mx: message settled twice");
	mm->tried |= tried;
	if (mm->left == 0)
		panic("mx: no domain left");
	if (--mm->left > 0)
		return tried ? mx_partial(q, mm, now, err) : 0;
	if (mm->tried)
		r = dl_commit(c, q, mm->m, mm->note, now, st, err);
	else
		r = queue_release(q, &mm->m->id, 1, err);
	mm->done = 1;
	queue_msg_free(mm->m);
	mm->m = NULL;
	free(mm->note);
	mm->note = NULL;
	return r;
}

int
dl_mx_done(const struct conf *c, struct queue *q, struct mx_msg *mm,
    int tried, struct deliver_stats *st, struct ob_err *err)
{
	return mx_left(c, q, mm, tried, st, err);
}

/* mx_answer: no session for domain D: every recipient of MM there gets
 * REP (from WHERE, for the log); then the domain is done for MM.  A
 * temporary REP does not move a recipient before NOT_BEFORE. */
static int
mx_answer(struct mx_run *x, struct mx_msg *mm, const char *d,
    const struct smtp_reply *rep, const char *where, int64_t not_before,
    struct ob_err *err)
{
	const struct conf *c = x->rr->c;
	struct queue_msg *m = mm->m;
	char rd[300];
	int64_t now = ob_now_ms();
	size_t i;

	for (i = 0; i < m->nrcpt; i++) {
		struct queue_rcpt *rc = &m->rcpt[i];

		if (rc->state != QR_PENDING || dl_rcpt_domain(rc->addr, rd,
		    sizeof rd) == -1 || strcmp(rd, d) != 0)
			continue;
		dl_record(c, m, i, rep, where, now, &mm->note[i], x->st);
		if (rc->state == QR_PENDING && rc->next_attempt < not_before)
			rc->next_attempt = not_before;
	}
	return mx_left(c, x->rr->q, mm, 1, x->st, err);
}

/* ---- finding a host ------------------------------------------------- */

/* mx_level: the TLS level for domain D. */
static int
mx_level(const struct mx_run *x, const char *d)
{
	return (int)tlspol_lookup(x->rr->pol, d,
	    (enum tlspol_level)x->def_level);
}

/* mx_try: connect to ADDR of host HOST (MX name, or the literal) and
 * start a session at TLS level LEVEL.  0 with S ready, -1 (ERR) on a
 * failure, -2 when the TLS handshake was what failed. */
static int
mx_try(struct mx_run *x, struct session *s, const char *host,
    const struct dns_addr *a, int level, struct ob_err *err)
{
	struct route_run *rr = x->rr;
	const struct conf *c = rr->c;
	struct smtpc_conf sc;

	memset(s, 0, sizeof *s);
	s->rr = rr;
	(void)ob_snprintf(s->name, sizeof s->name, "%s[%s]:%d", host,
	    a->text, c->mx_port);
	/* no SNI and no name to check for an address literal */
	(void)ob_snprintf(s->tls_host, sizeof s->tls_host, "%s",
	    host[0] == '[' ? a->text : host);
	s->tls_kind = level == TLSPOL_VERIFY ? DL_TC_VERIFY : DL_TC_NOVERIFY;
	if (conn_connect(&s->conn, a->text, c->mx_port, c->connect_timeout,
	    err) == -1) {
		log_warn("relay=%s status=unreachable reason=\"%s\"", s->name,
		    err->text);
		return -1;
	}
	sc = rr->sc;
	sc.tls_up = 0;
	sc.tls = level == TLSPOL_NONE ? SMTPC_TLS_OFF : level == TLSPOL_MAY ?
	    SMTPC_TLS_MAY : SMTPC_TLS_REQUIRE;
	sc.auth_user = NULL;		/* MX hosts take no AUTH */
	sc.auth_secret = NULL;
	return dl_sess_start(s, &sc, 0, err);
}

/* mx_open: a session to one of D's hosts in S.  0, or -1 with REP the
 * reply every recipient there gets (temporary or, for DNS answers that
 * say the domain takes no mail, permanent); *BACKOFF is then set when the
 * domain should back off. */
static int
mx_open(struct mx_run *x, const char *d, struct session *s,
    struct smtp_reply *rep, int *backoff)
{
	struct route_run *rr = x->rr;
	const struct conf *c = rr->c;
	struct dns_mx *hosts = NULL, lit;
	struct dns_addr *addrs = NULL;
	struct ob_err e;
	enum dns_status ds;
	size_t nh = 0, na, h, i;
	int level, tries = 0, k, tls_fail = 0;	/* tries ended in TLS */
	char last[sizeof e.text] = "";

	*backoff = 0;
	if (rr->pol_bad) {
		smtp_reply_local(rep, 451, "4.7.5", "%s", rr->pol_why);
		return -1;
	}
	if (rr->dns == NULL) {
		smtp_reply_local(rep, 451, "4.4.3", "no resolver: %s",
		    rr->pol_why);
		return -1;
	}
	level = mx_level(x, d);
	if (d[0] == '[') {
		/* an address literal (RFC 5321 4.1.3): that host only */
		memset(&lit, 0, sizeof lit);
		(void)ob_snprintf(lit.name, sizeof lit.name, "%s", d);
		hosts = &lit;
		nh = 1;
	} else if ((ds = dns_mx(rr->dns, d, &hosts, &nh, &e)) != DNS_OK) {
		smtp_reply_local(rep, ds == DNS_TEMP ? 451 : 550,
		    dns_status_dsn(ds), "%s", e.text);
		log_warn("domain=%s status=%s reason=\"%s\"", d,
		    ds == DNS_TEMP ? "deferred" : "failed", e.text);
		*backoff = ds == DNS_TEMP;
		return -1;
	}
	for (h = 0; h < nh && tries < c->mx_max_hosts; h++) {
		ds = dns_addrs(rr->dns, hosts[h].name, &addrs, &na, &e);
		if (ds != DNS_OK) {
			log_warn("domain=%s mx=%s skipped: %s", d,
			    hosts[h].name, e.text);
			(void)ob_snprintf(last, sizeof last, "%s", e.text);
			continue;
		}
		for (i = 0; i < na && tries < c->mx_max_hosts; i++) {
			tries++;
			k = mx_try(x, s, hosts[h].name, &addrs[i], level, &e);
			if (k == -2 && level == TLSPOL_MAY) {
				/* RFC 7435: better in clear than not at all;
				 * this host, once, without STARTTLS */
				log_warn("relay=%s[%s] TLS failed (%s); "
				    "trying again in clear", hosts[h].name,
				    addrs[i].text, e.text);
				k = mx_try(x, s, hosts[h].name, &addrs[i],
				    TLSPOL_NONE, &e);
			}
			if (k == 0) {
				free(addrs);
				if (hosts != &lit)
					free(hosts);
				return 0;
			}
			if (k == -2 || rr->fail_status[0] != '\0')
				tls_fail++;
			log_warn("relay=%s status=refused reason=\"%s\"",
			    hosts[h].name, e.text);
			(void)ob_snprintf(last, sizeof last, "%s", e.text);
		}
		free(addrs);
		addrs = NULL;
	}
	if (hosts != &lit)
		free(hosts);
	/* RFC 3463: X.4.1 no answer from host, X.7.x security */
	smtp_reply_local(rep, 451, tries > 0 && tls_fail == tries ? "4.7.0" :
	    "4.4.1",
	    "no mail exchanger of %s usable (%d tried); last: %s", d, tries,
	    last[0] ? last : "no address");
	*backoff = 1;
	return -1;
}

/* ---- sessions kept between batches ---------------------------------- */

static struct mx_conn *
conn_find(struct mx_run *x, const char *d)
{
	size_t i;

	for (i = 0; i < MX_KEEP; i++)
		if (x->conn[i].dom[0] != '\0' && strcmp(x->conn[i].dom, d)
		    == 0)
			return &x->conn[i];
	return NULL;
}

/* conn_end: finish K's session (its last results in) and give its slot
 * back. */
static int
conn_end(struct mx_run *x, struct mx_conn *k, struct ob_err *err)
{
	struct route_run *rr = x->rr;
	struct ob_err e;
	int r = 0;

	if (k->dom[0] == '\0')
		return 0;
	if (k->s.smtp != NULL)
		r = dl_finish_session(&k->s, rr->c, &k->pipe, rr->q, x->st,
		    err);
	if (queue_slot_drop(rr->q, k->dom, &e) == -1)
		log_warn("domain=%s: %s", k->dom, e.text);
	k->dom[0] = '\0';
	k->used = 0;
	k->lost = 0;
	return r;
}

/* conn_new: a free entry for domain D (closing the least recently used
 * one when all are taken). */
static struct mx_conn *
conn_new(struct mx_run *x, const char *d, struct ob_err *err, int *qerr)
{
	struct mx_conn *k = NULL;
	size_t i;

	for (i = 0; i < MX_KEEP && k == NULL; i++)
		if (x->conn[i].dom[0] == '\0')
			k = &x->conn[i];
	if (k == NULL) {
		k = &x->conn[0];
		for (i = 1; i < MX_KEEP; i++)
			if (x->conn[i].age < k->age)
				k = &x->conn[i];
		if (conn_end(x, k, err) == -1)
			*qerr = 1;
	}
	memset(k, 0, sizeof *k);
	k->s.rr = x->rr;
	(void)ob_snprintf(k->dom, sizeof k->dom, "%s", d);
	return k;
}

/* ---- one domain of a batch ------------------------------------------ */

/* mx_domain: deliver the recipients at domain D of the batch's messages
 * MM[D->msg[..]].  0, or -1 with ERR (queue). */
static int
mx_domain(struct mx_run *x, const struct mx_dom *d, struct mx_msg *mm,
    struct ob_err *err)
{
	struct route_run *rr = x->rr;
	const struct conf *c = rr->c;
	struct queue *q = rr->q;
	struct mx_conn *k = conn_find(x, d->name);
	struct smtp_reply rep;
	struct queue_dest dest;
	char dname[300], when[32];
	size_t i;
	int backoff, qerr = 0, r;

	if (x->o->stop != NULL && *x->o->stop) {
		/* stopping: untried, settled (or released) as they are */
		for (i = 0; i < d->n; i++)
			if (mx_left(c, q, &mm[d->msg[i]], 0, x->st, err) == -1)
				return -1;
		return 0;
	}
	(void)ob_snprintf(dname, sizeof dname, "mx %s", d->name);
	if (k == NULL && !rr->all &&
	    (r = queue_dest_get(q, dname, &dest, err)) != 0) {
		if (r == -1)
			return -1;
		if (dest.next_try > ob_now_ms()) {
			fmt_iso_time(when, sizeof when, dest.next_try);
			smtp_reply_local(&rep, 451, "4.4.1", "%s backs off "
			    "until %s after: %s", d->name, when, dest.reason);
			for (i = 0; i < d->n; i++)
				if (mx_answer(x, &mm[d->msg[i]], d->name, &rep,
				    d->name, dest.next_try, err) == -1)
					return -1;
			return 0;
		}
	}
	if (k == NULL) {
		r = queue_slot_take(q, d->name, c->mx_domain_connections, err);
		if (r == -1)
			return -1;
		if (r == 0) {
			/* busy: whoever holds the domain takes these */
			log_debug("domain=%s: %d connection%s busy, left for "
			    "them", d->name, c->mx_domain_connections,
			    c->mx_domain_connections == 1 ? "" : "s");
			for (i = 0; i < d->n; i++)
				if (mx_left(c, q, &mm[d->msg[i]], 0, x->st,
				    err) == -1)
					return -1;
			return 0;
		}
		k = conn_new(x, d->name, err, &qerr);
		if (mx_open(x, d->name, &k->s, &rep, &backoff) == -1) {
			if (backoff && queue_dest_fail(q, dname, ob_now_ms(),
			    c->retry_initial, c->retry_max, rep.text, &dest,
			    err) == -1)
				qerr = 1;
			if (conn_end(x, k, err) == -1)
				qerr = 1;
			for (i = 0; i < d->n && !qerr; i++)
				if (mx_answer(x, &mm[d->msg[i]], d->name, &rep,
				    d->name, 0, err) == -1)
					qerr = 1;
			return qerr ? -1 : 0;
		}
		if (queue_dest_ok(q, dname, err) == -1)
			qerr = 1;
	}
	k->used = 1;
	k->age = ++x->clock;
	for (i = 0; i < d->n && !qerr; i++) {
		struct mx_msg *m = &mm[d->msg[i]];

		if (x->o->stop != NULL && *x->o->stop) {
			/* untried here: settled (or released) as they are */
			if (mx_left(c, q, m, 0, x->st, err) == -1)
				qerr = 1;
			continue;
		}
		if (k->s.smtp == NULL) {
			/* the session was lost: another, a few times */
			if (k->lost >= DELIVER_MAX_RECONNECT) {
				smtp_reply_local(&rep, 451, "4.4.2", "%d "
				    "sessions to %s lost in this run",
				    k->lost, d->name);
				backoff = 0;
			} else if (mx_open(x, d->name, &k->s, &rep,
			    &backoff) == 0) {
				k->s.rr = rr;
				memset(&k->pipe, 0, sizeof k->pipe);
			}
			if (k->s.smtp == NULL) {
				if (mx_answer(x, m, d->name, &rep, d->name, 0,
				    err) == -1)
					qerr = 1;
				continue;
			}
		}
		r = dl_send_msg(&k->s, c, q, dl_job_new(c,
		    rr->r->from_address, m->m, d->name, m), &k->pipe,
		    &x->chunk, x->st, err);
		if (r == 1) {
			if (dl_drain(&k->s, c, &k->pipe, q, x->st, err) == -1)
				r = -1;
			dl_sess_close(&k->s);
			k->lost++;
		}
		if (r == -1)
			qerr = 1;
	}
	/* this domain's last result in before the next domain's work */
	if (k->s.smtp != NULL && dl_drain(&k->s, c, &k->pipe, q, x->st, err)
	    == -1)
		qerr = 1;
	if (k->s.smtp == NULL && conn_end(x, k, err) == -1)
		qerr = 1;
	return qerr ? -1 : 0;
}

/* ---- the run -------------------------------------------------------- */

/* dom_add: message I has recipients at domain NAME. */
static void
dom_add(struct mx_dom **doms, size_t *nd, const char *name, size_t i,
    struct mx_msg *mm)
{
	struct mx_dom *d = NULL;
	size_t j;

	for (j = 0; j < *nd && d == NULL; j++)
		if (strcmp((*doms)[j].name, name) == 0)
			d = &(*doms)[j];
	if (d == NULL) {
		*doms = xreallocarray(*doms, *nd + 1, sizeof **doms);
		d = &(*doms)[(*nd)++];
		memset(d, 0, sizeof *d);
		(void)ob_snprintf(d->name, sizeof d->name, "%s", name);
	}
	if (d->n > 0 && d->msg[d->n - 1] == i)
		return;
	d->msg = xreallocarray(d->msg, d->n + 1, sizeof *d->msg);
	d->msg[d->n++] = i;
	mm->left++;
}

/* mx_batch: deliver the N claimed messages IDS.  *ALL_BUSY: nothing could
 * be tried because other processes hold every domain concerned. */
static int
mx_batch(struct mx_run *x, const uint64_t *ids, size_t n, int *all_busy,
    struct ob_err *err)
{
	struct route_run *rr = x->rr;
	const struct conf *c = rr->c;
	struct queue *q = rr->q;
	struct mx_msg *mm = xcalloc(n, sizeof *mm);
	struct mx_dom *doms = NULL;
	struct smtp_reply rep;
	char dom[300];
	size_t nd = 0, i, j, tried = 0, loaded = 0;
	int k, r = -1;

	for (i = 0; i < n; i++) {
		if ((k = queue_load(q, ids[i], &mm[i].m, err)) == -1)
			goto fail;
		if (k == 0) {
			mm[i].done = 1;
			continue;
		}
		loaded++;
		x->st->messages++;
		mm[i].note = xcalloc(mm[i].m->nrcpt ? mm[i].m->nrcpt : 1,
		    sizeof *mm[i].note);
		for (j = 0; j < mm[i].m->nrcpt; j++) {
			struct queue_rcpt *rc = &mm[i].m->rcpt[j];

			if (rc->state != QR_PENDING)
				continue;
			if (dl_rcpt_domain(rc->addr, dom, sizeof dom) == -1) {
				/* not routable (RFC 3463 5.1.3) */
				smtp_reply_local(&rep, 550, "5.1.3", "no "
				    "domain in address: cannot find a mail "
				    "exchanger");
				dl_record(c, mm[i].m, j, &rep, "none",
				    ob_now_ms(), &mm[i].note[j], x->st);
				mm[i].tried = 1;
				continue;
			}
			dom_add(&doms, &nd, dom, i, &mm[i]);
		}
		if (mm[i].left == 0) {
			/* nothing left to send (or only unroutable) */
			mm[i].left = 1;
			if (mx_left(c, q, &mm[i], mm[i].tried, x->st, err)
			    == -1)
				goto fail;
		}
	}
	for (j = 0; j < MX_KEEP; j++)
		x->conn[j].used = 0;
	for (i = 0; i < nd; i++)
		if (mx_domain(x, &doms[i], mm, err) == -1)
			goto fail;
	/* sessions this batch did not need go */
	for (j = 0; j < MX_KEEP; j++)
		if (x->conn[j].dom[0] != '\0' && !x->conn[j].used &&
		    conn_end(x, &x->conn[j], err) == -1)
			goto fail;
	for (i = 0; i < n; i++)
		if (mm[i].tried)
			tried++;
	*all_busy = loaded > 0 && tried == 0;
	r = 0;
fail:
	for (i = 0; i < n; i++) {
		if (!mm[i].done && mm[i].m != NULL) {
			/* a queue error stopped us: leave it to the lease
			 * (our process ends the lease when it exits) */
			queue_msg_free(mm[i].m);
			free(mm[i].note);
		}
	}
	for (i = 0; i < nd; i++)
		free(doms[i].msg);
	free(doms);
	free(mm);
	return r;
}

static int
mx_setup(struct mx_run *x, const struct deliver_opts *o)
{
	struct route_run *rr = x->rr;
	const struct conf *c = rr->c;
	const struct conf_route *r = rr->r;
	struct ob_err e;

	switch (r->tls) {
	case CONF_TLS_OFF: x->def_level = TLSPOL_NONE; break;
	case CONF_TLS_STARTTLS:
	case CONF_TLS_IMPLICIT:		/* refused by conf; as required */
		x->def_level = r->tls_verify ? TLSPOL_VERIFY : TLSPOL_ENCRYPT;
		break;
	default: x->def_level = TLSPOL_MAY; break;	/* auto, opportunistic */
	}
	if (c->tls_policy != NULL && tlspol_load(&rr->pol, c->tls_policy,
	    NULL) != 0) {
		/* never fall back to a weaker policy than the file says */
		rr->pol_bad = 1;
		(void)ob_snprintf(rr->pol_why, sizeof rr->pol_why, "tls_policy "
		    "%s cannot be used (outbox check-config says why); not "
		    "delivering to MX hosts until it is fixed", c->tls_policy);
		log_err("%s", rr->pol_why);
	}
	if (o->dns != NULL) {
		rr->dns = o->dns;		/* the daemon's, and its cache */
		return 0;
	}
	if (dns_new(&rr->dns, c->dns_server, c->ip_version, 0, &e) == -1) {
		log_err("resolver: %s", e.text);
		(void)ob_snprintf(rr->pol_why, sizeof rr->pol_why, "%s",
		    e.text);
		rr->dns = NULL;
		return 0;
	}
	rr->own_dns = 1;
	dns_cache(rr->dns, MX_DNS_CACHE, MX_DNS_TTL);
	return 0;
}

int
mx_flush_route(struct route_run *rr, const struct deliver_opts *o,
    struct deliver_stats *st, struct ob_err *err)
{
	const struct conf *c = rr->c;
	queue_filter_fn *want = c->nroutes > 0 ? dl_route_want : NULL;
	struct mx_run x;
	uint64_t ids[MX_BATCH];
	int64_t start = ob_now_ms();
	size_t n, i, msgs0 = st->messages;
	int busy = 0, r = -1;

	memset(&x, 0, sizeof x);
	x.rr = rr;
	x.o = o;
	x.st = st;
	buf_init(&x.chunk, 0);
	(void)mx_setup(&x, o);
	for (;;) {
		if (o->stop != NULL && *o->stop)
			break;
		if (queue_claim_for(rr->q, ob_now_ms(), o->all, start,
		    DELIVER_LEASE_MS, ids, MX_BATCH, &n, want, rr, err) == -1)
			goto fail;
		if (n == 0)
			break;
		if (mx_batch(&x, ids, n, &busy, err) == -1)
			goto fail;
		if (busy) {
			/* all held by other processes: let them work */
			st->busy = 1;
			break;
		}
	}
	r = 0;
fail:
	for (i = 0; i < MX_KEEP; i++)
		if (conn_end(&x, &x.conn[i], err) == -1)
			r = -1;
	if (st->messages > msgs0) {	/* the last result, durable too */
		struct ob_err e2;

		if (queue_sync(rr->q, &e2) == -1 && r == 0) {
			*err = e2;
			r = -1;
		}
	}
	buf_free(&x.chunk);
	return r;
}
