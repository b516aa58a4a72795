/* listen.c - the SMTP listener: one process, one poll() loop, every
 * session driven through smtpd.c's engine (listen.h).
 *
 * A round of the loop: accept what waits (within listen_max_clients in
 * all and listen_max_per_client per address: beyond them a client gets
 * 421 and is closed), read what the clients sent and let their engines
 * work, commit each message whose final dot came in this round without a
 * sync, then sync once for all of them (group commit) and only then
 * answer them, ring the daemon's doorbell, and write what can be written.
 * Sockets are non-blocking: a client that stops reading stops being read
 * once its replies pile up (LS_OUT_MAX), so it costs bounded memory and
 * never holds the others up.
 *
 * Who may submit: a client whose address is in listen_allow, or one that
 * authenticated (AUTH PLAIN or LOGIN, RFC 4954, against listen_auth_users,
 * and only over TLS: STARTTLS with listen_tls_cert).  Anyone else gets 554
 * at the greeting, or 530 to MAIL when AUTH can be had (smtpd.c): no
 * configuration makes outbox an open relay.
 *
 * STARTTLS (RFC 3207): once the 220 is out, the session's socket belongs
 * to a non-blocking GnuTLS handshake (tlssrv.c) driven by the same loop;
 * after it every read and write goes through TLS.  Input that came in
 * clear after the STARTTLS line was dropped by the engine.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "authdb.h"
#include "listen.h"
#include "log.h"
#include "queue.h"
#include "recv.h"
#include "smtpd.h"
#include "tlssrv.h"
#include "wake.h"

#define LS_READ		65536		/* octets read at once */
#define LS_OUT_MAX	65536		/* replies held before reading stops */
#define LS_BACKLOG	128

struct lsess {
	int			 fd;
	struct smtpd		*sd;
	struct sockaddr_storage	 peer;
	char			 addr[INET6_ADDRSTRLEN];
	struct recv		*rc;
	int			 failed;	/* the message can't be stored */
	struct ob_err		 err;		/* ... why */
	int			 dot;		/* committed, not synced */
	int			 dead;		/* to be closed */
	int			 starttls;	/* 220 to STARTTLS: handshake
						 * once it is sent */
	int			 hs;		/* handshaking */
	struct tlssrv_sess	*tls;
	struct tlssrv		*srv;		/* its credentials, or NULL */
	unsigned long		 n;		/* session number, for logs */
	int64_t			 deadline;	/* monotonic ms */
};

struct listen_ctx {
	int			*fds;
	size_t			 nfds;
	struct tlssrv		*tls;		/* NULL: no STARTTLS */
	struct authdb		*users;		/* NULL: no AUTH */
};

struct listener {
	const struct conf	*c;
	struct listen_ctx	*ctx;
	struct queue		*q;
	struct ob_cidr		*allow;
	size_t			 nallow;
	struct lsess		**s;
	size_t			 ns;
	unsigned long		 count;		/* sessions so far */
	unsigned char		 rbuf[LS_READ];
};

static int
listen_bind(const struct conf *c, int **fds, size_t *n, struct ob_err *err)
{
	struct sockaddr_storage ss;
	char spec[300];
	size_t i;
	int fd, one = 1;

	*fds = xcalloc(c->nlistens ? c->nlistens : 1, sizeof **fds);
	*n = 0;
	for (i = 0; i < c->nlistens; i++) {
		const struct conf_relay *l = &c->listens[i];

		(void)ob_snprintf(spec, sizeof spec, strchr(l->host, ':') ?
		    "[%s]:%d" : "%s:%d", l->host, l->port);
		if (ob_parse_sockaddr(spec, l->port, &ss) == -1) {
			ob_err_set(err, OB_PERM, EX_CONFIG, "listen %s: not a "
			    "numeric address (use 0.0.0.0:25, [::]:25, "
			    "127.0.0.1:2525 ...)", spec);
			goto fail;
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1) {
			ob_err_set(err, OB_TEMP, EX_OSERR, "listen %s: %s",
			    spec, strerror(errno));
			goto fail;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof one);
		if (ss.ss_family == AF_INET6)	/* [::] is IPv6 only */
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof one);
		if (bind(fd, (struct sockaddr *)&ss, ss.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6))
		    == -1 || listen(fd, LS_BACKLOG) == -1) {
			ob_err_set(err, OB_PERM, EX_UNAVAILABLE, "listen %s: "
			    "%s", spec, strerror(errno));
			close(fd);
			goto fail;
		}
		(*fds)[(*n)++] = fd;
		log_info("listening on %s", spec);
	}
	return 0;
fail:
	for (i = 0; i < *n; i++)
		close((*fds)[i]);
	free(*fds);
	*fds = NULL;
	*n = 0;
	return -1;
}

/* ---- sessions ------------------------------------------------------- */

static int
allowed(const struct listener *l, const struct sockaddr_storage *ss)
{
	size_t i;

	for (i = 0; i < l->nallow; i++)
		if (ob_cidr_match(&l->allow[i], ss))
			return 1;
	return 0;
}

static void
sess_free(struct lsess *s)
{
	recv_free(s->rc);
	smtpd_free(s->sd);
	tlssrv_sess_free(s->tls);	/* before its socket */
	if (s->fd != -1)
		close(s->fd);
	free(s);
}

/* sess_write: send what the engine has for the client, as much as the
 * socket takes now. */
static void
sess_write(struct lsess *s)
{
	struct buf *out = smtpd_output(s->sd);
	ssize_t n;

	if (s->hs)
		return;
	while (out->len > 0 && !s->dead) {
		if (s->tls != NULL) {
			n = tlssrv_write(s->tls, out->p, out->len);
			if (n > 0) {
				buf_consume(out, (size_t)n);
				continue;
			}
			if (n == -2)
				return;
			s->dead = 1;
			break;
		}
		n = send(s->fd, out->p, out->len, MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		s->dead = 1;		/* the client is gone */
	}
	if (out->len == 0 && smtpd_closing(s->sd))
		s->dead = 1;
	if (out->len == 0 && s->starttls && !s->dead) {
		/* the 220 is out: the handshake starts (RFC 3207 4) */
		s->starttls = 0;
		s->tls = tlssrv_sess_new(s->srv, s->fd);
		if (s->tls == NULL) {
			smtpd_tls_done(s->sd, 0);
			s->dead = 1;
			return;
		}
		s->hs = 1;
	}
}

/* sess_work: let S's engine handle what it has, until it needs input or
 * waits for the group commit. */
static void
sess_work(struct listener *l, struct lsess *s)
{
	const struct conf *c = l->c;
	struct recv_info ri;
	struct smtpd_ev e;
	char qs[600];

	while (!s->dot && !s->dead) {
		switch (smtpd_next(s->sd, &e)) {
		case SMTPD_EV_NONE:
			return;
		case SMTPD_EV_MAIL:
			break;
		case SMTPD_EV_DATA:
			memset(&ri, 0, sizeof ri);
			ri.hostname = c->helo_name;
			ri.client_addr = s->addr;
			ri.tls = s->tls != NULL;
			ri.auth_user = smtpd_auth_user(s->sd);
			s->failed = recv_begin(&s->rc, l->q, &e, &ri, 1,
			    ob_now_ms(), &s->err) == -1;
			break;
		case SMTPD_EV_BODY:
			if (!s->failed && recv_body(s->rc, e.data, e.len,
			    &s->err) == -1)
				s->failed = 1;
			break;
		case SMTPD_EV_DOT:
			if (!s->failed && recv_commit(s->rc, &s->err) == 0) {
				s->dot = 1;	/* answered after the sync */
				break;
			}
			log_err("listen: session %lu from %s: message not "
			    "queued: %s", s->n, s->addr, s->err.text);
			smtpd_data_done(s->sd, 0, NULL, s->err.kind == OB_TEMP
			    ? 452 : 554, s->err.kind == OB_TEMP ? "4.3.1" :
			    "5.3.0", s->err.text);
			recv_free(s->rc);
			s->rc = NULL;
			s->failed = 0;
			break;
		case SMTPD_EV_ABORT:
			if (s->rc != NULL)
				log_info("listen: session %lu from %s: message "
				    "abandoned: %s", s->n, s->addr, e.why !=
				    NULL ? log_quote(qs, sizeof qs, e.why) :
				    "");
			recv_free(s->rc);
			s->rc = NULL;
			s->failed = 0;
			break;
		case SMTPD_EV_STARTTLS:
			if (s->srv == NULL) {	/* never offered then */
				smtpd_tls_done(s->sd, 0);
				break;
			}
			s->starttls = 1;	/* after the 220: sess_write */
			return;
		case SMTPD_EV_AUTH: {
			int ok = authdb_check(l->ctx->users, e.user, e.pass);

			log_info("listen: session %lu from %s: AUTH %s user=%s "
			    "%s", s->n, s->addr, e.mech, log_quote(qs,
			    sizeof qs, e.user), ok ? "ok" : "failed");
			smtpd_auth_done(s->sd, ok);
			break;
		}
		}
	}
}

/* sess_handshake: go on with S's TLS handshake. */
static void
sess_handshake(struct listener *l, struct lsess *s)
{
	char why[200];
	int r = tlssrv_handshake(s->tls, why, sizeof why);

	if (r == 0)
		return;
	s->hs = 0;
	if (r == -1) {
		log_warn("listen: session %lu from %s: %s", s->n, s->addr, why);
		smtpd_tls_done(s->sd, 0);
		s->dead = 1;
		return;
	}
	log_info("listen: session %lu from %s: TLS %s", s->n, s->addr,
	    tlssrv_info(s->tls));
	smtpd_tls_done(s->sd, 1);
	s->deadline = ob_mono_ms() + smtpd_timeout_ms(s->sd);
	sess_work(l, s);
}

/* sess_read: what the client sent, into its engine. */
static void
sess_read(struct listener *l, struct lsess *s)
{
	ssize_t n;

	do {
		if (s->tls != NULL) {
			n = tlssrv_read(s->tls, l->rbuf, sizeof l->rbuf);
			if (n == -2)
				return;
		} else {
			n = recv(s->fd, l->rbuf, sizeof l->rbuf, 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				return;
		}
		if (n <= 0)
			smtpd_eof(s->sd);
		else
			smtpd_input(s->sd, l->rbuf, (size_t)n);
		s->deadline = ob_mono_ms() + smtpd_timeout_ms(s->sd);
		sess_work(l, s);
		/* records GnuTLS has decrypted already wait for no poll */
	} while (n > 0 && s->tls != NULL && !s->dead && !s->dot && !s->hs &&
	    tlssrv_pending(s->tls) > 0);
}

/* accept_one: a new client on FD, or a refusal when over a limit. */
static void
accept_one(struct listener *l, int fd)
{
	const struct conf *c = l->c;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct smtpd_conf sc;
	struct lsess *s;
	const void *a;
	char addr[INET6_ADDRSTRLEN], msg[300];
	size_t i, same = 0;
	int cfd;

	memset(&ss, 0, sizeof ss);
	cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC |
	    SOCK_NONBLOCK);
	if (cfd == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("listen: accept: %s", strerror(errno));
		return;
	}
	a = ss.ss_family == AF_INET ?
	    (const void *)&((struct sockaddr_in *)(void *)&ss)->sin_addr :
	    (const void *)&((struct sockaddr_in6 *)(void *)&ss)->sin6_addr;
	if (inet_ntop(ss.ss_family, a, addr, sizeof addr) == NULL)
		(void)ob_snprintf(addr, sizeof addr, "unknown");
	for (i = 0; i < l->ns; i++)
		if (strcmp(l->s[i]->addr, addr) == 0)
			same++;
	if (l->ns >= (size_t)c->listen_max_clients ||
	    same >= (size_t)c->listen_max_per_client) {
		/* RFC 5321 3.1: 421 at the greeting, then close */
		(void)ob_snprintf(msg, sizeof msg, "421 4.7.0 %s too many "
		    "connections%s, try again later\r\n", c->helo_name,
		    same >= (size_t)c->listen_max_per_client ?
		    " from your address" : "");
		(void)send(cfd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(cfd);
		log_warn("listen: %s refused: %zu sessions (%zu from it)",
		    addr, l->ns, same);
		return;
	}
	s = xcalloc(1, sizeof *s);
	s->fd = cfd;
	s->peer = ss;
	(void)ob_snprintf(s->addr, sizeof s->addr, "%s", addr);
	s->n = ++l->count;
	memset(&sc, 0, sizeof sc);
	sc.hostname = c->helo_name;
	sc.client_addr = s->addr;
	sc.allowed = allowed(l, &ss);
	sc.tls_available = l->ctx->tls != NULL;
	sc.auth_mechs = l->ctx->users != NULL ? SMTPD_AUTH_PLAIN |
	    SMTPD_AUTH_LOGIN : 0;
	sc.auth_allow_plaintext = 0;	/* RFC 4954 4: never in clear */
	s->srv = l->ctx->tls;
	sc.max_message_size = c->max_message_size;
	sc.max_rcpt = (size_t)c->listen_max_rcpt;
	sc.command_timeout = c->command_timeout;
	s->sd = smtpd_new(&sc);
	s->deadline = ob_mono_ms() + smtpd_timeout_ms(s->sd);
	log_info("listen: session %lu from %s%s", s->n, s->addr, sc.allowed ?
	    "" : sc.auth_mechs != 0 ? " (not in listen_allow: AUTH needed)" :
	    " (not in listen_allow: refused)");
	l->s = xreallocarray(l->s, l->ns + 1, sizeof(struct lsess *));
	l->s[l->ns++] = s;
	sess_work(l, s);
}

/* group_commit: the messages committed in this round become durable in
 * one sync, and only then are they answered (DESIGN invariant 1). */
static void
group_commit(struct listener *l)
{
	struct ob_err err;
	size_t i, n = 0;
	int ok;

	for (i = 0; i < l->ns; i++)
		n += l->s[i]->dot;
	if (n == 0)
		return;
	ok = queue_sync(l->q, &err) == 0;
	if (!ok)
		log_err("listen: sync of %zu message%s failed: %s", n, n == 1 ?
		    "" : "s", err.text);
	for (i = 0; i < l->ns; i++) {
		struct lsess *s = l->s[i];
		char qs[600];

		if (!s->dot)
			continue;
		s->dot = 0;
		if (ok) {
			log_info("%s queued size=%llu client=%s session=%lu",
			    recv_id(s->rc), (unsigned long long)
			    recv_size(s->rc), log_quote(qs, sizeof qs,
			    s->addr), s->n);
			smtpd_data_done(s->sd, 1, recv_id(s->rc), 250, NULL,
			    NULL);
		} else
			/* published but maybe not on disk: the client
			 * sends again, a duplicate at worst */
			smtpd_data_done(s->sd, 0, NULL, 451, "4.3.0",
			    "local error: the queue could not be synced");
		recv_free(s->rc);
		s->rc = NULL;
		sess_work(l, s);
	}
	if (ok)
		(void)wake_send(l->c->queue_dir);
}

static void
reap_dead(struct listener *l)
{
	size_t i;

	for (i = 0; i < l->ns;)
		if (l->s[i]->dead && !l->s[i]->dot) {
			log_debug("listen: session %lu from %s closed",
			    l->s[i]->n, l->s[i]->addr);
			sess_free(l->s[i]);
			l->s[i] = l->s[--l->ns];
		} else
			i++;
}

static int
load_allow(struct listener *l)
{
	char *list, *tok, *save = NULL;

	if (l->c->listen_allow == NULL || strcmp(l->c->listen_allow, "none")
	    == 0)
		return 0;
	list = xstrdup(l->c->listen_allow);
	for (tok = strtok_r(list, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		l->allow = xreallocarray(l->allow, l->nallow + 1,
		    sizeof *l->allow);
		if (ob_cidr_parse(tok, &l->allow[l->nallow]) == 0)
			l->nallow++;
	}
	free(list);
	return 0;
}

int
listen_new(struct listen_ctx **lp, const struct conf *c, struct ob_err *err)
{
	struct listen_ctx *l;
	char *errs = NULL;
	size_t elen = 0;
	FILE *es;

	*lp = NULL;
	if (c->nlistens == 0)
		return 0;
	l = xcalloc(1, sizeof *l);
	if (c->listen_tls_cert != NULL && tlssrv_new(&l->tls,
	    c->listen_tls_cert, c->listen_tls_key != NULL ?
	    c->listen_tls_key : c->listen_tls_cert, 12, err) == -1) {
		err->ex = EX_CONFIG;
		goto fail;
	}
	if (c->listen_auth_users != NULL) {
		if (l->tls == NULL) {
			ob_err_set(err, OB_PERM, EX_CONFIG, "listen_auth_users "
			    "needs listen_tls_cert: AUTH is only offered over "
			    "TLS");
			goto fail;
		}
		es = open_memstream(&errs, &elen);
		if (es == NULL || authdb_load(&l->users, c->listen_auth_users,
		    es) != 0) {
			if (es != NULL)
				fclose(es);
			ob_err_set(err, OB_PERM, EX_CONFIG, "listen_auth_users "
			    "%s", errs != NULL && *errs ? errs : "cannot be "
			    "read");
			/* one line: the first problem */
			err->text[strcspn(err->text, "\n")] = '\0';
			free(errs);
			goto fail;
		}
		fclose(es);
		free(errs);
	}
	if (listen_bind(c, &l->fds, &l->nfds, err) == -1)
		goto fail;
	*lp = l;
	return 0;
fail:
	listen_free(l);
	return -1;
}

void
listen_close_fds(struct listen_ctx *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nfds; i++)
		if (l->fds[i] != -1) {
			close(l->fds[i]);
			l->fds[i] = -1;
		}
}

void
listen_free(struct listen_ctx *l)
{
	if (l == NULL)
		return;
	listen_close_fds(l);
	free(l->fds);
	tlssrv_free(l->tls);
	authdb_free(l->users);
	free(l);
}

int
listen_run(struct listen_ctx *ctx, const struct conf *c,
    volatile sig_atomic_t *stop, struct ob_err *err)
{
	const int *fds = ctx->fds;
	size_t n = ctx->nfds;
	struct listener l;
	struct pollfd *pfd = NULL;
	size_t i, np, cap = 0, ns;
	int64_t now, wait;
	int r;

	memset(&l, 0, sizeof l);
	l.c = c;
	l.ctx = ctx;
	if (queue_open(&l.q, c->queue_dir, c->queue_max_size, err) == -1)
		return -1;
	(void)load_allow(&l);
	cap = n + 16;
	pfd = xcalloc(cap, sizeof *pfd);
	while (!*stop) {
		if (cap < n + l.ns) {
			cap = n + l.ns + 16;
			pfd = xreallocarray(pfd, cap, sizeof *pfd);
		}
		np = 0;
		for (i = 0; i < n; i++) {
			pfd[np].fd = fds[i];
			pfd[np].events = POLLIN;
			pfd[np++].revents = 0;
		}
		now = ob_mono_ms();
		wait = 60000;
		ns = l.ns;		/* accept_one may add sessions */
		for (i = 0; i < ns; i++) {
			struct lsess *s = l.s[i];

			pfd[np].fd = s->fd;
			pfd[np].events = 0;
			pfd[np].revents = 0;
			/* a client that does not read its replies is not
			 * read either: its memory stays bounded */
			if (s->hs)
				pfd[np].events = (short)tlssrv_want(s->tls);
			else if (!s->dot && smtpd_output(s->sd)->len <
			    LS_OUT_MAX)
				pfd[np].events |= POLLIN;
			if (!s->hs && smtpd_output(s->sd)->len > 0)
				pfd[np].events |= POLLOUT;
			np++;
			if (s->deadline - now < wait)
				wait = s->deadline - now > 0 ?
				    s->deadline - now : 0;
		}
		r = poll(pfd, (nfds_t)np, (int)wait);
		if (r < 0 && errno != EINTR) {
			log_err("listen: poll: %s", strerror(errno));
			break;
		}
		now = ob_mono_ms();
		for (i = 0; i < ns && r > 0; i++) {
			struct lsess *s = l.s[i];
			short re = pfd[n + i].revents;

			if (s->hs && re != 0) {
				sess_handshake(&l, s);
				if (!s->hs && !s->dead)
					sess_read(&l, s);	/* early data */
				continue;
			}
			if (re & POLLOUT)
				sess_write(s);
			if ((re & (POLLIN | POLLHUP | POLLERR)) && !s->dead &&
			    !s->hs)
				sess_read(&l, s);
		}
		for (i = 0; i < ns; i++) {
			struct lsess *s = l.s[i];

			if (!s->dead && !s->dot && now >= s->deadline &&
			    s->hs) {
				log_info("listen: session %lu from %s: TLS "
				    "handshake timeout", s->n, s->addr);
				s->dead = 1;
			} else if (!s->dead && !s->dot && now >= s->deadline) {
				log_info("listen: session %lu from %s: timeout "
				    "in state %s", s->n, s->addr,
				    smtpd_state_name(s->sd));
				smtpd_timeout(s->sd);
				s->deadline = now + 60000;
				sess_work(&l, s);
			}
		}
		for (i = 0; i < n && r > 0; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(&l, fds[i]);
		group_commit(&l);
		for (i = 0; i < l.ns; i++)
			sess_write(l.s[i]);
		reap_dead(&l);
	}
	/* stopping: every session is told, none is waited for (a message
	 * whose dot came is answered by group_commit above) */
	for (i = 0; i < l.ns; i++) {
		struct lsess *s = l.s[i];
		char msg[300];

		(void)ob_snprintf(msg, sizeof msg, "421 4.3.2 %s shutting "
		    "down\r\n", c->helo_name);
		sess_write(s);
		(void)send(s->fd, msg, strlen(msg), MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		sess_free(s);
	}
	free(l.s);
	free(l.allow);
	free(pfd);
	queue_close(l.q);
	return 0;
}
