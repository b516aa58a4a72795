/* deliver_main.c - outbox-deliver: the executable that talks to the
 * network (GnuTLS and libresolv are linked here, never into `outbox`).
 *
 *   outbox-deliver [-C FILE] [-v] flush [--all]
 *   outbox-deliver [-C FILE] [-v] run
 *   outbox-deliver [-C FILE] [-v] background SLOT-FD
 *   outbox-deliver [-C FILE] [-v] test [--from SENDER] ADDRESS
 *
 * Started by `outbox flush` (and `sendmail -q`), `outbox run`, and by
 * `sendmail` after a submission when no daemon runs (deliver_on_submit):
 * "background" holds a slot lock (wake.h) on SLOT-FD, delivers what is
 * due, lets the slot go and looks once more.  "test" (`outbox test`)
 * sends one message now, not through the queue (deliver_test.c).  Not
 * meant to be run by hand, though it is harmless to.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "deliver.h"
#include "deliver_test.h"
#include "log.h"
#include "queue.h"
#include "run.h"
#include "wake.h"

static int
usage(void)
{
	fputs("usage: outbox-deliver [-C FILE] [-v] flush [--all] | run | "
	    "background SLOT-FD\n"
	    "       outbox-deliver [-C FILE] [-v] test [--from SENDER] "
	    "ADDRESS\n", stderr);
	return EX_USAGE;
}

/* The progress line of `outbox flush` on a terminal. */
struct progress {
	int64_t	 start, last;	/* ms */
	size_t	 due;		/* messages due when the run began */
};

static void
flush_progress(const struct deliver_stats *st, void *arg)
{
	struct progress *p = arg;
	int64_t now = ob_now_ms();
	double secs = (double)(now - p->start) / 1000.0;
	char line[200];

	if (now - p->last < 200)	/* 5 updates a second at most */
		return;
	p->last = now;
	(void)snprintf(line, sizeof line, "outbox: flush: %zu of %zu "
	    "messages, %zu delivered, %zu deferred, %zu failed, %.0f/s",
	    st->messages, st->messages > p->due ? st->messages : p->due,
	    st->delivered, st->deferred, st->failed,
	    secs > 0.5 ? (double)st->messages / secs : 0.0);
	log_status(line);
}

/* flush: deliver what is due.  INTERACTIVE (`outbox flush`, not a
 * background run): with the log on stderr and no -v, per-delivery lines
 * are left out (warnings and errors stay); on a terminal a progress line
 * takes their place and a summary ends the run; elsewhere (cron) the
 * summary shows only when something was deferred or failed, so that
 * cron mails only trouble. */
static int
flush(struct conf *c, int all, int gc, int interactive)
{
	struct deliver_opts opts = { .all = all, .gc = gc };
	struct deliver_stats st;
	struct progress pr;
	struct ob_err err;
	struct queue *q = NULL;
	char when[32];
	int ex = 0, quiet, tty;
	int64_t next;

	quiet = interactive && c->log_dest == LOG_TO_STDERR && !log_verbose();
	tty = quiet && isatty(STDERR_FILENO);
	if (queue_open(&q, c->queue_dir, c->queue_max_size, &err) == -1) {
		log_err("%s", err.text);
		return err.ex ? err.ex : EX_TEMPFAIL;
	}
	memset(&pr, 0, sizeof pr);
	pr.start = ob_now_ms();
	if (quiet)
		log_quiet(1);
	if (tty) {
		/* with --all, everything in the due index counts */
		(void)queue_due(q, all ? INT64_MAX : pr.start, SIZE_MAX,
		    &pr.due, &next, &err);
		opts.progress = flush_progress;
		opts.progress_arg = &pr;
	}
	if (deliver_flush(c, q, &opts, &st, &err) == -1) {
		log_err("flush: %s", err.text);
		ex = err.ex ? err.ex : EX_TEMPFAIL;
	} else if (st.backed_off) {
		fmt_iso_time(when, sizeof when, st.next_try);
		log_err("flush: the relays back off until %s after: %s "
		    "(`outbox flush --all` tries now)", when, st.why);
		ex = EX_TEMPFAIL;
	} else if (st.unreachable) {
		log_err("flush: no relay could be reached; %zu message%s "
		    "queued", st.messages, st.messages == 1 ? " stays" :
		    "s stay");
		ex = EX_TEMPFAIL;
	}
	log_debug("flush done messages=%zu delivered=%zu deferred=%zu "
	    "failed=%zu bounces=%zu", st.messages, st.delivered, st.deferred,
	    st.failed, st.bounces);
	if (tty)
		log_status(NULL);
	if (tty || (quiet && (st.deferred > 0 || st.failed > 0)))
		fprintf(stderr, "outbox: flush: %zu message%s in %.1f s: %zu "
		    "recipient%s delivered, %zu deferred, %zu failed, %zu "
		    "bounce%s queued%s\n", st.messages,
		    st.messages == 1 ? "" : "s",
		    (double)(ob_now_ms() - pr.start) / 1000.0, st.delivered,
		    st.delivered == 1 ? "" : "s", st.deferred, st.failed,
		    st.bounces, st.bounces == 1 ? "" : "s",
		    st.deferred > 0 || st.failed > 0 ?
		    " (`outbox queue` shows why)" : "");
	log_quiet(0);
	queue_close(q);
	return ex;
}

/* background: deliver while holding the slot on FD; after letting it go,
 * look once more (wake.c says why), and go on if something is due and a
 * slot can be had. */
static int
background(struct conf *c, int fd)
{
	struct queue *q = NULL;
	struct ob_err err;
	size_t ndue;
	int64_t next;
	int ex = 0;

	while (fd >= 0) {
		ex = flush(c, 0, 0, 0);	/* frequent: the cron flush cleans */
		close(fd);
		fd = -1;
		if (queue_open(&q, c->queue_dir, c->queue_max_size, &err) ==
		    -1)
			break;
		if (queue_due(q, ob_now_ms(), 1, &ndue, &next, &err) == 0 &&
		    ndue > 0)
			fd = wake_slot(c->queue_dir, c->max_connections);
		queue_close(q);
		q = NULL;
	}
	return ex;
}

int
main(int argc, char **argv)
{
	struct cmd_opts o = { NULL, 0 };
	struct conf *c;
	const char *mode;
	int i, all = 0, fd = -1, ex;

	signal(SIGPIPE, SIG_IGN);
	log_init("outbox", LOG_TO_STDERR, 0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
			o.conf_path = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			o.verbose = 1;
		else
			break;
	}
	if (i >= argc)
		return usage();
	mode = argv[i++];
	if (strcmp(mode, "test") == 0) {
		c = cmd_conf(&o, "outbox");	/* exits EX_CONFIG on errors */
		ex = deliver_test(c, argc - i, argv + i);
		conf_free(c);
		return ex;
	}
	if (strcmp(mode, "flush") == 0) {
		for (; i < argc; i++) {
			if (strcmp(argv[i], "--all") == 0)
				all = 1;
			else
				return usage();
		}
	} else if (strcmp(mode, "background") == 0) {
		char *end;
		long v;

		if (i + 1 != argc)
			return usage();
		v = strtol(argv[i], &end, 10);
		if (*end != '\0' || v < 0 || v > 65535)
			return usage();
		fd = (int)v;
	} else if (strcmp(mode, "run") != 0 || i != argc)
		return usage();
	c = cmd_conf(&o, "outbox");
	if (strcmp(mode, "background") == 0 && c->log_dest == LOG_TO_STDERR)
		/* no terminal: its stderr is /dev/null */
		log_init("outbox", LOG_TO_SYSLOG, o.verbose);
	if (strcmp(mode, "run") == 0)
		return run_daemon(c, &o);
	ex = fd >= 0 ? background(c, fd) : flush(c, all, 1, 1);
	conf_free(c);
	return ex;
}
