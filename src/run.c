/* run.c - `outbox run`: the daemon, a scheduler loop over the queue.
 *
 * One process watches the queue and starts delivery workers; it never
 * talks SMTP itself.  Each worker is a child process holding one
 * connection and sending every due message it can claim over it
 * (deliver_flush); leases in the queue keep two workers, or a worker and a
 * cron flush, off the same message.
 *
 * The loop: look at the due index (queue_due: how many are due now, when
 * the next one is), start workers up to max_connections (one per
 * DELIVER_BATCH due messages), then sleep in poll() until the earliest due
 * time, a submission's doorbell (wake.h), or a signal.  With nothing due
 * it sleeps until something is: no polling.  While the relays back off
 * (queue_dest_get) it sleeps until their next try.
 *
 * Signals arrive through a self-pipe.  SIGTERM/SIGINT: start nothing new,
 * pass SIGTERM on (a worker finishes the message in hand, releases the rest
 * and says QUIT), wait up to shutdown_timeout, SIGKILL what is left (its
 * messages stay queued; their leases die with it), exit 0.  SIGHUP: read
 * the configuration again; a bad one is reported and the old one kept.
 * SIGCHLD: a worker ended; one that died by a signal has its leases freed
 * at once (queue_gc), so its messages need not wait for the lease to run
 * out.
 *
 * With metrics_file set, the daemon itself rewrites that file (stats.h:
 * FILE.tmp, then rename) at start, every metrics_interval (the poll
 * timeout wakes for it) and at a clean exit.
 *
 * The daemon's queue environment is closed before each fork, so no LMDB
 * environment ever crosses fork() (queue.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "deliver.h"
#include "dns.h"
#include "listen.h"
#include "log.h"
#include "queue.h"
#include "run.h"
#include "stats.h"
#include "wake.h"

#define RUN_BATCH	16		/* due messages per worker started */
#define RUN_MAX_SLEEP	(3600 * 1000)	/* ms; a guard against clock jumps */
#define RUN_QUIET	(5 * 1000)	/* ms without new workers after one
					 * that found nothing to do */
#define RUN_IDLE_EXIT	3		/* a worker's "nothing done" status */
#define RUN_DNS_CACHE	4096		/* names the daemon's cache keeps */
#define RUN_DNS_TTL	3600		/* seconds, at most */
#define RUN_DNS_EXPORT	60000		/* octets a worker hands back: less
					 * than a pipe holds, so its write
					 * never blocks */

static volatile sig_atomic_t run_term, run_hup, run_chld;
static volatile sig_atomic_t worker_stop;
static int run_pipe[2] = { -1, -1 };

static void
run_signal(int sig)
{
	int e = errno;

	if (sig == SIGTERM || sig == SIGINT)
		run_term = 1;
	else if (sig == SIGHUP)
		run_hup = 1;
	else if (sig == SIGCHLD)
		run_chld = 1;
	if (run_pipe[1] != -1)
		(void)write(run_pipe[1], "s", 1);
	errno = e;
}

static void
worker_signal(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static void
on_signal(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: poll returns */
	(void)sigaction(sig, &sa, NULL);
}

struct daemon {
	struct conf	*c;
	const struct cmd_opts *o;
	struct queue	*q;
	pid_t		*workers;
	int		*wpipe;		/* per worker: its DNS answers */
	int		 nworkers;
	struct dns	*dns;		/* MX routes: resolver and cache */
	struct listen_ctx *lctx;	/* the listener's sockets etc.; NULL:
					 * no "listen" */
	pid_t		 listener;	/* its process; 0: none running */
	int64_t		 listener_at;	/* when to start it again */
	int		 lockfd, sockfd;
	int		 reaped_badly;	/* a worker died by a signal */
	int64_t		 quiet_until;	/* a worker found nothing to do */
	int		 rung;		/* the doorbell rang since */
	int64_t		 metrics_at;	/* monotonic ms of the next metrics
					 * write; 0: at once */
	char		*metrics_err;	/* the last failure logged; NULL:
					 * the last write worked */
};

static int
d_queue(struct daemon *d, struct ob_err *err)
{
	if (d->q != NULL)
		return 0;
	return queue_open(&d->q, d->c->queue_dir, d->c->queue_max_size, err);
}

/* write_metrics: the metrics file (metrics_file), if configured: at
 * start, every metrics_interval, and at a clean exit.  A failure is
 * logged once per distinct error (a full disk must not flood the log)
 * and never stops the daemon; the next interval tries again. */
static void
write_metrics(struct daemon *d)
{
	struct stats st;
	struct ob_err err;
	int r;

	if (d->c->metrics_file == NULL)
		return;
	d->metrics_at = ob_mono_ms() + d->c->metrics_interval;
	r = d_queue(d, &err);
	if (r == 0) {
		r = stats_collect(d->q, ob_now_ms(), &st, &err);
		if (r == 0) {
			r = stats_write_file(d->c->metrics_file, &st, &err);
			stats_free(&st);
		}
	}
	if (r == 0) {
		if (d->metrics_err != NULL)
			log_info("metrics file %s written again",
			    d->c->metrics_file);
		free(d->metrics_err);
		d->metrics_err = NULL;
		return;
	}
	if (d->metrics_err != NULL && strcmp(d->metrics_err, err.text) == 0)
		return;
	log_err("%s; metrics not written (logged once until it changes)",
	    err.text);
	free(d->metrics_err);
	d->metrics_err = xstrdup(err.text);
}

/* child_setup: in a child of the daemon (a worker, the listener): its
 * own signal handling (SIGTERM: finish and stop), and none of the
 * daemon's descriptors. */
static void
child_setup(struct daemon *d)
{
	on_signal(SIGTERM, worker_signal);
	on_signal(SIGINT, SIG_IGN);
	on_signal(SIGHUP, SIG_IGN);
	on_signal(SIGCHLD, SIG_DFL);
	close(run_pipe[0]);
	close(run_pipe[1]);
	close(d->sockfd);
	close(d->lockfd);
}

/* worker_main: the child.  Delivers what it can claim, then exits. */
static void
worker_main(struct daemon *d, int wfd)
{
	struct deliver_opts opts = { .stop = &worker_stop, .dns = d->dns };
	struct deliver_stats st;
	struct ob_err err;
	struct queue *q = NULL;
	struct buf b;
	int ex = 0;

	child_setup(d);
	listen_close_fds(d->lctx);
	if (queue_open(&q, d->c->queue_dir, d->c->queue_max_size,
	    &err) == -1) {
		log_err("worker: %s", err.text);
		_exit(EX_TEMPFAIL);
	}
	if (deliver_flush(d->c, q, &opts, &st, &err) == -1) {
		log_err("worker: %s", err.text);
		ex = EX_TEMPFAIL;
	} else if ((st.messages == 0 && !st.backed_off) || st.busy)
		/* nothing it could take, or only domains other workers
		 * hold: quiet for a moment rather than spin */
		ex = RUN_IDLE_EXIT;
	log_debug("worker done messages=%zu delivered=%zu deferred=%zu "
	    "failed=%zu bounces=%zu", st.messages, st.delivered, st.deferred,
	    st.failed, st.bounces);
	queue_close(q);
	if (d->dns != NULL && wfd != -1) {
		/* what it looked up, for the daemon's cache (read at reap) */
		buf_init(&b, 0);
		if (dns_cache_export(d->dns, &b, RUN_DNS_EXPORT) > 0 &&
		    write(wfd, b.p, b.len) != (ssize_t)b.len)
			log_debug("worker: DNS answers not handed back");
		buf_free(&b);
	}
	_exit(ex);
}

static int
spawn_worker(struct daemon *d)
{
	int pfd[2];
	pid_t pid;

	queue_close(d->q);	/* no environment crosses fork() */
	d->q = NULL;
	fflush(stdout);
	fflush(stderr);
	if (d->dns == NULL || pipe2(pfd, O_CLOEXEC) == -1)
		pfd[0] = pfd[1] = -1;
	if ((pid = fork()) == -1) {
		log_err("fork: %s", strerror(errno));
		if (pfd[0] != -1) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		if (pfd[0] != -1)
			close(pfd[0]);
		worker_main(d, pfd[1]);
	}
	if (pfd[1] != -1)
		close(pfd[1]);
	d->wpipe[d->nworkers] = pfd[0];
	d->workers[d->nworkers++] = pid;
	log_debug("worker %ld started (%d running)", (long)pid, d->nworkers);
	return 0;
}

/* listener_main: the child serving the "listen" sockets. */
static void
listener_main(struct daemon *d)
{
	struct ob_err err;
	int ex = 0;

	child_setup(d);
	if (listen_run(d->lctx, d->c, &worker_stop, &err) == -1) {
		log_err("listener: %s", err.text);
		ex = EX_TEMPFAIL;
	}
	_exit(ex);
}

/* spawn_listener: start the listener when it is configured, not running,
 * and not waiting to be started again after it died. */
static void
spawn_listener(struct daemon *d)
{
	pid_t pid;

	if (d->lctx == NULL || d->listener != 0 || ob_mono_ms() <
	    d->listener_at)
		return;
	queue_close(d->q);	/* no environment crosses fork() */
	d->q = NULL;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		log_err("fork (listener): %s", strerror(errno));
		d->listener_at = ob_mono_ms() + 1000;
		return;
	}
	if (pid == 0)
		listener_main(d);
	d->listener = pid;
	log_debug("listener %ld started", (long)pid);
}

/* take_answers: a worker ended: the DNS answers it wrote on FD (all
 * there: it has exited) join the daemon's cache; FD is closed. */
static void
take_answers(struct daemon *d, int fd)
{
	unsigned char b[8192];
	struct buf all;
	ssize_t n;

	if (fd == -1)
		return;
	buf_init(&all, RUN_DNS_EXPORT);
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	while ((n = read(fd, b, sizeof b)) > 0)
		if (buf_add(&all, b, (size_t)n) == -1)
			break;
	close(fd);
	if (d->dns != NULL && all.len > 0)
		log_debug("DNS cache: %zu answers from a worker, %zu live",
		    dns_cache_import(d->dns, (const unsigned char *)all.p,
		    all.len), dns_cache_count(d->dns));
	buf_free(&all);
}

/* run_dns: the resolver of the MX routes, made again when the
 * configuration changes (dns_server, ip_version); NULL when every route
 * has relays. */
static void
run_dns(struct daemon *d)
{
	struct ob_err err;
	size_t i;
	int mx = d->c->route.nrelays == 0;

	for (i = 0; i < d->c->nroutes; i++)
		mx |= d->c->routes[i].nrelays == 0;
	dns_free(d->dns);
	d->dns = NULL;
	if (!mx)
		return;
	if (dns_new(&d->dns, d->c->dns_server, d->c->ip_version, 0, &err)
	    == -1) {
		/* each worker makes its own and reports the problem */
		log_err("resolver: %s", err.text);
		return;
	}
	dns_cache(d->dns, RUN_DNS_CACHE, RUN_DNS_TTL);
}

static void
reap(struct daemon *d)
{
	pid_t pid;
	int status, i;

	run_chld = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == d->listener) {
			d->listener = 0;
			if (!run_term) {
				/* serve again soon, not in a tight loop */
				log_err("listener %ld ended (status 0x%x); "
				    "starting it again in 1s", (long)pid,
				    status);
				d->listener_at = ob_mono_ms() + 1000;
			}
			continue;
		}
		for (i = 0; i < d->nworkers; i++)
			if (d->workers[i] == pid) {
				take_answers(d, d->wpipe[i]);
				d->wpipe[i] = d->wpipe[--d->nworkers];
				d->workers[i] = d->workers[d->nworkers];
				break;
			}
		if (WIFSIGNALED(status)) {
			log_warn("worker %ld killed by signal %d; its messages "
			    "are released", (long)pid, WTERMSIG(status));
			d->reaped_badly = 1;
		} else if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == RUN_IDLE_EXIT) {
			/* due, yet nobody could take it: do not spin */
			log_debug("worker %ld found nothing to do", (long)pid);
			d->quiet_until = ob_now_ms() + RUN_QUIET;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warn("worker %ld exited with status %d", (long)pid,
			    WEXITSTATUS(status));
	}
}

/* listen_changed: do A and B differ in what the listener was started
 * with (its sockets, certificate and users are set up at start)? */
static int
listen_changed(const struct conf *a, const struct conf *b)
{
	size_t i;

	if (a->nlistens != b->nlistens ||
	    !ob_streq_null(a->listen_tls_cert, b->listen_tls_cert) ||
	    !ob_streq_null(a->listen_tls_key, b->listen_tls_key) ||
	    !ob_streq_null(a->listen_auth_users, b->listen_auth_users) ||
	    !ob_streq_null(a->listen_allow, b->listen_allow) ||
	    a->listen_max_clients != b->listen_max_clients ||
	    a->listen_max_per_client != b->listen_max_per_client ||
	    a->listen_max_rcpt != b->listen_max_rcpt)
		return 1;
	for (i = 0; i < a->nlistens; i++)
		if (strcmp(a->listens[i].host, b->listens[i].host) != 0 ||
		    a->listens[i].port != b->listens[i].port)
			return 1;
	return 0;
}

static void
reload(struct daemon *d)
{
	struct conf *nc;
	char *qd;

	run_hup = 0;
	nc = cmd_conf_try(d->o);
	if (nc == NULL) {
		log_err("configuration not reloaded: keeping the one in use");
		return;
	}
	if (strcmp(nc->queue_dir, d->c->queue_dir) != 0) {
		log_warn("queue_dir changed to %s: takes effect at restart; "
		    "keeping %s", nc->queue_dir, d->c->queue_dir);
		qd = nc->queue_dir;
		nc->queue_dir = xstrdup(d->c->queue_dir);
		free(qd);
	}
	if (nc->max_connections > d->c->max_connections) {
		d->workers = xreallocarray(d->workers,
		    (size_t)nc->max_connections, sizeof *d->workers);
		d->wpipe = xreallocarray(d->wpipe,
		    (size_t)nc->max_connections, sizeof *d->wpipe);
	}
	if (listen_changed(d->c, nc))
		log_warn("listen settings changed: the listener keeps its "
		    "sockets, certificate and users until the daemon is "
		    "restarted");
	conf_free(d->c);
	d->c = nc;
	run_dns(d);
	log_info("configuration reloaded");
}

struct route_pick {
	const struct conf	*c;
	const struct conf_route	*r;
};

static int
route_pick(const char *sender, void *arg)
{
	const struct route_pick *p = arg;

	return conf_route_for(p->c, sender) == p->r;
}

/* schedule: start the workers that are wanted now; the ms to sleep.  Per
 * route: what is due, unless its relay list backs off (then its next try
 * is a wake-up time); one worker per RUN_BATCH due messages in all, up to
 * max_connections.  While RUN_QUIET after a worker that found nothing to
 * do (a due entry nobody can take), only the doorbell starts workers. */
static int64_t
schedule(struct daemon *d)
{
	struct queue_dest dest;
	struct route_pick pick;
	struct ob_err err;
	char dname[512];
	size_t ndue, i, total = 0, max;
	int64_t now = ob_now_ms(), next, wait = RUN_MAX_SLEEP;
	int want;

	if (d_queue(d, &err) == -1) {
		log_err("%s; trying again in 10s", err.text);
		return 10000;
	}
	if (d->reaped_badly) {
		if (queue_gc(d->q, now, &err) == -1)
			log_err("%s", err.text);
		d->reaped_badly = 0;
	}
	max = (size_t)d->c->max_connections * RUN_BATCH;
	for (i = 0; i <= d->c->nroutes; i++) {
		pick.c = d->c;
		pick.r = i == 0 ? &d->c->route : &d->c->routes[i - 1];
		if (queue_due_for(d->q, now, max, &ndue, &next,
		    d->c->nroutes > 0 ? route_pick : NULL, &pick, &err) == -1) {
			log_err("%s; trying again in 10s", err.text);
			return 10000;
		}
		if (ndue > 0 && pick.r->nrelays > 0) {
			deliver_dest_name(pick.r, dname, sizeof dname);
			if (queue_dest_get(d->q, dname, &dest, &err) == 1 &&
			    dest.next_try > now) {
				log_debug("%s backs off for %.1fs: %s", dname,
				    (double)(dest.next_try - now) / 1000.0,
				    dest.reason);
				if (dest.next_try - now < wait)
					wait = dest.next_try - now;
				continue;
			}
			total += ndue;
		} else if (ndue > 0)
			total += ndue;	/* MX: domains back off one by one */
		else if (next > now && next - now < wait)
			wait = next - now;
	}
	if (now < d->quiet_until && !d->rung) {
		if (d->quiet_until - now < wait)
			wait = d->quiet_until - now;
		return wait;
	}
	d->rung = 0;
	want = (int)((total + RUN_BATCH - 1) / RUN_BATCH);
	if (want > d->c->max_connections)
		want = d->c->max_connections;
	while (d->nworkers < want)
		if (spawn_worker(d) == -1)
			return 1000;
	/* workers busy with what is due wake us when they end */
	return wait < RUN_MAX_SLEEP ? wait : RUN_MAX_SLEEP;
}

int
run_daemon(struct conf *c, const struct cmd_opts *o)
{
	struct daemon d;
	struct pollfd pfd[2];
	struct ob_err err;
	int64_t wait, kill_at = 0;
	pid_t other;
	char b[64];
	int i;

	memset(&d, 0, sizeof d);
	d.c = c;
	d.o = o;
	d.lockfd = d.sockfd = -1;
	d.reaped_badly = 1;	/* a queue_gc before the first worker */
	/* the queue first: a missing queue_dir is EX_CANTCREAT, as for
	 * every other command */
	if (d_queue(&d, &err) == -1) {
		log_err("outbox run: %s", err.text);
		conf_free(c);
		return err.ex ? err.ex : EX_TEMPFAIL;
	}
	if (wake_lock(c->queue_dir, &d.lockfd, &other, &err) == -1) {
		log_err("outbox run: %s", err.text);
		queue_close(d.q);
		conf_free(c);
		return other ? EX_UNAVAILABLE : EX_TEMPFAIL;
	}
	if (wake_listen(c->queue_dir, &d.sockfd, &err) == -1 ||
	    pipe2(run_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_err("outbox run: %s", d.sockfd == -1 ? err.text :
		    strerror(errno));
		queue_close(d.q);
		conf_free(c);
		return EX_OSERR;
	}
	if (listen_new(&d.lctx, c, &err) == -1) {
		log_err("outbox run: %s", err.text);
		queue_close(d.q);
		close(d.sockfd);
		close(d.lockfd);
		conf_free(c);
		return err.ex ? err.ex : EX_UNAVAILABLE;
	}
	d.workers = xcalloc((size_t)c->max_connections, sizeof *d.workers);
	d.wpipe = xcalloc((size_t)c->max_connections, sizeof *d.wpipe);
	run_dns(&d);
	on_signal(SIGTERM, run_signal);
	on_signal(SIGINT, run_signal);
	on_signal(SIGHUP, run_signal);
	on_signal(SIGCHLD, run_signal);
	log_info("daemon started pid=%ld queue=%s max_connections=%d",
	    (long)getpid(), c->queue_dir, c->max_connections);

	for (;;) {
		if (run_chld)
			reap(&d);
		if (run_term && kill_at == 0) {
			log_info("stopping: %d worker%s to finish", d.nworkers,
			    d.nworkers == 1 ? "" : "s");
			kill_at = ob_mono_ms() + d.c->shutdown_timeout;
			for (i = 0; i < d.nworkers; i++)
				(void)kill(d.workers[i], SIGTERM);
			if (d.listener != 0)
				(void)kill(d.listener, SIGTERM);
		}
		if (kill_at != 0) {
			if (d.nworkers == 0 && d.listener == 0)
				break;
			wait = kill_at - ob_mono_ms();
			if (wait <= 0) {
				log_warn("shutdown_timeout: killing %d "
				    "worker%s; their messages stay queued",
				    d.nworkers, d.nworkers == 1 ? "" : "s");
				for (i = 0; i < d.nworkers; i++)
					(void)kill(d.workers[i], SIGKILL);
				if (d.listener != 0)
					(void)kill(d.listener, SIGKILL);
				wait = 1000;
				kill_at = ob_mono_ms() + 1000 * 3600;
			}
		} else {
			if (run_hup)
				reload(&d);
			spawn_listener(&d);
			wait = schedule(&d);
			if (d.lctx != NULL && d.listener == 0 && wait > 1000)
				wait = 1000;	/* to start it again */
			if (d.c->metrics_file != NULL) {
				if (d.metrics_at <= ob_mono_ms())
					write_metrics(&d);
				if (d.metrics_at - ob_mono_ms() < wait)
					wait = d.metrics_at - ob_mono_ms();
				if (wait < 0)
					wait = 0;
			}
		}
		pfd[0].fd = d.sockfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = run_pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, (int)(wait > INT_MAX ? INT_MAX : wait)) > 0) {
			if (pfd[0].revents && wake_drain(d.sockfd) > 0)
				d.rung = 1;
			if (pfd[1].revents)
				while (read(run_pipe[0], b, sizeof b) > 0)
					;
		}
	}
	write_metrics(&d);	/* the final state, at a clean exit */
	free(d.metrics_err);
	log_info("daemon stopped");
	queue_close(d.q);
	close(d.sockfd);
	close(d.lockfd);	/* the socket file stays: sends get ECONNREFUSED */
	listen_free(d.lctx);
	free(d.workers);
	free(d.wpipe);
	dns_free(d.dns);
	conf_free(d.c);
	return 0;
}
