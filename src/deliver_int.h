/* deliver_int.h - what deliver.c (sessions, transactions, results, the
 * relay route) shares with mx.c (the direct route to MX hosts).  Not an
 * interface for anything else: deliver.h is.
 */
#ifndef OUTBOX_DELIVER_INT_H
#define OUTBOX_DELIVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bounce.h"
#include "conf.h"
#include "conn.h"
#include "deliver.h"
#include "queue.h"
#include "smtpc.h"
#include "tls.h"
#include "util.h"

struct dns;
struct tlspol;

#define DELIVER_BATCH		16		/* messages claimed at once */
#define DELIVER_LEASE_MS	(3600 * 1000)	/* a dead holder's lease is
						 * freed by queue_gc anyway */
#define DELIVER_MAX_RECONNECT	3		/* sessions lost per run (per
						 * domain for MX) */

/* Which TLS client a session's handshake uses. */
#define DL_TC_ROUTE	0	/* the route's settings (relays) */
#define DL_TC_NOVERIFY	1	/* MX, policy may/encrypt: not checked */
#define DL_TC_VERIFY	2	/* MX, policy verify: chain and name */

/* One route's run: its relays (or MX hosts), and what its sessions need,
 * made once. */
struct route_run {
	const struct conf	*c;
	const struct conf_route	*r;
	struct queue		*q;
	struct smtpc_conf	 sc;
	struct tls_client	*tc[3];		/* DL_TC_*; NULL until a
						 * session needs it */
	char			*secret;	/* NULL until AUTH needs it */
	int			 all;
	char			 dname[512];	/* backoff name of the list */
	char			 fail_status[16];	/* 4.7.x when the last
						 * session failed for TLS or
						 * AUTH, else "" */
	/* MX route */
	struct dns		*dns;		/* the resolver (maybe the
						 * daemon's, with its cache) */
	int			 own_dns;	/* ours to free */
	struct tlspol		*pol;		/* tls_policy; NULL: none */
	int			 pol_bad;	/* the file is broken: defer */
	char			 pol_why[256];
};

struct session {
	struct route_run	*rr;
	struct conn		*conn;
	struct smtpc		*smtp;
	struct tls_session	*tls;
	const struct conf_relay	*relay;		/* NULL for an MX host */
	char			 name[300];	/* host:port, for logs */
	char			 tls_host[256];	/* SNI and the name checked */
	int			 tls_kind;	/* DL_TC_* */
	int			 tls_failed;	/* the handshake failed */
	struct buf		 line;
	int64_t			 reply_end;	/* monotonic deadline of the
						 * reply being read; 0 = none */
};

/* A message of an MX run: its recipients go out domain by domain, each
 * domain's results recorded as they come (queue_record), the whole
 * attempt settled, with at most one DSN, after its last domain. */
struct mx_msg {
	struct queue_msg	*m;
	struct bounce_note	*note;		/* per m->rcpt */
	size_t			 left;		/* domains still to go */
	int			 tried;		/* a recipient had a result */
	int			 done;		/* settled */
};

/* One message on its way: its transaction and where the results go. */
struct job {
	const struct conf	*c;
	struct queue_msg	*m;
	struct smtpc_txn	 t;
	const char		**rcpt;
	size_t			*idx;	/* t's recipient i is m->rcpt[idx[i]] */
	struct smtp_reply	*res;
	struct bounce_note	*note;	/* per m->rcpt */
	struct mx_msg		*mx;	/* NULL: the relay route's own job */
};

/* Per session: the message whose final dot is out and whose reply has
 * not come yet.  With PIPELINING the next message starts behind it, so
 * the dot's reply and the next MAIL/RCPT/DATA replies share a round trip
 * and the result commit overlaps the server's work. */
struct pipe {
	struct job	*dot;		/* waiting for its dot's reply */
};

/* dl_run_init / dl_run_free: the run context of route R (Q may be NULL:
 * `outbox test`); dl_run_free frees its TLS clients, resolver, policy and
 * secret (wiped). */
void	dl_run_init(struct route_run *rr, const struct conf *c,
	    const struct conf_route *r, struct queue *q, int all);
void	dl_run_free(struct route_run *rr);
/* dl_sess_secret: the route's AUTH secret, read once per run into
 * rr->secret and rr->sc.  0, or -1 with ERR. */
int	dl_sess_secret(struct route_run *rr, struct ob_err *err);
/* dl_sess_conf: the engine's settings for RELAY: the route's, with its
 * TLS mode resolved ("auto": implicit on port 465, else required
 * STARTTLS); *IMPLICIT says whether TLS comes first. */
void	dl_sess_conf(struct route_run *rr, const struct conf_relay *relay,
	    struct smtpc_conf *sc, int *implicit);
/* dl_tls_client: make rr->tc[KIND] (DL_TC_*) from the route's settings
 * if not made yet.  0, or -1 with ERR (a configuration problem). */
int	dl_tls_client(struct route_run *rr, int kind, struct ob_err *err);
/* dl_sess_start: on S's connected socket (s->conn, s->name, s->tls_host,
 * s->tls_kind set), the greeting, EHLO, STARTTLS as SC says (IMPLICIT:
 * TLS first, RFC 8314 3.3) and AUTH.  0 with the session ready for a
 * transaction, or -1 with the reason in ERR (and in rr->fail_status
 * the 4.7.x status of a TLS or AUTH failure), S closed. */
int	dl_sess_start(struct session *s, struct smtpc_conf *sc, int implicit,
	    struct ob_err *err);
void	dl_sess_close(struct session *s);
enum smtpc_want dl_sess_wait(struct session *s, const struct conf *c);

/* dl_job_new: a transaction for M's pending recipients (only those at
 * DOMAIN when not NULL; MX: its job reports to MX). */
struct job *dl_job_new(const struct conf *c, const char *from_address,
	    struct queue_msg *m, const char *domain, struct mx_msg *mx);
/* dl_mx_done: a job of an MX run for MM ended (TRIED: it had recipients,
 * whose results are in MM); after the message's last domain, settle it
 * (and free its message).  Provided by mx.c.  0, or -1 with ERR. */
int	dl_mx_done(const struct conf *c, struct queue *q, struct mx_msg *mm,
	    int tried, struct deliver_stats *st, struct ob_err *err);

/* dl_send_msg: send job J on session S, behind the previous message's
 * dot when the engine allows.  Takes J.  0 when the session can go on,
 * 1 when it was lost, -1 on a queue error. */
int	dl_send_msg(struct session *s, const struct conf *c, struct queue *q,
	    struct job *j, struct pipe *p, struct buf *chunk,
	    struct deliver_stats *st, struct ob_err *err);
/* dl_drain: wait for the last dot's reply and commit it. */
int	dl_drain(struct session *s, const struct conf *c, struct pipe *p,
	    struct queue *q, struct deliver_stats *st, struct ob_err *err);
/* dl_finish_session: drain, QUIT when possible, close.  -1 on a queue
 * error. */
int	dl_finish_session(struct session *s, const struct conf *c,
	    struct pipe *p, struct queue *q, struct deliver_stats *st,
	    struct ob_err *err);

/* dl_record: recipient RI of M got reply R from RELAY at NOW: its state,
 * backoff or expiry, result and log line; NOTE what to tell the sender. */
void	dl_record(const struct conf *c, struct queue_msg *m, size_t ri,
	    const struct smtp_reply *r, const char *relay, int64_t now,
	    struct bounce_note *note, struct deliver_stats *st);
/* dl_commit: M's attempt is over: delay warning, DSN and results in one
 * transaction (DESIGN: bounces). */
int	dl_commit(const struct conf *c, struct queue *q, struct queue_msg *m,
	    struct bounce_note *note, int64_t now, struct deliver_stats *st,
	    struct ob_err *err);
/* dl_route_want: queue filter: is SENDER's mail this run's route's? */
int	dl_route_want(const char *sender, void *arg);

/* dl_rcpt_domain: the domain of address A, lower case, into DST; an
 * address literal keeps its brackets.  0, or -1 when A has none. */
int	dl_rcpt_domain(const char *a, char *dst, size_t n);

/* mx_flush_route: deliver the due messages of route run RR (a route
 * without relays) to their domains' MX hosts.  0, or -1 with ERR for a
 * queue error. */
int	mx_flush_route(struct route_run *rr, const struct deliver_opts *o,
	    struct deliver_stats *st, struct ob_err *err);

#endif
